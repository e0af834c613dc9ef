package apdu

import "fmt"

// String is a log line for c: the header, and the data only as far as the redactor
// (redact.go) allows, otherwise its length. It also keeps %v of a Command from
// printing a PIN.
func (c Command) String() string {
	s := fmt.Sprintf("%02X %02X %02X %02X", c.CLA, c.INS, c.P1, c.P2)
	if len(c.Data) > 0 {
		shown := classify(c, false, false).shown
		switch {
		case shown >= len(c.Data):
			s += fmt.Sprintf(" Lc=%d % X", len(c.Data), c.Data)
		case shown > 0:
			s += fmt.Sprintf(" Lc=%d % X [%d bytes redacted]", len(c.Data), c.Data[:shown], len(c.Data)-shown)
		default:
			s += fmt.Sprintf(" Lc=%d [redacted]", len(c.Data))
		}
	}
	if c.Ne > 0 {
		s += fmt.Sprintf(" Ne=%d", c.Ne)
	}
	return s
}

// String is a log line for r: its length and status only, since response data can be
// a decrypted secret or a private object (an answer is judged by its command: see
// Redactor).
func (r Response) String() string {
	return fmt.Sprintf("%d bytes, SW %04X (%s)", len(r.Data), r.SW, StatusText(r.SW))
}
