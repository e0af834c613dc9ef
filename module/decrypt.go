package module

import (
	"crypto"
	"crypto/subtle"
	"slices"

	"github.com/pcsc11/pcsc11/ck"
	"github.com/pcsc11/pcsc11/slot"
)

// decryptOp is an active C_DecryptInit..C_Decrypt/C_DecryptFinal operation: the card
// does raw RSA, the module removes PKCS#1 v1.5 or OAEP padding.
type decryptOp struct {
	mech  ck.ULong
	key   string
	k     int // modulus bytes
	oaep  *oaepParams
	buf   []byte
	upd   bool
	done  bool   // the card answered; result is kept for a retry after BUFFER_TOO_SMALL
	plain []byte // the plaintext, once done

	alwaysAuth, contextAuthed bool
	ctxHold                   *contextHold // the card kept for this operation by its context-specific login
}

func (op *decryptOp) wipe() {
	clear(op.buf)
	clear(op.plain)
	op.buf, op.plain = nil, nil
	op.ctxHold.wipe()
	op.ctxHold = nil
}

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

// DecryptInit is C_DecryptInit (spec 5.9.1 of v3.0's encryption/decryption sections).
func (l *Library) DecryptInit(h ck.ULong, mech Mechanism, key ck.ULong) ck.ULong {
	l.mu.Lock()
	defer l.mu.Unlock()
	s, ts, rv := l.lookup(h)
	if rv != ck.CKR_OK {
		return rv
	}
	if s.decrypt != nil {
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
	if class, _ := a[ck.CKA_CLASS].(ck.ULong); class != ck.CKO_PRIVATE_KEY {
		return ck.CKR_KEY_TYPE_INCONSISTENT
	}
	if d, _ := a[ck.CKA_DECRYPT].(bool); !d {
		return ck.CKR_KEY_FUNCTION_NOT_PERMITTED
	}
	tok, rv := l.tokenOf(ts)
	if rv != ck.CKR_OK {
		return rv
	}
	if !slices.Contains(rsaCryptMechs, mech.Type) || !hasMechanism(mechanisms(tok), mech.Type, ck.CKF_DECRYPT) {
		return ck.CKR_MECHANISM_INVALID
	}
	if allowed, ok := a[ck.CKA_ALLOWED_MECHANISMS].([]ck.ULong); ok && !slices.Contains(allowed, mech.Type) {
		return ck.CKR_MECHANISM_INVALID
	}
	if kt, _ := a[ck.CKA_KEY_TYPE].(ck.ULong); kt != ck.CKK_RSA {
		return ck.CKR_KEY_TYPE_INCONSISTENT
	}
	bits, k := rsaModulus(a)
	if bits < 512 {
		return ck.CKR_KEY_SIZE_RANGE
	}
	op := &decryptOp{mech: mech.Type, key: obj.Key, k: k}
	op.alwaysAuth, _ = a[ck.CKA_ALWAYS_AUTHENTICATE].(bool)
	if mech.Type == ck.CKM_RSA_PKCS_OAEP {
		if op.oaep, rv = parseOAEP(mech); rv != ck.CKR_OK {
			return rv
		}
		if k < 2*op.oaep.hash.Size()+2 {
			return ck.CKR_KEY_SIZE_RANGE
		}
	}
	s.decrypt = op
	return ck.CKR_OK
}

// Decrypt is C_Decrypt. Before the card has answered, a length query returns the
// modulus size (an upper bound, as spec 5.2 allows); afterwards the exact length.
// CKR_BUFFER_TOO_SMALL keeps the plaintext, so the retry does not use the card again.
func (l *Library) Decrypt(h ck.ULong, data []byte, out OutBuf) (ck.ULong, ck.ULong) {
	return l.finishDecrypt(h, data, true, out)
}

// DecryptFinal is C_DecryptFinal: the ciphertext given to C_DecryptUpdate is decrypted.
func (l *Library) DecryptFinal(h ck.ULong, out OutBuf) (ck.ULong, ck.ULong) {
	return l.finishDecrypt(h, nil, false, out)
}

// DecryptUpdate is C_DecryptUpdate: RSA is single-part, so the ciphertext is collected
// and nothing is output (*pulPartLen = 0).
func (l *Library) DecryptUpdate(h ck.ULong, part []byte) ck.ULong {
	return l.updateOp(h, OpDecrypt, part)
}

func (op *decryptOp) update(part []byte) ck.ULong {
	op.upd = true
	if len(op.buf)+len(part) > op.k {
		return ck.CKR_ENCRYPTED_DATA_LEN_RANGE
	}
	op.buf = append(op.buf, part...)
	return ck.CKR_OK
}

func (l *Library) finishDecrypt(h ck.ULong, data []byte, single bool, out OutBuf) (ck.ULong, ck.ULong) {
	l.mu.Lock()
	defer l.mu.Unlock()
	s, ts, rv := l.lookup(h)
	if rv != ck.CKR_OK {
		return 0, rv
	}
	op := s.decrypt
	if op == nil {
		return 0, ck.CKR_OPERATION_NOT_INITIALIZED
	}
	end := func(rv ck.ULong) (ck.ULong, ck.ULong) {
		op.wipe()
		s.decrypt = nil
		return 0, rv
	}
	if !op.done {
		if out.Nil {
			return ck.ULong(op.k), ck.CKR_OK
		}
		ct := op.buf
		if single {
			if op.upd {
				return end(ck.CKR_OPERATION_ACTIVE)
			}
			ct = data
		}
		if len(ct) != op.k {
			return end(ck.CKR_ENCRYPTED_DATA_LEN_RANGE)
		}
		if op.alwaysAuth && !op.contextAuthed {
			return end(ck.CKR_USER_NOT_LOGGED_IN)
		}
		// The operation is off the session while the card works (privateKeyOp), and
		// back on it afterwards: a short buffer keeps the plaintext (see Decrypt).
		s.decrypt = nil
		em, err := l.privateKeyOp(s, ts, ck.CKF_DECRYPT, op.key, slot.OpRSARaw, ct, op.alwaysAuth)
		s.decrypt = op
		op.ctxHold = nil // the key operation ended the card's hold
		if err != nil {
			Logf("decrypt session %d: %v", h, err)
			return end(rvOf(err))
		}
		if len(em) < op.k {
			em = append(make([]byte, op.k-len(em)), em...)
		}
		plain, ok := unpad(op, em)
		clear(em)
		if !ok {
			return end(ck.CKR_ENCRYPTED_DATA_INVALID)
		}
		op.plain, op.done = plain, true
	}
	n := ck.ULong(len(op.plain))
	if out.Nil {
		return n, ck.CKR_OK
	}
	if len(out.Buf) < len(op.plain) {
		return n, ck.CKR_BUFFER_TOO_SMALL
	}
	copy(out.Buf, op.plain)
	end(ck.CKR_OK)
	return n, ck.CKR_OK
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
