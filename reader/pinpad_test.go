package reader

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/ebfe/scard"
	"github.com/pcsc11/pcsc11/pinpad"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The answer of pcsc11's test PIN-pad reader (docs/pinpad.md).
const testTLVProps = "01020000" + "020102" + "030100" + "060104" + "07010c" +
	"080f" + "7063736331312d70696e7061642d31" + "0a0400ff0000" + "0b02501d" + "0c02115c"

func TestParseTLVProperties(t *testing.T) {
	p, err := ParseTLVProperties(unhex(t, testTLVProps))
	if err != nil {
		t.Fatal(err)
	}
	want := PINProperties{EntryValidation: 2, MinPIN: 4, MaxPIN: 12, FirmwareID: "pcsc11-pinpad-1",
		MaxAPDUData: 0xFF00, VendorID: 0x1D50, ProductID: 0x5C11, Told: 0x1DCE} // tags 1-3, 6-8, 10-12
	if p != want {
		t.Errorf("got %+v\nwant %+v", p, want)
	}
	if p.HasDisplay() {
		t.Error("display reported for wLcdLayout 0")
	}
	// A display of 2 lines of 16 characters; an unknown tag and a control character in
	// the firmware ID.
	p, err = ParseTLVProperties(unhex(t, "01021002"+"7f03aabbcc"+"080341074a"))
	if err != nil || p.LcdLayout != 0x0210 || !p.HasDisplay() || p.FirmwareID != "AJ" ||
		!p.HasProp(PropLcdLayout) || !p.HasProp(PropFirmwareID) || p.HasProp(PropMinPINSize) || p.HasProp(0x7f) {
		t.Errorf("got %+v, %v", p, err)
	}
	// The display's size and bPPDUSupport; a long firmware ID is cut.
	p, err = ParseTLVProperties(append(unhex(t, "04021000"+"05020200"+"090101"+"0850"), bytes.Repeat([]byte{'x'}, 0x50)...))
	if err != nil || p.LcdMaxCharacters != 16 || p.LcdMaxLines != 2 || p.PPDUSupport != 1 ||
		p.FirmwareID != string(bytes.Repeat([]byte{'x'}, 64)) || p.Told != 1<<4|1<<5|1<<9|1<<8 {
		t.Errorf("got %+v, %v", p, err)
	}
	for _, bad := range []string{
		"01",                // truncated header
		"0102aa",            // truncated value
		"010100",            // wLcdLayout of 1 byte
		"06020400",          // bMinPINSize of 2 bytes
		"060104" + "060104", // tag twice
		"06010a" + "070104", // min > max
		"0a03000100",        // dwMaxAPDUDataSize of 3 bytes
	} {
		if p, err := ParseTLVProperties(unhex(t, bad)); !errors.Is(err, ErrBadProperties) || p != (PINProperties{}) {
			t.Errorf("%s: got %+v, %v", bad, p, err)
		}
	}
	if p, err := ParseTLVProperties(nil); err != nil || p != (PINProperties{}) {
		t.Errorf("empty: %+v, %v", p, err)
	}
}

func TestParseIFDPINProperties(t *testing.T) {
	p, err := ParseIFDPINProperties([]byte{0x10, 0x02, 0x02, 0x1e})
	if err != nil || p.LcdLayout != 0x0210 || p.EntryValidation != 2 || p.TimeOut2 != 30 || p.Told != 0x0E {
		t.Errorf("got %+v, %v", p, err)
	}
	for _, bad := range [][]byte{nil, {0, 0, 2}, {0, 0, 2, 0, 0}} {
		if _, err := ParseIFDPINProperties(bad); !errors.Is(err, ErrBadProperties) {
			t.Errorf("% x: %v", bad, err)
		}
	}
}

// scriptCard answers Control per code.
type scriptCard struct {
	Card
	answers map[uint32][]byte
	errs    map[uint32]error
	calls   []uint32
}

func (c *scriptCard) Control(code uint32, in []byte) ([]byte, error) {
	c.calls = append(c.calls, code)
	if err := c.errs[code]; err != nil {
		return nil, err
	}
	if out, ok := c.answers[code]; ok {
		return out, nil
	}
	return nil, opErr("control", "r", scard.ErrUnsupportedFeature)
}

func TestReadPINProperties(t *testing.T) {
	fs := FeatureSet{VerifyPINDirect: 0x42330006, IFDPINProperties: 0x4233000A, GetTLVProperties: 0x42330012}
	c := &scriptCard{answers: map[uint32][]byte{0x42330012: unhex(t, testTLVProps), 0x4233000A: {0, 0, 2, 9}}}
	p, err := ReadPINProperties(c, fs)
	if err != nil || p.MinPIN != 4 || p.MaxPIN != 12 || len(c.calls) != 1 {
		t.Errorf("TLV: %+v, %v, calls %x", p, err, c.calls)
	}
	// Garbage TLVs: fall back to IFD_PIN_PROPERTIES.
	c = &scriptCard{answers: map[uint32][]byte{0x42330012: {0x06, 5}, 0x4233000A: {0, 0, 2, 9}}}
	p, err = ReadPINProperties(c, fs)
	if err != nil || p.TimeOut2 != 9 || p.MinPIN != 0 {
		t.Errorf("fallback: %+v, %v", p, err)
	}
	// Both refused: nothing known, no error.
	c = &scriptCard{}
	if p, err := ReadPINProperties(c, fs); err != nil || p != (PINProperties{}) || len(c.calls) != 2 {
		t.Errorf("refused: %+v, %v, calls %x", p, err, c.calls)
	}
	// Nothing announced: no call.
	c = &scriptCard{}
	if _, err := ReadPINProperties(c, FeatureSet{VerifyPINDirect: 1}); err != nil || len(c.calls) != 0 {
		t.Errorf("unannounced: %v, calls %x", err, c.calls)
	}
	// Transport failure: reported.
	c = &scriptCard{errs: map[uint32]error{0x42330012: opErr("control", "r", scard.ErrRemovedCard)}}
	if _, err := ReadPINProperties(c, fs); !errors.Is(err, ErrCardRemoved) {
		t.Errorf("removed: %v", err)
	}
}

// pivFormat is PIV's PIN layout as OpenSC sends it: ASCII, 8-byte block, FF padded.
var pivFormat = PINFormat{TimeOut: 30, FormatString: 0x82, PINBlockString: 0x08,
	MinPIN: 6, MaxPIN: 8, EntryValidation: 0x02, LangID: 0x0409}

func TestVerifyPINMarshal(t *testing.T) {
	v := VerifyPIN{PINFormat: pivFormat, APDU: unhex(t, "0020008008ffffffffffffffff")}
	b, err := v.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	want := unhex(t, "1e00820800"+"0806"+"02"+"00"+"0904"+"00"+"000000"+"0d000000"+"0020008008ffffffffffffffff")
	if !bytes.Equal(b, want) {
		t.Fatalf("got  % x\nwant % x", b, want)
	}
	// The reader side (pinpad, parsed as a CCID reader would) reads the same fields.
	pv, err := pinpad.ParseVerify(b)
	if err != nil || pv.MinPIN != 6 || pv.MaxPIN != 8 || pv.FormatString != 0x82 || !bytes.Equal(pv.APDU, v.APDU) {
		t.Errorf("reader side: %+v, %v", pv, err)
	}
	for _, f := range []func(*VerifyPIN){
		func(v *VerifyPIN) { v.FormatString = 0x83 },
		func(v *VerifyPIN) { v.MinPIN = 9 },
		func(v *VerifyPIN) { v.MinPIN = 0 },
		func(v *VerifyPIN) { v.EntryValidation = 0 },
		func(v *VerifyPIN) { v.EntryValidation = 0x08 },
		func(v *VerifyPIN) { v.PINLengthFormat = 0x20 },
		func(v *VerifyPIN) { v.APDU = v.APDU[:3] },
	} {
		bad := VerifyPIN{PINFormat: pivFormat, APDU: unhex(t, "0020008008ffffffffffffffff")}
		f(&bad)
		if _, err := bad.Marshal(); !errors.Is(err, ErrBadPINStructure) {
			t.Errorf("%+v accepted", bad.PINFormat)
		}
	}
}

func TestModifyPINMarshal(t *testing.T) {
	m := ModifyPIN{PINFormat: pivFormat, InsertionOffsetNew: 8, ConfirmPIN: 3, MsgIndex: [3]byte{0, 1, 2},
		APDU: unhex(t, "0024008010"+"ffffffffffffffffffffffffffffffff")}
	b, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	want := unhex(t, "1e00820800"+"0008"+"0806"+"03"+"02"+"00"+"0904"+"000102"+"000000"+"15000000"+
		"0024008010ffffffffffffffffffffffffffffffff")
	if !bytes.Equal(b, want) {
		t.Fatalf("got  % x\nwant % x", b, want)
	}
	pm, err := pinpad.ParseModify(b)
	if err != nil || pm.InsertionOffsetNew != 8 || pm.ConfirmPIN != 3 || pm.MaxPIN != 8 {
		t.Errorf("reader side: %+v, %v", pm, err)
	}
	m.ConfirmPIN = 4
	if _, err := m.Marshal(); !errors.Is(err, ErrBadPINStructure) {
		t.Error("bConfirmPIN with RFU bits accepted")
	}
}

func FuzzParseTLVProperties(f *testing.F) {
	f.Add(unhex(f, testTLVProps))
	f.Add([]byte{0x01, 0x02, 0x10})
	f.Add([]byte{0x08, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParseTLVProperties(b)
		if err != nil {
			if p != (PINProperties{}) {
				t.Fatal("properties returned with an error")
			}
			return
		}
		if p.MinPIN != 0 && p.MaxPIN != 0 && p.MinPIN > p.MaxPIN {
			t.Fatalf("accepted range %d..%d", p.MinPIN, p.MaxPIN)
		}
		if len(p.FirmwareID) > maxFirmwareIDPrintables {
			t.Fatalf("firmware ID of %d characters", len(p.FirmwareID))
		}
		for _, c := range []byte(p.FirmwareID) {
			if c < 0x20 || c >= 0x7F {
				t.Fatalf("unprintable %#x in the firmware ID", c)
			}
		}
	})
}
