package secret

import (
	"bytes"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"testing"
)

func TestHoldAndWipe(t *testing.T) {
	puk := []byte("hR4mV8nq")
	s := Hold(puk)
	if !bytes.Equal(s.Bytes(), puk) || s.Len() != 8 {
		t.Fatalf("held %q", s.Bytes())
	}
	if runtime.GOOS == "linux" && !s.Locked() {
		t.Error("Linux gave no locked memory for 8 bytes (RLIMIT_MEMLOCK?)")
	}
	s.Wipe()
	if s.Bytes() != nil || s.Len() != 0 || s.Locked() {
		t.Fatal("value still there after Wipe")
	}
	s.Wipe() // twice is fine
	var none *Bytes
	none.Wipe()
	if none.Bytes() != nil {
		t.Fatal("nil Bytes has a value")
	}
}

// Where locked memory is refused, the ordinary buffer is zeroed by Wipe all the same.
func TestWipeZeroesTheFallback(t *testing.T) {
	buf := []byte("0123456789abcdef")
	s := &Bytes{mem: buf, n: len(buf)}
	s.Wipe()
	if !bytes.Equal(buf, make([]byte, len(buf))) {
		t.Fatalf("fallback buffer not zeroed: %q", buf)
	}
}

func TestZeroed(t *testing.T) {
	s := Zeroed(24)
	defer s.Wipe()
	if s.Len() != 24 || !bytes.Equal(s.Bytes(), make([]byte, 24)) {
		t.Fatalf("Zeroed(24) = %x", s.Bytes())
	}
	if s.Bytes()[0] = 7; s.Bytes()[0] != 7 {
		t.Fatal("not writable")
	}
}

// A Bytes handed to fmt or log/slog by mistake prints its length, never its value.
func TestNeverFormatted(t *testing.T) {
	s := Hold([]byte("hR4mV8nq"))
	defer s.Wipe()
	var b strings.Builder
	fmt.Fprintf(&b, "%v %s %x %X %+v %#v %q", s, s, s, s, s, s, s)
	slog.New(slog.NewTextHandler(&b, nil)).Info("puk", "value", s)
	out := b.String()
	for _, leak := range []string{"hR4mV8nq", "6852346d56386e71", "6852346D56386E71", "104 82"} {
		if strings.Contains(out, leak) {
			t.Errorf("the value leaks (%s): %s", leak, out)
		}
	}
	if !strings.Contains(out, "[secret: 8 bytes]") {
		t.Errorf("no length shown: %s", out)
	}
}
