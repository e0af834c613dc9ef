package nssdb

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// internal is NSS's own first entry, as certutil -N writes it.
const internal = `library=
name=NSS Internal PKCS #11 Module
parameters=configdir='sql:/x' certPrefix='' keyPrefix='' secmod='secmod.db' flags= updatedir='' updateCertPrefix='' updateKeyPrefix='' updateid='' updateTokenDescription='' 
NSS=Flags=internal,critical trustOrder=75 cipherOrder=100 slotParams=(1={slotFlags=[ECC,RSA,DSA,DH,RC2,RC4,DES,RANDOM,SHA1,MD5,MD2,SSL,TLS,AES,Camellia,SEED,SHA256,SHA512] askpw=any timeout=30})

`

const other = "library=/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so\nname=OpenSC\n\n"

func db(t *testing.T, content string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, ModulesFile), []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

func modules(t *testing.T, dir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, ModulesFile))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestRegisterIdempotentKeepsOthers(t *testing.T) {
	dir := db(t, internal+other)
	lib := "/usr/lib/x86_64-linux-gnu/pkcs11/libpcsc11.so"
	if ch, err := Register(dir, "pcsc11", lib, true); ch != Added || err != nil {
		t.Fatalf("dry run: %v %v", ch, err)
	}
	if got := modules(t, dir); got != internal+other {
		t.Fatalf("dry run wrote:\n%s", got)
	}
	if ch, err := Register(dir, "pcsc11", lib, false); ch != Added || err != nil {
		t.Fatalf("register: %v %v", ch, err)
	}
	want := internal + other + "library=" + lib + "\nname=pcsc11\n\n"
	if got := modules(t, dir); got != want {
		t.Fatalf("pkcs11.txt:\n%s\nwant:\n%s", got, want)
	}
	if ch, err := Register(dir, "pcsc11", lib, false); ch != Unchanged || err != nil {
		t.Fatalf("again: %v %v", ch, err)
	}
	if st, _ := os.Stat(filepath.Join(dir, ModulesFile)); st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", st.Mode())
	}
	if ch, err := Unregister(dir, "pcsc11", false); ch != Removed || err != nil {
		t.Fatalf("unregister: %v %v", ch, err)
	}
	if got := modules(t, dir); got != internal+other {
		t.Fatalf("after unregister:\n%s", got)
	}
	if ch, err := Unregister(dir, "pcsc11", false); ch != NotPresent || err != nil {
		t.Fatalf("unregister again: %v %v", ch, err)
	}
}

// An old entry of ours (another name for the same library, a friendly mark, a second
// copy) becomes one plain entry.
func TestRegisterReplacesFriendlyAndDuplicates(t *testing.T) {
	friendly := "library=/opt/old/libpcsc11.so\nname=YubiKey\nNSS=slotParams={0x00000000=[slotFlags=PublicCerts askpw=any timeout=30]}\n\n"
	dir := db(t, internal+friendly+other+"library=/x/libpcsc11.so\nname=pcsc11\n\n")
	st, err := Read(dir, "pcsc11")
	if err != nil || len(st.Ours) != 2 || !st.Entries[st.Ours[0]].Friendly() || st.Entries[st.Ours[1]].Friendly() {
		t.Fatalf("state %+v %v", st, err)
	}
	if ch, err := Register(dir, "pcsc11", "/new/libpcsc11.so", false); ch != Updated || err != nil {
		t.Fatalf("%v %v", ch, err)
	}
	got := modules(t, dir)
	if got != internal+other+"library=/new/libpcsc11.so\nname=pcsc11\n\n" || strings.Contains(got, "PublicCerts") {
		t.Fatalf("pkcs11.txt:\n%s", got)
	}
}

func TestRegisterNoDatabase(t *testing.T) {
	dir := t.TempDir()
	if ch, err := Register(dir, "pcsc11", "/l/libpcsc11.so", false); ch != Missing || err != nil {
		t.Fatalf("%v %v", ch, err)
	}
	if _, err := os.Stat(filepath.Join(dir, ModulesFile)); !os.IsNotExist(err) {
		t.Fatal("a module list was created without a database")
	}
	os.WriteFile(filepath.Join(dir, "secmod.db"), []byte("x"), 0o600)
	if _, err := Register(dir, "pcsc11", "/l/libpcsc11.so", false); err == nil || !strings.Contains(err.Error(), "legacy") {
		t.Fatalf("legacy database: %v", err)
	}
	if _, err := Register(db(t, internal), "pcsc11", "/l/lib\npcsc11.so", false); err == nil {
		t.Fatal("a path with a line break was written")
	}
}

func TestDiscover(t *testing.T) {
	home := t.TempDir()
	ff := filepath.Join(home, ".mozilla", "firefox")
	for _, d := range []string{"a.default-esr", "b.other", "stray"} {
		os.MkdirAll(filepath.Join(ff, d), 0o700)
	}
	abs := filepath.Join(home, "elsewhere")
	os.MkdirAll(abs, 0o700)
	os.WriteFile(filepath.Join(ff, "profiles.ini"), []byte("[General]\nStartWithLastProfile=1\n\n[Profile1]\nName=o\nIsRelative=1\nPath=b.other\n\n"+
		"[Profile0]\nName=d\nIsRelative=1\nPath=a.default-esr\nDefault=1\n\n[Profile2]\nIsRelative=0\nPath="+abs+"\n\n[Profile3]\nPath=gone\n\n[Install4F96D1932A9F858E]\nDefault=a.default-esr\n"), 0o600)
	xdg := filepath.Join(home, ".config", "mozilla", "firefox", "r2.e2e") // Firefox ESR 153 without ~/.mozilla
	os.MkdirAll(xdg, 0o700)
	os.WriteFile(filepath.Join(home, ".config", "mozilla", "firefox", "profiles.ini"), []byte("[Profile0]\nName=e2e\nIsRelative=1\nPath=r2.e2e\n"), 0o600)
	tb := filepath.Join(home, ".thunderbird", "x.default")
	os.MkdirAll(tb, 0o700)
	os.WriteFile(filepath.Join(tb, "cert9.db"), nil, 0o600) // no profiles.ini: found by its database
	got := []string{}
	for _, d := range Discover(home, "") {
		rel, _ := filepath.Rel(home, d.Dir)
		got = append(got, d.App+":"+rel)
	}
	want := "firefox:.mozilla/firefox/a.default-esr firefox:.mozilla/firefox/b.other firefox:elsewhere firefox:.config/mozilla/firefox/r2.e2e thunderbird:.thunderbird/x.default chromium:.pki/nssdb"
	if strings.Join(got, " ") != want {
		t.Errorf("Discover:\n%s\nwant\n%s", strings.Join(got, " "), want)
	}
}

func TestPolicy(t *testing.T) {
	path := filepath.Join(t.TempDir(), "policies", "policies.json")
	lib := "/usr/lib/x86_64-linux-gnu/pkcs11/libpcsc11.so"
	if ch, err := UnregisterPolicy(path, "pcsc11", false); ch != NotPresent || err != nil {
		t.Fatalf("%v %v", ch, err)
	}
	if ch, err := RegisterPolicy(path, "pcsc11", lib, false); ch != Added || err != nil {
		t.Fatalf("%v %v", ch, err)
	}
	if ch, _ := RegisterPolicy(path, "pcsc11", lib, false); ch != Unchanged {
		t.Fatalf("again: %v", ch)
	}
	if got, exists, err := PolicyState(path, "pcsc11"); got != lib || !exists || err != nil {
		t.Fatalf("state %q %v %v", got, exists, err)
	}
	// Other policies survive; the old flat form is moved under Add.
	os.WriteFile(path, []byte(`{"policies": {"DisableTelemetry": true, "SecurityDevices": {"pcsc11": "/old/libpcsc11.so", "Other": "/o.so"}}}`), 0o644)
	if ch, err := RegisterPolicy(path, "pcsc11", lib, false); ch != Updated || err != nil {
		t.Fatalf("%v %v", ch, err)
	}
	var doc map[string]map[string]any
	data, _ := os.ReadFile(path)
	json.Unmarshal(data, &doc)
	sd := doc["policies"]["SecurityDevices"].(map[string]any)
	if doc["policies"]["DisableTelemetry"] != true || sd["Other"] != "/o.so" || sd["pcsc11"] != nil || sd["Add"].(map[string]any)["pcsc11"] != lib {
		t.Fatalf("policies.json: %s", data)
	}
	if ch, err := UnregisterPolicy(path, "pcsc11", false); ch != Removed || err != nil {
		t.Fatalf("%v %v", ch, err)
	}
	data, _ = os.ReadFile(path)
	if strings.Contains(string(data), "pcsc11") || !strings.Contains(string(data), "DisableTelemetry") {
		t.Fatalf("after unregister: %s", data)
	}
	os.WriteFile(path, []byte("{not json"), 0o644)
	if _, err := RegisterPolicy(path, "pcsc11", lib, false); err == nil {
		t.Fatal("a broken policy file was overwritten")
	}
	if data, _ := os.ReadFile(path); string(data) != "{not json" {
		t.Fatalf("broken file changed: %s", data)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(internal + other))
	f.Add([]byte("library=\r\nname=x\r\n\r\n\n\nNSS=PublicCerts"))
	f.Fuzz(func(t *testing.T, data []byte) {
		entries := parse(data)
		again := parse(format(entries))
		if len(again) != len(entries) {
			t.Fatalf("%d entries, %d after a round trip", len(entries), len(again))
		}
		for i := range entries {
			if entries[i].Library != again[i].Library || entries[i].Name != again[i].Name || entries[i].Friendly() != again[i].Friendly() {
				t.Fatalf("entry %d changed in a round trip", i)
			}
		}
	})
}
