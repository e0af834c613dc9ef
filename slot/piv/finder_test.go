package piv

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/x509"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pcsc11/pcsc11/ck"
	"github.com/pcsc11/pcsc11/slot"
)

// trace names the commands m sent since the from-th.
func trace(m *testCard, from int) []string {
	var out []string
	for _, c := range m.sent[from:] {
		out = append(out, CommandName(c))
	}
	return out
}

func wantTrace(t *testing.T, what string, m *testCard, from int, want ...string) {
	t.Helper()
	if got := trace(m, from); !slices.Equal(got, want) {
		t.Errorf("%s sent %q, want %q", what, got, want)
	}
}

// withID is the part of a full object list a search by CKA_ID {id} must find.
func withID(all []slot.Object, id byte) []slot.Object {
	var out []slot.Object
	for _, o := range all {
		if v, _ := o.Attrs[ck.CKA_ID].([]byte); bytes.Equal(v, []byte{id}) {
			out = append(out, o)
		}
	}
	return out
}

func sameObjects(t *testing.T, what string, got, want []slot.Object) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d objects %v, want %d %v", what, len(got), objKeys(got), len(want), objKeys(want))
		return
	}
	for i := range got {
		if got[i].Key != want[i].Key || !reflect.DeepEqual(readValues(t, got[i].Attrs), readValues(t, want[i].Attrs)) {
			t.Errorf("%s: object %d is %s %v, want %s %v", what, i, got[i].Key, got[i].Attrs, want[i].Key, want[i].Attrs)
		}
	}
}

// readValues is attrs with every value read only when asked (slot.LazyValue) read,
// so that two listings compare by what an application would get.
func readValues(t *testing.T, attrs slot.Attributes) slot.Attributes {
	t.Helper()
	out := slot.Attributes{}
	for k, v := range attrs {
		if lazy, ok := v.(slot.LazyValue); ok {
			b, err := lazy()
			if err != nil {
				t.Fatalf("attribute %#x: %v", k, err)
			}
			v = b
		}
		out[k] = v
	}
	return out
}

func objKeys(objs []slot.Object) []string {
	var out []string
	for _, o := range objs {
		out = append(out, o.Key)
	}
	return out
}

// TestObjectsWithIDEquivalence: for every CKA_ID, a search on a fresh token gives
// exactly the objects with that ID in the full list (same order, same attributes),
// and the full list read afterwards on the same token is the full list of a fresh
// token. Every other one-byte ID, and IDs of other lengths, find nothing and send
// nothing.
func TestObjectsWithIDEquivalence(t *testing.T) {
	m, d, _ := provisioned(t)
	// A certificate in a slot without a key: listed on 5.3+ only when this token wrote
	// it (knownCerts); another one nobody wrote here, which is not.
	soTok := openToken(t, m)
	soLogin(t, soTok)
	for _, o := range []uint32{0x5FC10E, 0x5FC10F} { // 83, 84
		content, err := certContainer(d.cert9c.Raw)
		if err != nil {
			t.Fatal(err)
		}
		if err := soTok.transact(func() error { return soTok.putData(o, content) }); err != nil {
			t.Fatal(err)
		}
	}
	m.c.Reset()
	var pub9d = &d.ec9d.PublicKey
	cases := []struct {
		name  string
		setup func(*Token)
	}{
		{"YubiKey 5.7", func(*Token) {}},
		{"YubiKey 5.7, certificate written in 83", func(tok *Token) { tok.knownCerts = map[byte]bool{0x83: true} }},
		{"YubiKey 4.3 (no metadata)", func(tok *Token) { tok.version = [3]byte{4, 3, 5} }},
		{"YubiKey 4.3, key generated in 9D", func(tok *Token) {
			tok.version = [3]byte{4, 3, 5}
			tok.knownPub = map[byte]crypto.PublicKey{0x9D: pub9d}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ref := openToken(t, m)
			c.setup(ref)
			all, err := ref.Objects()
			if err != nil {
				t.Fatal(err)
			}
			if len(all) == 0 {
				t.Fatal("no objects")
			}
			for _, s := range slots {
				tok := openToken(t, m)
				c.setup(tok)
				got, err := tok.ObjectsWithID([]byte{s.id})
				if err != nil {
					t.Fatalf("ObjectsWithID(%02X): %v", s.id, err)
				}
				sameObjects(t, fmt.Sprintf("CKA_ID %02X", s.id), got, withID(all, s.id))
				full, err := tok.Objects()
				if err != nil {
					t.Fatal(err)
				}
				sameObjects(t, fmt.Sprintf("full list after CKA_ID %02X", s.id), full, all)
			}
			tok := openToken(t, m)
			c.setup(tok)
			before := m.apdus
			for id := 0; id < 256; id++ {
				if _, ok := slotByID(byte(id)); ok {
					continue
				}
				if got, err := tok.ObjectsWithID([]byte{byte(id)}); len(got) != 0 || err != nil {
					t.Errorf("CKA_ID %02X: %v %v", id, objKeys(got), err)
				}
			}
			for _, id := range [][]byte{nil, {}, {1, 0}, {0, 1}, bytes.Repeat([]byte{1}, 20)} {
				if got, err := tok.ObjectsWithID(id); len(got) != 0 || err != nil {
					t.Errorf("CKA_ID %X: %v %v", id, objKeys(got), err)
				}
			}
			if m.apdus != before {
				t.Errorf("IDs no slot has sent %d APDUs", m.apdus-before)
			}
		})
	}
	// What the cases above must have seen, so that they test something.
	ref := openToken(t, m)
	ref.knownCerts = map[byte]bool{0x83: true}
	all, _ := ref.Objects()
	if findObj(all, "cert/83") == nil || findObj(all, "cert/84") != nil || findObj(all, "cert/f9") == nil {
		t.Errorf("5.7 objects: %v", objKeys(all))
	}
	ref = openToken(t, m)
	ref.version = [3]byte{4, 3, 5}
	ref.knownPub = map[byte]crypto.PublicKey{0x9D: pub9d}
	all, _ = ref.Objects()
	if findObj(all, "priv/9d") == nil || findObj(all, "cert/84") == nil || findObj(all, "priv/82") != nil {
		t.Errorf("4.3 objects: %v", objKeys(all))
	}
}

// TestFindByIDAPDUs: a search by CKA_ID reads the one slot it names; what was read is
// never read again, by a search, a lookup by key, a key operation or the full list.
func TestFindByIDAPDUs(t *testing.T) {
	m, d, tok := provisioned(t)
	from := len(m.sent)
	objs, err := tok.ObjectsWithID([]byte{0x01})
	if err != nil {
		t.Fatal(err)
	}
	wantTrace(t, "CKA_ID 01", m, from, "GET METADATA 9A", "GET DATA 5FC105")
	if !slices.Equal(objKeys(objs), []string{"cert/9a", "pub/9a", "priv/9a"}) {
		t.Errorf("CKA_ID 01: %v", objKeys(objs))
	}

	from = len(m.sent)
	tok.ObjectsWithID([]byte{0x01})
	for _, key := range []string{"cert/9a", "pub/9a", "priv/9a"} {
		if o, ok, err := tok.Object(key); !ok || err != nil || o.Key != key {
			t.Errorf("Object(%s): %v %v", key, ok, err)
		}
	}
	wantTrace(t, "second search and lookups in 9A", m, from)

	from = len(m.sent)
	if o, ok, err := tok.Object("priv/9c"); !ok || err != nil || o.Attrs[ck.CKA_ALWAYS_AUTHENTICATE] != true {
		t.Errorf("Object(priv/9c): %v %v %v", ok, err, o.Attrs)
	}
	wantTrace(t, "lookup in 9C", m, from, "GET METADATA 9C", "GET DATA 5FC10A")

	from = len(m.sent)
	for range 2 {
		if _, ok, err := tok.Object("cert/83"); ok || err != nil {
			t.Errorf("Object(cert/83) in an empty slot: %v %v", ok, err)
		}
	}
	wantTrace(t, "lookups in the empty slot 83", m, from, "GET METADATA 83")

	from = len(m.sent)
	for _, key := range []string{"data/5fc1ff", "priv/9A", "priv/ff", "cert/9a/", "pub/", "x", ""} {
		if _, ok, err := tok.Object(key); ok || err != nil {
			t.Errorf("Object(%q): %v %v", key, ok, err)
		}
	}
	wantTrace(t, "keys no slot has", m, from)

	from = len(m.sent)
	msg := []byte("9E needs no PIN")
	sig, err := tok.PrivateKeyOp("priv/9e", slot.OpEdDSA, msg)
	if err != nil || !ed25519.Verify(d.pub9e, msg, sig) {
		t.Fatalf("Ed25519 with 9E: %v", err)
	}
	wantTrace(t, "first operation with 9E", m, from, "GET METADATA 9E", "GET DATA 5FC101", "GENERAL AUTH 9E")

	// The full list reads the 21 slots not read yet, and nothing else.
	from = len(m.sent)
	all, err := tok.Objects()
	if err != nil {
		t.Fatal(err)
	}
	got := trace(m, from)
	for _, c := range got {
		for _, done := range []string{"9A", "9C", "83", "9E", "5FC105", "5FC10A", "5FC101"} {
			if strings.HasSuffix(c, " "+done) {
				t.Errorf("full list read %s again", c)
			}
		}
	}
	// 25 slots - 4 read; certificates of the slots with a key: 9D, 82, F9; a probe of
	// each public PIV data object (dataobjects.go).
	if len(got) != 21+3+5 {
		t.Errorf("full list after four slots: %d APDUs %q", len(got), got)
	}
	fresh := openToken(t, m)
	want, _ := fresh.Objects()
	sameObjects(t, "full list", all, want)

	from = len(m.sent)
	tok.Objects()
	tok.ObjectsWithID([]byte{0x19})
	tok.Object("cert/f9")
	wantTrace(t, "after the full list", m, from)
}

// TestS2Driver is the driver's part of benchmark scenario S2 (docs/performance.md) as
// the module drives it: token info, find the certificate with CKA_ID 01, read its
// value, find the private key (hidden before login), C_Login, find it again (the
// module first asks whether the card still holds the login), C_SignInit and C_Sign.
func TestS2Driver(t *testing.T) {
	m := newCard(t)
	provision(t, m)
	m.c.Reset()
	from := len(m.sent)
	tok := openToken(t, m)
	if _, err := tok.Info(); err != nil {
		t.Fatal(err)
	}
	find := func() {
		t.Helper()
		if _, err := tok.ObjectsWithID([]byte{0x01}); err != nil {
			t.Fatal(err)
		}
	}
	lookup := func(key string) {
		t.Helper()
		if _, ok, err := tok.Object(key); !ok || err != nil {
			t.Fatalf("%s: %v %v", key, ok, err)
		}
	}
	find()            // C_FindObjectsInit: the certificate
	lookup("cert/9a") // C_GetAttributeValue(CKA_VALUE): the length
	lookup("cert/9a") // and the value
	find()            // the private key, hidden before login
	login(t, tok, ck.CKU_USER)
	find()            // after login: the module does not ask the card again (module/objects.go)
	lookup("priv/9a") // C_SignInit
	block := make([]byte, 256)
	block[1] = 1
	if _, err := tok.PrivateKeyOp("priv/9a", slot.OpRSARaw, block); err != nil {
		t.Fatal(err)
	}
	got := trace(m, from)
	t.Logf("S2 (driver): %d APDUs: %s", len(got), strings.Join(got, " → "))
	wantTrace(t, "S2", m, from,
		"SELECT", "GET VERSION", "GET SERIAL", // Open
		"GET METADATA 80", "GET METADATA 81", "GET METADATA 9B", "GET DATA 5FFF0F", // Info
		"GET METADATA 9A", "GET DATA 5FC105", // CKA_ID 01
		"VERIFY PIN", // C_Login
		"GENERAL AUTH 9A")
}

// TestFinderAfterWrites: a write forgets the slot it changed and only that slot; the
// next search reads it again and sees the change. InitToken and Invalidate forget
// every slot.
func TestFinderAfterWrites(t *testing.T) {
	m, _, tok := provisioned(t)
	if objs, _ := tok.ObjectsWithID([]byte{0x06}); len(objs) != 0 { // 83: empty
		t.Fatalf("83 before: %v", objKeys(objs))
	}
	tok.ObjectsWithID([]byte{0x01})
	soLogin(t, tok)
	if _, _, err := tok.GenerateKeyPair(ck.CKM_EC_KEY_PAIR_GEN, ecTmpl(0x06, algP256), nil); err != nil {
		t.Fatal(err)
	}
	from := len(m.sent)
	objs, err := tok.ObjectsWithID([]byte{0x06})
	if err != nil || !slices.Equal(objKeys(objs), []string{"pub/83", "priv/83"}) {
		t.Fatalf("83 after key generation: %v %v", objKeys(objs), err)
	}
	wantTrace(t, "83 after key generation", m, from, "GET METADATA 83", "GET DATA 5FC10E")
	from = len(m.sent)
	tok.ObjectsWithID([]byte{0x01})
	wantTrace(t, "9A after a write to 83", m, from)
	fresh := openToken(t, m)
	want, _ := fresh.ObjectsWithID([]byte{0x06})
	sameObjects(t, "83 after key generation", objs, want)

	pub := objs[0].Attrs[ck.CKA_PUBLIC_KEY_INFO].([]byte)
	parsed, err := x509.ParsePKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tok.CreateObject(certTmpl(0x06, selfSigned(t, parsed, 0))); err != nil {
		t.Fatal(err)
	}
	objs, _ = tok.ObjectsWithID([]byte{0x06})
	if !slices.Equal(objKeys(objs), []string{"cert/83", "pub/83", "priv/83"}) {
		t.Errorf("83 after the certificate: %v", objKeys(objs))
	}
	all, _ := tok.Objects()
	want, _ = openToken(t, m).Objects()
	sameObjects(t, "full list after writes", all, want)

	if err := tok.DestroyObject("cert/83"); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := tok.Object("cert/83"); ok {
		t.Error("cert/83 after its deletion")
	}
	if objs, _ := tok.ObjectsWithID([]byte{0x06}); !slices.Equal(objKeys(objs), []string{"pub/83", "priv/83"}) {
		t.Errorf("83 after the certificate's deletion: %v", objKeys(objs))
	}
	if err := tok.DestroyObject("priv/83"); err != nil {
		t.Fatal(err)
	}
	if objs, _ := tok.ObjectsWithID([]byte{0x06}); len(objs) != 0 {
		t.Errorf("83 after the key's deletion: %v", objKeys(objs))
	}
	if all, _ := tok.Objects(); findObj(all, "cert/83") != nil || findObj(all, "priv/9a") == nil {
		t.Errorf("full list after the deletions: %v", objKeys(all))
	}

	tok.Invalidate()
	from = len(m.sent)
	tok.ObjectsWithID([]byte{0x01})
	wantTrace(t, "9A after Invalidate", m, from, "GET METADATA 9A", "GET DATA 5FC105")

	if err := tok.InitToken([]byte(defaultMgm), "wiped"); err != nil {
		t.Fatal(err)
	}
	if objs, err := tok.ObjectsWithID([]byte{0x01}); len(objs) != 0 || err != nil {
		t.Errorf("9A after InitToken: %v %v", objKeys(objs), err)
	}
	if _, ok, _ := tok.Object("priv/9d"); ok {
		t.Error("priv/9d after InitToken")
	}
}

// A question about objects already read is answered while another call holds the card
// for an exchange (the module asks one for every C_SignInit, under its library lock:
// waiting for a signature there would stop every other card's threads).
func TestCachedObjectsDoNotWaitForTheCard(t *testing.T) {
	m, _, tok := provisioned(t)
	login(t, tok, ck.CKU_USER)
	if _, _, err := tok.Object("priv/9a"); err != nil { // reads slot 9A
		t.Fatal(err)
	}
	inCard, release := make(chan struct{}), make(chan struct{})
	m.transmitFn = func(cmd []byte) ([]byte, error) {
		if cmd[1] == insGeneralAuth {
			close(inCard)
			<-release
		}
		return m.mem.Transmit(cmd)
	}
	done := make(chan error, 1)
	go func() {
		block := make([]byte, 256)
		block[1] = 1
		_, err := tok.PrivateKeyOp("priv/9a", slot.OpRSARaw, block)
		done <- err
	}()
	<-inCard
	answered := make(chan bool, 1)
	go func() {
		_, ok, err := tok.Object("priv/9a")
		objs, err2 := tok.ObjectsWithID([]byte{1})
		answered <- ok && err == nil && err2 == nil && len(objs) > 0
	}()
	select {
	case ok := <-answered:
		if !ok {
			t.Error("cached lookups failed during the exchange")
		}
	case <-time.After(5 * time.Second):
		t.Error("a lookup of an object already read waited for the card exchange")
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatalf("signature: %v", err)
	}
}
