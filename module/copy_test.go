package module

import (
	"testing"

	"github.com/pcsc11/pcsc11/ck"
)

// C_CopyObject copies session objects with the template's changes.
func TestCopySessionObject(t *testing.T) {
	l, s, ec, _ := loggedIn(t, 4)
	data := []Attr{ulongAttr(ck.CKA_CLASS, ck.CKO_DATA), {Type: ck.CKA_LABEL, Value: []byte("orig")},
		{Type: ck.CKA_VALUE, Value: []byte("payload")}}
	obj, rv := l.CreateObject(s, data)
	wantRV(t, "CreateObject", rv, ck.CKR_OK)
	cp, rv := l.CopyObject(s, obj, []Attr{{Type: ck.CKA_LABEL, Value: []byte("copy")}})
	wantRV(t, "CopyObject", rv, ck.CKR_OK)
	if cp == obj {
		t.Fatal("the copy has the original's handle")
	}
	reqs := []AttrReq{{Type: ck.CKA_LABEL, Buf: make([]byte, 16)}, {Type: ck.CKA_VALUE, Buf: make([]byte, 16)}}
	wantRV(t, "GetAttributeValue copy", l.GetAttributeValue(s, cp, reqs), ck.CKR_OK)
	if string(reqs[0].Buf[:reqs[0].Len]) != "copy" || string(reqs[1].Buf[:reqs[1].Len]) != "payload" {
		t.Fatalf("copy: label %q value %q", reqs[0].Buf[:reqs[0].Len], reqs[1].Buf[:reqs[1].Len])
	}
	wantRV(t, "original kept", l.GetAttributeValue(s, obj, reqs[:1]), ck.CKR_OK)
	if string(reqs[0].Buf[:reqs[0].Len]) != "orig" {
		t.Fatalf("original label %q", reqs[0].Buf[:reqs[0].Len])
	}
	wantRV(t, "destroy the copy", l.DestroyObject(s, cp), ck.CKR_OK)
	wantRV(t, "original survives", l.GetAttributeValue(s, obj, reqs[:1]), ck.CKR_OK)

	_, rv = l.CopyObject(s, obj, []Attr{{Type: ck.CKA_TOKEN, Value: []byte{1}}})
	wantRV(t, "copy onto the token", rv, ck.CKR_TEMPLATE_INCONSISTENT)
	_, rv = l.CopyObject(s, obj, []Attr{ulongAttr(ck.CKA_CLASS, ck.CKO_SECRET_KEY)})
	wantRV(t, "change the class", rv, ck.CKR_ATTRIBUTE_READ_ONLY)
	locked, rv := l.CopyObject(s, obj, []Attr{{Type: ck.CKA_COPYABLE, Value: []byte{0}}})
	wantRV(t, "copy that is not copyable", rv, ck.CKR_OK)
	_, rv = l.CopyObject(s, locked, nil)
	wantRV(t, "copy of a CKA_COPYABLE false object", rv, ck.CKR_ACTION_PROHIBITED)
	_, rv = l.CopyObject(s, ec, nil)
	wantRV(t, "copy of a card object", rv, ck.CKR_SESSION_READ_ONLY)
	_, rv = l.CopyObject(open(t, l, true), ec, nil)
	wantRV(t, "copy of a card object in a R/W session", rv, ck.CKR_FUNCTION_NOT_SUPPORTED)
	_, rv = l.CopyObject(s, 12345, nil)
	wantRV(t, "copy of no object", rv, ck.CKR_OBJECT_HANDLE_INVALID)
}
