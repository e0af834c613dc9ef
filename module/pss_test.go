package module

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"math/big"
	"testing"
)

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
