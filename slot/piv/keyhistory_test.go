package piv

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"testing"

	"github.com/pcsc11/pcsc11/apdu"
)

func TestKeyHistory(t *testing.T) {
	m := newCard(t)
	tok := openToken(t, m)
	soLogin(t, tok)
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der := selfSigned(t, &k.PublicKey, 0)
	// 9A is not a retired slot: no history.
	if _, err := tok.CreateObject(certTmpl(0x01, der)); err != nil {
		t.Fatal(err)
	}
	if h := cardObject(t, m, objKeyHistory); h != nil {
		t.Errorf("history %x after a 9A certificate", h)
	}
	// Retired key 3 (84): keysWithOnCardCerts covers slots 1..3.
	if _, err := tok.CreateObject(certTmpl(0x07, der)); err != nil {
		t.Fatal(err)
	}
	want := func(n byte) []byte { return []byte{0xC1, 0x01, n, 0xC2, 0x01, 0x00, 0xFE, 0x00} }
	if h := cardObject(t, m, objKeyHistory); !bytes.Equal(h, want(3)) {
		t.Errorf("history %x, want %x", h, want(3))
	}
	if _, err := tok.CreateObject(certTmpl(0x05, der)); err != nil {
		t.Fatal(err)
	}
	if h := cardObject(t, m, objKeyHistory); !bytes.Equal(h, want(3)) {
		t.Errorf("history %x after a lower slot", h)
	}
	if err := tok.DestroyObject("cert/84"); err != nil {
		t.Fatal(err)
	}
	if h := cardObject(t, m, objKeyHistory); !bytes.Equal(h, want(1)) {
		t.Errorf("history %x after deleting 84", h)
	}
	// A history naming off-card certificates is the issuer's: left alone.
	issuer := []byte{0xC1, 0x01, 0x01, 0xC2, 0x01, 0x02, 0xF3, 0x03, 'u', 'r', 'l', 0xFE, 0x00}
	if _, err := raw(m, apdu.Command{INS: insPutData, P1: 0x3F, P2: 0xFF,
		Data: apdu.AppendTLV(apdu.EncodeTLV(0x5C, tagBytes(objKeyHistory)), 0x53, issuer)}); err != nil {
		t.Fatal(err)
	}
	if _, err := tok.CreateObject(certTmpl(0x18, der)); err != nil {
		t.Fatal(err)
	}
	if h := cardObject(t, m, objKeyHistory); !bytes.Equal(h, issuer) {
		t.Errorf("issuer history rewritten: %x", h)
	}
}
