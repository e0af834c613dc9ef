package module

import (
	"bytes"
	"crypto"
	"encoding/hex"
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
