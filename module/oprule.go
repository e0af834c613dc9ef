package module

import "github.com/pcsc11/pcsc11/ck"

// Op names one kind of operation a session can have active, for the rule below.
type Op int

// The operations the termination rule of spec §5.2 covers.
const (
	OpDigest Op = iota + 1
	OpSign
	OpVerify
	OpEncrypt
	OpDecrypt
)

// endsOperation is the termination rule of spec §5.2 and of each function's section
// (5.9 C_Encrypt/C_EncryptUpdate/C_EncryptFinal, 5.10 decrypt, 5.12 digest, 5.13 sign,
// 5.15 verify): a call other than its Init "always terminates the active operation
// unless it returns CKR_BUFFER_TOO_SMALL or is a successful call ... to determine the
// length of the buffer needed". A successful call that produced its result has already
// ended the operation where it ran; what remains for this rule is every failure but
// CKR_BUFFER_TOO_SMALL, whichever layer found it (the C door's pointer checks included).
func endsOperation(rv ck.ULong) bool {
	return rv != ck.CKR_OK && rv != ck.CKR_BUFFER_TOO_SMALL
}

// AfterCall applies the §5.2 rule once a call on operation op of session h has answered
// rv: a failure other than CKR_BUFFER_TOO_SMALL ends the operation. It is the one place
// for the rule; the C door calls it for every call of the five operations, after its
// own checks (a NULL length pointer is CKR_ARGUMENTS_BAD found before the library runs).
func (l *Library) AfterCall(h ck.ULong, op Op, rv ck.ULong) {
	if !endsOperation(rv) {
		return
	}
	switch rv {
	case ck.CKR_CRYPTOKI_NOT_INITIALIZED, ck.CKR_SESSION_HANDLE_INVALID, ck.CKR_SESSION_CLOSED,
		ck.CKR_OPERATION_NOT_INITIALIZED:
		return // no session, or no operation to end
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	s, _, r := l.lookup(h)
	if r != ck.CKR_OK {
		return
	}
	s.endOp(op)
}

// operation is what the five operation families share for their multi-part calls: a
// part fed by C_DigestUpdate, C_SignUpdate, C_VerifyUpdate, C_EncryptUpdate or
// C_DecryptUpdate (verifyOp has signOp's, by embedding).
type operation interface {
	update(part []byte) ck.ULong
}

// active is the session's operation of kind op, nil when there is none (l.mu held).
func (s *session) active(op Op) operation {
	switch {
	case op == OpDigest && s.digest != nil:
		return s.digest
	case op == OpSign && s.sign != nil:
		return s.sign
	case op == OpVerify && s.verify != nil:
		return s.verify
	case op == OpEncrypt && s.encrypt != nil:
		return s.encrypt
	case op == OpDecrypt && s.decrypt != nil:
		return s.decrypt
	}
	return nil
}

// updateOp is every C_xUpdate of the five families: the part goes to the session's
// operation of kind op, and a part the operation refuses ends it (§5.2; endOp wipes
// what it held).
func (l *Library) updateOp(h ck.ULong, op Op, part []byte) ck.ULong {
	l.mu.Lock()
	defer l.mu.Unlock()
	s, _, rv := l.lookup(h)
	if rv != ck.CKR_OK {
		return rv
	}
	o := s.active(op)
	if o == nil {
		return ck.CKR_OPERATION_NOT_INITIALIZED
	}
	if rv := o.update(part); rv != ck.CKR_OK {
		s.endOp(op)
		return rv
	}
	return ck.CKR_OK
}

// endOp ends one kind of operation of the session, wiping what it holds (l.mu held).
func (s *session) endOp(op Op) {
	switch op {
	case OpDigest:
		s.digest = nil
	case OpSign:
		if s.sign != nil {
			s.sign.wipe()
		}
		s.sign = nil
	case OpVerify:
		s.verify = nil
	case OpEncrypt:
		s.encrypt = nil
	case OpDecrypt:
		if s.decrypt != nil {
			s.decrypt.wipe()
		}
		s.decrypt = nil
	}
}
