package config

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	good := "# pcsc11\n\n  pin_cache = 15m  \nreader_deny=\"*Hello* , x\"\n\t# indented comment\ndebug =\n"
	entries, err := Parse("f", []byte(good))
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		env, val string
		line     int
	}{{"PCSC11_PIN_CACHE", "15m", 3}, {"PCSC11_READER_DENY", "*Hello* , x", 4}, {"PCSC11_DEBUG", "", 6}}
	if len(entries) != len(want) {
		t.Fatalf("entries %+v", entries)
	}
	for i, w := range want {
		if e := entries[i]; e.Key.Env != w.env || e.Value != w.val || e.Line != w.line {
			t.Errorf("entry %d = %+v, want %+v", i, e, w)
		}
	}
}

func TestParseErrorsNameTheLine(t *testing.T) {
	for _, c := range []struct {
		text string
		line int
		msg  string
	}{
		{"debug = 1\nnonsense\n", 2, `expected "name = value"`},
		{"\n\npin_cach = 5m\n", 3, `unknown setting "pin_cach"`},
		{"debug = 1\n# x\ndebug = 0\n", 3, "debug already set on line 1"},
		{"log = \"a\n", 1, "unbalanced double quote"},
		{"log = \xff\n", 1, "not UTF-8"},
		{"cache = 1\nlog = a\x00b\n", 2, "not UTF-8"},
	} {
		entries, err := Parse("/etc/x.conf", []byte(c.text))
		var pe *ParseError
		if !errors.As(err, &pe) || pe.Line != c.line || !strings.Contains(pe.Msg, c.msg) || entries != nil {
			t.Errorf("%q: entries %v, error %v; want line %d %q", c.text, entries, err, c.line, c.msg)
			continue
		}
		if !strings.HasPrefix(err.Error(), "/etc/x.conf:"+string(rune('0'+c.line))+": ") {
			t.Errorf("%q: error text %q does not start with path:line", c.text, err)
		}
	}
	if _, err := Parse("big", make([]byte, MaxFileSize+1)); err == nil {
		t.Error("a file over MaxFileSize parsed")
	}
}

// The error text never carries the value: a user may have pasted a PIN where it does
// not belong.
func TestParseErrorHidesValues(t *testing.T) {
	_, err := Parse("f", []byte("log = \"123456\n"))
	if err == nil || strings.Contains(err.Error(), "123456") {
		t.Fatalf("error %v", err)
	}
}

// env builds an environment function from pairs.
func env(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

func TestLayers(t *testing.T) {
	dir := t.TempDir()
	sys := filepath.Join(dir, "etc.conf")
	old := SystemFile
	SystemFile = sys
	t.Cleanup(func() { SystemFile = old })
	write(t, sys, "pin_cache = off\ncache = 0\nlog = /var/log/x\n")
	write(t, filepath.Join(dir, "xdg", "pcsc11", "pcsc11.conf"), "# user\ncache = 1\n")

	s := Load(env("XDG_CONFIG_HOME", filepath.Join(dir, "xdg"), "PCSC11_LOG", "/tmp/envlog", "HOME", "/nonexistent"))
	if len(s.Errors) != 0 {
		t.Fatal(s.Errors)
	}
	for _, c := range []struct{ name, val, src string }{
		{"PCSC11_PIN_CACHE", "off", sys + ":1"},
		{"PCSC11_CACHE", "1", filepath.Join(dir, "xdg", "pcsc11", "pcsc11.conf") + ":2"},
		{"PCSC11_LOG", "/tmp/envlog", "environment"},
		{"PCSC11_DEBUG", "", "default"},
		{"HOME", "/nonexistent", "environment"},
	} {
		v, src := s.Lookup(c.name)
		if v != c.val || src.String() != c.src {
			t.Errorf("%s = %q from %s, want %q from %s", c.name, v, src, c.val, c.src)
		}
	}
}

// A wrong file is reported with its line and contributes nothing; the other file and
// the environment still apply.
func TestBadFileKeepsDefaults(t *testing.T) {
	dir := t.TempDir()
	old := SystemFile
	SystemFile = filepath.Join(dir, "etc.conf")
	t.Cleanup(func() { SystemFile = old })
	write(t, SystemFile, "debug = 1\n")
	user := filepath.Join(dir, "home", ".config", "pcsc11", "pcsc11.conf")
	write(t, user, "pin_cache = off\nreader_allow Yubico*\n")
	s := Load(env("HOME", filepath.Join(dir, "home")))
	if len(s.Errors) != 1 || !strings.Contains(s.Errors[0].Error(), user+":2: ") {
		t.Fatalf("errors %v", s.Errors)
	}
	if v, _ := s.Lookup("PCSC11_PIN_CACHE"); v != "" {
		t.Errorf("pin_cache from the bad file applied: %q", v)
	}
	if v, _ := s.Lookup("PCSC11_DEBUG"); v != "1" {
		t.Errorf("the good file's debug lost: %q", v)
	}
	if len(s.Files) != 2 || s.Files[1] != user {
		t.Errorf("files %v", s.Files)
	}
}

func TestUnreadableFile(t *testing.T) {
	dir := t.TempDir()
	old := SystemFile
	SystemFile = dir // a directory
	t.Cleanup(func() { SystemFile = old })
	s := Load(env())
	if len(s.Errors) != 1 || !strings.Contains(s.Errors[0].Error(), dir) {
		t.Fatalf("errors %v", s.Errors)
	}
}

func TestUserFile(t *testing.T) {
	for _, c := range []struct {
		env  func(string) string
		want string
	}{
		{env("XDG_CONFIG_HOME", "/x", "HOME", "/h"), "/x/pcsc11/pcsc11.conf"},
		{env("XDG_CONFIG_HOME", "rel", "HOME", "/h"), "/h/.config/pcsc11/pcsc11.conf"},
		{env("HOME", "/h"), "/h/.config/pcsc11/pcsc11.conf"},
		{env(), ""},
	} {
		if got := UserFile(c.env); got != c.want {
			t.Errorf("UserFile = %q, want %q", got, c.want)
		}
	}
}

func TestReaderFilter(t *testing.T) {
	if ReaderFilter(" , ", "") != nil {
		t.Error("empty lists made a filter")
	}
	f := ReaderFilter("yubico*, *Virtual PCD*", "*FIDO* 01*")
	for name, want := range map[string]bool{
		"Yubico YubiKey OTP+FIDO+CCID 00 00": true,
		"Yubico YubiKey OTP+FIDO+CCID 01 00": false, // denied
		"Virtual PCD 00 00":                  true,
		"virtual pcd 00 01":                  true,
		"Windows Hello [1] 00 00":            false, // not allowed
		"":                                   false,
	} {
		if got := f(name); got != want {
			t.Errorf("%q: %v, want %v", name, got, want)
		}
	}
	deny := ReaderFilter("", "Gemalto?PC*")
	if deny("Gemalto PC Twin Reader") || !deny("Gemalto  PC") || !deny("Yubico") {
		t.Error("deny-only filter")
	}
}

func TestGlob(t *testing.T) {
	for _, c := range []struct {
		p, n string
		want bool
	}{
		{"", "", true}, {"*", "", true}, {"a*b*c", "axxbyyc", true}, {"a*b*c", "axxbyy", false},
		{"?", "é", true}, {"a[1]", "a[1]", true}, {"a/b*", "a/bc", true}, {"**a", "ba", true},
		{strings.Repeat("*a", 20) + "b", strings.Repeat("a", 60), false},
	} {
		if got := glob(c.p, c.n); got != c.want {
			t.Errorf("glob(%q, %q) = %v", c.p, c.n, got)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("# c\npin_cache = 5m\nreader_deny = \"*a* \"\n"))
	f.Add([]byte("debug\n=\n\"\"\n"))
	f.Add([]byte("log = \xff"))
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, err := Parse("f", data)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || entries != nil || pe.Line < 0 {
				t.Fatalf("error %T %v with %d entries", err, err, len(entries))
			}
			return
		}
		seen := map[string]bool{}
		for _, e := range entries {
			if _, ok := ByName(e.Key.Name); !ok || seen[e.Key.Name] || e.Line < 1 {
				t.Fatalf("entry %+v", e)
			}
			seen[e.Key.Name] = true
		}
	})
}

// Every PCSC11_ variable the library reads is a row of Keys, and every row is read
// somewhere: the table that info and the docs show is the truth. (The CLI's secret
// variables PCSC11_PIN, PCSC11_PUK… are the CLI's own input, never a setting: a
// configuration file must not hold a PIN.)
func TestEverySettingIsAKey(t *testing.T) {
	root := filepath.Join("..")
	used := map[string]string{}
	re := regexp.MustCompile(`"(PCSC11_[A-Z0-9_]+)"`)
	direct := regexp.MustCompile(`os\.(Getenv|LookupEnv)\("PCSC11_`)
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if d.IsDir() {
			switch filepath.ToSlash(rel) {
			case "cmd/pcsc11", "cmd/pcsc11-vpiv", "hwtests", "e2e", "bench", "vpiv", "build", ".git":
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") || strings.HasPrefix(rel, "config"+string(filepath.Separator)) {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range re.FindAllStringSubmatch(string(data), -1) {
			used[m[1]] = rel
		}
		if direct.Match(data) {
			t.Errorf("%s reads a PCSC11_ setting with os.Getenv: read it through config.Get (module.Getenv, piv.Getenv), or pcsc11.conf cannot set it", rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for name, where := range used {
		if _, ok := ByEnv(name); !ok {
			t.Errorf("%s (read in %s) is not a row of config.Keys: add one in config/keys.go and docs/configuration.md's table", name, where)
		}
	}
	for _, k := range Keys {
		if _, ok := used[k.Env]; !ok {
			t.Errorf("config.Keys has %s, which no library code reads", k.Env)
		}
		if k.Env != "PCSC11_"+strings.ToUpper(k.Name) {
			t.Errorf("key %s: environment name %s", k.Name, k.Env)
		}
	}
	for i := 1; i < len(Keys); i++ {
		if Keys[i-1].Name >= Keys[i].Name {
			t.Errorf("Keys not sorted at %s", Keys[i].Name)
		}
	}
}

func write(t *testing.T, path, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// docs/configuration.md's table has one row per key, with its environment variable.
func TestDocsTableMatchesKeys(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "docs", "configuration.md"))
	if err != nil {
		t.Fatal(err)
	}
	rows := regexp.MustCompile("(?m)^\\| `([a-z_]+)` \\| `(PCSC11_[A-Z_]+)` \\|").FindAllStringSubmatch(string(data), -1)
	if len(rows) != len(Keys) {
		t.Errorf("docs/configuration.md has %d key rows, config.Keys %d", len(rows), len(Keys))
	}
	for i, r := range rows {
		if i < len(Keys) && (r[1] != Keys[i].Name || r[2] != Keys[i].Env) {
			t.Errorf("docs row %d: %s %s, want %s %s", i, r[1], r[2], Keys[i].Name, Keys[i].Env)
		}
	}
}

// Every on/off setting accepts the same words, in any case and with spaces around;
// anything else is the setting's default.
func TestFlag(t *testing.T) {
	for _, c := range []struct {
		v        string
		def, out bool
	}{
		{"1", false, true}, {"true", false, true}, {" Yes ", false, true}, {"ON", false, true},
		{"0", true, false}, {"false", true, false}, {"No", true, false}, {" off", true, false},
		{"", true, true}, {"", false, false}, {"maybe", true, true}, {"2", false, false},
	} {
		if got := Flag(c.v, c.def); got != c.out {
			t.Errorf("Flag(%q, %v) = %v, want %v", c.v, c.def, got, c.out)
		}
	}
}
