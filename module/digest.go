package module

import (
	"hash"

	"github.com/pcsc11/pcsc11/ck"
)

// digestOp is the family of C_DigestInit..C_Digest/C_DigestFinal (software SHA).
type digestOp struct{ h hash.Hash }

// DigestInit is C_DigestInit (spec 5.12.1).
func (l *Library) DigestInit(h ck.ULong, mech Mechanism) ck.ULong {
	return l.initOp(h, OpDigest, func(*tokenState) (family, *contextAuth, ck.ULong) {
		if !isDigestMech(mech.Type) {
			return nil, nil, ck.CKR_MECHANISM_INVALID
		}
		if len(mech.Param) != 0 {
			return nil, nil, ck.CKR_MECHANISM_PARAM_INVALID
		}
		return &digestOp{h: hashOfMech(mech.Type).New()}, nil, ck.CKR_OK
	})
}

// Digest is C_Digest (spec 5.12.2; the rules are the engine's, operation.go).
func (l *Library) Digest(h ck.ULong, data []byte, out OutBuf) (ck.ULong, ck.ULong) {
	return l.finishOp(h, OpDigest, data, true, out, nil)
}

// DigestUpdate is C_DigestUpdate.
func (l *Library) DigestUpdate(h ck.ULong, part []byte) ck.ULong {
	return l.updateOp(h, OpDigest, part)
}

// DigestFinal is C_DigestFinal.
func (l *Library) DigestFinal(h ck.ULong, out OutBuf) (ck.ULong, ck.ULong) {
	return l.finishOp(h, OpDigest, nil, false, out, nil)
}

func (op *digestOp) update(part []byte) ck.ULong {
	op.h.Write(part)
	return ck.CKR_OK
}

func (op *digestOp) size() (int, bool)                    { return op.h.Size(), true }
func (op *digestOp) finish(finishCall) ([]byte, ck.ULong) { return op.h.Sum(nil), ck.CKR_OK }
func (op *digestOp) wipe()                                {}

// DigestKey is C_DigestKey (spec 5.12.4): the value of a secret key (a session key
// made by C_DeriveKey) continues the digest. Keys on the card (RSA, EC) are not secret
// keys and their private parts never leave it: CKR_KEY_INDIGESTIBLE. An error ends the
// operation, as for C_DigestUpdate (spec 5.2).
func (l *Library) DigestKey(h, key ck.ULong) ck.ULong {
	return l.withSession(h, func(s *session, ts *tokenState) ck.ULong {
		if s.ops[OpDigest] == nil {
			return ck.CKR_OPERATION_NOT_INITIALIZED
		}
		obj, rv := l.keyObject(ts, key)
		class, _ := obj.Attrs[ck.CKA_CLASS].(ck.ULong)
		value, ok := obj.Attrs[ck.CKA_VALUE].([]byte)
		switch {
		case rv != ck.CKR_OK:
		case class != ck.CKO_SECRET_KEY && class != ck.CKO_PRIVATE_KEY && class != ck.CKO_PUBLIC_KEY:
			rv = ck.CKR_KEY_HANDLE_INVALID // not a key at all
		case class != ck.CKO_SECRET_KEY || !ok:
			rv = ck.CKR_KEY_INDIGESTIBLE
		default:
			return s.update(OpDigest, value)
		}
		s.endOp(OpDigest)
		return rv
	})
}
