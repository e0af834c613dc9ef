package vpiv

import (
	"bytes"
	"testing"

	"github.com/pcsc11/pcsc11/apdu"
)

func TestSelect(t *testing.T) {
	c := newCard(t)
	for _, aid := range []string{"A000000308", "A00000030800001000", "A0000003080000100001", "A000000308000010000100"} {
		resp, sw := send(t, c, 0xA4, 0x04, 0x00, hx(aid))
		mustSW(t, sw, 0x9000, "SELECT "+aid)
		tmpl, rest, err := apdu.ParseTLV(resp)
		if err != nil || len(rest) != 0 || tmpl.Tag != 0x61 {
			t.Fatalf("SELECT answer %x", resp)
		}
		pix, ok, _ := apdu.Find(tmpl.Value, 0x4F)
		if !ok || !bytes.Equal(pix, hx("000010000100")) {
			t.Fatalf("4F %x", pix)
		}
		auth, ok, _ := apdu.Find(tmpl.Value, 0x79)
		if !ok || !bytes.Equal(auth, hx("4F05A000000308")) {
			t.Fatalf("79 %x", auth)
		}
		algs, ok, _ := apdu.Find(tmpl.Value, 0xAC)
		if !ok || !bytes.Contains(algs, hx("800111")) || !bytes.Contains(algs, hx("8001E0")) {
			t.Fatalf("AC %x", algs)
		}
	}
	_, sw := send(t, c, 0xA4, 0x04, 0x0C, hx("A000000308"))
	mustSW(t, sw, 0x9000, "SELECT P2=0C")
	for _, tc := range []struct {
		p1, p2 byte
		aid    string
		sw     uint16
	}{
		{0x00, 0x00, "A000000308", 0x6A86},
		{0x04, 0x01, "A000000308", 0x6A86},
		{0x04, 0x00, "A0000003", 0x6A82},                 // too short
		{0x04, 0x00, "A000000527471117", 0x6A82},         // YubiKey management
		{0x04, 0x00, "A00000030800001000010000", 0x6A82}, // too long
	} {
		_, sw := send(t, c, 0xA4, tc.p1, tc.p2, hx(tc.aid))
		mustSW(t, sw, tc.sw, "SELECT "+tc.aid)
	}
}

func TestSelectOtherAppClearsSecurity(t *testing.T) {
	c := admin(t)
	mustSW(t, verifyPIN(t, c, "123456"), 0x9000, "VERIFY")
	_, sw := send(t, c, 0xA4, 0x04, 0x00, hx("D27600012401")) // OpenPGP
	mustSW(t, sw, 0x6A82, "SELECT OpenPGP")
	_, sw = send(t, c, 0xFD, 0, 0, nil)
	mustSW(t, sw, 0x6D00, "PIV deselected")
	selectPIV(t, c)
	_, sw = send(t, c, 0x20, 0x00, 0x80, nil)
	mustSW(t, sw, 0x63C3, "PIN no longer verified")
	_, sw = send(t, c, 0xDB, 0x3F, 0xFF, hx("5C035FC1025300"))
	mustSW(t, sw, 0x6982, "management key no longer authenticated")
}

func TestResetClearsSecurity(t *testing.T) {
	for name, reset := range map[string]func(*Card){
		"Reset":    (*Card).Reset,
		"PowerOff": func(c *Card) { c.PowerOff(); c.PowerOn() },
	} {
		c := admin(t)
		mustSW(t, verifyPIN(t, c, "123456"), 0x9000, "VERIFY")
		reset(c)
		_, sw := send(t, c, 0xFD, 0, 0, nil)
		mustSW(t, sw, 0x6D00, name+": nothing selected")
		selectPIV(t, c)
		_, sw = send(t, c, 0x20, 0x00, 0x80, nil)
		mustSW(t, sw, 0x63C3, name+": PIN status lost")
		_, sw = send(t, c, 0xDB, 0x3F, 0xFF, hx("5C035FC1025300"))
		mustSW(t, sw, 0x6982, name+": management status lost")
	}
}
