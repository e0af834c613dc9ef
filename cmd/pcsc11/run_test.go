package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pcsc11/pcsc11/config"
	"github.com/pcsc11/pcsc11/reader"
)

const (
	plainReader = "Virtual PCD 00 00"
	padReader   = "pcsc11 PIN pad 00 00"
)

// pinPadFeatures is the feature list of pcsc11's test PIN-pad reader (docs/pinpad.md).
func pinPadFeatures() map[uint32][]byte {
	feat := []byte{}
	for _, tag := range []byte{0x06, 0x07, 0x0a, 0x12} {
		code := 0x42330000 + uint32(tag)
		feat = append(feat, tag, 4, byte(code>>24), byte(code>>16), byte(code>>8), byte(code))
	}
	return map[uint32][]byte{
		reader.IOCTLGetFeatureRequest: feat,
		0x4233000A:                    {0x00, 0x00, 0x02, 0x00},
		0x42330012:                    pinpadTLV,
	}
}

// rig: a plain reader with the demo card and an empty PIN-pad reader.
func rig(t *testing.T) *fakePCSC {
	f := newFakePCSC()
	f.attach(plainReader)
	f.attach(padReader)
	f.ctl[padReader] = pinPadFeatures()
	f.insert(plainReader, testCard(t))
	return f
}

func (ta *testApp) run(t *testing.T, args ...string) int {
	t.Helper()
	return ta.app.run(args)
}

func TestHelpAndUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		out  string // expected on stdout
		err  string // expected on stderr
	}{
		{[]string{"help"}, 0, "commands:", ""},
		{[]string{"--help"}, 0, "exit status: 0 ok, 1 error, 2 usage error, 3", ""},
		{[]string{"help", "objects"}, 0, "usage: pcsc11 objects [--slot N] [--json]", ""},
		{[]string{"objects", "--help"}, 0, "pkcs11: URI", ""},
		{[]string{"watch", "-h"}, 0, "card-removed", ""},
		{[]string{"trace", "--help"}, 0, "PCSC11_DEBUG=apdu", ""},
		{[]string{"--version"}, 0, "pcsc11 test", ""},
		{nil, 2, "", "usage: pcsc11"},
		{[]string{"frobnicate"}, 2, "", `unknown command "frobnicate"`},
		{[]string{"help", "frobnicate"}, 2, "", "unknown command"},
		{[]string{"--bogus"}, 2, "", "unknown flag --bogus"},
		{[]string{"readers", "--bogus"}, 2, "", "flag provided but not defined"},
		{[]string{"slots", "extra"}, 2, "", "takes no arguments"},
		{[]string{"objects", "--slot", "x"}, 2, "", "not a number"},
		{[]string{"objects", "--slot", "-1"}, 2, "", "not a number"},
		{[]string{"watch", "--count", "-3"}, 2, "", "negative"},
		{[]string{"trace"}, 2, "", "no command given"},
		{[]string{"--json", "trace", "--", "true"}, 2, "", "no --json"},
	} {
		ta := newTestApp(newFakePCSC())
		code := ta.run(t, tc.args...)
		if code != tc.code || !strings.Contains(ta.out.String(), tc.out) || !strings.Contains(ta.errb.String(), tc.err) {
			t.Errorf("%q: exit %d (want %d)\nstdout: %s\nstderr: %s", tc.args, code, tc.code, ta.out, ta.errb)
		}
	}
	// Every command has help.
	for _, c := range commands {
		ta := newTestApp(newFakePCSC())
		if code := ta.run(t, "help", c.name); code != 0 || !strings.Contains(ta.out.String(), "usage: pcsc11 "+c.name) {
			t.Errorf("help %s: %d %s", c.name, code, ta.out)
		}
	}
}

func TestPCSCUnreachableIsExit3(t *testing.T) {
	for _, args := range [][]string{{"readers"}, {"slots"}, {"objects"}, {"watch"}, {"info"}, {"--json", "info"}} {
		ta := newTestApp(newFakePCSC())
		ta.openPCSC = func() (reader.Backend, error) { return nil, errors.New("SCARD_E_NO_SERVICE") }
		code := ta.run(t, args...)
		if code != exitNoReader {
			t.Errorf("%q: exit %d, want 3; stderr %s", args, code, ta.errb)
		}
		if args[len(args)-1] != "info" && !strings.Contains(ta.errb.String(), "cannot reach pcscd") {
			t.Errorf("%q: stderr %q", args, ta.errb)
		}
	}
	ta := newTestApp(newFakePCSC())
	ta.openPCSC = func() (reader.Backend, error) { return nil, errors.New("SCARD_E_NO_SERVICE") }
	ta.run(t, "--json", "info")
	var info infoJSON
	if err := json.Unmarshal([]byte(ta.out.String()), &info); err != nil || info.PCSC.Reachable || info.PCSC.Error == "" {
		t.Fatalf("info JSON: %v %+v", err, info)
	}
}

func TestNoReaders(t *testing.T) {
	for _, args := range [][]string{{"readers"}, {"slots"}, {"objects"}} {
		ta := newTestApp(newFakePCSC())
		if code := ta.run(t, args...); code != exitNoReader || !strings.Contains(ta.errb.String(), "no smart-card reader") {
			t.Errorf("%q: exit %d, stderr %s", args, code, ta.errb)
		}
	}
	ta := newTestApp(newFakePCSC())
	if code := ta.run(t, "--json", "readers"); code != exitNoReader || strings.TrimSpace(ta.out.String()) != "{\n  \"readers\": []\n}" {
		t.Errorf("readers --json with no reader: %d %q", code, ta.out)
	}
	ta = newTestApp(newFakePCSC())
	if code := ta.run(t, "info"); code != 0 || !strings.Contains(ta.out.String(), "reachable, 0 reader(s)") {
		t.Errorf("info: %d %s", code, ta.out)
	}
}

func TestReaders(t *testing.T) {
	f := rig(t)
	ta := newTestApp(f)
	if code := ta.run(t, "readers"); code != 0 {
		t.Fatalf("exit %d: %s", code, ta.errb)
	}
	out := ta.out.String()
	for _, want := range []string{
		plainReader + "\n  card:       present, ATR 3b",
		padReader + "\n  card:       none\n  PIN pad:    yes (verify, modify PIN on the reader)",
		"PIN size:   4 to 12 digits",
		"display:    none",
		"PIN entry:  ends on OK key",
		"reader:     pcsc11-pinpad-1, USB 1d50:5c11, max APDU data 65280 bytes",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in\n%s", want, out)
		}
	}
	if strings.Count(out, "PIN pad:    no") != 1 {
		t.Errorf("plain reader not shown as such:\n%s", out)
	}

	ta = newTestApp(f)
	if code := ta.run(t, "readers", "--json"); code != 0 {
		t.Fatalf("exit %d", code)
	}
	var got struct{ Readers []readerJSON }
	if err := json.Unmarshal([]byte(ta.out.String()), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Readers) != 2 {
		t.Fatalf("%+v", got)
	}
	plain, pad := got.Readers[0], got.Readers[1]
	if !plain.CardPresent || plain.ATR == "" || plain.PINPad || plain.Properties != nil {
		t.Errorf("plain reader: %+v", plain)
	}
	p := pad.Properties
	if pad.CardPresent || !pad.PINPad || !pad.Features.ModifyPINDirect || p == nil ||
		*p.MinPINSize != 4 || *p.MaxPINSize != 12 || *p.LcdLines != 0 || *p.EntryValidation != 2 {
		t.Errorf("PIN-pad reader: %+v %+v", pad, p)
	}
	// The raw field names are the documented contract.
	for _, key := range []string{`"name"`, `"card_present"`, `"atr"`, `"pin_pad"`, `"verify_pin_direct"`,
		`"min_pin_size"`, `"max_pin_size"`, `"lcd_layout"`, `"firmware_id"`} {
		if !strings.Contains(ta.out.String(), key) {
			t.Errorf("JSON lacks %s", key)
		}
	}
}

func TestReadersWithBadFeatureAnswers(t *testing.T) {
	f := rig(t)
	feats := pinPadFeatures()
	feats[0x42330012] = []byte{0x06, 0x05, 0x04} // truncated TLV
	f.ctl[padReader] = feats
	f.ctl[plainReader] = map[uint32][]byte{reader.IOCTLGetFeatureRequest: {0x06, 0x04, 0x42}} // garbage
	ta := newTestApp(f)
	if code := ta.run(t, "--json", "readers"); code != 0 {
		t.Fatalf("exit %d %s", code, ta.errb)
	}
	var got struct{ Readers []readerJSON }
	json.Unmarshal([]byte(ta.out.String()), &got)
	plain, pad := got.Readers[0], got.Readers[1]
	if plain.PINPad || plain.Features.VerifyPINDirect {
		t.Errorf("garbage features made a PIN pad: %+v", plain)
	}
	// The TLV answer is bad, the older PIN properties structure still answers.
	if !pad.PINPad || !strings.Contains(pad.FeaturesError, "GET_TLV_PROPERTIES") ||
		pad.Properties == nil || pad.Properties.MinPINSize != nil || *pad.Properties.EntryValidation != 2 {
		t.Errorf("pad: %+v %+v", pad, pad.Properties)
	}
}

func TestSlots(t *testing.T) {
	f := rig(t)
	ta := newTestApp(f)
	if code := ta.run(t, "slots"); code != 0 {
		t.Fatalf("exit %d: %s", code, ta.errb)
	}
	out := ta.out.String()
	for _, want := range []string{
		"slot 0: " + plainReader, "serial:       12345678", "manufacturer: Yubico",
		"model:        YubiKey 5.7", "firmware:     5.7", "LOGIN_REQUIRED",
		"URI:          pkcs11:token=", ";serial=12345678",
		"slot 1: " + padReader + "\n  (no card)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in\n%s", want, out)
		}
	}
	if strings.Contains(out, "PROTECTED_AUTHENTICATION_PATH") {
		t.Error("plain reader token has a protected authentication path")
	}

	// The same card in the PIN-pad reader: CKF_PROTECTED_AUTHENTICATION_PATH.
	f.remove(plainReader)
	f.insert(padReader, testCard(t))
	ta = newTestApp(f)
	if code := ta.run(t, "slots", "--json"); code != 0 {
		t.Fatalf("exit %d: %s", code, ta.errb)
	}
	var got struct{ Slots []slotJSON }
	if err := json.Unmarshal([]byte(ta.out.String()), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Slots) != 2 || got.Slots[0].CardPresent || got.Slots[0].Token != nil {
		t.Fatalf("%+v", got.Slots)
	}
	tok := got.Slots[1].Token
	if tok == nil || tok.Serial != "12345678" || !strings.Contains(strings.Join(tok.Flags, " "), "PROTECTED_AUTHENTICATION_PATH") ||
		tok.FlagsValue&0x100 == 0 || tok.MinPINLen != 6 || tok.MaxPINLen != 8 {
		t.Fatalf("token: %+v", tok)
	}
}

func TestObjects(t *testing.T) {
	f := rig(t)
	ta := newTestApp(f)
	if code := ta.run(t, "--json", "objects"); code != 0 {
		t.Fatalf("exit %d: %s", code, ta.errb)
	}
	var got struct {
		Objects []objectJSON
		Errors  []slotErrorJSON
	}
	if err := json.Unmarshal([]byte(ta.out.String()), &got); err != nil {
		t.Fatal(err)
	}
	classes := map[string]string{}
	for _, o := range got.Objects {
		if o.ID == "01" {
			classes[o.Class] = o.URI
		}
		if !strings.HasPrefix(o.URI, "pkcs11:token=") || !strings.Contains(o.URI, ";serial=12345678;") ||
			!strings.Contains(o.URI, ";type="+o.Class) || strings.Contains(o.URI, " ") {
			t.Errorf("URI %s", o.URI)
		}
	}
	want := ";id=%01;object=X.509%20Certificate%20for%20PIV%20Authentication;type=cert"
	if !strings.HasSuffix(classes["cert"], want) {
		t.Errorf("cert URI %q", classes["cert"])
	}
	if !strings.HasSuffix(classes["private"], ";id=%01;object=Private%20key%20for%20PIV%20Authentication;type=private") ||
		!strings.Contains(classes["public"], ";id=%01;") {
		t.Errorf("key URIs: %v", classes)
	}
	if len(got.Errors) != 0 {
		t.Errorf("errors: %+v", got.Errors)
	}
	// 9A needs the PIN (CKA_PRIVATE); 9E, the card-authentication key, does not.
	for _, o := range got.Objects {
		if o.Class == "private" && (o.ID == "01" && !o.Private || o.ID == "04" && o.Private) {
			t.Errorf("%s: CKA_PRIVATE %v", o.Key, o.Private)
		}
	}

	ta = newTestApp(f)
	if code := ta.run(t, "objects", "--slot", "0"); code != 0 ||
		!strings.Contains(ta.out.String(), "cert/") && !strings.Contains(ta.out.String(), "  cert ") {
		t.Errorf("--slot 0: %d\n%s", code, ta.out)
	}
	for _, tc := range []struct {
		args []string
		err  string
	}{
		{[]string{"objects", "--slot", "1"}, "no card in slot 1 (" + padReader + ")"},
		{[]string{"objects", "--slot", "9"}, "no slot 9"},
	} {
		ta = newTestApp(f)
		if code := ta.run(t, tc.args...); code != exitError || !strings.Contains(ta.errb.String(), tc.err) {
			t.Errorf("%q: %d %s", tc.args, code, ta.errb)
		}
	}
	f.remove(plainReader)
	ta = newTestApp(f)
	if code := ta.run(t, "objects"); code != exitError || !strings.Contains(ta.errb.String(), "no card in any reader") {
		t.Errorf("no card: %d %s", code, ta.errb)
	}
}

// waitFor polls the output of a running command (a test helper; the CLI never polls).
func waitFor(t *testing.T, b *syncBuf, s string) {
	t.Helper()
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		if strings.Contains(b.String(), s) {
			return
		}
	}
	t.Fatalf("%q never appeared in\n%s", s, b)
}

func TestWatchEvents(t *testing.T) {
	f := rig(t)
	ta := newTestApp(f)
	done := make(chan int)
	go func() { done <- ta.app.run([]string{"watch", "--json", "--count", "3", "--timeout", "10s"}) }()
	waitFor(t, ta.out, `"event":"state"`)
	f.remove(plainReader)
	waitFor(t, ta.out, `"card-removed"`)
	f.insert(plainReader, testCard(t))
	waitFor(t, ta.out, `"card-inserted"`)
	f.attach("Reader 3")
	if code := <-done; code != 0 {
		t.Fatalf("exit %d: %s", code, ta.errb)
	}
	var evs []eventJSON
	for _, line := range strings.Split(strings.TrimSpace(ta.out.String()), "\n") {
		var e eventJSON
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		evs = append(evs, e)
	}
	want := []string{"0 state true", "1 state false", "0 card-removed false", "0 card-inserted true", "2 reader-added false"}
	if len(evs) != len(want) {
		t.Fatalf("events %+v", evs)
	}
	for i, e := range evs {
		if got := fmt.Sprintf("%d %s %v", e.Slot, e.Event, e.CardPresent); got != want[i] {
			t.Errorf("event %d: %s, want %s", i, got, want[i])
		}
	}
	if evs[2].Reader != plainReader || evs[2].Time == "" {
		t.Errorf("%+v", evs[2])
	}
}

func TestWatchStops(t *testing.T) {
	f := rig(t)
	// --timeout alone: exit 0.
	ta := newTestApp(f)
	start := time.Now()
	if code := ta.run(t, "watch", "--timeout", "100ms"); code != 0 || time.Since(start) > 3*time.Second {
		t.Errorf("timeout: %d after %s: %s", code, time.Since(start), ta.errb)
	}
	if !strings.Contains(ta.out.String(), `slot 0 "`+plainReader+`": state`) {
		t.Errorf("text output: %s", ta.out)
	}
	// --count not reached before --timeout: exit 1 and say so.
	ta = newTestApp(f)
	if code := ta.run(t, "watch", "--count", "1", "--timeout", "100ms"); code != exitError ||
		!strings.Contains(ta.errb.String(), "timed out after 100ms with 0 of 1 events") {
		t.Errorf("count: %d %s", code, ta.errb)
	}
	// Ctrl-C: exit 0.
	ta = newTestApp(f)
	done := make(chan int)
	go func() { done <- ta.app.run([]string{"watch"}) }()
	waitFor(t, ta.out, "state")
	ta.sig <- os.Interrupt
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("Ctrl-C: exit %d %s", code, ta.errb)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("watch did not stop on Ctrl-C")
	}
}

func TestSlotEvents(t *testing.T) {
	for _, tc := range []struct {
		before slotSeen
		known  bool
		now    slotSeen
		want   string
	}{
		{slotSeen{}, false, slotSeen{attached: true}, "reader-added"},
		{slotSeen{}, false, slotSeen{attached: true, present: true, gen: 1}, "reader-added card-inserted"},
		{slotSeen{attached: true, present: true, gen: 1}, true, slotSeen{gen: 2}, "reader-removed card-removed"},
		{slotSeen{attached: true, present: true, gen: 1}, true, slotSeen{attached: true, present: true, gen: 3}, "card-changed"},
		{slotSeen{attached: true, present: true, gen: 1}, true, slotSeen{attached: true, present: true, gen: 1}, "changed"},
	} {
		if got := strings.Join(slotEvents(tc.before, tc.known, tc.now), " "); got != tc.want {
			t.Errorf("%+v → %+v: %s, want %s", tc.before, tc.now, got, tc.want)
		}
	}
}

func TestInfo(t *testing.T) {
	ta := newTestApp(rig(t))
	dir := t.TempDir()
	sys := filepath.Join(dir, "pcsc11.conf")
	writeFile(t, sys, "# machine\nreader_deny = *Hello*\npin_cache = 5m\n")
	old := config.SystemFile
	config.SystemFile = sys
	t.Cleanup(func() { config.SystemFile = old })
	user := filepath.Join(dir, "xdg", "pcsc11", "pcsc11.conf")
	writeFile(t, user, "cache = 0\ncache_dri = /x\n") // line 2 is wrong: the file is not applied
	env := map[string]string{"PCSC11_DEBUG": "apdu", "PCSC11_PIN_CACHE": "off", "HOME": "/root",
		"XDG_CONFIG_HOME": filepath.Join(dir, "xdg")}
	ta.getenv = func(k string) string { return env[k] }
	if code := ta.run(t, "info"); code != 0 {
		t.Fatalf("exit %d", code)
	}
	out := ta.out.String()
	for _, want := range []string{"pcsc11 test", "reachable, 2 reader(s), 1 with a card", plainReader,
		"files: " + sys + ", " + user,
		"NOT APPLIED: " + user + ":2: unknown setting \"cache_dri\"",
		"debug           apdu                   environment",
		"log             stderr                 default",
		"pin_cache       off                    environment", // over the file's 5m
		"reader_deny     *Hello*                " + sys + ":2",
		"cache           on                     default", // the user file is not applied
		"PCSCLITE_CSOCK_NAME  (unset: /run/pcscd/pcscd.comm)"} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in\n%s", want, out)
		}
	}
	ta.out.b.Reset()
	ta.run(t, "info", "--json")
	var info infoJSON
	if err := json.Unmarshal([]byte(ta.out.String()), &info); err != nil {
		t.Fatal(err)
	}
	if !info.PCSC.Reachable || info.PCSC.Readers != 2 || info.PCSC.Cards != 1 || info.Env["PCSC11_PIN_CACHE"] != "off" ||
		len(info.Env) != 2 || info.Version != "test" || len(info.Config) != len(config.Keys) ||
		len(info.ConfigErrors) != 1 || len(info.ConfigFiles) != 2 {
		t.Errorf("%+v", info)
	}
	for _, s := range info.Config {
		if s.Name == "reader_deny" && (s.Value != "*Hello*" || s.Source != sys+":2" || s.Env != "PCSC11_READER_DENY") {
			t.Errorf("reader_deny: %+v", s)
		}
	}
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// A card without PIV beside a PIV token is reported, not a failure; alone it is.
func TestForeignCard(t *testing.T) {
	f := rig(t)
	f.insertAlien(padReader)
	ta := newTestApp(f)
	if code := ta.run(t, "slots"); code != 0 || !strings.Contains(ta.out.String(), "error:        card not recognized") {
		t.Errorf("slots: %d\n%s%s", code, ta.out, ta.errb)
	}
	ta = newTestApp(f)
	if code := ta.run(t, "--json", "objects"); code != 0 || !strings.Contains(ta.out.String(), `"error": "card not recognized`) {
		t.Errorf("objects: %d\n%s%s", code, ta.out, ta.errb)
	}
	ta = newTestApp(f)
	if code := ta.run(t, "objects", "--slot", "1"); code != exitError {
		t.Errorf("objects --slot 1: %d\n%s%s", code, ta.out, ta.errb)
	}
	f.remove(plainReader)
	ta = newTestApp(f)
	if code := ta.run(t, "objects"); code != exitError || !strings.Contains(ta.errb.String(), "no card with a token") {
		t.Errorf("objects, foreign card only: %d\n%s%s", code, ta.out, ta.errb)
	}
}
