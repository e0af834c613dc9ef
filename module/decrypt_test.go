package module

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"testing"

	"github.com/pcsc11/pcsc11/ck"
)

func TestDecryptEncrypt(t *testing.T) {
	l, s, _, tok := loggedIn(t, 1)
	// Key 83 (CKA_ID 06) may decrypt only; the fake card does raw RSA with the test key
	// for key names priv/9a and priv/9c, so use 9a via a decrypt-capable copy.
	dec := findAll(t, l, s, []Attr{{Type: ck.CKA_ID, Value: []byte{6}}})[0]
	wantRV(t, "sign-only key cannot decrypt", l.DecryptInit(s, Mechanism{Type: ck.CKM_RSA_PKCS}, findAll(t, l, s, []Attr{{Type: ck.CKA_ID, Value: []byte{4}}})[0]), ck.CKR_KEY_FUNCTION_NOT_PERMITTED)
	tok.decryptKey = "priv/83"

	msg := []byte("secret message")
	ct, _ := rsa.EncryptPKCS1v15(rand.Reader, &testRSA.PublicKey, msg)
	wantRV(t, "DecryptInit", l.DecryptInit(s, Mechanism{Type: ck.CKM_RSA_PKCS}, dec), ck.CKR_OK)
	n, rv := l.Decrypt(s, ct, OutBuf{Nil: true})
	wantRV(t, "size query", rv, ck.CKR_OK)
	if n != 256 {
		t.Fatalf("upper bound %d", n)
	}
	small := make([]byte, 4)
	n, rv = l.Decrypt(s, ct, OutBuf{Buf: small})
	wantRV(t, "short buffer", rv, ck.CKR_BUFFER_TOO_SMALL)
	if n != ck.ULong(len(msg)) {
		t.Fatalf("exact length %d", n)
	}
	ops := tok.ops
	out := make([]byte, n)
	n, rv = l.Decrypt(s, ct, OutBuf{Buf: out})
	wantRV(t, "Decrypt", rv, ck.CKR_OK)
	if string(out[:n]) != string(msg) || tok.ops != ops {
		t.Fatalf("plaintext %q (card ops %d → %d)", out[:n], ops, tok.ops)
	}

	label := []byte("label")
	oaep := append(putULong(putULong(putULong(nil, ck.CKM_SHA256), ck.CKG_MGF1_SHA256), ck.CKZ_DATA_SPECIFIED), make([]byte, 2*ulongSize)...)
	ct, _ = rsa.EncryptOAEP(sha256.New(), rand.Reader, &testRSA.PublicKey, msg, label)
	wantRV(t, "DecryptInit OAEP", l.DecryptInit(s, Mechanism{Type: ck.CKM_RSA_PKCS_OAEP, Param: oaep, Source: label}, dec), ck.CKR_OK)
	out = make([]byte, 256)
	n, rv = l.Decrypt(s, ct, OutBuf{Buf: out})
	wantRV(t, "Decrypt OAEP", rv, ck.CKR_OK)
	if string(out[:n]) != string(msg) {
		t.Fatalf("OAEP plaintext %q", out[:n])
	}
	wantRV(t, "DecryptInit OAEP wrong label", l.DecryptInit(s, Mechanism{Type: ck.CKM_RSA_PKCS_OAEP, Param: oaep, Source: []byte("x")}, dec), ck.CKR_OK)
	_, rv = l.Decrypt(s, ct, OutBuf{Buf: out})
	wantRV(t, "Decrypt OAEP wrong label", rv, ck.CKR_ENCRYPTED_DATA_INVALID)
	wantRV(t, "DecryptInit", l.DecryptInit(s, Mechanism{Type: ck.CKM_RSA_PKCS}, dec), ck.CKR_OK)
	_, rv = l.Decrypt(s, ct[1:], OutBuf{Buf: out})
	wantRV(t, "wrong ciphertext length", rv, ck.CKR_ENCRYPTED_DATA_LEN_RANGE)
	wantRV(t, "DecryptInit OAEP bad params", l.DecryptInit(s, Mechanism{Type: ck.CKM_RSA_PKCS_OAEP, Param: oaep[:8]}, dec), ck.CKR_MECHANISM_PARAM_INVALID)

	// Software encryption with the public key, decrypted by the card.
	pub := findAll(t, l, s, []Attr{ulongAttr(ck.CKA_CLASS, ck.CKO_PUBLIC_KEY), {Type: ck.CKA_ID, Value: []byte{1}}})[0]
	for _, m := range []Mechanism{{Type: ck.CKM_RSA_PKCS}, {Type: ck.CKM_RSA_PKCS_OAEP, Param: oaep, Source: label}} {
		wantRV(t, "EncryptInit", l.EncryptInit(s, m, pub), ck.CKR_OK)
		ct := make([]byte, 256)
		n, rv := l.Encrypt(s, msg, OutBuf{Buf: ct})
		wantRV(t, "Encrypt", rv, ck.CKR_OK)
		wantRV(t, "DecryptInit", l.DecryptInit(s, m, dec), ck.CKR_OK)
		pn, rv := l.Decrypt(s, ct[:n], OutBuf{Buf: out})
		wantRV(t, "Decrypt", rv, ck.CKR_OK)
		if string(out[:pn]) != string(msg) {
			t.Fatalf("round trip %x: %q", m.Type, out[:pn])
		}
	}
}

func TestPKCS1Type2Unpad(t *testing.T) {
	em := make([]byte, 32)
	em[1] = 2
	for i := 2; i < 20; i++ {
		em[i] = 0x55
	}
	copy(em[21:], "hello world")
	if m, ok := pkcs1Type2Unpad(em); !ok || string(m) != "hello world" {
		t.Fatalf("%q %v", m, ok)
	}
	em[5] = 0 // padding shorter than 8 bytes
	if _, ok := pkcs1Type2Unpad(em); ok {
		t.Fatal("accepted short padding")
	}
	em[5], em[1] = 0x55, 1
	if _, ok := pkcs1Type2Unpad(em); ok {
		t.Fatal("accepted block type 1")
	}
}
