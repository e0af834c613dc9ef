package module

import (
	"crypto/rand"
	"hash"

	"github.com/pcsc11/pcsc11/ck"
)

// digestOp is an active C_DigestInit..C_Digest/C_DigestFinal operation (software SHA).
type digestOp struct {
	h       hash.Hash
	updated bool
}

// DigestInit is C_DigestInit.
func (l *Library) DigestInit(h ck.ULong, mech Mechanism) ck.ULong {
	l.mu.Lock()
	defer l.mu.Unlock()
	s, _, rv := l.lookup(h)
	if rv != ck.CKR_OK {
		return rv
	}
	if s.digest != nil {
		return ck.CKR_OPERATION_ACTIVE
	}
	if !isDigestMech(mech.Type) {
		return ck.CKR_MECHANISM_INVALID
	}
	if len(mech.Param) != 0 {
		return ck.CKR_MECHANISM_PARAM_INVALID
	}
	s.digest = &digestOp{h: hashOfMech(mech.Type).New()}
	return ck.CKR_OK
}

// Digest is C_Digest (size-query convention as for C_Sign).
func (l *Library) Digest(h ck.ULong, data []byte, out OutBuf) (ck.ULong, ck.ULong) {
	return l.finishDigest(h, data, true, out)
}

// DigestFinal is C_DigestFinal.
func (l *Library) DigestFinal(h ck.ULong, out OutBuf) (ck.ULong, ck.ULong) {
	return l.finishDigest(h, nil, false, out)
}

// DigestUpdate is C_DigestUpdate.
func (l *Library) DigestUpdate(h ck.ULong, part []byte) ck.ULong {
	l.mu.Lock()
	defer l.mu.Unlock()
	s, _, rv := l.lookup(h)
	if rv != ck.CKR_OK {
		return rv
	}
	if s.digest == nil {
		return ck.CKR_OPERATION_NOT_INITIALIZED
	}
	s.digest.updated = true
	s.digest.h.Write(part)
	return ck.CKR_OK
}

func (l *Library) finishDigest(h ck.ULong, data []byte, single bool, out OutBuf) (ck.ULong, ck.ULong) {
	l.mu.Lock()
	defer l.mu.Unlock()
	s, _, rv := l.lookup(h)
	if rv != ck.CKR_OK {
		return 0, rv
	}
	op := s.digest
	if op == nil {
		return 0, ck.CKR_OPERATION_NOT_INITIALIZED
	}
	n := ck.ULong(op.h.Size())
	if out.Nil {
		return n, ck.CKR_OK
	}
	if len(out.Buf) < op.h.Size() {
		return n, ck.CKR_BUFFER_TOO_SMALL
	}
	s.digest = nil
	if single {
		if op.updated {
			return 0, ck.CKR_OPERATION_ACTIVE
		}
		op.h.Write(data)
	}
	copy(out.Buf, op.h.Sum(nil))
	return n, ck.CKR_OK
}

// GenerateRandom is C_GenerateRandom, from the operating system's CSPRNG.
func (l *Library) GenerateRandom(h ck.ULong, buf []byte) ck.ULong {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, _, rv := l.lookup(h); rv != ck.CKR_OK {
		return rv
	}
	if _, err := rand.Read(buf); err != nil {
		return ck.CKR_FUNCTION_FAILED
	}
	return ck.CKR_OK
}

// SeedRandom is C_SeedRandom: the OS generator takes no seed from applications.
func (l *Library) SeedRandom(h ck.ULong) ck.ULong {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, _, rv := l.lookup(h); rv != ck.CKR_OK {
		return rv
	}
	return ck.CKR_RANDOM_SEED_NOT_SUPPORTED
}

// SessionCancel is C_SessionCancel (3.0): ends the flagged operations of the session.
func (l *Library) SessionCancel(h, flags ck.ULong) ck.ULong {
	l.mu.Lock()
	defer l.mu.Unlock()
	s, _, rv := l.lookup(h)
	if rv != ck.CKR_OK {
		return rv
	}
	if flags&ck.CKF_SIGN != 0 && s.sign != nil {
		s.sign.wipe()
		s.sign = nil
	}
	if flags&ck.CKF_VERIFY != 0 {
		s.verify = nil
	}
	if flags&ck.CKF_DECRYPT != 0 && s.decrypt != nil {
		s.decrypt.wipe()
		s.decrypt = nil
	}
	if flags&ck.CKF_ENCRYPT != 0 {
		s.encrypt = nil
	}
	if flags&ck.CKF_DIGEST != 0 {
		s.digest = nil
	}
	if flags&ckfFindObjects != 0 {
		s.find = nil
	}
	return ck.CKR_OK
}

// CKF_FIND_OBJECTS, the C_SessionCancel flag for an object search (spec 3.5, table of
// CK_MECHANISM_INFO flags: 0x00000040).
const ckfFindObjects ck.ULong = 0x40
