package module

import (
	"crypto/rand"
	"crypto/rsa"
	"slices"

	"github.com/pcsc11/pcsc11/ck"
)

// encryptOp is an active C_EncryptInit..C_Encrypt operation, in software with the
// public half of an RSA key.
type encryptOp struct {
	mech ck.ULong
	pub  *rsa.PublicKey
	k    int
	oaep *oaepParams
	buf  []byte
	upd  bool
}

// EncryptInit is C_EncryptInit for RSA public-key encryption.
func (l *Library) EncryptInit(h ck.ULong, mech Mechanism, key ck.ULong) ck.ULong {
	l.mu.Lock()
	defer l.mu.Unlock()
	s, ts, rv := l.lookup(h)
	if rv != ck.CKR_OK {
		return rv
	}
	if s.encrypt != nil {
		return ck.CKR_OPERATION_ACTIVE
	}
	obj, rv := l.object(ts, key)
	if rv == ck.CKR_OBJECT_HANDLE_INVALID {
		return ck.CKR_KEY_HANDLE_INVALID
	}
	if rv != ck.CKR_OK {
		return rv
	}
	a := obj.Attrs
	class, _ := a[ck.CKA_CLASS].(ck.ULong)
	if class != ck.CKO_PUBLIC_KEY && class != ck.CKO_PRIVATE_KEY {
		return ck.CKR_KEY_TYPE_INCONSISTENT
	}
	if e, ok := a[ck.CKA_ENCRYPT].(bool); class == ck.CKO_PUBLIC_KEY && ok && !e {
		return ck.CKR_KEY_FUNCTION_NOT_PERMITTED
	}
	tok, rv := l.tokenOf(ts)
	if rv != ck.CKR_OK {
		return rv
	}
	if !slices.Contains(rsaCryptMechs, mech.Type) || !hasMechanism(mechanisms(tok), mech.Type, ck.CKF_ENCRYPT) {
		return ck.CKR_MECHANISM_INVALID
	}
	pk, ok := publicKey(a)
	pub, isRSA := pk.(*rsa.PublicKey)
	if !ok || !isRSA {
		return ck.CKR_KEY_TYPE_INCONSISTENT
	}
	op := &encryptOp{mech: mech.Type, pub: pub, k: pub.Size()}
	if mech.Type == ck.CKM_RSA_PKCS_OAEP {
		if op.oaep, rv = parseOAEP(mech); rv != ck.CKR_OK {
			return rv
		}
	}
	s.encrypt = op
	return ck.CKR_OK
}

// Encrypt is C_Encrypt (size-query convention; the length is the modulus size).
func (l *Library) Encrypt(h ck.ULong, data []byte, out OutBuf) (ck.ULong, ck.ULong) {
	return l.finishEncrypt(h, data, true, out)
}

// EncryptFinal is C_EncryptFinal over the data given to C_EncryptUpdate.
func (l *Library) EncryptFinal(h ck.ULong, out OutBuf) (ck.ULong, ck.ULong) {
	return l.finishEncrypt(h, nil, false, out)
}

// EncryptUpdate is C_EncryptUpdate: data is collected, nothing is output yet.
func (l *Library) EncryptUpdate(h ck.ULong, part []byte) ck.ULong {
	return l.updateOp(h, OpEncrypt, part)
}

func (op *encryptOp) update(part []byte) ck.ULong {
	op.upd = true
	if len(op.buf)+len(part) > op.k {
		return ck.CKR_DATA_LEN_RANGE
	}
	op.buf = append(op.buf, part...)
	return ck.CKR_OK
}

func (l *Library) finishEncrypt(h ck.ULong, data []byte, single bool, out OutBuf) (ck.ULong, ck.ULong) {
	l.mu.Lock()
	defer l.mu.Unlock()
	s, _, rv := l.lookup(h)
	if rv != ck.CKR_OK {
		return 0, rv
	}
	op := s.encrypt
	if op == nil {
		return 0, ck.CKR_OPERATION_NOT_INITIALIZED
	}
	n := ck.ULong(op.k)
	if out.Nil {
		return n, ck.CKR_OK
	}
	if len(out.Buf) < op.k {
		return n, ck.CKR_BUFFER_TOO_SMALL
	}
	s.encrypt = nil
	msg := op.buf
	if single {
		if op.upd {
			return 0, ck.CKR_OPERATION_ACTIVE
		}
		msg = data
	}
	var ct []byte
	var err error
	switch op.mech {
	case ck.CKM_RSA_PKCS:
		ct, err = rsa.EncryptPKCS1v15(rand.Reader, op.pub, msg)
	case ck.CKM_RSA_PKCS_OAEP:
		ct, err = rsa.EncryptOAEPWithOptions(rand.Reader, op.pub, msg,
			&rsa.OAEPOptions{Hash: op.oaep.hash, MGFHash: op.oaep.mgf, Label: op.oaep.label})
	case ck.CKM_RSA_X_509:
		var ok bool
		if ct, ok = rawRSAPublic(op.pub, msg, op.k); !ok {
			return 0, ck.CKR_DATA_INVALID
		}
	}
	if err != nil {
		return 0, ck.CKR_DATA_LEN_RANGE
	}
	copy(out.Buf, ct)
	return ck.ULong(len(ct)), ck.CKR_OK
}
