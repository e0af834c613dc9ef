package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// newNSSDB makes an NSS database the way Firefox and Chromium do (certutil -N), or
// skips when NSS's tools are missing.
func newNSSDB(t *testing.T, dir string) {
	t.Helper()
	certutil, err := exec.LookPath("certutil")
	if err != nil {
		t.Skip("certutil (libnss3-tools) not installed")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(certutil, "-N", "-d", "sql:"+dir, "--empty-password").CombinedOutput(); err != nil {
		t.Fatalf("certutil -N: %v %s", err, out)
	}
}

func TestRegisterUnregister(t *testing.T) {
	home := t.TempDir()
	prof := filepath.Join(home, ".mozilla", "firefox", "x1.default-esr")
	newNSSDB(t, prof)
	writeFile(t, filepath.Join(home, ".mozilla", "firefox", "profiles.ini"), "[Profile0]\nName=default-esr\nIsRelative=1\nPath=x1.default-esr\n")
	lib := filepath.Join(home, "libpcsc11.so")
	writeFile(t, lib, "not really a library: register never loads it")
	ta := newTestApp(rig(t))
	ta.getenv = func(k string) string {
		if k == "HOME" {
			return home
		}
		return ""
	}
	txt := func(dir string) string {
		b, _ := os.ReadFile(filepath.Join(dir, "pkcs11.txt"))
		return string(b)
	}
	chromium := filepath.Join(home, ".pki", "nssdb")

	if code := ta.run(t, "register", "--module", lib, "--dry-run"); code != 0 ||
		!strings.Contains(ta.out.String(), "would be added  firefox         "+prof) || strings.Contains(txt(prof), "pcsc11") {
		t.Fatalf("dry run: %d\n%s%s", code, ta.out, ta.errb)
	}
	if _, err := os.Stat(chromium); !os.IsNotExist(err) {
		t.Fatal("the dry run created ~/.pki/nssdb")
	}
	ta.out.b.Reset()
	if code := ta.run(t, "register", "--module", lib); code != 0 {
		t.Fatalf("register: %d %s %s", code, ta.out, ta.errb)
	}
	entry := "library=" + lib + "\nname=pcsc11\n"
	if !strings.Contains(txt(prof), entry) || !strings.Contains(txt(chromium), entry) {
		t.Fatalf("after register:\n%s\n%s\n%s", ta.out, txt(prof), txt(chromium))
	}
	ta.out.b.Reset()
	ta.run(t, "--json", "register", "--module", lib)
	var out registerJSON
	if err := json.Unmarshal([]byte(ta.out.String()), &out); err != nil || len(out.Changes) != 2 ||
		out.Changes[0].Change != "unchanged" || out.Changes[1].Change != "unchanged" || out.Module != lib {
		t.Fatalf("second register: %v %s", err, ta.out)
	}
	if strings.Count(txt(prof), "name=pcsc11") != 1 {
		t.Fatalf("registered twice:\n%s", txt(prof))
	}
	ta.out.b.Reset()
	if code := ta.run(t, "unregister"); code != 0 || strings.Contains(txt(prof), "pcsc11") || strings.Contains(txt(chromium), "pcsc11") ||
		!strings.Contains(txt(prof), "NSS Internal PKCS #11 Module") {
		t.Fatalf("unregister: %d %s\n%s", code, ta.out, txt(prof))
	}

	// --nssdb: only that database; a directory without one fails and says how to make it.
	other := filepath.Join(home, "other")
	newNSSDB(t, other)
	ta.out.b.Reset()
	if code := ta.run(t, "register", "--module", lib, "--nssdb", "sql:"+other, "--nssdb", filepath.Join(home, "empty")); code != exitError ||
		!strings.Contains(txt(other), entry) || strings.Contains(txt(prof), "pcsc11") ||
		!strings.Contains(ta.out.String(), "certutil -N -d sql:"+filepath.Join(home, "empty")) {
		t.Fatalf("--nssdb: %d %s", code, ta.out)
	}

	// --system writes the policy file given, keeping what is there.
	pol := filepath.Join(home, "policies", "policies.json")
	writeFile(t, pol, `{"policies": {"DisableAppUpdate": true}}`)
	ta.out.b.Reset()
	if code := ta.run(t, "register", "--module", lib, "--system", "--policies", pol); code != 0 {
		t.Fatalf("--system: %d %s", code, ta.out)
	}
	b, _ := os.ReadFile(pol)
	if !strings.Contains(string(b), `"DisableAppUpdate": true`) || !strings.Contains(string(b), `"pcsc11": "`+lib+`"`) {
		t.Fatalf("policies.json: %s", b)
	}
	if code := ta.run(t, "register", "--module", filepath.Join(home, "nope.so")); code != exitUsage {
		t.Fatalf("missing module: exit %d", code)
	}
	if code := ta.run(t, "unregister", "--system", "--nssdb", other); code != exitUsage {
		t.Fatalf("--system with --nssdb: exit %d", code)
	}
}
