package module

import (
	"testing"

	"github.com/pcsc11/pcsc11/ck"
	"github.com/pcsc11/pcsc11/slot"
)

// classToken is the finder token that can also narrow by class, counting how.
type classToken struct {
	*finderToken
	byClass []ck.ULong
}

func (c *classToken) ObjectsOfClass(class ck.ULong) ([]slot.Object, error) {
	c.byClass = append(c.byClass, class)
	objs, err := c.fakeToken.Objects()
	var out []slot.Object
	for _, o := range objs {
		if o.Attrs[ck.CKA_CLASS] == class {
			out = append(out, o)
		}
	}
	return out, err
}

var _ slot.ClassFinder = (*classToken)(nil)

// TestFindByClassUsesClassFinder: a search naming a class (and no CKA_ID) asks the
// token for that class only and finds exactly what the full list gives; CKA_ID still
// goes to the ObjectFinder; two classes, or a value of the wrong size, find nothing.
func TestFindByClassUsesClassFinder(t *testing.T) {
	tok := &classToken{finderToken: &finderToken{fakeToken: newFakeToken(t)}}
	l := New(func() (Manager, error) { return newFakeManager(tok), nil })
	wantRV(t, "Initialize", l.Initialize(nil), ck.CKR_OK)
	t.Cleanup(func() { l.Finalize(false) })
	l.SlotList(false)
	s := open(t, l, false)
	wantRV(t, "Login", l.Login(s, ck.CKU_USER, []byte(testPIN)), ck.CKR_OK)
	all := findAll(t, l, s, nil)
	fullLists := tok.all
	for _, class := range []ck.ULong{ck.CKO_CERTIFICATE, ck.CKO_PUBLIC_KEY, ck.CKO_PRIVATE_KEY} {
		got := findAll(t, l, s, []Attr{ulongAttr(ck.CKA_CLASS, class)})
		var want []ck.ULong
		for _, h := range all {
			reqs := []AttrReq{{Type: ck.CKA_CLASS, Buf: make([]byte, ulongSize)}}
			wantRV(t, "class", l.GetAttributeValue(s, h, reqs), ck.CKR_OK)
			if v, _ := ulongValue(reqs[0].Buf); v == class {
				want = append(want, h)
			}
		}
		if len(got) == 0 || len(got) != len(want) {
			t.Fatalf("class %#x: %v, want %v", class, got, want)
		}
		for i := range got {
			if got[i] != want[i] {
				t.Errorf("class %#x: handles %v, want %v (the full list's)", class, got, want)
			}
		}
	}
	if tok.all != fullLists || len(tok.byClass) != 3 {
		t.Errorf("full lists %d, by class %v; want none more, 3", tok.all-fullLists, tok.byClass)
	}
	byID := tok.byID
	findAll(t, l, s, []Attr{ulongAttr(ck.CKA_CLASS, ck.CKO_CERTIFICATE), {Type: ck.CKA_ID, Value: []byte{1}}})
	if tok.byID != byID+1 || len(tok.byClass) != 3 {
		t.Errorf("a search with CKA_ID and class went by class")
	}
	if got := findAll(t, l, s, []Attr{ulongAttr(ck.CKA_CLASS, ck.CKO_CERTIFICATE), ulongAttr(ck.CKA_CLASS, ck.CKO_PRIVATE_KEY)}); len(got) != 0 {
		t.Errorf("two classes: %v", got)
	}
	if got := findAll(t, l, s, []Attr{{Type: ck.CKA_CLASS, Value: []byte{1}}}); len(got) != 0 {
		t.Errorf("a one-byte class: %v", got)
	}
}
