package vpiv

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"
)

func TestATRChecksum(t *testing.T) {
	a := newCard(t).ATR()
	if a[0] != 0x3B || len(a) != 23 {
		t.Fatalf("ATR %x", a)
	}
	var x byte
	for _, b := range a[1:] { // TCK: XOR of T0..TCK is zero (ISO 7816-3 §8.2.5)
		x ^= b
	}
	if x != 0 {
		t.Fatalf("ATR TCK wrong: %x", a)
	}
	if !bytes.Contains(a, []byte("YubiKey")) {
		t.Fatal("historical bytes should name the YubiKey")
	}
}

func TestTransportErrors(t *testing.T) {
	c := newCard(t)
	// Nothing selected yet: only SELECT is known.
	_, sw := raw(t, c, hx("00FD0000"))
	mustSW(t, sw, 0x6D00, "GET VERSION before SELECT")
	selectPIV(t, c)
	for _, tc := range []struct {
		name string
		cmd  string
		sw   uint16
	}{
		{"short header", "00FD00", 0x6700},
		{"empty", "", 0x6700},
		{"Lc larger than data", "00CB3FFF055C037E", 0x6700},
		{"Lc smaller than data", "00CB3FFF015C037E", 0x6700},
		{"bad CLA 80", "80FD0000", 0x6E00},
		{"bad CLA 0C", "0CFD0000", 0x6E00},
		{"unknown INS", "00B00000", 0x6D00},
		{"GET RESPONSE with nothing pending", "00C0000000", 0x6985},
		{"GET VERSION with data", "00FD00000100", 0x6700},
	} {
		_, sw := raw(t, c, hx(tc.cmd))
		if sw != tc.sw {
			t.Errorf("%s: SW %04X want %04X", tc.name, sw, tc.sw)
		}
	}
	_, sw = raw(t, c, hx("00FD0000"))
	mustSW(t, sw, 0x9000, "still works after errors")
}

func TestGetResponseChunks(t *testing.T) {
	c := admin(t)
	obj := make([]byte, 1000)
	for i := range obj {
		obj[i] = byte(i)
	}
	put := append(tlv([]byte{0x5C}, hx("5FC105")), tlv([]byte{0x53}, obj)...)
	_, sw := send(t, c, 0xDB, 0x3F, 0xFF, put)
	mustSW(t, sw, 0x9000, "chained PUT DATA")

	want := tlv([]byte{0x53}, obj)
	// Short Le=00: 256-byte chunks announced by 61xx.
	first, sw := raw(t, c, hx("00CB3FFF055C035FC10500"))
	if len(first) != 256 || sw != 0x6100 {
		t.Fatalf("first chunk %d bytes SW %04X", len(first), sw)
	}
	got := first
	for sw>>8 == 0x61 {
		var more []byte
		more, sw = raw(t, c, []byte{0x00, 0xC0, 0x00, 0x00, byte(sw)})
		got = append(got, more...)
	}
	mustSW(t, sw, 0x9000, "GET RESPONSE chain")
	if !bytes.Equal(got, want) {
		t.Fatal("reassembled object differs")
	}
	// Le smaller than the answer: chunks of Le, last 61xx counts the rest exactly.
	part, sw := raw(t, c, hx("00CB3FFF055C035FC10564"))
	if len(part) != 100 || sw != 0x6100 {
		t.Fatalf("Le=100: %d bytes SW %04X", len(part), sw)
	}
	// Any other command drops the pending response.
	raw(t, c, hx("00FD0000"))
	_, sw = raw(t, c, hx("00C0000000"))
	mustSW(t, sw, 0x6985, "GET RESPONSE after another command")

	// Extended Le: everything at once.
	ext, sw := raw(t, c, hx("00CB3FFF0000055C035FC1050000"))
	mustSW(t, sw, 0x9000, "extended GET DATA")
	if !bytes.Equal(ext, want) {
		t.Fatal("extended answer differs")
	}
	// Remaining count below 256 is exact.
	_, sw = raw(t, c, hx("00CB3FFF055C035FC10500"))
	for i := 0; i < 2; i++ {
		_, sw = raw(t, c, hx("00C0000000"))
	}
	mustSW(t, sw, 0x61EC, "third chunk announces the 236 bytes left")
	// Bad P1/P2 in GET RESPONSE.
	_, sw = raw(t, c, hx("00CB3FFF055C035FC10500"))
	_, sw = raw(t, c, hx("00C0010000"))
	mustSW(t, sw, 0x6A86, "GET RESPONSE P1=01")
}

func TestExtendedCommand(t *testing.T) {
	c := admin(t)
	obj := bytes.Repeat([]byte{0xA5}, 600)
	put := append(tlv([]byte{0x5C}, hx("5FC10A")), tlv([]byte{0x53}, obj)...)
	cmd := append([]byte{0x00, 0xDB, 0x3F, 0xFF, 0x00, byte(len(put) >> 8), byte(len(put))}, put...)
	_, sw := raw(t, c, cmd)
	mustSW(t, sw, 0x9000, "extended PUT DATA")
	got, sw := send(t, c, 0xCB, 0x3F, 0xFF, hx("5C035FC10A"))
	mustSW(t, sw, 0x9000, "GET DATA")
	if !bytes.Equal(got, tlv([]byte{0x53}, obj)) {
		t.Fatal("extended PUT not stored")
	}
}

func TestChaining(t *testing.T) {
	c := admin(t)
	// A chain interrupted by a different command: 6883, chain dropped.
	_, sw := raw(t, c, append(hx("10DB3FFF05"), hx("5C035FC105")...))
	mustSW(t, sw, 0x9000, "first link")
	_, sw = raw(t, c, hx("00FD0000"))
	mustSW(t, sw, 0x6883, "other command mid-chain")
	_, sw = raw(t, c, hx("00FD0000"))
	mustSW(t, sw, 0x9000, "after abandoned chain")

	// Over-long chain: 6700 and nothing stored.
	link := append([]byte{0x10, 0xDB, 0x3F, 0xFF, 0xFF}, bytes.Repeat([]byte{1}, 255)...)
	for i := 0; i < maxChain/255; i++ {
		_, sw = raw(t, c, link)
		mustSW(t, sw, 0x9000, "link")
	}
	_, sw = raw(t, c, link)
	mustSW(t, sw, 0x6700, "chain beyond limit")

	// A chained VERIFY reassembles too (8 bytes in two links).
	_, sw = raw(t, c, append(hx("1020008004"), []byte("1234")...))
	mustSW(t, sw, 0x9000, "VERIFY link")
	_, sw = raw(t, c, append(hx("0020008004"), []byte{'5', '6', 0xFF, 0xFF}...))
	mustSW(t, sw, 0x9000, "chained VERIFY")
}

func TestProcessNeverPanics(t *testing.T) {
	c := admin(t)
	generateOK := generate(t, c, 0x9E, 0x11, 0, 0)
	_ = generateOK
	r := rand.New(rand.NewPCG(1, 2))
	inss := []byte{0xA4, 0xC0, 0x20, 0x24, 0x2C, 0x87, 0x47, 0xCB, 0xDB, 0xFD, 0xF8, 0xFF, 0xFE, 0xFB, 0xFA, 0xF9, 0xF7, 0xF6}
	for i := 0; i < 20000; i++ {
		n := r.IntN(40)
		cmd := make([]byte, 4+n)
		for j := range cmd {
			cmd[j] = byte(r.Uint32())
		}
		cmd[0] &= 0x10
		cmd[1] = inss[r.IntN(len(inss))]
		if n > 0 && r.IntN(2) == 0 {
			cmd[4] = byte(n - 1) // consistent Lc
		}
		if cmd[1] == 0xFB || (cmd[1] == 0xA4 && r.IntN(4) != 0) {
			continue // keep the card usable (no reset, mostly stay selected)
		}
		resp := c.Process(cmd)
		if len(resp) < 2 {
			t.Fatalf("short response to %x", cmd)
		}
		if resp[len(resp)-2] == 0x6F {
			t.Fatalf("internal error on %x", cmd)
		}
	}
}

func TestAPDUCount(t *testing.T) {
	c := newCard(t)
	c.Process(hx("00A4040005A000000308"))
	c.Process(hx("00FD0000"))
	n, in, out := c.APDUCount()
	if n != 2 || in != 10+4 || out < 4 {
		t.Fatalf("counts %d %d %d", n, in, out)
	}
}

type failingReader struct{ after int }

func (f *failingReader) Read(p []byte) (int, error) {
	if f.after <= 0 {
		return 0, errors.New("entropy exhausted")
	}
	n := min(len(p), f.after)
	f.after -= n
	return n, nil
}

func TestFailingRandom(t *testing.T) {
	if _, err := New(Options{Rand: &failingReader{}}); err == nil {
		t.Fatal("New with a dead random source should fail")
	}
	fr := &failingReader{after: 1 << 20}
	c, err := New(Options{Rand: fr})
	if err != nil {
		t.Fatal(err)
	}
	selectPIV(t, c)
	fr.after = 0
	_, sw := send(t, c, 0x87, 0x0A, 0x9B, hx("7C028000"))
	mustSW(t, sw, 0x6F00, "witness without randomness")
	if err := c.Provision("demo"); err == nil {
		t.Fatal("Provision with a dead random source should fail")
	}
	_, sw = send(t, c, 0xFD, 0, 0, nil)
	mustSW(t, sw, 0x9000, "card still alive")
}

func BenchmarkSignP256(b *testing.B) {
	c := selected(b)
	mustSW(b, mgmtAuth(b, c, 0x0A, factoryMgmt), 0x9000, "auth")
	generate(b, c, 0x9E, 0x11, 0, 0)
	cmd := append(hx("0087119E26 7C24 8200 8120"), make([]byte, 32)...)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r := c.Process(cmd)
		if r[len(r)-2] != 0x90 {
			b.Fatalf("%x", r)
		}
	}
}
