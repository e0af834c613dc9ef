package reader

import (
	"bytes"
	"testing"

	"github.com/ebfe/scard"
)

func TestFromScard(t *testing.T) {
	atr := []byte{0x3b, 0xfd, 0x13}
	present := fromScard(scard.ReaderState{Reader: "R",
		EventState: scard.StatePresent | scard.StateInuse | scard.StateChanged | 5<<16, Atr: atr})
	if !present.Present || present.EventCount != 5 || !bytes.Equal(present.ATR, atr) || present.Name != "R" {
		t.Errorf("present card: %+v", present)
	}
	if present.raw&uint32(scard.StateChanged) != 0 || present.raw>>16 != 5 {
		t.Errorf("raw state %#x: must keep the counter and drop CHANGED", present.raw)
	}
	// ebfe/scard leaves a stale ATR in place when pcsc-lite reports none.
	empty := fromScard(scard.ReaderState{Reader: "R", EventState: scard.StateEmpty | 6<<16, Atr: atr})
	if empty.Present || empty.ATR != nil || empty.EventCount != 6 {
		t.Errorf("empty reader: %+v", empty)
	}
	for _, f := range []scard.StateFlag{scard.StateUnavailable, scard.StateUnknown | scard.StateUnavailable} {
		if s := fromScard(scard.ReaderState{Reader: "R", EventState: f | scard.StatePresent, Atr: atr}); s.Present {
			t.Errorf("flags %#x: reported present", f)
		}
	}
	mute := fromScard(scard.ReaderState{Reader: "R", EventState: scard.StatePresent | scard.StateMute})
	if !mute.Present || !mute.Mute {
		t.Errorf("mute card: %+v", mute)
	}
}

func TestSameNames(t *testing.T) {
	known := []ReaderState{{Name: "A"}, {Name: "B"}}
	if !sameNames([]string{"B", "A"}, known) {
		t.Error("same set in another order")
	}
	for _, names := range [][]string{nil, {"A"}, {"A", "C"}, {"A", "B", "C"}} {
		if sameNames(names, known) {
			t.Errorf("%v reported the same as A, B", names)
		}
	}
}

func TestSameCard(t *testing.T) {
	a := ReaderState{Name: "R", Present: true, ATR: []byte{1, 2}, EventCount: 3}
	cases := map[string]struct {
		b    ReaderState
		same bool
	}{
		"identical":     {ReaderState{Name: "R", Present: true, ATR: []byte{1, 2}, EventCount: 3}, true},
		"removed":       {ReaderState{Name: "R", EventCount: 4}, false},
		"swapped":       {ReaderState{Name: "R", Present: true, ATR: []byte{1, 2}, EventCount: 5}, false},
		"other ATR":     {ReaderState{Name: "R", Present: true, ATR: []byte{1, 3}, EventCount: 3}, false},
		"came and went": {ReaderState{Name: "R", EventCount: 5}, false},
	}
	for name, c := range cases {
		if got := a.SameCard(c.b); got != c.same {
			t.Errorf("%s: SameCard = %v", name, got)
		}
	}
	e1, e2 := ReaderState{EventCount: 2}, ReaderState{EventCount: 2}
	if !e1.SameCard(e2) {
		t.Error("two identical empty states differ")
	}
	e2.EventCount = 4
	if e1.SameCard(e2) {
		t.Error("a card that came and went is not a change")
	}
}
