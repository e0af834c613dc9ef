package module

import (
	"github.com/pcsc11/pcsc11/ck"
)

// Login is C_Login (spec 5.6.6). pin is nil for a NULL pPin (protected authentication
// path: the reader's PIN pad); the door rejects NULL with a nonzero length. The PIN is
// never logged and the caller wipes its copy after the call.
//
// The whole login runs in the card's turn with the library lock released (onCard): a
// PIN typed on the reader's PIN pad takes as long as the user takes, and a PIN given
// by the application still waits for a card busy with another thread's operation.
// The token's login state is read in the turn (logins are only made in a turn, so it
// cannot change but to logged out meanwhile) and applied afterwards only if the
// session and the card are still there.
func (l *Library) Login(h, userType ck.ULong, pin []byte) ck.ULong {
	return l.withSession(h, func(s *session, ts *tokenState) ck.ULong {
		if userType != ck.CKU_SO && userType != ck.CKU_USER && userType != ck.CKU_CONTEXT_SPECIFIC {
			return ck.CKR_USER_TYPE_INVALID
		}
		if userType == ck.CKU_CONTEXT_SPECIFIC {
			return l.contextSpecificLogin(s, ts, pin)
		}
		var err error
		decided := ck.CKR_OK
		rv := l.onCard(s, ts, nil, func(c card) {
			if decided = checkPINPad(c, pin); decided != ck.CKR_OK {
				return
			}
			l.mu.Lock()
			login, roExists := ts.login, l.readOnlySessions(ts.slot)
			l.mu.Unlock()
			switch login {
			case userType:
				// The card may have lost the verification (another program reset it): then
				// a new login is what the application needs, not an error.
				if userType == ck.CKU_USER {
					if in, err := c.LoggedIn(); err == nil && !in {
						break
					}
				}
				decided = ck.CKR_USER_ALREADY_LOGGED_IN
				return
			case loginNone:
			default:
				decided = ck.CKR_USER_ANOTHER_ALREADY_LOGGED_IN
				return
			}
			if userType == ck.CKU_SO && roExists {
				decided = ck.CKR_SESSION_READ_ONLY_EXISTS
				return
			}
			err = c.Login(userType, pin)
		})
		if rv != ck.CKR_OK {
			// The session or the card went away during the login; closing the token's last
			// session asked for the card's logout, done after this turn.
			return rv
		}
		if decided != ck.CKR_OK {
			return decided
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
	})
}

// checkPINPad answers CKR_ARGUMENTS_BAD for a NULL PIN on a token without a protected
// authentication path (card I/O: in the card's turn), CKR_OK for a PIN given.
func checkPINPad(c card, pin []byte) ck.ULong {
	if pin != nil {
		return ck.CKR_OK
	}
	ti, err := c.Info()
	if err != nil {
		return rvOf(err)
	}
	if ti.Flags&ck.CKF_PROTECTED_AUTHENTICATION_PATH == 0 {
		return ck.CKR_ARGUMENTS_BAD
	}
	return ck.CKR_OK
}

// readOnlySessions reports a read-only session on slot id (l.mu held).
func (l *Library) readOnlySessions(id ck.ULong) bool {
	for _, o := range l.sessions {
		if o.slot == id && !o.rw {
			return true
		}
	}
	return false
}

// contextSpecificLogin is C_Login(CKU_CONTEXT_SPECIFIC) (spec 4.9 / 5.6.6): only
// meaningful right after an operation's Init on a key with CKA_ALWAYS_AUTHENTICATE
// (l.mu held on entry and on return, released for the card).
func (l *Library) contextSpecificLogin(s *session, ts *tokenState, pin []byte) ck.ULong {
	auths := s.contextAuths()
	if len(auths) == 0 {
		return ck.CKR_OPERATION_NOT_INITIALIZED
	}
	a := auths[0]
	a.wipe() // a second context login replaces the first
	var hold *contextHold
	var err error
	decided := ck.CKR_OK
	rv := l.onCard(s, ts, nil, func(c card) {
		if decided = checkPINPad(c, pin); decided != ck.CKR_OK {
			return
		}
		hold, err = c.contextLogin(a.key, pin)
	})
	if decided != ck.CKR_OK {
		return decided
	}
	if err != nil {
		Logf("C_Login(context specific) session %d: %v", s.handle, err)
		if rv != ck.CKR_OK {
			return rv
		}
		return rvOf(err)
	}
	if auths := s.contextAuths(); rv != ck.CKR_OK || len(auths) == 0 || auths[0] != a {
		// The session, card or operation went away during the login.
		hold.wipe()
		if rv != ck.CKR_OK {
			return rv
		}
		return ck.CKR_OPERATION_NOT_INITIALIZED
	}
	a.authed, a.hold = true, hold
	return ck.CKR_OK
}

// Logout is C_Logout (spec 5.6.7). The module's state changes at once; the card is
// logged out in its turn (after an operation it is busy with).
func (l *Library) Logout(h ck.ULong) ck.ULong {
	return l.withSession(h, func(_ *session, ts *tokenState) ck.ULong {
		if ts.login == loginNone {
			return ck.CKR_USER_NOT_LOGGED_IN
		}
		ts.login = loginNone
		ts.forgetPIN()
		// Operations that need the login cannot go on.
		for _, o := range l.sessions {
			if o.slot == ts.slot {
				o.endOp(OpSign)
				o.endOp(OpDecrypt)
			}
		}
		var err error
		rv := l.onCard(nil, ts, nil, func(c card) {
			l.mu.Lock()
			again := ts.login != loginNone // someone logged in again before this turn
			l.mu.Unlock()
			if !again {
				err = c.Logout()
			}
		})
		if rv != ck.CKR_OK {
			return rv
		}
		if err != nil {
			Logf("C_Logout session %d: %v", h, err)
			return rvOf(err)
		}
		return ck.CKR_OK
	})
}
