package main

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// PC/SC v2 part 10 reader properties (PIN-pad capabilities).

// pinPadProps is what a reader says about its PIN pad, from FEATURE_GET_TLV_PROPERTIES
// and/or FEATURE_IFD_PIN_PROPERTIES. Pointers are nil when the reader did not say.
type pinPadProps struct {
	LcdLayout           *uint16 // 0xLLCC: LL lines, CC characters per line; 0 = no display
	EntryValidation     *uint8  // bEntryValidationCondition: 1 max size reached, 2 OK key, 4 timeout
	TimeOut2            *uint8  // seconds after the first key
	LcdMaxCharacters    *uint16
	LcdMaxLines         *uint16
	MinPINSize          *uint8
	MaxPINSize          *uint8
	FirmwareID          *string
	PPDUSupport         *uint8
	MaxAPDUDataSize     *uint32
	VendorID, ProductID *uint16
}

// Property tags of GET_TLV_PROPERTIES (pcsc-lite reader.h, PCSCv2_PART10_PROPERTY_*).
const (
	propLcdLayout        = 1
	propEntryValidation  = 2
	propTimeOut2         = 3
	propLcdMaxCharacters = 4
	propLcdMaxLines      = 5
	propMinPINSize       = 6
	propMaxPINSize       = 7
	propFirmwareID       = 8
	propPPDUSupport      = 9
	propMaxAPDUDataSize  = 10
	propIDVendor         = 11
	propIDProduct        = 12
	maxFirmwareIDLen     = 64 // longer is not a reader we believe
)

var errBadProps = errors.New("malformed reader properties")

// parseTLVProperties decodes the answer to FEATURE_GET_TLV_PROPERTIES: records of
// tag(1) length(1) value(length), integers little-endian, sizes fixed per tag. Strict:
// a truncated record, a wrong size for a known tag, or a tag twice rejects the whole
// answer (the reader is then shown without properties). Unknown tags are skipped.
func parseTLVProperties(b []byte) (pinPadProps, error) {
	var p pinPadProps
	var seen [256]bool
	for off := 0; off < len(b); {
		if len(b)-off < 2 {
			return pinPadProps{}, fmt.Errorf("%w: 1 trailing byte", errBadProps)
		}
		tag, l := b[off], int(b[off+1])
		off += 2
		if len(b)-off < l {
			return pinPadProps{}, fmt.Errorf("%w: tag %d claims %d bytes, %d left", errBadProps, tag, l, len(b)-off)
		}
		v := b[off : off+l]
		off += l
		if seen[tag] {
			return pinPadProps{}, fmt.Errorf("%w: tag %d twice", errBadProps, tag)
		}
		seen[tag] = true
		var err error
		switch tag {
		case propLcdLayout:
			p.LcdLayout, err = u16(tag, v)
		case propEntryValidation:
			p.EntryValidation, err = u8(tag, v)
		case propTimeOut2:
			p.TimeOut2, err = u8(tag, v)
		case propLcdMaxCharacters:
			p.LcdMaxCharacters, err = u16(tag, v)
		case propLcdMaxLines:
			p.LcdMaxLines, err = u16(tag, v)
		case propMinPINSize:
			p.MinPINSize, err = u8(tag, v)
		case propMaxPINSize:
			p.MaxPINSize, err = u8(tag, v)
		case propFirmwareID:
			if len(v) > maxFirmwareIDLen {
				return pinPadProps{}, fmt.Errorf("%w: firmware ID of %d bytes", errBadProps, len(v))
			}
			s := printable(v)
			p.FirmwareID = &s
		case propPPDUSupport:
			p.PPDUSupport, err = u8(tag, v)
		case propMaxAPDUDataSize:
			if len(v) != 4 {
				err = fmt.Errorf("%w: tag %d has %d bytes, want 4", errBadProps, tag, len(v))
			} else {
				x := binary.LittleEndian.Uint32(v)
				p.MaxAPDUDataSize = &x
			}
		case propIDVendor:
			p.VendorID, err = u16(tag, v)
		case propIDProduct:
			p.ProductID, err = u16(tag, v)
		}
		if err != nil {
			return pinPadProps{}, err
		}
	}
	return p, nil
}

// parseIFDPINProperties decodes PIN_PROPERTIES_STRUCTURE (FEATURE_IFD_PIN_PROPERTIES):
// wLcdLayout(2, little-endian) bEntryValidationCondition(1) bTimeOut2(1), exactly.
func parseIFDPINProperties(b []byte) (pinPadProps, error) {
	if len(b) != 4 {
		return pinPadProps{}, fmt.Errorf("%w: PIN properties of %d bytes, want 4", errBadProps, len(b))
	}
	lcd := binary.LittleEndian.Uint16(b)
	ev, t2 := b[2], b[3]
	return pinPadProps{LcdLayout: &lcd, EntryValidation: &ev, TimeOut2: &t2}, nil
}

// merge fills what p lacks from q (TLV properties first, the older structure after).
func (p pinPadProps) merge(q pinPadProps) pinPadProps {
	if p.LcdLayout == nil {
		p.LcdLayout = q.LcdLayout
	}
	if p.EntryValidation == nil {
		p.EntryValidation = q.EntryValidation
	}
	if p.TimeOut2 == nil {
		p.TimeOut2 = q.TimeOut2
	}
	return p
}

func u8(tag byte, v []byte) (*uint8, error) {
	if len(v) != 1 {
		return nil, fmt.Errorf("%w: tag %d has %d bytes, want 1", errBadProps, tag, len(v))
	}
	x := v[0]
	return &x, nil
}

func u16(tag byte, v []byte) (*uint16, error) {
	if len(v) != 2 {
		return nil, fmt.Errorf("%w: tag %d has %d bytes, want 2", errBadProps, tag, len(v))
	}
	x := binary.LittleEndian.Uint16(v)
	return &x, nil
}

// printable keeps a reader-supplied string safe for a terminal: non-printable ASCII
// bytes become '?', a trailing NUL is dropped.
func printable(v []byte) string {
	for len(v) > 0 && v[len(v)-1] == 0 {
		v = v[:len(v)-1]
	}
	out := make([]byte, len(v))
	for i, c := range v {
		if c < 0x20 || c > 0x7e {
			c = '?'
		}
		out[i] = c
	}
	return string(out)
}
