package piv

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/asn1"
	"math/big"
	"testing"

	"github.com/pcsc11/pcsc11/ck"
	"github.com/pcsc11/pcsc11/slot"
	"github.com/pcsc11/pcsc11/vpiv"
)

func findObj(objs []slot.Object, key string) slot.Attributes {
	for _, o := range objs {
		if o.Key == key {
			return o.Attrs
		}
	}
	return nil
}

func TestOpenNotPIV(t *testing.T) {
	m := newCard(t)
	m.transmitFn = func([]byte) ([]byte, error) { return []byte{0x6A, 0x82}, nil }
	_, err := Open(m, "r", Options{})
	if slot.RV(err) != ck.CKR_TOKEN_NOT_RECOGNIZED {
		t.Fatalf("Open on a non-PIV card: %v", err)
	}
	if m.apdus != 2 {
		t.Errorf("%d APDUs, want SELECT full + truncated", m.apdus)
	}
}

func TestInfo(t *testing.T) {
	m := newCard(t)
	tok := openToken(t, m)
	info, err := tok.Info()
	if err != nil {
		t.Fatal(err)
	}
	if info.Label != "YubiKey PIV #12345678" || info.Manufacturer != "Yubico" || info.Model != "YubiKey 5.7" ||
		info.Serial != "12345678" || info.FirmwareMajor != 5 || info.FirmwareMinor != 7 ||
		info.MinPINLen != 6 || info.MaxPINLen != 8 {
		t.Errorf("Info = %+v", info)
	}
	// A factory card: PIN, PUK and management key all have their default values.
	want := ck.CKF_LOGIN_REQUIRED | ck.CKF_USER_PIN_INITIALIZED | ck.CKF_TOKEN_INITIALIZED |
		ck.CKF_USER_PIN_TO_BE_CHANGED | ck.CKF_SO_PIN_TO_BE_CHANGED
	if info.Flags != want {
		t.Errorf("flags %x, want %x", info.Flags, want)
	}
	if info.Flags&ck.CKF_RNG != 0 {
		t.Error("CKF_RNG set")
	}
	tok2, _ := Open(newPadCard(m), "r", Options{})
	if info, _ := tok2.Info(); info.Flags&ck.CKF_PROTECTED_AUTHENTICATION_PATH == 0 {
		t.Error("no CKF_PROTECTED_AUTHENTICATION_PATH with a PIN pad")
	}
}

func TestPINCounterFlags(t *testing.T) {
	m := newCard(t)
	tok := openToken(t, m)
	flags := func() ck.ULong {
		info, err := tok.Info()
		if err != nil {
			t.Fatal(err)
		}
		return info.Flags & (ck.CKF_USER_PIN_COUNT_LOW | ck.CKF_USER_PIN_FINAL_TRY | ck.CKF_USER_PIN_LOCKED)
	}
	steps := []ck.ULong{ck.CKF_USER_PIN_COUNT_LOW, ck.CKF_USER_PIN_COUNT_LOW | ck.CKF_USER_PIN_FINAL_TRY, ck.CKF_USER_PIN_LOCKED}
	for i, want := range steps {
		err := tok.Login(ck.CKU_USER, []byte("654321"))
		wantRV := ck.CKR_PIN_INCORRECT
		if i == 2 {
			wantRV = ck.CKR_PIN_LOCKED
		}
		if slot.RV(err) != wantRV {
			t.Fatalf("wrong PIN %d: %v", i+1, err)
		}
		if got := flags(); got != want {
			t.Errorf("after %d wrong PINs: flags %x, want %x", i+1, got, want)
		}
	}
	if err := tok.Login(ck.CKU_USER, []byte(testPIN)); slot.RV(err) != ck.CKR_PIN_LOCKED {
		t.Errorf("right PIN on a blocked card: %v", err)
	}
}

func TestPINCounterFlagsWithoutMetadata(t *testing.T) {
	m := newCard(t)
	tok := openToken(t, m)
	tok.version = [3]byte{4, 3, 5} // pretend an older YubiKey: empty VERIFY path
	tok.Login(ck.CKU_USER, []byte("654321"))
	info, err := tok.Info()
	if err != nil {
		t.Fatal(err)
	}
	if info.Flags&ck.CKF_USER_PIN_COUNT_LOW == 0 || info.Flags&ck.CKF_USER_PIN_FINAL_TRY != 0 {
		t.Errorf("flags %x after one wrong PIN", info.Flags)
	}
}

func TestLogin(t *testing.T) {
	m := newCard(t)
	tok := openToken(t, m)
	for _, pin := range []string{"12345", "123456789", ""} {
		before := m.apdus
		if err := tok.Login(ck.CKU_USER, []byte(pin)); slot.RV(err) != ck.CKR_PIN_LEN_RANGE {
			t.Errorf("PIN of %d: %v", len(pin), err)
		}
		if m.apdus != before {
			t.Errorf("PIN of length %d reached the card", len(pin))
		}
	}
	if err := tok.Login(ck.CKU_USER, nil); slot.RV(err) != ck.CKR_ARGUMENTS_BAD {
		t.Errorf("nil PIN: %v", err)
	}
	if err := tok.Login(ck.CKU_USER, []byte("000000")); slot.RV(err) != ck.CKR_PIN_INCORRECT {
		t.Errorf("wrong PIN: %v", err)
	}
	if ok, _ := tok.LoggedIn(); ok {
		t.Error("logged in after a wrong PIN")
	}
	if err := tok.Login(ck.CKU_USER, []byte(testPIN)); err != nil {
		t.Fatalf("right PIN: %v", err)
	}
	if ok, err := tok.LoggedIn(); !ok || err != nil {
		t.Errorf("LoggedIn = %v, %v", ok, err)
	}
	if err := tok.Logout(); err != nil {
		t.Fatal(err)
	}
	if ok, _ := tok.LoggedIn(); ok {
		t.Error("logged in after Logout")
	}
	// The card agrees: an empty VERIFY says not verified.
	if err := tok.transact(tok.verifyEmpty); err == nil {
		t.Error("card still verified after Logout")
	}
	if err := tok.Login(42, []byte(testPIN)); slot.RV(err) != ck.CKR_USER_TYPE_INVALID {
		t.Errorf("user type 42: %v", err)
	}
	// A NULL PIN without a PIN pad (Open asks the reader, which has none).
	plain, _ := Open(m, "r", Options{})
	if err := plain.Login(ck.CKU_USER, nil); slot.RV(err) != ck.CKR_ARGUMENTS_BAD {
		t.Errorf("NULL PIN without a PIN pad: %v", err)
	}
}

func TestLoginSO(t *testing.T) {
	m := newCard(t)
	tok := openToken(t, m)
	if err := tok.Login(ck.CKU_SO, []byte("0102030405060708010203040506070801020304050607FF")); slot.RV(err) != ck.CKR_PIN_INCORRECT {
		t.Errorf("wrong management key: %v", err)
	}
	if err := tok.Login(ck.CKU_SO, []byte("0102030405")); slot.RV(err) != ck.CKR_PIN_LEN_RANGE {
		t.Errorf("short management key: %v", err)
	}
	if err := tok.Login(ck.CKU_SO, []byte("zz0203040506070801020304050607080102030405060708")); slot.RV(err) != ck.CKR_PIN_INCORRECT {
		t.Errorf("non-hex management key: %v", err)
	}
	if err := tok.Login(ck.CKU_SO, []byte("0102030405060708010203040506070801020304050607080102030405060708")); slot.RV(err) != ck.CKR_PIN_INCORRECT {
		t.Errorf("AES-256 length key against AES-192: %v", err)
	}
	if err := tok.Login(ck.CKU_SO, []byte(defaultMgm)); err != nil || !tok.soLoggedIn {
		t.Fatalf("default management key: %v", err)
	}
	if err := tok.Logout(); err != nil || tok.soLoggedIn {
		t.Fatalf("logout: %v", err)
	}
}

func TestObjects(t *testing.T) {
	m, d, tok := provisioned(t)
	before := m.apdus
	objs, err := tok.Objects()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("Objects: %d APDUs for %d objects", m.apdus-before, len(objs))
	after := m.apdus
	again, _ := tok.Objects()
	if len(again) != len(objs) || m.apdus != after {
		t.Error("object list not cached")
	}
	var keys []string
	for _, o := range objs {
		keys = append(keys, o.Key)
	}
	t.Logf("keys: %v", keys)

	c := findObj(objs, "cert/9a")
	if c == nil {
		t.Fatal("no cert/9a")
	}
	wantSerial, _ := asn1.Marshal(d.cert9a.SerialNumber)
	checks := map[ck.ULong]any{
		ck.CKA_CLASS: ck.CKO_CERTIFICATE, ck.CKA_TOKEN: true, ck.CKA_PRIVATE: false,
		ck.CKA_LABEL: "X.509 Certificate for PIV Authentication", ck.CKA_CERTIFICATE_TYPE: ck.CKC_X_509,
		ck.CKA_TRUSTED: false, ck.CKA_MODIFIABLE: false, ck.CKA_CERTIFICATE_CATEGORY: ck.ULong(1),
	}
	for a, v := range checks {
		if c[a] != v {
			t.Errorf("cert/9a attr %#x = %v, want %v", a, c[a], v)
		}
	}
	for a, v := range map[ck.ULong][]byte{ck.CKA_ID: {1}, ck.CKA_VALUE: d.cert9a.Raw, ck.CKA_SUBJECT: d.cert9a.RawSubject,
		ck.CKA_ISSUER: d.cert9a.RawIssuer, ck.CKA_SERIAL_NUMBER: wantSerial,
		ck.CKA_PUBLIC_KEY_INFO: d.cert9a.RawSubjectPublicKeyInfo} {
		if got, _ := c[a].([]byte); !bytes.Equal(got, v) {
			t.Errorf("cert/9a attr %#x = %x, want %x", a, got, v)
		}
	}
	if c9c := findObj(objs, "cert/9c"); c9c == nil || !bytes.Equal(c9c[ck.CKA_VALUE].([]byte), d.cert9c.Raw) {
		t.Error("compressed cert/9c not decompressed")
	}

	// RSA key pair in 9A, imported.
	pub, priv := findObj(objs, "pub/9a"), findObj(objs, "priv/9a")
	if pub == nil || priv == nil {
		t.Fatal("no 9A keys")
	}
	if pub[ck.CKA_LABEL] != "Public key for PIV Authentication" || priv[ck.CKA_LABEL] != "Private key for PIV Authentication" {
		t.Errorf("labels %v / %v", pub[ck.CKA_LABEL], priv[ck.CKA_LABEL])
	}
	if !bytes.Equal(pub[ck.CKA_MODULUS].([]byte), d.rsa9a.N.Bytes()) || !bytes.Equal(pub[ck.CKA_PUBLIC_EXPONENT].([]byte), []byte{1, 0, 1}) ||
		pub[ck.CKA_MODULUS_BITS] != ck.ULong(2048) || pub[ck.CKA_KEY_TYPE] != ck.CKK_RSA {
		t.Error("RSA public attributes wrong")
	}
	if priv[ck.CKA_PRIVATE] != true || priv[ck.CKA_SENSITIVE] != true || priv[ck.CKA_EXTRACTABLE] != false ||
		priv[ck.CKA_SIGN] != true || priv[ck.CKA_DECRYPT] != true || priv[ck.CKA_DERIVE] != false ||
		priv[ck.CKA_ALWAYS_AUTHENTICATE] != false || priv[ck.CKA_LOCAL] != false ||
		priv[ck.CKA_ALWAYS_SENSITIVE] != false || priv[ck.CKA_NEVER_EXTRACTABLE] != false {
		t.Errorf("priv/9a attributes: %v", priv)
	}
	if !bytes.Equal(priv[ck.CKA_PUBLIC_KEY_INFO].([]byte), d.cert9a.RawSubjectPublicKeyInfo) {
		t.Error("priv/9a CKA_PUBLIC_KEY_INFO is not the certificate's SPKI")
	}

	// P-256 in 9C: generated, PIN policy always.
	p9c := findObj(objs, "priv/9c")
	if p9c[ck.CKA_ALWAYS_AUTHENTICATE] != true || p9c[ck.CKA_LOCAL] != true || p9c[ck.CKA_KEY_TYPE] != ck.CKK_EC ||
		p9c[ck.CKA_ID].([]byte)[0] != 2 || p9c[ck.CKA_DERIVE] != true || p9c[ck.CKA_KEY_GEN_MECHANISM] != ck.CKM_EC_KEY_PAIR_GEN {
		t.Errorf("priv/9c attributes: %v", p9c)
	}
	pt, _ := d.pub9c.Bytes()
	wantPoint, _ := asn1.Marshal(pt)
	if !bytes.Equal(findObj(objs, "pub/9c")[ck.CKA_EC_POINT].([]byte), wantPoint) {
		t.Error("pub/9c CKA_EC_POINT is not a DER OCTET STRING of the point")
	}
	if !bytes.Equal(p9c[ck.CKA_EC_PARAMS].([]byte), []byte{6, 8, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 3, 1, 7}) {
		t.Error("P-256 CKA_EC_PARAMS")
	}

	// P-384 in 9D without certificate: still visible from metadata.
	if p := findObj(objs, "pub/9d"); p == nil || findObj(objs, "cert/9d") != nil {
		t.Error("9D key without certificate not listed (or a phantom certificate)")
	} else if spki, _ := x509.ParsePKIXPublicKey(p[ck.CKA_PUBLIC_KEY_INFO].([]byte)); !d.ec9d.PublicKey.Equal(spki) {
		t.Error("pub/9d CKA_PUBLIC_KEY_INFO does not hold the key")
	}
	// Ed25519 in 9E: PIN never → not private.
	p9e := findObj(objs, "priv/9e")
	if p9e[ck.CKA_KEY_TYPE] != ck.CKK_EC_EDWARDS || p9e[ck.CKA_PRIVATE] != false || p9e[ck.CKA_ALWAYS_AUTHENTICATE] != false {
		t.Errorf("priv/9e attributes: %v", p9e)
	}
	if p := findObj(objs, "pub/9e"); !bytes.Equal(p[ck.CKA_EC_POINT].([]byte), append([]byte{4, 32}, d.pub9e...)) {
		t.Error("Ed25519 CKA_EC_POINT")
	}
	p82 := findObj(objs, "priv/82")
	if p82[ck.CKA_KEY_TYPE] != ck.CKK_EC_MONTGOMERY || p82[ck.CKA_SIGN] != false || p82[ck.CKA_DERIVE] != true ||
		p82[ck.CKA_LABEL] != "Private key for Retired Key 1" || p82[ck.CKA_ID].([]byte)[0] != 5 {
		t.Errorf("priv/82 attributes: %v", p82)
	}
	if findObj(objs, "priv/83") != nil || findObj(objs, "cert/83") != nil {
		t.Error("empty slot 83 listed")
	}
	// The attestation key F9 signs only attestations (the card refuses GENERAL
	// AUTHENTICATE with it): no key object, so that clients offering every key they
	// find (ssh-add -s) do not offer it; its certificate is a data object.
	if findObj(objs, "priv/f9") != nil || findObj(objs, "pub/f9") != nil {
		t.Error("attestation key F9 listed as a key")
	}
	if f9 := findObj(objs, "cert/f9"); f9 == nil || f9[ck.CKA_CLASS] != ck.CKO_DATA ||
		f9[ck.CKA_APPLICATION] != AttestationApplication || f9[ck.CKA_ID].([]byte)[0] != 0x19 {
		t.Errorf("attestation certificate: %v", f9)
	} else if _, err := x509.ParseCertificate(f9[ck.CKA_VALUE].([]byte)); err != nil {
		t.Errorf("attestation certificate value: %v", err)
	}
}

func login(t *testing.T, tok *Token, userType ck.ULong) {
	t.Helper()
	if err := tok.Login(userType, []byte(testPIN)); err != nil {
		t.Fatalf("login: %v", err)
	}
}

func TestSignRSA(t *testing.T) {
	_, d, tok := provisioned(t)
	digest := sha256.Sum256([]byte("hello"))
	// The host builds the PKCS#1 v1.5 block; the card does the raw operation.
	prefix := []byte{0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20}
	tinfo := append(prefix, digest[:]...)
	block := make([]byte, 256)
	block[1] = 1
	for i := 2; i < 256-len(tinfo)-1; i++ {
		block[i] = 0xFF
	}
	copy(block[256-len(tinfo):], tinfo)
	if _, err := tok.PrivateKeyOp("priv/9a", slot.OpRSARaw, block); slot.RV(err) != ck.CKR_USER_NOT_LOGGED_IN {
		t.Fatalf("sign without login: %v", err)
	}
	login(t, tok, ck.CKU_USER)
	sig, err := tok.PrivateKeyOp("priv/9a", slot.OpRSARaw, block)
	if err != nil {
		t.Fatal(err)
	}
	if err := rsa.VerifyPKCS1v15(&d.rsa9a.PublicKey, crypto.SHA256, digest[:], sig); err != nil {
		t.Errorf("RSA signature does not verify: %v", err)
	}
	// Raw decrypt: encrypt in software, decrypt on the card.
	ct, _ := rsa.EncryptPKCS1v15(rand.Reader, &d.rsa9a.PublicKey, []byte("secret"))
	pt, err := tok.PrivateKeyOp("priv/9a", slot.OpRSARaw, ct)
	if err != nil || !bytes.HasSuffix(pt, []byte("\x00secret")) || pt[0] != 0 || pt[1] != 2 {
		t.Errorf("raw RSA decrypt: %x %v", pt, err)
	}
	if _, err := tok.PrivateKeyOp("priv/9a", slot.OpRSARaw, block[1:]); slot.RV(err) != ck.CKR_DATA_LEN_RANGE {
		t.Errorf("short block: %v", err)
	}
	if _, err := tok.PrivateKeyOp("priv/9a", slot.OpECDSA, digest[:]); slot.RV(err) != ck.CKR_KEY_FUNCTION_NOT_PERMITTED {
		t.Errorf("ECDSA with an RSA key: %v", err)
	}
	if _, err := tok.PrivateKeyOp("priv/83", slot.OpRSARaw, block); slot.RV(err) != ck.CKR_KEY_HANDLE_INVALID {
		t.Errorf("empty slot: %v", err)
	}
}

func TestSignECDSA(t *testing.T) {
	_, d, tok := provisioned(t)
	login(t, tok, ck.CKU_USER)
	h := sha512.Sum384([]byte("hello"))
	sig, err := tok.PrivateKeyOp("priv/9d", slot.OpECDSA, h[:])
	if err != nil || len(sig) != 96 {
		t.Fatalf("P-384 sign: %d bytes, %v", len(sig), err)
	}
	r, s := new(big.Int).SetBytes(sig[:48]), new(big.Int).SetBytes(sig[48:])
	if !ecdsa.Verify(&d.ec9d.PublicKey, h[:], r, s) {
		t.Error("P-384 signature does not verify")
	}
	// 9C has PIN policy always: it needs a VERIFY right before each use.
	h2 := sha256.Sum256([]byte("sign me"))
	if _, err := tok.PrivateKeyOp("priv/9c", slot.OpECDSA, h2[:]); slot.RV(err) != ck.CKR_USER_NOT_LOGGED_IN {
		t.Errorf("9C without context login: %v", err)
	}
	login(t, tok, ck.CKU_CONTEXT_SPECIFIC)
	sig, err = tok.PrivateKeyOp("priv/9c", slot.OpECDSA, h2[:])
	if err != nil || len(sig) != 64 {
		t.Fatalf("P-256 sign: %v", err)
	}
	if !ecdsa.Verify(d.pub9c, h2[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
		t.Error("P-256 signature does not verify")
	}
	// SHA-512 hash on P-256: truncated to the leftmost 256 bits, as crypto/ecdsa does.
	h3 := sha512.Sum512([]byte("long"))
	login(t, tok, ck.CKU_CONTEXT_SPECIFIC)
	sig, err = tok.PrivateKeyOp("priv/9c", slot.OpECDSA, h3[:])
	if err != nil || !ecdsa.Verify(d.pub9c, h3[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
		t.Errorf("P-256 over SHA-512: %v", err)
	}
}

func TestEdDSAAndECDH(t *testing.T) {
	_, d, tok := provisioned(t)
	msg := []byte("an Ed25519 message")
	sig, err := tok.PrivateKeyOp("priv/9e", slot.OpEdDSA, msg) // 9E: no PIN
	if err != nil || !ed25519.Verify(d.pub9e, msg, sig) {
		t.Fatalf("Ed25519: %v", err)
	}
	login(t, tok, ck.CKU_USER)
	peer, _ := ecdsa.GenerateKey(d.ec9d.Curve, rand.Reader)
	peerECDH, _ := peer.ECDH()
	pt, _ := peer.PublicKey.Bytes()
	secret, err := tok.PrivateKeyOp("priv/9d", slot.OpECDH, pt)
	if err != nil {
		t.Fatal(err)
	}
	ours, _ := d.ec9d.ECDH()
	want, _ := peerECDH.ECDH(ours.PublicKey())
	if !bytes.Equal(secret, want) {
		t.Error("P-384 ECDH secret differs")
	}
	xpeer, _ := d.x82.Curve().GenerateKey(rand.Reader)
	secret, err = tok.PrivateKeyOp("priv/82", slot.OpECDH, xpeer.PublicKey().Bytes())
	want, _ = xpeer.ECDH(d.x82.PublicKey())
	if err != nil || !bytes.Equal(secret, want) {
		t.Errorf("X25519: %v", err)
	}
	if _, err := tok.PrivateKeyOp("priv/82", slot.OpEdDSA, msg); slot.RV(err) != ck.CKR_KEY_FUNCTION_NOT_PERMITTED {
		t.Errorf("EdDSA with X25519: %v", err)
	}
}

// TestLoggedInFromState: a host polling C_GetSessionInfo and C_GetTokenInfo while
// logged in costs the card nothing (docs/performance.md, S10), on every firmware; a
// reset by another program is still seen (PC/SC reports it when the call's transaction
// begins), and so is a PIN command of ours.
func TestLoggedInFromState(t *testing.T) {
	m := newCard(t)
	tok := openToken(t, m)
	login(t, tok, ck.CKU_USER)
	if _, err := tok.Info(); err != nil { // the first after the login reads the counter
		t.Fatal(err)
	}
	before := m.apdus
	for i := 0; i < 10; i++ {
		if ok, err := tok.LoggedIn(); !ok || err != nil {
			t.Fatalf("LoggedIn: %v %v", ok, err)
		}
		if _, err := tok.Info(); err != nil {
			t.Fatal(err)
		}
	}
	if m.apdus != before {
		t.Errorf("10 polls while logged in: %d APDUs, want 0", m.apdus-before)
	}
	// Another program resets the card: the login is gone and the flags are read again.
	m.resetNext = true
	if ok, err := tok.LoggedIn(); ok || err != nil {
		t.Errorf("LoggedIn after a reset: %v %v, want false", ok, err)
	}
	before = m.apdus
	if _, err := tok.Info(); err != nil || m.apdus == before {
		t.Errorf("Info after the login was lost: %v, %d APDUs (want the counter read)", err, m.apdus-before)
	}
	// A wrong PIN of ours: the counter is read again and tells it.
	login(t, tok, ck.CKU_USER)
	if _, err := tok.Info(); err != nil {
		t.Fatal(err)
	}
	if err := tok.Login(ck.CKU_CONTEXT_SPECIFIC, []byte("654321")); err == nil {
		t.Fatal("wrong PIN accepted")
	}
	info, err := tok.Info()
	if err != nil || info.Flags&ck.CKF_USER_PIN_COUNT_LOW == 0 {
		t.Errorf("Info after a wrong PIN: flags %#x, %v; want COUNT_LOW", info.Flags, err)
	}
}

// TestProbeLogin: a login lost without a reset (another program selected another
// application) is invisible to LoggedIn until an operation is refused, and told at
// once by ProbeLogin, which asks the card (one empty VERIFY) where that is reliable.
func TestProbeLogin(t *testing.T) {
	m, _, tok := provisioned(t)
	login(t, tok, ck.CKU_USER)
	before := m.apdus
	if in, err := tok.ProbeLogin(); !in || err != nil || m.apdus != before+1 {
		t.Errorf("ProbeLogin while logged in: %v %v, %d APDUs (want 1)", in, err, m.apdus-before)
	}
	m.c.Process([]byte{0x00, 0xA4, 0x04, 0x00, 0x06, 0xD2, 0x76, 0x00, 0x01, 0x24, 0x01}) // OpenPGP
	if in, _ := tok.LoggedIn(); !in {
		t.Error("LoggedIn asked the card")
	}
	if in, err := tok.ProbeLogin(); in || err != nil {
		t.Errorf("ProbeLogin after another application: %v %v, want false", in, err)
	}
	// Lost without a reset and found by a refused operation: LoggedIn tells it after.
	login(t, tok, ck.CKU_USER)
	m.c.Process([]byte{0x00, 0x20, 0xFF, 0x80}) // another program: VERIFY reset of the PIN status
	h := sha256.Sum256([]byte("x"))
	if _, err := tok.PrivateKeyOp("priv/9d", slot.OpECDSA, h[:]); slot.RV(err) != ck.CKR_USER_NOT_LOGGED_IN {
		t.Fatalf("sign without the PIN: %v", err)
	}
	if in, _ := tok.LoggedIn(); in {
		t.Error("LoggedIn after the card refused the key for want of the PIN")
	}
	// Where an empty VERIFY cannot be trusted, ProbeLogin keeps the record.
	login(t, tok, ck.CKU_USER)
	tok.version = [3]byte{5, 3, 1}
	before = m.apdus
	if in, err := tok.ProbeLogin(); !in || err != nil || m.apdus != before {
		t.Errorf("ProbeLogin on 5.3.1: %v %v, %d APDUs", in, err, m.apdus-before)
	}
	for v, want := range map[[3]byte]bool{{3, 4, 3}: false, {4, 3, 6}: false, {4, 3, 7}: true,
		{5, 3, 1}: false, {5, 3, 2}: true, {5, 7, 1}: true} {
		if got := (&Token{yubikey: true, version: v}).emptyVerifyReliable(); got != want {
			t.Errorf("version %v: reliable %v, want %v", v, got, want)
		}
	}
}

// TestDemoProfile runs against the virtual card's own demo provisioning.
func TestDemoProfile(t *testing.T) {
	tok, m := profileToken(t, vpiv.Options{})
	info, err := tok.Info()
	if err != nil {
		t.Fatal(err)
	}
	objs, err := tok.Objects()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("demo card: Open+Info+Objects = %d APDUs, %d objects, label %q serial %q", m.apdus, len(objs), info.Label, info.Serial)
	for _, ref := range []string{"9a", "9c", "9d", "9e"} {
		for _, kind := range []string{"cert/", "pub/", "priv/"} {
			if findObj(objs, kind+ref) == nil {
				t.Errorf("demo card lacks %s%s", kind, ref)
			}
		}
	}
	cert := findObj(objs, "cert/9c")
	parsed, err := x509.ParseCertificate(cert[ck.CKA_VALUE].([]byte))
	if err != nil || parsed.Subject.CommonName != "pcsc11 demo Digital Signature" {
		t.Fatalf("demo 9C certificate: %v", err)
	}
	login(t, tok, ck.CKU_USER)
	login(t, tok, ck.CKU_CONTEXT_SPECIFIC)
	h := sha256.Sum256([]byte("demo"))
	sig, err := tok.PrivateKeyOp("priv/9c", slot.OpECDSA, h[:])
	if err != nil {
		t.Fatal(err)
	}
	pub := parsed.PublicKey.(*ecdsa.PublicKey)
	if !ecdsa.Verify(pub, h[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
		t.Error("demo 9C signature does not verify against its certificate")
	}
	// Closing the connection: the next call sees a removed card.
	tok.Close()
	if _, err := tok.Info(); slot.RV(err) != ck.CKR_DEVICE_REMOVED {
		t.Errorf("Info after Close: %v", err)
	}
}
