package piv

import (
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/rsa"
	"encoding/asn1"
	"errors"
	"math/big"
	"time"

	"github.com/pcsc11/pcsc11/apdu"
	"github.com/pcsc11/pcsc11/ck"
	"github.com/pcsc11/pcsc11/slot"
)

// PrivateKeyOp runs a private-key primitive with GENERAL AUTHENTICATE (SP 800-73-4
// part 2, 3.2.4): 7C { 82 00, 81 <challenge> } for signatures and raw RSA,
// 7C { 82 00, 85 <peer point> } for key agreement; the card answers 7C { 82 <out> }.
func (t *Token) PrivateKeyOp(key string, op slot.KeyOp, input []byte) ([]byte, error) {
	t.mu.Lock()
	defer t.unlock()
	// The operation spends a context-specific login: its kept transaction ends here,
	// whatever the outcome (context.go).
	defer t.endHold()
	ref, k, err := t.privKey(key)
	if err != nil {
		return nil, err
	}
	tag, payload, err := opPayload(k, op, input)
	if err != nil {
		return nil, err
	}
	var out []byte
	err = t.transact(func() error {
		var err error
		out, err = t.generalAuth(ref, k, op, tag, payload)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// privKey finds the key behind a private-key handle (reading its slot once).
func (t *Token) privKey(key string) (byte, *keyInfo, error) {
	kind, s, ok := objectRef(key)
	if !ok || kind != "priv" {
		return 0, nil, slot.NewError(ck.CKR_KEY_HANDLE_INVALID, "piv: no such private key", nil)
	}
	k, err := t.ensureSlot(s)
	if err != nil {
		return 0, nil, err
	}
	if k.pub == nil {
		return 0, nil, slot.NewError(ck.CKR_KEY_HANDLE_INVALID, "piv: no key in slot", nil)
	}
	return s.ref, k, nil
}

// generalAuth sends the GENERAL AUTHENTICATE of a key operation (payload shaped by
// opPayload) and returns the reshaped result; the caller holds the transaction.
func (t *Token) generalAuth(ref byte, k *keyInfo, op slot.KeyOp, tag uint32, payload []byte) ([]byte, error) {
	data := apdu.AppendTLV([]byte{0x82, 0x00}, tag, payload)
	start := time.Now()
	resp, err := t.exchange(apdu.Command{INS: insGeneralAuth, P1: k.alg, P2: ref,
		Data: apdu.EncodeTLV(0x7C, data), Ne: apdu.MaxExtendNe})
	if err != nil {
		if terr := t.touchTimeout(err, k, time.Since(start)); terr != nil {
			return nil, terr
		}
		if apdu.IsSecurityStatusNotSatisfied(err) && !k.alwaysAuth() {
			// The card says the PIN is not verified: our login is gone (another
			// program selected another application or presented a wrong PIN),
			// which LoggedIn answers from this record.
			t.loggedIn = false
		}
		return nil, keyOpError(err)
	}
	inner, err := parseDynAuth(resp)
	if err != nil {
		return nil, err
	}
	raw, ok, err := apdu.Find(inner, 0x82)
	if err != nil || !ok {
		return nil, errors.New("piv: GENERAL AUTHENTICATE: no 82 response")
	}
	return opResult(k, op, raw)
}

// opPayload checks op against the key and shapes the input for the card.
func opPayload(k *keyInfo, op slot.KeyOp, in []byte) (uint32, []byte, error) {
	notPermitted := slot.NewError(ck.CKR_KEY_FUNCTION_NOT_PERMITTED, "piv: operation not possible with this key", nil)
	switch op {
	case slot.OpRSARaw:
		if !k.isRSA() {
			return 0, nil, notPermitted
		}
		// The card takes exactly one modulus-sized block; padding is the host's job.
		if len(in) != rsaBits(k.alg)/8 {
			return 0, nil, slot.NewError(ck.CKR_DATA_LEN_RANGE, "piv: RSA input must be the modulus size", nil)
		}
		if new(big.Int).SetBytes(in).Cmp(k.pub.(*rsa.PublicKey).N) >= 0 {
			return 0, nil, slot.NewError(ck.CKR_DATA_INVALID, "piv: RSA input not below the modulus", nil)
		}
		return 0x81, in, nil
	case slot.OpECDSA:
		if k.alg != algP256 && k.alg != algP384 {
			return 0, nil, notPermitted
		}
		if len(in) == 0 {
			return 0, nil, slot.NewError(ck.CKR_DATA_LEN_RANGE, "piv: empty hash", nil)
		}
		// FIPS 186-4 6.4: a longer hash is cut to its leftmost bits (the curve orders
		// here are whole bytes); a shorter one is left-padded with zeros.
		size := ecSize(k.alg)
		h := make([]byte, size)
		if len(in) >= size {
			copy(h, in[:size])
		} else {
			copy(h[size-len(in):], in)
		}
		return 0x81, h, nil
	case slot.OpEdDSA:
		if k.alg != algEd25519 {
			return 0, nil, notPermitted
		}
		return 0x81, in, nil
	case slot.OpECDH:
		switch k.alg {
		case algP256, algP384:
			// The peer point must be on our curve, uncompressed (X9.62).
			pub := k.pub.(*ecdsa.PublicKey)
			if _, err := ecdsa.ParseUncompressedPublicKey(pub.Curve, in); err != nil {
				return 0, nil, slot.NewError(ck.CKR_MECHANISM_PARAM_INVALID, "piv: peer public point invalid", nil)
			}
		case algX25519:
			if _, err := ecdh.X25519().NewPublicKey(in); err != nil {
				return 0, nil, slot.NewError(ck.CKR_MECHANISM_PARAM_INVALID, "piv: peer public key invalid", nil)
			}
		default:
			return 0, nil, notPermitted
		}
		return 0x85, in, nil
	}
	return 0, nil, slot.NewError(ck.CKR_MECHANISM_INVALID, "piv: unknown key operation", nil)
}

// opResult checks and reshapes the card's output.
func opResult(k *keyInfo, op slot.KeyOp, raw []byte) ([]byte, error) {
	bad := errors.New("piv: GENERAL AUTHENTICATE: malformed result")
	switch op {
	case slot.OpRSARaw:
		size := rsaBits(k.alg) / 8
		if len(raw) == 0 || len(raw) > size {
			return nil, bad
		}
		out := make([]byte, size) // left-pad a result with leading zero bytes dropped
		copy(out[size-len(raw):], raw)
		return out, nil
	case slot.OpECDSA:
		return ecdsaRaw(raw, ecSize(k.alg))
	case slot.OpEdDSA:
		if len(raw) != 64 {
			return nil, bad
		}
		return append([]byte(nil), raw...), nil
	case slot.OpECDH:
		if len(raw) != ecSize(k.alg) {
			return nil, bad
		}
		return append([]byte(nil), raw...), nil
	}
	return nil, bad
}

// ecdsaRaw converts DER SEQUENCE { r INTEGER, s INTEGER } to fixed-size r||s
// (PKCS#11 curr 2.3.1: the ECDSA signature is r and s, each the order's size).
func ecdsaRaw(der []byte, size int) ([]byte, error) {
	var sig struct{ R, S *big.Int }
	rest, err := asn1.Unmarshal(der, &sig)
	if err != nil || len(rest) != 0 || sig.R == nil || sig.S == nil ||
		sig.R.Sign() <= 0 || sig.S.Sign() <= 0 || sig.R.BitLen() > size*8 || sig.S.BitLen() > size*8 {
		return nil, errors.New("piv: ECDSA signature from the card is malformed")
	}
	out := make([]byte, 2*size)
	sig.R.FillBytes(out[:size])
	sig.S.FillBytes(out[size:])
	return out, nil
}

// keyOpError maps the card's refusals: 6982 = PIN needed (a touch timeout, also 6982,
// is told apart before: touchTimeout).
func keyOpError(err error) error {
	switch {
	case apdu.IsSecurityStatusNotSatisfied(err):
		return slot.NewError(ck.CKR_USER_NOT_LOGGED_IN, "piv: the key needs the PIN", nil)
	case apdu.IsNotFound(err):
		return slot.NewError(ck.CKR_KEY_HANDLE_INVALID, "piv: the card has no such key", err)
	case swIs(err, apdu.SWIncorrectData, apdu.SWWrongLength):
		return slot.NewError(ck.CKR_DATA_INVALID, "piv: the card refused the input", err)
	}
	return err
}
