package vpiv

import (
	"bytes"
	"crypto/sha256"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pcsc11/pcsc11/apdu"
)

func TestStateRoundTrip(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "card.json")
	c, err := New(Options{StatePath: path, Serial: 424242})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("new card not written: %v", err)
	}
	selectPIV(t, c)
	mustSW(t, mgmtAuth(t, c, 0x0A, factoryMgmt), 0x9000, "auth")
	pubs := map[byte][]byte{}
	for slot, alg := range map[byte]byte{0x9A: 0x06, 0x9C: 0x11, 0x9D: 0xE1, 0x9E: 0xE0, 0x82: 0x14} {
		pubs[slot] = generate(t, c, slot, alg, 0, 0)
	}
	send(t, c, 0xDB, 0x3F, 0xFF, hx("5C035FC1025303300100"))
	send(t, c, 0x24, 0x00, 0x80, append(pinBlock("123456"), pinBlock("7654321")...))
	verifyPIN(t, c, "000000") // one retry burnt
	newKey := bytes.Repeat([]byte{3}, 16)
	_, sw := send(t, c, 0xFF, 0xFF, 0xFF, append([]byte{0x08, 0x9B, 16}, newKey...))
	mustSW(t, sw, 0x9000, "SET MGMT KEY")
	attBefore, _ := send(t, c, 0xCB, 0x3F, 0xFF, hx("5C035FFF01"))

	raw, _ := os.ReadFile(path)
	for _, secret := range []string{"7654321", "123456"} {
		if strings.Contains(string(raw), secret) {
			t.Fatal("a PIN is stored in clear")
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("temporary files left: %v", entries)
	}

	c2, err := New(Options{StatePath: path})
	if err != nil {
		t.Fatal(err)
	}
	selectPIV(t, c2)
	s, _ := send(t, c2, 0xF8, 0, 0, nil)
	if !bytes.Equal(s, []byte{0x00, 0x06, 0x79, 0x32}) {
		t.Fatalf("serial %x", s)
	}
	_, sw = send(t, c2, 0x20, 0x00, 0x80, nil)
	mustSW(t, sw, 0x63C2, "retry counter persisted")
	mustSW(t, verifyPIN(t, c2, "7654321"), 0x9000, "changed PIN persisted")
	for slot, pub := range pubs {
		md, sw := send(t, c2, 0xF7, 0x00, slot, nil)
		mustSW(t, sw, 0x9000, "metadata")
		p, _, _ := apdu.Find(md, 0x04)
		if !bytes.Equal(p, pub) {
			t.Fatalf("slot %02X key not persisted", slot)
		}
	}
	got, _ := send(t, c2, 0xCB, 0x3F, 0xFF, hx("5C035FC102"))
	if !bytes.Equal(got, hx("5303300100")) {
		t.Fatalf("object %x", got)
	}
	attAfter, _ := send(t, c2, 0xCB, 0x3F, 0xFF, hx("5C035FFF01"))
	if !bytes.Equal(attBefore, attAfter) {
		t.Fatal("attestation certificate not persisted")
	}
	mustSW(t, mgmtAuth(t, c2, 0x08, newKey), 0x9000, "management key persisted")
	// The persisted keys work.
	h := sha256.Sum256(nil)
	_, sw = genAuth(t, c2, 0x11, 0x9C, 0x81, h[:])
	mustSW(t, sw, 0x6982, "9C PIN policy always persisted")
	verifyPIN(t, c2, "7654321")
	_, sw = genAuth(t, c2, 0x11, 0x9C, 0x81, h[:])
	mustSW(t, sw, 0x9000, "persisted key signs")
	_, sw = send(t, c2, 0xF9, 0x9C, 0x00, nil)
	mustSW(t, sw, 0x9000, "persisted key still attestable")
}

func TestStateFileErrors(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"garbage":   "not json",
		"format":    `{"format": 99}`,
		"empty":     `{"format": 1}`,
		"truncated": `{"format": 1, "salt": "AAAA"`,
		"bad tries": `{"format":1,"salt":"AA==","pin_hash":"` + strings.Repeat("A", 43) + `=","puk_hash":"` + strings.Repeat("A", 43) + `=","pin_max":0,"pin_left":0,"puk_max":3,"puk_left":3,"mgmt_alg":10,"mgmt_key":"` + strings.Repeat("A", 32) + `"}`,
	} {
		p := filepath.Join(dir, strings.ReplaceAll(name, " ", "_"))
		os.WriteFile(p, []byte(content), 0o600)
		if _, err := New(Options{StatePath: p}); err == nil {
			t.Errorf("%s: state file accepted", name)
		}
	}
	// An unwritable location fails at New rather than silently losing state.
	if _, err := New(Options{StatePath: filepath.Join(dir, "missing", "card.json")}); err == nil {
		t.Error("unwritable state path accepted")
	}
}

func TestSaveFailureAnswers6581(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "d")
	os.Mkdir(sub, 0o700)
	c, err := New(Options{StatePath: filepath.Join(sub, "card.json")})
	if err != nil {
		t.Fatal(err)
	}
	selectPIV(t, c)
	os.RemoveAll(sub)
	_, sw := send(t, c, 0x24, 0x00, 0x80, append(pinBlock("123456"), pinBlock("654321")...))
	mustSW(t, sw, 0x6581, "state not written")
	_, sw = send(t, c, 0xFD, 0, 0, nil)
	mustSW(t, sw, 0x9000, "read-only commands still work")
}
