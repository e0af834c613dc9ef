package module_test

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pcsc11/pcsc11/apdu"
	"github.com/pcsc11/pcsc11/ck"
	"github.com/pcsc11/pcsc11/module"
	"github.com/pcsc11/pcsc11/reader"
	"github.com/pcsc11/pcsc11/slot/piv"
	"github.com/pcsc11/pcsc11/vpiv"
)

// TestTraceHoldsNoSecret: no secret may reach a log (DESIGN.md). Every flow that
// touches a secret runs through the module with PCSC11_DEBUG=apdu and PCSC11_LOG set,
// and the whole log (module lines and APDU trace) is searched for every secret used:
// PINs (login, C_SetPIN, context login, C_InitPIN), PUKs (SO login, PUK change,
// C_InitToken), management keys (plain: SO login, change, keygen and import,
// C_InitToken; PIN-protected: the ykman --protect layout C_InitToken leaves, used by a
// user's keygen and import), imported private keys (EC scalar, RSA private parts), the
// ECDH shared secret and RSA decryptions.
//
// The card is the in-process virtual card behind reader.Traced, which gives it the
// trace a pcsc-lite connection has.
func TestTraceHoldsNoSecret(t *testing.T) {
	logPath := filepath.Join(t.TempDir(), "pcsc11.log")
	oldGetenv := module.Getenv
	module.Getenv = func(k string) string {
		switch k {
		case "PCSC11_DEBUG":
			return "calls,apdu"
		case "PCSC11_LOG":
			return logPath
		}
		return ""
	}
	t.Cleanup(func() { module.Getenv = oldGetenv })

	c, err := vpiv.New(vpiv.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Provision("demo"); err != nil {
		t.Fatal(err)
	}
	mem := vpiv.NewMemory(c)
	tok, err := piv.Open(reader.Traced(mem, "Traced Card 00 00"), "vpiv", piv.Options{})
	if err != nil {
		t.Fatal(err)
	}
	l := module.New(func() (module.Manager, error) { return &oneSlot{tok: tok}, nil })
	must(t, "C_Initialize", l.Initialize(nil))
	defer l.Finalize(false)
	if _, rv := l.SlotList(true); rv != ck.CKR_OK {
		t.Fatal(rv)
	}

	secrets := map[string][]byte{}
	keep := func(what string, v []byte) []byte { secrets[what] = append([]byte(nil), v...); return v }
	randomHexKey := func(what string) []byte {
		k := make([]byte, 24)
		rand.Read(k)
		keep(what, k)
		return []byte(hex.EncodeToString(k))
	}
	h, rv := l.OpenSession(0, ck.CKF_SERIAL_SESSION|ck.CKF_RW_SESSION)
	must(t, "C_OpenSession", rv)
	id := func(b byte) module.Attr { return attr(ck.CKA_ID, []byte{b}) }
	find := func(class ck.ULong, b byte) ck.ULong {
		t.Helper()
		must(t, "C_FindObjectsInit", l.FindObjectsInit(h, []module.Attr{attr(ck.CKA_CLASS, class), id(b)}))
		found, rv := l.FindObjects(h, 10)
		must(t, "C_FindObjects", rv)
		must(t, "C_FindObjectsFinal", l.FindObjectsFinal(h))
		if len(found) != 1 {
			t.Fatalf("class %d, CKA_ID %02x: %d objects", class, b, len(found))
		}
		return found[0]
	}
	certKey := func(b byte) *rsa.PublicKey {
		t.Helper()
		reqs := []module.AttrReq{{Type: ck.CKA_VALUE, Buf: make([]byte, 4096)}}
		must(t, "C_GetAttributeValue", l.GetAttributeValue(h, find(ck.CKO_CERTIFICATE, b), reqs))
		cert, err := x509.ParseCertificate(reqs[0].Buf[:reqs[0].Len])
		if err != nil {
			t.Fatal(err)
		}
		return cert.PublicKey.(*rsa.PublicKey)
	}
	decrypt := func(pub *rsa.PublicKey, key ck.ULong, what string) {
		t.Helper()
		msg := keep(what, randomBytes(32))
		ct, err := rsa.EncryptPKCS1v15(rand.Reader, pub, msg)
		if err != nil {
			t.Fatal(err)
		}
		must(t, "C_DecryptInit", l.DecryptInit(h, module.Mechanism{Type: ck.CKM_RSA_PKCS}, key))
		out := make([]byte, 256)
		n, rv := l.Decrypt(h, ct, module.OutBuf{Buf: out})
		must(t, "C_Decrypt", rv)
		if !bytes.Equal(out[:n], msg) {
			t.Fatalf("%s: decrypted %x", what, out[:n])
		}
	}
	p256 := []byte{0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07}
	genP256 := func(b byte) {
		t.Helper()
		_, _, rv := l.GenerateKeyPair(h, module.Mechanism{Type: ck.CKM_EC_KEY_PAIR_GEN},
			[]module.Attr{id(b), attr(ck.CKA_EC_PARAMS, p256), attr(ck.CKA_TOKEN, true)},
			[]module.Attr{id(b), attr(ck.CKA_TOKEN, true), attr(ck.CKA_SIGN, true), attr(ck.CKA_PRIVATE, true)})
		must(t, fmt.Sprintf("C_GenerateKeyPair %02x", b), rv)
	}
	importP256 := func(b byte, what string) *ecdsa.PrivateKey {
		t.Helper()
		k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		scalar := keep(what, k.D.FillBytes(make([]byte, 32)))
		_, rv := l.CreateObject(h, []module.Attr{attr(ck.CKA_CLASS, ck.CKO_PRIVATE_KEY), attr(ck.CKA_KEY_TYPE, ck.CKK_EC),
			id(b), attr(ck.CKA_TOKEN, true), attr(ck.CKA_EC_PARAMS, p256), attr(ck.CKA_VALUE, scalar), attr(ck.CKA_DERIVE, true)})
		must(t, "C_CreateObject(EC private key) "+what, rv)
		return k
	}

	// 1. PINs: login, an RSA signature and decryption, C_SetPIN.
	keep("factory PIN", []byte("123456"))
	must(t, "C_Login(USER)", l.Login(h, ck.CKU_USER, []byte("123456")))
	decrypt(certKey(0x03), find(ck.CKO_PRIVATE_KEY, 0x03), "RSA decryption (9D)")
	must(t, "C_SetPIN", l.SetPIN(h, []byte("123456"), keep("new PIN", []byte("pk3Qx9"))))
	must(t, "C_Logout", l.Logout(h))

	// 2. A context-specific login (9C: PIN always).
	must(t, "C_Login(USER)", l.Login(h, ck.CKU_USER, []byte("pk3Qx9")))
	must(t, "C_SignInit 9C", l.SignInit(h, module.Mechanism{Type: ck.CKM_ECDSA_SHA256}, find(ck.CKO_PRIVATE_KEY, 0x02)))
	must(t, "C_Login(CONTEXT_SPECIFIC)", l.Login(h, ck.CKU_CONTEXT_SPECIFIC, []byte("pk3Qx9")))
	if _, rv := l.Sign(h, []byte("context"), module.OutBuf{Buf: make([]byte, 64)}); rv != ck.CKR_OK {
		t.Fatalf("C_Sign 9C: %#x", rv)
	}
	must(t, "C_Logout", l.Logout(h))

	// 3. Plain management keys: SO login, change, keygen, imports.
	factoryMgm := "010203040506070801020304050607080102030405060708"
	keep("factory management key", mustHex(factoryMgm))
	must(t, "C_Login(SO, management key)", l.Login(h, ck.CKU_SO, []byte(factoryMgm)))
	k1 := randomHexKey("management key K1")
	must(t, "C_SetPIN(SO, management key)", l.SetPIN(h, []byte(factoryMgm), k1))
	must(t, "C_Logout", l.Logout(h))
	must(t, "C_Login(SO, K1)", l.Login(h, ck.CKU_SO, k1))
	genP256(0x05)
	ecKey := importP256(0x06, "imported EC scalar (83)")
	rk, _ := rsa.GenerateKey(rand.Reader, 2048)
	rk.Precompute()
	_, rv = l.CreateObject(h, []module.Attr{attr(ck.CKA_CLASS, ck.CKO_PRIVATE_KEY), attr(ck.CKA_KEY_TYPE, ck.CKK_RSA),
		id(0x07), attr(ck.CKA_TOKEN, true), attr(ck.CKA_MODULUS, rk.N.Bytes()), attr(ck.CKA_PUBLIC_EXPONENT, []byte{1, 0, 1}),
		attr(ck.CKA_PRIVATE_EXPONENT, keep("RSA d", rk.D.Bytes())), attr(ck.CKA_PRIME_1, keep("RSA p", rk.Primes[0].Bytes())),
		attr(ck.CKA_PRIME_2, keep("RSA q", rk.Primes[1].Bytes())), attr(ck.CKA_EXPONENT_1, keep("RSA dP", rk.Precomputed.Dp.Bytes())),
		attr(ck.CKA_EXPONENT_2, keep("RSA dQ", rk.Precomputed.Dq.Bytes())), attr(ck.CKA_COEFFICIENT, keep("RSA qInv", rk.Precomputed.Qinv.Bytes())),
		attr(ck.CKA_DECRYPT, true)})
	must(t, "C_CreateObject(RSA private key)", rv)
	must(t, "C_Logout", l.Logout(h))

	// 4. ECDH with the imported key; RSA decryption with the imported key.
	must(t, "C_Login(USER)", l.Login(h, ck.CKU_USER, []byte("pk3Qx9")))
	peer, _ := ecdh.P256().GenerateKey(rand.Reader)
	mech := module.Mechanism{Type: ck.CKM_ECDH1_DERIVE, ECDH: &module.ECDHParams{KDF: ck.CKD_NULL, PublicData: peer.PublicKey().Bytes()}}
	dh, rv := l.DeriveKey(h, mech, find(ck.CKO_PRIVATE_KEY, 0x06), nil)
	must(t, "C_DeriveKey", rv)
	reqs := []module.AttrReq{{Type: ck.CKA_VALUE, Buf: make([]byte, 64)}}
	must(t, "C_GetAttributeValue(shared secret)", l.GetAttributeValue(h, dh, reqs))
	own, _ := ecKey.ECDH()
	want, _ := peer.ECDH(own.PublicKey())
	if !bytes.Equal(reqs[0].Buf[:reqs[0].Len], want) {
		t.Fatalf("ECDH secret %x, want %x", reqs[0].Buf[:reqs[0].Len], want)
	}
	keep("ECDH shared secret", want)
	decrypt(&rk.PublicKey, find(ck.CKO_PRIVATE_KEY, 0x07), "RSA decryption (imported key)")
	must(t, "C_Logout", l.Logout(h))

	// 5. PUKs: SO login, PUK change, C_InitPIN (RESET RETRY COUNTER).
	keep("factory PUK", []byte("12345678"))
	must(t, "C_Login(SO, PUK)", l.Login(h, ck.CKU_SO, []byte("12345678")))
	must(t, "C_SetPIN(SO, PUK)", l.SetPIN(h, []byte("12345678"), keep("new PUK", []byte("hR4mV8nq"))))
	must(t, "C_InitPIN", l.InitPIN(h, keep("PIN from C_InitPIN", []byte("Lm5Np7"))))
	must(t, "C_Logout", l.Logout(h))
	must(t, "C_CloseSession", l.CloseSession(h))

	// 6. C_InitToken with the management key, then with a PUK: the second leaves a
	// random management key stored PIN-protected (PRINTED 5FC109 = 88 { 89 key }).
	must(t, "C_InitToken(K1)", l.InitToken(0, k1, "traced"))
	h, rv = l.OpenSession(0, ck.CKF_SERIAL_SESSION|ck.CKF_RW_SESSION)
	must(t, "C_OpenSession", rv)
	must(t, "C_Login(SO, PUK)", l.Login(h, ck.CKU_SO, []byte("12345678")))
	must(t, "C_SetPIN(SO, PUK)", l.SetPIN(h, []byte("12345678"), keep("PUK for C_InitToken", []byte("aS9dF2gh"))))
	must(t, "C_Logout", l.Logout(h))
	must(t, "C_CloseSession", l.CloseSession(h))
	must(t, "C_InitToken(PUK)", l.InitToken(0, []byte("aS9dF2gh"), "traced"))

	// 7. A defect found once: a user with a PIN generates and imports keys; the
	// driver reads the protected management key from PRINTED.
	h, rv = l.OpenSession(0, ck.CKF_SERIAL_SESSION|ck.CKF_RW_SESSION)
	must(t, "C_OpenSession", rv)
	must(t, "C_Login(USER)", l.Login(h, ck.CKU_USER, []byte("123456")))
	genP256(0x01)
	importP256(0x08, "imported EC scalar (85), protected key")
	must(t, "C_Logout", l.Logout(h))
	must(t, "C_Finalize", l.Finalize(false))
	keep("PIN-protected management key", protectedKey(t, mem))

	log, err := os.ReadFile(logPath)
	if os.Getenv("DUMP") != "" {
		os.WriteFile(os.Getenv("DUMP"), log, 0o600)
	}
	if err != nil {
		t.Fatal(err)
	}
	// The trace must be there for the search to mean anything.
	for _, want := range []string{`apdu "Traced Card 00 00" > 00cb3fff0000055c035fc109`, "C_Login(1) session",
		"00200080 08 [8 bytes redacted]", "> 0087", "> 00ffffff", "> 00fe", "> 002c0080"} {
		if !bytes.Contains(log, []byte(want)) {
			t.Errorf("the log lacks %q: the trace did not run as expected", want)
		}
	}
	t.Logf("%d log lines searched for %d secrets", bytes.Count(log, []byte("\n")), len(secrets))
	for what, s := range secrets {
		if form, at := findSecret(log, s); at >= 0 {
			t.Errorf("%s appears in the log (%s) at byte %d: %q", what, form, at, excerpt(log, at))
		}
	}
}

// findSecret looks for s, and for every 6-byte window of a longer s, in log: raw, and
// in hex (lower, upper, spaced as "% x" and "% X"). All-digit values are not looked
// for raw: the lines' timestamps are digits.
func findSecret(log, s []byte) (form string, at int) {
	windows := [][]byte{s}
	for i := 0; len(s) > 6 && i+6 <= len(s); i++ {
		windows = append(windows, s[i:i+6])
	}
	digits := strings.Trim(string(s), "0123456789") == ""
	for _, w := range windows {
		forms := map[string]string{
			"hex":        hex.EncodeToString(w),
			"HEX":        strings.ToUpper(hex.EncodeToString(w)),
			"spaced hex": fmt.Sprintf("% x", w),
			"spaced HEX": fmt.Sprintf("% X", w),
		}
		if !digits {
			forms["raw"] = string(w)
		}
		for name, f := range forms {
			if i := bytes.Index(log, []byte(f)); i >= 0 {
				return name, i
			}
		}
	}
	return "", -1
}

func excerpt(b []byte, at int) string {
	return string(b[max(0, at-80):min(len(b), at+80)])
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// protectedKey reads the PIN-protected management key from the card, untraced: VERIFY
// with the factory PIN C_InitToken left, then GET DATA 5FC109 = 53 { 88 { 89 key } }.
func protectedKey(t *testing.T, mem reader.Card) []byte {
	t.Helper()
	if err := mem.BeginTransaction(); err != nil && err != reader.ErrCardReset {
		t.Fatal(err)
	}
	defer mem.EndTransaction()
	if _, err := apdu.Exchange(mem, apdu.Command{INS: 0xA4, P1: 0x04, Data: []byte{0xA0, 0, 0, 3, 8}, Ne: 256}, apdu.Options{}); err != nil {
		t.Fatal(err)
	}
	if _, err := apdu.Exchange(mem, apdu.Command{INS: 0x20, P2: 0x80, Data: []byte("123456\xff\xff")}, apdu.Options{}); err != nil {
		t.Fatal(err)
	}
	out, err := apdu.Exchange(mem, apdu.Command{INS: 0xCB, P1: 0x3F, P2: 0xFF, Data: []byte{0x5C, 0x03, 0x5F, 0xC1, 0x09}, Ne: 256}, apdu.Options{})
	if err != nil {
		t.Fatal(err)
	}
	key, ok, err := apdu.FindPath(out, 0x53, 0x88, 0x89)
	if err != nil || !ok || len(key) < 16 {
		t.Fatalf("PRINTED holds no protected management key: %x", out)
	}
	return key
}
