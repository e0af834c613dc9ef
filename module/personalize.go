package module

import (
	"github.com/pcsc11/pcsc11/ck"
	"github.com/pcsc11/pcsc11/slot"
)

// Personalization through PKCS#11 (C_InitToken, C_InitPIN, C_SetPIN, key generation
// and object writes; docs/personalization.md): the module checks session state, open
// sessions and session objects (what only it knows) and hands the rest to the token's
// slot.Personalizer, whose contract is in slot/personalize.go. Tokens without one
// answer CKR_FUNCTION_NOT_SUPPORTED.

// rawAttrs passes a template on as the application wrote it (the contract's raw form).
func rawAttrs(tmpl []Attr) slot.Attributes {
	a := slot.Attributes{}
	for _, t := range tmpl {
		a[t.Type] = t.Value
	}
	return a
}

// personalize runs change, the card work of the Cryptoki call fn on session s, with
// the driver's slot.Personalizer (card.personalize) in the card's turn, with the
// library lock released (l.mu held on entry and on return). It answers the mark's
// clean error when the session or card went away meanwhile, else change's error as a
// code (logged).
func (l *Library) personalize(s *session, ts *tokenState, fn string, change func(p slot.Personalizer) error) ck.ULong {
	var err error
	if rv := l.onCard(s, ts, nil, func(c card) { err = c.personalize(change) }); rv != ck.CKR_OK {
		return rv
	}
	if err != nil {
		Logf("%s session %d: %v", fn, s.handle, err)
	}
	return rvOf(err)
}

// canPersonalize answers CKR_FUNCTION_NOT_SUPPORTED for a token without a Personalizer
// (a type check, no card I/O).
func canPersonalize(c card) ck.ULong {
	if _, ok := c.tok.(slot.Personalizer); !ok {
		return ck.CKR_FUNCTION_NOT_SUPPORTED
	}
	return ck.CKR_OK
}

// InitToken is C_InitToken (spec 5.6.3). soPIN nil means the reader's PIN pad.
func (l *Library) InitToken(id slot.ID, soPIN []byte, label string) ck.ULong {
	l.mu.Lock()
	defer l.mu.Unlock()
	m, rv := l.checkSlot(id)
	if rv != ck.CKR_OK {
		return rv
	}
	l.reconcile(id)
	for _, s := range l.sessions {
		if s.slot == id {
			return ck.CKR_SESSION_EXISTS
		}
	}
	// The turn's answer (a card gone, the library finalized) comes first; the driver's
	// (CKR_FUNCTION_NOT_SUPPORTED among them) once the card was reached.
	var err error
	rv, ran := l.onSlotCard(m, id, func(c card) {
		err = c.personalize(func(p slot.Personalizer) error { return p.InitToken(soPIN, label) })
	})
	if !ran || rv != ck.CKR_OK {
		return rv
	}
	if err != nil {
		Logf("C_InitToken slot %d: %v", id, err)
		return rvOf(err)
	}
	// The card's content is new: forget the old handles.
	if ts := l.tokens[id]; ts != nil {
		l.dropToken(ts)
	}
	return ck.CKR_OK
}

// InitPIN is C_InitPIN (spec 5.6.4): only in the "R/W SO Functions" state.
func (l *Library) InitPIN(h ck.ULong, pin []byte) ck.ULong {
	return l.withSession(h, func(s *session, ts *tokenState) ck.ULong {
		if ts.login != ck.CKU_SO || !s.rw {
			return ck.CKR_USER_NOT_LOGGED_IN
		}
		return l.personalize(s, ts, "C_InitPIN", func(p slot.Personalizer) error { return p.InitPIN(pin) })
	})
}

// SetPIN is C_SetPIN (spec 5.6.5): the PIN of the user logged in, or the normal user's
// when nobody is; only in a R/W session. oldPIN and newPIN both nil: PIN pad.
func (l *Library) SetPIN(h ck.ULong, oldPIN, newPIN []byte) ck.ULong {
	return l.withSession(h, func(s *session, ts *tokenState) ck.ULong {
		if !s.rw {
			return ck.CKR_SESSION_READ_ONLY
		}
		if rv := canPersonalize(ts.card); rv != ck.CKR_OK {
			return rv
		}
		if (oldPIN == nil) != (newPIN == nil) {
			return ck.CKR_ARGUMENTS_BAD
		}
		userType := ck.CKU_USER
		if ts.login == ck.CKU_SO {
			userType = ck.CKU_SO
		}
		if rv := l.personalize(s, ts, "C_SetPIN", func(p slot.Personalizer) error { return p.SetPIN(userType, oldPIN, newPIN) }); rv != ck.CKR_OK {
			return rv
		}
		if userType == ck.CKU_USER && ts.pin != nil {
			// The cached PIN follows the change; the old one is now wrong.
			ts.forgetPIN()
			ts.pin = newCachedPIN(l.pinPolicy, newPIN)
		}
		return ck.CKR_OK
	})
}

// GenerateKeyPair is C_GenerateKeyPair (spec 5.14): keys are generated on the card, as
// token objects, from a R/W session.
func (l *Library) GenerateKeyPair(h ck.ULong, mech Mechanism, pubTmpl, privTmpl []Attr) (ck.ULong, ck.ULong, ck.ULong) {
	var pub, priv ck.ULong
	rv := l.withSession(h, func(s *session, ts *tokenState) ck.ULong {
		if rv := canPersonalize(ts.card); rv != ck.CKR_OK {
			return rv
		}
		if !hasMechanism(mechanisms(ts.card), mech.Type, ck.CKF_GENERATE_KEY_PAIR) {
			return ck.CKR_MECHANISM_INVALID
		}
		if !s.rw {
			return ck.CKR_SESSION_READ_ONLY
		}
		var pubKey, privKey string
		rv := l.personalize(s, ts, "C_GenerateKeyPair", func(p slot.Personalizer) (err error) {
			pubKey, privKey, err = p.GenerateKeyPair(mech.Type, rawAttrs(pubTmpl), rawAttrs(privTmpl))
			return err
		})
		if rv == ck.CKR_OK {
			pub, priv = l.handleFor(ts, pubKey), l.handleFor(ts, privKey)
		}
		return rv
	})
	return pub, priv, rv
}

// isTokenTemplate reads CKA_TOKEN of a template (default false, spec 4.4).
func isTokenTemplate(tmpl []Attr) (bool, ck.ULong) {
	v, ok, err := rawAttrs(tmpl).Bool(ck.CKA_TOKEN)
	if err != nil {
		return false, ck.CKR_ATTRIBUTE_VALUE_INVALID
	}
	return ok && v, ck.CKR_OK
}

// CreateObject is C_CreateObject (spec 5.7.1): token objects go to the card (R/W
// session), session objects stay in the module.
func (l *Library) CreateObject(h ck.ULong, tmpl []Attr) (ck.ULong, ck.ULong) {
	return withSessionValue(l, h, func(s *session, ts *tokenState) (ck.ULong, ck.ULong) {
		onToken, rv := isTokenTemplate(tmpl)
		if rv != ck.CKR_OK {
			return 0, rv
		}
		if !onToken {
			attrs, rv := sessionTemplate(tmpl, ts.login == ck.CKU_USER)
			if rv != ck.CKR_OK {
				return 0, rv
			}
			nh := l.newHandle()
			l.sessObjs[nh] = &sessObject{owner: h, slot: ts.slot, gen: ts.gen, attrs: attrs}
			return nh, ck.CKR_OK
		}
		if !s.rw {
			return 0, ck.CKR_SESSION_READ_ONLY
		}
		var key string
		if rv := l.personalize(s, ts, "C_CreateObject", func(p slot.Personalizer) (err error) {
			key, err = p.CreateObject(rawAttrs(tmpl))
			return err
		}); rv != ck.CKR_OK {
			return 0, rv
		}
		return l.handleFor(ts, key), ck.CKR_OK
	})
}

// Attributes a session object keeps typed (so the module's own rules can read them);
// others are kept as the application's bytes.
var typedULongAttrs = map[ck.ULong]bool{ck.CKA_CLASS: true, ck.CKA_KEY_TYPE: true,
	ck.CKA_VALUE_LEN: true, ck.CKA_CERTIFICATE_TYPE: true, ck.CKA_CERTIFICATE_CATEGORY: true,
	ck.CKA_MODULUS_BITS: true}

// sessionTemplate builds a session object from C_CreateObject's template.
func sessionTemplate(tmpl []Attr, userLoggedIn bool) (slot.Attributes, ck.ULong) {
	raw := rawAttrs(tmpl)
	a := slot.Attributes{ck.CKA_TOKEN: false, ck.CKA_PRIVATE: false, ck.CKA_MODIFIABLE: true,
		ck.CKA_COPYABLE: true, ck.CKA_DESTROYABLE: true}
	for typ := range raw {
		switch {
		case boolAttrs[typ]:
			v, _, err := raw.Bool(typ)
			if err != nil {
				return nil, ck.CKR_ATTRIBUTE_VALUE_INVALID
			}
			a[typ] = v
		case typedULongAttrs[typ]:
			v, _, err := raw.ULong(typ)
			if err != nil {
				return nil, ck.CKR_ATTRIBUTE_VALUE_INVALID
			}
			a[typ] = v
		default:
			a[typ] = append([]byte(nil), raw[typ].([]byte)...)
		}
	}
	if _, ok := a[ck.CKA_CLASS].(ck.ULong); !ok {
		return nil, ck.CKR_TEMPLATE_INCOMPLETE
	}
	if a[ck.CKA_PRIVATE] == true && !userLoggedIn {
		return nil, ck.CKR_USER_NOT_LOGGED_IN
	}
	return a, ck.CKR_OK
}

// destroyTokenObject is C_DestroyObject of a token object (l.mu held, released for
// the card).
func (l *Library) destroyTokenObject(s *session, ts *tokenState, obj ck.ULong) ck.ULong {
	if _, rv := l.object(ts, obj); rv != ck.CKR_OK {
		return rv
	}
	if !s.rw {
		return ck.CKR_SESSION_READ_ONLY
	}
	key := l.objects[obj].key
	if rv := l.personalize(s, ts, "C_DestroyObject", func(p slot.Personalizer) error { return p.DestroyObject(key) }); rv != ck.CKR_OK {
		return rv
	}
	delete(ts.handles, key)
	delete(l.objects, obj)
	return ck.CKR_OK
}

// SetAttributeValue is C_SetAttributeValue (spec 5.7.6): session objects that are
// CKA_MODIFIABLE change in the module; the card's objects cannot be changed.
func (l *Library) SetAttributeValue(h, obj ck.ULong, tmpl []Attr) ck.ULong {
	return l.withSession(h, func(s *session, ts *tokenState) ck.ULong {
		if _, rv := l.object(ts, obj); rv != ck.CKR_OK {
			return rv
		}
		so, isSession := l.sessObjs[obj]
		if !isSession {
			if !s.rw {
				return ck.CKR_SESSION_READ_ONLY
			}
			return ck.CKR_ATTRIBUTE_READ_ONLY
		}
		if m, ok := so.attrs[ck.CKA_MODIFIABLE].(bool); ok && !m {
			return ck.CKR_ACTION_PROHIBITED
		}
		upd, rv := sessionTemplate(append([]Attr{ulongAttrOf(ck.CKA_CLASS, so.attrs)}, tmpl...), ts.login == ck.CKU_USER)
		if rv != ck.CKR_OK {
			return rv
		}
		for _, t := range tmpl {
			switch t.Type {
			case ck.CKA_CLASS, ck.CKA_TOKEN, ck.CKA_KEY_TYPE, ck.CKA_MODIFIABLE:
				return ck.CKR_ATTRIBUTE_READ_ONLY
			case ck.CKA_PRIVATE, ck.CKA_SENSITIVE, ck.CKA_EXTRACTABLE:
				// Spec 4.9: these may only become more restrictive; keep it simple and refuse.
				return ck.CKR_ATTRIBUTE_READ_ONLY
			}
		}
		for _, t := range tmpl {
			so.attrs[t.Type] = upd[t.Type]
		}
		return ck.CKR_OK
	})
}

// ulongAttrOf re-encodes a typed CK_ULONG attribute as template bytes.
func ulongAttrOf(typ ck.ULong, a slot.Attributes) Attr {
	v, _ := a[typ].(ck.ULong)
	return Attr{Type: typ, Value: putULong(nil, v)}
}
