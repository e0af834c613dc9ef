package module

import (
	"crypto"
	"crypto/subtle"
	"slices"

	"github.com/pcsc11/pcsc11/ck"
	"github.com/pcsc11/pcsc11/slot"
)

// decryptOp is the family of C_DecryptInit..C_Decrypt/C_DecryptFinal: the card does
// raw RSA, the module removes PKCS#1 v1.5 or OAEP padding.
type decryptOp struct {
	mech ck.ULong
	key  string
	k    int // modulus bytes
	oaep *oaepParams
	collected
}

// size: before the card has answered, the modulus size is an upper bound of the
// plaintext's length (spec 5.2 allows it); the engine keeps the exact result.
func (op *decryptOp) size() (int, bool) { return op.k, false }

type oaepParams struct {
	hash, mgf crypto.Hash
	label     []byte
}

// parseOAEP reads CK_RSA_PKCS_OAEP_PARAMS {hashAlg, mgf, source, pSourceData,
// ulSourceDataLen}; the door copied the source data into mech.Source.
func parseOAEP(mech Mechanism) (*oaepParams, ck.ULong) {
	p, ok := parseULongs(mech.Param, 5)
	if !ok || !isDigestMech(p[0]) {
		return nil, ck.CKR_MECHANISM_PARAM_INVALID
	}
	o := &oaepParams{hash: hashOfMech(p[0]), mgf: hashOfMGF(p[1]), label: mech.Source}
	if o.mgf == 0 || (p[2] != ck.CKZ_DATA_SPECIFIED && !(p[2] == 0 && len(mech.Source) == 0)) {
		return nil, ck.CKR_MECHANISM_PARAM_INVALID
	}
	return o, ck.CKR_OK
}

// DecryptInit is C_DecryptInit (spec 5.9.1).
func (l *Library) DecryptInit(h ck.ULong, mech Mechanism, key ck.ULong) ck.ULong {
	return l.initOp(h, OpDecrypt, func(ts *tokenState) (family, *contextAuth, ck.ULong) { return l.newDecryptOp(ts, mech, key) })
}

func (l *Library) newDecryptOp(ts *tokenState, mech Mechanism, key ck.ULong) (*decryptOp, *contextAuth, ck.ULong) {
	obj, auth, rv := l.usableKey(ts, key, mech.Type, ck.CKF_DECRYPT)
	if rv != ck.CKR_OK {
		return nil, nil, rv
	}
	a := obj.Attrs
	if !slices.Contains(rsaCryptMechs, mech.Type) {
		return nil, nil, ck.CKR_MECHANISM_INVALID
	}
	if kt, _ := a[ck.CKA_KEY_TYPE].(ck.ULong); kt != ck.CKK_RSA {
		return nil, nil, ck.CKR_KEY_TYPE_INCONSISTENT
	}
	bits, k := rsaModulus(a)
	if bits < 512 {
		return nil, nil, ck.CKR_KEY_SIZE_RANGE
	}
	op := &decryptOp{mech: mech.Type, key: obj.Key, k: k,
		collected: collected{limit: k, tooLong: ck.CKR_ENCRYPTED_DATA_LEN_RANGE}}
	if mech.Type == ck.CKM_RSA_PKCS_OAEP {
		if op.oaep, rv = parseOAEP(mech); rv != ck.CKR_OK {
			return nil, nil, rv
		}
		if k < 2*op.oaep.hash.Size()+2 {
			return nil, nil, ck.CKR_KEY_SIZE_RANGE
		}
	}
	return op, auth, ck.CKR_OK
}

// Decrypt is C_Decrypt (spec 5.9.2; the rules are the engine's, operation.go). Before
// the card has answered, a length query returns the modulus size; afterwards the
// exact length. CKR_BUFFER_TOO_SMALL keeps the plaintext, so the retry does not use
// the card again.
func (l *Library) Decrypt(h ck.ULong, data []byte, out OutBuf) (ck.ULong, ck.ULong) {
	return l.finishOp(h, OpDecrypt, data, true, out, nil)
}

// DecryptUpdate is C_DecryptUpdate: RSA is single-part, so the ciphertext is collected
// and nothing is output (*pulPartLen = 0).
func (l *Library) DecryptUpdate(h ck.ULong, part []byte) ck.ULong {
	return l.updateOp(h, OpDecrypt, part)
}

// DecryptFinal is C_DecryptFinal: the ciphertext given to C_DecryptUpdate is decrypted.
func (l *Library) DecryptFinal(h ck.ULong, out OutBuf) (ck.ULong, ck.ULong) {
	return l.finishOp(h, OpDecrypt, nil, false, out, nil)
}

// finish has the card decrypt the ciphertext (l.mu held, released for the card: see
// privateKeyOp) and removes the padding.
func (op *decryptOp) finish(c finishCall) ([]byte, ck.ULong) {
	if len(op.buf) != op.k {
		return nil, ck.CKR_ENCRYPTED_DATA_LEN_RANGE
	}
	if !c.auth.ready() {
		return nil, ck.CKR_USER_NOT_LOGGED_IN
	}
	em, err := c.l.privateKeyOp(c.s, c.ts, ck.CKF_DECRYPT, op.key, slot.OpRSARaw, op.buf, c.auth != nil)
	c.auth.used()
	if err != nil {
		Logf("decrypt session %d: %v", c.s.handle, err)
		return nil, rvOf(err)
	}
	if len(em) < op.k {
		em = append(make([]byte, op.k-len(em)), em...)
	}
	plain, ok := unpad(op, em)
	clear(em)
	if !ok {
		return nil, ck.CKR_ENCRYPTED_DATA_INVALID
	}
	return plain, ck.CKR_OK
}

func unpad(op *decryptOp, em []byte) ([]byte, bool) {
	switch op.mech {
	case ck.CKM_RSA_X_509:
		return append([]byte(nil), em...), true
	case ck.CKM_RSA_PKCS:
		return pkcs1Type2Unpad(em)
	case ck.CKM_RSA_PKCS_OAEP:
		return oaepDecode(em, op.oaep)
	}
	return nil, false
}

// pkcs1Type2Unpad removes EME-PKCS1-v1_5 padding (RFC 8017 7.2.2 step 3) without
// branching on secret bytes until the final answer.
func pkcs1Type2Unpad(em []byte) ([]byte, bool) {
	if len(em) < 11 {
		return nil, false
	}
	good := subtle.ConstantTimeByteEq(em[0], 0) & subtle.ConstantTimeByteEq(em[1], 2)
	looking, sep := 1, 0
	for i := 2; i < len(em); i++ {
		zero := subtle.ConstantTimeByteEq(em[i], 0)
		sep = subtle.ConstantTimeSelect(looking&zero, i, sep)
		looking = subtle.ConstantTimeSelect(zero, 0, looking)
	}
	// At least 8 padding bytes: the separator is at index 10 or later.
	good &= subtle.ConstantTimeLessOrEq(10, sep) & (looking ^ 1)
	if good != 1 {
		return nil, false
	}
	return append([]byte(nil), em[sep+1:]...), true
}

// oaepDecode is EME-OAEP decoding (RFC 8017 7.1.2 step 3).
func oaepDecode(em []byte, p *oaepParams) ([]byte, bool) {
	hLen, k := p.hash.Size(), len(em)
	if k < 2*hLen+2 {
		return nil, false
	}
	d := p.hash.New()
	d.Write(p.label)
	lHash := d.Sum(nil)
	maskedSeed, maskedDB := em[1:1+hLen], em[1+hLen:]
	seed := mgf1(p.mgf, maskedDB, hLen)
	for i := range seed {
		seed[i] ^= maskedSeed[i]
	}
	db := mgf1(p.mgf, seed, len(maskedDB))
	for i := range db {
		db[i] ^= maskedDB[i]
	}
	good := subtle.ConstantTimeByteEq(em[0], 0) & subtle.ConstantTimeCompare(db[:hLen], lHash)
	looking, idx, invalid := 1, 0, 0
	for i := hLen; i < len(db); i++ {
		zero := subtle.ConstantTimeByteEq(db[i], 0)
		one := subtle.ConstantTimeByteEq(db[i], 1)
		idx = subtle.ConstantTimeSelect(looking&one, i, idx)
		looking = subtle.ConstantTimeSelect(one, 0, looking)
		invalid = subtle.ConstantTimeSelect(looking&^zero, 1, invalid)
	}
	if good&^invalid&^looking != 1 {
		return nil, false
	}
	return append([]byte(nil), db[idx+1:]...), true
}
