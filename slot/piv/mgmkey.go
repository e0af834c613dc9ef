package piv

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"

	"github.com/pcsc11/pcsc11/apdu"
	"github.com/pcsc11/pcsc11/ck"
	"github.com/pcsc11/pcsc11/slot"
)

// loginSO authenticates with the PIV card management key (9B), given as hex digits,
// by mutual GENERAL AUTHENTICATE (SP 800-73-4 part 2, appendix A.1; Yubico for the
// algorithm in GET METADATA 9B, 3DES before 5.3).
func (t *Token) loginSO(hexKey []byte) error {
	if hexKey == nil {
		return slot.NewError(ck.CKR_ARGUMENTS_BAD, "piv: no management key given", nil)
	}
	switch len(hexKey) {
	case 32, 48, 64:
	default:
		return slot.NewError(ck.CKR_PIN_LEN_RANGE, "piv: management key must be 32, 48 or 64 hex digits", nil)
	}
	key := make([]byte, len(hexKey)/2)
	defer clear(key)
	if _, err := hex.Decode(key, hexKey); err != nil {
		return slot.NewError(ck.CKR_PIN_INCORRECT, "piv: management key is not hex", nil)
	}
	return t.transact(func() error {
		alg := byte(alg3DES)
		if t.atLeast(5, 3) {
			m, err := t.getMetadata(refMgmKey)
			if _, isSW := apdu.SW(err); err != nil && !isSW {
				return err // transport failure or a malformed answer
			}
			if err == nil && m.alg != 0 {
				alg = m.alg
			}
		}
		block, err := mgmCipher(alg, key)
		if err != nil {
			return err
		}
		t.soLoggedIn = false
		if err := t.mutualAuth(alg, block); err != nil {
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

func (t *Token) mutualAuth(alg byte, block cipher.Block) error {
	bs := block.BlockSize()
	ga := func(data []byte) ([]byte, error) {
		out, err := t.exchange(apdu.Command{INS: insGeneralAuth, P1: alg, P2: refMgmKey,
			Data: apdu.EncodeTLV(0x7C, data), Ne: 256})
		if err != nil {
			return nil, err
		}
		return parseDynAuth(out)
	}
	// Step 1: ask for a witness (80 empty); the card answers it encrypted.
	resp, err := ga([]byte{0x80, 0x00})
	if err != nil {
		return err
	}
	witness, ok, err := apdu.Find(resp, 0x80)
	if err != nil || !ok || len(witness) != bs {
		return errors.New("piv: management key: bad witness")
	}
	plain := make([]byte, bs)
	block.Decrypt(plain, witness)
	challenge := make([]byte, bs)
	if _, err := rand.Read(challenge); err != nil {
		return slot.NewError(ck.CKR_FUNCTION_FAILED, "piv: no randomness", err)
	}
	// Step 2: return the decrypted witness and our challenge; the card proves it holds
	// the same key by encrypting the challenge.
	data := apdu.AppendTLV(apdu.EncodeTLV(0x80, plain), 0x81, challenge)
	resp, err = ga(data)
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
	return nil
}

// parseDynAuth unwraps a Dynamic Authentication Template answer: exactly one 7C.
func parseDynAuth(out []byte) ([]byte, error) {
	tlv, rest, err := apdu.ParseTLV(out)
	if err != nil || len(rest) != 0 || tlv.Tag != 0x7C {
		return nil, errors.New("piv: GENERAL AUTHENTICATE: answer is not one 7C template")
	}
	return tlv.Value, nil
}
