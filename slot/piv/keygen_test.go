package piv

import (
	"encoding/binary"
	"testing"

	"github.com/pcsc11/pcsc11/apdu"
	"github.com/pcsc11/pcsc11/ck"
	"github.com/pcsc11/pcsc11/slot"
)

// ecTmpl is a public-key template for curve alg in the slot of CKA_ID id.
func ecTmpl(id byte, alg byte) slot.Attributes {
	return slot.Attributes{ck.CKA_ID: []byte{id}, ck.CKA_EC_PARAMS: ecParams(alg), ck.CKA_TOKEN: true}
}

func rsaTmpl(id byte, bits int) slot.Attributes {
	return slot.Attributes{ck.CKA_ID: []byte{id}, ck.CKA_MODULUS_BITS: ck.ULong(bits),
		ck.CKA_PUBLIC_EXPONENT: []byte{1, 0, 1}, ck.CKA_TOKEN: true, ck.CKA_VERIFY: true}
}

func TestGenerateEveryAlgorithm(t *testing.T) {
	m := newCard(t)
	tok := openToken(t, m)
	cases := []struct {
		mech ck.ULong
		pub  slot.Attributes
		ref  byte
		alg  byte
	}{
		{ck.CKM_RSA_PKCS_KEY_PAIR_GEN, rsaTmpl(0x01, 1024), 0x9A, algRSA1024},
		{ck.CKM_RSA_PKCS_KEY_PAIR_GEN, rsaTmpl(0x02, 2048), 0x9C, algRSA2048},
		{ck.CKM_RSA_PKCS_KEY_PAIR_GEN, rsaTmpl(0x03, 3072), 0x9D, algRSA3072},
		{ck.CKM_RSA_PKCS_KEY_PAIR_GEN, rsaTmpl(0x04, 4096), 0x9E, algRSA4096},
		{ck.CKM_EC_KEY_PAIR_GEN, ecTmpl(0x05, algP256), 0x82, algP256},
		{ck.CKM_EC_KEY_PAIR_GEN, ecTmpl(0x06, algP384), 0x83, algP384},
		{ck.CKM_EC_EDWARDS_KEY_PAIR_GEN, ecTmpl(0x07, algEd25519), 0x84, algEd25519},
		{ck.CKM_EC_MONTGOMERY_KEY_PAIR_GEN, ecTmpl(0x18, algX25519), 0x95, algX25519},
	}
	_, _, err := tok.GenerateKeyPair(cases[4].mech, cases[4].pub, nil)
	wantRV(t, "generate without login", err, ck.CKR_USER_NOT_LOGGED_IN)
	if cardMeta(t, m, 0x82) != nil {
		t.Fatal("a key was generated without the management key")
	}
	soLogin(t, tok)
	for _, c := range cases {
		priv := slot.Attributes{ck.CKA_SENSITIVE: true, ck.CKA_EXTRACTABLE: false, ck.CKA_PRIVATE: true}
		pk, sk, err := tok.GenerateKeyPair(c.mech, c.pub, priv)
		if err != nil {
			t.Fatalf("generate %02X in %02X: %v", c.alg, c.ref, err)
		}
		if pk != pubKey(c.ref) || sk != privKey(c.ref) {
			t.Errorf("keys %s %s", pk, sk)
		}
		md := cardMeta(t, m, c.ref)
		if md == nil || md.alg != c.alg || md.origin != originGenerated {
			t.Errorf("slot %02X metadata %+v", c.ref, md)
		}
		objs, err := tok.Objects()
		if err != nil {
			t.Fatal(err)
		}
		a := findObj(objs, sk)
		if a == nil || a[ck.CKA_LOCAL] != true || a[ck.CKA_KEY_GEN_MECHANISM] != c.mech {
			t.Errorf("private key object of %02X: %v", c.ref, a)
		}
	}
	tok.Logout()
	if err := tok.Login(ck.CKU_USER, []byte(testPIN)); err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		if c.ref == 0x9C { // PIN policy always: needs its own login right before
			tok.Login(ck.CKU_CONTEXT_SPECIFIC, []byte(testPIN))
		}
		checkSigns(t, tok, c.ref)
	}
	// Another token on the same card (a re-inserted card, another program) sees them.
	objs, _ := openToken(t, m).Objects()
	for _, c := range cases {
		if findObj(objs, pubKey(c.ref)) == nil {
			t.Errorf("slot %02X not visible to a fresh token", c.ref)
		}
	}
}

func TestGeneratePolicies(t *testing.T) {
	m := newCard(t)
	tok := openToken(t, m)
	soLogin(t, tok)
	ulong := func(v ck.ULong) []byte { // the raw CK_ULONG bytes an application passes
		b := make([]byte, slot.ULongSize)
		if slot.ULongSize == 8 {
			binary.NativeEndian.PutUint64(b, uint64(v))
		} else {
			binary.NativeEndian.PutUint32(b, uint32(v))
		}
		return b
	}
	cases := []struct {
		name      string
		id        byte
		priv      slot.Attributes
		pin, tch  byte
		private   bool
		alwaysAth bool
	}{
		{"always authenticate", 0x01, slot.Attributes{ck.CKA_ALWAYS_AUTHENTICATE: true}, pinPolicyAlways, 1, true, true},
		{"not private", 0x01, slot.Attributes{ck.CKA_PRIVATE: false}, pinPolicyNever, 1, false, false},
		{"9C without always", 0x02, slot.Attributes{ck.CKA_ALWAYS_AUTHENTICATE: false}, pinPolicyOnce, 1, true, false},
		{"9E private", 0x04, slot.Attributes{ck.CKA_PRIVATE: true}, pinPolicyOnce, 1, true, false},
		{"9E default", 0x04, slot.Attributes{}, pinPolicyNever, 1, false, false},
		{"Yubico attributes (raw CK_ULONG)", 0x03, slot.Attributes{ck.CKA_YUBICO_PIN_POLICY: ulong(3), ck.CKA_YUBICO_TOUCH_POLICY: ulong(2)}, pinPolicyAlways, 2, true, true},
		{"Yubico attributes (one byte)", 0x03, slot.Attributes{ck.CKA_YUBICO_PIN_POLICY: []byte{1}, ck.CKA_YUBICO_TOUCH_POLICY: []byte{3}}, pinPolicyNever, 3, false, false},
	}
	for _, c := range cases {
		_, sk, err := tok.GenerateKeyPair(ck.CKM_EC_KEY_PAIR_GEN, ecTmpl(c.id, algP256), c.priv)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		ref := slots[c.id-1].ref
		md := cardMeta(t, m, ref)
		if md.pinPolicy != c.pin || md.touchPolicy != c.tch {
			t.Errorf("%s: policies %d/%d, want %d/%d", c.name, md.pinPolicy, md.touchPolicy, c.pin, c.tch)
		}
		objs, _ := tok.Objects()
		a := findObj(objs, sk)
		if a[ck.CKA_PRIVATE] != c.private || a[ck.CKA_ALWAYS_AUTHENTICATE] != c.alwaysAth {
			t.Errorf("%s: CKA_PRIVATE %v CKA_ALWAYS_AUTHENTICATE %v", c.name, a[ck.CKA_PRIVATE], a[ck.CKA_ALWAYS_AUTHENTICATE])
		}
	}
}

func TestGenerateTemplateErrors(t *testing.T) {
	m := newCard(t)
	tok := openToken(t, m)
	soLogin(t, tok)
	p256 := func(extra slot.Attributes) slot.Attributes {
		a := ecTmpl(0x01, algP256)
		for k, v := range extra {
			if v == nil {
				delete(a, k)
			} else {
				a[k] = v
			}
		}
		return a
	}
	cases := []struct {
		name      string
		mech      ck.ULong
		pub, priv slot.Attributes
		rv        ck.ULong
	}{
		{"unknown mechanism", ck.CKM_RSA_PKCS, p256(nil), nil, ck.CKR_MECHANISM_INVALID},
		{"no CKA_ID", ck.CKM_EC_KEY_PAIR_GEN, p256(slot.Attributes{ck.CKA_ID: nil}), nil, ck.CKR_TEMPLATE_INCOMPLETE},
		{"CKA_ID mismatch", ck.CKM_EC_KEY_PAIR_GEN, p256(nil), slot.Attributes{ck.CKA_ID: []byte{2}}, ck.CKR_TEMPLATE_INCONSISTENT},
		{"CKA_ID not a slot", ck.CKM_EC_KEY_PAIR_GEN, p256(slot.Attributes{ck.CKA_ID: []byte{0x19}}), nil, ck.CKR_ATTRIBUTE_VALUE_INVALID},
		{"CKA_ID two bytes", ck.CKM_EC_KEY_PAIR_GEN, p256(slot.Attributes{ck.CKA_ID: []byte{0, 1}}), nil, ck.CKR_ATTRIBUTE_VALUE_INVALID},
		{"no EC params", ck.CKM_EC_KEY_PAIR_GEN, p256(slot.Attributes{ck.CKA_EC_PARAMS: nil}), nil, ck.CKR_TEMPLATE_INCOMPLETE},
		{"secp256k1", ck.CKM_EC_KEY_PAIR_GEN, p256(slot.Attributes{ck.CKA_EC_PARAMS: []byte{0x06, 0x05, 0x2B, 0x81, 0x04, 0x00, 0x0A}}), nil, ck.CKR_CURVE_NOT_SUPPORTED},
		{"garbage EC params", ck.CKM_EC_KEY_PAIR_GEN, p256(slot.Attributes{ck.CKA_EC_PARAMS: []byte{0x06, 0x7F}}), nil, ck.CKR_ATTRIBUTE_VALUE_INVALID},
		{"Ed25519 curve with EC mechanism", ck.CKM_EC_KEY_PAIR_GEN, p256(slot.Attributes{ck.CKA_EC_PARAMS: ecParams(algEd25519)}), nil, ck.CKR_TEMPLATE_INCONSISTENT},
		{"key type mismatch", ck.CKM_EC_KEY_PAIR_GEN, p256(slot.Attributes{ck.CKA_KEY_TYPE: ck.CKK_RSA}), nil, ck.CKR_TEMPLATE_INCONSISTENT},
		{"class mismatch", ck.CKM_EC_KEY_PAIR_GEN, p256(slot.Attributes{ck.CKA_CLASS: ck.CKO_PRIVATE_KEY}), nil, ck.CKR_TEMPLATE_INCONSISTENT},
		{"RSA without size", ck.CKM_RSA_PKCS_KEY_PAIR_GEN, slot.Attributes{ck.CKA_ID: []byte{1}}, nil, ck.CKR_TEMPLATE_INCOMPLETE},
		{"RSA 1536", ck.CKM_RSA_PKCS_KEY_PAIR_GEN, rsaTmpl(1, 1536), nil, ck.CKR_ATTRIBUTE_VALUE_INVALID},
		{"RSA exponent 3", ck.CKM_RSA_PKCS_KEY_PAIR_GEN, slot.Attributes{ck.CKA_ID: []byte{1}, ck.CKA_MODULUS_BITS: ck.ULong(2048), ck.CKA_PUBLIC_EXPONENT: []byte{3}}, nil, ck.CKR_ATTRIBUTE_VALUE_INVALID},
		{"EC params in RSA", ck.CKM_RSA_PKCS_KEY_PAIR_GEN, rsaTmpl(1, 2048), slot.Attributes{ck.CKA_EC_PARAMS: ecParams(algP256)}, ck.CKR_TEMPLATE_INCONSISTENT},
		{"modulus bits malformed", ck.CKM_RSA_PKCS_KEY_PAIR_GEN, slot.Attributes{ck.CKA_ID: []byte{1}, ck.CKA_MODULUS_BITS: []byte{1, 2, 3}}, nil, ck.CKR_ATTRIBUTE_VALUE_INVALID},
		{"session key", ck.CKM_EC_KEY_PAIR_GEN, p256(slot.Attributes{ck.CKA_TOKEN: false}), nil, ck.CKR_ATTRIBUTE_VALUE_INVALID},
		{"extractable", ck.CKM_EC_KEY_PAIR_GEN, p256(nil), slot.Attributes{ck.CKA_EXTRACTABLE: true}, ck.CKR_ATTRIBUTE_VALUE_INVALID},
		{"not sensitive", ck.CKM_EC_KEY_PAIR_GEN, p256(nil), slot.Attributes{ck.CKA_SENSITIVE: false}, ck.CKR_ATTRIBUTE_VALUE_INVALID},
		{"CKA_LOCAL given", ck.CKM_EC_KEY_PAIR_GEN, p256(nil), slot.Attributes{ck.CKA_LOCAL: true}, ck.CKR_ATTRIBUTE_READ_ONLY},
		{"CKA_EC_POINT given", ck.CKM_EC_KEY_PAIR_GEN, p256(slot.Attributes{ck.CKA_EC_POINT: []byte{4}}), nil, ck.CKR_ATTRIBUTE_TYPE_INVALID},
		{"sign recover", ck.CKM_EC_KEY_PAIR_GEN, p256(nil), slot.Attributes{ck.CKA_SIGN_RECOVER: true}, ck.CKR_ATTRIBUTE_VALUE_INVALID},
		{"private public key", ck.CKM_EC_KEY_PAIR_GEN, p256(slot.Attributes{ck.CKA_PRIVATE: true}), nil, ck.CKR_ATTRIBUTE_VALUE_INVALID},
		{"malformed usage", ck.CKM_EC_KEY_PAIR_GEN, p256(nil), slot.Attributes{ck.CKA_SIGN: []byte{1, 0}}, ck.CKR_ATTRIBUTE_VALUE_INVALID},
		{"always authenticate but public", ck.CKM_EC_KEY_PAIR_GEN, p256(nil), slot.Attributes{ck.CKA_ALWAYS_AUTHENTICATE: true, ck.CKA_PRIVATE: false}, ck.CKR_TEMPLATE_INCONSISTENT},
		{"Yubico never vs always authenticate", ck.CKM_EC_KEY_PAIR_GEN, p256(nil), slot.Attributes{ck.CKA_ALWAYS_AUTHENTICATE: true, ck.CKA_YUBICO_PIN_POLICY: ck.ULong(1)}, ck.CKR_TEMPLATE_INCONSISTENT},
		{"Yubico policy differs", ck.CKM_EC_KEY_PAIR_GEN, p256(slot.Attributes{ck.CKA_YUBICO_PIN_POLICY: ck.ULong(2)}), slot.Attributes{ck.CKA_YUBICO_PIN_POLICY: ck.ULong(3)}, ck.CKR_TEMPLATE_INCONSISTENT},
		{"Yubico policy 7", ck.CKM_EC_KEY_PAIR_GEN, p256(nil), slot.Attributes{ck.CKA_YUBICO_TOUCH_POLICY: ck.ULong(7)}, ck.CKR_ATTRIBUTE_VALUE_INVALID},
		{"modifiable", ck.CKM_EC_KEY_PAIR_GEN, p256(nil), slot.Attributes{ck.CKA_MODIFIABLE: true}, ck.CKR_ATTRIBUTE_VALUE_INVALID},
	}
	before := m.apdus
	for _, c := range cases {
		priv := c.priv
		if priv == nil {
			priv = slot.Attributes{}
		}
		_, _, err := tok.GenerateKeyPair(c.mech, c.pub, priv)
		wantRV(t, c.name, err, c.rv)
	}
	if m.apdus != before {
		t.Errorf("refused templates sent %d APDUs", m.apdus-before)
	}
	// Ed25519 needs 5.7: refused on older firmware.
	tok.version = [3]byte{5, 4, 3}
	_, _, err := tok.GenerateKeyPair(ck.CKM_EC_EDWARDS_KEY_PAIR_GEN, ecTmpl(1, algEd25519), nil)
	wantRV(t, "Ed25519 on 5.4", err, ck.CKR_MECHANISM_INVALID)
	_, _, err = tok.GenerateKeyPair(ck.CKM_RSA_PKCS_KEY_PAIR_GEN, rsaTmpl(1, 4096), nil)
	wantRV(t, "RSA-4096 on 5.4", err, ck.CKR_ATTRIBUTE_VALUE_INVALID)
}

// TestGenerateReplacesCertificate: the certificate of the replaced key goes.
func TestGenerateReplacesCertificate(t *testing.T) {
	m, _, tok := provisioned(t)
	if cardObject(t, m, 0x5FC105) == nil {
		t.Fatal("no certificate to replace")
	}
	soLogin(t, tok)
	if _, _, err := tok.GenerateKeyPair(ck.CKM_EC_KEY_PAIR_GEN, ecTmpl(0x01, algP384), nil); err != nil {
		t.Fatal(err)
	}
	if cardObject(t, m, 0x5FC105) != nil {
		t.Error("the old certificate is still in 9A")
	}
	objs, _ := tok.Objects()
	if findObj(objs, "cert/9a") != nil || findObj(objs, "pub/9a")[ck.CKA_KEY_TYPE] != ck.CKK_EC {
		t.Error("objects of 9A not refreshed")
	}
}

// TestGenerateWithoutMetadata: a card before 5.3 cannot tell the public key later;
// the token remembers it for its life.
func TestGenerateWithoutMetadata(t *testing.T) {
	m := newCard(t)
	tok := openToken(t, m)
	soLogin(t, tok)
	// YubiKey 4 has a 3DES management key and no metadata.
	des := append([]byte{alg3DES, refMgmKey, 24}, defaultMgmKey...)
	if _, err := raw(m, apdu.Command{INS: insSetMgmKey, P1: 0xFF, P2: 0xFF, Data: des}); err != nil {
		t.Fatal(err)
	}
	tok.version = [3]byte{4, 3, 7}
	soLogin(t, tok)
	if _, _, err := tok.GenerateKeyPair(ck.CKM_EC_KEY_PAIR_GEN, ecTmpl(0x03, algP256), nil); err != nil {
		t.Fatal(err)
	}
	objs, _ := tok.Objects()
	if findObj(objs, "pub/9d") == nil {
		t.Fatal("generated key not listed without metadata")
	}
	tok.Logout()
	login(t, tok, ck.CKU_USER)
	checkSigns(t, tok, 0x9D)
}

func TestKeyGenMechanisms(t *testing.T) {
	m := newCard(t)
	tok := openToken(t, m)
	find := func(typ ck.ULong) *slot.Mechanism {
		for _, mech := range tok.Mechanisms() {
			if mech.Type == typ {
				return &mech
			}
		}
		return nil
	}
	for _, c := range []struct {
		typ      ck.ULong
		min, max ck.ULong
	}{{ck.CKM_RSA_PKCS_KEY_PAIR_GEN, 1024, 4096}, {ck.CKM_EC_KEY_PAIR_GEN, 256, 384},
		{ck.CKM_EC_EDWARDS_KEY_PAIR_GEN, 255, 255}, {ck.CKM_EC_MONTGOMERY_KEY_PAIR_GEN, 255, 255}} {
		mech := find(c.typ)
		if mech == nil || mech.Flags&ck.CKF_GENERATE_KEY_PAIR == 0 || mech.MinKeySize != c.min || mech.MaxKeySize != c.max {
			t.Errorf("mechanism %#x: %+v", c.typ, mech)
		}
	}
	tok.version = [3]byte{5, 4, 3}
	if find(ck.CKM_EC_EDWARDS_KEY_PAIR_GEN) != nil || find(ck.CKM_RSA_PKCS_KEY_PAIR_GEN).MaxKeySize != 2048 {
		t.Error("5.4 advertises what it cannot generate")
	}
}

// TestPkcs11ToolTemplates: the templates pkcs11-tool --keypairgen sends by default (it
// asks for sign and derive on every EC key, and wrap on RSA) generate every key type;
// the objects then say what the key can really do.
func TestPkcs11ToolTemplates(t *testing.T) {
	m := newCard(t)
	tok := openToken(t, m)
	soLogin(t, tok)
	for _, c := range []struct {
		mech ck.ULong
		kt   ck.ULong
		alg  byte
		id   byte
	}{{ck.CKM_EC_KEY_PAIR_GEN, ck.CKK_EC, algP256, 1}, {ck.CKM_EC_EDWARDS_KEY_PAIR_GEN, ck.CKK_EC_EDWARDS, algEd25519, 2},
		{ck.CKM_EC_MONTGOMERY_KEY_PAIR_GEN, ck.CKK_EC_MONTGOMERY, algX25519, 3}, {ck.CKM_RSA_PKCS_KEY_PAIR_GEN, ck.CKK_RSA, algRSA2048, 4}} {
		pub := slot.Attributes{ck.CKA_CLASS: ck.CKO_PUBLIC_KEY, ck.CKA_TOKEN: true, ck.CKA_VERIFY: true,
			ck.CKA_KEY_TYPE: c.kt, ck.CKA_LABEL: "k", ck.CKA_ID: []byte{c.id}, ck.CKA_PRIVATE: false}
		priv := slot.Attributes{ck.CKA_CLASS: ck.CKO_PRIVATE_KEY, ck.CKA_TOKEN: true, ck.CKA_PRIVATE: true,
			ck.CKA_SENSITIVE: true, ck.CKA_SIGN: true, ck.CKA_KEY_TYPE: c.kt, ck.CKA_LABEL: "k", ck.CKA_ID: []byte{c.id}}
		if c.kt == ck.CKK_RSA {
			pub[ck.CKA_MODULUS_BITS], pub[ck.CKA_PUBLIC_EXPONENT] = ck.ULong(2048), []byte{1, 0, 1}
			pub[ck.CKA_ENCRYPT], pub[ck.CKA_WRAP], priv[ck.CKA_DECRYPT], priv[ck.CKA_UNWRAP] = true, true, true, true
		} else {
			pub[ck.CKA_EC_PARAMS], pub[ck.CKA_DERIVE], priv[ck.CKA_DERIVE] = ecParams(c.alg), true, true
		}
		_, sk, err := tok.GenerateKeyPair(c.mech, pub, priv)
		if err != nil {
			t.Fatalf("key type %#x: %v", c.kt, err)
		}
		objs, _ := tok.Objects()
		a := findObj(objs, sk)
		k := &keyInfo{alg: c.alg}
		if a[ck.CKA_SIGN] != k.canSign() || a[ck.CKA_DERIVE] != k.canDerive() {
			t.Errorf("key type %#x: CKA_SIGN %v CKA_DERIVE %v", c.kt, a[ck.CKA_SIGN], a[ck.CKA_DERIVE])
		}
	}
}
