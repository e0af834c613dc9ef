package diskcache

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

var testID = Identity{Serial: 12345678, Firmware: [3]byte{5, 7, 1}, ATR: []byte{0x3B, 0xFD, 0x13}}

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func openIn(t *testing.T, dir string, id Identity) *Cache {
	t.Helper()
	c := Open(id, env(map[string]string{"PCSC11_CACHE_DIR": dir}))
	if c == nil {
		t.Fatal("cache off")
	}
	return c
}

func TestRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "sub", "pcsc11")
	c := openIn(t, dir, testID)
	if c.Get(0x5FC105) != nil {
		t.Fatal("entry in a new cache")
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("Get created the directory: %v", err)
	}
	if err := c.Put(0x5FC105, []byte{0x53, 1, 2}); err != nil {
		t.Fatal(err)
	}
	if err := c.Put(0x5FC10A, []byte{0x53, 1, 3}); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(dir)
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("dir: %v %v", fi.Mode(), err)
	}
	fi, err = os.Stat(c.Path())
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("file: %v %v", fi.Mode(), err)
	}
	// A second process sees both entries.
	c2 := openIn(t, dir, testID)
	if !bytes.Equal(c2.Get(0x5FC105), []byte{0x53, 1, 2}) || !bytes.Equal(c2.Get(0x5FC10A), []byte{0x53, 1, 3}) {
		t.Fatal("entries not read back")
	}
	// Put merges with what another process wrote meanwhile.
	if err := c2.Put(0x5FC10B, []byte{9}); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(0x5FC10A); err != nil {
		t.Fatal(err)
	}
	c3 := openIn(t, dir, testID)
	if c3.Get(0x5FC10A) != nil || c3.Get(0x5FC10B) == nil || c3.Get(0x5FC105) == nil {
		t.Fatal("merge lost or kept the wrong entries")
	}
	if err := c3.Clear(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(c.Path()); !os.IsNotExist(err) {
		t.Fatalf("Clear left the file: %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("left in the directory: %v", entries)
	}
}

func TestIdentitySeparates(t *testing.T) {
	dir := t.TempDir()
	c := openIn(t, dir, testID)
	c.Put(1, []byte{1})
	for _, id := range []Identity{
		{Serial: testID.Serial + 1, Firmware: testID.Firmware, ATR: testID.ATR},
		{Serial: testID.Serial, Firmware: [3]byte{5, 4, 3}, ATR: testID.ATR},
		{Serial: testID.Serial, Firmware: testID.Firmware, ATR: []byte{0x3B, 0x00}},
	} {
		o := openIn(t, dir, id)
		if o.Path() == c.Path() {
			t.Fatalf("%+v shares the file name", id)
		}
		if o.Get(1) != nil {
			t.Fatalf("%+v sees the entry", id)
		}
	}
	// A file copied to another card's name is refused by its identity key.
	other := openIn(t, dir, Identity{Serial: 1, Firmware: testID.Firmware, ATR: testID.ATR})
	b, _ := os.ReadFile(c.Path())
	os.WriteFile(other.Path(), b, 0o600)
	if other.Get(1) != nil {
		t.Fatal("a copied file was accepted for another card")
	}
}

func TestOff(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "c")
	for _, v := range []string{"0", "off", "no", "false"} {
		c := Open(testID, env(map[string]string{"PCSC11_CACHE": v, "PCSC11_CACHE_DIR": dir}))
		if c != nil {
			t.Fatalf("PCSC11_CACHE=%s: cache on", v)
		}
		c.Put(1, []byte{1}) // a nil cache does nothing
		if c.Get(1) != nil || c.Delete(1) != nil || c.Clear() != nil || c.Path() != "" {
			t.Fatal("nil cache did something")
		}
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("disabled cache touched the disk: %v", err)
	}
}

func TestDir(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"PCSC11_CACHE_DIR": "/x", "XDG_CACHE_HOME": "/y", "HOME": "/h"}, "/x"},
		{map[string]string{"XDG_CACHE_HOME": "/y", "HOME": "/h"}, "/y/pcsc11"},
		{map[string]string{"XDG_CACHE_HOME": "rel", "HOME": "/h"}, "/h/.cache/pcsc11"},
		{map[string]string{"HOME": "rel"}, ""},
		{map[string]string{}, ""},
	} {
		if got := Dir(env(tc.env)); got != tc.want {
			t.Errorf("Dir(%v) = %q, want %q", tc.env, got, tc.want)
		}
	}
	if Open(testID, env(map[string]string{})) != nil {
		t.Error("cache without a directory")
	}
}

// Files the cache must ignore without harm, and replace on the next write.
func TestBadFiles(t *testing.T) {
	dir := t.TempDir()
	c := openIn(t, dir, testID)
	good := Encode(testID.key(), map[uint32][]byte{1: {1}})
	otherVersion := append([]byte(nil), good...)
	otherVersion[7] = 2
	for name, content := range map[string][]byte{
		"empty":         {},
		"garbage":       []byte("not a cache file"),
		"other version": otherVersion,
		"truncated":     good[:len(good)-1],
		"trailing":      append(append([]byte(nil), good...), 0),
		"oversized":     append(append([]byte(nil), good...), make([]byte, MaxFileSize)...),
	} {
		if err := os.WriteFile(c.Path(), content, 0o600); err != nil {
			t.Fatal(err)
		}
		r := openIn(t, dir, testID)
		if r.Get(1) != nil {
			t.Fatalf("%s: entry accepted", name)
		}
		if err := r.Put(2, []byte{2}); err != nil {
			t.Fatalf("%s: Put: %v", name, err)
		}
		if got := openIn(t, dir, testID); got.Get(2) == nil || got.Get(1) != nil {
			t.Fatalf("%s: not replaced by the next write", name)
		}
	}
	// A file others may write is not trusted.
	os.WriteFile(c.Path(), good, 0o600)
	os.Chmod(c.Path(), 0o666)
	if openIn(t, dir, testID).Get(1) != nil {
		t.Fatal("world-writable file accepted")
	}
}

func TestSymlinkNotFollowed(t *testing.T) {
	dir := t.TempDir()
	c := openIn(t, dir, testID)
	target := filepath.Join(t.TempDir(), "victim")
	good := Encode(testID.key(), map[uint32][]byte{1: {1}})
	os.WriteFile(target, good, 0o600)
	if err := os.Symlink(target, c.Path()); err != nil {
		t.Fatal(err)
	}
	if openIn(t, dir, testID).Get(1) != nil {
		t.Fatal("read through a symlink")
	}
	if err := openIn(t, dir, testID).Put(2, []byte{2}); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(target); !bytes.Equal(b, good) {
		t.Fatal("wrote through a symlink")
	}
	if fi, err := os.Lstat(c.Path()); err != nil || !fi.Mode().IsRegular() {
		t.Fatalf("the symlink was not replaced by a file: %v %v", fi.Mode(), err)
	}
}

func TestUnsafeDirRefused(t *testing.T) {
	dir := t.TempDir()
	os.Chmod(dir, 0o777)
	c := openIn(t, dir, testID)
	if err := c.Put(1, []byte{1}); err == nil {
		t.Fatal("wrote into a world-writable directory")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("files written: %v", entries)
	}
	os.WriteFile(c.Path(), Encode(testID.key(), map[uint32][]byte{1: {1}}), 0o600)
	if openIn(t, dir, testID).Get(1) != nil {
		t.Fatal("read from a world-writable directory")
	}
}

func TestEntryBounds(t *testing.T) {
	dir := t.TempDir()
	c := openIn(t, dir, testID)
	c.Put(1, []byte{1})
	if err := c.Put(1, make([]byte, MaxEntrySize+1)); err != nil {
		t.Fatal(err)
	}
	if openIn(t, dir, testID).Get(1) != nil {
		t.Fatal("oversized entry stored (or the old one kept)")
	}
}

func FuzzParse(f *testing.F) {
	key := testID.key()
	f.Add(Encode(key, map[uint32][]byte{0x5FC105: {0x53, 1, 0}, 0x5FC10A: {1, 2, 3}}))
	f.Add(Encode(key, nil))
	f.Add([]byte("pcsc11C\x01"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Parse(b, key)
		if err != nil {
			return
		}
		if len(m) > MaxEntries {
			t.Fatalf("%d entries", len(m))
		}
		for _, v := range m {
			if len(v) == 0 || len(v) > MaxEntrySize {
				t.Fatalf("entry of %d bytes", len(v))
			}
		}
		if again := Encode(key, m); !bytes.Equal(again, b) {
			t.Fatal("accepted a file that is not its own encoding")
		}
	})
}
