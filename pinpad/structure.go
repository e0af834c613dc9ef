package pinpad

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Message types added to the vpcd protocol by the pcsc11 PIN-pad reader driver.
const (
	MsgVerify byte = 0xF1 // payload: MsgVerify || PIN_VERIFY_STRUCTURE
	MsgModify byte = 0xF2 // payload: MsgModify || PIN_MODIFY_STRUCTURE
)

// Sizes of the packed structures before abData (pcsc-lite reader.h, PC/SC part 10).
const (
	verifyHeader = 19
	modifyHeader = 24
)

// errStructure is a request the reader rejects (answered 6B80). Its text never holds
// PIN material: the structures carry none.
var errStructure = errors.New("pinpad: invalid PIN structure")

func structErr(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{errStructure}, args...)...)
}

// Format holds the fields shared by PIN_VERIFY_STRUCTURE and PIN_MODIFY_STRUCTURE.
type Format struct {
	TimerOut, TimerOut2 byte
	// FormatString (bmFormatString): bit 7 units (1 bytes, 0 bits), bits 6-3 PIN
	// position, bit 2 right justification, bits 1-0 encoding (00 binary, 01 BCD,
	// 10 ASCII).
	FormatString byte
	// PINBlockString (bmPINBlockString): bits 7-4 size in bits of the PIN length
	// field, bits 3-0 PIN block size in bytes.
	PINBlockString byte
	// PINLengthFormat (bmPINLengthFormat): bit 4 units (1 bytes, 0 bits), bits 3-0
	// position of the PIN length field; bits 7-5 RFU.
	PINLengthFormat byte
	// MinPIN and MaxPIN come from wPINMaxExtraDigit = min << 8 | max.
	MinPIN, MaxPIN  byte
	EntryValidation byte // bEntryValidationCondition: 01 max size, 02 key, 04 timeout
	NumberMessage   byte
	LangID          uint16
	TeoPrologue     [3]byte
}

// Verify is a parsed PIN_VERIFY_STRUCTURE.
type Verify struct {
	Format
	MsgIndex byte
	APDU     []byte // abData: the command template
}

// Modify is a parsed PIN_MODIFY_STRUCTURE.
type Modify struct {
	Format
	InsertionOffsetOld, InsertionOffsetNew byte
	ConfirmPIN                             byte // bit 0 confirm new PIN, bit 1 enter current PIN
	MsgIndex                               [3]byte
	APDU                                   []byte
}

// ParseVerify decodes a PIN_VERIFY_STRUCTURE (packed, little-endian). The length must
// match ulDataLength exactly and the fields must make sense; the PIN layout is checked
// against the APDU when the PIN is inserted.
func ParseVerify(b []byte) (*Verify, error) {
	if len(b) < verifyHeader {
		return nil, structErr("verify structure of %d bytes", len(b))
	}
	v := &Verify{}
	v.Format = parseFormat(b[0], b[1], b[2], b[3], b[4], b[5:7], b[7], b[8], b[9:11])
	v.MsgIndex = b[11]
	copy(v.TeoPrologue[:], b[12:15])
	apdu, err := dataField(b, 15, verifyHeader)
	if err != nil {
		return nil, err
	}
	v.APDU = apdu
	if err := v.Format.check(); err != nil {
		return nil, err
	}
	return v, nil
}

// ParseModify decodes a PIN_MODIFY_STRUCTURE (packed, little-endian).
func ParseModify(b []byte) (*Modify, error) {
	if len(b) < modifyHeader {
		return nil, structErr("modify structure of %d bytes", len(b))
	}
	m := &Modify{}
	m.Format = parseFormat(b[0], b[1], b[2], b[3], b[4], b[7:9], b[10], b[11], b[12:14])
	m.InsertionOffsetOld, m.InsertionOffsetNew = b[5], b[6]
	m.ConfirmPIN = b[9]
	copy(m.MsgIndex[:], b[14:17])
	copy(m.TeoPrologue[:], b[17:20])
	apdu, err := dataField(b, 20, modifyHeader)
	if err != nil {
		return nil, err
	}
	m.APDU = apdu
	if err := m.Format.check(); err != nil {
		return nil, err
	}
	if m.ConfirmPIN&^0x03 != 0 {
		return nil, structErr("bConfirmPIN %#02x has RFU bits", m.ConfirmPIN)
	}
	return m, nil
}

func parseFormat(t1, t2, fs, bs, lf byte, maxExtra []byte, entry, nmsg byte, lang []byte) Format {
	// wPINMaxExtraDigit is 0xXXYY (XX minimum, YY maximum), stored little-endian.
	w := binary.LittleEndian.Uint16(maxExtra)
	return Format{
		TimerOut: t1, TimerOut2: t2,
		FormatString: fs, PINBlockString: bs, PINLengthFormat: lf,
		MinPIN: byte(w >> 8), MaxPIN: byte(w),
		EntryValidation: entry, NumberMessage: nmsg,
		LangID: binary.LittleEndian.Uint16(lang),
	}
}

// dataField returns abData after checking ulDataLength (at off) against the bytes that
// follow the header.
func dataField(b []byte, off, header int) ([]byte, error) {
	n := binary.LittleEndian.Uint32(b[off : off+4])
	rest := len(b) - header
	if uint64(n) != uint64(rest) {
		return nil, structErr("ulDataLength %d but %d bytes follow", n, rest)
	}
	if rest < 4 {
		return nil, structErr("APDU of %d bytes", rest)
	}
	return append([]byte(nil), b[header:]...), nil
}

// check validates the fields that do not depend on the APDU.
func (f *Format) check() error {
	switch {
	case f.FormatString&0x03 == 0x03:
		return structErr("RFU PIN encoding")
	case f.FormatString&0x03 == 0x00:
		return structErr("binary PIN encoding is not supported by this reader")
	case f.PINLengthFormat&0xE0 != 0:
		return structErr("bmPINLengthFormat %#02x has RFU bits", f.PINLengthFormat)
	case f.MaxPIN == 0 || f.MinPIN == 0 || f.MinPIN > f.MaxPIN:
		return structErr("PIN size range %d..%d", f.MinPIN, f.MaxPIN)
	case f.EntryValidation == 0 || f.EntryValidation&^0x07 != 0:
		return structErr("bEntryValidationCondition %#02x", f.EntryValidation)
	case f.NumberMessage > 3 && f.NumberMessage != 0xFF:
		return structErr("bNumberMessage %#02x", f.NumberMessage)
	}
	return nil
}

// Marshal encodes the structure as an application passes it to SCardControl.
func (v *Verify) Marshal() []byte {
	b := make([]byte, verifyHeader, verifyHeader+len(v.APDU))
	putFormat(b, &v.Format, 5, 7)
	b[11] = v.MsgIndex
	copy(b[12:15], v.TeoPrologue[:])
	binary.LittleEndian.PutUint32(b[15:19], uint32(len(v.APDU)))
	return append(b, v.APDU...)
}

// Marshal encodes the structure as an application passes it to SCardControl.
func (m *Modify) Marshal() []byte {
	b := make([]byte, modifyHeader, modifyHeader+len(m.APDU))
	putFormat(b, &m.Format, 7, 10)
	b[5], b[6] = m.InsertionOffsetOld, m.InsertionOffsetNew
	b[9] = m.ConfirmPIN
	copy(b[14:17], m.MsgIndex[:])
	copy(b[17:20], m.TeoPrologue[:])
	binary.LittleEndian.PutUint32(b[20:24], uint32(len(m.APDU)))
	return append(b, m.APDU...)
}

// putFormat writes the shared fields; extra is where wPINMaxExtraDigit goes and entry
// where bEntryValidationCondition, bNumberMessage and wLangId follow.
func putFormat(b []byte, f *Format, extra, entry int) {
	b[0], b[1], b[2], b[3], b[4] = f.TimerOut, f.TimerOut2, f.FormatString, f.PINBlockString, f.PINLengthFormat
	binary.LittleEndian.PutUint16(b[extra:], uint16(f.MinPIN)<<8|uint16(f.MaxPIN))
	b[entry], b[entry+1] = f.EntryValidation, f.NumberMessage
	binary.LittleEndian.PutUint16(b[entry+2:], f.LangID)
}
