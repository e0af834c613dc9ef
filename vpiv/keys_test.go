package vpiv

import (
	"crypto/elliptic"
	"testing"

	"github.com/pcsc11/pcsc11/apdu"
)

func TestGenerateErrors(t *testing.T) {
	c := selected(t)
	_, sw := send(t, c, 0x47, 0x00, 0x9A, hx("AC03800111"))
	mustSW(t, sw, 0x6982, "GENERATE without management key")
	mustSW(t, mgmtAuth(t, c, 0x0A, factoryMgmt), 0x9000, "auth")
	for _, tc := range []struct {
		name   string
		p1, p2 byte
		data   string
		sw     uint16
	}{
		{"P1", 0x01, 0x9A, "AC03800111", 0x6A86},
		{"9B is no key slot", 0x00, 0x9B, "AC03800111", 0x6A86},
		{"F9 cannot be generated", 0x00, 0xF9, "AC03800111", 0x6A86},
		{"slot 96", 0x00, 0x96, "AC03800111", 0x6A86},
		{"no template", 0x00, 0x9A, "", 0x6A80},
		{"wrong template", 0x00, 0x9A, "AD03800111", 0x6A80},
		{"no algorithm", 0x00, 0x9A, "AC03AA0101", 0x6A80},
		{"unknown algorithm", 0x00, 0x9A, "AC03800112", 0x6A80},
		{"3DES is not asymmetric", 0x00, 0x9A, "AC03800103", 0x6A80},
		{"bad PIN policy", 0x00, 0x9A, "AC06800111AA0104", 0x6A80},
		{"bad touch policy", 0x00, 0x9A, "AC06800111AB0104", 0x6A80},
		{"unknown element", 0x00, 0x9A, "AC06800111AC0101", 0x6A80},
		{"duplicate element", 0x00, 0x9A, "AC06800111800111", 0x6A80},
		{"trailing bytes", 0x00, 0x9A, "AC0380011100", 0x6A80},
	} {
		_, sw := send(t, c, 0x47, tc.p1, tc.p2, hx(tc.data))
		if sw != tc.sw {
			t.Errorf("%s: SW %04X want %04X", tc.name, sw, tc.sw)
		}
	}
}

func TestGenerateAllAlgorithms(t *testing.T) {
	c := admin(t)
	algs := []byte{0x06, 0x11, 0x14, 0xE0, 0xE1}
	if !testing.Short() {
		algs = append(algs, 0x07, 0x05, 0x16) // RSA-2048/3072/4096: seconds of key generation
	}
	for i, alg := range algs {
		slot := byte(0x82 + i)
		pub := generate(t, c, slot, alg, 0, 0)
		switch alg {
		case 0x06, 0x07, 0x05, 0x16:
			k := rsaPub(t, pub)
			if k.N.BitLen() != rsaBits(alg) {
				t.Errorf("alg %02X: %d bits", alg, k.N.BitLen())
			}
		case 0x11:
			ecPub(t, elliptic.P256(), pub)
		case 0x14:
			ecPub(t, elliptic.P384(), pub)
		case 0xE0, 0xE1:
			p, ok, _ := apdu.Find(pub, 0x86)
			if !ok || len(p) != 32 {
				t.Errorf("alg %02X: public %x", alg, pub)
			}
		}
		md, sw := send(t, c, 0xF7, 0x00, slot, nil)
		mustSW(t, sw, 0x9000, "metadata")
		a, _, _ := apdu.Find(md, 0x01)
		o, _, _ := apdu.Find(md, 0x03)
		pk, _, _ := apdu.Find(md, 0x04)
		if len(a) != 1 || a[0] != alg || len(o) != 1 || o[0] != 0x01 || string(pk) != string(pub) {
			t.Errorf("alg %02X: metadata %x", alg, md)
		}
	}
}
