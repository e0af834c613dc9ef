package module

import (
	"github.com/pcsc11/pcsc11/ck"
)

// Login is C_Login (spec 5.6.6). pin is nil for a NULL pPin (protected authentication
// path: the reader's PIN pad); the door rejects NULL with a nonzero length. The PIN is
// never logged and the caller wipes its copy after the call.
func (l *Library) Login(h, userType ck.ULong, pin []byte) ck.ULong {
	l.mu.Lock()
	defer l.mu.Unlock()
	s, ts, rv := l.lookup(h)
	if rv != ck.CKR_OK {
		return rv
	}
	if userType != ck.CKU_SO && userType != ck.CKU_USER && userType != ck.CKU_CONTEXT_SPECIFIC {
		return ck.CKR_USER_TYPE_INVALID
	}
	tok, rv := l.tokenOf(ts)
	if rv != ck.CKR_OK {
		return rv
	}
	if pin == nil {
		ti, err := tok.Info()
		if err != nil {
			return rvOf(err)
		}
		if ti.Flags&ck.CKF_PROTECTED_AUTHENTICATION_PATH == 0 {
			return ck.CKR_ARGUMENTS_BAD
		}
	}

	if userType == ck.CKU_CONTEXT_SPECIFIC {
		// Spec 4.9 / 5.6.6: only meaningful right after an operation's Init on a key with
		// CKA_ALWAYS_AUTHENTICATE.
		var authed *bool
		var held **contextHold
		var key string
		switch {
		case s.sign != nil && s.sign.alwaysAuth:
			authed, held, key = &s.sign.contextAuthed, &s.sign.ctxHold, s.sign.key
		case s.decrypt != nil && s.decrypt.alwaysAuth && !s.decrypt.done:
			authed, held, key = &s.decrypt.contextAuthed, &s.decrypt.ctxHold, s.decrypt.key
		case s.msgSign != nil && s.msgSign.tmpl.alwaysAuth:
			authed, held, key = &s.msgSign.contextAuthed, &s.msgSign.ctxHold, s.msgSign.tmpl.key
		default:
			return ck.CKR_OPERATION_NOT_INITIALIZED
		}
		(*held).wipe() // a second context login replaces the first
		*held = nil
		var hold *contextHold
		var err error
		l.whileEntering(pin, func() { hold, err = contextLogin(tok, key, pin) })
		if err != nil {
			Logf("C_Login(context specific) session %d: %v", h, err)
			return rvOf(err)
		}
		if !l.sessionCurrent(s, ts) || !sameOperation(s, authed) {
			// The session, card or operation went away during the PIN-pad entry.
			hold.wipe()
			return ck.CKR_OPERATION_NOT_INITIALIZED
		}
		*authed, *held = true, hold
		return ck.CKR_OK
	}

	switch ts.login {
	case userType:
		// The card may have lost the verification (another program reset it): then a new
		// login is what the application needs, not an error.
		if userType == ck.CKU_USER {
			if in, err := tok.LoggedIn(); err == nil && !in {
				break
			}
		}
		return ck.CKR_USER_ALREADY_LOGGED_IN
	case loginNone:
	default:
		return ck.CKR_USER_ANOTHER_ALREADY_LOGGED_IN
	}
	if userType == ck.CKU_SO {
		for _, o := range l.sessions {
			if o.slot == s.slot && !o.rw {
				return ck.CKR_SESSION_READ_ONLY_EXISTS
			}
		}
	}
	var err error
	l.whileEntering(pin, func() { err = tok.Login(userType, pin) })
	if !l.sessionCurrent(s, ts) {
		// The session or the card went away during the PIN-pad entry; closing the
		// token's last session logged the card out after the entry (the driver
		// serializes the two).
		return ck.CKR_SESSION_HANDLE_INVALID
	}
	if err != nil {
		Logf("C_Login(%d) session %d: %v", userType, h, err)
		if ts.login == userType { // a new login after the card lost the old one
			ts.login = loginNone
			ts.forgetPIN()
		}
		return rvOf(err)
	}
	ts.login = userType
	ts.forgetPIN()
	if userType == ck.CKU_USER {
		// Only a PIN the card has just accepted is kept (docs/pin-cache.md).
		ts.pin = newCachedPIN(l.pinPolicy, pin)
	}
	Logf("C_Login(%d) session %d ok", userType, h)
	return ck.CKR_OK
}

// Logout is C_Logout (spec 5.6.7).
func (l *Library) Logout(h ck.ULong) ck.ULong {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, ts, rv := l.lookup(h)
	if rv != ck.CKR_OK {
		return rv
	}
	if ts.login == loginNone {
		return ck.CKR_USER_NOT_LOGGED_IN
	}
	ts.login = loginNone
	ts.forgetPIN()
	// Operations that need the login cannot go on.
	for _, o := range l.sessions {
		if o.slot == ts.slot {
			if o.sign != nil {
				o.sign.wipe()
			}
			if o.decrypt != nil {
				o.decrypt.wipe()
			}
			o.sign, o.decrypt = nil, nil
		}
	}
	tok, rv := l.tokenOf(ts)
	if rv != ck.CKR_OK {
		return rv
	}
	if err := tok.Logout(); err != nil {
		Logf("C_Logout session %d: %v", h, err)
		return rvOf(err)
	}
	return ck.CKR_OK
}

// whileEntering runs login, the card's part of C_Login (l.mu held on entry and on
// return). A PIN typed on the reader's PIN pad (pin == nil) takes as long as the user
// takes, up to the reader's timeout: l.mu is released meanwhile, so that other threads
// and other cards are not stopped for that long (the driver serializes calls on this
// card), and the caller must check sessionCurrent before it applies the login. A PIN
// given by the application is verified in milliseconds, with l.mu held.
func (l *Library) whileEntering(pin []byte, login func()) {
	if pin != nil {
		login()
		return
	}
	l.unlocked(login)
}

// sessionCurrent reports whether session s is still open on the card of token state ts
// (l.mu held): always so unless l.mu was released in between.
func (l *Library) sessionCurrent(s *session, ts *tokenState) bool {
	return l.current(ts) && l.sessions[s.handle] == s
}

// sameOperation reports whether authed still points into the operation of s that
// needs the context-specific login: the operation may have ended, been cancelled or
// replaced while l.mu was released for a PIN-pad entry.
func sameOperation(s *session, authed *bool) bool {
	switch {
	case s.sign != nil && authed == &s.sign.contextAuthed:
	case s.decrypt != nil && authed == &s.decrypt.contextAuthed:
	case s.msgSign != nil && authed == &s.msgSign.contextAuthed:
	default:
		return false
	}
	return true
}
