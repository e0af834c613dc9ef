package piv

import (
	"crypto"
	"math/big"

	"github.com/pcsc11/pcsc11/apdu"
	"github.com/pcsc11/pcsc11/ck"
	"github.com/pcsc11/pcsc11/slot"
)

const insGenerate = 0x47

// Attributes a key-pair template may carry besides the common ones.
var (
	pubKeyAttrs = []ck.ULong{ck.CKA_KEY_TYPE, ck.CKA_DERIVE, ck.CKA_ENCRYPT, ck.CKA_VERIFY,
		ck.CKA_VERIFY_RECOVER, ck.CKA_WRAP, ck.CKA_TRUSTED, ck.CKA_MODULUS_BITS,
		ck.CKA_PUBLIC_EXPONENT, ck.CKA_EC_PARAMS, ck.CKA_YUBICO_PIN_POLICY, ck.CKA_YUBICO_TOUCH_POLICY}
	privKeyAttrs = []ck.ULong{ck.CKA_KEY_TYPE, ck.CKA_DERIVE, ck.CKA_SENSITIVE, ck.CKA_DECRYPT,
		ck.CKA_SIGN, ck.CKA_SIGN_RECOVER, ck.CKA_UNWRAP, ck.CKA_EXTRACTABLE, ck.CKA_WRAP_WITH_TRUSTED,
		ck.CKA_ALWAYS_AUTHENTICATE, ck.CKA_EC_PARAMS, ck.CKA_MODULUS_BITS, ck.CKA_PUBLIC_EXPONENT,
		ck.CKA_YUBICO_PIN_POLICY, ck.CKA_YUBICO_TOUCH_POLICY}
)

// GenerateKeyPair is C_GenerateKeyPair (spec 5.14): GENERATE ASYMMETRIC KEY PAIR
// (SP 800-73-4 part 2, 3.3.2) in the slot named by CKA_ID, with the algorithm from the
// mechanism and template and the YubiKey policies from keyPolicies. A certificate left
// in the slot belonged to the replaced key and is deleted, so that no certificate ever
// names the wrong key. Needs the management key (SO login, or a user login on a card
// with a PIN-protected management key).
func (t *Token) GenerateKeyPair(mech ck.ULong, pub, priv slot.Attributes) (string, string, error) {
	t.mu.Lock()
	defer t.unlock()
	if pub == nil {
		pub = slot.Attributes{}
	}
	if priv == nil {
		priv = slot.Attributes{}
	}
	alg, s, pinPol, touchPol, err := t.checkKeyGen(mech, pub, priv)
	if err != nil {
		return "", "", err
	}
	err = t.transact(func() error {
		if err := t.ensureAdmin(); err != nil {
			return err
		}
		body := apdu.EncodeTLV(0x80, []byte{alg})
		if pinPol != 0 {
			body = apdu.AppendTLV(body, 0xAA, []byte{pinPol})
		}
		if touchPol != 0 {
			body = apdu.AppendTLV(body, 0xAB, []byte{touchPol})
		}
		out, err := t.exchange(apdu.Command{INS: insGenerate, P2: s.ref,
			Data: apdu.EncodeTLV(0xAC, body), Ne: apdu.MaxExtendNe})
		if err != nil {
			if swIs(err, apdu.SWIncorrectData, apdu.SWIncorrectP1P2, apdu.SWFuncNotSupported) {
				return slot.NewError(ck.CKR_ATTRIBUTE_VALUE_INVALID, "piv: the card refused this key type or policy", err)
			}
			return writeError(err)
		}
		t.forgetSlot(s.ref)
		inner, ok, perr := apdu.Find(out, 0x7F49)
		if perr != nil || !ok {
			return slot.NewError(ck.CKR_DEVICE_ERROR, "piv: GENERATE answer has no public key", perr)
		}
		pk, err := parsePublicKey(alg, inner)
		if err != nil {
			return slot.NewError(ck.CKR_DEVICE_ERROR, "piv: GENERATE answer", err)
		}
		t.rememberPub(s.ref, pk)
		// The old certificate names the replaced key. Best effort: the key exists now,
		// and a card that refuses the deletion keeps a certificate the driver no
		// longer pairs with the key (spkiOf compares them).
		delete(t.knownCerts, s.ref)
		if err := t.putData(s.object, nil); err != nil && isTransport(err) {
			return err
		}
		if retired(s.ref) {
			return t.updateKeyHistory()
		}
		return nil
	})
	if err != nil {
		return "", "", err
	}
	return pubKey(s.ref), privKey(s.ref), nil
}

// rememberPub keeps a public key for cards that cannot tell it later (no metadata).
func (t *Token) rememberPub(ref byte, pk crypto.PublicKey) {
	if t.atLeast(5, 3) {
		return
	}
	if t.knownPub == nil {
		t.knownPub = map[byte]crypto.PublicKey{}
	}
	t.knownPub[ref] = pk
}

// checkKeyGen validates the mechanism and templates before any APDU.
func (t *Token) checkKeyGen(mech ck.ULong, pub, priv slot.Attributes) (alg byte, s keySlot, pinPol, touchPol byte, err error) {
	var keyType ck.ULong
	switch mech {
	case ck.CKM_RSA_PKCS_KEY_PAIR_GEN:
		keyType = ck.CKK_RSA
	case ck.CKM_EC_KEY_PAIR_GEN:
		keyType = ck.CKK_EC
	case ck.CKM_EC_EDWARDS_KEY_PAIR_GEN:
		keyType = ck.CKK_EC_EDWARDS
	case ck.CKM_EC_MONTGOMERY_KEY_PAIR_GEN:
		keyType = ck.CKK_EC_MONTGOMERY
	default:
		return 0, s, 0, 0, tmplErr(ck.CKR_MECHANISM_INVALID, "not a key-pair generation mechanism of this card")
	}
	if err = checkCommon(pub, ck.CKO_PUBLIC_KEY); err != nil {
		return
	}
	if err = checkCommon(priv, ck.CKO_PRIVATE_KEY); err != nil {
		return
	}
	if err = onlyKnown(pub, pubKeyAttrs...); err != nil {
		return
	}
	if err = onlyKnown(priv, privKeyAttrs...); err != nil {
		return
	}
	for _, a := range []slot.Attributes{pub, priv} {
		if v, ok, e := a.ULong(ck.CKA_KEY_TYPE); e != nil {
			return 0, s, 0, 0, e
		} else if ok && v != keyType {
			return 0, s, 0, 0, tmplErr(ck.CKR_TEMPLATE_INCONSISTENT, "CKA_KEY_TYPE does not match the mechanism")
		}
	}
	if s, err = slotFrom(pub, priv, false); err != nil {
		return
	}
	if alg, err = t.keyGenAlg(keyType, pub, priv); err != nil {
		return
	}
	if err = checkKeyUsage(alg, pub, priv); err != nil {
		return
	}
	pinPol, touchPol, err = t.keyPolicies(s, pub, priv)
	return
}

// keyGenAlg picks the PIV algorithm from the key type and template.
func (t *Token) keyGenAlg(keyType ck.ULong, pub, priv slot.Attributes) (byte, error) {
	if keyType == ck.CKK_RSA {
		for _, a := range []slot.Attributes{pub, priv} {
			if _, ok := a[ck.CKA_EC_PARAMS]; ok {
				return 0, tmplErr(ck.CKR_TEMPLATE_INCONSISTENT, "CKA_EC_PARAMS in an RSA template")
			}
		}
		bits, ok, err := pub.ULong(ck.CKA_MODULUS_BITS)
		if err != nil {
			return 0, err
		}
		if !ok {
			return 0, tmplErr(ck.CKR_TEMPLATE_INCOMPLETE, "CKA_MODULUS_BITS is needed")
		}
		if pb, okP, err := priv.ULong(ck.CKA_MODULUS_BITS); err != nil {
			return 0, err
		} else if okP && pb != bits {
			return 0, tmplErr(ck.CKR_TEMPLATE_INCONSISTENT, "CKA_MODULUS_BITS differs between the templates")
		}
		for _, a := range []slot.Attributes{pub, priv} {
			e, ok, err := a.Bytes(ck.CKA_PUBLIC_EXPONENT)
			if err != nil {
				return 0, err
			}
			if ok && new(big.Int).SetBytes(e).Cmp(big.NewInt(65537)) != 0 {
				return 0, tmplErr(ck.CKR_ATTRIBUTE_VALUE_INVALID, "PIV cards use the public exponent 65537 only")
			}
		}
		return t.rsaAlg(int(bits))
	}
	for _, a := range []slot.Attributes{pub, priv} {
		for _, typ := range []ck.ULong{ck.CKA_MODULUS_BITS, ck.CKA_PUBLIC_EXPONENT} {
			if _, ok := a[typ]; ok {
				return 0, tmplErr(ck.CKR_TEMPLATE_INCONSISTENT, "RSA attribute in an EC template")
			}
		}
	}
	params, err := bytesFrom(pub, priv, ck.CKA_EC_PARAMS, "CKA_EC_PARAMS")
	if err != nil {
		return 0, err
	}
	alg, err := curveFromParams(params)
	if err != nil {
		return 0, err
	}
	if keyType != keyTypeOf(alg) {
		return 0, tmplErr(ck.CKR_TEMPLATE_INCONSISTENT, "CKA_EC_PARAMS names a curve of another key type")
	}
	if (alg == algEd25519 || alg == algX25519) && !t.atLeast(5, 7) {
		return 0, tmplErr(ck.CKR_MECHANISM_INVALID, "Ed25519 and X25519 need YubiKey 5.7 or later")
	}
	if alg == algP384 && t.isNEO() {
		return 0, tmplErr(ck.CKR_ATTRIBUTE_VALUE_INVALID, "P-384 needs a YubiKey 4 or later")
	}
	return alg, nil
}

// rsaAlg maps a modulus size to the PIV algorithm the card can make.
func (t *Token) rsaAlg(bits int) (byte, error) {
	switch bits {
	case 1024:
		return algRSA1024, nil
	case 2048:
		return algRSA2048, nil
	case 3072, 4096: // YubiKey 5.7; SP 800-78-4 PIV cards stop at 2048
		if !t.atLeast(5, 7) {
			break
		}
		if bits == 3072 {
			return algRSA3072, nil
		}
		return algRSA4096, nil
	}
	return 0, tmplErr(ck.CKR_ATTRIBUTE_VALUE_INVALID, "RSA modulus size not supported by this card")
}

// checkKeyUsage refuses what a key on the card cannot be: not sensitive, extractable,
// trusted, or usable for sign/verify recover. Usage flags the key type cannot have
// (CKA_SIGN on X25519, CKA_DERIVE on Ed25519 or RSA, CKA_DECRYPT on EC) are accepted and
// not honoured, the object reporting what the key can really do: pkcs11-tool asks for
// sign and derive on every EC key pair it generates, Ed25519 and X25519 included, and
// ykcs11 ignores these flags too.
func checkKeyUsage(alg byte, pub, priv slot.Attributes) error {
	rules := []struct {
		a   slot.Attributes
		typ ck.ULong
	}{
		{priv, ck.CKA_SIGN_RECOVER}, {pub, ck.CKA_VERIFY_RECOVER},
		{pub, ck.CKA_TRUSTED}, {priv, ck.CKA_WRAP_WITH_TRUSTED}, {pub, ck.CKA_PRIVATE},
	}
	for _, r := range rules {
		v, ok, err := r.a.Bool(r.typ)
		if err != nil {
			return err
		}
		if ok && v {
			return tmplErr(ck.CKR_ATTRIBUTE_VALUE_INVALID, "a key on the card cannot have this attribute")
		}
	}
	// Usage flags must still be well-formed CK_BBOOLs.
	for _, a := range []slot.Attributes{pub, priv} {
		for _, typ := range []ck.ULong{ck.CKA_SIGN, ck.CKA_VERIFY, ck.CKA_DECRYPT, ck.CKA_ENCRYPT,
			ck.CKA_DERIVE, ck.CKA_WRAP, ck.CKA_UNWRAP} {
			if _, _, err := a.Bool(typ); err != nil {
				return err
			}
		}
	}
	if err := mustBe(priv, ck.CKA_SENSITIVE, true, "keys on the card are always sensitive"); err != nil {
		return err
	}
	return mustBe(priv, ck.CKA_EXTRACTABLE, false, "keys on the card are never extractable")
}
