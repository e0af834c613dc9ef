package vpiv

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"path/filepath"
	"testing"

	"github.com/pcsc11/pcsc11/apdu"
)

func TestProvisionDemo(t *testing.T) {
	path := filepath.Join(t.TempDir(), "card.json")
	c, err := New(Options{StatePath: path})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Provision("bogus"); err == nil {
		t.Fatal("unknown profile accepted")
	}
	if err := c.Provision("factory"); err != nil {
		t.Fatal(err)
	}
	if err := c.Provision("demo"); err != nil {
		t.Fatal(err)
	}
	selectPIV(t, c)
	certs := map[byte]*x509.Certificate{}
	for _, s := range demoSlots {
		obj, sw := send(t, c, 0xCB, 0x3F, 0xFF, append([]byte{0x5C, 0x03}, byte(s.obj>>16), byte(s.obj>>8), byte(s.obj)))
		mustSW(t, sw, 0x9000, "GET certificate")
		der, ok, err := apdu.FindPath(obj, 0x53, 0x70)
		if err != nil || !ok {
			t.Fatalf("container %06X: %x", s.obj, obj)
		}
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		if cert.Subject.CommonName != "pcsc11 demo "+s.name {
			t.Errorf("CN %q", cert.Subject.CommonName)
		}
		if err := cert.CheckSignature(cert.SignatureAlgorithm, cert.RawTBSCertificate, cert.Signature); err != nil {
			t.Errorf("%s: not self-signed by its key: %v", s.name, err)
		}
		md, sw := send(t, c, 0xF7, 0x00, s.ref, nil)
		mustSW(t, sw, 0x9000, "metadata")
		a, _, _ := apdu.Find(md, 0x01)
		if a[0] != s.alg {
			t.Errorf("slot %02X alg %02X", s.ref, a[0])
		}
		certs[s.ref] = cert
	}
	// RSA-2048 input is 256 bytes: GENERAL AUTHENTICATE arrives chained.
	mustSW(t, verifyPIN(t, c, "123456"), 0x9000, "VERIFY")
	digest := sha256.Sum256([]byte("demo"))
	sig, sw := genAuth(t, c, 0x07, 0x9A, 0x81, pkcs1Block(256, digest[:]))
	mustSW(t, sw, 0x9000, "chained RSA-2048 sign")
	if err := rsa.VerifyPKCS1v15(certs[0x9A].PublicKey.(*rsa.PublicKey), crypto.SHA256, digest[:], sig); err != nil {
		t.Fatalf("demo 9A signature: %v", err)
	}
	for _, tag := range []string{"5FC102", "5FC107"} {
		_, sw := send(t, c, 0xCB, 0x3F, 0xFF, hx("5C03"+tag))
		mustSW(t, sw, 0x9000, "GET "+tag)
	}
	// A second Provision leaves the card alone; the state file has it all.
	if err := c.Provision("demo"); err != nil {
		t.Fatal(err)
	}
	c2, err := New(Options{StatePath: path})
	if err != nil {
		t.Fatal(err)
	}
	selectPIV(t, c2)
	obj, _ := send(t, c2, 0xCB, 0x3F, 0xFF, hx("5C035FC105"))
	der, _, _ := apdu.FindPath(obj, 0x53, 0x70)
	if !bytes.Equal(der, certs[0x9A].Raw) {
		t.Fatal("demo certificate changed or not persisted")
	}
}

func TestProvision3DES(t *testing.T) {
	c := newCard(t)
	if err := c.Provision("factory+3des"); err != nil {
		t.Fatal(err)
	}
	if err := c.Provision("demo+nonsense"); err == nil {
		t.Fatal("unknown profile part accepted")
	}
	selectPIV(t, c)
	if _, sw := send(t, c, 0xF7, 0x00, 0x9A, nil); sw != 0x6A88 {
		t.Fatal("a rejected profile list must change nothing")
	}
	md, _ := send(t, c, 0xF7, 0x00, 0x9B, nil)
	if md[2] != 0x03 {
		t.Fatalf("9B metadata %x", md)
	}
	mustSW(t, mgmtAuth(t, c, 0x03, factoryMgmt), 0x9000, "3DES default key")
	// A changed management key is left alone.
	send(t, c, 0xFF, 0xFF, 0xFF, append([]byte{0x08, 0x9B, 16}, factoryMgmt[:16]...))
	c.Provision("3des")
	md, _ = send(t, c, 0xF7, 0x00, 0x9B, nil)
	if md[2] != 0x08 {
		t.Fatalf("9B metadata %x", md)
	}
}

func TestProvisionRetiredAndKeyHistory(t *testing.T) {
	c, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Provision("demo+retired"); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 20; i++ {
		_, hasCert := c.st.objects[uint32(0x5FC10D+i)]
		hasKey := c.st.keys[byte(0x82+i)] != nil
		if want := i < retiredDemo; hasCert != want || hasKey != want {
			t.Errorf("retired slot %02X: certificate %v, key %v; want %v", 0x82+i, hasCert, hasKey, want)
		}
	}
	if _, ok := c.st.objects[objKeyHistory]; ok {
		t.Error("a Key History Object without the keyhistory profile")
	}
	if err := c.Provision("keyhistory"); err != nil {
		t.Fatal(err)
	}
	if h, want := c.st.objects[objKeyHistory], []byte{0xC1, 0x01, retiredDemo, 0xC2, 0x01, 0x00, 0xFE, 0x00}; !bytes.Equal(h, want) {
		t.Errorf("Key History %x, want %x", h, want)
	}
}
