package module

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"math/big"
	"testing"

	"github.com/pcsc11/pcsc11/ck"
)

// loggedIn opens a session, logs in and returns the private key handle with CKA_ID id.
func loggedIn(t *testing.T, id byte) (*Library, ck.ULong, ck.ULong, *fakeToken) {
	t.Helper()
	l, _, tok := newTestLib(t)
	l.SlotList(false)
	s := open(t, l, false)
	wantRV(t, "Login", l.Login(s, ck.CKU_USER, []byte(testPIN)), ck.CKR_OK)
	keys := findAll(t, l, s, []Attr{{Type: ck.CKA_ID, Value: []byte{id}}, ulongAttr(ck.CKA_CLASS, ck.CKO_PRIVATE_KEY)})
	if len(keys) != 1 {
		t.Fatalf("key %d: %d found", id, len(keys))
	}
	return l, s, keys[0], tok
}

func sign(t *testing.T, l *Library, s, key ck.ULong, mech Mechanism, data []byte) []byte {
	t.Helper()
	wantRV(t, "SignInit", l.SignInit(s, mech, key), ck.CKR_OK)
	n, rv := l.Sign(s, data, OutBuf{Nil: true})
	wantRV(t, "Sign size query", rv, ck.CKR_OK)
	out := make([]byte, n)
	m, rv := l.Sign(s, data, OutBuf{Buf: out})
	wantRV(t, "Sign", rv, ck.CKR_OK)
	return out[:m]
}

func pssParam(hash, mgf, salt ck.ULong) []byte {
	return putULong(putULong(putULong(nil, hash), mgf), salt)
}

func TestSignRSA(t *testing.T) {
	l, s, key, _ := loggedIn(t, 1)
	msg := []byte("pcsc11 signs")
	sum := sha256.Sum256(msg)
	pub := &testRSA.PublicKey

	sig := sign(t, l, s, key, Mechanism{Type: ck.CKM_SHA256_RSA_PKCS}, msg)
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig); err != nil {
		t.Fatalf("SHA256_RSA_PKCS: %v", err)
	}
	sig = sign(t, l, s, key, Mechanism{Type: ck.CKM_RSA_PKCS}, digestInfo(crypto.SHA256, sum[:]))
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig); err != nil {
		t.Fatalf("RSA_PKCS: %v", err)
	}
	sig = sign(t, l, s, key, Mechanism{Type: ck.CKM_SHA256_RSA_PKCS_PSS, Param: pssParam(ck.CKM_SHA256, ck.CKG_MGF1_SHA256, 32)}, msg)
	if err := rsa.VerifyPSS(pub, crypto.SHA256, sum[:], sig, &rsa.PSSOptions{SaltLength: 32}); err != nil {
		t.Fatalf("SHA256_RSA_PKCS_PSS: %v", err)
	}
	sum512 := sha512.Sum512(msg)
	sig = sign(t, l, s, key, Mechanism{Type: ck.CKM_RSA_PKCS_PSS, Param: pssParam(ck.CKM_SHA512, ck.CKG_MGF1_SHA512, 0)}, sum512[:])
	if err := rsa.VerifyPSS(pub, crypto.SHA512, sum512[:], sig, &rsa.PSSOptions{SaltLength: 0}); err != nil {
		t.Fatalf("RSA_PKCS_PSS: %v", err)
	}
	// Raw RSA: sig^e mod n gives back the block.
	block := make([]byte, testRSA.Size())
	block[len(block)-1] = 42
	sig = sign(t, l, s, key, Mechanism{Type: ck.CKM_RSA_X_509}, block[100:])
	back := new(big.Int).Exp(new(big.Int).SetBytes(sig), big.NewInt(int64(pub.E)), pub.N)
	if back.Int64() != 42 {
		t.Fatalf("RSA_X_509 round trip: %v", back)
	}

	// Multi-part.
	wantRV(t, "SignInit", l.SignInit(s, Mechanism{Type: ck.CKM_SHA256_RSA_PKCS}, key), ck.CKR_OK)
	wantRV(t, "SignUpdate", l.SignUpdate(s, msg[:5]), ck.CKR_OK)
	wantRV(t, "SignUpdate", l.SignUpdate(s, msg[5:]), ck.CKR_OK)
	out := make([]byte, 10)
	n, rv := l.SignFinal(s, OutBuf{Buf: out})
	wantRV(t, "SignFinal short buffer", rv, ck.CKR_BUFFER_TOO_SMALL)
	if n != 256 {
		t.Fatalf("needed length %d", n)
	}
	out = make([]byte, 300)
	n, rv = l.SignFinal(s, OutBuf{Buf: out})
	wantRV(t, "SignFinal after BUFFER_TOO_SMALL", rv, ck.CKR_OK)
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], out[:n]); err != nil {
		t.Fatalf("multi-part: %v", err)
	}
	_, rv = l.SignFinal(s, OutBuf{Buf: out})
	wantRV(t, "operation ended", rv, ck.CKR_OPERATION_NOT_INITIALIZED)
}

func TestSignErrors(t *testing.T) {
	l, s, key, _ := loggedIn(t, 1)
	wantRV(t, "unknown mechanism", l.SignInit(s, Mechanism{Type: ck.CKM_ECDH1_DERIVE}, key), ck.CKR_MECHANISM_INVALID)
	wantRV(t, "wrong key type", l.SignInit(s, Mechanism{Type: ck.CKM_ECDSA}, key), ck.CKR_KEY_TYPE_INCONSISTENT)
	wantRV(t, "bad key handle", l.SignInit(s, Mechanism{Type: ck.CKM_RSA_PKCS}, 99999), ck.CKR_KEY_HANDLE_INVALID)
	for name, p := range map[string][]byte{
		"no params":         nil,
		"short params":      make([]byte, 5),
		"hash mismatch":     pssParam(ck.CKM_SHA384, ck.CKG_MGF1_SHA256, 32),
		"bad mgf":           pssParam(ck.CKM_SHA256, 77, 32),
		"not a hash":        pssParam(ck.CKM_RSA_PKCS, ck.CKG_MGF1_SHA256, 32),
		"salt too long":     pssParam(ck.CKM_SHA256, ck.CKG_MGF1_SHA256, 256-32-1),
		"salt way too long": pssParam(ck.CKM_SHA256, ck.CKG_MGF1_SHA256, ^ck.ULong(0)),
	} {
		wantRV(t, "PSS "+name, l.SignInit(s, Mechanism{Type: ck.CKM_SHA256_RSA_PKCS_PSS, Param: p}, key), ck.CKR_MECHANISM_PARAM_INVALID)
	}
	wantRV(t, "max salt ok", l.SignInit(s, Mechanism{Type: ck.CKM_SHA256_RSA_PKCS_PSS, Param: pssParam(ck.CKM_SHA256, ck.CKG_MGF1_SHA256, 256-32-2)}, key), ck.CKR_OK)
	wantRV(t, "init twice", l.SignInit(s, Mechanism{Type: ck.CKM_RSA_PKCS}, key), ck.CKR_OPERATION_ACTIVE)
	l.SessionCancel(s, ck.CKF_SIGN)
	wantRV(t, "init after cancel", l.SignInit(s, Mechanism{Type: ck.CKM_RSA_PKCS}, key), ck.CKR_OK)
	_, rv := l.Sign(s, make([]byte, 250), OutBuf{Buf: make([]byte, 256)})
	wantRV(t, "RSA_PKCS data too long", rv, ck.CKR_DATA_LEN_RANGE)
	_, rv = l.Sign(s, []byte{1}, OutBuf{Buf: make([]byte, 256)})
	wantRV(t, "error ended the operation", rv, ck.CKR_OPERATION_NOT_INITIALIZED)

	// A key without CKA_SIGN.
	dec := findAll(t, l, s, []Attr{{Type: ck.CKA_ID, Value: []byte{6}}})[0]
	wantRV(t, "decrypt-only key", l.SignInit(s, Mechanism{Type: ck.CKM_RSA_PKCS}, dec), ck.CKR_KEY_FUNCTION_NOT_PERMITTED)
	// A public key.
	pub := findAll(t, l, s, []Attr{ulongAttr(ck.CKA_CLASS, ck.CKO_PUBLIC_KEY)})[0]
	wantRV(t, "public key", l.SignInit(s, Mechanism{Type: ck.CKM_RSA_PKCS}, pub), ck.CKR_KEY_TYPE_INCONSISTENT)
	// CKA_ALLOWED_MECHANISMS of the EC key lists ECDSA and ECDSA_SHA256 only.
	ec := findAll(t, l, s, []Attr{{Type: ck.CKA_ID, Value: []byte{4}}})[0]
	wantRV(t, "not allowed", l.SignInit(s, Mechanism{Type: ck.CKM_ECDSA_SHA384}, ec), ck.CKR_MECHANISM_INVALID)
}

func TestSignEC(t *testing.T) {
	l, s, key, _ := loggedIn(t, 4)
	msg := []byte("ecdsa")
	sum := sha256.Sum256(msg)
	check := func(sig []byte, hash []byte) {
		t.Helper()
		if len(sig) != 64 {
			t.Fatalf("signature length %d", len(sig))
		}
		r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
		if !ecdsa.Verify(&testEC.PublicKey, hash, r, s) {
			t.Fatal("ECDSA signature does not verify")
		}
	}
	check(sign(t, l, s, key, Mechanism{Type: ck.CKM_ECDSA_SHA256}, msg), sum[:])
	check(sign(t, l, s, key, Mechanism{Type: ck.CKM_ECDSA}, sum[:]), sum[:])
	// A longer hash is truncated to the curve size (FIPS 186-4), a shorter one padded.
	long := sha512.Sum512(msg)
	check(sign(t, l, s, key, Mechanism{Type: ck.CKM_ECDSA}, long[:]), long[:32])
	check(sign(t, l, s, key, Mechanism{Type: ck.CKM_ECDSA}, sum[:20]), sum[:20])
	wantRV(t, "SignInit", l.SignInit(s, Mechanism{Type: ck.CKM_ECDSA}, key), ck.CKR_OK)
	_, rv := l.Sign(s, nil, OutBuf{Buf: make([]byte, 64)})
	wantRV(t, "empty hash", rv, ck.CKR_DATA_LEN_RANGE)
}

func TestSignEdDSA(t *testing.T) {
	l, s, key, _ := loggedIn(t, 5)
	msg := []byte("ed25519 message")
	sig := sign(t, l, s, key, Mechanism{Type: ck.CKM_EDDSA}, msg)
	if !ed25519.Verify(testEd.Public().(ed25519.PublicKey), msg, sig) {
		t.Fatal("EdDSA signature does not verify")
	}
	ph := make([]byte, 3*ulongSize)
	ph[0] = 1
	wantRV(t, "Ed25519ph", l.SignInit(s, Mechanism{Type: ck.CKM_EDDSA, Param: ph}, key), ck.CKR_MECHANISM_PARAM_INVALID)
}

func TestSignAlwaysAuthenticate(t *testing.T) {
	l, s, key, tok := loggedIn(t, 2)
	msg := []byte("needs the PIN again")
	wantRV(t, "context login without operation", l.Login(s, ck.CKU_CONTEXT_SPECIFIC, []byte(testPIN)), ck.CKR_OPERATION_NOT_INITIALIZED)
	wantRV(t, "SignInit", l.SignInit(s, Mechanism{Type: ck.CKM_SHA256_RSA_PKCS}, key), ck.CKR_OK)
	ops := tok.ops
	_, rv := l.Sign(s, msg, OutBuf{Buf: make([]byte, 256)})
	wantRV(t, "Sign without context login", rv, ck.CKR_USER_NOT_LOGGED_IN)
	if tok.ops != ops {
		t.Fatal("card used although the context login was missing")
	}
	wantRV(t, "SignInit", l.SignInit(s, Mechanism{Type: ck.CKM_SHA256_RSA_PKCS}, key), ck.CKR_OK)
	wantRV(t, "wrong context PIN", l.Login(s, ck.CKU_CONTEXT_SPECIFIC, []byte("999999")), ck.CKR_PIN_INCORRECT)
	wantRV(t, "context login", l.Login(s, ck.CKU_CONTEXT_SPECIFIC, []byte(testPIN)), ck.CKR_OK)
	out := make([]byte, 256)
	n, rv := l.Sign(s, msg, OutBuf{Buf: out})
	wantRV(t, "Sign", rv, ck.CKR_OK)
	sum := sha256.Sum256(msg)
	if err := rsa.VerifyPKCS1v15(&testRSA.PublicKey, crypto.SHA256, sum[:], out[:n]); err != nil {
		t.Fatal(err)
	}
}

func TestSignNotLoggedIn(t *testing.T) {
	l, s, key, _ := loggedIn(t, 1)
	wantRV(t, "SignInit", l.SignInit(s, Mechanism{Type: ck.CKM_RSA_PKCS}, key), ck.CKR_OK)
	wantRV(t, "Logout", l.Logout(s), ck.CKR_OK)
	_, rv := l.Sign(s, []byte("x"), OutBuf{Buf: make([]byte, 256)})
	wantRV(t, "operation ended by logout", rv, ck.CKR_OPERATION_NOT_INITIALIZED)
	wantRV(t, "private key invisible after logout", l.SignInit(s, Mechanism{Type: ck.CKM_RSA_PKCS}, key), ck.CKR_KEY_HANDLE_INVALID)
}
