package vpcd

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pcsc11/pcsc11/vpiv"
)

var (
	getData = []byte{0x00, 0xCB, 0x3F, 0xFF, 0x05, 0x5C, 0x03, 0x5F, 0xC1, 0x02}
	okResp  = []byte{0x53, 0x03, 0x01, 0x02, 0x03, 0x90, 0x00}
)

func TestNewInjectorValidates(t *testing.T) {
	if in, err := NewInjector("", 1, 0); in != nil || err != nil {
		t.Fatalf("no mode: %v, %v; want nil, nil", in, err)
	}
	if _, err := NewInjector("explode", 1, 0); err == nil || !strings.Contains(err.Error(), "truncate") {
		t.Fatalf("unknown mode: %v, want an error listing the modes", err)
	}
	if _, err := NewInjector(InjectTruncate, 0, 0); err == nil {
		t.Fatal("--inject-every 0 accepted")
	}
	if _, err := NewInjector(InjectSlow, 1, -time.Second); err == nil {
		t.Fatal("negative delay accepted")
	}
}

func TestInjectTruncateEveryN(t *testing.T) {
	in, err := NewInjector(InjectTruncate, 3, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 6; i++ {
		got, _ := in.Apply(getData, okResp)
		if i%3 == 0 {
			if !bytes.Equal(got, []byte{0x53}) {
				t.Fatalf("response %d = % X, want the single byte 53", i, got)
			}
		} else if !bytes.Equal(got, okResp) {
			t.Fatalf("response %d = % X, want it untouched", i, got)
		}
	}
}

func TestInjectEndless61(t *testing.T) {
	in, _ := NewInjector(InjectEndless61, 1, 0)
	got, _ := in.Apply(getData, okResp)
	want := []byte{0x53, 0x03, 0x01, 0x02, 0x03, 0x61, 0xFF}
	if !bytes.Equal(got, want) {
		t.Fatalf("got % X, want % X", got, want)
	}
	if okResp[5] != 0x90 {
		t.Fatal("Apply modified the engine's response in place")
	}
}

func TestInjectGarbageTLV(t *testing.T) {
	in, _ := NewInjector(InjectGarbageTLV, 1, 0)
	cases := []struct {
		name       string
		resp, want []byte
	}{
		{"short form", okResp, []byte{0x53, 0x7F, 0x01, 0x02, 0x03, 0x90, 0x00}},
		{"long form", []byte{0x53, 0x82, 0x01, 0x00, 0xAA, 0x61, 0x10}, []byte{0x53, 0x82, 0xFF, 0xFF, 0xAA, 0x61, 0x10}},
		{"two-byte tag", []byte{0x7F, 0x49, 0x02, 0x86, 0x00, 0x90, 0x00}, []byte{0x7F, 0x49, 0x7F, 0x86, 0x00, 0x90, 0x00}},
	}
	for _, c := range cases {
		got, _ := in.Apply(getData, c.resp)
		if !bytes.Equal(got, c.want) {
			t.Errorf("%s: got % X, want % X", c.name, got, c.want)
		}
	}
	// Not GET DATA, or an error status: untouched and not counted.
	sel := []byte{0x00, 0xA4, 0x04, 0x00, 0x05, 0xA0, 0x00, 0x00, 0x03, 0x08}
	if got, _ := in.Apply(sel, okResp); !bytes.Equal(got, okResp) {
		t.Errorf("SELECT answer corrupted: % X", got)
	}
	notFound := []byte{0x6A, 0x82}
	if got, _ := in.Apply(getData, notFound); !bytes.Equal(got, notFound) {
		t.Errorf("6A82 corrupted: % X", got)
	}
}

func TestInjectSlowDelays(t *testing.T) {
	in, _ := NewInjector(InjectSlow, 2, 250*time.Millisecond)
	if _, d := in.Apply(getData, okResp); d != 0 {
		t.Fatalf("first response delayed %v with every=2", d)
	}
	if _, d := in.Apply(getData, okResp); d != 250*time.Millisecond {
		t.Fatalf("second response delayed %v, want 250ms", d)
	}
}

func TestNilInjectorIsTransparent(t *testing.T) {
	var in *Injector
	got, d := in.Apply(getData, okResp)
	if !bytes.Equal(got, okResp) || d != 0 {
		t.Fatalf("nil injector changed the answer: % X, %v", got, d)
	}
}

// The virtual card's trace follows the module's redaction rules (apdu.Redactor).
func TestTraceRedactsSecrets(t *testing.T) {
	var lines []string
	card := &fakeCard{}
	s := &session{card: card, mu: &sync.Mutex{}, trace: true, logf: func(f string, a ...any) {
		lines = append(lines, fmt.Sprintf(f, a...))
	}}
	pin := []byte{0x00, 0x20, 0x00, 0x80, 0x08, '1', '2', '3', '4', '5', '6', 0xFF, 0xFF}
	mgm := []byte{0x00, 0x87, 0x0A, 0x9B, 0x04, 0x7C, 0x02, 0x80, 0x00}
	for _, m := range [][]byte{pin, mgm, getData} {
		s.handle(m)
	}
	out := strings.Join(lines, "\n")
	if strings.Contains(out, "313233") || strings.Contains(out, "7c028000") {
		t.Fatalf("secret in the virtual card's trace:\n%s", out)
	}
	for _, want := range []string{"> 00200080 08 [8 bytes redacted]", "> 00870a9b 04 [4 bytes redacted]", "> 00cb3fff055c035fc102"} {
		if !strings.Contains(out, want) {
			t.Errorf("trace lacks %q:\n%s", want, out)
		}
	}
}

func TestInjectEmpty61(t *testing.T) {
	in, _ := NewInjector(InjectEmpty61, 1, 0)
	for _, cmd := range [][]byte{getData, {0x00, 0xC0, 0x00, 0x00, 0x10}} {
		if got, d := in.Apply(cmd, okResp); !bytes.Equal(got, []byte{0x61, 0x10}) || d != 0 {
			t.Fatalf("got % X after %v, want 61 10 at once", got, d)
		}
	}
}

// mute: the Nth answer and every one after it never come (until removal).
func TestInjectMute(t *testing.T) {
	in, _ := NewInjector(InjectMute, 3, 0)
	for i := 1; i <= 5; i++ {
		_, d := in.Apply(getData, okResp)
		if (i < 3) != (d == 0) {
			t.Fatalf("answer %d delayed %v", i, d)
		}
		if i >= 3 && d < time.Hour {
			t.Fatalf("answer %d delayed only %v", i, d)
		}
	}
}

// The bad-object modes rewrite no answer (the container is corrupted at start).
func TestInjectObjectModesRewriteNothing(t *testing.T) {
	for _, m := range []string{vpiv.BadCertTrailing, vpiv.BadCertLength, vpiv.BadCertNotX509, vpiv.BadCertGzipGarbage} {
		in, err := NewInjector(m, 1, 0)
		if err != nil || !ObjectMode(m) {
			t.Fatalf("%s: %v", m, err)
		}
		if got, d := in.Apply(getData, okResp); !bytes.Equal(got, okResp) || d != 0 {
			t.Fatalf("%s rewrote an answer: % X", m, got)
		}
	}
}
