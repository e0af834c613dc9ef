package vpiv

import (
	"bytes"
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"math/big"
	"testing"

	"github.com/pcsc11/pcsc11/apdu"
)

func TestMgmtMutualAuth(t *testing.T) {
	c := selected(t)
	mustSW(t, mgmtAuth(t, c, 0x0A, bytes.Repeat([]byte{9}, 24)), 0x6982, "wrong key")
	_, sw := send(t, c, 0xDB, 0x3F, 0xFF, hx("5C035FC1025300"))
	mustSW(t, sw, 0x6982, "not authenticated after failure")
	mustSW(t, mgmtAuth(t, c, 0x03, factoryMgmt), 0x6A86, "wrong algorithm (3DES on an AES-192 card)")
	mustSW(t, mgmtAuth(t, c, 0x0A, factoryMgmt), 0x9000, "factory key")
	_, sw = send(t, c, 0xDB, 0x3F, 0xFF, hx("5C035FC1025300"))
	mustSW(t, sw, 0x9000, "authenticated")

	// Step 2 without a witness request, wrong sizes, unknown elements.
	c2 := selected(t)
	_, sw = send(t, c2, 0x87, 0x0A, 0x9B, tlv([]byte{0x7C}, append(tlv([]byte{0x80}, make([]byte, 16)), tlv([]byte{0x81}, make([]byte, 16))...)))
	mustSW(t, sw, 0x6985, "response without witness")
	for _, d := range []string{"", "7C00", "7C028100 00", "7D028000", "7C03800100", "7C0480008000", "7C028300", "7C04800082 00"} {
		_, sw = send(t, c2, 0x87, 0x0A, 0x9B, hx(d))
		if sw != 0x6A80 {
			t.Errorf("GA 9B %s: SW %04X want 6A80", d, sw)
		}
	}
	// A witness of the wrong length.
	send(t, c2, 0x87, 0x0A, 0x9B, hx("7C028000"))
	_, sw = send(t, c2, 0x87, 0x0A, 0x9B, tlv([]byte{0x7C}, append(tlv([]byte{0x80}, make([]byte, 8)), tlv([]byte{0x81}, make([]byte, 16))...)))
	mustSW(t, sw, 0x6A80, "short witness")
}

// OpenSC-style step 2 carries an empty 82 element; it must be accepted.
func TestMgmtAuthWithEmptyResponseElement(t *testing.T) {
	c := selected(t)
	blk := hostCipher(t, 0x0A, factoryMgmt)
	resp, sw := send(t, c, 0x87, 0x0A, 0x9B, hx("7C028000"))
	mustSW(t, sw, 0x9000, "witness")
	w := make([]byte, 16)
	blk.Decrypt(w, resp[4:])
	body := append(tlv([]byte{0x80}, w), tlv([]byte{0x81}, make([]byte, 16))...)
	body = append(body, 0x82, 0x00)
	_, sw = send(t, c, 0x87, 0x0A, 0x9B, tlv([]byte{0x7C}, body))
	mustSW(t, sw, 0x9000, "mutual auth with 82 00")
}

func TestMgmtExternalAuth(t *testing.T) {
	c := selected(t)
	blk := hostCipher(t, 0x0A, factoryMgmt)
	resp, sw := send(t, c, 0x87, 0x0A, 0x9B, hx("7C028100"))
	mustSW(t, sw, 0x9000, "challenge request")
	ch, ok, err := apdu.FindPath(resp, 0x7C, 0x81)
	if err != nil || !ok || len(ch) != 16 {
		t.Fatalf("challenge answer %x", resp)
	}
	bad := make([]byte, 16)
	_, sw = send(t, c, 0x87, 0x0A, 0x9B, tlv([]byte{0x7C}, tlv([]byte{0x82}, bad)))
	mustSW(t, sw, 0x6982, "wrong response")
	_, sw = send(t, c, 0x87, 0x0A, 0x9B, tlv([]byte{0x7C}, tlv([]byte{0x82}, bad)))
	mustSW(t, sw, 0x6985, "challenge used up")

	resp, _ = send(t, c, 0x87, 0x0A, 0x9B, hx("7C028100"))
	ch, _, _ = apdu.FindPath(resp, 0x7C, 0x81)
	out := make([]byte, 16)
	blk.Encrypt(out, ch)
	_, sw = send(t, c, 0x87, 0x0A, 0x9B, tlv([]byte{0x7C}, tlv([]byte{0x82}, out)))
	mustSW(t, sw, 0x9000, "external auth")
	_, sw = send(t, c, 0xDB, 0x3F, 0xFF, hx("5C035FC1025300"))
	mustSW(t, sw, 0x9000, "authenticated")
}

func rsaPub(t *testing.T, pub7f49 []byte) *rsa.PublicKey {
	t.Helper()
	n, ok, err := apdu.Find(pub7f49, 0x81)
	if err != nil || !ok {
		t.Fatalf("modulus: %x", pub7f49)
	}
	e, _, _ := apdu.Find(pub7f49, 0x82)
	return &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
}

func ecPub(t *testing.T, curve elliptic.Curve, pub7f49 []byte) *ecdsa.PublicKey {
	t.Helper()
	p, ok, err := apdu.Find(pub7f49, 0x86)
	if err != nil || !ok {
		t.Fatalf("point: %x", pub7f49)
	}
	var k *ecdsa.PublicKey
	k, err = ecdsa.ParseUncompressedPublicKey(curve, p)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// pkcs1Block pads a SHA-256 digest for a raw RSA signature.
func pkcs1Block(size int, digest []byte) []byte {
	prefix := hx("3031300d060960864801650304020105000420")
	d := append(prefix, digest...)
	b := make([]byte, size)
	b[1] = 1
	for i := 2; i < size-len(d)-1; i++ {
		b[i] = 0xFF
	}
	copy(b[size-len(d):], d)
	return b
}

func TestRSAOperations(t *testing.T) {
	c := admin(t)
	pub := rsaPub(t, generate(t, c, 0x9A, 0x06, 0, 0))
	if pub.N.BitLen() != 1024 || pub.E != 65537 {
		t.Fatalf("RSA-1024 public key %d bits e=%d", pub.N.BitLen(), pub.E)
	}
	digest := sha256.Sum256([]byte("hello"))
	block := pkcs1Block(128, digest[:])
	_, sw := genAuth(t, c, 0x06, 0x9A, 0x81, block)
	mustSW(t, sw, 0x6982, "9A without PIN")
	mustSW(t, verifyPIN(t, c, "123456"), 0x9000, "VERIFY")
	sig, sw := genAuth(t, c, 0x06, 0x9A, 0x81, block)
	mustSW(t, sw, 0x9000, "sign")
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig); err != nil {
		t.Fatalf("signature does not verify: %v", err)
	}
	// Decrypt: the card returns the padded block.
	ct, err := rsa.EncryptPKCS1v15(rand.Reader, pub, []byte("secret"))
	if err != nil {
		t.Fatal(err)
	}
	pt, sw := genAuth(t, c, 0x06, 0x9A, 0x81, ct)
	mustSW(t, sw, 0x9000, "decrypt")
	if len(pt) != 128 || pt[0] != 0 || pt[1] != 2 || !bytes.HasSuffix(pt, []byte("\x00secret")) {
		t.Fatalf("decrypted block %x", pt)
	}
	_, sw = genAuth(t, c, 0x06, 0x9A, 0x81, block[1:])
	mustSW(t, sw, 0x6A80, "short input")
	_, sw = genAuth(t, c, 0x06, 0x9A, 0x81, bytes.Repeat([]byte{0xFF}, 128))
	mustSW(t, sw, 0x6A80, "input >= modulus")
	_, sw = genAuth(t, c, 0x07, 0x9A, 0x81, block)
	mustSW(t, sw, 0x6A80, "algorithm mismatch")
	_, sw = genAuth(t, c, 0x06, 0x9A, 0x85, block)
	mustSW(t, sw, 0x6A80, "RSA with 85")
	_, sw = genAuth(t, c, 0x06, 0x9D, 0x81, block)
	mustSW(t, sw, 0x6A88, "empty slot")
	_, sw = genAuth(t, c, 0x06, 0x01, 0x81, block)
	mustSW(t, sw, 0x6A86, "not a key reference")
	// Missing 82 00.
	_, sw = send(t, c, 0x87, 0x06, 0x9A, tlv([]byte{0x7C}, tlv([]byte{0x81}, block)))
	mustSW(t, sw, 0x6A80, "no response request")
}

func TestECDSAAndECDH(t *testing.T) {
	c := admin(t)
	for _, tc := range []struct {
		alg   byte
		curve elliptic.Curve
		ecdh  ecdh.Curve
		size  int
	}{{0x11, elliptic.P256(), ecdh.P256(), 32}, {0x14, elliptic.P384(), ecdh.P384(), 48}} {
		pub := ecPub(t, tc.curve, generate(t, c, 0x9E, tc.alg, 0, 0)) // 9E: PIN never
		digest := sha256.Sum256([]byte("msg"))
		in := digest[:]
		if tc.size == 48 {
			in = append(make([]byte, 16), in...)
		}
		sig, sw := genAuth(t, c, tc.alg, 0x9E, 0x81, in)
		mustSW(t, sw, 0x9000, "ECDSA")
		if !ecdsa.VerifyASN1(pub, digest[:], sig) {
			t.Fatalf("alg %02X: signature does not verify", tc.alg)
		}
		// A shorter hash is accepted (piv-go truncates, never pads).
		short := digest[:20]
		sig, sw = genAuth(t, c, tc.alg, 0x9E, 0x81, short)
		mustSW(t, sw, 0x9000, "short hash")
		if !ecdsa.VerifyASN1(pub, short, sig) {
			t.Fatal("short-hash signature does not verify")
		}
		_, sw = genAuth(t, c, tc.alg, 0x9E, 0x81, make([]byte, tc.size+1))
		mustSW(t, sw, 0x6A80, "hash longer than the curve")

		peer, _ := tc.ecdh.GenerateKey(rand.Reader)
		secret, sw := genAuth(t, c, tc.alg, 0x9E, 0x85, peer.PublicKey().Bytes())
		mustSW(t, sw, 0x9000, "ECDH")
		own, _ := pub.ECDH()
		want, _ := peer.ECDH(own)
		if !bytes.Equal(secret, want) {
			t.Fatal("ECDH secret differs")
		}
		_, sw = genAuth(t, c, tc.alg, 0x9E, 0x85, peer.PublicKey().Bytes()[1:])
		mustSW(t, sw, 0x6A80, "bad point")
	}
}

func TestEd25519AndX25519(t *testing.T) {
	c := admin(t)
	p := generate(t, c, 0x9E, 0xE0, 0, 0)
	pubBytes, _, _ := apdu.Find(p, 0x86)
	if len(pubBytes) != 32 {
		t.Fatalf("Ed25519 public %x", p)
	}
	msg := []byte("a message, not a hash")
	sig, sw := genAuth(t, c, 0xE0, 0x9E, 0x81, msg)
	mustSW(t, sw, 0x9000, "Ed25519 sign")
	if !ed25519.Verify(ed25519.PublicKey(pubBytes), msg, sig) {
		t.Fatal("Ed25519 signature does not verify")
	}
	_, sw = genAuth(t, c, 0xE0, 0x9E, 0x85, pubBytes)
	mustSW(t, sw, 0x6A80, "Ed25519 cannot agree")

	p = generate(t, c, 0x9D, 0xE1, 0x01, 0)
	xpub, _, _ := apdu.Find(p, 0x86)
	peer, _ := ecdh.X25519().GenerateKey(rand.Reader)
	secret, sw := genAuth(t, c, 0xE1, 0x9D, 0x85, peer.PublicKey().Bytes())
	mustSW(t, sw, 0x9000, "X25519")
	own, err := ecdh.X25519().NewPublicKey(xpub)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := peer.ECDH(own)
	if !bytes.Equal(secret, want) {
		t.Fatal("X25519 secret differs")
	}
	_, sw = genAuth(t, c, 0xE1, 0x9D, 0x81, make([]byte, 32))
	mustSW(t, sw, 0x6A80, "X25519 cannot sign")
	_, sw = genAuth(t, c, 0xE1, 0x9D, 0x85, make([]byte, 32))
	mustSW(t, sw, 0x6A80, "low-order point")
}

func TestPINPolicies(t *testing.T) {
	c := admin(t)
	generate(t, c, 0x9C, 0x11, 0, 0)    // default for 9C: always
	generate(t, c, 0x9A, 0x11, 0, 0)    // default: once
	generate(t, c, 0x82, 0x11, 0x01, 0) // never, explicitly
	h := make([]byte, 32)

	_, sw := genAuth(t, c, 0x11, 0x82, 0x81, h)
	mustSW(t, sw, 0x9000, "never")
	_, sw = genAuth(t, c, 0x11, 0x9A, 0x81, h)
	mustSW(t, sw, 0x6982, "once, no PIN")
	_, sw = genAuth(t, c, 0x11, 0x9C, 0x81, h)
	mustSW(t, sw, 0x6982, "always, no PIN")

	mustSW(t, verifyPIN(t, c, "123456"), 0x9000, "VERIFY")
	_, sw = genAuth(t, c, 0x11, 0x9C, 0x81, h)
	mustSW(t, sw, 0x9000, "always, right after VERIFY")
	_, sw = genAuth(t, c, 0x11, 0x9C, 0x81, h)
	mustSW(t, sw, 0x6982, "always, second use")
	_, sw = genAuth(t, c, 0x11, 0x9A, 0x81, h)
	mustSW(t, sw, 0x9000, "once, still verified")
	_, sw = genAuth(t, c, 0x11, 0x9A, 0x81, h)
	mustSW(t, sw, 0x9000, "once, again")

	mustSW(t, verifyPIN(t, c, "123456"), 0x9000, "VERIFY")
	send(t, c, 0xFD, 0, 0, nil) // any command in between
	_, sw = genAuth(t, c, 0x11, 0x9C, 0x81, h)
	mustSW(t, sw, 0x6982, "always: VERIFY must immediately precede")
	mustSW(t, verifyPIN(t, c, "123456"), 0x9000, "VERIFY")
	_, sw = genAuth(t, c, 0x11, 0x9C, 0x81, h)
	mustSW(t, sw, 0x9000, "always again")
}
