package module

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/subtle"
	"math/big"

	"github.com/pcsc11/pcsc11/ck"
)

// verifyOp is the family of C_VerifyInit..C_Verify/C_VerifyFinal: verification is
// software only, with the public half of the key object.
type verifyOp struct {
	signOp // mechanism bookkeeping shared with signing (hash, PSS parameters, sizes)
	pub    crypto.PublicKey
}

// VerifyInit is C_VerifyInit (spec 5.15.1).
func (l *Library) VerifyInit(h ck.ULong, mech Mechanism, key ck.ULong) ck.ULong {
	return l.initOp(h, OpVerify, func(ts *tokenState) (family, *contextAuth, ck.ULong) { return l.newVerifyOp(ts, mech, key) })
}

// newVerifyOp checks key and mechanism for verification (l.mu held).
func (l *Library) newVerifyOp(ts *tokenState, mech Mechanism, key ck.ULong) (*verifyOp, *contextAuth, ck.ULong) {
	obj, _, rv := l.usableKey(ts, key, mech.Type, ck.CKF_VERIFY)
	if rv != ck.CKR_OK {
		return nil, nil, rv
	}
	sop, rv := prepareOp(obj.Attrs, obj.Key, mech)
	if rv != ck.CKR_OK {
		return nil, nil, rv
	}
	pub, ok := publicKey(obj.Attrs)
	if !ok {
		return nil, nil, ck.CKR_KEY_TYPE_INCONSISTENT
	}
	return &verifyOp{signOp: *sop, pub: pub}, nil, ck.CKR_OK
}

func (op *verifyOp) fresh() family {
	return &verifyOp{signOp: *op.signOp.fresh().(*signOp), pub: op.pub}
}

// size: verification produces no output.
func (op *verifyOp) size() (int, bool) { return 0, true }

// Verify is C_Verify (spec 5.15.2; the rules are the engine's, operation.go).
func (l *Library) Verify(h ck.ULong, data, sig []byte) ck.ULong {
	_, rv := l.finishOp(h, OpVerify, data, true, OutBuf{}, sig)
	return rv
}

// VerifyUpdate is C_VerifyUpdate.
func (l *Library) VerifyUpdate(h ck.ULong, part []byte) ck.ULong {
	return l.updateOp(h, OpVerify, part)
}

// VerifyFinal is C_VerifyFinal.
func (l *Library) VerifyFinal(h ck.ULong, sig []byte) ck.ULong {
	_, rv := l.finishOp(h, OpVerify, nil, false, OutBuf{}, sig)
	return rv
}

func (op *verifyOp) finish(c finishCall) ([]byte, ck.ULong) {
	return nil, checkSignature(op, c.sig)
}

// checkSignature compares sig with the data fed to op.
func checkSignature(op *verifyOp, sig []byte) ck.ULong {
	if len(sig) != op.sigLen {
		return ck.CKR_SIGNATURE_LEN_RANGE
	}
	msg := op.buf
	if op.running != nil {
		msg = op.running.Sum(nil)
	}
	if verifyWith(op, msg, sig) {
		return ck.CKR_OK
	}
	return ck.CKR_SIGNATURE_INVALID
}

// verifyWith checks sig over msg (the hash, or the data for mechanisms without one).
func verifyWith(op *verifyOp, msg, sig []byte) bool {
	switch op.kind {
	case kindRSAPKCS1:
		pub, ok := op.pub.(*rsa.PublicKey)
		if !ok {
			return false
		}
		// hash 0: msg is the caller's DigestInfo (CKM_RSA_PKCS), signed as is.
		return rsa.VerifyPKCS1v15(pub, op.hash, msg, sig) == nil
	case kindRSARaw:
		pub, ok := op.pub.(*rsa.PublicKey)
		if !ok || len(msg) > op.sigLen {
			return false
		}
		c := new(big.Int).SetBytes(sig)
		if c.Cmp(pub.N) >= 0 {
			return false
		}
		m := new(big.Int).Exp(c, big.NewInt(int64(pub.E)), pub.N).FillBytes(make([]byte, op.sigLen))
		want := make([]byte, op.sigLen)
		copy(want[op.sigLen-len(msg):], msg)
		return subtle.ConstantTimeCompare(m, want) == 1
	case kindRSAPSS:
		pub, ok := op.pub.(*rsa.PublicKey)
		if !ok {
			return false
		}
		if op.mgf != op.pssHash { // crypto/rsa ties the MGF1 hash to the message hash
			return pssVerify(pub, op.pssHash, op.mgf, msg, sig, op.saltLen)
		}
		return rsa.VerifyPSS(pub, op.pssHash, msg, sig, &rsa.PSSOptions{SaltLength: op.saltLen, Hash: op.pssHash}) == nil
	case kindECDSA:
		pub, ok := op.pub.(*ecdsa.PublicKey)
		if !ok || len(msg) == 0 {
			return false
		}
		n := len(sig) / 2
		r, s := new(big.Int).SetBytes(sig[:n]), new(big.Int).SetBytes(sig[n:])
		return ecdsa.Verify(pub, msg, r, s)
	case kindEdDSA:
		pub, ok := op.pub.(ed25519.PublicKey)
		return ok && ed25519.Verify(pub, msg, sig)
	}
	return false
}

// rawRSAPublic is m^e mod n for CKM_RSA_X_509, with m left-padded to k bytes; m must
// be smaller than the modulus.
func rawRSAPublic(pub *rsa.PublicKey, msg []byte, k int) ([]byte, bool) {
	if len(msg) > k {
		return nil, false
	}
	m := new(big.Int).SetBytes(msg)
	if m.Cmp(pub.N) >= 0 {
		return nil, false
	}
	return new(big.Int).Exp(m, big.NewInt(int64(pub.E)), pub.N).FillBytes(make([]byte, k)), true
}
