package vpiv

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"testing"
	"time"

	"github.com/pcsc11/pcsc11/apdu"
)

func TestVersionAndSerial(t *testing.T) {
	c := selected(t)
	v, sw := send(t, c, 0xFD, 0, 0, nil)
	mustSW(t, sw, 0x9000, "GET VERSION")
	if !bytes.Equal(v, []byte{5, 7, 1}) {
		t.Fatalf("version %x", v)
	}
	s, sw := send(t, c, 0xF8, 0, 0, nil)
	mustSW(t, sw, 0x9000, "GET SERIAL")
	if !bytes.Equal(s, []byte{0x00, 0xBC, 0x61, 0x4E}) { // 12345678
		t.Fatalf("serial %x", s)
	}
	_, sw = send(t, c, 0xF8, 0, 0, []byte{1})
	mustSW(t, sw, 0x6700, "GET SERIAL with data")
	c2, err := New(Options{Serial: 0x01020304})
	if err != nil {
		t.Fatal(err)
	}
	selectPIV(t, c2)
	s, _ = send(t, c2, 0xF8, 0, 0, nil)
	if !bytes.Equal(s, []byte{1, 2, 3, 4}) {
		t.Fatalf("serial %x", s)
	}
}

func TestSetManagementKey(t *testing.T) {
	c := selected(t)
	newKey := bytes.Repeat([]byte{0x42}, 32)
	_, sw := send(t, c, 0xFF, 0xFF, 0xFF, append([]byte{0x0C, 0x9B, 32}, newKey...))
	mustSW(t, sw, 0x6982, "SET MGMT KEY without auth")
	mustSW(t, mgmtAuth(t, c, 0x0A, factoryMgmt), 0x9000, "auth")
	for _, tc := range []struct {
		name   string
		p1, p2 byte
		data   []byte
		sw     uint16
	}{
		{"P2", 0xFF, 0x00, append([]byte{0x0C, 0x9B, 32}, newKey...), 0x6A86},
		{"P1", 0x00, 0xFF, append([]byte{0x0C, 0x9B, 32}, newKey...), 0x6A86},
		{"length mismatch", 0xFF, 0xFF, append([]byte{0x08, 0x9B, 32}, newKey...), 0x6A80},
		{"declared length wrong", 0xFF, 0xFF, append([]byte{0x0C, 0x9B, 31}, newKey...), 0x6A80},
		{"not 9B", 0xFF, 0xFF, append([]byte{0x0C, 0x9A, 32}, newKey...), 0x6A80},
		{"RSA alg", 0xFF, 0xFF, append([]byte{0x07, 0x9B, 32}, newKey...), 0x6A80},
		{"short", 0xFF, 0xFF, []byte{0x0C, 0x9B}, 0x6A80},
	} {
		_, sw := send(t, c, 0xFF, tc.p1, tc.p2, tc.data)
		if sw != tc.sw {
			t.Errorf("%s: SW %04X want %04X", tc.name, sw, tc.sw)
		}
	}
	md, _ := send(t, c, 0xF7, 0x00, 0x9B, nil)
	if !bytes.Equal(md, hx("01010A 02020101 050101")) {
		t.Fatalf("factory 9B metadata %x", md)
	}
	for _, k := range []struct {
		alg byte
		key []byte
	}{{0x0C, newKey}, {0x08, newKey[:16]}, {0x03, hx("0102030405060708090A0B0C0D0E0F101112131415161718")}, {0x0A, factoryMgmt}} {
		_, sw = send(t, c, 0xFF, 0xFF, 0xFF, append([]byte{k.alg, 0x9B, byte(len(k.key))}, k.key...))
		mustSW(t, sw, 0x9000, "SET MGMT KEY")
		md, _ = send(t, c, 0xF7, 0x00, 0x9B, nil)
		if md[2] != k.alg {
			t.Fatalf("metadata alg %x want %02X", md, k.alg)
		}
		c.Reset()
		selectPIV(t, c)
		mustSW(t, mgmtAuth(t, c, k.alg, k.key), 0x9000, "auth with new key")
	}
	md, _ = send(t, c, 0xF7, 0x00, 0x9B, nil)
	if !bytes.Equal(md, hx("01010A 02020101 050101")) {
		t.Fatalf("back to the factory value, metadata %x", md)
	}
	_, sw = send(t, c, 0xFF, 0xFF, 0xFE, append([]byte{0x08, 0x9B, 16}, newKey[:16]...))
	mustSW(t, sw, 0x9000, "touch-required key")
	md, _ = send(t, c, 0xF7, 0x00, 0x9B, nil)
	if !bytes.Equal(md, hx("010108 02020102 050100")) {
		t.Fatalf("touch key metadata %x", md)
	}
}

func importCmd(t *testing.T, c *Card, alg, slot byte, body []byte) uint16 {
	t.Helper()
	_, sw := send(t, c, 0xFE, alg, slot, body)
	return sw
}

func TestImportKeys(t *testing.T) {
	// The P-256 key below has touch policy "always": the card touches itself.
	c, err := New(Options{AutoTouch: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	selectPIV(t, c)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	scalar, _ := ecKey.Bytes()
	mustSW(t, importCmd(t, c, 0x11, 0x9A, tlv([]byte{0x06}, scalar)), 0x6982, "IMPORT without auth")
	mustSW(t, mgmtAuth(t, c, 0x0A, factoryMgmt), 0x9000, "auth")

	// EC with policies.
	mustSW(t, importCmd(t, c, 0x11, 0x9A, append(tlv([]byte{0x06}, scalar), hx("AA0101AB0102")...)), 0x9000, "import P-256")
	md, _ := send(t, c, 0xF7, 0x00, 0x9A, nil)
	pol, _, _ := apdu.Find(md, 0x02)
	org, _, _ := apdu.Find(md, 0x03)
	if !bytes.Equal(pol, []byte{1, 2}) || !bytes.Equal(org, []byte{2}) {
		t.Fatalf("imported metadata %x", md)
	}
	h := sha256.Sum256([]byte("x"))
	sig, sw := genAuth(t, c, 0x11, 0x9A, 0x81, h[:])
	mustSW(t, sw, 0x9000, "sign with imported key")
	if !ecdsa.VerifyASN1(&ecKey.PublicKey, h[:], sig) {
		t.Fatal("imported EC key signature does not verify")
	}
	_, sw = send(t, c, 0xF9, 0x9A, 0x00, nil)
	mustSW(t, sw, 0x6A80, "ATTEST of an imported key")

	// RSA-1024 from its CRT parameters.
	rk, _ := rsa.GenerateKey(rand.Reader, 1024)
	rk.Precompute()
	half := 64
	pad := func(b []byte) []byte { return append(make([]byte, half-len(b)), b...) }
	var body []byte
	for i, v := range [][]byte{rk.Primes[0].Bytes(), rk.Primes[1].Bytes(), rk.Precomputed.Dp.Bytes(), rk.Precomputed.Dq.Bytes(), rk.Precomputed.Qinv.Bytes()} {
		body = append(body, tlv([]byte{byte(i + 1)}, pad(v))...)
	}
	mustSW(t, importCmd(t, c, 0x06, 0x9D, body), 0x9000, "import RSA-1024")
	mustSW(t, verifyPIN(t, c, "123456"), 0x9000, "VERIFY")
	ct, _ := rsa.EncryptPKCS1v15(rand.Reader, &rk.PublicKey, []byte("k"))
	pt, sw := genAuth(t, c, 0x06, 0x9D, 0x81, ct)
	mustSW(t, sw, 0x9000, "decrypt with imported RSA")
	if !bytes.HasSuffix(pt, []byte("\x00k")) {
		t.Fatalf("decrypted %x", pt)
	}
	mustSW(t, importCmd(t, c, 0x07, 0x9D, body), 0x6A80, "RSA-1024 material for alg RSA-2048")
	bad := append([]byte(nil), body...)
	bad[len(bad)-1] ^= 1 // qInv wrong
	mustSW(t, importCmd(t, c, 0x06, 0x9D, bad), 0x6A80, "inconsistent CRT values")

	// Ed25519 and X25519.
	seed := bytes.Repeat([]byte{7}, 32)
	mustSW(t, importCmd(t, c, 0xE0, 0x9E, tlv([]byte{0x07}, seed)), 0x9000, "import Ed25519")
	sig, sw = genAuth(t, c, 0xE0, 0x9E, 0x81, []byte("m"))
	mustSW(t, sw, 0x9000, "Ed25519 sign")
	if !ed25519.Verify(ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey), []byte("m"), sig) {
		t.Fatal("imported Ed25519 signature does not verify")
	}
	xk, _ := ecdh.X25519().GenerateKey(rand.Reader)
	mustSW(t, importCmd(t, c, 0xE1, 0x83, append(tlv([]byte{0x08}, xk.Bytes()), hx("AA0101")...)), 0x9000, "import X25519")
	peer, _ := ecdh.X25519().GenerateKey(rand.Reader)
	secret, sw := genAuth(t, c, 0xE1, 0x83, 0x85, peer.PublicKey().Bytes())
	mustSW(t, sw, 0x9000, "X25519")
	want, _ := xk.ECDH(peer.PublicKey())
	if !bytes.Equal(secret, want) {
		t.Fatal("imported X25519 secret differs")
	}

	for _, tc := range []struct {
		name      string
		alg, slot byte
		body      []byte
		sw        uint16
	}{
		{"bad slot", 0x11, 0x9B, tlv([]byte{0x06}, scalar), 0x6A86},
		{"bad alg", 0x03, 0x9A, tlv([]byte{0x06}, scalar), 0x6A86},
		{"EC tag for RSA", 0x06, 0x9A, tlv([]byte{0x06}, scalar), 0x6A80},
		{"scalar too long", 0x11, 0x9A, tlv([]byte{0x06}, make([]byte, 33)), 0x6A80},
		{"zero scalar", 0x11, 0x9A, tlv([]byte{0x06}, make([]byte, 32)), 0x6A80},
		{"extra element", 0x11, 0x9A, append(tlv([]byte{0x06}, scalar), tlv([]byte{0x07}, seed)...), 0x6A80},
		{"short seed", 0xE0, 0x9A, tlv([]byte{0x07}, seed[:31]), 0x6A80},
		{"bad policy", 0x11, 0x9A, append(tlv([]byte{0x06}, scalar), hx("AA0109")...), 0x6A80},
		{"garbage", 0x11, 0x9A, hx("06"), 0x6A80},
		{"X25519 in F9", 0xE1, 0xF9, tlv([]byte{0x08}, xk.Bytes()), 0x6A80},
	} {
		if sw := importCmd(t, c, tc.alg, tc.slot, tc.body); sw != tc.sw {
			t.Errorf("%s: SW %04X want %04X", tc.name, sw, tc.sw)
		}
	}
}

func TestMetadata(t *testing.T) {
	c := selected(t)
	md, sw := send(t, c, 0xF7, 0x00, 0x80, nil)
	mustSW(t, sw, 0x9000, "PIN metadata")
	if !bytes.Equal(md, hx("0101FF 050101 06020303")) {
		t.Fatalf("PIN metadata %x", md)
	}
	verifyPIN(t, c, "000000")
	_, sw = send(t, c, 0x24, 0x00, 0x81, append(pinBlock("12345678"), pinBlock("11223344")...))
	mustSW(t, sw, 0x9000, "change PUK")
	md, _ = send(t, c, 0xF7, 0x00, 0x80, nil)
	if !bytes.Equal(md, hx("0101FF 050101 06020302")) {
		t.Fatalf("PIN metadata after a wrong try %x", md)
	}
	md, _ = send(t, c, 0xF7, 0x00, 0x81, nil)
	if !bytes.Equal(md, hx("0101FF 050100 06020303")) {
		t.Fatalf("PUK metadata after change %x", md)
	}
	_, sw = send(t, c, 0xF7, 0x00, 0x9A, nil)
	mustSW(t, sw, 0x6A88, "empty slot")
	_, sw = send(t, c, 0xF7, 0x01, 0x9A, nil)
	mustSW(t, sw, 0x6A86, "P1")
	_, sw = send(t, c, 0xF7, 0x00, 0x42, nil)
	mustSW(t, sw, 0x6A86, "not a reference")
	md, sw = send(t, c, 0xF7, 0x00, 0xF9, nil)
	mustSW(t, sw, 0x9000, "F9 metadata")
	a, _, _ := apdu.Find(md, 0x01)
	if !bytes.Equal(a, []byte{0x11}) {
		t.Fatalf("F9 metadata %x", md)
	}
	// piv-go reads the 9B algorithm as resp[2].
	md, _ = send(t, c, 0xF7, 0x00, 0x9B, nil)
	if md[0] != 0x01 || md[1] != 0x01 || md[2] != 0x0A {
		t.Fatalf("9B metadata %x", md)
	}
}

func TestResetApplet(t *testing.T) {
	c := admin(t)
	generate(t, c, 0x9A, 0x11, 0, 0)
	send(t, c, 0xDB, 0x3F, 0xFF, hx("5C035FC1025303300100"))
	_, sw := send(t, c, 0xFB, 0x00, 0x00, nil)
	mustSW(t, sw, 0x6985, "RESET with PIN and PUK alive")
	for i := 0; i < 3; i++ {
		verifyPIN(t, c, "000000")
	}
	_, sw = send(t, c, 0xFB, 0x00, 0x00, nil)
	mustSW(t, sw, 0x6985, "RESET with PUK alive")
	for i := 0; i < 3; i++ {
		send(t, c, 0x24, 0x00, 0x81, append(pinBlock("00000000"), pinBlock("00000000")...))
	}
	_, sw = send(t, c, 0xFB, 0x01, 0x00, nil)
	mustSW(t, sw, 0x6A86, "RESET P1")
	attBefore, _ := send(t, c, 0xCB, 0x3F, 0xFF, hx("5C035FFF01"))
	_, sw = send(t, c, 0xFB, 0x00, 0x00, nil)
	mustSW(t, sw, 0x9000, "RESET")

	mustSW(t, verifyPIN(t, c, "123456"), 0x9000, "factory PIN")
	_, sw = send(t, c, 0xF7, 0x00, 0x9A, nil)
	mustSW(t, sw, 0x6A88, "key gone")
	_, sw = send(t, c, 0xCB, 0x3F, 0xFF, hx("5C035FC102"))
	mustSW(t, sw, 0x6A82, "object gone")
	attAfter, sw := send(t, c, 0xCB, 0x3F, 0xFF, hx("5C035FFF01"))
	mustSW(t, sw, 0x9000, "attestation certificate kept")
	if !bytes.Equal(attBefore, attAfter) {
		t.Fatal("attestation certificate changed by RESET")
	}
	_, sw = send(t, c, 0xDB, 0x3F, 0xFF, hx("5C035FC1025300"))
	mustSW(t, sw, 0x6982, "management status cleared")
	mustSW(t, mgmtAuth(t, c, 0x0A, factoryMgmt), 0x9000, "factory management key")
}

func TestSetPINRetries(t *testing.T) {
	c := selected(t)
	_, sw := send(t, c, 0xFA, 5, 4, nil)
	mustSW(t, sw, 0x6982, "no auth")
	mustSW(t, mgmtAuth(t, c, 0x0A, factoryMgmt), 0x9000, "auth")
	_, sw = send(t, c, 0xFA, 5, 4, nil)
	mustSW(t, sw, 0x6982, "management key but no PIN")
	_, sw = send(t, c, 0x24, 0x00, 0x80, append(pinBlock("123456"), pinBlock("999999")...))
	mustSW(t, sw, 0x9000, "change PIN")
	mustSW(t, verifyPIN(t, c, "999999"), 0x9000, "VERIFY")
	_, sw = send(t, c, 0xFA, 0, 4, nil)
	mustSW(t, sw, 0x6A86, "zero tries")
	_, sw = send(t, c, 0xFA, 5, 4, nil)
	mustSW(t, sw, 0x9000, "SET PIN RETRIES")
	md, _ := send(t, c, 0xF7, 0x00, 0x80, nil)
	if !bytes.Equal(md, hx("0101FF 050101 06020505")) {
		t.Fatalf("PIN metadata %x", md)
	}
	md, _ = send(t, c, 0xF7, 0x00, 0x81, nil)
	if !bytes.Equal(md, hx("0101FF 050101 06020404")) {
		t.Fatalf("PUK metadata %x", md)
	}
	mustSW(t, verifyPIN(t, c, "999999"), 0x63C4, "PIN back to default")
	mustSW(t, verifyPIN(t, c, "123456"), 0x9000, "default PIN")
	_, sw = send(t, c, 0xFA, 20, 20, nil)
	mustSW(t, sw, 0x9000, "20 tries")
	mustSW(t, verifyPIN(t, c, "999999"), 0x63CF, "63Cx shows at most 15")
}

func TestMoveDeleteKey(t *testing.T) {
	c := selected(t)
	_, sw := send(t, c, 0xF6, 0x9C, 0x9A, nil)
	mustSW(t, sw, 0x6982, "no auth")
	mustSW(t, mgmtAuth(t, c, 0x0A, factoryMgmt), 0x9000, "auth")
	pub := generate(t, c, 0x9A, 0x11, 0x01, 0)
	_, sw = send(t, c, 0xF6, 0x85, 0x9A, nil)
	mustSW(t, sw, 0x9000, "MOVE 9A→85")
	_, sw = send(t, c, 0xF7, 0x00, 0x9A, nil)
	mustSW(t, sw, 0x6A88, "source empty")
	md, _ := send(t, c, 0xF7, 0x00, 0x85, nil)
	p, _, _ := apdu.Find(md, 0x04)
	if !bytes.Equal(p, pub) {
		t.Fatal("moved key differs")
	}
	_, sw = send(t, c, 0xF6, 0x9A, 0x9A, nil)
	mustSW(t, sw, 0x6A86, "move to itself")
	_, sw = send(t, c, 0xF6, 0x9C, 0x9A, nil)
	mustSW(t, sw, 0x6A88, "move from empty")
	_, sw = send(t, c, 0xF6, 0xF9, 0x85, nil)
	mustSW(t, sw, 0x6A86, "move into F9")
	_, sw = send(t, c, 0xF6, 0x9A, 0xF9, nil)
	mustSW(t, sw, 0x6A86, "move the attestation key")
	_, sw = send(t, c, 0xF6, 0xFF, 0x85, nil)
	mustSW(t, sw, 0x9000, "DELETE 85")
	_, sw = send(t, c, 0xF7, 0x00, 0x85, nil)
	mustSW(t, sw, 0x6A88, "deleted")
}
