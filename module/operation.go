package module

import (
	"github.com/pcsc11/pcsc11/ck"
	"github.com/pcsc11/pcsc11/slot"
)

// The operation engine: the rules every operation family follows, written once. A
// family (signOp, verifyOp, encryptOp, decryptOp, digestOp) says only what it does with
// its data; when a call may start, take a part, answer a length, keep a result or end
// the operation is decided here, by spec 5.2 and the sections of each function (5.9
// encryption, 5.10 decryption, 5.12 digest, 5.13 sign, 5.14 message-based signing,
// 5.15 verify, 5.16 message-based verification).

// Op names one kind of operation a session can have active.
type Op int

// The kinds of operation. For the two message-based kinds the active operation is the
// message being processed in parts (C_SignMessageBegin..C_SignMessageNext); the
// process around it (C_MessageSignInit..C_MessageSignFinal) is a session's messages.
const (
	OpDigest Op = iota + 1
	OpSign
	OpVerify
	OpEncrypt
	OpDecrypt
	OpMessageSign
	OpMessageVerify
	numOps
)

// cancelFlag is the C_SessionCancel flag of each kind (spec 3.5, CK_MECHANISM_INFO
// flags; CKF_MESSAGE_SIGN 0x08 and CKF_MESSAGE_VERIFY 0x10 are v3.0's).
var cancelFlag = [numOps]ck.ULong{
	OpDigest: ck.CKF_DIGEST, OpSign: ck.CKF_SIGN, OpVerify: ck.CKF_VERIFY,
	OpEncrypt: ck.CKF_ENCRYPT, OpDecrypt: ck.CKF_DECRYPT,
	OpMessageSign: 0x08, OpMessageVerify: 0x10,
}

// family is what one kind of operation does with its data.
type family interface {
	// update takes a part of the input.
	update(part []byte) ck.ULong
	// size is the length of the result before it is computed: exact, or an upper
	// bound when only the card's answer tells (a decryption's plaintext).
	size() (n int, exact bool)
	// finish computes the result from all the input (l.mu held; released while the
	// card works). For verification the result is empty and sig is the signature.
	finish(c finishCall) ([]byte, ck.ULong)
	// wipe clears the secrets the family holds.
	wipe()
}

// finishCall is what a family's finish may need besides its own data.
type finishCall struct {
	l    *Library
	s    *session
	ts   *tokenState
	sig  []byte       // the signature to verify
	auth *contextAuth // nil unless the key has CKA_ALWAYS_AUTHENTICATE
}

// messageFamily is a family that serves a message-based process: each message is
// processed by a fresh copy of the one prepared by C_MessageSignInit or
// C_MessageVerifyInit.
type messageFamily interface {
	family
	fresh() family
}

// contextAuth is the context-specific login a CKA_ALWAYS_AUTHENTICATE key needs
// before each use (spec 4.9 and 5.6.6 C_Login with CKU_CONTEXT_SPECIFIC).
type contextAuth struct {
	key    string
	authed bool
	hold   *contextHold // the card kept for the operation by the login (contextpin.go)
}

// ready reports whether the key may be used: always without CKA_ALWAYS_AUTHENTICATE,
// else only after its context-specific login.
func (a *contextAuth) ready() bool { return a == nil || a.authed }

// used records that the key operation ran: it consumed the login and ended the card's
// hold (the driver ends it with the operation).
func (a *contextAuth) used() {
	if a != nil {
		a.authed, a.hold = false, nil
	}
}

func (a *contextAuth) wipe() {
	if a != nil {
		a.hold.wipe()
		a.authed, a.hold = false, nil
	}
}

// collected is the input an operation gathers for its one computation at the end (a
// mechanism without hashing, RSA encryption and decryption), bounded: a part that would
// make it longer than limit is refused with tooLong.
type collected struct {
	buf     []byte
	limit   int
	tooLong ck.ULong
}

func (c *collected) update(part []byte) ck.ULong {
	if len(c.buf)+len(part) > c.limit {
		return c.tooLong
	}
	c.buf = append(c.buf, part...)
	return ck.CKR_OK
}

func (c *collected) wipe() {
	clear(c.buf)
	c.buf = nil
}

// activeOp is an operation in progress: its family and what the rules track of it.
type activeOp struct {
	family
	auth    *contextAuth
	updated bool   // a C_xUpdate took a part: only C_xFinal may end the operation
	done    bool   // the result is computed
	result  []byte // kept across CKR_BUFFER_TOO_SMALL, so the retry does not use the card again
}

func (o *activeOp) wipe() {
	o.family.wipe()
	o.auth.wipe()
	clear(o.result)
	o.result = nil
}

// messages is a message-based process (C_MessageSignInit or C_MessageVerifyInit).
type messages struct {
	tmpl messageFamily
	auth *contextAuth // the context-specific login for the next message
}

// next starts a message of the process.
func (m *messages) next() *activeOp {
	return &activeOp{family: m.tmpl.fresh(), auth: m.auth}
}

// endsOperation is the termination rule of spec 5.2 and of each function's section: a
// call other than its Init "always terminates the active operation unless it returns
// CKR_BUFFER_TOO_SMALL or is a successful call ... to determine the length of the
// buffer needed". For the message-based calls the same words end the message being
// processed (5.14.2, 5.14.4), not the process.
func endsOperation(rv ck.ULong) bool {
	return rv != ck.CKR_OK && rv != ck.CKR_BUFFER_TOO_SMALL
}

// AfterCall applies the 5.2 rule once a call on operation op of session h has answered
// rv, for the failures found before the engine ran (the C door's pointer checks); the
// engine applies it itself to what it finds. The generated C door calls it for every
// call that is not an Init.
func (l *Library) AfterCall(h ck.ULong, op Op, rv ck.ULong) {
	if !endsOperation(rv) {
		return
	}
	switch rv {
	case ck.CKR_CRYPTOKI_NOT_INITIALIZED, ck.CKR_SESSION_HANDLE_INVALID, ck.CKR_SESSION_CLOSED,
		ck.CKR_OPERATION_NOT_INITIALIZED:
		return // no session, or no operation to end
	}
	l.withSession(h, func(s *session, _ *tokenState) ck.ULong {
		s.endOp(op)
		return ck.CKR_OK
	})
}

// initOp is every C_xInit, C_MessageSignInit and C_MessageVerifyInit: prepare checks
// the mechanism and key and makes the family, with the context-specific login its key
// needs (usableKey). For a message-based kind the family becomes the process's
// template.
func (l *Library) initOp(h ck.ULong, kind Op, prepare func(ts *tokenState) (family, *contextAuth, ck.ULong)) ck.ULong {
	return l.withSession(h, func(s *session, ts *tokenState) ck.ULong {
		if s.ops[kind] != nil || s.msgs[kind] != nil {
			return ck.CKR_OPERATION_ACTIVE
		}
		f, auth, rv := prepare(ts)
		switch {
		case rv != ck.CKR_OK:
		case kind == OpMessageSign || kind == OpMessageVerify:
			s.msgs[kind] = &messages{tmpl: f.(messageFamily), auth: auth}
		default:
			s.ops[kind] = &activeOp{family: f, auth: auth}
		}
		return rv
	})
}

// updateOp is every C_xUpdate of the five families.
func (l *Library) updateOp(h ck.ULong, kind Op, part []byte) ck.ULong {
	return l.withSession(h, func(s *session, _ *tokenState) ck.ULong { return s.update(kind, part) })
}

// update gives a part to the session's operation of kind (l.mu held); a part the
// operation refuses ends it.
func (s *session) update(kind Op, part []byte) ck.ULong {
	o := s.ops[kind]
	if o == nil {
		return ck.CKR_OPERATION_NOT_INITIALIZED
	}
	o.updated = true
	rv := o.update(part)
	if rv != ck.CKR_OK {
		s.endOp(kind)
	}
	return rv
}

// finishOp is every single-part call (single: C_Sign, C_Verify, C_Encrypt, C_Decrypt,
// C_Digest, with data) and every C_xFinal of the five families.
func (l *Library) finishOp(h ck.ULong, kind Op, data []byte, single bool, out OutBuf, sig []byte) (ck.ULong, ck.ULong) {
	return withSessionValue(l, h, func(s *session, ts *tokenState) (ck.ULong, ck.ULong) {
		o := s.ops[kind]
		switch {
		case o == nil:
			return 0, ck.CKR_OPERATION_NOT_INITIALIZED
		case single && o.updated:
			// The single-part call "cannot be used to terminate a multi-part operation".
			s.endOp(kind)
			return 0, ck.CKR_OPERATION_ACTIVE
		}
		return l.finish(s, ts, &s.ops[kind], data, single, out, sig)
	})
}

// finish produces the result of the operation at *at (l.mu held) under the size-query
// convention of 5.2: a NULL buffer answers the length and a short one
// CKR_BUFFER_TOO_SMALL, and in both cases the operation stays; data (when feed) is
// taken only when the result is computed, so such an answer consumes nothing. While
// the card works the operation is off the session (C_SessionCancel and a second
// thread see none), and back on it only to keep a result for the retry. Any failure
// ends the operation.
func (l *Library) finish(s *session, ts *tokenState, at **activeOp, data []byte, feed bool, out OutBuf, sig []byte) (ck.ULong, ck.ULong) {
	o := *at
	end := func(rv ck.ULong) (ck.ULong, ck.ULong) { // ends the operation, answering rv
		if *at == o {
			*at = nil
		}
		o.wipe()
		return 0, rv
	}
	n, exact := len(o.result), true
	if !o.done {
		n, exact = o.size()
	}
	if out.Nil {
		return ck.ULong(n), ck.CKR_OK
	}
	if exact && len(out.Buf) < n {
		return ck.ULong(n), ck.CKR_BUFFER_TOO_SMALL
	}
	if !o.done {
		if feed {
			if rv := o.update(data); rv != ck.CKR_OK {
				return end(rv)
			}
		}
		*at = nil
		res, rv := o.family.finish(finishCall{l: l, s: s, ts: ts, sig: sig, auth: o.auth})
		if rv != ck.CKR_OK {
			clear(res)
			return end(rv)
		}
		o.result, o.done = res, true
	}
	n = len(o.result)
	if len(out.Buf) < n {
		if *at == nil {
			*at = o
		}
		return ck.ULong(n), ck.CKR_BUFFER_TOO_SMALL
	}
	copy(out.Buf, o.result)
	end(ck.CKR_OK)
	return ck.ULong(n), ck.CKR_OK
}

// endOp ends the session's operation of kind, wiping what it holds (l.mu held).
func (s *session) endOp(kind Op) {
	if o := s.ops[kind]; o != nil {
		o.wipe()
		s.ops[kind] = nil
	}
}

// endProcess ends the operation of kind and, for a message-based kind, its process.
func (s *session) endProcess(kind Op) {
	s.endOp(kind)
	if m := s.msgs[kind]; m != nil {
		m.auth.wipe()
		s.msgs[kind] = nil
	}
}

// endOps ends every operation of the session (l.mu held).
func (s *session) endOps() {
	s.find = nil
	for k := range s.ops {
		s.endProcess(Op(k))
	}
}

// contextAuths are the logins of the operations of s whose key needs a
// context-specific login, in the order C_Login(CKU_CONTEXT_SPECIFIC) serves them: a
// signature, a decryption not yet computed, the next message of a message-based
// signing process.
func (s *session) contextAuths() []*contextAuth {
	var as []*contextAuth
	for _, k := range []Op{OpSign, OpDecrypt} {
		if o := s.ops[k]; o != nil && o.auth != nil && !o.done {
			as = append(as, o.auth)
		}
	}
	if m := s.msgs[OpMessageSign]; m != nil && m.auth != nil {
		as = append(as, m.auth)
	}
	return as
}

// OutBuf is an output buffer of the size-query convention (spec 5.2): Nil when the
// caller passed NULL (a length query), else Buf is the caller's buffer with the length
// the caller declared.
type OutBuf struct {
	Nil bool
	Buf []byte
}

// usableKey is the key object of handle key, checked for use with mechanism mech by the
// function of usage: CKF_SIGN, CKF_VERIFY, CKF_ENCRYPT, CKF_DECRYPT or CKF_DERIVE (l.mu
// held). Signing, decryption and derivation are the card's, with a private key whose
// CKA_SIGN, CKA_DECRYPT or CKA_DERIVE is true; verification and encryption are done in software with the
// public half, so a public key or a private key object serves, and only a public key's
// explicit CKA_VERIFY or CKA_ENCRYPT false forbids it. The mechanism must be the
// card's for that function and in the key's CKA_ALLOWED_MECHANISMS, when it has them.
// auth is the context-specific login a CKA_ALWAYS_AUTHENTICATE key needs before each
// use on the card, else nil.
func (l *Library) usableKey(ts *tokenState, key, mech, usage ck.ULong) (obj slot.Object, auth *contextAuth, rv ck.ULong) {
	if obj, rv = l.keyObject(ts, key); rv != ck.CKR_OK {
		return obj, nil, rv
	}
	a := obj.Attrs
	class, _ := a[ck.CKA_CLASS].(ck.ULong)
	permitted, set := a[usageAttr[usage]].(bool)
	onCard := usage != ck.CKF_VERIFY && usage != ck.CKF_ENCRYPT
	switch {
	case class != ck.CKO_PRIVATE_KEY && (onCard || class != ck.CKO_PUBLIC_KEY):
		return obj, nil, ck.CKR_KEY_TYPE_INCONSISTENT
	case onCard && !permitted, class == ck.CKO_PUBLIC_KEY && set && !permitted:
		return obj, nil, ck.CKR_KEY_FUNCTION_NOT_PERMITTED
	case !mechanismAllowed(ts, a, mech, usage):
		return obj, nil, ck.CKR_MECHANISM_INVALID
	}
	if always, _ := a[ck.CKA_ALWAYS_AUTHENTICATE].(bool); always && onCard {
		auth = &contextAuth{key: obj.Key}
	}
	return obj, auth, ck.CKR_OK
}

// usageAttr is the key attribute that permits each function.
var usageAttr = map[ck.ULong]ck.ULong{
	ck.CKF_SIGN: ck.CKA_SIGN, ck.CKF_VERIFY: ck.CKA_VERIFY, ck.CKF_ENCRYPT: ck.CKA_ENCRYPT, ck.CKF_DECRYPT: ck.CKA_DECRYPT,
	ck.CKF_DERIVE: ck.CKA_DERIVE,
}

// keyObject is the key object of handle key (l.mu held).
func (l *Library) keyObject(ts *tokenState, key ck.ULong) (slot.Object, ck.ULong) {
	obj, rv := l.object(ts, key)
	if rv == ck.CKR_OBJECT_HANDLE_INVALID {
		rv = ck.CKR_KEY_HANDLE_INVALID
	}
	return obj, rv
}
