package module

import (
	"github.com/pcsc11/pcsc11/ck"
	"github.com/pcsc11/pcsc11/slot"
)

// The session objects: the secrets C_DeriveKey makes and the objects C_CreateObject
// makes with CKA_TOKEN false. They live in the library, never on the card.

// sessObject is a session object (spec 4.4: CKA_TOKEN false): it lives until its
// session closes, and every session of the application on that token may use it.
type sessObject struct {
	owner ck.ULong // session handle that created it
	slot  slot.ID
	gen   uint64
	attrs slot.Attributes
}

// DestroyObject is C_DestroyObject: session objects can be destroyed (also from a R/O
// session, spec 4.4); the token's objects through the driver, from a R/W session.
func (l *Library) DestroyObject(h, obj ck.ULong) ck.ULong {
	return l.withSession(h, func(s *session, ts *tokenState) ck.ULong {
		if so, ok := l.sessObjs[obj]; ok && so.slot == ts.slot && so.gen == ts.gen {
			if !visible(ts, slot.Object{Attrs: so.attrs}) {
				return ck.CKR_OBJECT_HANDLE_INVALID
			}
			wipeAttrs(so.attrs)
			delete(l.sessObjs, obj)
			return ck.CKR_OK
		}
		return l.destroyTokenObject(s, ts, obj)
	})
}

func wipeAttrs(a slot.Attributes) {
	if v, ok := a[ck.CKA_VALUE].([]byte); ok {
		clear(v)
	}
}

// dropSessionObjects destroys the session objects for which drop is true (l.mu held).
func (l *Library) dropSessionObjects(drop func(*sessObject) bool) {
	for h, so := range l.sessObjs {
		if drop(so) {
			wipeAttrs(so.attrs)
			delete(l.sessObjs, h)
		}
	}
}
