package piv

import (
	"bytes"
	"strings"
	"testing"

	"github.com/pcsc11/pcsc11/logging"
	"github.com/pcsc11/pcsc11/vpiv"
)

// One malformed certificate container (a valid certificate followed
// by one extra byte in 9D once hid every key) is skipped and logged once; its
// slot's key is still listed from metadata, and every other object is listed, by
// Objects and by ObjectsWithID alike.
func TestMalformedContainerIsolated(t *testing.T) {
	for _, mode := range []string{vpiv.BadCertTrailing, vpiv.BadCertLength, vpiv.BadCertNotX509, vpiv.BadCertGzipGarbage} {
		t.Run(mode, func(t *testing.T) {
			m := newCard(t)
			provision(t, m)
			good := objectKeys(t, openToken(t, m))
			if !good["cert/9a"] || !good["cert/9c"] {
				t.Fatalf("the demo card lacks its certificates: %v", good)
			}
			if err := m.c.CorruptObject(0x5FC105, mode); err != nil { // 9A's certificate
				t.Fatal(err)
			}
			var logged bytes.Buffer
			defer logging.SetOutput(&logged, false, false)()

			tok := openToken(t, m)
			got := objectKeys(t, tok)
			for k := range good {
				if k == "cert/9a" {
					if got[k] {
						t.Errorf("the malformed certificate is listed")
					}
				} else if !got[k] {
					t.Errorf("%s is missing", k)
				}
			}
			// The slot's key, from metadata, by CKA_ID too; asking again logs nothing.
			objs, err := tok.ObjectsWithID([]byte{0x01})
			if err != nil {
				t.Fatalf("ObjectsWithID(01): %v", err)
			}
			if len(objs) != 2 {
				t.Errorf("9A by CKA_ID: %d objects, want the public and private key", len(objs))
			}
			if _, err := tok.Objects(); err != nil {
				t.Fatal(err)
			}
			if n := strings.Count(logged.String(), "skipping a malformed object"); n != 1 {
				t.Errorf("logged %d times, want once:\n%s", n, logged.String())
			}
			if !strings.Contains(logged.String(), "5FC105") {
				t.Errorf("the log does not name the container:\n%s", logged.String())
			}
		})
	}
}

// Also a fresh token reading only the bad slot (a search by CKA_ID first).
func TestMalformedContainerBySlotFirst(t *testing.T) {
	m := newCard(t)
	provision(t, m)
	if err := m.c.CorruptObject(0x5FC105, vpiv.BadCertTrailing); err != nil {
		t.Fatal(err)
	}
	tok := openToken(t, m)
	objs, err := tok.ObjectsWithID([]byte{0x01})
	if err != nil || len(objs) != 2 {
		t.Fatalf("ObjectsWithID(01): %d objects, %v", len(objs), err)
	}
	if _, ok, err := tok.Object("priv/9a"); !ok || err != nil {
		t.Fatalf("priv/9a: %v %v", ok, err)
	}
}

func objectKeys(t *testing.T, tok *Token) map[string]bool {
	t.Helper()
	objs, err := tok.Objects()
	if err != nil {
		t.Fatalf("Objects: %v", err)
	}
	keys := map[string]bool{}
	for _, o := range objs {
		keys[o.Key] = true
	}
	return keys
}

// A GET METADATA answer that does not parse (a firmware's odd answer, here an algorithm
// of two bytes) is the card not telling, as a refused command is: 9A's key is still
// listed from its certificate, every other object too, and the token's information
// (which asks the PIN's metadata) is still answered; each bad answer is logged once.
func TestMalformedMetadataIsolated(t *testing.T) {
	m := newCard(t)
	provision(t, m)
	good := objectKeys(t, openToken(t, m))
	m.corrupt = func(cmd, resp []byte) []byte {
		if len(cmd) >= 4 && cmd[1] == 0xF7 && (cmd[3] == 0x9A || cmd[3] == 0x80) {
			return []byte{0x01, 0x02, 0x11, 0x11, 0x90, 0x00}
		}
		return resp
	}
	var logged bytes.Buffer
	defer logging.SetOutput(&logged, false, false)()

	tok := openToken(t, m)
	got := objectKeys(t, tok)
	for k := range good {
		if !got[k] {
			t.Errorf("%s is missing", k)
		}
	}
	if _, err := tok.Info(); err != nil {
		t.Fatalf("Info with the PIN's metadata malformed: %v", err)
	}
	if _, err := tok.Objects(); err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{"F7009A", "F70080"} {
		if n := strings.Count(logged.String(), ref); n != 1 {
			t.Errorf("%s logged %d times, want once:\n%s", ref, n, logged.String())
		}
	}
}
