package module

import (
	"bytes"
	"crypto/ecdh"
	"crypto/rand"
	"crypto/sha256"
	"testing"

	"github.com/pcsc11/pcsc11/ck"
)

func TestDigestKey(t *testing.T) {
	l, s, key, _ := loggedIn(t, 3)
	peer, _ := ecdh.P256().GenerateKey(rand.Reader)
	mine, _ := testEC.ECDH()
	secret, _ := peer.ECDH(mine.PublicKey())
	mech := Mechanism{Type: ck.CKM_ECDH1_DERIVE, ECDH: &ECDHParams{KDF: ck.CKD_NULL, PublicData: peer.PublicKey().Bytes()}}
	// Sensitive or not, the value may be digested (spec 5.12 does not forbid it).
	sk, rv := l.DeriveKey(s, mech, key, []Attr{{Type: ck.CKA_SENSITIVE, Value: []byte{1}}})
	wantRV(t, "DeriveKey", rv, ck.CKR_OK)

	wantRV(t, "DigestKey without DigestInit", l.DigestKey(s, sk), ck.CKR_OPERATION_NOT_INITIALIZED)
	wantRV(t, "DigestInit", l.DigestInit(s, Mechanism{Type: ck.CKM_SHA256}), ck.CKR_OK)
	wantRV(t, "DigestUpdate", l.DigestUpdate(s, []byte("pre")), ck.CKR_OK)
	wantRV(t, "DigestKey", l.DigestKey(s, sk), ck.CKR_OK)
	buf := make([]byte, 32)
	n, rv := l.DigestFinal(s, OutBuf{Buf: buf})
	wantRV(t, "DigestFinal", rv, ck.CKR_OK)
	want := sha256.Sum256(append([]byte("pre"), secret...))
	if n != 32 || !bytes.Equal(buf, want[:]) {
		t.Fatal("digest of the key value differs from SHA-256(data || secret)")
	}

	// A key on the card is not a secret key: indigestible, and the operation ends.
	wantRV(t, "DigestInit", l.DigestInit(s, Mechanism{Type: ck.CKM_SHA256}), ck.CKR_OK)
	wantRV(t, "DigestKey private key", l.DigestKey(s, key), ck.CKR_KEY_INDIGESTIBLE)
	_, rv = l.DigestFinal(s, OutBuf{Buf: buf})
	wantRV(t, "operation ended", rv, ck.CKR_OPERATION_NOT_INITIALIZED)
	// A certificate is no key; an unknown handle neither.
	cert := findAll(t, l, s, []Attr{ulongAttr(ck.CKA_CLASS, ck.CKO_CERTIFICATE)})[0]
	wantRV(t, "DigestInit", l.DigestInit(s, Mechanism{Type: ck.CKM_SHA256}), ck.CKR_OK)
	wantRV(t, "DigestKey certificate", l.DigestKey(s, cert), ck.CKR_KEY_HANDLE_INVALID)
	wantRV(t, "DigestInit", l.DigestInit(s, Mechanism{Type: ck.CKM_SHA256}), ck.CKR_OK)
	wantRV(t, "DigestKey bad handle", l.DigestKey(s, 0xdead), ck.CKR_KEY_HANDLE_INVALID)
	wantRV(t, "DigestKey bad session", l.DigestKey(0xdead, sk), ck.CKR_SESSION_HANDLE_INVALID)
}

func TestDigest(t *testing.T) {
	l, _, _ := newTestLib(t)
	l.SlotList(false)
	s := open(t, l, false)
	wantRV(t, "DigestInit", l.DigestInit(s, Mechanism{Type: ck.CKM_SHA256}), ck.CKR_OK)
	wantRV(t, "DigestInit twice", l.DigestInit(s, Mechanism{Type: ck.CKM_SHA256}), ck.CKR_OPERATION_ACTIVE)
	n, rv := l.Digest(s, []byte("abc"), OutBuf{Nil: true})
	wantRV(t, "size", rv, ck.CKR_OK)
	out := make([]byte, n)
	_, rv = l.Digest(s, []byte("abc"), OutBuf{Buf: out})
	wantRV(t, "Digest", rv, ck.CKR_OK)
	if want := sha256.Sum256([]byte("abc")); string(out) != string(want[:]) {
		t.Fatal("digest mismatch")
	}
	wantRV(t, "bad mechanism", l.DigestInit(s, Mechanism{Type: ck.CKM_RSA_PKCS}), ck.CKR_MECHANISM_INVALID)
}
