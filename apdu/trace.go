package apdu

import "fmt"

// sensitiveINS lists instructions whose command data is or may be a secret: VERIFY,
// CHANGE REFERENCE DATA and RESET RETRY COUNTER carry PINs/PUKs, GENERAL AUTHENTICATE
// carries management-key proofs and data to sign or decrypt, the Yubico extensions
// SET MANAGEMENT KEY (FF) and IMPORT ASYMMETRIC KEY (FE) carry keys, PUT DATA (DB) may
// carry protected objects. DESIGN.md: traces redact these.
var sensitiveINS = map[byte]bool{0x20: true, 0x24: true, 0x2C: true, 0x87: true, 0xFF: true, 0xFE: true, 0xDB: true}

// Sensitive reports whether a command's data must never be logged.
func (c Command) Sensitive() bool { return sensitiveINS[c.INS] }

// String is a trace line for c. Data is shown only for instructions that carry no
// secrets; otherwise only its length. It also keeps %v of a Command from printing a PIN.
func (c Command) String() string {
	s := fmt.Sprintf("%02X %02X %02X %02X", c.CLA, c.INS, c.P1, c.P2)
	if len(c.Data) > 0 {
		if c.Sensitive() {
			s += fmt.Sprintf(" Lc=%d [redacted]", len(c.Data))
		} else {
			s += fmt.Sprintf(" Lc=%d % X", len(c.Data), c.Data)
		}
	}
	if c.Ne > 0 {
		s += fmt.Sprintf(" Ne=%d", c.Ne)
	}
	return s
}

// String is a trace line for r: its length and status only, since response data can be
// a decrypted secret or a private object.
func (r Response) String() string {
	return fmt.Sprintf("%d bytes, SW %04X (%s)", len(r.Data), r.SW, StatusText(r.SW))
}
