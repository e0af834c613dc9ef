package module

import (
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
	return l.updateOp(h, OpDigest, part)
}

func (op *digestOp) update(part []byte) ck.ULong {
	op.updated = true
	op.h.Write(part)
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

// DigestKey is C_DigestKey (spec 5.12): the value of a secret key (a session key made by
// C_DeriveKey) continues the digest. Keys on the card (RSA, EC) are not secret keys and
// their private parts never leave it: CKR_KEY_INDIGESTIBLE. An error other than a bad
// session ends the operation, as for the other multi-part calls (spec 5.2).
func (l *Library) DigestKey(h, key ck.ULong) ck.ULong {
	l.mu.Lock()
	defer l.mu.Unlock()
	s, ts, rv := l.lookup(h)
	if rv != ck.CKR_OK {
		return rv
	}
	op := s.digest
	if op == nil {
		return ck.CKR_OPERATION_NOT_INITIALIZED
	}
	obj, rv := l.object(ts, key)
	if rv == ck.CKR_OBJECT_HANDLE_INVALID {
		rv = ck.CKR_KEY_HANDLE_INVALID
	}
	if rv != ck.CKR_OK {
		s.digest = nil
		return rv
	}
	class, _ := obj.Attrs[ck.CKA_CLASS].(ck.ULong)
	value, ok := obj.Attrs[ck.CKA_VALUE].([]byte)
	switch {
	case class != ck.CKO_SECRET_KEY && class != ck.CKO_PRIVATE_KEY && class != ck.CKO_PUBLIC_KEY:
		s.digest = nil
		return ck.CKR_KEY_HANDLE_INVALID // not a key at all
	case class != ck.CKO_SECRET_KEY || !ok:
		s.digest = nil
		return ck.CKR_KEY_INDIGESTIBLE
	}
	op.updated = true
	op.h.Write(value)
	return ck.CKR_OK
}
