package apdu

import (
	"bytes"
	"errors"
	"testing"
)

func TestParseTLV(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		tag   uint32
		value string
		rest  string
	}{
		{"short", "53 03 010203 FF", 0x53, "010203", "FF"},
		{"empty value", "5C 00", 0x5C, "", ""},
		{"two-byte tag", "7F49 02 8101", 0x7F49, "8101", ""},
		{"three-byte tag", "5FC102 01 AA 00", 0x5FC102, "AA", "00"},
		{"four-byte tag", "5F818202 01 BB", 0x5F818202, "BB", ""},
		{"81 form", "53 81 02 1234", 0x53, "1234", ""},
		{"82 form", "53 82 0001 12", 0x53, "12", ""},
		{"83 form", "53 83 000002 1234", 0x53, "1234", ""},
		{"84 form", "53 84 00000001 12 34", 0x53, "12", "34"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tlv, rest, err := ParseTLV(mustHex(t, tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if tlv.Tag != tc.tag || !bytes.Equal(tlv.Value, mustHex(t, tc.value)) || !bytes.Equal(rest, mustHex(t, tc.rest)) {
				t.Fatalf("got tag %X value % X rest % X", tlv.Tag, tlv.Value, rest)
			}
		})
	}
}

func TestParseTLVMalformed(t *testing.T) {
	bad := map[string]string{
		"empty":               "",
		"tag only":            "53",
		"truncated tag":       "5F",
		"truncated tag 2":     "5FC1",
		"five-byte tag":       "5F81828304 00",
		"indefinite":          "30 80 0000",
		"85 length":           "53 85 0000000001 AA",
		"FF length":           "53 FF",
		"truncated 82":        "53 82 01",
		"length past end":     "53 04 010203",
		"81 past end":         "53 81 80 00",
		"84 huge":             "53 84 FFFFFFFF 00",
		"missing long length": "53 81",
	}
	for name, h := range bad {
		if tlv, _, err := ParseTLV(mustHex(t, h)); !errors.Is(err, ErrMalformedTLV) {
			t.Errorf("%s: got %+v, err %v", name, tlv, err)
		}
	}
}

func TestParseTLVValueCapped(t *testing.T) {
	in := mustHex(t, "01 01 AA 02 01 BB")
	tlv, rest, err := ParseTLV(in)
	if err != nil {
		t.Fatal(err)
	}
	_ = append(tlv.Value, 0xEE) // must not overwrite the next element
	if !bytes.Equal(rest, mustHex(t, "02 01 BB")) {
		t.Fatalf("append through Value clobbered the input: % X", rest)
	}
}

func TestParseAllFind(t *testing.T) {
	in := mustHex(t, "4F 02 0102 5C 03 5FC105 53 00")
	all, err := ParseAll(in)
	if err != nil || len(all) != 3 || all[1].Tag != 0x5C || len(all[2].Value) != 0 {
		t.Fatalf("%+v %v", all, err)
	}
	v, ok, err := Find(in, 0x5C)
	if err != nil || !ok || !bytes.Equal(v, mustHex(t, "5FC105")) {
		t.Fatalf("Find: % X %v %v", v, ok, err)
	}
	if _, ok, err = Find(in, 0x99); ok || err != nil {
		t.Fatalf("Find absent: %v %v", ok, err)
	}
	// Trailing garbage after the wanted tag is still an error.
	if _, _, err = Find(append(in[:4:4], 0x53, 0x05), 0x4F); !errors.Is(err, ErrMalformedTLV) {
		t.Fatalf("Find with trailing junk: %v", err)
	}
	if all, err = ParseAll(nil); err != nil || len(all) != 0 {
		t.Fatalf("ParseAll(nil) = %v %v", all, err)
	}
}

func TestEncodeTLV(t *testing.T) {
	tests := []struct {
		tag  uint32
		n    int
		head string
	}{
		{0x53, 0, "5300"},
		{0x53, 127, "537F"},
		{0x53, 128, "538180"},
		{0x53, 255, "5381FF"},
		{0x53, 256, "53820100"},
		{0x53, 65535, "5382FFFF"},
		{0x53, 65536, "5383010000"},
		{0x7F49, 3, "7F4903"},
		{0x5FC102, 1, "5FC10201"},
		{0x5F818202, 1, "5F81820201"},
		{0x00, 1, "0001"},
	}
	for _, tc := range tests {
		value := seq(tc.n)
		enc := EncodeTLV(tc.tag, value)
		head := mustHex(t, tc.head)
		if !bytes.Equal(enc[:len(head)], head) || len(enc) != len(head)+tc.n {
			t.Errorf("EncodeTLV(%X, %d bytes) head % X", tc.tag, tc.n, enc[:min(len(enc), 8)])
			continue
		}
		tlv, rest, err := ParseTLV(enc)
		if err != nil || tlv.Tag != tc.tag || !bytes.Equal(tlv.Value, value) || len(rest) != 0 {
			t.Errorf("round trip %X: %v", tc.tag, err)
		}
		if got := AppendTLV([]byte{0xAB}, tc.tag, value); !bytes.Equal(got, append([]byte{0xAB}, enc...)) {
			t.Errorf("AppendTLV(%X) differs", tc.tag)
		}
	}
	// 84 form, checked without allocating 16 MiB: the length encoder alone.
	if got := appendLength(nil, 0x1000000); !bytes.Equal(got, mustHex(t, "8401000000")) {
		t.Errorf("appendLength(2^24) = % X", got)
	}
	if got := appendLength(nil, 0xFFFFFF); !bytes.Equal(got, mustHex(t, "83FFFFFF")) {
		t.Errorf("appendLength(2^24-1) = % X", got)
	}
}

func TestConstructed(t *testing.T) {
	for tag, want := range map[uint32]bool{0x53: false, 0x7C: true, 0x7F49: true, 0x5FC102: false, 0x30: true, 0x81: false, 0xA0: true} {
		if Constructed(tag) != want {
			t.Errorf("Constructed(%X) = %v", tag, !want)
		}
	}
}

func nest(depth int) []byte {
	b := EncodeTLV(0x82, []byte{1})
	for i := 0; i < depth-1; i++ {
		b = EncodeTLV(0x7C, b)
	}
	return b
}

func TestParseTree(t *testing.T) {
	in := mustHex(t, "7C 09 82 02 AABB 7F49 02 8100 53 01 01")
	nodes, err := ParseTree(in)
	if err != nil || len(nodes) != 2 {
		t.Fatalf("%+v %v", nodes, err)
	}
	if len(nodes[0].Children) != 2 || nodes[0].Children[0].Tag != 0x82 || nodes[0].Children[1].Tag != 0x7F49 ||
		len(nodes[0].Children[1].Children) != 1 || nodes[1].Children != nil {
		t.Fatalf("tree %+v", nodes)
	}
	if _, err := ParseTree(nest(MaxDepth)); err != nil {
		t.Fatalf("depth %d: %v", MaxDepth, err)
	}
	if _, err := ParseTree(nest(MaxDepth + 1)); !errors.Is(err, ErrMalformedTLV) {
		t.Fatalf("depth %d: %v", MaxDepth+1, err)
	}
	if _, err := ParseTree(mustHex(t, "7C 02 82 05")); !errors.Is(err, ErrMalformedTLV) {
		t.Fatalf("bad child: %v", err)
	}
}

func TestFindPath(t *testing.T) {
	in := mustHex(t, "7C 06 80 00 82 02 AABB")
	v, ok, err := FindPath(in, 0x7C, 0x82)
	if err != nil || !ok || !bytes.Equal(v, mustHex(t, "AABB")) {
		t.Fatalf("% X %v %v", v, ok, err)
	}
	if _, ok, err = FindPath(in, 0x7C, 0x81); ok || err != nil {
		t.Fatalf("absent: %v %v", ok, err)
	}
	if _, _, err = FindPath(in); err == nil {
		t.Fatal("empty path accepted")
	}
	if _, _, err = FindPath(mustHex(t, "7C 03 82 02 AA"), 0x7C, 0x82); !errors.Is(err, ErrMalformedTLV) {
		t.Fatalf("malformed inner: %v", err)
	}
}
