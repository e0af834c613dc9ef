package vpiv

import (
	"encoding/binary"

	"github.com/pcsc11/pcsc11/apdu"
)

// The YubiKey OTP application, only as far as PIV clients use it: on firmware before
// 5.0 PIV has no GET SERIAL, and yubico-piv-tool (ykpiv) and piv-go read the serial
// from the OTP application instead — SELECT A0 00 00 05 27 20 01 01, then
// 00 01 10 00 (slot 10, "device serial") answers 4 bytes big-endian — and select PIV
// again. Every YubiKey has it; a standard PIV card does not (6A82). Selecting it
// drops the PIV security status, as any other application does.
var otpAID = []byte{0xA0, 0x00, 0x00, 0x05, 0x27, 0x20, 0x01, 0x01}

const (
	insOTP          = 0x01
	otpSlotSerial   = 0x10
	otpStatusLength = 6
)

// selectOTP answers the OTP application's status: firmware version (3 bytes),
// programming sequence, touch level (2 bytes).
func (c *Card) selectOTP() ([]byte, uint16) {
	c.selected = false
	c.clearSecurity()
	c.otpSelected = true
	status := make([]byte, 0, otpStatusLength)
	status = append(status, c.prof.Version[:]...)
	return append(status, 0x01, 0x00, 0x00), apdu.SWOK
}

// otpCommand: only the serial read (00 01 10 00); anything else is not emulated.
func (c *Card) otpCommand(cmd apdu.Command) ([]byte, uint16) {
	if cmd.INS == insOTP && cmd.P1 == otpSlotSerial {
		return binary.BigEndian.AppendUint32(nil, c.st.serial), apdu.SWOK
	}
	return nil, apdu.SWInsNotSupported
}
