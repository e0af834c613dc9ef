package main

import (
	"testing"

	"github.com/pcsc11/pcsc11/reader"
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

// What `readers --json` shows of the properties: what the reader told, nothing else.
func TestPropertiesJSON(t *testing.T) {
	p, err := reader.ParseTLVProperties(pinpadTLV)
	if err != nil {
		t.Fatal(err)
	}
	j := toPropertiesJSON(p)
	if j.LcdLayout == nil || *j.LcdLayout != 0 || *j.EntryValidation != 2 || *j.TimeOut2 != 0 ||
		*j.MinPINSize != 4 || *j.MaxPINSize != 12 || *j.FirmwareID != "pcsc11-pinpad-1" ||
		*j.MaxAPDUDataSize != 0xff00 || *j.VendorID != 0x1d50 || *j.ProductID != 0x5c11 ||
		*j.LcdLines != 0 || *j.LcdColumns != 0 {
		t.Fatalf("wrong properties: %+v", j)
	}
	if j.LcdMaxLines != nil || j.LcdMaxCharacters != nil || j.PPDUSupport != nil {
		t.Fatal("absent properties reported")
	}
	// TLV values win; the older structure fills gaps.
	ifd, err := reader.ParseIFDPINProperties([]byte{0x10, 0x02, 0x02, 0x1e})
	if err != nil {
		t.Fatal(err)
	}
	tlv, _ := reader.ParseTLVProperties([]byte{0x02, 0x01, 0x01})
	j = toPropertiesJSON(fillFrom(tlv, ifd))
	if *j.EntryValidation != 1 || *j.LcdLayout != 0x0210 || *j.LcdLines != 2 || *j.LcdColumns != 16 ||
		*j.TimeOut2 != 30 || j.MinPINSize != nil {
		t.Fatalf("merge: %+v", j)
	}
}
