package apdu

import (
	"fmt"
	"strings"
	"testing"
)

func TestCommandStringRedacts(t *testing.T) {
	pin := []byte("123456\xff\xff")
	for _, ins := range []byte{0x20, 0x24, 0x2C, 0x87, 0xFF, 0xFE, 0xDB, 0x42} {
		c := Command{INS: ins, P2: 0x80, Data: pin}
		if ins == 0x87 {
			c.P2 = 0x9B // the management key's handshake
		}
		for _, s := range []string{c.String(), fmt.Sprintf("%v", c), fmt.Sprintf("%+v", c)} {
			if strings.Contains(s, "31 32") || strings.Contains(s, "123456") || !strings.Contains(s, "[redacted]") {
				t.Errorf("INS %02X: %q", ins, s)
			}
		}
	}
	c := Command{INS: 0xA4, P1: 0x04, Data: []byte{0xA0, 0x00}, Ne: 256}
	if got, want := c.String(), "00 A4 04 00 Lc=2 A0 00 Ne=256"; got != want {
		t.Errorf("SELECT: %q, want %q", got, want)
	}
	if got, want := (Command{INS: 0xFD}).String(), "00 FD 00 00"; got != want {
		t.Errorf("case 1: %q", got)
	}
}

func TestResponseStringHidesData(t *testing.T) {
	r := Response{Data: []byte("secret"), SW: 0x9000}
	if s := fmt.Sprintf("%v", r); strings.Contains(s, "secret") || s != "6 bytes, SW 9000 (success)" {
		t.Errorf("%q", s)
	}
}
