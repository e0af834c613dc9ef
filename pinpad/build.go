package pinpad

import "encoding/binary"

// template is a command APDU split around its data field.
type template struct {
	header   []byte // CLA INS P1 P2
	data     []byte // command data (a copy; the PIN goes in here)
	le       []byte // trailing Le field as sent (0, 1, 2 or 3 bytes)
	extended bool
}

// parseTemplate splits abData into header, data and Le (ISO 7816-3 §12.1 cases). A
// case 2 APDU (Le only) carries nothing to put a PIN in and is refused.
func parseTemplate(b []byte) (*template, error) {
	t := &template{header: b[:4]}
	body := b[4:]
	switch {
	case len(body) == 0:
		return t, nil // case 1: the reader appends Lc and the PIN
	case body[0] != 0: // short Lc
		lc := int(body[0])
		switch len(body) - 1 - lc {
		case 0, 1:
			t.data = append([]byte(nil), body[1:1+lc]...)
			t.le = body[1+lc:]
			return t, nil
		}
	case len(body) >= 3 && (body[1] != 0 || body[2] != 0): // extended Lc
		lc := int(binary.BigEndian.Uint16(body[1:3]))
		switch len(body) - 3 - lc {
		case 0, 2:
			t.data = append([]byte(nil), body[3:3+lc]...)
			t.le = body[3+lc:]
			t.extended = true
			return t, nil
		}
	}
	return nil, structErr("APDU template is not a command with data")
}

// bytes re-encodes the APDU with the (filled) data field.
func (t *template) bytes() ([]byte, error) {
	out := append([]byte(nil), t.header...)
	n := len(t.data)
	switch {
	case n == 0:
		return append(out, t.le...), nil
	case !t.extended && n <= 255:
		out = append(out, byte(n))
	case n <= 65535:
		if !t.extended && len(t.le) == 1 {
			return nil, structErr("PIN does not fit a short APDU")
		}
		out = append(out, 0, byte(n>>8), byte(n))
	default:
		return nil, structErr("APDU data too long")
	}
	out = append(out, t.data...)
	return append(out, t.le...), nil
}

// layout is where one PIN goes, from the Format fields and an insertion offset.
type layout struct {
	bcd                bool // else ASCII
	right              bool
	pinBit             int // PIN position inside the block, in bits
	blockBytes         int
	lenBits, lenBitPos int // PIN length field (lenBits 0: none), inside the block
}

func (f *Format) layout() layout {
	l := layout{
		bcd:        f.FormatString&0x03 == 0x01,
		right:      f.FormatString&0x04 != 0,
		pinBit:     int(f.FormatString>>3) & 0x0F,
		blockBytes: int(f.PINBlockString & 0x0F),
		lenBits:    int(f.PINBlockString >> 4),
		lenBitPos:  int(f.PINLengthFormat & 0x0F),
	}
	if f.FormatString&0x80 != 0 { // positions in bytes
		l.pinBit *= 8
	}
	if f.PINLengthFormat&0x10 != 0 {
		l.lenBitPos *= 8
	}
	return l
}

func (l layout) digitBits() int {
	if l.bcd {
		return 4
	}
	return 8
}

// check validates the layout for PINs up to maxPIN digits with the block at byte
// offset base of a data field of dataLen bytes (the CCID reader firmware checks the
// same before it prompts; failures are 6B80).
func (l layout) check(maxPIN, base, dataLen int) error {
	blockBits := l.blockBytes * 8
	switch {
	case l.blockBytes == 0:
		return structErr("PIN block size 0 with a data-bearing APDU")
	case base+l.blockBytes > dataLen:
		return structErr("PIN block beyond the APDU data")
	case l.pinBit%l.digitBits() != 0:
		return structErr("PIN position not aligned to its encoding")
	case l.pinBit+maxPIN*l.digitBits() > blockBits:
		return structErr("%d-digit PIN does not fit the PIN block", maxPIN)
	case l.lenBits > 0 && l.lenBitPos+l.lenBits > blockBits:
		return structErr("PIN length field beyond the PIN block")
	case l.lenBits > 0 && l.lenBits < 16 && maxPIN >= 1<<l.lenBits:
		return structErr("PIN length field too small")
	}
	return nil
}

// put writes digits (and the length field) into data, block at byte offset base.
// Bytes of the block not covered keep the template's values (the padding the
// application chose, 0xFF for PIV).
func (l layout) put(data []byte, base int, digits string) {
	db := l.digitBits()
	start := base*8 + l.pinBit
	if l.right {
		start = (base+l.blockBytes)*8 - len(digits)*db
	}
	for i := 0; i < len(digits); i++ {
		v := uint64(digits[i] - '0')
		if !l.bcd {
			v = uint64(digits[i])
		}
		setBits(data, start+i*db, db, v)
	}
	if l.lenBits > 0 {
		setBits(data, base*8+l.lenBitPos, l.lenBits, uint64(len(digits)))
	}
}

// setBits stores the n low bits of v at bit offset pos of b, most significant first.
// Callers have checked the range.
func setBits(b []byte, pos, n int, v uint64) {
	for i := 0; i < n; i++ {
		bit := pos + i
		mask := byte(0x80) >> (bit % 8)
		if v>>(n-1-i)&1 != 0 {
			b[bit/8] |= mask
		} else {
			b[bit/8] &^= mask
		}
	}
}

// encodeBare encodes a PIN for a case 1 template (no block: Lc becomes the PIN's
// length). BCD with an odd number of digits ends with an F nibble.
func (l layout) encodeBare(digits string) []byte {
	if !l.bcd {
		return []byte(digits)
	}
	out := make([]byte, (len(digits)+1)/2)
	for i := range out {
		out[i] = 0xFF
	}
	for i := 0; i < len(digits); i++ {
		setBits(out, i*4, 4, uint64(digits[i]-'0'))
	}
	return out
}

// checkBare validates a case 1 template: the reader builds the data from the PIN(s)
// alone, so no block, position, offset or length field can be honoured.
func (l layout) checkBare(offsets ...byte) error {
	if l.blockBytes != 0 || l.lenBits != 0 || l.pinBit != 0 || l.right {
		return structErr("PIN block layout given for an APDU without data")
	}
	for _, o := range offsets {
		if o != 0 {
			return structErr("insertion offset given for an APDU without data")
		}
	}
	return nil
}

// checkLayout validates a verify structure's layout against its APDU.
func (v *Verify) checkLayout() (*template, error) {
	t, err := parseTemplate(v.APDU)
	if err != nil {
		return nil, err
	}
	l := v.layout()
	if t.data == nil {
		return t, l.checkBare()
	}
	return t, l.check(int(v.MaxPIN), 0, len(t.data))
}

// build returns the command APDU with pin inserted. The caller has checked that
// pin is digits within the structure's length limits.
func (v *Verify) build(t *template, pin string) ([]byte, error) {
	l := v.layout()
	if t.data == nil {
		t.data = l.encodeBare(pin)
	} else {
		l.put(t.data, 0, pin)
	}
	defer wipe(t.data)
	return t.bytes()
}

// checkLayout validates a modify structure's layout against its APDU: the current
// PIN's block at bInsertionOffsetOld (when bConfirmPIN asks for it), the new PIN's at
// bInsertionOffsetNew, both relative to the start of the command data.
func (m *Modify) checkLayout() (*template, error) {
	t, err := parseTemplate(m.APDU)
	if err != nil {
		return nil, err
	}
	l := m.layout()
	if t.data == nil {
		return t, l.checkBare(m.InsertionOffsetOld, m.InsertionOffsetNew)
	}
	if err := l.check(int(m.MaxPIN), int(m.InsertionOffsetNew), len(t.data)); err != nil {
		return nil, err
	}
	if m.ConfirmPIN&0x02 != 0 {
		if err := l.check(int(m.MaxPIN), int(m.InsertionOffsetOld), len(t.data)); err != nil {
			return nil, err
		}
		o, n := int(m.InsertionOffsetOld), int(m.InsertionOffsetNew)
		if o < n+l.blockBytes && n < o+l.blockBytes {
			return nil, structErr("current and new PIN blocks overlap")
		}
	}
	return t, nil
}

// build returns the command APDU with the PINs inserted (old is ignored unless
// bConfirmPIN asks for the current PIN).
func (m *Modify) build(t *template, old, pin string) ([]byte, error) {
	l := m.layout()
	withOld := m.ConfirmPIN&0x02 != 0
	if t.data == nil {
		if withOld {
			t.data = append(l.encodeBare(old), l.encodeBare(pin)...)
		} else {
			t.data = l.encodeBare(pin)
		}
	} else {
		if withOld {
			l.put(t.data, int(m.InsertionOffsetOld), old)
		}
		l.put(t.data, int(m.InsertionOffsetNew), pin)
	}
	defer wipe(t.data)
	return t.bytes()
}

// wipe clears a buffer that held PIN digits.
func wipe(b []byte) {
	for i := range b {
		b[i] = 0
	}
}
