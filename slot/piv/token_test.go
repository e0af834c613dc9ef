package piv

import (
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"math/big"
	"testing"

	"github.com/pcsc11/pcsc11/ck"
	"github.com/pcsc11/pcsc11/slot"
	"github.com/pcsc11/pcsc11/vpiv"
)

func findObj(objs []slot.Object, key string) slot.Attributes {
	for _, o := range objs {
		if o.Key == key {
			return o.Attrs
		}
	}
	return nil
}

func TestOpenNotPIV(t *testing.T) {
	m := newCard(t)
	m.transmitFn = func([]byte) ([]byte, error) { return []byte{0x6A, 0x82}, nil }
	_, err := Open(m, "r", Options{})
	if slot.RV(err) != ck.CKR_TOKEN_NOT_RECOGNIZED {
		t.Fatalf("Open on a non-PIV card: %v", err)
	}
	if m.apdus != 2 {
		t.Errorf("%d APDUs, want SELECT full + truncated", m.apdus)
	}
}

// TestDemoProfile runs against the virtual card's own demo provisioning.
func TestDemoProfile(t *testing.T) {
	tok, m := profileToken(t, vpiv.Options{})
	info, err := tok.Info()
	if err != nil {
		t.Fatal(err)
	}
	objs, err := tok.Objects()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("demo card: Open+Info+Objects = %d APDUs, %d objects, label %q serial %q", m.apdus, len(objs), info.Label, info.Serial)
	for _, ref := range []string{"9a", "9c", "9d", "9e"} {
		for _, kind := range []string{"cert/", "pub/", "priv/"} {
			if findObj(objs, kind+ref) == nil {
				t.Errorf("demo card lacks %s%s", kind, ref)
			}
		}
	}
	cert := findObj(objs, "cert/9c")
	parsed, err := x509.ParseCertificate(cert[ck.CKA_VALUE].([]byte))
	if err != nil || parsed.Subject.CommonName != "pcsc11 demo Digital Signature" {
		t.Fatalf("demo 9C certificate: %v", err)
	}
	login(t, tok, ck.CKU_USER)
	login(t, tok, ck.CKU_CONTEXT_SPECIFIC)
	h := sha256.Sum256([]byte("demo"))
	sig, err := tok.PrivateKeyOp("priv/9c", slot.OpECDSA, h[:])
	if err != nil {
		t.Fatal(err)
	}
	pub := parsed.PublicKey.(*ecdsa.PublicKey)
	if !ecdsa.Verify(pub, h[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
		t.Error("demo 9C signature does not verify against its certificate")
	}
	// Closing the connection: the next call sees a removed card.
	tok.Close()
	if _, err := tok.Info(); slot.RV(err) != ck.CKR_DEVICE_REMOVED {
		t.Errorf("Info after Close: %v", err)
	}
}
