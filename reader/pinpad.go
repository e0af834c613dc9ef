package reader

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// PC/SC v2 part 10 PIN-pad properties and the PIN_VERIFY / PIN_MODIFY structures an
// application passes to FEATURE_VERIFY_PIN_DIRECT / FEATURE_MODIFY_PIN_DIRECT.

// Status words a PIN-pad reader answers instead of the card's (PC/SC v2 part 10; the
// CCID driver and OpenSC read them this way).
const (
	SWPINPadTimeout     uint16 = 0x6400 // no entry in time
	SWPINPadCancelled   uint16 = 0x6401 // the user pressed cancel
	SWPINPadMismatch    uint16 = 0x6402 // new PIN and its confirmation differ
	SWPINPadLengthRange uint16 = 0x6403 // PIN shorter or longer than the structure allows
	SWPINPadBadParam    uint16 = 0x6B80 // the reader rejected the structure
)

// Property tags of FEATURE_GET_TLV_PROPERTIES (PCSCv2_PART10_PROPERTY_* in pcsc-lite's
// reader.h).
const (
	PropLcdLayout           = 0x01
	PropEntryValidation     = 0x02
	PropTimeOut2            = 0x03
	PropLcdMaxCharacters    = 0x04
	PropLcdMaxLines         = 0x05
	PropMinPINSize          = 0x06
	PropMaxPINSize          = 0x07
	PropFirmwareID          = 0x08
	PropPPDUSupport         = 0x09
	PropMaxAPDUDataSize     = 0x0A
	PropIDVendor            = 0x0B
	PropIDProduct           = 0x0C
	maxFirmwareIDPrintables = 64
)

// PINProperties is what a reader tells about its PIN entry. A property the reader did
// not tell is zero and its bit in Told is clear: MinPIN/MaxPIN 0 put no bound beyond
// the card's.
type PINProperties struct {
	LcdLayout        uint16 // 0: no display; else lines<<8 | characters per line
	EntryValidation  byte   // bEntryValidationCondition the reader supports (01 max size, 02 key, 04 timeout)
	TimeOut2         byte   // seconds after the first key stroke
	LcdMaxCharacters uint16 // wLcdMaxCharacters
	LcdMaxLines      uint16 // wLcdMaxLines
	MinPIN, MaxPIN   byte   // bMinPINSize, bMaxPINSize
	FirmwareID       string // printable ASCII only, cut to 64 characters
	PPDUSupport      byte   // bPPDUSupport
	MaxAPDUData      uint32 // dwMaxAPDUDataSize
	VendorID         uint16
	ProductID        uint16
	// Told has bit 1<<tag set for each property (Prop* tag) the reader gave: the
	// `pcsc11 readers` output shows those only.
	Told uint16
}

// HasProp reports whether the reader told the property tag (a Prop* constant).
func (p PINProperties) HasProp(tag byte) bool { return tag < 16 && p.Told&(1<<tag) != 0 }

// HasDisplay reports a reader with a display (wLcdLayout not zero).
func (p PINProperties) HasDisplay() bool { return p.LcdLayout != 0 }

// ErrBadProperties: the reader's PIN properties are malformed.
var ErrBadProperties = errors.New("reader: malformed part 10 PIN properties")

func propErr(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrBadProperties}, args...)...)
}

// ParseTLVProperties decodes the answer to FEATURE_GET_TLV_PROPERTIES: records of
// tag(1) length(1) value(length, little-endian). A truncated record, a known tag with
// the wrong size, a tag twice or min > max rejects the whole answer. Unknown tags are
// skipped.
func ParseTLVProperties(b []byte) (PINProperties, error) {
	var p PINProperties
	var seen [256]bool
	size := map[byte]int{PropLcdLayout: 2, PropEntryValidation: 1, PropTimeOut2: 1,
		PropLcdMaxCharacters: 2, PropLcdMaxLines: 2, PropMinPINSize: 1, PropMaxPINSize: 1,
		PropPPDUSupport: 1, PropMaxAPDUDataSize: 4, PropIDVendor: 2, PropIDProduct: 2}
	for off := 0; off < len(b); {
		if len(b)-off < 2 {
			return PINProperties{}, propErr("%d trailing bytes", len(b)-off)
		}
		tag, l := b[off], int(b[off+1])
		off += 2
		if len(b)-off < l {
			return PINProperties{}, propErr("tag %02x: %d bytes announced, %d left", tag, l, len(b)-off)
		}
		v := b[off : off+l]
		off += l
		if seen[tag] {
			return PINProperties{}, propErr("tag %02x twice", tag)
		}
		seen[tag] = true
		if want, ok := size[tag]; ok && l != want {
			return PINProperties{}, propErr("tag %02x has length %d, want %d", tag, l, want)
		}
		switch tag {
		case PropLcdLayout:
			p.LcdLayout = binary.LittleEndian.Uint16(v)
		case PropEntryValidation:
			p.EntryValidation = v[0]
		case PropTimeOut2:
			p.TimeOut2 = v[0]
		case PropLcdMaxCharacters:
			p.LcdMaxCharacters = binary.LittleEndian.Uint16(v)
		case PropLcdMaxLines:
			p.LcdMaxLines = binary.LittleEndian.Uint16(v)
		case PropMinPINSize:
			p.MinPIN = v[0]
		case PropMaxPINSize:
			p.MaxPIN = v[0]
		case PropFirmwareID:
			p.FirmwareID = printable(v)
		case PropPPDUSupport:
			p.PPDUSupport = v[0]
		case PropMaxAPDUDataSize:
			p.MaxAPDUData = binary.LittleEndian.Uint32(v)
		case PropIDVendor:
			p.VendorID = binary.LittleEndian.Uint16(v)
		case PropIDProduct:
			p.ProductID = binary.LittleEndian.Uint16(v)
		default:
			continue
		}
		p.Told |= 1 << tag
	}
	if p.MinPIN != 0 && p.MaxPIN != 0 && p.MinPIN > p.MaxPIN {
		return PINProperties{}, propErr("PIN size range %d..%d", p.MinPIN, p.MaxPIN)
	}
	return p, nil
}

// printable keeps a firmware ID fit for logs: printable ASCII only, bounded.
func printable(v []byte) string {
	out := make([]byte, 0, min(len(v), maxFirmwareIDPrintables))
	for _, c := range v {
		if len(out) == maxFirmwareIDPrintables {
			break
		}
		if c >= 0x20 && c < 0x7F {
			out = append(out, c)
		}
	}
	return string(out)
}

// ParseIFDPINProperties decodes PIN_PROPERTIES_STRUCTURE (FEATURE_IFD_PIN_PROPERTIES):
// wLcdLayout (little-endian), bEntryValidationCondition, bTimeOut2 — exactly 4 bytes.
func ParseIFDPINProperties(b []byte) (PINProperties, error) {
	if len(b) != 4 {
		return PINProperties{}, propErr("PIN_PROPERTIES_STRUCTURE of %d bytes", len(b))
	}
	return PINProperties{LcdLayout: binary.LittleEndian.Uint16(b), EntryValidation: b[2], TimeOut2: b[3],
		Told: 1<<PropLcdLayout | 1<<PropEntryValidation | 1<<PropTimeOut2}, nil
}

// ReadPINProperties asks the reader for its PIN properties: GET_TLV_PROPERTIES when
// announced (it tells the PIN sizes too), else IFD_PIN_PROPERTIES. Transport failures
// are returned; a reader that refuses or answers garbage tells nothing (zero
// properties, no error): the card's own bounds then apply.
func ReadPINProperties(card Card, fs FeatureSet) (PINProperties, error) {
	try := func(code uint32, parse func([]byte) (PINProperties, error)) (PINProperties, bool, error) {
		if code == 0 {
			return PINProperties{}, false, nil
		}
		out, err := card.Control(code, nil)
		if err != nil {
			if isTransportErr(err) {
				return PINProperties{}, false, err
			}
			return PINProperties{}, false, nil
		}
		p, err := parse(out)
		if err != nil {
			traceLine("pin properties: %v; ignored", err)
			return PINProperties{}, false, nil
		}
		return p, true, nil
	}
	if p, ok, err := try(fs.GetTLVProperties, ParseTLVProperties); ok || err != nil {
		return p, err
	}
	p, _, err := try(fs.IFDPINProperties, ParseIFDPINProperties)
	return p, err
}

// isTransportErr reports the sentinels that mean the reader or card went away, as
// opposed to a reader refusing one request.
func isTransportErr(err error) bool {
	for _, s := range []error{ErrCardRemoved, ErrReaderGone, ErrCardReset, ErrCancelled, ErrNoCard} {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

// PINFormat holds the fields PIN_VERIFY_STRUCTURE and PIN_MODIFY_STRUCTURE share.
type PINFormat struct {
	TimeOut, TimeOut2 byte // seconds; 0 = the reader's default
	// FormatString (bmFormatString): bit 7 position unit (1 byte, 0 bit), bits 6-3 PIN
	// position in the block, bit 2 right justify, bits 1-0 encoding (00 binary, 01 BCD,
	// 10 ASCII).
	FormatString byte
	// PINBlockString (bmPINBlockString): bits 7-4 size in bits of a PIN length field,
	// bits 3-0 PIN block size in bytes.
	PINBlockString byte
	// PINLengthFormat (bmPINLengthFormat): bit 4 unit, bits 3-0 position of the PIN
	// length field; bits 7-5 RFU.
	PINLengthFormat byte
	MinPIN, MaxPIN  byte   // wPINMaxExtraDigit = MinPIN<<8 | MaxPIN
	EntryValidation byte   // bEntryValidationCondition
	NumberMessage   byte   // bNumberMessage
	LangID          uint16 // wLangId
	TeoPrologue     [3]byte
}

// ErrBadPINStructure: fields that no reader could accept (caught before SCardControl).
var ErrBadPINStructure = errors.New("reader: invalid PIN structure")

func (f *PINFormat) check(apduLen int) error {
	switch {
	case f.FormatString&0x03 == 0x03:
		return fmt.Errorf("%w: RFU PIN encoding", ErrBadPINStructure)
	case f.PINLengthFormat&0xE0 != 0:
		return fmt.Errorf("%w: bmPINLengthFormat RFU bits", ErrBadPINStructure)
	case f.MinPIN == 0 || f.MinPIN > f.MaxPIN:
		return fmt.Errorf("%w: PIN size range %d..%d", ErrBadPINStructure, f.MinPIN, f.MaxPIN)
	case f.EntryValidation == 0 || f.EntryValidation&^0x07 != 0:
		return fmt.Errorf("%w: bEntryValidationCondition %#02x", ErrBadPINStructure, f.EntryValidation)
	case apduLen < 4 || apduLen > 0xFFFF+7:
		return fmt.Errorf("%w: APDU of %d bytes", ErrBadPINStructure, apduLen)
	}
	return nil
}

// putFormat writes the shared fields; extra is the offset of wPINMaxExtraDigit and
// entry the offset of bEntryValidationCondition (bNumberMessage and wLangId follow).
func (f *PINFormat) put(b []byte, extra, entry int) {
	b[0], b[1], b[2], b[3], b[4] = f.TimeOut, f.TimeOut2, f.FormatString, f.PINBlockString, f.PINLengthFormat
	binary.LittleEndian.PutUint16(b[extra:], uint16(f.MinPIN)<<8|uint16(f.MaxPIN))
	b[entry], b[entry+1] = f.EntryValidation, f.NumberMessage
	binary.LittleEndian.PutUint16(b[entry+2:], f.LangID)
}

// VerifyPIN is PIN_VERIFY_STRUCTURE (pcsc-lite reader.h layout: packed, little-endian,
// 19 bytes before abData).
type VerifyPIN struct {
	PINFormat
	MsgIndex byte
	APDU     []byte // the command template; the reader inserts the PIN
}

// Marshal encodes the structure for SCardControl(FEATURE_VERIFY_PIN_DIRECT).
func (v *VerifyPIN) Marshal() ([]byte, error) {
	if err := v.check(len(v.APDU)); err != nil {
		return nil, err
	}
	b := make([]byte, 19, 19+len(v.APDU))
	v.put(b, 5, 7)
	b[11] = v.MsgIndex
	copy(b[12:15], v.TeoPrologue[:])
	binary.LittleEndian.PutUint32(b[15:19], uint32(len(v.APDU)))
	return append(b, v.APDU...), nil
}

// ModifyPIN is PIN_MODIFY_STRUCTURE (packed, little-endian, 24 bytes before abData).
type ModifyPIN struct {
	PINFormat
	InsertionOffsetOld, InsertionOffsetNew byte // bytes into the command data
	ConfirmPIN                             byte // bit 0 confirm the new PIN, bit 1 enter the current PIN
	MsgIndex                               [3]byte
	APDU                                   []byte
}

// Marshal encodes the structure for SCardControl(FEATURE_MODIFY_PIN_DIRECT).
func (m *ModifyPIN) Marshal() ([]byte, error) {
	if err := m.check(len(m.APDU)); err != nil {
		return nil, err
	}
	if m.ConfirmPIN&^0x03 != 0 {
		return nil, fmt.Errorf("%w: bConfirmPIN RFU bits", ErrBadPINStructure)
	}
	b := make([]byte, 24, 24+len(m.APDU))
	m.put(b, 7, 10)
	b[5], b[6] = m.InsertionOffsetOld, m.InsertionOffsetNew
	b[9] = m.ConfirmPIN
	copy(b[14:17], m.MsgIndex[:])
	copy(b[17:20], m.TeoPrologue[:])
	binary.LittleEndian.PutUint32(b[20:24], uint32(len(m.APDU)))
	return append(b, m.APDU...), nil
}
