// Package diskcache keeps public data objects of one card on disk between processes,
// so that a module starting fresh need not read whole certificates again
// (docs/cache.md). It stores and loads bytes; it never decides whether they are still
// true: the PIV driver checks every entry against the card before using it.
//
// One file per card identity (YubiKey serial, firmware version, ATR), in
// $PCSC11_CACHE_DIR, else $XDG_CACHE_HOME/pcsc11, else ~/.cache/pcsc11;
// PCSC11_CACHE=0 (off, no, false) turns it off and no file is touched. The directory
// must be a directory of the current user that nobody else can write to (it is created
// 0700), files are written 0600 through a temporary file and a rename (a symlink in
// the file's place is replaced, never followed), and a file that is too large, not a
// regular file of ours, of another format version or unparseable is ignored (and
// replaced by the next write). The cache is best effort: no error of its own ever
// reaches the caller.
package diskcache

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"syscall"

	"github.com/pcsc11/pcsc11/config"
)

// Limits of a cache file.
const (
	MaxFileSize  = 1 << 20  // a larger file is ignored
	MaxEntrySize = 32 << 10 // a PIV container is at most a few KiB
	MaxEntries   = 64       // PIV has 25 certificate containers
)

// magic starts every file; its last byte is the format version. A file of another
// version is ignored and overwritten.
var magic = [8]byte{'p', 'c', 's', 'c', '1', '1', 'C', 1}

// Identity names one card. Two cards share a cache file only if all three agree.
type Identity struct {
	Serial   uint32  // YubiKey serial (GET SERIAL)
	Firmware [3]byte // YubiKey firmware version (GET VERSION)
	ATR      []byte
}

// key is the identity as stored in the file (checked on every load, so that a file
// renamed or copied to another card's name is not used for that card).
func (id Identity) key() [32]byte {
	h := sha256.New()
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], id.Serial)
	h.Write([]byte("pcsc11 card identity\x00"))
	h.Write(b[:])
	h.Write(id.Firmware[:])
	h.Write(id.ATR)
	var k [32]byte
	h.Sum(k[:0])
	return k
}

// fileName: readable serial and firmware, and a hash of the ATR.
func (id Identity) fileName() string {
	atr := sha256.Sum256(id.ATR)
	return fmt.Sprintf("yubikey-%d-%d.%d.%d-%x.cache", id.Serial,
		id.Firmware[0], id.Firmware[1], id.Firmware[2], atr[:6])
}

// Enabled reports whether the cache is on: PCSC11_CACHE unset or anything but
// 0/off/no/false (config.Flag).
func Enabled(getenv func(string) string) bool { return config.Flag(getenv("PCSC11_CACHE"), true) }

// Dir is the cache directory: $PCSC11_CACHE_DIR, else $XDG_CACHE_HOME/pcsc11 (an
// absolute path, as the XDG spec wants), else $HOME/.cache/pcsc11; "" when none can be
// named.
func Dir(getenv func(string) string) string {
	if d := getenv("PCSC11_CACHE_DIR"); d != "" {
		return d
	}
	if d := getenv("XDG_CACHE_HOME"); filepath.IsAbs(d) {
		return filepath.Join(d, "pcsc11")
	}
	if h := getenv("HOME"); filepath.IsAbs(h) {
		return filepath.Join(h, ".cache", "pcsc11")
	}
	return ""
}

// Cache is the cache of one card. The zero of *Cache (nil) is a disabled cache: every
// method works and does nothing.
type Cache struct {
	mu      sync.Mutex
	dir     string
	path    string
	key     [32]byte
	loaded  bool
	entries map[uint32][]byte
	dirOK   bool // the directory exists and passed the ownership check
}

// Open returns the cache of card id, or nil when the cache is off or has no
// directory. It touches no file: the file is read on the first Get.
func Open(id Identity, getenv func(string) string) *Cache {
	if getenv == nil {
		getenv = os.Getenv
	}
	if !Enabled(getenv) {
		return nil
	}
	dir := Dir(getenv)
	if dir == "" {
		return nil
	}
	return &Cache{dir: dir, path: filepath.Join(dir, id.fileName()), key: id.key()}
}

// Path is the file of this card's cache ("" for a nil cache).
func (c *Cache) Path() string {
	if c == nil {
		return ""
	}
	return c.path
}

// Get returns the stored object tag, nil when there is none. The slice is the
// caller's.
func (c *Cache) Get(tag uint32) []byte {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.loaded {
		c.entries, _ = c.read()
		c.loaded = true
	}
	v, ok := c.entries[tag]
	if !ok {
		return nil
	}
	return append([]byte(nil), v...)
}

// Put stores object tag (replacing what was stored) and writes the file. The file is
// read again first, so entries written meanwhile by another process are kept.
func (c *Cache) Put(tag uint32, value []byte) error {
	if c == nil {
		return nil
	}
	if len(value) == 0 || len(value) > MaxEntrySize {
		return c.Delete(tag)
	}
	return c.update(true, func(m map[uint32][]byte) bool {
		m[tag] = append([]byte(nil), value...)
		return true
	})
}

// Delete drops object tag; the file is rewritten only if it held the object, and no
// directory is created.
func (c *Cache) Delete(tag uint32) error {
	if c == nil {
		return nil
	}
	return c.update(false, func(m map[uint32][]byte) bool {
		_, ok := m[tag]
		delete(m, tag)
		return ok
	})
}

// Clear drops every object of this card (after the card was reset): the file is
// removed.
func (c *Cache) Clear() error {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.entries, c.loaded = map[uint32][]byte{}, true
	if err := c.checkDir(false); err != nil {
		return nil // no usable directory: nothing of ours there
	}
	err := os.Remove(c.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}

// update applies change to the current file content and writes it back if change
// says it changed anything. Without create, a missing directory means nothing to
// change.
func (c *Cache) update(create bool, change func(map[uint32][]byte) bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.checkDir(create); err != nil {
		if !create && errors.Is(err, os.ErrNotExist) {
			c.entries, c.loaded = map[uint32][]byte{}, true
			return nil
		}
		return err
	}
	m, _ := c.read()
	if m == nil {
		m = map[uint32][]byte{}
	}
	if !change(m) {
		c.entries, c.loaded = m, true
		return nil
	}
	for len(m) > MaxEntries { // cannot happen with PIV tags; bound it anyway
		for t := range m {
			delete(m, t)
			break
		}
	}
	c.entries, c.loaded = m, true
	if len(m) == 0 {
		err := os.Remove(c.path)
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return err
	}
	return c.write(Encode(c.key, m))
}

// checkDir makes sure the directory exists (create: make it 0700), is a directory and
// is neither owned by another user nor writable by group or others. A symlink to such
// a directory is accepted (a user may move ~/.cache). Caller holds c.mu.
func (c *Cache) checkDir(create bool) error {
	if c.dirOK {
		return nil
	}
	if create {
		if err := os.MkdirAll(c.dir, 0o700); err != nil {
			return err
		}
	}
	if err := CheckDir(c.dir); err != nil {
		return err
	}
	c.dirOK = true
	return nil
}

// CheckDir says why dir cannot hold the cache: missing, not a directory, owned by
// another user or writable by group or others (nil when it can). `pcsc11 doctor`
// asks the same question.
func CheckDir(dir string) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("diskcache: %s is not a directory", dir)
	}
	if err := ours(fi); err != nil {
		return fmt.Errorf("diskcache: %s: %w", dir, err)
	}
	return nil
}

// ours refuses what another user owns or could write.
func ours(fi os.FileInfo) error {
	if fi.Mode().Perm()&0o022 != 0 {
		return errors.New("writable by group or others")
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Geteuid() {
		return errors.New("owned by another user")
	}
	return nil
}

// read loads the file: nil for no file or one that is not acceptable (then it is left
// for the next write to replace). Caller holds c.mu.
func (c *Cache) read() (map[uint32][]byte, error) {
	if err := c.checkDir(false); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(c.path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err // absent, or a symlink (ELOOP): ignored
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() || fi.Size() > MaxFileSize {
		return nil, errors.New("diskcache: not a regular file of acceptable size")
	}
	if err := ours(fi); err != nil {
		return nil, err
	}
	b, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, err
	}
	return Parse(b, c.key)
}

// write replaces the file atomically: a new 0600 file in the same directory, renamed
// over the old name (rename replaces a symlink there; it never writes through one).
// Caller holds c.mu.
func (c *Cache) write(b []byte) error {
	f, err := os.CreateTemp(c.dir, ".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			os.Remove(tmp)
		}
	}()
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, c.path); err != nil {
		return err
	}
	ok = true
	return nil
}

// Errors of Parse.
var (
	ErrFormat  = errors.New("diskcache: not a cache file of this version")
	ErrCorrupt = errors.New("diskcache: corrupt cache file")
	ErrOther   = errors.New("diskcache: cache file of another card")
)

// File format (big-endian):
//
//	magic  8 bytes "pcsc11C" + version (1)
//	key   32 bytes  SHA-256 of the card identity
//	count  2 bytes  number of entries (≤ MaxEntries)
//	count × { tag 4 bytes, length 4 bytes (≤ MaxEntrySize), value }
//
// Tags are unique and in increasing order; nothing follows the last entry.

// Encode serializes entries for the card whose identity key is key.
func Encode(key [32]byte, entries map[uint32][]byte) []byte {
	tags := make([]uint32, 0, len(entries))
	for t := range entries {
		tags = append(tags, t)
	}
	sort.Slice(tags, func(i, j int) bool { return tags[i] < tags[j] })
	b := append([]byte(nil), magic[:]...)
	b = append(b, key[:]...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(tags)))
	for _, t := range tags {
		b = binary.BigEndian.AppendUint32(b, t)
		b = binary.BigEndian.AppendUint32(b, uint32(len(entries[t])))
		b = append(b, entries[t]...)
	}
	return b
}

// Parse reads a cache file of the card whose identity key is key. It never panics and
// copies what it returns.
func Parse(b []byte, key [32]byte) (map[uint32][]byte, error) {
	if len(b) > MaxFileSize {
		return nil, ErrCorrupt
	}
	if len(b) < len(magic) || string(b[:len(magic)]) != string(magic[:]) {
		return nil, ErrFormat
	}
	b = b[len(magic):]
	if len(b) < 32+2 {
		return nil, ErrCorrupt
	}
	if string(b[:32]) != string(key[:]) {
		return nil, ErrOther
	}
	n := int(binary.BigEndian.Uint16(b[32:]))
	b = b[34:]
	if n > MaxEntries {
		return nil, ErrCorrupt
	}
	m := make(map[uint32][]byte, n)
	var prev uint32
	for i := 0; i < n; i++ {
		if len(b) < 8 {
			return nil, ErrCorrupt
		}
		tag, l := binary.BigEndian.Uint32(b), binary.BigEndian.Uint32(b[4:])
		b = b[8:]
		if (i > 0 && tag <= prev) || l == 0 || l > MaxEntrySize || uint64(l) > uint64(len(b)) {
			return nil, ErrCorrupt
		}
		m[tag] = append([]byte(nil), b[:l]...)
		b, prev = b[l:], tag
	}
	if len(b) != 0 {
		return nil, ErrCorrupt
	}
	return m, nil
}
