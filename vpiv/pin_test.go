package vpiv

import (
	"testing"
)

func TestVerifyPIN(t *testing.T) {
	c := selected(t)
	_, sw := send(t, c, 0x20, 0x00, 0x80, nil)
	mustSW(t, sw, 0x63C3, "status before VERIFY")
	// Wrong lengths cost nothing.
	for _, bad := range [][]byte{pinBlock("12345"), []byte("1234567"), []byte("123456789"), hx("31FF323334353637"), hx("FFFFFFFFFFFFFFFF")} {
		_, sw = send(t, c, 0x20, 0x00, 0x80, bad)
		mustSW(t, sw, 0x6A80, "malformed PIN block")
	}
	_, sw = send(t, c, 0x20, 0x00, 0x80, nil)
	mustSW(t, sw, 0x63C3, "no retry burnt")
	mustSW(t, verifyPIN(t, c, "654321"), 0x63C2, "wrong PIN")
	_, sw = send(t, c, 0x20, 0x00, 0x80, nil)
	mustSW(t, sw, 0x63C2, "status after wrong PIN")
	mustSW(t, verifyPIN(t, c, "123456"), 0x9000, "right PIN")
	_, sw = send(t, c, 0x20, 0x00, 0x80, nil)
	mustSW(t, sw, 0x9000, "verified")
	mustSW(t, verifyPIN(t, c, "1234567"), 0x63C2, "wrong 7-digit PIN (counter was reset)")
	_, sw = send(t, c, 0x20, 0x00, 0x80, nil)
	mustSW(t, sw, 0x63C2, "a wrong PIN drops the verified status")
	mustSW(t, verifyPIN(t, c, "123456"), 0x9000, "right PIN again")

	_, sw = send(t, c, 0x20, 0xFF, 0x80, nil)
	mustSW(t, sw, 0x9000, "VERIFY P1=FF")
	_, sw = send(t, c, 0x20, 0x00, 0x80, nil)
	mustSW(t, sw, 0x63C3, "status reset")

	for _, tc := range []struct {
		p1, p2 byte
		sw     uint16
	}{{0x01, 0x80, 0x6A86}, {0x00, 0x00, 0x6A88}, {0x00, 0x81, 0x6A88}, {0x00, 0x96, 0x6A88}} {
		_, sw = send(t, c, 0x20, tc.p1, tc.p2, pinBlock("123456"))
		mustSW(t, sw, tc.sw, "VERIFY P1/P2")
	}
	_, sw = send(t, c, 0x20, 0xFF, 0x80, pinBlock("123456"))
	mustSW(t, sw, 0x6700, "VERIFY P1=FF with data")
}

func TestPINBlocking(t *testing.T) {
	c := selected(t)
	mustSW(t, verifyPIN(t, c, "000000"), 0x63C2, "1st")
	mustSW(t, verifyPIN(t, c, "000000"), 0x63C1, "2nd")
	mustSW(t, verifyPIN(t, c, "000000"), 0x63C0, "3rd")
	mustSW(t, verifyPIN(t, c, "123456"), 0x6983, "blocked, even the right PIN")
	_, sw := send(t, c, 0x20, 0x00, 0x80, nil)
	mustSW(t, sw, 0x6983, "empty VERIFY when blocked")
	_, sw = send(t, c, 0x24, 0x00, 0x80, append(pinBlock("123456"), pinBlock("222222")...))
	mustSW(t, sw, 0x6983, "CHANGE on blocked PIN")

	// Unblock with the PUK.
	_, sw = send(t, c, 0x2C, 0x00, 0x80, append(pinBlock("87654321"), pinBlock("111111")...))
	mustSW(t, sw, 0x63C2, "wrong PUK")
	_, sw = send(t, c, 0x2C, 0x00, 0x80, append(pinBlock("12345678"), pinBlock("111111")...))
	mustSW(t, sw, 0x9000, "RESET RETRY COUNTER")
	mustSW(t, verifyPIN(t, c, "123456"), 0x63C2, "old PIN gone")
	mustSW(t, verifyPIN(t, c, "111111"), 0x9000, "new PIN")

	// PUK counter was restored by the successful unblock; now block the PUK.
	for i, want := range []uint16{0x63C2, 0x63C1, 0x63C0, 0x6983} {
		_, sw = send(t, c, 0x2C, 0x00, 0x80, append(pinBlock("00000000"), pinBlock("111111")...))
		if sw != want {
			t.Fatalf("PUK try %d: %04X want %04X", i, sw, want)
		}
	}
	_, sw = send(t, c, 0x2C, 0x00, 0x80, append(pinBlock("12345678"), pinBlock("111111")...))
	mustSW(t, sw, 0x6983, "PUK blocked")
}

func TestResetRetryErrors(t *testing.T) {
	c := selected(t)
	for _, tc := range []struct {
		p1, p2 byte
		data   []byte
		sw     uint16
	}{
		{0x01, 0x80, append(pinBlock("12345678"), pinBlock("111111")...), 0x6A86},
		{0x00, 0x81, append(pinBlock("12345678"), pinBlock("111111")...), 0x6A88},
		{0x00, 0x80, pinBlock("12345678"), 0x6A80},
		{0x00, 0x80, append(pinBlock("12345678"), pinBlock("11")...), 0x6A80},
	} {
		_, sw := send(t, c, 0x2C, tc.p1, tc.p2, tc.data)
		mustSW(t, sw, tc.sw, "RESET RETRY")
	}
	_, sw := send(t, c, 0xF7, 0x00, 0x81, nil)
	mustSW(t, sw, 0x9000, "metadata")
	md, _ := send(t, c, 0xF7, 0x00, 0x81, nil)
	if md[len(md)-1] != 3 {
		t.Fatalf("PUK retries burnt by malformed commands: %x", md)
	}
}

func TestChangeReference(t *testing.T) {
	c := selected(t)
	_, sw := send(t, c, 0x24, 0x00, 0x80, append(pinBlock("123456"), pinBlock("24681357")...))
	mustSW(t, sw, 0x9000, "change PIN")
	mustSW(t, verifyPIN(t, c, "123456"), 0x63C2, "old PIN")
	mustSW(t, verifyPIN(t, c, "24681357"), 0x9000, "new PIN")

	_, sw = send(t, c, 0x24, 0x00, 0x81, append(pinBlock("12345678"), pinBlock("87654321")...))
	mustSW(t, sw, 0x9000, "change PUK")
	_, sw = send(t, c, 0x24, 0x00, 0x81, append(pinBlock("12345678"), pinBlock("87654321")...))
	mustSW(t, sw, 0x63C2, "old PUK")
	_, sw = send(t, c, 0x24, 0x00, 0x81, append(pinBlock("87654321"), pinBlock("11223344")...))
	mustSW(t, sw, 0x9000, "new PUK")

	_, sw = send(t, c, 0x24, 0x00, 0x80, append(pinBlock("000000"), pinBlock("111111")...))
	mustSW(t, sw, 0x63C2, "wrong old PIN")
	for _, tc := range []struct {
		p1, p2 byte
		data   []byte
		sw     uint16
	}{
		{0x01, 0x80, append(pinBlock("24681357"), pinBlock("111111")...), 0x6A86},
		{0x00, 0x9B, append(pinBlock("24681357"), pinBlock("111111")...), 0x6A88},
		{0x00, 0x80, append(pinBlock("24681357"), pinBlock("11111")...), 0x6A80},
		{0x00, 0x80, pinBlock("24681357"), 0x6A80},
	} {
		_, sw := send(t, c, 0x24, tc.p1, tc.p2, tc.data)
		mustSW(t, sw, tc.sw, "CHANGE errors")
	}
	_, sw = send(t, c, 0x20, 0x00, 0x80, nil)
	if sw != 0x63C2 && sw != 0x9000 {
		t.Fatalf("status %04X", sw)
	}
	md, _ := send(t, c, 0xF7, 0x00, 0x80, nil)
	if md[len(md)-1] != 2 {
		t.Fatalf("malformed CHANGE burnt a retry: %x", md)
	}
}
