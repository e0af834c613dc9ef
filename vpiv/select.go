package vpiv

import (
	"bytes"

	"github.com/pcsc11/pcsc11/apdu"
)

// pivAID is the full PIV application identifier (SP 800-73-4 Part 1 §2.2): RID
// A0 00 00 03 08, PIX 00 00 10 00 01 00.
var pivAID = []byte{0xA0, 0x00, 0x00, 0x03, 0x08, 0x00, 0x00, 0x10, 0x00, 0x01, 0x00}

// pivRID is the shortest prefix a SELECT may use (real cards accept it).
const pivRIDLen = 5

// selectApp implements SELECT by DF name (SP 800-73-4 Part 2 §3.1.1). P2 00 asks for
// the application property template, 0C for no response data.
func (c *Card) selectApp(cmd apdu.Command) ([]byte, uint16) {
	if cmd.P1 != 0x04 || (cmd.P2 != 0x00 && cmd.P2 != 0x0C) {
		return nil, apdu.SWIncorrectP1P2
	}
	aid := cmd.Data
	c.otpSelected = false
	if c.prof.Yubico && bytes.Equal(aid, otpAID) {
		return c.selectOTP()
	}
	if len(aid) < pivRIDLen || len(aid) > len(pivAID) || !bytes.HasPrefix(pivAID, aid) {
		// Another application: PIV loses its security status (a YubiKey does this when
		// OpenPGP, OTP or FIDO is selected) and we have nothing else to offer.
		c.selected = false
		c.clearSecurity()
		return nil, apdu.SWFileNotFound
	}
	if !c.selected {
		c.clearSecurity()
	}
	c.selected = true
	if cmd.P2 == 0x0C {
		return nil, apdu.SWOK
	}
	return c.applicationPropertyTemplate(), apdu.SWOK
}

// applicationPropertyTemplate is tag 61: 4F the PIX of the AID, 79 the coexistent tag
// allocation authority (the NIST RID), AC the cryptographic algorithms supported
// (80 one per algorithm the profile knows, management keys first, 06 00 the object
// identifier placeholder).
func (c *Card) applicationPropertyTemplate() []byte {
	var body []byte
	body = apdu.AppendTLV(body, 0x4F, pivAID[pivRIDLen:])
	body = apdu.AppendTLV(body, 0x79, apdu.EncodeTLV(0x4F, pivAID[:pivRIDLen]))
	var algs []byte
	for _, a := range append(append([]byte(nil), c.prof.MgmtAlgs...), c.prof.Algs...) {
		algs = apdu.AppendTLV(algs, 0x80, []byte{a})
	}
	algs = apdu.AppendTLV(algs, 0x06, nil)
	body = apdu.AppendTLV(body, 0xAC, algs)
	return apdu.EncodeTLV(0x61, body)
}
