package module

import (
	"github.com/pcsc11/pcsc11/ck"
	"github.com/pcsc11/pcsc11/slot"
)

// Attributes a copy may not change (spec 5.7.2: only what "can ordinarily be modified";
// what a key is, and the history attributes the token sets, stay as they are).
var copyReadOnly = map[ck.ULong]bool{
	ck.CKA_CLASS: true, ck.CKA_KEY_TYPE: true, ck.CKA_VALUE: true, ck.CKA_VALUE_LEN: true,
	ck.CKA_CERTIFICATE_TYPE: true, ck.CKA_LOCAL: true, ck.CKA_ALWAYS_SENSITIVE: true,
	ck.CKA_NEVER_EXTRACTABLE: true, ck.CKA_KEY_GEN_MECHANISM: true,
}

// CopyObject is C_CopyObject (spec 5.7.2). Session objects (made by C_CreateObject or
// C_DeriveKey) are copied in the module, into a new session object of session h, with
// the template's changes: CKA_SENSITIVE may only become true and CKA_EXTRACTABLE only
// false (spec 4.10); a copy onto the token is not offered (PIV holds no such objects).
// The card's own objects are not copyable.
func (l *Library) CopyObject(h, obj ck.ULong, tmpl []Attr) (ck.ULong, ck.ULong) {
	return withSessionValue(l, h, func(s *session, ts *tokenState) (ck.ULong, ck.ULong) {
		if _, rv := l.object(ts, obj); rv != ck.CKR_OK {
			return 0, rv
		}
		src, isSession := l.sessObjs[obj]
		if !isSession {
			if !s.rw {
				// A token object: a R/O session may not change the token (v2.20 sessions
				// example, step 17).
				return 0, ck.CKR_SESSION_READ_ONLY
			}
			return 0, ck.CKR_FUNCTION_NOT_SUPPORTED // one key and one certificate per PIV slot
		}
		if c, ok := src.attrs[ck.CKA_COPYABLE].(bool); ok && !c {
			return 0, ck.CKR_ACTION_PROHIBITED
		}
		onToken, rv := isTokenTemplate(tmpl)
		if rv != ck.CKR_OK {
			return 0, rv
		}
		if onToken {
			return 0, ck.CKR_TEMPLATE_INCONSISTENT
		}
		// The template's values, typed as for a new session object of the same class.
		upd, rv := sessionTemplate(append([]Attr{ulongAttrOf(ck.CKA_CLASS, src.attrs)}, tmpl...), ts.login == ck.CKU_USER)
		if rv != ck.CKR_OK {
			return 0, rv
		}
		attrs := copyAttrs(src.attrs)
		for _, t := range tmpl {
			v := upd[t.Type]
			switch {
			case t.Type == ck.CKA_TOKEN:
				continue // false: a session object, as it is
			case copyReadOnly[t.Type]:
				return 0, ck.CKR_ATTRIBUTE_READ_ONLY
			case t.Type == ck.CKA_SENSITIVE && attrs[t.Type] == true && v == false:
				return 0, ck.CKR_ATTRIBUTE_READ_ONLY
			case t.Type == ck.CKA_EXTRACTABLE && attrs[t.Type] == false && v == true:
				return 0, ck.CKR_ATTRIBUTE_READ_ONLY
			case t.Type == ck.CKA_EXTRACTABLE && v == false:
				attrs[ck.CKA_NEVER_EXTRACTABLE] = false
			}
			attrs[t.Type] = v
		}
		nh := l.newHandle()
		l.sessObjs[nh] = &sessObject{owner: h, slot: ts.slot, gen: ts.gen, attrs: attrs}
		return nh, ck.CKR_OK
	})
}

// copyAttrs is a deep copy: the copy's secret value is its own, wiped on its own.
func copyAttrs(a slot.Attributes) slot.Attributes {
	out := make(slot.Attributes, len(a))
	for k, v := range a {
		switch x := v.(type) {
		case []byte:
			out[k] = append([]byte(nil), x...)
		case []ck.ULong:
			out[k] = append([]ck.ULong(nil), x...)
		default:
			out[k] = v
		}
	}
	return out
}
