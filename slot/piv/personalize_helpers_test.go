package piv

import (
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"math/big"
	"os"
	"path/filepath"
	"testing"

	"github.com/pcsc11/pcsc11/apdu"
	"github.com/pcsc11/pcsc11/ck"
	"github.com/pcsc11/pcsc11/slot"
	"github.com/pcsc11/pcsc11/vpiv"
)

const defaultPUKStr = "12345678"

// newStateCard is a virtual card that writes its whole persistent state (keys,
// objects, credentials, counters) to a file after every change, so a test can compare
// the card before and after an operation byte for byte.
func newStateCard(t *testing.T) (*testCard, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "card.json")
	c, err := vpiv.New(vpiv.Options{Serial: 12345678, StatePath: path})
	if err != nil {
		t.Fatal(err)
	}
	return &testCard{c: c, mem: vpiv.NewMemory(c)}, path
}

func readState(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// raw sends one APDU to the card outside the driver (as another tool would).
func raw(m *testCard, cmd apdu.Command) ([]byte, error) {
	return apdu.Exchange(m, cmd, apdu.Options{Extended: true})
}

// cardMeta reads GET METADATA for ref straight from the card.
func cardMeta(t *testing.T, m *testCard, ref byte) *metadata {
	t.Helper()
	out, err := raw(m, apdu.Command{INS: insGetMetadata, P2: ref, Ne: 256})
	if apdu.IsNotFound(err) {
		return nil
	}
	if err != nil {
		t.Fatalf("GET METADATA %02X: %v", ref, err)
	}
	md, err := parseMetadata(out)
	if err != nil {
		t.Fatal(err)
	}
	return md
}

// cardObject reads a data object straight from the card (nil when absent).
func cardObject(t *testing.T, m *testCard, tag uint32) []byte {
	t.Helper()
	out, err := raw(m, apdu.Command{INS: insGetData, P1: 0x3F, P2: 0xFF,
		Data: apdu.EncodeTLV(0x5C, tagBytes(tag)), Ne: 65536})
	if apdu.IsNotFound(err) {
		return nil
	}
	if err != nil {
		t.Fatalf("GET DATA %X: %v", tag, err)
	}
	v, ok, err := apdu.Find(out, 0x53)
	if err != nil || !ok {
		t.Fatalf("GET DATA %X: no 53", tag)
	}
	return v
}

func wantRV(t *testing.T, what string, err error, rv ck.ULong) {
	t.Helper()
	if slot.RV(err) != rv {
		t.Errorf("%s: got %v (rv %#x), want rv %#x", what, err, slot.RV(err), rv)
	}
}

func soLogin(t *testing.T, tok *Token) {
	t.Helper()
	if err := tok.Login(ck.CKU_SO, []byte(defaultMgm)); err != nil {
		t.Fatalf("SO login: %v", err)
	}
}

// checkSigns runs the card's private key of slot ref once and checks the result with
// the public key the token lists for it.
func checkSigns(t *testing.T, tok *Token, ref byte) {
	t.Helper()
	objs, err := tok.Objects()
	if err != nil {
		t.Fatal(err)
	}
	tok.mu.Lock()
	k := tok.keys[ref]
	tok.mu.Unlock()
	if k == nil || k.pub == nil || findObj(objs, privKey(ref)) == nil {
		t.Fatalf("slot %02X: no key listed", ref)
	}
	msg := []byte("personalized by pcsc11")
	h := sha256.Sum256(msg)
	switch pub := k.pub.(type) {
	case *rsa.PublicKey:
		prefix := []byte{0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20}
		ti := append(prefix, h[:]...)
		block := make([]byte, pub.Size())
		block[1] = 1
		for i := 2; i < len(block)-len(ti)-1; i++ {
			block[i] = 0xFF
		}
		copy(block[len(block)-len(ti):], ti)
		sig, err := tok.PrivateKeyOp(privKey(ref), slot.OpRSARaw, block)
		if err != nil {
			t.Fatalf("slot %02X: sign: %v", ref, err)
		}
		if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, h[:], sig); err != nil {
			t.Errorf("slot %02X: RSA signature does not verify", ref)
		}
	case *ecdsa.PublicKey:
		sig, err := tok.PrivateKeyOp(privKey(ref), slot.OpECDSA, h[:])
		if err != nil {
			t.Fatalf("slot %02X: sign: %v", ref, err)
		}
		n := len(sig) / 2
		if !ecdsa.Verify(pub, h[:], new(big.Int).SetBytes(sig[:n]), new(big.Int).SetBytes(sig[n:])) {
			t.Errorf("slot %02X: ECDSA signature does not verify", ref)
		}
	case ed25519.PublicKey:
		sig, err := tok.PrivateKeyOp(privKey(ref), slot.OpEdDSA, msg)
		if err != nil {
			t.Fatalf("slot %02X: sign: %v", ref, err)
		}
		if !ed25519.Verify(pub, msg, sig) {
			t.Errorf("slot %02X: Ed25519 signature does not verify", ref)
		}
	case *ecdh.PublicKey:
		peer, _ := ecdh.X25519().GenerateKey(rand.Reader)
		shared, err := tok.PrivateKeyOp(privKey(ref), slot.OpECDH, peer.PublicKey().Bytes())
		if err != nil {
			t.Fatalf("slot %02X: derive: %v", ref, err)
		}
		want, _ := peer.ECDH(pub)
		if string(shared) != string(want) {
			t.Errorf("slot %02X: X25519 secret differs", ref)
		}
	default:
		t.Fatalf("slot %02X: unexpected key %T", ref, pub)
	}
}
