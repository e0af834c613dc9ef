package vpiv

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"

	"github.com/pcsc11/pcsc11/apdu"
)

// Key references of the PIN and the PUK (SP 800-73-4 Part 1 Table 4).
const (
	refPIN    = 0x80
	refPUK    = 0x81
	refGlobal = 0x00 // the Global PIN (cards with one: Profile.GlobalPIN)
)

// Factory values (Yubico: PIN 123456, PUK 12345678, 3 tries each).
var (
	defaultPIN = padPIN("123456")
	defaultPUK = padPIN("12345678")
)

const defaultTries = 3

func padPIN(s string) []byte {
	b := bytes.Repeat([]byte{0xFF}, 8)
	copy(b, s)
	return b
}

// validPINBlock: 8 bytes, a value of 6..8 bytes padded with FF (SP 800-73-4 Part 2
// §2.4.3). A block the card refuses costs no retry.
func validPINBlock(b []byte) bool {
	if len(b) != 8 {
		return false
	}
	n := bytes.IndexByte(b, 0xFF)
	if n < 0 {
		n = 8
	}
	if n < 6 {
		return false
	}
	for _, x := range b[n:] {
		if x != 0xFF {
			return false
		}
	}
	return true
}

func (c *Card) hashSecret(b []byte) []byte {
	h := sha256.New()
	h.Write(c.st.salt)
	h.Write(b)
	return h.Sum(nil)
}

func (c *Card) checkSecret(hash, b []byte) bool {
	return subtle.ConstantTimeCompare(hash, c.hashSecret(b)) == 1
}

// retriesSW is 63Cx with x the tries left (at most 15 fit).
func retriesSW(left int) uint16 {
	if left > 15 {
		left = 15
	}
	return 0x63C0 | uint16(left)
}

// pinRef is a PIN the card checks: its hash and counters.
type pinRef struct {
	hash      *[]byte
	left, max *int
}

// userPIN is the PIN that key reference ref names on this card: the PIV PIN (80), or
// the Global PIN (00) on a card that has one; ok false for anything else.
func (c *Card) userPIN(ref byte) (pinRef, bool) {
	switch {
	case ref == refPIN:
		return pinRef{&c.st.pinHash, &c.st.pinLeft, &c.st.pinMax}, true
	case ref == refGlobal && c.prof.GlobalPIN:
		return pinRef{&c.st.globalHash, &c.st.globalLeft, &c.st.globalMax}, true
	}
	return pinRef{}, false
}

// verify implements VERIFY (SP 800-73-4 Part 2 §3.2.1). P1 00 with data checks the PIN;
// P1 00 without data asks for the status; P1 FF without data resets the status. The
// PIV PIN (80) and, on a card with one, the Global PIN (00) each satisfy the PIN
// access conditions (the Discovery Object's usage policy says both do, 60 xx).
func (c *Card) verify(cmd apdu.Command) ([]byte, uint16) {
	switch cmd.P1 {
	case 0x00, 0xFF:
	default:
		return nil, apdu.SWIncorrectP1P2
	}
	pin, ok := c.userPIN(cmd.P2)
	if !ok {
		return nil, apdu.SWRefDataNotFound
	}
	if cmd.P1 == 0xFF {
		if len(cmd.Data) != 0 {
			return nil, apdu.SWWrongLength
		}
		c.pinVerified, c.pinJust = false, false
		return nil, apdu.SWOK
	}
	if len(cmd.Data) == 0 {
		switch {
		case *pin.left == 0:
			return nil, apdu.SWAuthBlocked
		case c.pinVerified:
			return nil, apdu.SWOK
		}
		return nil, retriesSW(*pin.left)
	}
	if !validPINBlock(cmd.Data) {
		return nil, apdu.SWIncorrectData
	}
	if *pin.left == 0 {
		return nil, apdu.SWAuthBlocked
	}
	if !c.checkSecret(*pin.hash, cmd.Data) {
		c.pinVerified, c.pinJust = false, false
		*pin.left--
		c.dirty = true
		return nil, retriesSW(*pin.left)
	}
	if *pin.left != *pin.max {
		*pin.left = *pin.max
		c.dirty = true
	}
	c.pinVerified, c.pinJust = true, true
	return nil, apdu.SWOK
}

// changeReference implements CHANGE REFERENCE DATA (SP 800-73-4 Part 2 §3.2.2) for the
// PIN (80) and the PUK (81): data = old value || new value, 8 bytes each.
func (c *Card) changeReference(cmd apdu.Command) ([]byte, uint16) {
	if cmd.P1 != 0x00 {
		return nil, apdu.SWIncorrectP1P2
	}
	var hash *[]byte
	var left *int
	var max int
	var isDefault *bool
	var factory []byte
	switch cmd.P2 {
	case refPIN:
		hash, left, max, isDefault, factory = &c.st.pinHash, &c.st.pinLeft, c.st.pinMax, &c.st.pinDefault, defaultPIN
	case refPUK:
		hash, left, max, isDefault, factory = &c.st.pukHash, &c.st.pukLeft, c.st.pukMax, &c.st.pukDefault, defaultPUK
	case refGlobal:
		if !c.prof.GlobalPIN {
			return nil, apdu.SWRefDataNotFound
		}
		var ignored bool
		hash, left, max, isDefault, factory = &c.st.globalHash, &c.st.globalLeft, c.st.globalMax, &ignored, defaultPIN
	default:
		return nil, apdu.SWRefDataNotFound
	}
	if len(cmd.Data) != 16 || !validPINBlock(cmd.Data[:8]) || !validPINBlock(cmd.Data[8:]) {
		return nil, apdu.SWIncorrectData
	}
	if *left == 0 {
		return nil, apdu.SWAuthBlocked
	}
	if !c.checkSecret(*hash, cmd.Data[:8]) {
		*left--
		if cmd.P2 == refPIN || cmd.P2 == refGlobal {
			c.pinVerified, c.pinJust = false, false
		}
		c.dirty = true
		return nil, retriesSW(*left)
	}
	*hash = c.hashSecret(cmd.Data[8:])
	*left = max
	*isDefault = bytes.Equal(cmd.Data[8:], factory)
	c.dirty = true
	return nil, apdu.SWOK
}

// resetRetry implements RESET RETRY COUNTER (SP 800-73-4 Part 2 §3.2.3): data = PUK ||
// new PIN; unblocks and sets the PIN.
func (c *Card) resetRetry(cmd apdu.Command) ([]byte, uint16) {
	if cmd.P1 != 0x00 {
		return nil, apdu.SWIncorrectP1P2
	}
	if cmd.P2 != refPIN {
		return nil, apdu.SWRefDataNotFound
	}
	if len(cmd.Data) != 16 || !validPINBlock(cmd.Data[:8]) || !validPINBlock(cmd.Data[8:]) {
		return nil, apdu.SWIncorrectData
	}
	if c.st.pukLeft == 0 {
		return nil, apdu.SWAuthBlocked
	}
	if !c.checkSecret(c.st.pukHash, cmd.Data[:8]) {
		c.st.pukLeft--
		c.dirty = true
		return nil, retriesSW(c.st.pukLeft)
	}
	c.st.pukLeft = c.st.pukMax
	c.st.pinHash = c.hashSecret(cmd.Data[8:])
	c.st.pinLeft = c.st.pinMax
	c.st.pinDefault = bytes.Equal(cmd.Data[8:], defaultPIN)
	c.pinVerified, c.pinJust = false, false
	c.dirty = true
	return nil, apdu.SWOK
}
