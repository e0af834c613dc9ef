package piv

import (
	"bytes"
	"compress/gzip"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"testing"

	"github.com/pcsc11/pcsc11/apdu"
)

func testCert(t *testing.T) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(0x1234), Subject: pkix.Name{CommonName: "subject"},
		Issuer: pkix.Name{CommonName: "issuer"}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c, key
}

func gz(t *testing.T, b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func TestParseCertContainer(t *testing.T) {
	c, key := testCert(t)
	plain := apdu.AppendTLV(apdu.AppendTLV(apdu.EncodeTLV(0x70, c.Raw), 0x71, []byte{0}), 0xFE, nil)
	compressed := apdu.AppendTLV(apdu.EncodeTLV(0x70, gz(t, c.Raw)), 0x71, []byte{1})
	for name, in := range map[string][]byte{"plain": plain, "gzip": compressed} {
		ci, err := parseCertContainer(in)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !bytes.Equal(ci.der, c.Raw) || !bytes.Equal(ci.subject, c.RawSubject) || !bytes.Equal(ci.issuer, c.RawIssuer) ||
			!bytes.Equal(ci.spki, c.RawSubjectPublicKeyInfo) {
			t.Errorf("%s: fields differ from crypto/x509's", name)
		}
		if want, _ := asn1.Marshal(big.NewInt(0x1234)); !bytes.Equal(ci.serial, want) {
			t.Errorf("%s: serial %x, want %x", name, ci.serial, want)
		}
		if !key.PublicKey.Equal(ci.pub) {
			t.Errorf("%s: public key not parsed", name)
		}
	}
	if ci, err := parseCertContainer(nil); ci != nil || err != nil {
		t.Errorf("empty container: %v %v", ci, err)
	}
	bomb := gz(t, make([]byte, maxCertSize+10))
	bad := map[string][]byte{
		"bad tlv":       {0x70, 0x05, 0x01},
		"bad certinfo":  apdu.AppendTLV(apdu.EncodeTLV(0x70, c.Raw), 0x71, []byte{0x04}),
		"bad gzip":      apdu.AppendTLV(apdu.EncodeTLV(0x70, c.Raw), 0x71, []byte{1}),
		"gzip bomb":     apdu.AppendTLV(apdu.EncodeTLV(0x70, bomb), 0x71, []byte{1}),
		"not a cert":    apdu.EncodeTLV(0x70, []byte{0x30, 0x03, 0x02, 0x01, 0x01}),
		"trailing junk": apdu.EncodeTLV(0x70, append(append([]byte(nil), c.Raw...), 0)),
		"truncated":     apdu.EncodeTLV(0x70, c.Raw[:len(c.Raw)-5]),
	}
	for name, in := range bad {
		if _, err := parseCertContainer(in); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestParsePublicKey(t *testing.T) {
	rk, _ := rsa.GenerateKey(rand.Reader, 1024)
	tmpl := apdu.AppendTLV(apdu.EncodeTLV(0x81, rk.N.Bytes()), 0x82, []byte{1, 0, 1})
	pub, err := parsePublicKey(algRSA1024, tmpl)
	if err != nil || !rk.PublicKey.Equal(pub) {
		t.Fatalf("RSA: %v", err)
	}
	if _, err := parsePublicKey(algRSA2048, tmpl); err == nil {
		t.Error("RSA size mismatch accepted")
	}
	if _, err := parsePublicKey(algRSA1024, apdu.AppendTLV(apdu.EncodeTLV(0x81, rk.N.Bytes()), 0x82, []byte{2})); err == nil {
		t.Error("even exponent accepted")
	}
	ek, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	pt, _ := ek.PublicKey.Bytes()
	if pub, err := parsePublicKey(algP256, apdu.EncodeTLV(0x86, pt)); err != nil || !ek.PublicKey.Equal(pub) {
		t.Fatalf("P-256: %v", err)
	}
	pt[10] ^= 1
	if _, err := parsePublicKey(algP256, apdu.EncodeTLV(0x86, pt)); err == nil {
		t.Error("point off the curve accepted")
	}
	if _, err := parsePublicKey(algEd25519, apdu.EncodeTLV(0x86, make([]byte, 31))); err == nil {
		t.Error("short Ed25519 key accepted")
	}
}

func TestParseMetadata(t *testing.T) {
	m, err := parseMetadata([]byte{0x01, 0x01, 0x11, 0x02, 0x02, 0x03, 0x01, 0x03, 0x01, 0x01, 0x06, 0x02, 0x03, 0x02})
	if err != nil || m.alg != algP256 || m.pinPolicy != pinPolicyAlways || m.origin != originGenerated ||
		!m.hasRetries || m.retries != [2]int{3, 2} {
		t.Fatalf("parseMetadata = %+v, %v", m, err)
	}
	for _, in := range [][]byte{{0x01, 0x02, 0x11, 0x11}, {0x06, 0x01, 0x03}, {0x01, 0x05, 0x11}} {
		if _, err := parseMetadata(in); err == nil {
			t.Errorf("%x accepted", in)
		}
	}
}
