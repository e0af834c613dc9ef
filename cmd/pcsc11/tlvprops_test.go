package main

import (
	"errors"
	"math/rand"
	"testing"
)

// The answer of pcsc11's test PIN-pad reader (docs/pinpad.md).
var pinpadTLV = []byte{
	0x01, 0x02, 0x00, 0x00, // wLcdLayout 0
	0x02, 0x01, 0x02, // bEntryValidationCondition: OK key
	0x03, 0x01, 0x00, // bTimeOut2
	0x06, 0x01, 0x04, // bMinPINSize 4
	0x07, 0x01, 0x0c, // bMaxPINSize 12
	0x08, 0x0f, 'p', 'c', 's', 'c', '1', '1', '-', 'p', 'i', 'n', 'p', 'a', 'd', '-', '1',
	0x0a, 0x04, 0x00, 0xff, 0x00, 0x00, // dwMaxAPDUDataSize 0xFF00
	0x0b, 0x02, 0x50, 0x1d, // wIdVendor 0x1D50
	0x0c, 0x02, 0x11, 0x5c, // wIdProduct 0x5C11
	0x40, 0x03, 1, 2, 3, // unknown tag: skipped
}

func TestParseTLVProperties(t *testing.T) {
	p, err := parseTLVProperties(pinpadTLV)
	if err != nil {
		t.Fatal(err)
	}
	if p.LcdLayout == nil || *p.LcdLayout != 0 || *p.EntryValidation != 2 || *p.TimeOut2 != 0 ||
		*p.MinPINSize != 4 || *p.MaxPINSize != 12 || *p.FirmwareID != "pcsc11-pinpad-1" ||
		*p.MaxAPDUDataSize != 0xff00 || *p.VendorID != 0x1d50 || *p.ProductID != 0x5c11 {
		t.Fatalf("wrong properties: %+v", p)
	}
	if p.LcdMaxLines != nil || p.PPDUSupport != nil {
		t.Fatal("absent properties reported")
	}
}

func TestParseTLVPropertiesRejects(t *testing.T) {
	for name, b := range map[string][]byte{
		"lone tag":       {0x06},
		"truncated":      {0x06, 0x02, 0x04},
		"wrong size u8":  {0x06, 0x02, 0x04, 0x00},
		"wrong size u16": {0x01, 0x01, 0x00},
		"wrong size u32": {0x0a, 0x02, 0x00, 0xff},
		"twice":          {0x06, 0x01, 0x04, 0x06, 0x01, 0x05},
		"long firmware":  append([]byte{0x08, 65}, make([]byte, 65)...),
	} {
		if _, err := parseTLVProperties(b); !errors.Is(err, errBadProps) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
	if p, err := parseTLVProperties(nil); err != nil || p.MinPINSize != nil {
		t.Errorf("empty answer: %+v %v", p, err)
	}
}

func TestFirmwareIDSanitized(t *testing.T) {
	p, err := parseTLVProperties([]byte{0x08, 0x05, 'a', 0x1b, '[', 0xff, 0x00})
	if err != nil || *p.FirmwareID != "a?[?" {
		t.Fatalf("%q %v", *p.FirmwareID, err)
	}
}

func TestParseIFDPINProperties(t *testing.T) {
	p, err := parseIFDPINProperties([]byte{0x10, 0x02, 0x02, 0x1e})
	if err != nil || *p.LcdLayout != 0x0210 || *p.EntryValidation != 2 || *p.TimeOut2 != 30 {
		t.Fatalf("%+v %v", p, err)
	}
	for _, b := range [][]byte{nil, {1, 2, 3}, {1, 2, 3, 4, 5}} {
		if _, err := parseIFDPINProperties(b); err == nil {
			t.Errorf("%x accepted", b)
		}
	}
	// TLV values win; the structure fills gaps.
	tlv, _ := parseTLVProperties([]byte{0x02, 0x01, 0x01})
	m := tlv.merge(p)
	if *m.EntryValidation != 1 || *m.LcdLayout != 0x0210 || *m.TimeOut2 != 30 {
		t.Fatalf("merge: %+v", m)
	}
}

// Random input never panics and never reads past the end.
func TestParseTLVPropertiesRandom(t *testing.T) {
	r := rand.New(rand.NewSource(10))
	for i := 0; i < 20000; i++ {
		b := make([]byte, r.Intn(24))
		for j := range b {
			b[j] = byte(r.Intn(14))
		}
		parseTLVProperties(b)
	}
}

func FuzzParseTLVProperties(f *testing.F) {
	f.Add(pinpadTLV)
	f.Fuzz(func(t *testing.T, b []byte) { parseTLVProperties(b) })
}
