package reader

import (
	"errors"
	"testing"

	"github.com/ebfe/scard"
)

func TestParseFeaturesGood(t *testing.T) {
	// A CCID PIN-pad reader as pcsc-lite answers: codes 0x42330000 + tag.
	in := []byte{
		0x06, 4, 0x42, 0x33, 0x00, 0x06,
		0x07, 4, 0x42, 0x33, 0x00, 0x07,
		0x0a, 4, 0x42, 0x33, 0x00, 0x0a,
		0x12, 4, 0x42, 0x33, 0x00, 0x12,
		0x13, 4, 0x42, 0x33, 0x00, 0x13, // CCID_ESC_COMMAND: unused, skipped
	}
	fs, err := ParseFeatures(in)
	if err != nil {
		t.Fatal(err)
	}
	want := FeatureSet{0x42330006, 0x42330007, 0x4233000a, 0x42330012}
	if fs != want {
		t.Errorf("got %+v, want %+v", fs, want)
	}
	if !fs.PINPad() {
		t.Error("PINPad false")
	}
	if fs, err := ParseFeatures(nil); err != nil || fs.PINPad() {
		t.Errorf("empty list: %+v, %v", fs, err)
	}
	fs, err = ParseFeatures([]byte{0x12, 4, 0x42, 0x33, 0x00, 0x12})
	if err != nil || fs.PINPad() || fs.GetTLVProperties != 0x42330012 {
		t.Errorf("TLV properties only: %+v, %v", fs, err)
	}
}

func TestParseFeaturesHostile(t *testing.T) {
	bad := map[string][]byte{
		"truncated record": {0x06, 4, 0x42, 0x33, 0x00},
		"length 2":         {0x06, 2, 0x42, 0x33},
		"length 255":       {0x06, 0xff, 0x42, 0x33, 0x00, 0x06},
		"length 0":         {0x06, 0, 0x07, 4, 0x42, 0x33},
		"zero code":        {0x06, 4, 0, 0, 0, 0},
		"duplicate tag":    {0x06, 4, 0x42, 0x33, 0x00, 0x06, 0x06, 4, 0x42, 0x33, 0x00, 0x07},
		"trailing byte":    {0x06, 4, 0x42, 0x33, 0x00, 0x06, 0x00},
		"one byte":         {0x06},
	}
	for name, in := range bad {
		fs, err := ParseFeatures(in)
		if !errors.Is(err, ErrBadFeatures) || fs != (FeatureSet{}) {
			t.Errorf("%s: got %+v, %v", name, fs, err)
		}
	}
}

// controlCard answers Control with a fixed result.
type controlCard struct {
	Card
	out  []byte
	err  error
	code uint32
}

func (c *controlCard) Control(code uint32, in []byte) ([]byte, error) {
	c.code = code
	return c.out, c.err
}

func TestFeatures(t *testing.T) {
	c := &controlCard{out: []byte{0x06, 4, 0x42, 0x33, 0x00, 0x06}}
	fs, err := Features(c)
	if err != nil || fs.VerifyPINDirect != 0x42330006 {
		t.Fatalf("got %+v, %v", fs, err)
	}
	if c.code != 0x42000D48 {
		t.Errorf("control code %#x, want 0x42000D48", c.code)
	}
	// Garbage and refusals: a plain reader, no error.
	for _, cc := range []*controlCard{
		{out: []byte{0x06, 9, 1}},
		{err: opErr("control", "r", scard.ErrUnsupportedFeature)},
		{err: opErr("control", "r", scard.ErrNotTransacted)},
	} {
		fs, err := Features(cc)
		if err != nil || fs.PINPad() {
			t.Errorf("%+v: got %+v, %v", cc, fs, err)
		}
	}
	// Transport failures are reported.
	if _, err := Features(&controlCard{err: opErr("control", "r", scard.ErrRemovedCard)}); !errors.Is(err, ErrCardRemoved) {
		t.Errorf("removed card: %v", err)
	}
}

func FuzzParseFeatures(f *testing.F) {
	f.Add([]byte{0x06, 4, 0x42, 0x33, 0x00, 0x06, 0x12, 4, 0x42, 0x33, 0x00, 0x12})
	f.Add([]byte{0x06, 0xff})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		fs, err := ParseFeatures(b)
		if err != nil && fs != (FeatureSet{}) {
			t.Fatal("features returned with an error")
		}
		if err == nil && len(b)%6 != 0 {
			t.Fatalf("accepted %d bytes", len(b))
		}
	})
}
