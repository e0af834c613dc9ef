package module

import (
	"crypto/rand"
	"crypto/rsa"
	"slices"

	"github.com/pcsc11/pcsc11/ck"
)

// encryptOp is the family of C_EncryptInit..C_Encrypt/C_EncryptFinal: RSA encryption
// in software, with the public half of the key.
type encryptOp struct {
	mech ck.ULong
	pub  *rsa.PublicKey
	k    int
	oaep *oaepParams
	collected
}

// EncryptInit is C_EncryptInit (spec 5.8.1) for RSA public-key encryption.
func (l *Library) EncryptInit(h ck.ULong, mech Mechanism, key ck.ULong) ck.ULong {
	return l.initOp(h, OpEncrypt, func(ts *tokenState) (family, *contextAuth, ck.ULong) { return l.newEncryptOp(ts, mech, key) })
}

func (l *Library) newEncryptOp(ts *tokenState, mech Mechanism, key ck.ULong) (*encryptOp, *contextAuth, ck.ULong) {
	obj, _, rv := l.usableKey(ts, key, mech.Type, ck.CKF_ENCRYPT)
	if rv != ck.CKR_OK {
		return nil, nil, rv
	}
	if !slices.Contains(rsaCryptMechs, mech.Type) {
		return nil, nil, ck.CKR_MECHANISM_INVALID
	}
	pk, ok := publicKey(obj.Attrs)
	pub, isRSA := pk.(*rsa.PublicKey)
	if !ok || !isRSA {
		return nil, nil, ck.CKR_KEY_TYPE_INCONSISTENT
	}
	op := &encryptOp{mech: mech.Type, pub: pub, k: pub.Size(),
		collected: collected{limit: pub.Size(), tooLong: ck.CKR_DATA_LEN_RANGE}}
	if mech.Type == ck.CKM_RSA_PKCS_OAEP {
		if op.oaep, rv = parseOAEP(mech); rv != ck.CKR_OK {
			return nil, nil, rv
		}
	}
	return op, nil, ck.CKR_OK
}

// Encrypt is C_Encrypt (spec 5.8.2; the rules are the engine's, operation.go).
func (l *Library) Encrypt(h ck.ULong, data []byte, out OutBuf) (ck.ULong, ck.ULong) {
	return l.finishOp(h, OpEncrypt, data, true, out, nil)
}

// EncryptUpdate is C_EncryptUpdate: data is collected, nothing is output yet.
func (l *Library) EncryptUpdate(h ck.ULong, part []byte) ck.ULong {
	return l.updateOp(h, OpEncrypt, part)
}

// EncryptFinal is C_EncryptFinal over the data given to C_EncryptUpdate.
func (l *Library) EncryptFinal(h ck.ULong, out OutBuf) (ck.ULong, ck.ULong) {
	return l.finishOp(h, OpEncrypt, nil, false, out, nil)
}

// size: an RSA ciphertext is as long as the modulus.
func (op *encryptOp) size() (int, bool) { return op.k, true }

func (op *encryptOp) finish(finishCall) ([]byte, ck.ULong) {
	var ct []byte
	var err error
	switch op.mech {
	case ck.CKM_RSA_PKCS:
		ct, err = rsa.EncryptPKCS1v15(rand.Reader, op.pub, op.buf)
	case ck.CKM_RSA_PKCS_OAEP:
		ct, err = rsa.EncryptOAEPWithOptions(rand.Reader, op.pub, op.buf,
			&rsa.OAEPOptions{Hash: op.oaep.hash, MGFHash: op.oaep.mgf, Label: op.oaep.label})
	case ck.CKM_RSA_X_509:
		var ok bool
		if ct, ok = rawRSAPublic(op.pub, op.buf, op.k); !ok {
			return nil, ck.CKR_DATA_INVALID
		}
	}
	if err != nil {
		return nil, ck.CKR_DATA_LEN_RANGE
	}
	return ct, ck.CKR_OK
}
