package main

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ebfe/scard"

	"github.com/pcsc11/pcsc11/config"
	"github.com/pcsc11/pcsc11/reader"
)

// doctorRun runs doctor --json and returns the checks by name.
func doctorRun(t *testing.T, ta *testApp, args ...string) (int, map[string]checkJSON) {
	t.Helper()
	ta.out.b.Reset()
	code := ta.run(t, append([]string{"--json", "doctor"}, args...)...)
	var out struct{ Checks []checkJSON }
	if err := json.Unmarshal([]byte(ta.out.String()), &out); err != nil {
		t.Fatalf("doctor --json: %v\n%s", err, ta.out)
	}
	m := map[string]checkJSON{}
	var order []string
	for _, c := range out.Checks {
		m[c.Name] = c
		order = append(order, c.Name)
	}
	want := "configuration pcscd readers cards exclusive polkit registration p11-kit friendly cache module"
	if strings.Join(order, " ") != want {
		t.Fatalf("checks %v, want %s", order, want)
	}
	return code, m
}

// doctorApp: the rig's readers, a home with one Firefox profile, no system file.
func doctorApp(t *testing.T) (*testApp, *fakePCSC, string) {
	t.Helper()
	old := config.SystemFile
	config.SystemFile = filepath.Join(t.TempDir(), "none.conf")
	t.Cleanup(func() { config.SystemFile = old })
	f := rig(t)
	ta := newTestApp(f)
	home := t.TempDir()
	ta.getenv = func(k string) string {
		switch k {
		case "HOME":
			return home
		case "PCSC11_CACHE":
			return "0"
		}
		return ""
	}
	return ta, f, home
}

func TestDoctorPCSCDStopped(t *testing.T) {
	ta, _, _ := doctorApp(t)
	ta.openPCSC = func() (reader.Backend, error) { return nil, errors.New("cannot reach pcscd") }
	env := ta.getenv
	ta.getenv = func(k string) string {
		if k == "PCSCLITE_CSOCK_NAME" {
			return "/nonexistent/pcscd.comm"
		}
		return env(k)
	}
	code, c := doctorRun(t, ta, "--module", "/nonexistent/libpcsc11.so")
	if code != exitError || c["pcscd"].Status != "fail" || !strings.Contains(c["pcscd"].Verdict, "no socket /nonexistent/pcscd.comm") ||
		!strings.Contains(c["pcscd"].Fix, "systemctl enable --now pcscd.socket") {
		t.Fatalf("%d %+v", code, c["pcscd"])
	}
	for _, n := range []string{"readers", "cards", "exclusive"} {
		if c[n].Status != "skip" {
			t.Errorf("%s: %+v", n, c[n])
		}
	}
	if c["module"].Status != "fail" {
		t.Errorf("module: %+v", c["module"])
	}
}

func TestDoctorExclusiveHolderAndUnregisteredProfile(t *testing.T) {
	ta, f, home := doctorApp(t)
	f.held = map[string]error{plainReader: &reader.OpError{Op: "connect", Reader: plainReader, Code: scard.ErrSharingViolation}}
	prof := filepath.Join(home, ".mozilla", "firefox", "p.default-esr")
	newNSSDB(t, prof)
	writeFile(t, filepath.Join(home, ".mozilla", "firefox", "profiles.ini"), "[Profile0]\nPath=p.default-esr\nIsRelative=1\n")
	code, c := doctorRun(t, ta)
	if code != exitError {
		t.Errorf("exit %d", code)
	}
	if c["exclusive"].Status != "fail" || !strings.Contains(c["exclusive"].Verdict, `held exclusively by another program: "`+plainReader+`"`) {
		t.Errorf("exclusive: %+v", c["exclusive"])
	}
	if c["registration"].Status != "fail" || !strings.Contains(c["registration"].Verdict, "not registered in firefox "+prof) || c["registration"].Fix == "" {
		t.Errorf("registration: %+v", c["registration"])
	}
	if c["cards"].Status != "warn" || c["readers"].Status != "ok" || c["pcscd"].Status != "ok" || c["cache"].Status != "ok" {
		t.Errorf("%+v", c)
	}

	// Registered, but marked friendly (as modutil -mechanisms FRIENDLY writes it).
	lib := filepath.Join(home, "libpcsc11.so")
	writeFile(t, lib, "x")
	if code := ta.run(t, "register", "--module", lib); code != 0 {
		t.Fatal("register")
	}
	txt := filepath.Join(prof, "pkcs11.txt")
	b, _ := os.ReadFile(txt)
	os.WriteFile(txt, []byte(strings.Replace(string(b), "name=pcsc11\n", "name=pcsc11\nNSS=slotParams={0x00000001=[slotFlags=PublicCerts askpw=any timeout=30]}\n", 1)), 0o600)
	f.held = nil
	_, c = doctorRun(t, ta, "--module", lib)
	if c["registration"].Status != "ok" || c["exclusive"].Status != "ok" || c["friendly"].Status != "fail" ||
		!strings.Contains(c["friendly"].Verdict, prof) {
		t.Errorf("after register + friendly: %+v", c)
	}
	ta.run(t, "register", "--module", lib)
	_, c = doctorRun(t, ta, "--module", lib)
	if c["friendly"].Status != "ok" {
		t.Errorf("register did not clear the friendly mark: %+v", c["friendly"])
	}
}

func TestDoctorPolkitAndConfig(t *testing.T) {
	ta, f, home := doctorApp(t)
	f.held = map[string]error{plainReader: &reader.OpError{Op: "connect", Reader: plainReader, Code: scard.ErrNoAccess}}
	writeFile(t, filepath.Join(home, ".config", "pcsc11", "pcsc11.conf"), "reader_deny = *\ncache_dri = x\n")
	_, c := doctorRun(t, ta)
	if c["polkit"].Status != "fail" || !strings.Contains(c["polkit"].Fix, "org.debian.pcsc-lite.access_card") {
		t.Errorf("polkit: %+v", c["polkit"])
	}
	if c["configuration"].Status != "fail" || !strings.Contains(c["configuration"].Verdict, "pcsc11.conf:2: unknown setting") {
		t.Errorf("configuration: %+v", c["configuration"])
	}
	if c["readers"].Status != "ok" { // the bad file is not applied: nothing hidden
		t.Errorf("readers: %+v", c["readers"])
	}
	writeFile(t, filepath.Join(home, ".config", "pcsc11", "pcsc11.conf"), "reader_deny = *\n")
	_, c = doctorRun(t, ta)
	if c["readers"].Status != "fail" || !strings.Contains(c["readers"].Verdict, "all left out by reader_allow/reader_deny") {
		t.Errorf("readers: %+v", c["readers"])
	}
	// The text form: one verdict line per check, a fix line under failures.
	ta.out.b.Reset()
	ta.run(t, "doctor")
	if out := ta.out.String(); !strings.Contains(out, "FAIL  readers       2 reader(s), all left out") || !strings.Contains(out, "\n      fix: pcsc11 info") {
		t.Errorf("text:\n%s", out)
	}
}
