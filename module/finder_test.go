package module

import (
	"bytes"
	"testing"

	"github.com/pcsc11/pcsc11/ck"
	"github.com/pcsc11/pcsc11/slot"
)

// finderToken is the fake token with a slot.ObjectFinder that counts how the module
// asks for objects: the whole list, by CKA_ID, by key.
type finderToken struct {
	*fakeToken
	all, byID, byKey int
	ids              [][]byte
}

func (f *finderToken) Objects() ([]slot.Object, error) {
	f.all++
	return f.fakeToken.Objects()
}

func (f *finderToken) ObjectsWithID(id []byte) ([]slot.Object, error) {
	f.byID++
	f.ids = append(f.ids, append([]byte(nil), id...))
	objs, err := f.fakeToken.Objects()
	var out []slot.Object
	for _, o := range objs {
		if v, _ := o.Attrs[ck.CKA_ID].([]byte); bytes.Equal(v, id) {
			out = append(out, o)
		}
	}
	return out, err
}

func (f *finderToken) Object(key string) (slot.Object, bool, error) {
	f.byKey++
	objs, err := f.fakeToken.Objects()
	for _, o := range objs {
		if o.Key == key {
			return o, true, err
		}
	}
	return slot.Object{}, false, err
}

var _ slot.ObjectFinder = (*finderToken)(nil)

func newFinderLib(t *testing.T) (*Library, *finderToken) {
	t.Helper()
	tok := &finderToken{fakeToken: newFakeToken(t)}
	l := New(func() (Manager, error) { return newFakeManager(tok), nil })
	wantRV(t, "Initialize", l.Initialize(nil), ck.CKR_OK)
	t.Cleanup(func() { l.Finalize(false) })
	l.SlotList(false)
	return l, tok
}

// TestFindByIDUsesFinder: a search naming CKA_ID asks the token for that ID only; a
// search without one lists everything; handle lookups (C_GetAttributeValue,
// C_SignInit, ...) ask for their one object. Login visibility and session objects work
// as with the full list.
func TestFindByIDUsesFinder(t *testing.T) {
	l, tok := newFinderLib(t)
	s := open(t, l, false)
	privID1 := []Attr{ulongAttr(ck.CKA_CLASS, ck.CKO_PRIVATE_KEY), {Type: ck.CKA_ID, Value: []byte{1}}}
	if got := findAll(t, l, s, privID1); len(got) != 0 {
		t.Fatalf("private key visible before login: %v", got)
	}
	certs := findAll(t, l, s, []Attr{{Type: ck.CKA_ID, Value: []byte{1}}, ulongAttr(ck.CKA_CLASS, ck.CKO_CERTIFICATE)})
	if len(certs) != 1 {
		t.Fatalf("certificates with CKA_ID 01: %v", certs)
	}
	reqs := []AttrReq{{Type: ck.CKA_VALUE}}
	wantRV(t, "GetAttributeValue", l.GetAttributeValue(s, certs[0], reqs), ck.CKR_OK)
	if size, rv := l.GetObjectSize(s, certs[0]); rv != ck.CKR_OK || size == 0 {
		t.Fatalf("GetObjectSize: %d %#x", size, rv)
	}
	wantRV(t, "Login", l.Login(s, ck.CKU_USER, []byte(testPIN)), ck.CKR_OK)
	keys := findAll(t, l, s, privID1)
	if len(keys) != 1 {
		t.Fatalf("private keys with CKA_ID 01 after login: %v", keys)
	}
	wantRV(t, "GetAttributeValue", l.GetAttributeValue(s, keys[0], []AttrReq{{Type: ck.CKA_LABEL}}), ck.CKR_OK)
	wantRV(t, "SignInit", l.SignInit(s, Mechanism{Type: ck.CKM_RSA_PKCS}, keys[0]), ck.CKR_OK)
	if tok.all != 0 || tok.byID != 3 || tok.byKey == 0 {
		t.Errorf("token asked for: the whole list %d, by CKA_ID %d, by key %d; want 0, 3, some", tok.all, tok.byID, tok.byKey)
	}
	for _, id := range tok.ids {
		if !bytes.Equal(id, []byte{1}) {
			t.Errorf("asked for CKA_ID %x", id)
		}
	}
	// The handles are those of the full list: the same object, the same handle.
	all := findAll(t, l, s, nil)
	if tok.all != 1 || len(all) != 9 {
		t.Fatalf("search without CKA_ID: %d objects, %d full lists", len(all), tok.all)
	}
	for _, h := range append(certs, keys...) {
		found := false
		for _, a := range all {
			found = found || a == h
		}
		if !found {
			t.Errorf("handle %d of a search by CKA_ID is not in the full list %v", h, all)
		}
	}
	// An ID no object has: nothing, whatever the driver's answer costs.
	if got := findAll(t, l, s, []Attr{{Type: ck.CKA_ID, Value: bytes.Repeat([]byte{7}, 20)}}); len(got) != 0 {
		t.Errorf("20-byte CKA_ID: %v", got)
	}
	// Two different CKA_IDs in one template: nothing.
	if got := findAll(t, l, s, []Attr{{Type: ck.CKA_ID, Value: []byte{1}}, {Type: ck.CKA_ID, Value: []byte{4}}}); len(got) != 0 {
		t.Errorf("CKA_ID 01 and 04: %v", got)
	}

	// Session objects with the ID are found beside the token's.
	so, rv := l.CreateObject(s, []Attr{ulongAttr(ck.CKA_CLASS, ck.CKO_DATA), {Type: ck.CKA_ID, Value: []byte{1}}})
	wantRV(t, "session object", rv, ck.CKR_OK)
	got := findAll(t, l, s, []Attr{{Type: ck.CKA_ID, Value: []byte{1}}})
	if len(got) != 4 || got[len(got)-1] != so { // certificate, public and private key, the data object
		t.Errorf("CKA_ID 01 with a session object: %v (session object %d)", got, so)
	}

	// After logout the private key's handle is dead, without listing the token.
	wantRV(t, "Logout", l.Logout(s), ck.CKR_OK)
	before := tok.all
	wantRV(t, "private key after logout", l.GetAttributeValue(s, keys[0], []AttrReq{{Type: ck.CKA_LABEL}}), ck.CKR_OBJECT_HANDLE_INVALID)
	if tok.all != before {
		t.Error("a handle lookup listed the whole token")
	}
}

// TestObjectGoneFromFinder: a handle whose object the token no longer has (deleted by
// C_DestroyObject) is invalid.
func TestObjectGoneFromFinder(t *testing.T) {
	l, tok := newFinderLib(t)
	s := open(t, l, true)
	certs := findAll(t, l, s, []Attr{{Type: ck.CKA_ID, Value: []byte{1}}, ulongAttr(ck.CKA_CLASS, ck.CKO_CERTIFICATE)})
	if len(certs) != 1 {
		t.Fatalf("certificates: %v", certs)
	}
	wantRV(t, "Login", l.Login(s, ck.CKU_USER, []byte(testPIN)), ck.CKR_OK)
	wantRV(t, "DestroyObject", l.DestroyObject(s, certs[0]), ck.CKR_OK)
	wantRV(t, "destroyed object", l.GetAttributeValue(s, certs[0], []AttrReq{{Type: ck.CKA_CLASS}}), ck.CKR_OBJECT_HANDLE_INVALID)
	if got := findAll(t, l, s, []Attr{{Type: ck.CKA_ID, Value: []byte{1}}, ulongAttr(ck.CKA_CLASS, ck.CKO_CERTIFICATE)}); len(got) != 0 {
		t.Errorf("destroyed certificate found: %v", got)
	}
	if tok.all != 0 {
		t.Errorf("%d full lists", tok.all)
	}
}
