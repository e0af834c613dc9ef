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
	"github.com/pcsc11/pcsc11/ck"
	"github.com/pcsc11/pcsc11/slot"
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

func TestECDSARaw(t *testing.T) {
	der, _ := asn1.Marshal(struct{ R, S *big.Int }{big.NewInt(1), big.NewInt(0x0203)})
	out, err := ecdsaRaw(der, 32)
	if err != nil || len(out) != 64 || out[31] != 1 || out[62] != 2 || out[63] != 3 {
		t.Fatalf("ecdsaRaw = %x, %v", out, err)
	}
	big33 := new(big.Int).Lsh(big.NewInt(1), 256)
	neg, _ := asn1.Marshal(struct{ R, S *big.Int }{big.NewInt(-1), big.NewInt(1)})
	huge, _ := asn1.Marshal(struct{ R, S *big.Int }{big33, big.NewInt(1)})
	for name, in := range map[string][]byte{"trailing": append(append([]byte(nil), der...), 0),
		"negative": neg, "too big": huge, "empty": nil, "garbage": {0x30, 0x80}} {
		if _, err := ecdsaRaw(in, 32); err == nil {
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

func TestRetryFlags(t *testing.T) {
	cases := []struct {
		left, max int
		want      ck.ULong
	}{
		{3, 3, 0},
		{2, 3, ck.CKF_USER_PIN_COUNT_LOW},
		{1, 3, ck.CKF_USER_PIN_COUNT_LOW | ck.CKF_USER_PIN_FINAL_TRY},
		{0, 3, ck.CKF_USER_PIN_LOCKED},
		{1, 1, ck.CKF_USER_PIN_FINAL_TRY},
	}
	for _, c := range cases {
		if got := retryFlags(c.left, c.max); got != c.want {
			t.Errorf("retryFlags(%d,%d) = %x, want %x", c.left, c.max, got, c.want)
		}
	}
}

func TestSlotTable(t *testing.T) {
	if len(slots) != 25 {
		t.Fatalf("%d slots", len(slots))
	}
	want := map[byte]byte{0x9A: 1, 0x9C: 2, 0x9D: 3, 0x9E: 4, 0x82: 5, 0x95: 0x18, 0xF9: 0x19}
	for ref, id := range want {
		s, ok := slotByRef(ref)
		if !ok || s.id != id {
			t.Errorf("slot %02X: id %02X, want %02X", ref, s.id, id)
		}
	}
	if s, _ := slotByRef(0x95); s.object != 0x5FC120 || s.name != "Retired Key 20" {
		t.Errorf("slot 95: %+v", s)
	}
	for _, k := range []string{"priv/9a", "priv/f9", "priv/82"} {
		if _, ok := parsePrivKey(k); !ok {
			t.Errorf("%s rejected", k)
		}
	}
	for _, k := range []string{"priv/9A", "priv/9b", "pub/9a", "priv/9a0", "priv/", "cert/9a", "priv/zz"} {
		if _, ok := parsePrivKey(k); ok {
			t.Errorf("%s accepted", k)
		}
	}
}

func TestOpPayload(t *testing.T) {
	ek, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	k := &keyInfo{alg: algP384, pub: &ek.PublicKey}
	long := bytes.Repeat([]byte{0xAB}, 64)
	_, p, err := opPayload(k, slot.OpECDSA, long)
	if err != nil || !bytes.Equal(p, long[:48]) {
		t.Errorf("SHA-512 hash not cut to 48 bytes: %x %v", p, err)
	}
	_, p, _ = opPayload(k, slot.OpECDSA, []byte{1, 2})
	if len(p) != 48 || p[46] != 1 || p[47] != 2 || !bytes.Equal(p[:46], make([]byte, 46)) {
		t.Errorf("short hash not left-padded: %x", p)
	}
	if _, _, err := opPayload(k, slot.OpRSARaw, make([]byte, 48)); slot.RV(err) != ck.CKR_KEY_FUNCTION_NOT_PERMITTED {
		t.Errorf("RSA op on EC key: %v", err)
	}
	if _, _, err := opPayload(k, slot.OpECDH, []byte{4, 1, 2}); slot.RV(err) != ck.CKR_MECHANISM_PARAM_INVALID {
		t.Errorf("bad peer point: %v", err)
	}
	rk, _ := rsa.GenerateKey(rand.Reader, 1024)
	r := &keyInfo{alg: algRSA1024, pub: &rk.PublicKey}
	if _, _, err := opPayload(r, slot.OpRSARaw, make([]byte, 127)); slot.RV(err) != ck.CKR_DATA_LEN_RANGE {
		t.Errorf("short RSA block: %v", err)
	}
	if _, _, err := opPayload(r, slot.OpRSARaw, bytes.Repeat([]byte{0xFF}, 128)); slot.RV(err) != ck.CKR_DATA_INVALID {
		t.Errorf("RSA block above modulus: %v", err)
	}
}
