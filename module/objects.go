package module

import (
	"bytes"
	"sort"

	"github.com/pcsc11/pcsc11/ck"
	"github.com/pcsc11/pcsc11/slot"
)

// objRef names the object behind a CK_OBJECT_HANDLE: a driver key on one card.
type objRef struct {
	slot slot.ID
	gen  uint64
	key  string
}

// Attr is one attribute of an input template (C_FindObjectsInit): type and value bytes.
type Attr struct {
	Type  ck.ULong
	Value []byte
}

type findState struct {
	results []ck.ULong
}

// handleFor returns the stable handle of object key on the token (l.mu held).
func (l *Library) handleFor(ts *tokenState, key string) ck.ULong {
	if h, ok := ts.handles[key]; ok {
		return h
	}
	h := l.newHandle()
	ts.handles[key] = h
	l.objects[h] = objRef{slot: ts.slot, gen: ts.gen, key: key}
	return h
}

// visible reports whether the application may see obj now: private objects only while
// the normal user is logged in (spec 4.4 CKA_PRIVATE).
func visible(ts *tokenState, obj slot.Object) bool {
	return visibleTo(ts.login == ck.CKU_USER, obj)
}

// visibleTo is visible for a login state read before.
func visibleTo(userLoggedIn bool, obj slot.Object) bool {
	priv, _ := obj.Attrs[ck.CKA_PRIVATE].(bool)
	return !priv || userLoggedIn
}

// object returns the object behind handle h for a session on ts (l.mu held on entry
// and on return). A token object is read with the library lock released (offLock):
// the driver answers at once for what it has read, even while the card is busy, and
// reads the card otherwise.
func (l *Library) object(ts *tokenState, h ck.ULong) (slot.Object, ck.ULong) {
	if so, ok := l.sessObjs[h]; ok {
		o := slot.Object{Attrs: so.attrs}
		if so.slot != ts.slot || so.gen != ts.gen || !visible(ts, o) {
			return slot.Object{}, ck.CKR_OBJECT_HANDLE_INVALID
		}
		return o, ck.CKR_OK
	}
	ref, ok := l.objects[h]
	if !ok || ref.slot != ts.slot || ref.gen != ts.gen {
		return slot.Object{}, ck.CKR_OBJECT_HANDLE_INVALID
	}
	var o slot.Object
	var err error
	if rv := l.offLock(nil, ts, func(c card) { o, ok, err = c.object(ref.key) }); rv != ck.CKR_OK {
		return slot.Object{}, rv
	}
	if err != nil {
		return slot.Object{}, rvOf(err)
	}
	if !ok || !visible(ts, o) {
		return slot.Object{}, ck.CKR_OBJECT_HANDLE_INVALID
	}
	return o, ck.CKR_OK
}

// matches reports whether obj has every attribute of tmpl with exactly those bytes. A
// value read only when asked (slot.LazyValue) is read here when the template names
// it; one that cannot be read does not match (card I/O: l.mu NOT held).
func matches(obj slot.Object, tmpl []Attr) bool {
	for _, a := range tmpl {
		v, ok := obj.Attrs[a.Type]
		if !ok || isSensitive(obj.Attrs, a.Type) {
			return false
		}
		if lazy, isLazy := v.(slot.LazyValue); isLazy {
			b, err := lazy()
			if err != nil {
				return false
			}
			v = b
		}
		b, ok := encodeAttr(v)
		if !ok || !bytes.Equal(b, a.Value) {
			return false
		}
	}
	return true
}

// FindObjectsInit is C_FindObjectsInit (spec 5.7.7). The result set is fixed here.
func (l *Library) FindObjectsInit(h ck.ULong, tmpl []Attr) ck.ULong {
	return l.withSession(h, func(s *session, ts *tokenState) ck.ULong {
		if s.find != nil {
			return ck.CKR_OPERATION_ACTIVE
		}
		// Private objects are visible while the application is logged in (ts.login). The
		// card is not asked here whether it still holds the verification (one APDU per
		// search): a verification lost to another program is found, and the cached PIN
		// replayed or the token logged out, by the operation that needs it (privateKeyOp)
		// and by C_GetSessionInfo, which applications ask to learn the login state.
		// The driver answers from what it has read, even while the card is busy, and
		// reads the card otherwise: with the library lock released (offLock).
		// The match too: a value the driver reads only when asked (slot.LazyValue) is read
		// when the template names it.
		var objs []slot.Object
		var err error
		loggedIn := ts.login == ck.CKU_USER
		if rv := l.offLock(s, ts, func(c card) {
			var all []slot.Object
			if all, err = c.search(tmpl); err != nil {
				return
			}
			for _, o := range all {
				if visibleTo(loggedIn, o) && matches(o, tmpl) {
					objs = append(objs, o)
				}
			}
		}); rv != ck.CKR_OK {
			return rv
		}
		if err != nil {
			return rvOf(err)
		}
		if s.find != nil {
			return ck.CKR_OPERATION_ACTIVE // another thread's search began meanwhile
		}
		var res []ck.ULong
		for _, o := range objs {
			if visible(ts, o) { // the login may have ended meanwhile
				res = append(res, l.handleFor(ts, o.Key))
			}
		}
		for sh, so := range l.sessObjs {
			o := slot.Object{Attrs: so.attrs}
			if so.slot == ts.slot && so.gen == ts.gen && visible(ts, o) && matches(o, tmpl) {
				res = append(res, sh)
			}
		}
		sort.Slice(res, func(i, j int) bool { return res[i] < res[j] })
		s.find = &findState{results: res}
		return ck.CKR_OK
	})
}

// FindObjects is C_FindObjects: up to max further handles.
func (l *Library) FindObjects(h ck.ULong, max ck.ULong) ([]ck.ULong, ck.ULong) {
	return withSessionValue(l, h, func(s *session, _ *tokenState) ([]ck.ULong, ck.ULong) {
		if s.find == nil {
			return nil, ck.CKR_OPERATION_NOT_INITIALIZED
		}
		n := ck.ULong(len(s.find.results))
		if max < n {
			n = max
		}
		out := s.find.results[:n:n]
		s.find.results = s.find.results[n:]
		return out, ck.CKR_OK
	})
}

// FindObjectsFinal is C_FindObjectsFinal.
func (l *Library) FindObjectsFinal(h ck.ULong) ck.ULong {
	return l.withSession(h, func(s *session, _ *tokenState) ck.ULong {
		if s.find == nil {
			return ck.CKR_OPERATION_NOT_INITIALIZED
		}
		s.find = nil
		return ck.CKR_OK
	})
}

// GetAttributeValue is C_GetAttributeValue with the conventions of spec 5.7.5 (see
// fillAttrs). reqs is updated in place.
func (l *Library) GetAttributeValue(h, obj ck.ULong, reqs []AttrReq) ck.ULong {
	return l.withSession(h, func(_ *session, ts *tokenState) ck.ULong {
		o, rv := l.object(ts, obj)
		if rv != ck.CKR_OK {
			return rv
		}
		types := make([]ck.ULong, len(reqs))
		for i, r := range reqs {
			types[i] = r.Type
		}
		var attrs slot.Attributes
		var err error
		if rv := l.offLock(nil, ts, func(c card) { attrs, err = c.readLazy(o.Attrs, types) }); rv != ck.CKR_OK {
			return rv
		}
		if err != nil {
			return rvOf(err)
		}
		return fillAttrs(attrs, reqs)
	})
}

// readLazy returns attrs with the slot.LazyValue values among types read from the
// card (a PIV data object's CKA_VALUE): only what the caller asks for is read. attrs
// itself is the driver's and stays as it is. Card I/O: l.mu NOT held.
func (c card) readLazy(attrs slot.Attributes, types []ck.ULong) (slot.Attributes, error) {
	c.l.mu.mustNotHold("reading an attribute value")
	var out slot.Attributes
	for _, typ := range types {
		lazy, ok := attrs[typ].(slot.LazyValue)
		if !ok {
			continue
		}
		v, err := lazy()
		if err != nil {
			return nil, err
		}
		if out == nil {
			out = make(slot.Attributes, len(attrs))
			for k, x := range attrs {
				out[k] = x
			}
		}
		out[typ] = v
	}
	if out == nil {
		return attrs, nil
	}
	return out, nil
}

// GetObjectSize is C_GetObjectSize: the encoded size of the object's attributes (the
// spec leaves the exact meaning to the token).
func (l *Library) GetObjectSize(h, obj ck.ULong) (ck.ULong, ck.ULong) {
	return withSessionValue(l, h, func(_ *session, ts *tokenState) (ck.ULong, ck.ULong) {
		o, rv := l.object(ts, obj)
		if rv != ck.CKR_OK {
			return 0, rv
		}
		var n ck.ULong
		for _, v := range o.Attrs {
			if b, ok := encodeAttr(v); ok {
				n += ck.ULong(len(b))
			}
		}
		return n, ck.CKR_OK
	})
}
