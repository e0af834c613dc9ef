package apdu

import (
	"errors"
	"fmt"
)

// Size limits of ISO 7816-4 §5.1: a short APDU carries up to 255 data bytes and expects
// up to 256; an extended one up to 65535 and 65536.
const (
	MaxShortData  = 255
	MaxShortNe    = 256
	MaxExtendData = 65535
	MaxExtendNe   = 65536
)

// ErrMalformedCommand is wrapped by every ParseCommand and Encode error, so callers (the
// virtual card) can answer 6700 without parsing messages.
var ErrMalformedCommand = errors.New("apdu: malformed command")

// Command is an ISO 7816-4 command APDU.
type Command struct {
	CLA, INS, P1, P2 byte
	Data             []byte
	// Ne is the expected response length: 0 = no Le field; 1..256 short (256 encodes as
	// Le=00); up to 65536 extended (65536 encodes as 0000).
	Ne int
}

// Encode serializes c. Short form when Data ≤ 255 bytes and Ne ≤ 256 and !extended;
// extended form otherwise (or when extended is true). Errors on Data > 65535 or bad Ne.
// A case 1 command (no data, no Le) is the bare header in both forms.
func (c Command) Encode(extended bool) ([]byte, error) {
	nc := len(c.Data)
	if nc > MaxExtendData {
		return nil, fmt.Errorf("%w: %d data bytes (max %d)", ErrMalformedCommand, nc, MaxExtendData)
	}
	if c.Ne < 0 || c.Ne > MaxExtendNe {
		return nil, fmt.Errorf("%w: Ne %d out of range 0..%d", ErrMalformedCommand, c.Ne, MaxExtendNe)
	}
	out := make([]byte, 0, 4+3+nc+3)
	out = append(out, c.CLA, c.INS, c.P1, c.P2)
	if nc == 0 && c.Ne == 0 {
		return out, nil // case 1
	}
	ext := extended || nc > MaxShortData || c.Ne > MaxShortNe
	if !ext {
		if nc > 0 {
			out = append(out, byte(nc))
			out = append(out, c.Data...)
		}
		if c.Ne > 0 {
			out = append(out, byte(c.Ne)) // 256 → 00
		}
		return out, nil
	}
	// Extended (§5.1): one 00 marker byte, then Lc on two bytes and/or Le on two bytes;
	// in case 4E the Le field has no marker of its own.
	out = append(out, 0)
	if nc > 0 {
		out = append(out, byte(nc>>8), byte(nc))
		out = append(out, c.Data...)
	}
	if c.Ne > 0 {
		out = append(out, byte(c.Ne>>8), byte(c.Ne)) // 65536 → 0000
	}
	return out, nil
}

// ParseCommand decodes a raw command APDU (cases 1, 2S, 3S, 4S, 2E, 3E, 4E) strictly.
// Used by the virtual card. Malformed input is an error (never a panic). The returned
// Data is a copy, so raw may be reused.
func ParseCommand(raw []byte) (Command, error) {
	n := len(raw)
	if n < 4 {
		return Command{}, fmt.Errorf("%w: %d bytes, header needs 4", ErrMalformedCommand, n)
	}
	c := Command{CLA: raw[0], INS: raw[1], P1: raw[2], P2: raw[3]}
	body := raw[4:]
	switch {
	case len(body) == 0: // case 1
		return c, nil
	case len(body) == 1: // case 2S
		c.Ne = shortNe(body[0])
		return c, nil
	case body[0] != 0: // case 3S or 4S
		lc := int(body[0])
		switch len(body) {
		case 1 + lc:
			c.Data = clone(body[1:])
		case 1 + lc + 1:
			c.Data = clone(body[1 : 1+lc])
			c.Ne = shortNe(body[1+lc])
		default:
			return Command{}, fmt.Errorf("%w: short Lc %d inconsistent with %d body bytes", ErrMalformedCommand, lc, len(body))
		}
		return c, nil
	case len(body) == 3: // case 2E: 00 Le1 Le2
		c.Ne = extNe(body[1], body[2])
		return c, nil
	case len(body) < 3:
		return Command{}, fmt.Errorf("%w: truncated extended length field", ErrMalformedCommand)
	}
	// case 3E or 4E: 00 Lc1 Lc2 data [Le1 Le2]
	lc := int(body[1])<<8 | int(body[2])
	if lc == 0 {
		return Command{}, fmt.Errorf("%w: extended Lc of 0", ErrMalformedCommand)
	}
	switch len(body) {
	case 3 + lc:
		c.Data = clone(body[3:])
	case 3 + lc + 2:
		c.Data = clone(body[3 : 3+lc])
		c.Ne = extNe(body[3+lc], body[4+lc])
	default:
		return Command{}, fmt.Errorf("%w: extended Lc %d inconsistent with %d body bytes", ErrMalformedCommand, lc, len(body))
	}
	return c, nil
}

// Extended reports whether raw used the extended length form (the virtual card answers
// in kind). It assumes raw already passed ParseCommand.
func Extended(raw []byte) bool {
	return len(raw) >= 7 && raw[4] == 0
}

func shortNe(le byte) int {
	if le == 0 {
		return MaxShortNe
	}
	return int(le)
}

func extNe(hi, lo byte) int {
	ne := int(hi)<<8 | int(lo)
	if ne == 0 {
		return MaxExtendNe
	}
	return ne
}

func clone(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return append([]byte(nil), b...)
}
