package pinpad

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"
)

func h(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// pivVerify is the PIN_VERIFY_STRUCTURE OpenSC sends for a PIV VERIFY (PIV-NOTES.md):
// timeouts 30, ASCII in bytes at position 0, 8-byte block, no length field, 6..8
// digits, validation key, APDU 00 20 00 80 08 FF*8.
const pivVerifyHex = "1e1e82080008060200000000000000" + "0d000000" + "0020008008ffffffffffffffff"

func TestParseVerifyPIV(t *testing.T) {
	v, err := ParseVerify(h(pivVerifyHex))
	if err != nil {
		t.Fatal(err)
	}
	if v.TimerOut != 30 || v.TimerOut2 != 30 || v.FormatString != 0x82 || v.PINBlockString != 0x08 ||
		v.PINLengthFormat != 0 || v.MinPIN != 6 || v.MaxPIN != 8 || v.EntryValidation != 2 {
		t.Fatalf("fields: %+v", v.Format)
	}
	if !bytes.Equal(v.APDU, h("0020008008ffffffffffffffff")) {
		t.Fatalf("APDU % x", v.APDU)
	}
	if got := v.Marshal(); !bytes.Equal(got, h(pivVerifyHex)) {
		t.Fatalf("Marshal round trip:\n% x\n% x", got, h(pivVerifyHex))
	}
}

func TestParseModifyRoundTrip(t *testing.T) {
	m := &Modify{
		Format: Format{TimerOut: 30, TimerOut2: 30, FormatString: 0x82, PINBlockString: 0x08,
			MinPIN: 6, MaxPIN: 8, EntryValidation: 2, NumberMessage: 3, LangID: 0x0409},
		InsertionOffsetOld: 0, InsertionOffsetNew: 8, ConfirmPIN: 3, MsgIndex: [3]byte{0, 1, 2},
		APDU: h("0024008010" + "ffffffffffffffffffffffffffffffff"),
	}
	b := m.Marshal()
	if len(b) != 24+21 || b[5] != 0 || b[6] != 8 || b[7] != 8 || b[8] != 6 || b[9] != 3 || b[20] != 21 {
		t.Fatalf("layout % x", b)
	}
	got, err := ParseModify(b)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Marshal(), b) || got.InsertionOffsetNew != 8 || got.LangID != 0x0409 ||
		got.MsgIndex != [3]byte{0, 1, 2} {
		t.Fatalf("round trip %+v", got)
	}
}

func TestParseRejectsHostileStructures(t *testing.T) {
	good := h(pivVerifyHex)
	// Every truncation fails (the length no longer matches ulDataLength).
	for n := 0; n < len(good); n++ {
		if _, err := ParseVerify(good[:n]); !errors.Is(err, errStructure) {
			t.Errorf("truncated to %d: err %v", n, err)
		}
	}
	if _, err := ParseVerify(append(append([]byte(nil), good...), 0)); err == nil {
		t.Error("trailing byte accepted")
	}
	mut := func(i int, v byte) []byte {
		b := append([]byte(nil), good...)
		b[i] = v
		return b
	}
	cases := map[string][]byte{
		"ulDataLength huge":  mut(18, 0xFF),
		"ulDataLength short": mut(15, 0x0C),
		"RFU encoding":       mut(2, 0x83),
		"binary encoding":    mut(2, 0x80),
		"length format RFU":  mut(4, 0x20),
		"max 0":              mut(5, 0),
		"min 0":              mut(6, 0),
		"min over max":       mut(6, 9),
		"no validation":      mut(7, 0),
		"validation RFU bit": mut(7, 0x0A),
		"bNumberMessage 4":   mut(8, 4),
		"APDU of 3 bytes":    h("1e1e82080008060200000000000000" + "03000000" + "002000"),
	}
	for name, b := range cases {
		if _, err := ParseVerify(b); !errors.Is(err, errStructure) {
			t.Errorf("%s: err %v", name, err)
		}
	}
	m := (&Modify{Format: Format{FormatString: 0x82, PINBlockString: 8, MinPIN: 6, MaxPIN: 8, EntryValidation: 2},
		InsertionOffsetNew: 8, ConfirmPIN: 3, APDU: h("0024008010ffffffffffffffffffffffffffffffff")}).Marshal()
	if _, err := ParseModify(m); err != nil {
		t.Fatal(err)
	}
	for n := 0; n < len(m); n++ {
		if _, err := ParseModify(m[:n]); err == nil {
			t.Errorf("modify truncated to %d accepted", n)
		}
	}
	bad := append([]byte(nil), m...)
	bad[9] = 0x04
	if _, err := ParseModify(bad); err == nil {
		t.Error("bConfirmPIN RFU bit accepted")
	}
	bad = append([]byte(nil), m...)
	bad[23] = 0x80
	if _, err := ParseModify(bad); err == nil {
		t.Error("ulDataLength 2^31 accepted")
	}
	// A verify structure is not a modify structure.
	if _, err := ParseModify(good); err == nil {
		t.Error("verify structure parsed as modify")
	}
}
