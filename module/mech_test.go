package module

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"encoding/hex"
	"math/big"
	"testing"
)

func TestDigestInfoKnownPrefix(t *testing.T) {
	// RFC 8017 9.2 note 1 lists the DER prefix for SHA-256.
	want, _ := hex.DecodeString("3031300d060960864801650304020105000420")
	got := digestInfo(crypto.SHA256, make([]byte, 32))
	if !bytes.Equal(got[:len(want)], want) || len(got) != len(want)+32 {
		t.Fatalf("SHA-256 DigestInfo %x", got)
	}
	want, _ = hex.DecodeString("3021300906052b0e03021a05000414")
	if got := digestInfo(crypto.SHA1, make([]byte, 20)); !bytes.Equal(got[:len(want)], want) {
		t.Fatalf("SHA-1 DigestInfo %x", got)
	}
}

func TestPKCS1Type1(t *testing.T) {
	em, ok := pkcs1Type1([]byte{9, 9}, 16)
	if !ok || !bytes.Equal(em, []byte{0, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 9, 9}) {
		t.Fatalf("%x", em)
	}
	if _, ok := pkcs1Type1(make([]byte, 6), 16); ok {
		t.Fatal("accepted data leaving fewer than 8 padding bytes")
	}
}

func TestECDSAInputTruncation(t *testing.T) {
	h := bytes.Repeat([]byte{0xff}, 66)
	in := ecdsaInput(h, 521)
	if len(in) != 66 || in[0] != 0x01 || in[1] != 0xff {
		t.Fatalf("P-521 truncation %x", in[:2])
	}
	if in := ecdsaInput([]byte{1, 2}, 256); len(in) != 32 || in[31] != 2 || in[30] != 1 {
		t.Fatalf("padding %x", in)
	}
}

// pssSignRaw signs with pssEncode and the bare RSA private operation, as the card does.
func pssSignRaw(t *testing.T, key *rsa.PrivateKey, h, mgf crypto.Hash, mHash []byte, sLen int) []byte {
	t.Helper()
	k := key.Size()
	salt := make([]byte, sLen)
	rand.Read(salt)
	em, ok := pssEncode(mHash, h, mgf, salt, key.N.BitLen(), k)
	if !ok {
		t.Fatalf("pssEncode refused hash %v salt %d", h, sLen)
	}
	return new(big.Int).Exp(new(big.Int).SetBytes(em), key.D, key.N).FillBytes(make([]byte, k))
}

func TestPSSVerifyOtherMGF(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	d := crypto.SHA256.New()
	d.Write([]byte("message"))
	mHash := d.Sum(nil)
	for _, mgf := range []crypto.Hash{crypto.SHA1, crypto.SHA256, crypto.SHA512} {
		for _, sLen := range []int{0, 32, 128 - 32 - 2} {
			sig := pssSignRaw(t, key, crypto.SHA256, mgf, mHash, sLen)
			if !pssVerify(&key.PublicKey, crypto.SHA256, mgf, mHash, sig, sLen) {
				t.Errorf("mgf %v salt %d: valid signature refused", mgf, sLen)
			}
			if mgf == crypto.SHA256 && rsa.VerifyPSS(&key.PublicKey, crypto.SHA256, mHash, sig,
				&rsa.PSSOptions{SaltLength: sLen, Hash: crypto.SHA256}) != nil {
				t.Errorf("salt %d: crypto/rsa disagrees with pssEncode", sLen)
			}
			other := crypto.SHA1
			if mgf == crypto.SHA1 {
				other = crypto.SHA512
			}
			if pssVerify(&key.PublicKey, crypto.SHA256, other, mHash, sig, sLen) {
				t.Errorf("mgf %v salt %d: accepted with the wrong MGF1 hash", mgf, sLen)
			}
			if pssVerify(&key.PublicKey, crypto.SHA256, mgf, mHash, sig, sLen+1) {
				t.Errorf("mgf %v salt %d: accepted with another salt length", mgf, sLen)
			}
			bad := append([]byte(nil), sig...)
			bad[10] ^= 1
			if pssVerify(&key.PublicKey, crypto.SHA256, mgf, mHash, bad, sLen) {
				t.Errorf("mgf %v salt %d: changed signature accepted", mgf, sLen)
			}
			if pssVerify(&key.PublicKey, crypto.SHA256, mgf, mHash, sig[1:], sLen) ||
				pssVerify(&key.PublicKey, crypto.SHA256, mgf, mHash[1:], sig, sLen) {
				t.Errorf("mgf %v salt %d: wrong lengths accepted", mgf, sLen)
			}
		}
	}
	// Malformed input: a signature equal to or above the modulus, all zeros.
	k := key.Size()
	if pssVerify(&key.PublicKey, crypto.SHA256, crypto.SHA1, mHash, key.N.FillBytes(make([]byte, k)), 0) ||
		pssVerify(&key.PublicKey, crypto.SHA256, crypto.SHA1, mHash, make([]byte, k), 0) {
		t.Error("malformed signature accepted")
	}
}
