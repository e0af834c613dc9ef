package piv

import (
	"bytes"
	"compress/gzip"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"io"
	"math/big"
	"testing"
	"time"

	"github.com/pcsc11/pcsc11/apdu"
	"github.com/pcsc11/pcsc11/ck"
	"github.com/pcsc11/pcsc11/slot"
)

// selfSigned makes a certificate for pub; pad adds an extension of pad random bytes
// (random, so it does not compress) to make it big.
func selfSigned(t *testing.T, pub any, pad int) []byte { return selfSignedPad(t, pub, pad, false) }

func selfSignedPad(t *testing.T, pub any, pad int, random bool) []byte {
	t.Helper()
	ca, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(42),
		Subject:      pkix.Name{CommonName: "imported"},
		NotBefore:    time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
	}
	if pad > 0 {
		// Text compresses; the certificate must still exceed the container uncompressed.
		v := bytes.Repeat([]byte("pcsc11 "), pad/7)
		if random {
			v = make([]byte, pad)
			rand.Read(v)
			v, _ = asn1.Marshal(v)
		}
		tmpl.ExtraExtensions = []pkix.Extension{{Id: asn1.ObjectIdentifier{1, 2, 3, 4}, Value: v}}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, ca)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func certTmpl(id byte, der []byte) slot.Attributes {
	return slot.Attributes{ck.CKA_CLASS: ck.CKO_CERTIFICATE, ck.CKA_CERTIFICATE_TYPE: ck.CKC_X_509,
		ck.CKA_TOKEN: true, ck.CKA_ID: []byte{id}, ck.CKA_VALUE: der, ck.CKA_LABEL: "ignored"}
}

func TestCreateCertificate(t *testing.T) {
	m := newCard(t)
	tok := openToken(t, m)
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	small := selfSigned(t, &k.PublicKey, 0)
	_, err := tok.CreateObject(certTmpl(0x01, small))
	wantRV(t, "write without login", err, ck.CKR_USER_NOT_LOGGED_IN)
	soLogin(t, tok)

	// An empty slot on 5.7: listed because this token wrote it.
	key, err := tok.CreateObject(certTmpl(0x05, small))
	if err != nil || key != "cert/82" {
		t.Fatalf("CreateObject: %q %v", key, err)
	}
	want := apdu.AppendTLV(apdu.AppendTLV(apdu.EncodeTLV(0x70, small), 0x71, []byte{0}), 0xFE, nil)
	if got := cardObject(t, m, 0x5FC10D); !bytes.Equal(got, want) {
		t.Errorf("container %x", got)
	}
	objs, _ := tok.Objects()
	if a := findObj(objs, "cert/82"); a == nil || !bytes.Equal(a[ck.CKA_VALUE].([]byte), small) {
		t.Error("written certificate not listed")
	}

	// Too big for the container: stored compressed (CertInfo 01), read back whole.
	big := selfSigned(t, &k.PublicKey, 4000)
	if len(big) <= maxObjectSize {
		t.Fatalf("test certificate of %d bytes is not big", len(big))
	}
	if _, err := tok.CreateObject(certTmpl(0x03, big)); err != nil {
		t.Fatal(err)
	}
	c := cardObject(t, m, 0x5FC10B)
	info, _, _ := apdu.Find(c, 0x71)
	z, _, _ := apdu.Find(c, 0x70)
	zr, err := gzip.NewReader(bytes.NewReader(z))
	if err != nil || !bytes.Equal(info, []byte{1}) {
		t.Fatalf("not compressed: info %x, %v", info, err)
	}
	if plain, _ := io.ReadAll(zr); !bytes.Equal(plain, big) {
		t.Error("compressed certificate differs")
	}
	objs, _ = tok.Objects()
	if a := findObj(objs, "cert/9d"); a == nil || !bytes.Equal(a[ck.CKA_VALUE].([]byte), big) {
		t.Error("compressed certificate not listed")
	}

	// Errors, none reaching the card.
	before := m.apdus
	for _, c := range []struct {
		name string
		tmpl slot.Attributes
		rv   ck.ULong
	}{
		{"no class", slot.Attributes{ck.CKA_VALUE: small}, ck.CKR_TEMPLATE_INCOMPLETE},
		{"public key", slot.Attributes{ck.CKA_CLASS: ck.CKO_PUBLIC_KEY}, ck.CKR_ATTRIBUTE_VALUE_INVALID},
		{"no value", slot.Attributes{ck.CKA_CLASS: ck.CKO_CERTIFICATE, ck.CKA_ID: []byte{1}}, ck.CKR_TEMPLATE_INCOMPLETE},
		{"not a certificate", certTmpl(1, []byte{0x30, 0x03, 0x02, 0x01, 0x01}), ck.CKR_ATTRIBUTE_VALUE_INVALID},
		{"no id", slot.Attributes{ck.CKA_CLASS: ck.CKO_CERTIFICATE, ck.CKA_VALUE: small}, ck.CKR_TEMPLATE_INCOMPLETE},
		{"id 1A", certTmpl(0x1A, small), ck.CKR_ATTRIBUTE_VALUE_INVALID},
		{"attribute certificate", func() slot.Attributes {
			a := certTmpl(1, small)
			a[ck.CKA_CERTIFICATE_TYPE] = ck.ULong(2)
			return a
		}(), ck.CKR_ATTRIBUTE_VALUE_INVALID},
		{"subject differs", func() slot.Attributes {
			a := certTmpl(1, small)
			a[ck.CKA_SUBJECT] = []byte{0x30, 0x00}
			return a
		}(), ck.CKR_TEMPLATE_INCONSISTENT},
		{"session object", func() slot.Attributes {
			a := certTmpl(1, small)
			a[ck.CKA_TOKEN] = false
			return a
		}(), ck.CKR_ATTRIBUTE_VALUE_INVALID},
		{"huge", certTmpl(1, selfSignedPad(t, &k.PublicKey, 4000, true)), ck.CKR_DEVICE_MEMORY},
	} {
		_, err := tok.CreateObject(c.tmpl)
		wantRV(t, c.name, err, c.rv)
	}
	if m.apdus != before {
		t.Error("a refused template reached the card")
	}
}

func TestImportPrivateKeys(t *testing.T) {
	m := newCard(t)
	tok := openToken(t, m)
	soLogin(t, tok)
	r, _ := rsa.GenerateKey(rand.Reader, 2048)
	e256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	e384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	x, _ := ecdh.X25519().GenerateKey(rand.Reader)
	rsaT := slot.Attributes{ck.CKA_CLASS: ck.CKO_PRIVATE_KEY, ck.CKA_KEY_TYPE: ck.CKK_RSA, ck.CKA_ID: []byte{0x01},
		ck.CKA_TOKEN: true, ck.CKA_MODULUS: r.N.Bytes(), ck.CKA_PUBLIC_EXPONENT: []byte{1, 0, 1},
		ck.CKA_PRIVATE_EXPONENT: r.D.Bytes(), ck.CKA_PRIME_1: r.Primes[0].Bytes(), ck.CKA_PRIME_2: r.Primes[1].Bytes(),
		ck.CKA_EXPONENT_1: r.Precomputed.Dp.Bytes(), ck.CKA_EXPONENT_2: r.Precomputed.Dq.Bytes(),
		ck.CKA_COEFFICIENT: r.Precomputed.Qinv.Bytes(), ck.CKA_SIGN: true, ck.CKA_DECRYPT: true}
	ecT := func(id byte, kt ck.ULong, alg byte, v []byte) slot.Attributes {
		return slot.Attributes{ck.CKA_CLASS: ck.CKO_PRIVATE_KEY, ck.CKA_KEY_TYPE: kt, ck.CKA_ID: []byte{id},
			ck.CKA_EC_PARAMS: ecParams(alg), ck.CKA_VALUE: v}
	}
	cases := []struct {
		tmpl slot.Attributes
		ref  byte
		alg  byte
	}{
		{rsaT, 0x9A, algRSA2048},
		{ecT(0x03, ck.CKK_EC, algP256, e256.D.Bytes()), 0x9D, algP256},
		{ecT(0x05, ck.CKK_EC, algP384, e384.D.Bytes()), 0x82, algP384},
		{ecT(0x06, ck.CKK_EC_EDWARDS, algEd25519, ed.Seed()), 0x83, algEd25519},
		{ecT(0x07, ck.CKK_EC_MONTGOMERY, algX25519, x.Bytes()), 0x84, algX25519},
	}
	for _, c := range cases {
		key, err := tok.CreateObject(c.tmpl)
		if err != nil || key != privKey(c.ref) {
			t.Fatalf("import into %02X: %q %v", c.ref, key, err)
		}
		md := cardMeta(t, m, c.ref)
		if md == nil || md.alg != c.alg || md.origin != originImported {
			t.Errorf("slot %02X metadata %+v", c.ref, md)
		}
	}
	tok.Logout()
	login(t, tok, ck.CKU_USER)
	for _, c := range cases {
		checkSigns(t, tok, c.ref)
	}
	// The imported keys are the ones we had: compare public halves.
	tok.mu.Lock()
	for ref, pub := range map[byte]any{0x9A: &r.PublicKey, 0x9D: &e256.PublicKey, 0x82: &e384.PublicKey,
		0x83: ed.Public(), 0x84: x.PublicKey()} {
		if !samePublic(tok.keys[ref].pub, pub) {
			t.Errorf("slot %02X holds another key", ref)
		}
	}
	tok.mu.Unlock()
	objs, _ := tok.Objects()
	if a := findObj(objs, "priv/9a"); a[ck.CKA_LOCAL] != false || a[ck.CKA_ALWAYS_SENSITIVE] != false {
		t.Error("an imported key must not claim to be local or always sensitive")
	}
	if _, err := tok.Attest("priv/9a"); slot.RV(err) != ck.CKR_KEY_HANDLE_INVALID {
		t.Errorf("attest an imported key: %v", err)
	}
}

func TestImportErrors(t *testing.T) {
	m := newCard(t)
	tok := openToken(t, m)
	soLogin(t, tok)
	r, _ := rsa.GenerateKey(rand.Reader, 1024)
	base := func(mod func(slot.Attributes)) slot.Attributes {
		a := slot.Attributes{ck.CKA_CLASS: ck.CKO_PRIVATE_KEY, ck.CKA_KEY_TYPE: ck.CKK_RSA, ck.CKA_ID: []byte{0x01},
			ck.CKA_PRIME_1: r.Primes[0].Bytes(), ck.CKA_PRIME_2: r.Primes[1].Bytes(),
			ck.CKA_EXPONENT_1: r.Precomputed.Dp.Bytes(), ck.CKA_EXPONENT_2: r.Precomputed.Dq.Bytes(),
			ck.CKA_COEFFICIENT: r.Precomputed.Qinv.Bytes()}
		mod(a)
		return a
	}
	bad := new(big.Int).Add(r.Precomputed.Qinv, big.NewInt(1)).Bytes()
	cases := []struct {
		name string
		tmpl slot.Attributes
		rv   ck.ULong
	}{
		{"no key type", base(func(a slot.Attributes) { delete(a, ck.CKA_KEY_TYPE) }), ck.CKR_TEMPLATE_INCOMPLETE},
		{"no prime", base(func(a slot.Attributes) { delete(a, ck.CKA_PRIME_2) }), ck.CKR_TEMPLATE_INCOMPLETE},
		{"wrong coefficient", base(func(a slot.Attributes) { a[ck.CKA_COEFFICIENT] = bad }), ck.CKR_TEMPLATE_INCONSISTENT},
		{"wrong modulus", base(func(a slot.Attributes) { a[ck.CKA_MODULUS] = []byte{1, 2, 3} }), ck.CKR_TEMPLATE_INCONSISTENT},
		{"wrong private exponent", base(func(a slot.Attributes) { a[ck.CKA_PRIVATE_EXPONENT] = []byte{5} }), ck.CKR_TEMPLATE_INCONSISTENT},
		{"exponent 3", base(func(a slot.Attributes) { a[ck.CKA_PUBLIC_EXPONENT] = []byte{3} }), ck.CKR_ATTRIBUTE_VALUE_INVALID},
		{"not prime", base(func(a slot.Attributes) { a[ck.CKA_PRIME_1] = []byte{4} }), ck.CKR_ATTRIBUTE_VALUE_INVALID},
		{"EC value too long", slot.Attributes{ck.CKA_CLASS: ck.CKO_PRIVATE_KEY, ck.CKA_KEY_TYPE: ck.CKK_EC, ck.CKA_ID: []byte{1},
			ck.CKA_EC_PARAMS: ecParams(algP256), ck.CKA_VALUE: make([]byte, 33)}, ck.CKR_ATTRIBUTE_VALUE_INVALID},
		{"EC zero scalar", slot.Attributes{ck.CKA_CLASS: ck.CKO_PRIVATE_KEY, ck.CKA_KEY_TYPE: ck.CKK_EC, ck.CKA_ID: []byte{1},
			ck.CKA_EC_PARAMS: ecParams(algP256), ck.CKA_VALUE: make([]byte, 32)}, ck.CKR_ATTRIBUTE_VALUE_INVALID},
		{"Ed25519 key type with P-256", slot.Attributes{ck.CKA_CLASS: ck.CKO_PRIVATE_KEY, ck.CKA_KEY_TYPE: ck.CKK_EC_EDWARDS, ck.CKA_ID: []byte{1},
			ck.CKA_EC_PARAMS: ecParams(algP256), ck.CKA_VALUE: make([]byte, 32)}, ck.CKR_TEMPLATE_INCONSISTENT},
		{"Ed25519 short seed", slot.Attributes{ck.CKA_CLASS: ck.CKO_PRIVATE_KEY, ck.CKA_KEY_TYPE: ck.CKK_EC_EDWARDS, ck.CKA_ID: []byte{1},
			ck.CKA_EC_PARAMS: ecParams(algEd25519), ck.CKA_VALUE: make([]byte, 31)}, ck.CKR_ATTRIBUTE_VALUE_INVALID},
		{"attestation slot", base(func(a slot.Attributes) { a[ck.CKA_ID] = []byte{0x19} }), ck.CKR_ATTRIBUTE_VALUE_INVALID},
		{"extractable", base(func(a slot.Attributes) { a[ck.CKA_EXTRACTABLE] = true }), ck.CKR_ATTRIBUTE_VALUE_INVALID},
	}
	before := m.apdus
	for _, c := range cases {
		_, err := tok.CreateObject(c.tmpl)
		wantRV(t, c.name, err, c.rv)
	}
	if m.apdus != before {
		t.Error("a refused key reached the card")
	}
}

// TestImportKeepsMatchingCertificate: importing a key keeps a certificate that names
// it (yubico-piv-tool order: certificate first) and drops one that names another key.
func TestImportKeepsMatchingCertificate(t *testing.T) {
	m := newCard(t)
	tok := openToken(t, m)
	soLogin(t, tok)
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	imp := func(id byte, key *ecdsa.PrivateKey) {
		t.Helper()
		if _, err := tok.CreateObject(slot.Attributes{ck.CKA_CLASS: ck.CKO_PRIVATE_KEY, ck.CKA_KEY_TYPE: ck.CKK_EC,
			ck.CKA_ID: []byte{id}, ck.CKA_EC_PARAMS: ecParams(algP256), ck.CKA_VALUE: key.D.Bytes()}); err != nil {
			t.Fatal(err)
		}
	}
	tok.CreateObject(certTmpl(0x01, selfSigned(t, &k.PublicKey, 0)))
	tok.CreateObject(certTmpl(0x03, selfSigned(t, &k.PublicKey, 0)))
	imp(0x01, k)
	imp(0x03, other)
	if cardObject(t, m, 0x5FC105) == nil {
		t.Error("the matching certificate was deleted")
	}
	if cardObject(t, m, 0x5FC10B) != nil {
		t.Error("the certificate of another key was kept")
	}
}
