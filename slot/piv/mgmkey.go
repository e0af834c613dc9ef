package piv

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
	"crypto/rand"
	"crypto/subtle"
	"errors"

	"github.com/pcsc11/pcsc11/apdu"
	"github.com/pcsc11/pcsc11/ck"
	"github.com/pcsc11/pcsc11/slot"
)

// loginSO authenticates with the PIV card management key (9B), given as hex digits,
// by mutual GENERAL AUTHENTICATE (SP 800-73-4 part 2, appendix A.1; the algorithm as
// mgmAlgCandidates finds it).
func (t *Token) loginSO(hexKey []byte) error {
	if hexKey == nil {
		return slot.NewError(ck.CKR_ARGUMENTS_BAD, "piv: no management key given", nil)
	}
	// Wiped when the login is done: the card keeps the authentication, the module
	// keeps no key.
	held, err := decodeMgmKey(hexKey, ck.CKR_PIN_INCORRECT)
	if err != nil {
		return err
	}
	defer held.Wipe()
	key := held.Bytes()
	return t.transact(func() error {
		t.soLoggedIn = false
		if err := t.authMgm(key); err != nil {
			return err
		}
		t.soLoggedIn = true
		return nil
	})
}

// mgmCipher builds the block cipher for the management key; a key of the wrong
// length for the card's algorithm is simply a wrong key.
func mgmCipher(alg byte, key []byte) (cipher.Block, error) {
	want := map[byte]int{alg3DES: 24, algAES128: 16, algAES192: 24, algAES256: 32}[alg]
	if want == 0 {
		return nil, slot.NewError(ck.CKR_DEVICE_ERROR, "piv: unknown management key algorithm", nil)
	}
	if len(key) != want {
		return nil, slot.NewError(ck.CKR_PIN_INCORRECT, "piv: management key has the wrong length for the card's algorithm", nil)
	}
	if alg == alg3DES {
		return des.NewTripleDESCipher(key)
	}
	return aes.NewCipher(key)
}

// mutualAuth authenticates with key, trying the candidate algorithms in order. Only
// the witness request (step 1, which proves nothing and counts no failure: SP 800-73-4
// part 2 appendix A.1) is sent per candidate; a card whose key has another algorithm
// refuses it (6A80/6A86, as YubiKeys and our virtual card do), and the next one is
// tried. So finding the algorithm of a card without GET METADATA never spends a
// retry of the management key. The algorithm that worked is remembered.
func (t *Token) mutualAuth(candidates []byte, key []byte) error {
	var (
		alg     byte
		block   cipher.Block
		witness []byte
	)
	ga := func(alg byte, data []byte) ([]byte, error) {
		out, err := t.exchange(apdu.Command{INS: insGeneralAuth, P1: alg, P2: refMgmKey,
			Data: apdu.EncodeTLV(0x7C, data), Ne: 256})
		if err != nil {
			return nil, err
		}
		return parseDynAuth(out)
	}
	for _, a := range candidates {
		b, err := mgmCipher(a, key)
		if err != nil {
			return err
		}
		// Step 1: ask for a witness (80 empty); the card answers it encrypted.
		resp, err := ga(a, []byte{0x80, 0x00})
		if swIs(err, apdu.SWIncorrectP1P2, apdu.SWIncorrectData, apdu.SWWrongP1P2) && len(candidates) > 1 {
			continue // not this card's algorithm
		}
		if err != nil {
			return err
		}
		w, ok, err := apdu.Find(resp, 0x80)
		if err != nil || !ok || len(w) != b.BlockSize() {
			return errors.New("piv: management key: bad witness")
		}
		alg, block, witness = a, b, w
		break
	}
	if block == nil {
		return slot.NewError(ck.CKR_PIN_INCORRECT, "piv: the management key fits none of the card's algorithms", nil)
	}
	bs := block.BlockSize()
	plain := make([]byte, bs)
	block.Decrypt(plain, witness)
	challenge := make([]byte, bs)
	if _, err := rand.Read(challenge); err != nil {
		return slot.NewError(ck.CKR_FUNCTION_FAILED, "piv: no randomness", err)
	}
	// Step 2: return the decrypted witness and our challenge; the card proves it holds
	// the same key by encrypting the challenge.
	data := apdu.AppendTLV(apdu.EncodeTLV(0x80, plain), 0x81, challenge)
	resp, err := ga(alg, data)
	clear(plain)
	if err != nil {
		if swIs(err, apdu.SWSecurityNotSatisfied, apdu.SWIncorrectData) {
			return slot.NewError(ck.CKR_PIN_INCORRECT, "piv: wrong management key", nil)
		}
		if apdu.IsAuthBlocked(err) {
			return slot.NewError(ck.CKR_PIN_LOCKED, "piv: management key blocked", nil)
		}
		return err
	}
	got, ok, err := apdu.Find(resp, 0x82)
	if err != nil || !ok || len(got) != bs {
		return errors.New("piv: management key: bad card response")
	}
	want := make([]byte, bs)
	block.Encrypt(want, challenge)
	if subtle.ConstantTimeCompare(got, want) != 1 {
		return slot.NewError(ck.CKR_DEVICE_ERROR, "piv: the card failed to prove the management key", nil)
	}
	t.mgmAlgSeen = alg
	return nil
}

// mgmAlgCandidates lists the algorithms the card's management key may have, for a key
// of n bytes, most likely first: the one GET METADATA 9B names on YubiKey 5.3+; else
// by length, 16 bytes AES-128, 32 AES-256, 24 3DES or AES-192 (AES-192 first on 5.7,
// whose factory key is AES-192; 3DES first elsewhere: the factory algorithm before 5.7
// and of most PIV cards).
func (t *Token) mgmAlgCandidates(n int) ([]byte, error) {
	if t.atLeast(5, 3) {
		m, err := t.getMetadata(refMgmKey)
		if err != nil && !t.metadataUnknown(refMgmKey, err) {
			return nil, err
		}
		if err == nil && m.alg != 0 {
			return []byte{m.alg}, nil
		}
	}
	switch n {
	case 16:
		return []byte{algAES128}, nil
	case 32:
		return []byte{algAES256}, nil
	case 24:
		if t.atLeast(5, 7) {
			return []byte{algAES192, alg3DES}, nil
		}
		return []byte{alg3DES, algAES192}, nil
	}
	return nil, slot.NewError(ck.CKR_PIN_LEN_RANGE, "piv: management key must be 16, 24 or 32 bytes", nil)
}

// parseDynAuth unwraps a Dynamic Authentication Template answer: exactly one 7C.
func parseDynAuth(out []byte) ([]byte, error) {
	tlv, rest, err := apdu.ParseTLV(out)
	if err != nil || len(rest) != 0 || tlv.Tag != 0x7C {
		return nil, errors.New("piv: GENERAL AUTHENTICATE: answer is not one 7C template")
	}
	return tlv.Value, nil
}
