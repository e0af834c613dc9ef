package module

import (
	"github.com/pcsc11/pcsc11/ck"
	"github.com/pcsc11/pcsc11/slot"
)

// loginNone marks a token nobody is logged in to (CKU_SO is 0, so 0 cannot be used).
const loginNone = ^ck.ULong(0)

// tokenState is what the application's sessions share about one card (spec 5.6: login
// is per token and per application): who is logged in and the object handles handed out.
type tokenState struct {
	slot    slot.ID
	gen     uint64
	login   ck.ULong            // loginNone, ck.CKU_USER or ck.CKU_SO
	handles map[string]ck.ULong // slot.Object.Key → CK_OBJECT_HANDLE, stable for the card's life
	pin     *cachedPIN          // the verified user PIN, when the policy keeps it (pincache.go)
}

// session is one CK_SESSION_HANDLE with its active operations.
type session struct {
	handle  ck.ULong
	slot    slot.ID
	gen     uint64
	rw      bool
	find    *findState
	sign    *signOp
	verify  *verifyOp
	decrypt *decryptOp
	encrypt *encryptOp
	digest  *digestOp

	msgSign   *msgSignCtx
	msgVerify *msgVerifyCtx
}

func (l *Library) newHandle() ck.ULong {
	l.nextHandle++
	return l.nextHandle
}

// checkGeneration drops the sessions, login and object handles of slot id when the card
// there is not the one they were made for (l.mu held). It reports whether it did.
func (l *Library) checkGeneration(id slot.ID) bool {
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
func (l *Library) dropToken(ts *tokenState) {
	for h, s := range l.sessions {
		if s.slot == ts.slot {
			s.endOps()
			delete(l.sessions, h)
		}
	}
	for _, h := range ts.handles {
		delete(l.objects, h)
	}
	l.dropSessionObjects(func(so *sessObject) bool { return so.slot == ts.slot })
	ts.forgetPIN()
	delete(l.tokens, ts.slot)
}

func (s *session) endOps() {
	s.find = nil
	if s.sign != nil {
		s.sign.wipe()
	}
	s.sign = nil
	s.verify = nil
	if s.decrypt != nil {
		s.decrypt.wipe()
	}
	s.decrypt = nil
	s.encrypt = nil
	s.digest = nil
	if s.msgSign != nil {
		s.msgSign.wipe()
	}
	s.msgSign, s.msgVerify = nil, nil
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
	if l.checkGeneration(s.slot) {
		return nil, nil, ck.CKR_DEVICE_REMOVED
	}
	ts := l.tokens[s.slot]
	if ts == nil { // cannot happen: a session keeps its token state alive
		return nil, nil, ck.CKR_GENERAL_ERROR
	}
	return s, ts, ck.CKR_OK
}

// tokenOf returns the card behind a session (l.mu held). A card that is gone closes the
// slot's sessions (spec 5.6: removing a token closes its sessions).
func (l *Library) tokenOf(ts *tokenState) (slot.Token, ck.ULong) {
	tok, rv := l.token(l.mgr, ts.slot)
	if rv == ck.CKR_TOKEN_NOT_PRESENT || rv == ck.CKR_DEVICE_REMOVED {
		l.dropToken(ts)
		return nil, ck.CKR_DEVICE_REMOVED
	}
	return tok, rv
}

// OpenSession is C_OpenSession (spec 5.6.1). Notification callbacks are accepted and
// never called (the spec makes surrender callbacks optional).
func (l *Library) OpenSession(id slot.ID, flags ck.ULong) (ck.ULong, ck.ULong) {
	l.mu.Lock()
	defer l.mu.Unlock()
	m, rv := l.checkSlot(id)
	if rv != ck.CKR_OK {
		return 0, rv
	}
	if flags&ck.CKF_SERIAL_SESSION == 0 {
		return 0, ck.CKR_SESSION_PARALLEL_NOT_SUPPORTED
	}
	l.checkGeneration(id)
	if _, rv := l.token(m, id); rv != ck.CKR_OK {
		return 0, rv
	}
	ts := l.tokens[id]
	if ts == nil {
		ts = &tokenState{slot: id, gen: m.Generation(id), login: loginNone, handles: map[string]ck.ULong{}}
		l.tokens[id] = ts
	}
	rw := flags&ck.CKF_RW_SESSION != 0
	if !rw && ts.login == ck.CKU_SO {
		return 0, ck.CKR_SESSION_READ_WRITE_SO_EXISTS
	}
	s := &session{handle: l.newHandle(), slot: id, gen: ts.gen, rw: rw}
	l.sessions[s.handle] = s
	Logf("C_OpenSession slot %d → session %d (rw=%v)", id, s.handle, rw)
	return s.handle, ck.CKR_OK
}

// CloseSession is C_CloseSession. Closing the application's last session with a token
// logs the token out (spec 5.6.2).
func (l *Library) CloseSession(h ck.ULong) ck.ULong {
	l.mu.Lock()
	defer l.mu.Unlock()
	s, ts, rv := l.lookup(h)
	if rv != ck.CKR_OK {
		return rv
	}
	s.endOps()
	delete(l.sessions, h)
	l.dropSessionObjects(func(so *sessObject) bool { return so.owner == h })
	l.afterClose(ts)
	return ck.CKR_OK
}

// afterClose logs out a token that has no session left (l.mu held).
func (l *Library) afterClose(ts *tokenState) {
	for _, s := range l.sessions {
		if s.slot == ts.slot {
			return
		}
	}
	if ts.login != loginNone {
		if tok, err := l.mgr.Token(ts.slot); err == nil {
			if err := tok.Logout(); err != nil {
				Logf("slot %d: logout after last session: %v", ts.slot, err)
			}
		}
		ts.login = loginNone
	}
	ts.forgetPIN()
}

// CloseAllSessions is C_CloseAllSessions.
func (l *Library) CloseAllSessions(id slot.ID) ck.ULong {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, rv := l.checkSlot(id); rv != ck.CKR_OK {
		return rv
	}
	l.checkGeneration(id)
	ts := l.tokens[id]
	if ts == nil {
		return ck.CKR_OK
	}
	for h, s := range l.sessions {
		if s.slot == id {
			s.endOps()
			delete(l.sessions, h)
		}
	}
	l.dropSessionObjects(func(so *sessObject) bool { return so.slot == id })
	l.afterClose(ts)
	return ck.CKR_OK
}

// SessionInfo is CK_SESSION_INFO.
type SessionInfo struct {
	SlotID, State, Flags, DeviceError ck.ULong
}

// GetSessionInfo is C_GetSessionInfo: the state follows the token's login (spec 5.6 and
// the session state diagrams of the usage guide). A user login is checked with the
// card first (refreshLogin), so a login lost to another program's reset is reported as
// it is: verified again from the PIN cache, or a public session.
func (l *Library) GetSessionInfo(h ck.ULong) (SessionInfo, ck.ULong) {
	l.mu.Lock()
	defer l.mu.Unlock()
	s, ts, rv := l.lookup(h)
	if rv != ck.CKR_OK {
		return SessionInfo{}, rv
	}
	if ts.login == ck.CKU_USER {
		tok, rv := l.tokenOf(ts)
		if rv != ck.CKR_OK {
			return SessionInfo{}, rv
		}
		l.refreshLogin(ts, tok)
	}
	return SessionInfo{SlotID: s.slot, State: sessionState(s.rw, ts.login), Flags: s.flags()}, ck.CKR_OK
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
