package apdu

import (
	"fmt"
	"strings"
	"testing"
)

func TestStatusErrorText(t *testing.T) {
	tests := []struct {
		sw   uint16
		ins  byte
		want string
	}{
		{0x63C2, 0x20, "apdu: INS 20: 63C2 (verification failed, 2 retries left)"},
		{0x63C1, 0x20, "apdu: INS 20: 63C1 (verification failed, 1 retry left)"},
		{0x63C0, 0x2C, "apdu: INS 2C: 63C0 (verification failed, no retries left)"},
		{0x6982, 0x87, "apdu: INS 87: 6982 (security status not satisfied)"},
		{0x6983, 0x20, "apdu: INS 20: 6983 (authentication method blocked)"},
		{0x6A82, 0xCB, "apdu: INS CB: 6A82 (file or application not found)"},
		{0x6A88, 0xCB, "apdu: INS CB: 6A88 (referenced data or reference data not found)"},
		{0x6D00, 0xFD, "apdu: INS FD: 6D00 (instruction code not supported or invalid)"},
		{0x6C10, 0xCB, "apdu: INS CB: 6C10 (wrong Le, 16 bytes available)"},
		{0x6100, 0xCB, "apdu: INS CB: 6100 (256 more bytes available)"},
		{0x6A99, 0xCB, "apdu: INS CB: 6A99 (checking error)"},
		{0x1234, 0x01, "apdu: INS 01: 1234 (unknown status)"},
	}
	for _, tc := range tests {
		if got := (&StatusError{SW: tc.sw, INS: tc.ins}).Error(); got != tc.want {
			t.Errorf("%04X: %q, want %q", tc.sw, got, tc.want)
		}
	}
}

func TestStatusHelpers(t *testing.T) {
	wrap := func(sw uint16) error { return fmt.Errorf("piv: verify: %w", &StatusError{SW: sw, INS: 0x20}) }
	type res struct{ sec, blocked, notFound, retriesOK bool }
	tests := []struct {
		sw      uint16
		want    res
		retries int
	}{
		{0x6982, res{sec: true}, 0},
		{0x6983, res{blocked: true}, 0},
		{0x6A82, res{notFound: true}, 0},
		{0x6A88, res{notFound: true}, 0},
		{0x63C0, res{retriesOK: true}, 0},
		{0x63CF, res{retriesOK: true}, 15},
		{0x63C3, res{retriesOK: true}, 3},
		{0x6300, res{}, 0},
		{0x6A80, res{}, 0},
		{0x9000, res{}, 0},
	}
	for _, tc := range tests {
		err := wrap(tc.sw)
		n, ok := RetriesLeft(err)
		got := res{IsSecurityStatusNotSatisfied(err), IsAuthBlocked(err), IsNotFound(err), ok}
		if got != tc.want || n != tc.retries {
			t.Errorf("%04X: got %+v retries %d, want %+v retries %d", tc.sw, got, n, tc.want, tc.retries)
		}
		if sw, ok := SW(err); !ok || sw != tc.sw {
			t.Errorf("SW(%04X) = %04X %v", tc.sw, sw, ok)
		}
	}
	// Not a StatusError at all.
	for _, err := range []error{nil, fmt.Errorf("plain")} {
		if _, ok := SW(err); ok || IsNotFound(err) || IsAuthBlocked(err) || IsSecurityStatusNotSatisfied(err) {
			t.Errorf("%v classified as a status", err)
		}
		if _, ok := RetriesLeft(err); ok {
			t.Errorf("%v has retries", err)
		}
	}
	var nilSE *StatusError
	if _, ok := SW(nilSE); ok {
		t.Error("typed nil *StatusError classified")
	}
	if !strings.Contains(wrap(0x6983).Error(), "blocked") {
		t.Error("wrapped message lost")
	}
}
