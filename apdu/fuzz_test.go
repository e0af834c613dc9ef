package apdu

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzParseCommand: any input either fails with ErrMalformedCommand or parses into a
// command whose encoding (in the same short/extended form) is the input again, so the
// parser accepts exactly the canonical ISO 7816-4 encodings.
func FuzzParseCommand(f *testing.F) {
	for _, h := range []string{
		"00A40400", "00CB3FFF00", "00A4040009A000000308000010000100", "0020008008313233343536FFFF",
		"00870700027C0000", "00CB0000000101", "00CB0000000000", "00DB00000000020102", "00870700000002010200FF",
		"00", "00A404000301", "00A404000000", "00A4040000000001", "00A40400000002AA", "0084000000",
	} {
		f.Add(mustHex(f, h))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		c, err := ParseCommand(raw)
		if err != nil {
			if !errors.Is(err, ErrMalformedCommand) {
				t.Fatalf("unexpected error type: %v", err)
			}
			return
		}
		enc, err := c.Encode(Extended(raw))
		if err != nil {
			t.Fatalf("parsed command does not encode: %v", err)
		}
		if !bytes.Equal(enc, raw) {
			t.Fatalf("re-encoding differs:\n in % X\nout % X", raw, enc)
		}
	})
}

// FuzzParseResponse: parse/serialize round trip, errors only below two bytes.
func FuzzParseResponse(f *testing.F) {
	for _, h := range []string{"", "90", "9000", "0102039000", "63C2", "6100", "6A82"} {
		f.Add(mustHex(f, h))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		r, err := ParseResponse(raw)
		if (err != nil) != (len(raw) < 2) {
			t.Fatalf("len %d: err %v", len(raw), err)
		}
		if err == nil && !bytes.Equal(r.Bytes(), raw) {
			t.Fatalf("round trip differs")
		}
		if err == nil && r.SW != SWOK {
			_ = r.Err(0x20).Error() // every SW has a message, no panic
		}
	})
}

// FuzzParseTLV: no panic, the element lies inside the input, and what parsed re-encodes
// (minimally) to something that parses to the same element. The sequence and tree
// helpers run on the same input.
func FuzzParseTLV(f *testing.F) {
	for _, h := range []string{
		"5303010203", "5C00", "7F49028101", "5FC10201AA", "5F8182020 1BB", "538102 1234", "5382000112",
		"53830000021234", "538400000001 12", "3080 0000", "5385 0000000001 AA", "5F81828304 00", "5304 010203",
		"7C0982 02AABB7F4902810053 0101", "7C027C00", "5384FFFFFFFF00",
	} {
		f.Add(mustHex(f, h))
	}
	f.Add(nest(MaxDepth + 1))
	f.Fuzz(func(t *testing.T, in []byte) {
		tlv, rest, err := ParseTLV(in)
		if err != nil {
			if !errors.Is(err, ErrMalformedTLV) {
				t.Fatalf("unexpected error type: %v", err)
			}
		} else {
			if len(rest) >= len(in) || len(tlv.Value) > len(in) {
				t.Fatalf("nothing consumed or value outside the input")
			}
			again, rest2, err := ParseTLV(EncodeTLV(tlv.Tag, tlv.Value))
			if err != nil || again.Tag != tlv.Tag || !bytes.Equal(again.Value, tlv.Value) || len(rest2) != 0 {
				t.Fatalf("re-encoding of tag %X does not round-trip: %v", tlv.Tag, err)
			}
		}
		all, errAll := ParseAll(in)
		if errAll == nil {
			n := 0
			for _, e := range all {
				n += len(e.Value)
			}
			if n > len(in) {
				t.Fatal("values longer than the input")
			}
		}
		nodes, errTree := ParseTree(in)
		if errTree == nil && len(nodes) != len(all) {
			t.Fatalf("tree has %d top nodes, sequence %d", len(nodes), len(all))
		}
		if errAll != nil && errTree == nil {
			t.Fatal("tree accepted what the sequence parser refused")
		}
	})
}

// FuzzExchange scripts a hostile card from the fuzz input: each answer is a length byte
// and that many bytes, the last one repeats forever. Exchange must always return, send a
// bounded number of APDUs, and never return more than MaxResponse bytes.
func FuzzExchange(f *testing.F) {
	f.Add([]byte{2, 0x90, 0x00}, uint16(0), false)
	f.Add([]byte{2, 0x61, 0x00}, uint16(10), false)
	f.Add([]byte{3, 0xAA, 0x61, 0x01}, uint16(0), false)
	f.Add([]byte{2, 0x6C, 0x05, 7, 1, 2, 3, 4, 5, 0x90, 0x00}, uint16(0), false)
	f.Add([]byte{2, 0x90, 0x00, 2, 0x90, 0x00, 2, 0x63, 0xC1}, uint16(600), false)
	f.Add([]byte{2, 0x90, 0x00}, uint16(600), true)
	f.Add([]byte{1, 0x90}, uint16(0), false)
	f.Add([]byte{}, uint16(0), false)
	f.Fuzz(func(t *testing.T, script []byte, dataLen uint16, extended bool) {
		var answers [][]byte
		for len(script) > 0 {
			n := int(script[0])
			script = script[1:]
			n = min(n, len(script))
			answers = append(answers, script[:n])
			script = script[n:]
		}
		if len(answers) == 0 {
			answers = [][]byte{{0x61, 0x00}}
		}
		card := &scriptCard{answers: answers}
		const maxResp = 4096
		cmd := Command{INS: 0xDB, Data: make([]byte, int(dataLen)%3000), Ne: 256}
		out, err := Exchange(card, cmd, Options{Extended: extended, MaxResponse: maxResp})
		if err == nil && len(out) > maxResp {
			t.Fatalf("returned %d bytes over the limit", len(out))
		}
		if err != nil && out != nil {
			t.Fatal("data returned with an error")
		}
		blocks := len(cmd.Data)/MaxShortData + 1
		if limit := blocks + 1 + MaxGetResponse + 1; len(card.sent) > limit {
			t.Fatalf("sent %d APDUs (limit %d)", len(card.sent), limit)
		}
	})
}
