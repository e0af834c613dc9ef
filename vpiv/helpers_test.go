package vpiv

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/pcsc11/pcsc11/apdu"
)

// Test helpers: a thin host side written independently of the card's code.

func hx(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

// raw sends one raw APDU and splits the answer.
func raw(t testing.TB, c *Card, cmd []byte) ([]byte, uint16) {
	t.Helper()
	r := c.Process(cmd)
	if len(r) < 2 {
		t.Fatalf("response %x shorter than a status word", r)
	}
	n := len(r) - 2
	return r[:n], uint16(r[n])<<8 | uint16(r[n+1])
}

// send encodes a short/extended command (chaining when data > 255 and !ext) and
// follows 61xx with GET RESPONSE, returning all data and the final SW.
func send(t testing.TB, c *Card, ins, p1, p2 byte, data []byte) ([]byte, uint16) {
	t.Helper()
	for len(data) > 255 {
		cmd, err := apdu.Command{CLA: 0x10, INS: ins, P1: p1, P2: p2, Data: data[:255]}.Encode(false)
		if err != nil {
			t.Fatal(err)
		}
		if _, sw := raw(t, c, cmd); sw != 0x9000 {
			return nil, sw
		}
		data = data[255:]
	}
	cmd, err := apdu.Command{INS: ins, P1: p1, P2: p2, Data: data, Ne: 256}.Encode(false)
	if err != nil {
		t.Fatal(err)
	}
	out, sw := raw(t, c, cmd)
	for i := 0; sw>>8 == 0x61; i++ {
		if i > 300 {
			t.Fatal("endless 61xx")
		}
		var more []byte
		more, sw = raw(t, c, []byte{0x00, 0xC0, 0x00, 0x00, byte(sw)})
		out = append(out, more...)
	}
	return out, sw
}

func mustSW(t testing.TB, got, want uint16, what string) {
	t.Helper()
	if got != want {
		t.Fatalf("%s: SW %04X, want %04X", what, got, want)
	}
}

func newCard(t testing.TB) *Card {
	t.Helper()
	c, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// selected returns a new card with PIV selected.
func selected(t testing.TB) *Card {
	t.Helper()
	c := newCard(t)
	selectPIV(t, c)
	return c
}

func selectPIV(t testing.TB, c *Card) {
	t.Helper()
	_, sw := send(t, c, 0xA4, 0x04, 0x00, hx("A000000308"))
	mustSW(t, sw, 0x9000, "SELECT PIV")
}

func pinBlock(pin string) []byte {
	b := bytes.Repeat([]byte{0xFF}, 8)
	copy(b, pin)
	return b
}

func verifyPIN(t testing.TB, c *Card, pin string) uint16 {
	t.Helper()
	_, sw := send(t, c, 0x20, 0x00, 0x80, pinBlock(pin))
	return sw
}

var factoryMgmt = hx("010203040506070801020304050607080102030405060708")

func hostCipher(t testing.TB, alg byte, key []byte) cipher.Block {
	t.Helper()
	var b cipher.Block
	var err error
	if alg == 0x03 {
		b, err = des.NewTripleDESCipher(key)
	} else {
		b, err = aes.NewCipher(key)
	}
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// tlv encodes a BER-TLV with a 1-3 byte length (host side, independent of apdu).
func tlv(tag []byte, v []byte) []byte {
	out := append([]byte(nil), tag...)
	switch n := len(v); {
	case n < 0x80:
		out = append(out, byte(n))
	case n < 0x100:
		out = append(out, 0x81, byte(n))
	default:
		out = append(out, 0x82, byte(n>>8), byte(n))
	}
	return append(out, v...)
}

// mgmtAuth runs mutual authentication with key and returns the final SW.
func mgmtAuth(t testing.TB, c *Card, alg byte, key []byte) uint16 {
	t.Helper()
	blk := hostCipher(t, alg, key)
	bs := blk.BlockSize()
	resp, sw := send(t, c, 0x87, alg, 0x9B, hx("7C028000"))
	if sw != 0x9000 {
		return sw
	}
	if len(resp) != 4+bs || resp[0] != 0x7C || resp[2] != 0x80 || int(resp[3]) != bs {
		t.Fatalf("witness answer %x", resp)
	}
	w := make([]byte, bs)
	blk.Decrypt(w, resp[4:])
	chal := bytes.Repeat([]byte{0x5A}, bs)
	body := append(tlv([]byte{0x80}, w), tlv([]byte{0x81}, chal)...)
	resp, sw = send(t, c, 0x87, alg, 0x9B, tlv([]byte{0x7C}, body))
	if sw != 0x9000 {
		return sw
	}
	want := make([]byte, bs)
	blk.Encrypt(want, chal)
	if !bytes.Equal(resp, tlv([]byte{0x7C}, tlv([]byte{0x82}, want))) {
		t.Fatalf("card's answer to our challenge is wrong: %x", resp)
	}
	return sw
}

// admin returns a selected card authenticated with the factory management key.
func admin(t testing.TB) *Card {
	t.Helper()
	c := selected(t)
	mustSW(t, mgmtAuth(t, c, 0x0A, factoryMgmt), 0x9000, "management key")
	return c
}

// generate runs GENERATE with optional policies (0 = omit) and returns the 7F49 body.
func generate(t testing.TB, c *Card, slot, alg, pp, tp byte) []byte {
	t.Helper()
	body := tlv([]byte{0x80}, []byte{alg})
	if pp != 0 {
		body = append(body, tlv([]byte{0xAA}, []byte{pp})...)
	}
	if tp != 0 {
		body = append(body, tlv([]byte{0xAB}, []byte{tp})...)
	}
	resp, sw := send(t, c, 0x47, 0x00, slot, tlv([]byte{0xAC}, body))
	mustSW(t, sw, 0x9000, "GENERATE")
	if len(resp) < 3 || resp[0] != 0x7F || resp[1] != 0x49 {
		t.Fatalf("GENERATE answer %x", resp)
	}
	inner, _, err := apdu.ParseTLV(resp)
	if err != nil || inner.Tag != 0x7F49 {
		t.Fatalf("GENERATE answer %x: %v", resp, err)
	}
	return inner.Value
}

// genAuth runs GENERAL AUTHENTICATE with element tag (0x81/0x85) and returns the 82 value.
func genAuth(t testing.TB, c *Card, alg, slot byte, tag byte, in []byte) ([]byte, uint16) {
	t.Helper()
	body := append([]byte{0x82, 0x00}, tlv([]byte{tag}, in)...)
	resp, sw := send(t, c, 0x87, alg, slot, tlv([]byte{0x7C}, body))
	if sw != 0x9000 {
		return nil, sw
	}
	v, ok, err := apdu.FindPath(resp, 0x7C, 0x82)
	if err != nil || !ok {
		t.Fatalf("GENERAL AUTHENTICATE answer %x: %v", resp, err)
	}
	return v, sw
}
