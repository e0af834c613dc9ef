package piv

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/pcsc11/pcsc11/apdu"
	"github.com/pcsc11/pcsc11/ck"
	"github.com/pcsc11/pcsc11/slot"
	"github.com/pcsc11/pcsc11/slot/piv/diskcache"
	"github.com/pcsc11/pcsc11/vpiv"
)

// The disk cache is off in this package's tests unless a test turns it on
// (cacheOn), so that no test reads or writes a real user's ~/.cache and the APDU
// counts of the other tests do not depend on what an earlier test left on disk.
func TestMain(m *testing.M) {
	os.Setenv("PCSC11_CACHE", "0")
	os.Unsetenv("PCSC11_CACHE_DIR")
	os.Exit(m.Run())
}

// cacheOn turns the disk cache on for one test, in a directory of its own.
func cacheOn(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "cache")
	t.Setenv("PCSC11_CACHE", "1")
	t.Setenv("PCSC11_CACHE_DIR", dir)
	return dir
}

func openShort(t *testing.T, m *testCard) *Token {
	t.Helper()
	tok, err := Open(m, "Test Reader 00 00", Options{NoExtendedAPDU: true})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return tok.(*Token)
}

// bigCert is a certificate of about 2 KB (many subject alternative names, as real
// certificates carry) for pub, signed by the demo CA, with the given serial number.
func bigCert(t *testing.T, d *demo, pub crypto.PublicKey, serial int64) []byte {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial),
		Subject:      pkix.Name{CommonName: "pcsc11 test big certificate", Organization: []string{"pcsc11"}},
		Issuer:       pkix.Name{CommonName: "pcsc11 test CA"},
		NotBefore:    time.Unix(1700000000, 0), NotAfter: time.Unix(1900000000, 0),
	}
	for i := 0; i < 80; i++ {
		tmpl.DNSNames = append(tmpl.DNSNames, fmt.Sprintf("host%02d.example.org", i))
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, d.ca)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// writeCertRaw stores der in object as another program would: through the card,
// with the management key, without any disk cache of ours.
func writeCertRaw(t *testing.T, m *testCard, object uint32, der []byte) {
	t.Helper()
	content, err := certContainer(der)
	if err != nil {
		t.Fatal(err)
	}
	writeObjectRaw(t, m, object, content)
}

func writeObjectRaw(t *testing.T, m *testCard, object uint32, content []byte) {
	t.Helper()
	asOtherProgram(t, m, fmt.Sprintf("writing %X", object), func(tok *Token) error {
		return tok.putData(object, content)
	})
}

// asOtherProgram runs fn inside a transaction of another program's token on the same
// card: its own connection, no disk cache of ours, the management key authenticated.
func asOtherProgram(t *testing.T, m *testCard, what string, fn func(tok *Token) error) {
	t.Helper()
	old := Getenv
	Getenv = func(k string) string { // another program: no disk cache of ours
		if k == "PCSC11_CACHE" {
			return "0"
		}
		return old(k)
	}
	defer func() { Getenv = old }()
	tok := openToken(t, &testCard{c: m.c, mem: vpiv.NewMemory(m.c)})
	soLogin(t, tok)
	if tok.disk != nil {
		t.Fatal("the other program has a cache")
	}
	if err := tok.transact(func() error { return fn(tok) }); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	m.c.Reset() // drop that management key login
}

// readCert9A reads slot 9A alone on a fresh token and returns its certificate and
// the commands it took.
func readCert9A(t *testing.T, m *testCard, tok *Token) ([]byte, []string) {
	t.Helper()
	from := len(m.sent)
	objs, err := tok.ObjectsWithID([]byte{0x01})
	if err != nil {
		t.Fatal(err)
	}
	sent := trace(m, from)
	for _, o := range objs {
		if o.Attrs[ck.CKA_CLASS] == ck.CKO_CERTIFICATE {
			return o.Attrs[ck.CKA_VALUE].([]byte), sent
		}
	}
	return nil, sent
}

// certAPDUs counts the commands that read the 9A certificate: its GET DATA and the
// GET RESPONSEs right after it.
func certAPDUs(sent []string) int {
	i := slices.Index(sent, "GET DATA 5FC105")
	if i < 0 {
		return 0
	}
	n := 1
	for _, s := range sent[i+1:] {
		if s != "INS C0 00" {
			break
		}
		n++
	}
	return n
}

func count(names []string, name string) int {
	n := 0
	for _, s := range names {
		if s == name {
			n++
		}
	}
	return n
}

// bigCard is a provisioned card whose 9A certificate is about 2 KB.
func bigCard(t *testing.T) (*testCard, *demo, []byte) {
	t.Helper()
	m := newCard(t)
	d := provision(t, m)
	m.c.Reset()
	der := bigCert(t, d, &d.rsa9a.PublicKey, 1)
	writeCertRaw(t, m, 0x5FC105, der)
	return m, d, der
}

// TestDiskCacheShortAPDUs is the point of the cache: with short APDUs, a fresh token
// (a new process) on the same card reads a 2 KB certificate with one GET DATA
// instead of GET DATA + GET RESPONSE × n, and gets the same objects.
func TestDiskCacheShortAPDUs(t *testing.T) {
	m, _, der := bigCard(t)

	// Without a cache: GET METADATA 9A, GET DATA, then GET RESPONSE × n.
	got, without := readCert9A(t, m, openShort(t, m))
	if !bytes.Equal(got, der) {
		t.Fatal("certificate differs")
	}
	n := certAPDUs(without)
	if n < 8 || len(der) < 1800 {
		t.Fatalf("the certificate took %d APDUs without the cache (%q); want a 2 KB one (8+)", n, without)
	}
	t.Logf("without the cache: %d APDUs for the 9A certificate (%d bytes): %q", n, len(der), without)

	dir := cacheOn(t)
	first := openShort(t, m)
	if _, sent := readCert9A(t, m, first); !slices.Equal(sent, without) {
		t.Fatalf("first read with an empty cache sent %q, want %q", sent, without)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("cache directory holds %v", entries)
	}
	want, _ := first.ObjectsWithID([]byte{0x01})

	second := openShort(t, m)
	from := len(m.sent)
	objs, err := second.ObjectsWithID([]byte{0x01})
	if err != nil {
		t.Fatal(err)
	}
	if got := trace(m, from); certAPDUs(got) != 1 || len(got) != len(without)-n+1 {
		t.Fatalf("second token, cache filled: sent %q", got)
	}
	sameObjects(t, "cached 9A", objs, want)
	t.Logf("with the cache: %d APDU for the certificate: %q", certAPDUs(trace(m, from)), trace(m, from))
	// The probe is one short GET DATA with Le=00 (256 bytes).
	probe := m.sent[len(m.sent)-1]
	if c, err := apdu.ParseCommand(probe); err != nil || apdu.Extended(probe) || c.Ne != 256 {
		t.Fatalf("probe % X", probe)
	}
}

// With extended APDUs the certificate costs one APDU with or without the cache; the
// cache saves the bytes.
func TestDiskCacheExtendedAPDUs(t *testing.T) {
	m, _, der := bigCard(t)
	cacheOn(t)
	wire := func() uint64 {
		_, in, out := m.c.APDUCount()
		return in + out
	}
	w0 := wire()
	readCert9A(t, m, openToken(t, m)) // fills the cache
	w1 := wire()
	got, sent := readCert9A(t, m, openToken(t, m))
	w2 := wire()
	if !bytes.Equal(got, der) || !slices.Equal(sent, []string{"GET METADATA 9A", "GET DATA 5FC105"}) {
		t.Fatalf("sent %q", sent)
	}
	t.Logf("extended APDUs: %d bytes on the wire without the cache, %d with (2 APDUs each)", w1-w0, w2-w1)
	if saved := (w1 - w0) - (w2 - w1); saved < uint64(len(der))-300 {
		t.Fatalf("saved %d bytes of a %d-byte certificate", saved, len(der))
	}
}

// A certificate replaced on the card by another program, for the same key (a
// re-issue: same subject, same key, new serial number), is seen and read again.
func TestDiskCacheReissuedCertificate(t *testing.T) {
	for _, short := range []bool{true, false} {
		t.Run(fmt.Sprintf("short=%v", short), func(t *testing.T) {
			m, d, _ := bigCard(t)
			cacheOn(t)
			open := openToken
			if short {
				open = openShort
			}
			readCert9A(t, m, open(t, m)) // fills the cache
			der2 := bigCert(t, d, &d.rsa9a.PublicKey, 2)
			writeCertRaw(t, m, 0x5FC105, der2)

			_, in0, out0 := m.c.APDUCount()
			got, sent := readCert9A(t, m, open(t, m))
			_, in1, out1 := m.c.APDUCount()
			t.Logf("stale entry: %d APDUs, %d bytes on the wire: %q", len(sent), in1-in0+out1-out0, sent)
			if !bytes.Equal(got, der2) {
				t.Fatal("the old certificate came from the cache")
			}
			if short {
				// The probe's answer is continued: no APDU more than without the cache.
				if count(sent, "GET DATA 5FC105") != 1 || certAPDUs(sent) < 8 {
					t.Fatalf("sent %q", sent)
				}
			} else if !slices.Equal(sent, []string{"GET METADATA 9A", "GET DATA 5FC105", "GET DATA 5FC105"}) {
				t.Fatalf("sent %q", sent)
			}
			// The entry was replaced: the next token uses the new certificate.
			got, sent = readCert9A(t, m, open(t, m))
			if !bytes.Equal(got, der2) || certAPDUs(sent) != 1 {
				t.Fatalf("after the update: sent %q", sent)
			}
		})
	}
}

// A certificate deleted by another program: no certificate, and the entry goes.
func TestDiskCacheDeletedCertificate(t *testing.T) {
	m, _, _ := bigCard(t)
	cacheOn(t)
	tok := openShort(t, m)
	readCert9A(t, m, tok)
	writeObjectRaw(t, m, 0x5FC105, nil)
	if got, _ := readCert9A(t, m, openShort(t, m)); got != nil {
		t.Fatal("a deleted certificate came from the cache")
	}
	if openShort(t, m).disk.Get(0x5FC105) != nil {
		t.Fatal("entry of a deleted certificate kept")
	}
}

// Writes by this token drop the entry of the object they change.
func TestDiskCacheOwnWrites(t *testing.T) {
	m, d, _ := bigCard(t)
	cacheOn(t)
	tok := openShort(t, m)
	readCert9A(t, m, tok)
	if tok.disk.Get(0x5FC105) == nil {
		t.Fatal("not cached")
	}
	soLogin(t, tok)
	der2 := bigCert(t, d, &d.rsa9a.PublicKey, 3)
	if _, err := tok.CreateObject(certTmpl(0x01, der2)); err != nil {
		t.Fatal(err)
	}
	if tok.disk.Get(0x5FC105) != nil {
		t.Fatal("entry kept after CreateObject")
	}
	if got, _ := readCert9A(t, m, openShort(t, m)); !bytes.Equal(got, der2) {
		t.Fatal("wrong certificate after CreateObject")
	}
	if err := tok.DestroyObject(certKey(0x9A)); err != nil {
		t.Fatal(err)
	}
	if tok.disk.Get(0x5FC105) != nil {
		t.Fatal("entry kept after DestroyObject")
	}
}

// Another card never uses the entry: not one with another serial and the very same
// certificate, nor the same serial with other firmware.
func TestDiskCacheOtherCard(t *testing.T) {
	m, _, der := bigCard(t)
	cacheOn(t)
	readCert9A(t, m, openShort(t, m))

	c2, err := vpiv.New(vpiv.Options{Serial: 87654321})
	if err != nil {
		t.Fatal(err)
	}
	m2 := &testCard{c: c2, mem: vpiv.NewMemory(c2)}
	provision(t, m2)
	m2.c.Reset()
	writeCertRaw(t, m2, 0x5FC105, der) // byte for byte what the first card holds
	got, sent := readCert9A(t, m2, openShort(t, m2))
	if !bytes.Equal(got, der) || certAPDUs(sent) < 8 {
		t.Fatalf("other serial: sent %q", sent)
	}

	// The first card claiming firmware 5.7.2.
	m.corrupt = func(cmd, resp []byte) []byte {
		if len(cmd) > 1 && cmd[1] == insGetVersion && len(resp) == 5 {
			return []byte{5, 7, 2, 0x90, 0x00}
		}
		return resp
	}
	tok := openShort(t, m)
	if tok.version != [3]byte{5, 7, 2} {
		t.Fatalf("version %v", tok.version)
	}
	if got, sent := readCert9A(t, m, tok); !bytes.Equal(got, der) || certAPDUs(sent) < 8 {
		t.Fatalf("other firmware: sent %q", sent)
	}
}

// Cards without a YubiKey serial get no cache.
func TestDiskCacheNeedsSerial(t *testing.T) {
	m, _, _ := bigCard(t)
	dir := cacheOn(t)
	m.corrupt = func(cmd, resp []byte) []byte {
		if len(cmd) > 1 && cmd[1] == insGetSerial {
			return []byte{0x6D, 0x00}
		}
		return resp
	}
	tok := openShort(t, m)
	if tok.hasSer || tok.disk != nil {
		t.Fatal("cache for a card without serial")
	}
	readCert9A(t, m, tok)
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("cache directory made: %v", err)
	}
}

// What is found on disk is never trusted blindly: a corrupt, oversized, other-version
// or symlinked file, or a well-formed file whose entry is not a GET DATA answer, is
// ignored; the certificate is read from the card and the file replaced.
func TestDiskCacheBadFiles(t *testing.T) {
	m, _, der := bigCard(t)
	cacheOn(t)
	tok := openShort(t, m)
	_, full := readCert9A(t, m, tok)
	path := tok.disk.Path()
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	key := diskcache.Identity{Serial: tok.serial, Firmware: tok.version, ATR: m.ATR()}
	otherVersion := append([]byte(nil), good...)
	otherVersion[7]++
	flipped := append([]byte(nil), good...)
	flipped[len(flipped)-8] ^= 0xFF // inside the certificate's signature: a valid file
	target := filepath.Join(t.TempDir(), "elsewhere")
	os.WriteFile(target, good, 0o600)
	for _, tc := range []struct {
		name  string
		setup func()
		want  []string // the commands of the read; nil: the full read
	}{
		{"garbage", func() { os.WriteFile(path, []byte("garbage"), 0o600) }, nil},
		{"truncated", func() { os.WriteFile(path, good[:len(good)/2], 0o600) }, nil},
		{"oversized", func() { os.WriteFile(path, append(good, make([]byte, diskcache.MaxFileSize)...), 0o600) }, nil},
		{"other version", func() { os.WriteFile(path, otherVersion, 0o600) }, nil},
		{"symlink", func() { os.Remove(path); os.Symlink(target, path) }, nil},
		{"world-writable", func() { os.WriteFile(path, good, 0o600); os.Chmod(path, 0o666) }, nil},
		{"entry not a 53 object", func() {
			os.WriteFile(path, diskcache.Encode(testKey(key), map[uint32][]byte{0x5FC105: []byte("junk")}), 0o600)
		}, nil},
		{"tail differs", func() { os.WriteFile(path, flipped, 0o600) },
			// The probe cannot see a change past its first 256 bytes that keeps the
			// length: the certificate comes from the file. (A card's certificate
			// changes with its serial number, which the probe sees; this is only a
			// file edited by hand.)
			[]string{"GET METADATA 9A", "INS C0 00", "GET DATA 5FC105"}},
	} {
		tc.setup()
		got, sent := readCert9A(t, m, openShort(t, m))
		if tc.want != nil {
			if !slices.Equal(sent, tc.want) {
				t.Errorf("%s: sent %q", tc.name, sent)
			}
			os.WriteFile(path, good, 0o600)
			continue
		}
		if !bytes.Equal(got, der) || !slices.Equal(sent, full) {
			t.Errorf("%s: sent %q, certificate ok %v", tc.name, sent, bytes.Equal(got, der))
		}
		if b, _ := os.ReadFile(target); !bytes.Equal(b, good) {
			t.Fatalf("%s: wrote through the symlink", tc.name)
		}
		if fi, err := os.Lstat(path); err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: file not replaced: %v %v", tc.name, fi, err)
		}
		if _, sent := readCert9A(t, m, openShort(t, m)); certAPDUs(sent) != 1 {
			t.Errorf("%s: after the replacement: sent %q", tc.name, sent)
		}
	}
}

// testKey is the identity key diskcache stores, recomputed the way Open does (a file
// with the right key and a bad entry must pass the file checks).
func testKey(id diskcache.Identity) [32]byte {
	dir, _ := os.MkdirTemp("", "key")
	defer os.RemoveAll(dir)
	c := diskcache.Open(id, func(k string) string {
		if k == "PCSC11_CACHE_DIR" {
			return dir
		}
		return ""
	})
	c.Put(1, []byte{1})
	b, _ := os.ReadFile(c.Path())
	var k [32]byte
	copy(k[:], b[8:40])
	return k
}

// PCSC11_CACHE=0: nothing on disk is read or written.
func TestDiskCacheOff(t *testing.T) {
	m, _, der := bigCard(t)
	dir := cacheOn(t)
	for _, v := range []string{"0", "off", "no", "false"} {
		writeCertRaw(t, m, 0x5FC105, der)
		t.Setenv("PCSC11_CACHE", v)
		tok := openShort(t, m)
		if tok.disk != nil {
			t.Fatalf("PCSC11_CACHE=%s: cache on", v)
		}
		readCert9A(t, m, tok)
		soLogin(t, tok)
		if err := tok.DestroyObject(certKey(0x9A)); err != nil {
			t.Fatal(err)
		}
		m.c.Reset()
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("the cache directory was touched: %v", err)
	}
}

// The module's view: the objects through slot.Token are the same with a cache hit.
var _ slot.Token = (*Token)(nil)
