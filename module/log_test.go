package module

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// withLog turns debug logging on into a file for one test and returns its path.
func withLog(t *testing.T, on bool) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "pcsc11.log")
	old := Getenv
	Getenv = func(k string) string {
		switch {
		case k == "PCSC11_DEBUG" && on:
			return "1"
		case k == "PCSC11_LOG":
			return path
		}
		return ""
	}
	setupLog()
	t.Cleanup(func() {
		Getenv = old
		setupLog()
	})
	return path
}

// Every Cryptoki call is logged by name and return value when debugging is on (what
// `pcsc11 trace` shows), and nothing is written when it is off.
func TestLogCall(t *testing.T) {
	path := withLog(t, true)
	LogCall("C_Sign", 0)
	LogCall("C_Login", 0xa0)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"C_Sign → CKR_OK", "C_Login → 0xa0"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("log lacks %q:\n%s", want, b)
		}
	}

	off := withLog(t, false)
	LogCall("C_Sign", 0)
	if b, err := os.ReadFile(off); err == nil && len(b) > 0 {
		t.Errorf("logging off, yet written: %s", b)
	}
}
