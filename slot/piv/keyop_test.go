package piv

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
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
