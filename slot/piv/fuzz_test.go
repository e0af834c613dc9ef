package piv

import (
	"bytes"
	"compress/gzip"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"testing"
	"time"

	"github.com/pcsc11/pcsc11/apdu"
)

// The PIV object parsers take what a card answers, and a card may be broken or hostile
// (a hostile answer is an error, never a panic or an out-of-bounds read): for any input
// they return a value or an error, never panic, and never read past what they were
// given (the fuzzer's race/bounds checks catch that).

func seedCert(f *testing.F) []byte {
	f.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "fuzz"},
		NotBefore: time.Unix(0, 0), NotAfter: time.Unix(1<<31, 0)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		f.Fatal(err)
	}
	return der
}

func FuzzCertContainer(f *testing.F) {
	der := seedCert(f)
	f.Add(apdu.AppendTLV(apdu.AppendTLV(apdu.EncodeTLV(0x70, der), 0x71, []byte{0}), 0xFE, nil))
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	zw.Write(der)
	zw.Close()
	f.Add(apdu.AppendTLV(apdu.EncodeTLV(0x70, z.Bytes()), 0x71, []byte{1}))
	f.Add([]byte{0x70, 0x82, 0xFF, 0xFF, 0x30})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		ci, err := parseCertContainer(b)
		if err == nil && ci != nil && len(ci.der) > maxCertSize {
			t.Fatalf("certificate of %d bytes accepted (bound %d)", len(ci.der), maxCertSize)
		}
	})
}

func FuzzMetadata(f *testing.F) {
	f.Add([]byte{0x01, 0x01, 0x11, 0x02, 0x02, 0x02, 0x01, 0x03, 0x01, 0x01, 0x06, 0x02, 0x03, 0x03})
	f.Add([]byte{0x05, 0x01, 0x01, 0x06, 0x02, 0x03, 0x03})
	f.Add([]byte{0x06, 0x01, 0x03})
	f.Add([]byte{0x04, 0x05, 0x86, 0x03, 0x04, 0x01, 0x02})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := parseMetadata(b)
		if err == nil && m == nil {
			t.Fatal("no metadata and no error")
		}
	})
}

// FuzzGenerateAnswer: the answer to GENERATE ASYMMETRIC KEY PAIR (7F49 template) for
// every algorithm, and the public key of GET METADATA (the same template content).
func FuzzGenerateAnswer(f *testing.F) {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	point := elliptic.Marshal(elliptic.P256(), k.X, k.Y) //nolint:staticcheck // the PIV wire format
	f.Add(byte(algP256), apdu.EncodeTLV(0x7F49, apdu.EncodeTLV(0x86, point)))
	f.Add(byte(algRSA2048), apdu.EncodeTLV(0x7F49, apdu.AppendTLV(apdu.EncodeTLV(0x81, bytes.Repeat([]byte{0xC3}, 256)), 0x82, []byte{1, 0, 1})))
	f.Add(byte(algEd25519), apdu.EncodeTLV(0x7F49, apdu.EncodeTLV(0x86, make([]byte, 32))))
	f.Add(byte(algX25519), apdu.EncodeTLV(0x7F49, apdu.EncodeTLV(0x86, make([]byte, 31))))
	f.Fuzz(func(t *testing.T, alg byte, out []byte) {
		inner, ok, err := apdu.Find(out, 0x7F49)
		if err != nil || !ok {
			return
		}
		if pk, err := parsePublicKey(alg, inner); err == nil && pk == nil {
			t.Fatal("no public key and no error")
		}
	})
}

func FuzzCHUID(f *testing.F) {
	guid := bytes.Repeat([]byte{0xAB}, 16)
	f.Add(apdu.AppendTLV(apdu.AppendTLV(apdu.EncodeTLV(0x30, make([]byte, 25)), 0x34, guid), 0xFE, nil))
	f.Add(apdu.EncodeTLV(0x30, bytes.Repeat([]byte{0x01}, 25)))
	f.Add([]byte{0x34, 0x84, 0xFF, 0xFF, 0xFF, 0xFF})
	f.Fuzz(func(t *testing.T, b []byte) {
		if s := chuidSerial(b); len(s) > 16 {
			t.Fatalf("serial %q longer than CK_TOKEN_INFO's 16 characters", s)
		}
	})
}

// FuzzDynAuth: the 7C answer of GENERAL AUTHENTICATE (signatures, decryption, ECDH,
// management-key challenges).
func FuzzDynAuth(f *testing.F) {
	f.Add(apdu.EncodeTLV(0x7C, apdu.EncodeTLV(0x82, bytes.Repeat([]byte{1}, 64))))
	f.Add(apdu.EncodeTLV(0x7C, apdu.EncodeTLV(0x80, make([]byte, 16))))
	f.Add([]byte{0x7C, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		inner, err := parseDynAuth(b)
		if err == nil && len(inner) > len(b) {
			t.Fatal("inner data longer than the answer")
		}
	})
}

// FuzzDiscovery: the GET DATA answer of the Discovery Object (7E { 4F AID, 5F2F PIN
// usage policy }), read at Open on a card that is not a YubiKey.
func FuzzDiscovery(f *testing.F) {
	aid := []byte{0xA0, 0x00, 0x00, 0x03, 0x08, 0x00, 0x00, 0x10, 0x00, 0x01, 0x00}
	for _, policy := range [][]byte{{0x40, 0x00}, {0x60, 0x10}, {0x60, 0x20}} {
		f.Add(apdu.EncodeTLV(objDiscovery, apdu.AppendTLV(apdu.EncodeTLV(0x4F, aid), 0x5F2F, policy)))
	}
	f.Add([]byte{0x7E, 0x84, 0xFF, 0xFF, 0xFF, 0xFF, 0x5F, 0x2F})
	f.Add([]byte{0x7E, 0x04, 0x5F, 0x2F, 0x02, 0x60})
	f.Fuzz(func(t *testing.T, b []byte) {
		primary := globalPINPrimary(b)
		if primary && !bytes.Contains(b, []byte{0x5F, 0x2F, 0x02}) {
			t.Fatal("Global PIN primary without a two-byte PIN usage policy in the answer")
		}
	})
}

// FuzzKeyHistory: the content of the Key History Object (C1, C2, F3, FE), which
// decides whether pcsc11 may rewrite it.
func FuzzKeyHistory(f *testing.F) {
	f.Add([]byte{0xC1, 0x01, 0x02, 0xC2, 0x01, 0x00, 0xFE, 0x00})
	f.Add([]byte{0xC1, 0x01, 0x00, 0xC2, 0x01, 0x03, 0xF3, 0x04, 'h', 't', 't', 'p', 0xFE, 0x00})
	f.Add([]byte{0xC2, 0x82, 0xFF})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		issuer := issuersHistory(b)
		if issuer && len(b) < 2 {
			t.Fatalf("% X: an issuer's history in %d bytes", b, len(b))
		}
		// The counters that bound which retired slots are read (retiredInUse).
		if c1, c2, ok := parseKeyHistory(b); ok && (c1 < 0 || c1 > 255 || c2 < 0 || c2 > 255 || len(b) < 6) {
			t.Fatalf("% X: counters %d, %d", b, c1, c2)
		}
	})
}

// FuzzAdminData: ADMIN DATA (5FFF00: 80 { 81 flags, 82 salt, 83 timestamp }), which
// says whether the management key is PIN-protected. What is kept survives a rewrite.
func FuzzAdminData(f *testing.F) {
	f.Add(apdu.EncodeTLV(0x80, apdu.EncodeTLV(0x81, []byte{0x02})))
	f.Add(apdu.EncodeTLV(0x80, apdu.AppendTLV(apdu.AppendTLV(apdu.EncodeTLV(0x81, []byte{0x01}), 0x82, make([]byte, 16)), 0x83, []byte{1, 2, 3, 4})))
	f.Add([]byte{0x80, 0x82, 0xFF, 0xFF, 0x81})
	f.Add([]byte{0x80, 0x03, 0x81, 0x02, 0x02})
	f.Fuzz(func(t *testing.T, b []byte) {
		a := parseAdminData(b)
		if a == nil {
			t.Fatal("nil admin data")
		}
		again := parseAdminData(a.encode())
		if again.flags != a.flags || len(again.other) != len(a.other) {
			t.Fatalf("% X: a rewrite changed the admin data (flags %02X -> %02X, %d -> %d others)",
				b, a.flags, again.flags, len(a.other), len(again.other))
		}
	})
}

// FuzzAttestation: the answer to YubiKey ATTEST (one DER certificate, signed by F9),
// and the attestation certificate container 5FFF01 through parseCertContainer.
func FuzzAttestation(f *testing.F) {
	der := seedCert(f)
	f.Add(der)
	f.Add(append(append([]byte(nil), der...), 0x00))
	f.Add(der[:len(der)/2])
	f.Add([]byte{0x30, 0x80, 0x30, 0x00, 0x00, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		out, err := parseAttestation(b)
		if err == nil && !bytes.Equal(out, b) {
			t.Fatalf("accepted %d bytes as a certificate of %d", len(b), len(out))
		}
		if ci, err := parseCertContainer(apdu.EncodeTLV(0x70, b)); err == nil && ci != nil && !bytes.Equal(ci.der, b) {
			t.Fatal("the container's certificate is not the bytes it held")
		}
	})
}
