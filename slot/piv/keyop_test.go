package piv

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/asn1"
	"math/big"
	"testing"

	"github.com/pcsc11/pcsc11/ck"
	"github.com/pcsc11/pcsc11/slot"
)

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

func TestSignRSA(t *testing.T) {
	_, d, tok := provisioned(t)
	digest := sha256.Sum256([]byte("hello"))
	// The host builds the PKCS#1 v1.5 block; the card does the raw operation.
	prefix := []byte{0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20}
	tinfo := append(prefix, digest[:]...)
	block := make([]byte, 256)
	block[1] = 1
	for i := 2; i < 256-len(tinfo)-1; i++ {
		block[i] = 0xFF
	}
	copy(block[256-len(tinfo):], tinfo)
	if _, err := tok.PrivateKeyOp("priv/9a", slot.OpRSARaw, block); slot.RV(err) != ck.CKR_USER_NOT_LOGGED_IN {
		t.Fatalf("sign without login: %v", err)
	}
	login(t, tok, ck.CKU_USER)
	sig, err := tok.PrivateKeyOp("priv/9a", slot.OpRSARaw, block)
	if err != nil {
		t.Fatal(err)
	}
	if err := rsa.VerifyPKCS1v15(&d.rsa9a.PublicKey, crypto.SHA256, digest[:], sig); err != nil {
		t.Errorf("RSA signature does not verify: %v", err)
	}
	// Raw decrypt: encrypt in software, decrypt on the card.
	ct, _ := rsa.EncryptPKCS1v15(rand.Reader, &d.rsa9a.PublicKey, []byte("secret"))
	pt, err := tok.PrivateKeyOp("priv/9a", slot.OpRSARaw, ct)
	if err != nil || !bytes.HasSuffix(pt, []byte("\x00secret")) || pt[0] != 0 || pt[1] != 2 {
		t.Errorf("raw RSA decrypt: %x %v", pt, err)
	}
	if _, err := tok.PrivateKeyOp("priv/9a", slot.OpRSARaw, block[1:]); slot.RV(err) != ck.CKR_DATA_LEN_RANGE {
		t.Errorf("short block: %v", err)
	}
	if _, err := tok.PrivateKeyOp("priv/9a", slot.OpECDSA, digest[:]); slot.RV(err) != ck.CKR_KEY_FUNCTION_NOT_PERMITTED {
		t.Errorf("ECDSA with an RSA key: %v", err)
	}
	if _, err := tok.PrivateKeyOp("priv/83", slot.OpRSARaw, block); slot.RV(err) != ck.CKR_KEY_HANDLE_INVALID {
		t.Errorf("empty slot: %v", err)
	}
}

func TestSignECDSA(t *testing.T) {
	_, d, tok := provisioned(t)
	login(t, tok, ck.CKU_USER)
	h := sha512.Sum384([]byte("hello"))
	sig, err := tok.PrivateKeyOp("priv/9d", slot.OpECDSA, h[:])
	if err != nil || len(sig) != 96 {
		t.Fatalf("P-384 sign: %d bytes, %v", len(sig), err)
	}
	r, s := new(big.Int).SetBytes(sig[:48]), new(big.Int).SetBytes(sig[48:])
	if !ecdsa.Verify(&d.ec9d.PublicKey, h[:], r, s) {
		t.Error("P-384 signature does not verify")
	}
	// 9C has PIN policy always: it needs a VERIFY right before each use.
	h2 := sha256.Sum256([]byte("sign me"))
	if _, err := tok.PrivateKeyOp("priv/9c", slot.OpECDSA, h2[:]); slot.RV(err) != ck.CKR_USER_NOT_LOGGED_IN {
		t.Errorf("9C without context login: %v", err)
	}
	login(t, tok, ck.CKU_CONTEXT_SPECIFIC)
	sig, err = tok.PrivateKeyOp("priv/9c", slot.OpECDSA, h2[:])
	if err != nil || len(sig) != 64 {
		t.Fatalf("P-256 sign: %v", err)
	}
	if !ecdsa.Verify(d.pub9c, h2[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
		t.Error("P-256 signature does not verify")
	}
	// SHA-512 hash on P-256: truncated to the leftmost 256 bits, as crypto/ecdsa does.
	h3 := sha512.Sum512([]byte("long"))
	login(t, tok, ck.CKU_CONTEXT_SPECIFIC)
	sig, err = tok.PrivateKeyOp("priv/9c", slot.OpECDSA, h3[:])
	if err != nil || !ecdsa.Verify(d.pub9c, h3[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
		t.Errorf("P-256 over SHA-512: %v", err)
	}
}

func TestEdDSAAndECDH(t *testing.T) {
	_, d, tok := provisioned(t)
	msg := []byte("an Ed25519 message")
	sig, err := tok.PrivateKeyOp("priv/9e", slot.OpEdDSA, msg) // 9E: no PIN
	if err != nil || !ed25519.Verify(d.pub9e, msg, sig) {
		t.Fatalf("Ed25519: %v", err)
	}
	login(t, tok, ck.CKU_USER)
	peer, _ := ecdsa.GenerateKey(d.ec9d.Curve, rand.Reader)
	peerECDH, _ := peer.ECDH()
	pt, _ := peer.PublicKey.Bytes()
	secret, err := tok.PrivateKeyOp("priv/9d", slot.OpECDH, pt)
	if err != nil {
		t.Fatal(err)
	}
	ours, _ := d.ec9d.ECDH()
	want, _ := peerECDH.ECDH(ours.PublicKey())
	if !bytes.Equal(secret, want) {
		t.Error("P-384 ECDH secret differs")
	}
	xpeer, _ := d.x82.Curve().GenerateKey(rand.Reader)
	secret, err = tok.PrivateKeyOp("priv/82", slot.OpECDH, xpeer.PublicKey().Bytes())
	want, _ = xpeer.ECDH(d.x82.PublicKey())
	if err != nil || !bytes.Equal(secret, want) {
		t.Errorf("X25519: %v", err)
	}
	if _, err := tok.PrivateKeyOp("priv/82", slot.OpEdDSA, msg); slot.RV(err) != ck.CKR_KEY_FUNCTION_NOT_PERMITTED {
		t.Errorf("EdDSA with X25519: %v", err)
	}
}
