package apdu

import (
	"bytes"
	"errors"
	"testing"
)

func TestParseResponse(t *testing.T) {
	for _, raw := range [][]byte{nil, {}, {0x90}} {
		if _, err := ParseResponse(raw); !errors.Is(err, ErrShortResponse) {
			t.Errorf("ParseResponse(% X) err = %v", raw, err)
		}
	}
	r, err := ParseResponse([]byte{0x90, 0x00})
	if err != nil || len(r.Data) != 0 || r.SW != SWOK || !r.OK() || r.Err(0xCB) != nil {
		t.Fatalf("9000: %+v %v", r, err)
	}
	raw := []byte{1, 2, 3, 0x63, 0xC2}
	r, err = ParseResponse(raw)
	if err != nil || !bytes.Equal(r.Data, []byte{1, 2, 3}) || r.SW != 0x63C2 || r.SW1() != 0x63 || r.SW2() != 0xC2 {
		t.Fatalf("got %+v %v", r, err)
	}
	if !bytes.Equal(r.Bytes(), raw) {
		t.Fatalf("Bytes = % X", r.Bytes())
	}
	raw[0] = 9
	if r.Data[0] != 1 {
		t.Fatal("Data aliases the input")
	}
	if n, ok := RetriesLeft(r.Err(0x20)); !ok || n != 2 {
		t.Fatalf("RetriesLeft = %d %v", n, ok)
	}
	if b := (Response{SW: 0x6A82}).Bytes(); !bytes.Equal(b, []byte{0x6A, 0x82}) {
		t.Fatalf("Bytes = % X", b)
	}
}
