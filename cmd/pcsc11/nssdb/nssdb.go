// Package nssdb finds a user's NSS databases (Firefox and Thunderbird profiles,
// Chromium's ~/.pki/nssdb) and adds or removes a PKCS#11 module in their module list,
// pkcs11.txt: what `pcsc11 register`, `unregister` and `doctor` do.
//
// pkcs11.txt is NSS's own text format for the module database of a "sql:" database
// (cert9.db, key4.db): blank-line separated entries of name=value lines, the first
// being NSS's internal module. modutil and Firefox write it the same way; editing it
// directly needs no NSS tools and never loads the module. Only our entry is touched:
// every other line is written back as it was. Legacy "dbm:" databases (secmod.db, NSS
// before 3.35) are reported, not changed.
package nssdb

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// ModulesFile is the module list of a sql: database.
const ModulesFile = "pkcs11.txt"

// maxFile bounds what is read of pkcs11.txt or profiles.ini.
const maxFile = 1 << 20

// DB is one NSS database of the user.
type DB struct {
	App string // "firefox", "thunderbird", "chromium" or "nssdb" (given with --nssdb)
	Dir string
}

func (d DB) String() string { return d.App + " " + d.Dir }

// Discover lists the NSS databases of a user: every profile that profiles.ini names
// (or, without profiles.ini, every directory holding cert9.db) for Firefox and
// Thunderbird, in the classic places (~/.mozilla/firefox, ~/.thunderbird), the XDG
// ones newer releases use when those do not exist ($XDG_CONFIG_HOME/mozilla/firefox:
// Firefox ESR 153 on Debian; xdgConfig "" means ~/.config), and the Snap and Flatpak
// places; then ~/.pki/nssdb (Chromium), whether or not it exists yet. Sorted within
// each place; no directory is created.
func Discover(home, xdgConfig string) []DB {
	if !filepath.IsAbs(xdgConfig) {
		xdgConfig = filepath.Join(home, ".config")
	}
	var out []DB
	for _, app := range []struct{ name, base string }{
		{"firefox", filepath.Join(home, ".mozilla/firefox")},
		{"firefox", filepath.Join(xdgConfig, "mozilla/firefox")},
		{"firefox", filepath.Join(home, "snap/firefox/common/.mozilla/firefox")},
		{"firefox", filepath.Join(home, ".var/app/org.mozilla.firefox/.mozilla/firefox")},
		{"thunderbird", filepath.Join(home, ".thunderbird")},
		{"thunderbird", filepath.Join(xdgConfig, "thunderbird")},
		{"thunderbird", filepath.Join(home, "snap/thunderbird/common/.thunderbird")},
		{"thunderbird", filepath.Join(home, ".var/app/org.mozilla.Thunderbird/.thunderbird")},
	} {
		for _, dir := range profiles(app.base) {
			out = append(out, DB{App: app.name, Dir: dir})
		}
	}
	return append(out, DB{App: "chromium", Dir: filepath.Join(home, ".pki", "nssdb")})
}

// profiles are the profile directories of one Mozilla application base directory.
func profiles(base string) []string {
	seen := map[string]bool{}
	var dirs []string
	add := func(d string) {
		if d = filepath.Clean(d); !seen[d] {
			if st, err := os.Stat(d); err == nil && st.IsDir() {
				seen[d] = true
				dirs = append(dirs, d)
			}
		}
	}
	if data, err := readBounded(filepath.Join(base, "profiles.ini")); err == nil {
		var path string
		relative := true
		flush := func() {
			if path != "" {
				if relative && !filepath.IsAbs(path) {
					path = filepath.Join(base, path)
				}
				add(path)
			}
			path, relative = "", true
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			switch {
			case strings.HasPrefix(line, "["):
				flush()
			case strings.HasPrefix(line, "Path="):
				path = strings.TrimPrefix(line, "Path=")
			case strings.HasPrefix(line, "IsRelative="):
				relative = strings.TrimPrefix(line, "IsRelative=") != "0"
			}
		}
		flush()
	} else {
		matches, _ := filepath.Glob(filepath.Join(base, "*", "cert9.db"))
		for _, m := range matches {
			add(filepath.Dir(m))
		}
	}
	sort.Strings(dirs)
	return dirs
}

func readBounded(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFile+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxFile {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, maxFile)
	}
	return data, nil
}

// Entry is one module of pkcs11.txt.
type Entry struct {
	Library string   // the library= value ("" for NSS's internal module)
	Name    string   // the name= value
	Lines   []string // every line, as written
}

// Friendly reports whether the entry marks slots friendly (NSS's PublicCerts slot
// flag, what `modutil -mechanisms FRIENDLY` sets): Firefox then skips the login and
// stalls in the TLS handshake (docs/firefox.md).
func (e Entry) Friendly() bool {
	for _, l := range e.Lines {
		if strings.HasPrefix(l, "NSS=") && strings.Contains(strings.ToLower(l), "publiccerts") {
			return true
		}
	}
	return false
}

// State is what a database's module list says about our module.
type State struct {
	Exists  bool    // the database exists (pkcs11.txt or cert9.db)
	Legacy  bool    // a dbm: database (secmod.db without pkcs11.txt): not handled
	Entries []Entry // every module
	Ours    []int   // indexes of entries that are our module
}

// IsOurs decides whether an entry is pcsc11: by name, or by a library file called
// libpcsc11.so wherever it lives (a build tree, /usr/local, the package's place).
func IsOurs(e Entry, name string) bool {
	return e.Name == name || filepath.Base(e.Library) == "libpcsc11.so"
}

// Read reads a database's module list.
func Read(dir, name string) (State, error) {
	var st State
	data, err := readBounded(filepath.Join(dir, ModulesFile))
	if errors.Is(err, fs.ErrNotExist) {
		_, certErr := os.Stat(filepath.Join(dir, "cert9.db"))
		_, secErr := os.Stat(filepath.Join(dir, "secmod.db"))
		st.Exists = certErr == nil || secErr == nil
		st.Legacy = secErr == nil && certErr != nil
		return st, nil
	}
	if err != nil {
		return st, err
	}
	st.Exists = true
	st.Entries = parse(data)
	for i, e := range st.Entries {
		if IsOurs(e, name) {
			st.Ours = append(st.Ours, i)
		}
	}
	return st, nil
}

// parse splits pkcs11.txt into entries (blank-line separated).
func parse(data []byte) []Entry {
	var out []Entry
	var cur *Entry
	for _, line := range strings.Split(string(data), "\n") {
		// CRLF, or stray CRs before the newline: NSS ends lines at either character, so
		// every trailing CR goes (removing only one made "name=\r\r" read as a name
		// of "\r" once, and "" after our rewrite: found by FuzzParse).
		line = strings.TrimRight(line, "\r")
		if strings.TrimSpace(line) == "" {
			cur = nil
			continue
		}
		if cur == nil {
			out = append(out, Entry{})
			cur = &out[len(out)-1]
		}
		cur.Lines = append(cur.Lines, line)
		if v, ok := strings.CutPrefix(line, "library="); ok {
			cur.Library = v
		} else if v, ok := strings.CutPrefix(line, "name="); ok {
			cur.Name = v
		}
	}
	return out
}

// format writes entries back as NSS does: lines, then one blank line after each entry.
func format(entries []Entry) []byte {
	var b bytes.Buffer
	for _, e := range entries {
		for _, l := range e.Lines {
			b.WriteString(l)
			b.WriteByte('\n')
		}
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// Change is what Register or Unregister did (or would do, dry).
type Change string

const (
	Added      Change = "added"
	Updated    Change = "updated"   // our entry rewritten: another path, friendly mark, duplicates
	Unchanged  Change = "unchanged" // already as wanted
	Removed    Change = "removed"
	NotPresent Change = "not registered"
	Missing    Change = "no database" // the directory holds no NSS database
)

// ourEntry is the entry Register writes: library and name only, no NSS= flags (no
// friendly mark, no default mechanisms), as `modutil -add` writes it.
func ourEntry(name, lib string) Entry {
	return Entry{Library: lib, Name: name, Lines: []string{"library=" + lib, "name=" + name}}
}

// Register puts our module in dir's module list as exactly one entry (name, lib),
// replacing earlier entries of ours (another path, a friendly mark). dry: report only.
func Register(dir, name, lib string, dry bool) (Change, error) {
	if strings.ContainsAny(name+lib, "\n\r") {
		return "", fmt.Errorf("name or library path with a line break")
	}
	st, err := Read(dir, name)
	if err != nil {
		return "", err
	}
	if !st.Exists {
		return Missing, nil
	}
	if st.Legacy {
		return "", fmt.Errorf("%s is a legacy dbm: database (secmod.db); use modutil", dir)
	}
	want := ourEntry(name, lib)
	if len(st.Ours) == 1 {
		e := st.Entries[st.Ours[0]]
		if e.Library == lib && e.Name == name && len(e.Lines) == 2 {
			return Unchanged, nil
		}
	}
	change := Added
	if len(st.Ours) > 0 {
		change = Updated
	}
	if len(st.Entries) == 0 {
		return "", fmt.Errorf("%s: pkcs11.txt has no internal module entry; open the database once with its program or certutil first", dir)
	}
	entries := remove(st.Entries, st.Ours)
	entries = append(entries, want)
	if dry {
		return change, nil
	}
	return change, writeAtomic(filepath.Join(dir, ModulesFile), format(entries))
}

// Unregister removes every entry of ours from dir's module list.
func Unregister(dir, name string, dry bool) (Change, error) {
	st, err := Read(dir, name)
	if err != nil {
		return "", err
	}
	if !st.Exists {
		return Missing, nil
	}
	if len(st.Ours) == 0 {
		return NotPresent, nil
	}
	if dry {
		return Removed, nil
	}
	return Removed, writeAtomic(filepath.Join(dir, ModulesFile), format(remove(st.Entries, st.Ours)))
}

func remove(entries []Entry, idx []int) []Entry {
	drop := map[int]bool{}
	for _, i := range idx {
		drop[i] = true
	}
	var out []Entry
	for i, e := range entries {
		if !drop[i] {
			out = append(out, e)
		}
	}
	return out
}

// writeAtomic replaces path with data through a temporary file in the same directory,
// keeping the old file's mode (NSS creates pkcs11.txt 0600).
func writeAtomic(path string, data []byte) error {
	mode := fs.FileMode(0o600)
	if st, err := os.Stat(path); err == nil {
		mode = st.Mode().Perm()
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".pkcs11.txt.pcsc11-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
