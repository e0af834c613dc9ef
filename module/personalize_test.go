package module

import (
	"testing"

	"github.com/pcsc11/pcsc11/ck"
	"github.com/pcsc11/pcsc11/slot"
)

func TestInitTokenAndPINs(t *testing.T) {
	l, _, tok := newTestLib(t)
	l.SlotList(false)
	s := open(t, l, true)
	wantRV(t, "InitToken with a session open", l.InitToken(0, []byte(testSOKey), "new"), ck.CKR_SESSION_EXISTS)
	l.CloseSession(s)
	wantRV(t, "InitToken wrong SO", l.InitToken(0, []byte("00"), "new"), ck.CKR_PIN_INCORRECT)
	if tok.reset {
		t.Fatal("card reset with a wrong SO credential")
	}
	wantRV(t, "InitToken", l.InitToken(0, []byte(testSOKey), "new label"), ck.CKR_OK)
	if !tok.reset || tok.label != "new label" {
		t.Fatal("InitToken did not reach the card")
	}
	wantRV(t, "InitToken empty slot", l.InitToken(1, []byte(testSOKey), "x"), ck.CKR_TOKEN_NOT_PRESENT)

	ro := open(t, l, false)
	rw := open(t, l, true)
	wantRV(t, "InitPIN not SO", l.InitPIN(rw, []byte("654321")), ck.CKR_USER_NOT_LOGGED_IN)
	wantRV(t, "SetPIN R/O", l.SetPIN(ro, []byte(testPIN), []byte("654321")), ck.CKR_SESSION_READ_ONLY)
	wantRV(t, "SetPIN wrong old", l.SetPIN(rw, []byte("000000"), []byte("654321")), ck.CKR_PIN_INCORRECT)
	wantRV(t, "SetPIN", l.SetPIN(rw, []byte(testPIN), []byte("654321")), ck.CKR_OK)
	if tok.userPIN != "654321" {
		t.Fatal("SetPIN did not reach the card")
	}
	l.CloseSession(ro)
	wantRV(t, "SO login", l.Login(rw, ck.CKU_SO, []byte(testPIN)), ck.CKR_OK)
	wantRV(t, "InitPIN short", l.InitPIN(rw, []byte("1")), ck.CKR_PIN_LEN_RANGE)
	wantRV(t, "InitPIN", l.InitPIN(rw, []byte("11223344")), ck.CKR_OK)
	if tok.userPIN != "11223344" {
		t.Fatal("InitPIN did not reach the card")
	}
}

func TestGenerateCreateDestroy(t *testing.T) {
	l, s, _, tok := loggedIn(t, 1)
	id := Attr{Type: ck.CKA_ID, Value: []byte{9}}
	tokenTrue := Attr{Type: ck.CKA_TOKEN, Value: []byte{1}}
	_, _, rv := l.GenerateKeyPair(s, Mechanism{Type: ck.CKM_EC_KEY_PAIR_GEN}, []Attr{id}, []Attr{id})
	wantRV(t, "keygen without the mechanism", rv, ck.CKR_MECHANISM_INVALID)
	tok.genMech = true
	_, _, rv = l.GenerateKeyPair(s, Mechanism{Type: ck.CKM_EC_KEY_PAIR_GEN}, []Attr{id}, []Attr{id})
	wantRV(t, "keygen in a R/O session", rv, ck.CKR_SESSION_READ_ONLY)
	rw := open(t, l, true)
	pub, priv, rv := l.GenerateKeyPair(rw, Mechanism{Type: ck.CKM_EC_KEY_PAIR_GEN}, []Attr{id, tokenTrue}, []Attr{id, tokenTrue})
	wantRV(t, "keygen", rv, ck.CKR_OK)
	// The new objects are visible at once, with the handles keygen answered.
	found := findAll(t, l, s, []Attr{id})
	if len(found) != 2 || !((found[0] == pub && found[1] == priv) || (found[0] == priv && found[1] == pub)) {
		t.Fatalf("found %v, keygen gave %d/%d", found, pub, priv)
	}

	cert := []Attr{ulongAttr(ck.CKA_CLASS, ck.CKO_CERTIFICATE), tokenTrue, {Type: ck.CKA_VALUE, Value: []byte{0x30, 0}}}
	_, rv = l.CreateObject(s, cert)
	wantRV(t, "token object from a R/O session", rv, ck.CKR_SESSION_READ_ONLY)
	ch, rv := l.CreateObject(rw, cert)
	wantRV(t, "create certificate", rv, ck.CKR_OK)
	reqs := []AttrReq{{Type: ck.CKA_VALUE, Buf: make([]byte, 4)}}
	wantRV(t, "read it", l.GetAttributeValue(s, ch, reqs), ck.CKR_OK)
	wantRV(t, "SetAttributeValue on the card's object", l.SetAttributeValue(rw, ch, []Attr{{Type: ck.CKA_LABEL, Value: []byte("x")}}), ck.CKR_ATTRIBUTE_READ_ONLY)
	wantRV(t, "destroy from R/O", l.DestroyObject(s, ch), ck.CKR_SESSION_READ_ONLY)
	wantRV(t, "destroy", l.DestroyObject(rw, ch), ck.CKR_OK)
	wantRV(t, "gone", l.GetAttributeValue(s, ch, reqs), ck.CKR_OBJECT_HANDLE_INVALID)

	// Session objects: from a R/O session too, modifiable, gone with their session.
	data := []Attr{ulongAttr(ck.CKA_CLASS, ck.CKO_DATA), {Type: ck.CKA_LABEL, Value: []byte("note")}, {Type: ck.CKA_VALUE, Value: []byte("v1")}}
	dh, rv := l.CreateObject(s, data)
	wantRV(t, "session object", rv, ck.CKR_OK)
	_, rv = l.CreateObject(s, data[1:])
	wantRV(t, "no class", rv, ck.CKR_TEMPLATE_INCOMPLETE)
	_, rv = l.CreateObject(s, append(data, Attr{Type: ck.CKA_PRIVATE, Value: []byte{1, 1}}))
	wantRV(t, "malformed bool", rv, ck.CKR_ATTRIBUTE_VALUE_INVALID)
	if got := findAll(t, l, rw, []Attr{{Type: ck.CKA_LABEL, Value: []byte("note")}}); len(got) != 1 || got[0] != dh {
		t.Fatalf("session object search: %v", got)
	}
	wantRV(t, "modify", l.SetAttributeValue(s, dh, []Attr{{Type: ck.CKA_VALUE, Value: []byte("v2")}}), ck.CKR_OK)
	reqs = []AttrReq{{Type: ck.CKA_VALUE, Buf: make([]byte, 8)}}
	wantRV(t, "read", l.GetAttributeValue(s, dh, reqs), ck.CKR_OK)
	if string(reqs[0].Buf[:reqs[0].Len]) != "v2" {
		t.Fatalf("value %q", reqs[0].Buf[:reqs[0].Len])
	}
	wantRV(t, "class is read-only", l.SetAttributeValue(s, dh, []Attr{ulongAttr(ck.CKA_CLASS, ck.CKO_CERTIFICATE)}), ck.CKR_ATTRIBUTE_READ_ONLY)
	wantRV(t, "close", l.CloseSession(s), ck.CKR_OK)
	wantRV(t, "gone with its session", l.GetAttributeValue(rw, dh, reqs), ck.CKR_OBJECT_HANDLE_INVALID)
}

// A token without a slot.Personalizer (a driver that only reads) answers
// CKR_FUNCTION_NOT_SUPPORTED to every personalization, and nothing changes.
func TestNoPersonalizer(t *testing.T) {
	m := newFakeManager(struct{ slot.Token }{newFakeToken(t)}) // the fake's writers hidden
	l := New(func() (Manager, error) { return m, nil })
	wantRV(t, "Initialize", l.Initialize(nil), ck.CKR_OK)
	defer l.Finalize(false)
	l.SlotList(false)
	wantRV(t, "InitToken", l.InitToken(0, []byte(testSOKey), "new"), ck.CKR_FUNCTION_NOT_SUPPORTED)
	rw := open(t, l, true)
	wantRV(t, "SetPIN", l.SetPIN(rw, []byte(testPIN), []byte("654321")), ck.CKR_FUNCTION_NOT_SUPPORTED)
	_, rv := l.CreateObject(rw, []Attr{{Type: ck.CKA_TOKEN, Value: []byte{1}}, ulongAttr(ck.CKA_CLASS, ck.CKO_DATA)})
	wantRV(t, "CreateObject on the token", rv, ck.CKR_FUNCTION_NOT_SUPPORTED)
	wantRV(t, "SO login", l.Login(rw, ck.CKU_SO, []byte(testPIN)), ck.CKR_OK)
	wantRV(t, "InitPIN", l.InitPIN(rw, []byte("11223344")), ck.CKR_FUNCTION_NOT_SUPPORTED)
}
