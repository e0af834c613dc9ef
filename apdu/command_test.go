package apdu

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

func seq(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + 1)
	}
	return b
}

func TestEncodeParseCases(t *testing.T) {
	tests := []struct {
		name     string
		cmd      Command
		extended bool
		want     string // hex prefix
		wantLen  int
	}{
		{"case1", Command{CLA: 0x00, INS: 0xA4, P1: 0x04, P2: 0x00}, false, "00A40400", 4},
		{"case1 ext flag", Command{INS: 0xA4}, true, "00A40000", 4},
		{"case2S", Command{INS: 0xCB, P1: 0x3F, P2: 0xFF, Ne: 10}, false, "00CB3FFF0A", 5},
		{"case2S 256", Command{INS: 0xCB, Ne: 256}, false, "00CB000000", 5},
		{"case3S", Command{INS: 0x20, P2: 0x80, Data: []byte{1, 2, 3}}, false, "0020008003010203", 8},
		{"case3S 255", Command{INS: 0xDB, Data: seq(255)}, false, "00DB0000FF", 5 + 255},
		{"case4S", Command{INS: 0x87, P1: 7, P2: 0x9A, Data: []byte{0x7C, 0}, Ne: 256}, false, "0087079A027C0000", 8},
		{"case2E by Ne", Command{INS: 0xCB, Ne: 257}, false, "00CB0000000101", 7},
		{"case2E 65536", Command{INS: 0xCB, Ne: 65536}, false, "00CB0000000000", 7},
		{"case2E forced", Command{INS: 0xCB, Ne: 5}, true, "00CB0000000005", 7},
		{"case3E by data", Command{INS: 0xDB, Data: seq(256)}, false, "00DB0000000100", 7 + 256},
		{"case3E forced", Command{INS: 0xDB, Data: []byte{9}}, true, "00DB000000000109", 8},
		{"case4E", Command{INS: 0xDB, Data: seq(300), Ne: 65536}, false, "00DB000000012C", 7 + 300 + 2},
		{"case4E forced", Command{INS: 0x87, Data: []byte{1, 2}, Ne: 1}, true, "0087000000000201020001", 11},
		{"case3E max", Command{INS: 0xDB, Data: seq(65535)}, false, "00DB000000FFFF", 7 + 65535},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			raw, err := tc.cmd.Encode(tc.extended)
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			if len(raw) != tc.wantLen {
				t.Fatalf("len = %d, want %d", len(raw), tc.wantLen)
			}
			if want := mustHex(t, tc.want); !bytes.HasPrefix(raw, want) {
				t.Fatalf("encoding % X, want prefix % X", raw[:min(len(raw), 16)], want)
			}
			got, err := ParseCommand(raw)
			if err != nil {
				t.Fatalf("ParseCommand: %v", err)
			}
			if got.CLA != tc.cmd.CLA || got.INS != tc.cmd.INS || got.P1 != tc.cmd.P1 || got.P2 != tc.cmd.P2 ||
				!bytes.Equal(got.Data, tc.cmd.Data) || got.Ne != tc.cmd.Ne {
				t.Fatalf("round trip: got %+v", got)
			}
			wantExt := len(raw) >= 7 && (tc.extended || len(tc.cmd.Data) > 255 || tc.cmd.Ne > 256)
			if Extended(raw) != wantExt {
				t.Fatalf("Extended = %v, want %v", Extended(raw), wantExt)
			}
		})
	}
}

func TestEncodeErrors(t *testing.T) {
	for _, c := range []Command{
		{Data: make([]byte, 65536)},
		{Ne: -1},
		{Ne: 65537},
	} {
		if _, err := c.Encode(false); !errors.Is(err, ErrMalformedCommand) {
			t.Errorf("Encode(len %d, Ne %d) err = %v, want ErrMalformedCommand", len(c.Data), c.Ne, err)
		}
	}
}

func TestParseCommandMalformed(t *testing.T) {
	bad := []string{
		"",
		"00",
		"00A404",
		"00A404000301",       // Lc=3 with one byte
		"00A404000201",       // Lc=2 with one byte
		"00A40400020102AABB", // Lc=2, two trailing bytes (too many for 4S)
		"00A404000000",       // 6 bytes: extended marker then one byte
		"00A4040000000001",   // extended Lc=0 with a byte
		"00A40400000002AA",   // extended Lc=2, one byte
		"00A40400000001AA00", // extended Lc=1, one trailing byte (4E needs two)
		"00A40400000001AA000000",
	}
	for _, h := range bad {
		raw := mustHex(t, h)
		if c, err := ParseCommand(raw); !errors.Is(err, ErrMalformedCommand) {
			t.Errorf("ParseCommand(%s) = %+v, %v; want ErrMalformedCommand", h, c, err)
		}
	}
	// The two boundary cases above are valid.
	if c, err := ParseCommand(mustHex(t, "00A4040000")); err != nil || c.Ne != 256 {
		t.Errorf("2S Le=00: %+v %v", c, err)
	}
	if c, err := ParseCommand(mustHex(t, "00A40400000000")); err != nil || c.Ne != 65536 {
		t.Errorf("2E Le=0000: %+v %v", c, err)
	}
}

func TestParseCommandCopiesData(t *testing.T) {
	raw := mustHex(t, "0020008003313233")
	c, err := ParseCommand(raw)
	if err != nil {
		t.Fatal(err)
	}
	raw[5] = 'X'
	if string(c.Data) != "123" {
		t.Fatalf("Data aliases the input: %q", c.Data)
	}
}
