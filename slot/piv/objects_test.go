package piv

import (
	"bytes"
	"crypto/x509"
	"encoding/asn1"
	"testing"

	"github.com/pcsc11/pcsc11/ck"
)

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
