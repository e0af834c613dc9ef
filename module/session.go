package module

import (
	"github.com/pcsc11/pcsc11/ck"
	"github.com/pcsc11/pcsc11/slot"
)

// loginNone marks a token nobody is logged in to (CKU_SO is 0, so 0 cannot be used).
const loginNone = ^ck.ULong(0)

// tokenState is what the application's sessions share about one card (spec 5.6: login
// is per token and per application): who is logged in and the object handles handed out.
// Its fields are guarded by the library lock; login changes that rest on a card answer
// are made by the owner of the card's turn (gate.go), so they never cross.
type tokenState struct {
	slot    slot.ID
	gen     uint64
	card    card                // the card of generation gen, taken when the first session opened
	login   ck.ULong            // loginNone, ck.CKU_USER or ck.CKU_SO
	handles map[string]ck.ULong // slot.Object.Key → CK_OBJECT_HANDLE, stable for the card's life
	pin     *cachedPIN          // the verified user PIN, when the policy keeps it (pincache.go)
}

// session is one CK_SESSION_HANDLE with its active operations.
type session struct {
	handle ck.ULong
	slot   slot.ID
	gen    uint64
	rw     bool
	find   *findState
	ops    [numOps]*activeOp // by kind (operation.go)
	msgs   [numOps]*messages // the message-based processes, at OpMessageSign and OpMessageVerify
}

func (l *Library) newHandle() ck.ULong {
	l.nextHandle++
	return l.nextHandle
}

// reconcile is the one place where sessions die with their card (spec 5.6: removing a
// token closes its sessions): when the card in slot id is not the one the token state
// was made for (the slot manager's generation moved on: removed, replaced, or reported
// lost by the card itself), its sessions, login, cached PIN and object handles are
// dropped (l.mu held). Every path that learns of a change comes here: session lookup,
// the slot list, C_GetTokenInfo, C_OpenSession, and a card call answering that the
// card is gone. It reports whether it dropped anything.
func (l *Library) reconcile(id slot.ID) bool {
	ts := l.tokens[id]
	if ts == nil || l.mgr == nil {
		return false
	}
	if g := l.mgr.Generation(id); g == ts.gen {
		return false
	}
	Logf("slot %d: card changed; closing its sessions", id)
	l.dropToken(ts)
	return true
}

// dropToken forgets everything about a card (l.mu held): its sessions, login, handles.
// Only reconcile, C_InitToken (the card's content is new) and C_Finalize call it.
func (l *Library) dropToken(ts *tokenState) {
	l.endSessions(func(s *session) bool { return s.slot == ts.slot })
	for _, h := range ts.handles {
		delete(l.objects, h)
	}
	l.dropSessionObjects(func(so *sessObject) bool { return so.slot == ts.slot })
	ts.forgetPIN()
	delete(l.tokens, ts.slot)
}

// endSessions ends and forgets the sessions for which which is true, with the session
// objects they made (l.mu held).
func (l *Library) endSessions(which func(*session) bool) {
	for h, s := range l.sessions {
		if which(s) {
			s.endOps()
			delete(l.sessions, h)
			l.dropSessionObjects(func(so *sessObject) bool { return so.owner == h })
		}
	}
}

// lookup finds session h and the state of its token (l.mu held). A session whose card
// was replaced answers CKR_DEVICE_REMOVED once, then no longer exists.
func (l *Library) lookup(h ck.ULong) (*session, *tokenState, ck.ULong) {
	if !l.initialized {
		return nil, nil, ck.CKR_CRYPTOKI_NOT_INITIALIZED
	}
	s, ok := l.sessions[h]
	if !ok {
		return nil, nil, ck.CKR_SESSION_HANDLE_INVALID
	}
	if l.reconcile(s.slot) {
		return nil, nil, ck.CKR_DEVICE_REMOVED
	}
	ts := l.tokens[s.slot]
	if ts == nil { // cannot happen: a session keeps its token state alive
		return nil, nil, ck.CKR_GENERAL_ERROR
	}
	return s, ts, ck.CKR_OK
}

// withSession is the preamble of every call on a session: it takes the library lock,
// finds session h and its token state (lookup) and runs do with them, the lock held
// (do releases it only through the card helpers: onCard, offLock, tryCard). It
// answers lookup's code when h is not a usable session, else do's.
func (l *Library) withSession(h ck.ULong, do func(s *session, ts *tokenState) ck.ULong) ck.ULong {
	_, rv := withSessionValue(l, h, func(s *session, ts *tokenState) (struct{}, ck.ULong) {
		return struct{}{}, do(s, ts)
	})
	return rv
}

// withSessionValue is withSession for a call that answers a value too (its zero
// value when h is not a usable session).
func withSessionValue[T any](l *Library, h ck.ULong, do func(s *session, ts *tokenState) (T, ck.ULong)) (T, ck.ULong) {
	l.mu.Lock()
	defer l.mu.Unlock()
	s, ts, rv := l.lookup(h)
	if rv != ck.CKR_OK {
		var zero T
		return zero, rv
	}
	return do(s, ts)
}

// OpenSession is C_OpenSession (spec 5.6.1). Notification callbacks are accepted and
// never called (the spec makes surrender callbacks optional).
func (l *Library) OpenSession(id slot.ID, flags ck.ULong) (ck.ULong, ck.ULong) {
	return withSlot(l, id, func(m Manager) (ck.ULong, ck.ULong) {
		if flags&ck.CKF_SERIAL_SESSION == 0 {
			return 0, ck.CKR_SESSION_PARALLEL_NOT_SUPPORTED
		}
		l.reconcile(id)
		ts := l.tokens[id]
		if ts == nil {
			// The first session with this card: the slot manager may have to connect to it
			// and run the driver, which talks to the card, so the library lock is released.
			gen := m.Generation(id) // before the token: a change in between is seen later
			tok, rv := l.tokenOffLock(m, id)
			if rv != ck.CKR_OK {
				return 0, rv
			}
			if ts = l.tokens[id]; ts == nil { // another thread may have made it meanwhile
				ts = &tokenState{slot: id, gen: gen, card: card{l, tok}, login: loginNone, handles: map[string]ck.ULong{}}
				l.tokens[id] = ts
			}
		}
		rw := flags&ck.CKF_RW_SESSION != 0
		if !rw && ts.login == ck.CKU_SO {
			return 0, ck.CKR_SESSION_READ_WRITE_SO_EXISTS
		}
		s := &session{handle: l.newHandle(), slot: id, gen: ts.gen, rw: rw}
		l.sessions[s.handle] = s
		Logf("C_OpenSession slot %d → session %d (rw=%v)", id, s.handle, rw)
		return s.handle, ck.CKR_OK
	})
}

// CloseSession is C_CloseSession. Closing the application's last session with a token
// logs the token out (spec 5.6.2). It never waits for a busy card: an operation of
// the session that is on the card ends with CKR_SESSION_CLOSED, and the card's logout
// is done when it is free (settle, endTurn).
func (l *Library) CloseSession(h ck.ULong) ck.ULong {
	var g *cardGate
	rv := l.withSession(h, func(s *session, ts *tokenState) ck.ULong {
		l.endSessions(func(o *session) bool { return o == s })
		g = l.afterClose(ts)
		return ck.CKR_OK
	})
	l.settle(g)
	return rv
}

// afterClose logs out a token that has no session left (l.mu held): the state at once,
// the card through wantLogout. It returns the gate to settle once l.mu is released.
func (l *Library) afterClose(ts *tokenState) *cardGate {
	for _, s := range l.sessions {
		if s.slot == ts.slot {
			return nil
		}
	}
	g := l.gate(ts.slot)
	if ts.login != loginNone {
		ts.login = loginNone
		l.wantLogout(ts)
	}
	ts.forgetPIN()
	return g
}

// CloseAllSessions is C_CloseAllSessions. Like C_CloseSession it returns at once
// while the card is busy.
func (l *Library) CloseAllSessions(id slot.ID) ck.ULong {
	g, rv := withSlot(l, id, func(Manager) (*cardGate, ck.ULong) {
		l.reconcile(id)
		ts := l.tokens[id]
		if ts == nil {
			return nil, ck.CKR_OK
		}
		l.endSessions(func(s *session) bool { return s.slot == id })
		return l.afterClose(ts), ck.CKR_OK
	})
	l.settle(g)
	return rv
}

// SessionInfo is CK_SESSION_INFO.
type SessionInfo struct {
	SlotID, State, Flags, DeviceError ck.ULong
}

// GetSessionInfo is C_GetSessionInfo: the state follows the token's login (spec 5.6 and
// the session state diagrams of the usage guide). A user login is checked with the
// card first (checkLogin), so a login lost to another program's reset is reported as
// it is: verified again from the PIN cache, or a public session. While another thread
// has the card (a signature waiting for a touch), the known login is answered at once.
func (l *Library) GetSessionInfo(h ck.ULong) (SessionInfo, ck.ULong) {
	return withSessionValue(l, h, func(s *session, ts *tokenState) (SessionInfo, ck.ULong) {
		if ts.login == ck.CKU_USER && !l.contextLoginPending(ts) {
			var res loginCheck
			pin := ts.pin // read under l.mu: the check runs with it released
			ran, rv := l.tryCard(s, ts, func(c card) { res = checkLogin(c, ts.slot, pin) })
			if ran && rv != ck.CKR_OK {
				return SessionInfo{}, rv
			}
			if ran {
				l.applyLoginCheck(ts, res)
			}
		}
		return SessionInfo{SlotID: s.slot, State: sessionState(s.rw, ts.login), Flags: s.flags()}, ck.CKR_OK
	})
}

func (s *session) flags() ck.ULong {
	f := ck.CKF_SERIAL_SESSION
	if s.rw {
		f |= ck.CKF_RW_SESSION
	}
	return f
}

func sessionState(rw bool, login ck.ULong) ck.ULong {
	switch {
	case login == ck.CKU_SO:
		return ck.CKS_RW_SO_FUNCTIONS
	case login == ck.CKU_USER && rw:
		return ck.CKS_RW_USER_FUNCTIONS
	case login == ck.CKU_USER:
		return ck.CKS_RO_USER_FUNCTIONS
	case rw:
		return ck.CKS_RW_PUBLIC_SESSION
	default:
		return ck.CKS_RO_PUBLIC_SESSION
	}
}
