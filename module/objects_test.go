package module

import (
	"bytes"
	"github.com/pcsc11/pcsc11/slot"
	"testing"

	"github.com/pcsc11/pcsc11/ck"
)

func findAll(t *testing.T, l *Library, h ck.ULong, tmpl []Attr) []ck.ULong {
	t.Helper()
	wantRV(t, "FindObjectsInit", l.FindObjectsInit(h, tmpl), ck.CKR_OK)
	var out []ck.ULong
	for {
		hs, rv := l.FindObjects(h, 2)
		wantRV(t, "FindObjects", rv, ck.CKR_OK)
		if len(hs) == 0 {
			break
		}
		out = append(out, hs...)
	}
	wantRV(t, "FindObjectsFinal", l.FindObjectsFinal(h), ck.CKR_OK)
	return out
}

func ulongAttr(typ, v ck.ULong) Attr { return Attr{Type: typ, Value: putULong(nil, v)} }

func TestFindObjects(t *testing.T) {
	l, _, _ := newTestLib(t)
	l.SlotList(false)
	s := open(t, l, false)
	public := findAll(t, l, s, nil)
	if len(public) != 3 { // certificate, public key, data object
		t.Fatalf("public objects: %d", len(public))
	}
	wantRV(t, "Login", l.Login(s, ck.CKU_USER, []byte(testPIN)), ck.CKR_OK)
	all := findAll(t, l, s, nil)
	if len(all) != 9 {
		t.Fatalf("objects after login: %d", len(all))
	}
	// Handles are stable: the same object keeps its handle across searches.
	again := findAll(t, l, s, nil)
	if !equalHandles(all, again) {
		t.Fatalf("handles changed: %v vs %v", all, again)
	}
	keys := findAll(t, l, s, []Attr{ulongAttr(ck.CKA_CLASS, ck.CKO_PRIVATE_KEY)})
	if len(keys) != 6 {
		t.Fatalf("private keys: %d", len(keys))
	}
	byID := findAll(t, l, s, []Attr{ulongAttr(ck.CKA_CLASS, ck.CKO_PRIVATE_KEY), {Type: ck.CKA_ID, Value: []byte{4}}})
	if len(byID) != 1 {
		t.Fatalf("key with id 04: %d", len(byID))
	}
	none := findAll(t, l, s, []Attr{{Type: ck.CKA_MODULUS_BITS, Value: putULong(nil, 2048)}})
	if len(none) != 0 {
		t.Fatalf("objects with an attribute none has: %d", len(none))
	}
	signers := findAll(t, l, s, []Attr{{Type: ck.CKA_SIGN, Value: []byte{1}}})
	if len(signers) != 4 {
		t.Fatalf("CKA_SIGN=true: %d", len(signers))
	}

	wantRV(t, "init", l.FindObjectsInit(s, nil), ck.CKR_OK)
	wantRV(t, "init twice", l.FindObjectsInit(s, nil), ck.CKR_OPERATION_ACTIVE)
	wantRV(t, "final", l.FindObjectsFinal(s), ck.CKR_OK)
	wantRV(t, "final twice", l.FindObjectsFinal(s), ck.CKR_OPERATION_NOT_INITIALIZED)
	_, rv := l.FindObjects(s, 1)
	wantRV(t, "FindObjects without init", rv, ck.CKR_OPERATION_NOT_INITIALIZED)

	// After logout, private objects' handles are not usable.
	wantRV(t, "Logout", l.Logout(s), ck.CKR_OK)
	reqs := []AttrReq{{Type: ck.CKA_CLASS}}
	wantRV(t, "private handle after logout", l.GetAttributeValue(s, byID[0], reqs), ck.CKR_OBJECT_HANDLE_INVALID)
}

func equalHandles(a, b []ck.ULong) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestGetAttributeValue(t *testing.T) {
	l, _, _ := newTestLib(t)
	l.SlotList(false)
	s := open(t, l, false)
	wantRV(t, "Login", l.Login(s, ck.CKU_USER, []byte(testPIN)), ck.CKR_OK)
	cert := findAll(t, l, s, []Attr{ulongAttr(ck.CKA_CLASS, ck.CKO_CERTIFICATE)})[0]
	priv := findAll(t, l, s, []Attr{{Type: ck.CKA_ID, Value: []byte{1}}, ulongAttr(ck.CKA_CLASS, ck.CKO_PRIVATE_KEY)})[0]
	data := findAll(t, l, s, []Attr{ulongAttr(ck.CKA_CLASS, ck.CKO_DATA)})[0]

	// Size query, then read.
	reqs := []AttrReq{{Type: ck.CKA_VALUE}, {Type: ck.CKA_CLASS}, {Type: ck.CKA_PRIVATE}}
	wantRV(t, "size query", l.GetAttributeValue(s, cert, reqs), ck.CKR_OK)
	if reqs[0].Len != ck.ULong(len("certificate bytes")) || reqs[1].Len != ulongSize || reqs[2].Len != 1 {
		t.Fatalf("sizes %+v", reqs)
	}
	for i := range reqs {
		reqs[i].Buf = make([]byte, reqs[i].Len)
	}
	wantRV(t, "read", l.GetAttributeValue(s, cert, reqs), ck.CKR_OK)
	if string(reqs[0].Buf) != "certificate bytes" || !bytes.Equal(reqs[1].Buf, putULong(nil, ck.CKO_CERTIFICATE)) || reqs[2].Buf[0] != 0 {
		t.Fatalf("values %+v", reqs)
	}

	// Buffer too small: that entry UNAVAILABLE, the others still filled.
	reqs = []AttrReq{{Type: ck.CKA_VALUE, Buf: make([]byte, 3)}, {Type: ck.CKA_CLASS, Buf: make([]byte, 8)}}
	wantRV(t, "small", l.GetAttributeValue(s, cert, reqs), ck.CKR_BUFFER_TOO_SMALL)
	if reqs[0].Len != ck.CK_UNAVAILABLE_INFORMATION || reqs[1].Len != ulongSize {
		t.Fatalf("small: %+v", reqs)
	}

	// Absent attribute → TYPE_INVALID; present ones still answered.
	reqs = []AttrReq{{Type: ck.CKA_MODULUS}, {Type: ck.CKA_LABEL}}
	wantRV(t, "absent", l.GetAttributeValue(s, cert, reqs), ck.CKR_ATTRIBUTE_TYPE_INVALID)
	if reqs[0].Len != ck.CK_UNAVAILABLE_INFORMATION || reqs[1].Len == ck.CK_UNAVAILABLE_INFORMATION {
		t.Fatalf("absent: %+v", reqs)
	}
	// A value the module cannot encode is reported as absent, never a panic.
	reqs = []AttrReq{{Type: ck.CKA_START_DATE}}
	wantRV(t, "unencodable", l.GetAttributeValue(s, data, reqs), ck.CKR_ATTRIBUTE_TYPE_INVALID)

	// Sensitive beats type-invalid beats too-small; every entry is processed.
	reqs = []AttrReq{{Type: ck.CKA_MODULUS, Buf: make([]byte, 1)}, {Type: ck.CKA_SUBJECT},
		{Type: ck.CKA_PRIVATE_EXPONENT}, {Type: ck.CKA_SENSITIVE}}
	wantRV(t, "precedence", l.GetAttributeValue(s, priv, reqs), ck.CKR_ATTRIBUTE_SENSITIVE)
	if reqs[0].Len != ck.CK_UNAVAILABLE_INFORMATION || reqs[1].Len != ck.CK_UNAVAILABLE_INFORMATION ||
		reqs[2].Len != ck.CK_UNAVAILABLE_INFORMATION || reqs[3].Len != 1 {
		t.Fatalf("precedence: %+v", reqs)
	}
	reqs = []AttrReq{{Type: ck.CKA_MODULUS, Buf: make([]byte, 1)}, {Type: ck.CKA_SUBJECT}}
	wantRV(t, "type invalid before too small", l.GetAttributeValue(s, priv, reqs), ck.CKR_ATTRIBUTE_TYPE_INVALID)
	// CKA_ALLOWED_MECHANISMS is an array of CK_ULONG.
	ec := findAll(t, l, s, []Attr{{Type: ck.CKA_ID, Value: []byte{4}}})[0]
	reqs = []AttrReq{{Type: ck.CKA_ALLOWED_MECHANISMS}}
	wantRV(t, "allowed mechanisms", l.GetAttributeValue(s, ec, reqs), ck.CKR_OK)
	if reqs[0].Len != 2*ulongSize {
		t.Fatalf("allowed mechanisms length %d", reqs[0].Len)
	}

	wantRV(t, "bad handle", l.GetAttributeValue(s, 999999, reqs), ck.CKR_OBJECT_HANDLE_INVALID)
	wantRV(t, "session handle as object", l.GetAttributeValue(s, s, reqs), ck.CKR_OBJECT_HANDLE_INVALID)
	size, rv := l.GetObjectSize(s, cert)
	wantRV(t, "GetObjectSize", rv, ck.CKR_OK)
	if size < ck.ULong(len("certificate bytes")) {
		t.Fatalf("object size %d", size)
	}
}

// A value the driver reads only when asked (slot.LazyValue, a PIV data object's
// CKA_VALUE) is read by C_GetAttributeValue of that attribute and by a search naming
// it, never by listing or by asking for other attributes.
func TestLazyValue(t *testing.T) {
	l, _, tok := newTestLib(t)
	tok.mu.Lock()
	tok.extra = append(tok.extra, slot.Object{Key: "data/5fc107", Attrs: slot.Attributes{
		ck.CKA_CLASS: ck.CKO_DATA, ck.CKA_PRIVATE: false, ck.CKA_APPLICATION: "PIV", ck.CKA_LABEL: "CCC",
		ck.CKA_VALUE: slot.LazyValue(func() ([]byte, error) {
			tok.lazyReads.Add(1)
			return []byte("ccc value"), nil
		})}})
	tok.mu.Unlock()
	l.SlotList(false)
	s := open(t, l, false)
	label := []Attr{{Type: ck.CKA_LABEL, Value: []byte("CCC")}}
	objs := findAll(t, l, s, label)
	if len(objs) != 1 || tok.lazyReads.Load() != 0 {
		t.Fatalf("search by label: %d objects, %d value reads", len(objs), tok.lazyReads.Load())
	}
	reqs := []AttrReq{{Type: ck.CKA_LABEL}, {Type: ck.CKA_CLASS}}
	wantRV(t, "other attributes", l.GetAttributeValue(s, objs[0], reqs), ck.CKR_OK)
	if tok.lazyReads.Load() != 0 {
		t.Fatal("CKA_VALUE read for CKA_LABEL")
	}
	reqs = []AttrReq{{Type: ck.CKA_VALUE, Buf: make([]byte, 32)}}
	wantRV(t, "value", l.GetAttributeValue(s, objs[0], reqs), ck.CKR_OK)
	if string(reqs[0].Buf[:reqs[0].Len]) != "ccc value" || tok.lazyReads.Load() != 1 {
		t.Fatalf("value %q after %d reads", reqs[0].Buf[:reqs[0].Len], tok.lazyReads.Load())
	}
	if got := findAll(t, l, s, []Attr{{Type: ck.CKA_VALUE, Value: []byte("ccc value")}}); len(got) != 1 || got[0] != objs[0] {
		t.Errorf("search by the value: %v", got)
	}
}
