package logging

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestWants(t *testing.T) {
	for list, want := range map[string]bool{"apdu": true, "pcsc,apdu": true, "APDU": true, "": false,
		"apdus": false, "all": true, "1": false, "calls apdu": true} {
		if got := Wants(list, "apdu"); got != want {
			t.Errorf("Wants(%q) = %v", list, got)
		}
	}
}

// Debug lines pass only when debugging is on; info and errors always; each record is
// one readable line.
func TestLevelsAndFormat(t *testing.T) {
	var buf bytes.Buffer
	restore := SetOutput(&buf, false, false)
	defer restore()
	Debugf("hidden %d", 1)
	Infof("card ready")
	Errorf("boom")
	Logger().Info("with attrs", "slot", 3, "reader", "Virtual PCD 00 00")
	out := buf.String()
	if strings.Contains(out, "hidden") {
		t.Errorf("debug line written with debugging off:\n%s", out)
	}
	line := regexp.MustCompile(`^\d\d:\d\d:\d\d\.\d{6} pcsc11\[\d+\] `)
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("want 3 lines:\n%s", out)
	}
	for _, l := range lines {
		if !line.MatchString(l) {
			t.Errorf("line %q lacks time and program", l)
		}
	}
	for _, want := range []string{"] card ready", "] ERROR boom", `slot=3 reader="Virtual PCD 00 00"`} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	buf.Reset()
	SetOutput(&buf, true, false)
	Debugf("shown %d", 2)
	if !strings.Contains(buf.String(), "shown 2") {
		t.Errorf("debug line missing with debugging on: %q", buf.String())
	}
}

// PCSC11_DEBUG and PCSC11_LOG: debug on for any value but "" and "0", the APDU trace
// for the word apdu or all, lines appended to a 0600 file.
func TestConfigure(t *testing.T) {
	defer SetOutput(nil, false, false)() // restores whatever ran before
	path := filepath.Join(t.TempDir(), "log")
	env := map[string]string{"PCSC11_DEBUG": "1", "PCSC11_LOG": path}
	Configure(func(k string) string { return env[k] })
	if !Debug() || APDU() {
		t.Fatalf("PCSC11_DEBUG=1: debug %v apdu %v", Debug(), APDU())
	}
	Debugf("to the file")
	env["PCSC11_DEBUG"] = "calls,apdu"
	Configure(func(k string) string { return env[k] })
	if !APDU() {
		t.Fatal("apdu not on")
	}
	b, err := os.ReadFile(path)
	if err != nil || !strings.Contains(string(b), "to the file") {
		t.Fatalf("log file: %q, %v", b, err)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Errorf("log file mode %v, want 0600", st.Mode().Perm())
	}
	env = map[string]string{"PCSC11_DEBUG": "off"} // as a configuration file may say
	Configure(func(k string) string { return env[k] })
	if Debug() {
		t.Error("PCSC11_DEBUG=off: debug on")
	}
	env = map[string]string{"PCSC11_DEBUG": "0"}
	Configure(func(k string) string { return env[k] })
	if Debug() || APDU() || state.file != nil {
		t.Errorf("PCSC11_DEBUG=0: debug %v apdu %v file %v", Debug(), APDU(), state.file)
	}
	if Logger().Enabled(nil, slog.LevelDebug) {
		t.Error("debug level enabled while off")
	}
}
