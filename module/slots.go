package module

import (
	"errors"
	"slices"
	"sort"

	"github.com/pcsc11/pcsc11/ck"
	"github.com/pcsc11/pcsc11/guard"
	"github.com/pcsc11/pcsc11/reader"
	"github.com/pcsc11/pcsc11/slot"
)

// SlotList is C_GetSlotList without the buffer convention (the door applies it).
// Without PC/SC (pcscd not running) the list is empty rather than an error, so an
// application that loads every module at startup keeps working.
func (l *Library) SlotList(tokenPresent bool) ([]slot.ID, ck.ULong) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.initialized {
		return nil, ck.CKR_CRYPTOKI_NOT_INITIALIZED
	}
	m, rv := l.manager()
	if rv != ck.CKR_OK {
		return nil, ck.CKR_OK
	}
	ids, rv := l.listSlots(m, tokenPresent)
	if rv != ck.CKR_OK {
		return nil, rv
	}
	if tokenPresent {
		// A slot whose card is new since its sessions were opened: drop them now so the
		// application sees the new token cleanly.
		for _, id := range ids {
			l.reconcile(id)
		}
	}
	return ids, ck.CKR_OK
}

// listSlots asks the slot manager for its slots and records them as known (l.mu held).
// The manager asks pcscd and may wait a moment for its monitor to report a reader just
// plugged in: not under the library lock.
func (l *Library) listSlots(m Manager, tokenPresent bool) ([]slot.ID, ck.ULong) {
	var ids []slot.ID
	var err error
	mk := l.markOf(nil, nil)
	l.released(func() { ids, err = m.Slots(tokenPresent) })
	if rv := mk.check(l); rv != ck.CKR_OK {
		return nil, rv
	}
	if err != nil {
		Logf("slot listing: %v", err)
		return nil, rvOf(err)
	}
	for _, id := range ids {
		l.known[id] = true
	}
	return ids, ck.CKR_OK
}

// checkSlot validates a slot ID (l.mu held): IDs come from C_GetSlotList; an unknown ID
// gets one fresh listing (listSlots: an application may have remembered it from
// earlier).
func (l *Library) checkSlot(id slot.ID) (Manager, ck.ULong) {
	if !l.initialized {
		return nil, ck.CKR_CRYPTOKI_NOT_INITIALIZED
	}
	m, rv := l.manager()
	if rv != ck.CKR_OK {
		return nil, ck.CKR_SLOT_ID_INVALID
	}
	if !l.known[id] {
		if _, rv := l.listSlots(m, false); rv != ck.CKR_OK {
			return nil, rv
		}
		if !l.known[id] {
			return nil, ck.CKR_SLOT_ID_INVALID
		}
	}
	return m, ck.CKR_OK
}

// withSlot is the preamble of every call on a slot: it takes the library lock, checks
// slot ID id (checkSlot) and runs do with the slot manager, the lock held. It answers
// checkSlot's code (and T's zero value) when id is not a usable slot, else do's.
func withSlot[T any](l *Library, id slot.ID, do func(m Manager) (T, ck.ULong)) (T, ck.ULong) {
	l.mu.Lock()
	defer l.mu.Unlock()
	m, rv := l.checkSlot(id)
	if rv != ck.CKR_OK {
		var zero T
		return zero, rv
	}
	return do(m)
}

// GetSlotInfo is C_GetSlotInfo.
func (l *Library) GetSlotInfo(id slot.ID) (SlotInfo, ck.ULong) {
	return withSlot(l, id, func(m Manager) (SlotInfo, ck.ULong) {
		si, err := m.SlotInfo(id)
		if err != nil {
			return SlotInfo{}, rvOf(err)
		}
		return si, ck.CKR_OK
	})
}

// tokenOffLock is token with the library lock released (l.mu held on entry and on
// return): the manager may have to connect to the card and run the driver.
func (l *Library) tokenOffLock(m Manager, id slot.ID) (slot.Token, ck.ULong) {
	var tok slot.Token
	var rv ck.ULong
	mk := l.markOf(nil, nil)
	l.released(func() { tok, rv = l.token(m, id) })
	if crv := mk.check(l); crv != ck.CKR_OK {
		return nil, crv
	}
	return tok, rv
}

// token returns the token in slot id (l.mu NOT held: the manager may connect to the
// card), mapping "no card" to CKR_TOKEN_NOT_PRESENT as the slot functions must answer.
func (l *Library) token(m Manager, id slot.ID) (slot.Token, ck.ULong) {
	l.mu.mustNotHold("opening a token")
	tok, err := m.Token(id)
	if err != nil {
		Logf("slot %d: token: %v", id, err)
		rv := rvOf(err)
		if rv == ck.CKR_DEVICE_REMOVED || errors.Is(err, reader.ErrNoCard) {
			rv = ck.CKR_TOKEN_NOT_PRESENT
		}
		return nil, rv
	}
	if tok == nil {
		return nil, ck.CKR_TOKEN_NOT_PRESENT
	}
	return tok, ck.CKR_OK
}

// mechanismLister is the part of a token that lists its mechanisms (a card, or a
// slot.Token in tests).
type mechanismLister interface{ Mechanisms() []slot.Mechanism }

// TokenInfo is CK_TOKEN_INFO: the driver's part plus the session counts the module keeps.
type TokenInfo struct {
	slot.TokenInfo
	SessionCount, RWSessionCount ck.ULong
}

// GetTokenInfo is C_GetTokenInfo. The card is asked (its PIN counter changes with
// every wrong PIN) when it is free; while another thread has its turn (a signature
// waiting for a touch, a PIN typed on a PIN pad), the card's last answer for this
// card is given at once. Only a card never asked yet is waited for.
func (l *Library) GetTokenInfo(id slot.ID) (TokenInfo, ck.ULong) {
	return withSlot(l, id, func(m Manager) (TokenInfo, ck.ULong) {
		l.reconcile(id)
		g := l.gate(id)
		gen := m.Generation(id)
		var ti slot.TokenInfo
		free := g.turn.TryLock() // does not wait: allowed under l.mu
		if !free && g.infoGen == gen && gen != 0 {
			ti = g.info // busy: the last known answer
		} else {
			var err error
			read := func(c card) { ti, err = c.Info() }
			var rv ck.ULong
			var ran bool
			if free {
				rv, ran = l.onSlotCardLocked(m, id, g, read)
			} else {
				rv, ran = l.onSlotCard(m, id, read)
			}
			if !ran || rv != ck.CKR_OK {
				return TokenInfo{}, rv
			}
			if err != nil {
				return TokenInfo{}, rvOf(err)
			}
			g.info, g.infoGen = ti, gen
		}
		out := TokenInfo{TokenInfo: ti}
		// The dual-function calls (C_DigestEncryptUpdate...) are not implemented: never
		// advertise them, whatever the driver says.
		out.Flags &^= ck.CKF_DUAL_CRYPTO_OPERATIONS
		// C_GenerateRandom is the module's, from the host's generator (random.go): every
		// token offers it, so every token says so (docs/conformance.md, C_GenerateRandom).
		out.Flags |= ck.CKF_RNG
		for _, s := range l.sessions {
			if s.slot == id {
				out.SessionCount++
				if s.rw {
					out.RWSessionCount++
				}
			}
		}
		return out, ck.CKR_OK
	})
}

// mechanisms is the token's list plus what the module adds in software on top of the
// card's primitives: hashing variants of RSA and ECDSA, PSS. It asks the driver only
// what it knows (no card I/O), so it may run under the library lock.
func mechanisms(tok mechanismLister) []slot.Mechanism {
	base := tok.Mechanisms()
	have := map[ck.ULong]slot.Mechanism{}
	for _, m := range base {
		have[m.Type] = m
	}
	out := append([]slot.Mechanism(nil), base...)
	add := func(t ck.ULong, like slot.Mechanism, flags ck.ULong) {
		if _, ok := have[t]; ok {
			return
		}
		m := slot.Mechanism{Type: t, MinKeySize: like.MinKeySize, MaxKeySize: like.MaxKeySize, Flags: flags}
		have[t] = m
		out = append(out, m)
	}
	// Any RSA signing primitive lets the module build PKCS#1 v1.5 and PSS signatures.
	for _, src := range []ck.ULong{ck.CKM_RSA_X_509, ck.CKM_RSA_PKCS} {
		if rsa, ok := have[src]; ok && rsa.Flags&ck.CKF_SIGN != 0 {
			f := rsa.Flags & ck.CKF_HW
			for _, t := range slices.Concat(rsaPKCS1Mechs, pssMechs) {
				add(t, rsa, f|ck.CKF_SIGN)
			}
			break
		}
	}
	if ec, ok := have[ck.CKM_ECDSA]; ok && ec.Flags&ck.CKF_SIGN != 0 {
		for _, t := range ecdsaMechs[1:] { // CKM_ECDSA itself is the card's
			add(t, ec, ec.Flags&(ck.CKF_HW|ck.CKF_EC_F_P|ck.CKF_EC_NAMEDCURVE|ck.CKF_EC_UNCOMPRESS)|ck.CKF_SIGN)
		}
	}
	// RSA decryption on the card: the module removes PKCS#1 v1.5 and OAEP padding, and
	// encrypts with the public key in software.
	for _, src := range []ck.ULong{ck.CKM_RSA_X_509, ck.CKM_RSA_PKCS} {
		if rsa, ok := have[src]; ok && rsa.Flags&ck.CKF_DECRYPT != 0 {
			for _, t := range rsaCryptMechs {
				add(t, rsa, rsa.Flags&ck.CKF_HW)
				m := have[t]
				m.Flags |= ck.CKF_DECRYPT | ck.CKF_ENCRYPT
				have[t] = m
			}
			break
		}
	}
	for _, t := range digestMechs {
		add(t, slot.Mechanism{}, ck.CKF_DIGEST)
	}
	// Every signature mechanism verifies in software with the public key.
	out = out[:0]
	for _, m := range have {
		if m.Flags&ck.CKF_SIGN != 0 {
			m.Flags |= ck.CKF_VERIFY
		}
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Type < out[j].Type })
	return out
}

// slotMechanisms is the mechanism list of the token in slot id (mechanisms).
func (l *Library) slotMechanisms(id slot.ID) ([]slot.Mechanism, ck.ULong) {
	return withSlot(l, id, func(m Manager) ([]slot.Mechanism, ck.ULong) {
		tok, rv := l.tokenOffLock(m, id)
		if rv != ck.CKR_OK {
			return nil, rv
		}
		return mechanisms(tok), ck.CKR_OK
	})
}

// MechanismList is C_GetMechanismList without the buffer convention.
func (l *Library) MechanismList(id slot.ID) ([]ck.ULong, ck.ULong) {
	mechs, rv := l.slotMechanisms(id)
	var out []ck.ULong
	for _, mech := range mechs {
		out = append(out, mech.Type)
	}
	return out, rv
}

// MechanismInfo is C_GetMechanismInfo.
func (l *Library) MechanismInfo(id slot.ID, typ ck.ULong) (slot.Mechanism, ck.ULong) {
	mechs, rv := l.slotMechanisms(id)
	for _, mech := range mechs {
		if mech.Type == typ {
			return mech, ck.CKR_OK
		}
	}
	if rv == ck.CKR_OK {
		rv = ck.CKR_MECHANISM_INVALID
	}
	return slot.Mechanism{}, rv
}

// WaitForSlotEvent is C_WaitForSlotEvent (spec 5.5.6). It runs without the library
// lock. Each slot event flag is handed to exactly one caller; with several threads
// waiting at once (undefined by the spec) each event wakes one of them. C_Finalize
// from another thread makes every blocked call return CKR_CRYPTOKI_NOT_INITIALIZED at
// once (it closes l.stop before anything else), and never waits for them.
func (l *Library) WaitForSlotEvent(flags ck.ULong) (slot.ID, ck.ULong) {
	l.mu.Lock()
	if !l.initialized {
		l.mu.Unlock()
		return 0, ck.CKR_CRYPTOKI_NOT_INITIALIZED
	}
	m, rv := l.manager()
	mk, stop := l.markOf(nil, nil), l.stop
	l.mu.Unlock()
	block := flags&ck.CKF_DONT_BLOCK == 0
	if rv != ck.CKR_OK {
		if !block {
			return 0, ck.CKR_NO_EVENT
		}
		return 0, rv
	}
	var id slot.ID
	var err error
	if block {
		type result struct {
			id  slot.ID
			err error
		}
		// The wait runs in its own goroutine so that C_Finalize's stop is seen at once;
		// that goroutine ends when C_Finalize closes the manager.
		ch := make(chan result, 1)
		guard.Go(guard.WaitForEvent, func() {
			id, err := m.WaitForEvent(true)
			ch <- result{id, err}
		}, func(err error) {
			// A panic in the wait (the manager, the backend): the caller gets
			// CKR_GENERAL_ERROR rather than a dead host or a wait for ever.
			ch <- result{0, slot.NewError(ck.CKR_GENERAL_ERROR, "C_WaitForSlotEvent", err)}
		})
		select {
		case r := <-ch:
			id, err = r.id, r.err
		case <-stop:
			return 0, ck.CKR_CRYPTOKI_NOT_INITIALIZED
		}
	} else {
		id, err = m.WaitForEvent(false)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if rv := mk.check(l); rv != ck.CKR_OK {
		return 0, rv
	}
	if err != nil {
		return 0, rvOf(err)
	}
	l.known[id] = true
	return id, ck.CKR_OK
}
