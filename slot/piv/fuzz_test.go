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
