package module

import (
	"sync"
	"time"

	"github.com/pcsc11/pcsc11/ck"
	"github.com/pcsc11/pcsc11/slot"
)

// The card's side of the module's concurrency rules (lock order: locks.go).

// card is the module's only way to a token's I/O methods. Each of them may wait for
// the card (the driver serializes a card's exchanges, and a touch or a PIN pad takes
// seconds), so each one first checks that its caller does not hold the library lock.
// Mechanisms, which only reads what the driver knows, may be asked under it.
type card struct {
	l   *Library
	tok slot.Token
}

func (c card) Mechanisms() []slot.Mechanism { return c.tok.Mechanisms() }

func (c card) Info() (slot.TokenInfo, error) {
	c.l.mu.mustNotHold("C_GetTokenInfo's card exchange")
	return c.tok.Info()
}

func (c card) Login(userType ck.ULong, pin []byte) error {
	c.l.mu.mustNotHold("a login")
	return c.tok.Login(userType, pin)
}

func (c card) Logout() error {
	c.l.mu.mustNotHold("a logout")
	return c.tok.Logout()
}

// holdsLogin asks whether the card still holds the user login. A token whose LoggedIn
// answers from its own record (a reset still ends it: slot.LoginProber) is asked the
// card only when no PIN is cached: with one, a login lost without a reset (another
// application selected) is healed by the operation that needs it (the card refuses it,
// privateKeyOp verifies the cached PIN again), and hosts that poll C_GetSessionInfo,
// NSS before TLS records and every second, cost the card nothing (S10). Without
// one, the session must turn public as soon as the login is gone (docs/pin-cache.md):
// one APDU per question.
func (c card) holdsLogin(pin *cachedPIN) (bool, error) {
	c.l.mu.mustNotHold("a login probe")
	if p, ok := c.tok.(slot.LoginProber); ok && !pin.held() {
		return p.ProbeLogin()
	}
	return c.tok.LoggedIn()
}

func (c card) LoggedIn() (bool, error) {
	c.l.mu.mustNotHold("a login probe")
	return c.tok.LoggedIn()
}

func (c card) PrivateKeyOp(key string, op slot.KeyOp, in []byte) ([]byte, error) {
	c.l.mu.mustNotHold("a private-key operation")
	return c.tok.PrivateKeyOp(key, op, in)
}

// object finds the token object named key: through the driver's ObjectFinder, which
// reads only what the key names (and nothing once it was read), else in the whole list.
func (c card) object(key string) (slot.Object, bool, error) {
	c.l.mu.mustNotHold("an object read")
	if f, ok := c.tok.(slot.ObjectFinder); ok {
		return f.Object(key)
	}
	objs, err := c.tok.Objects()
	if err != nil {
		return slot.Object{}, false, err
	}
	for _, o := range objs {
		if o.Key == key {
			return o, true, nil
		}
	}
	return slot.Object{}, false, nil
}

// search returns the token objects a search for tmpl must look at: when the template
// names a CKA_ID and the driver has an ObjectFinder, the objects with that ID (on a
// PIV card: one key slot read, not the whole card); when it names a class and the
// driver has a ClassFinder, the objects of that class (classSearch); else every
// object. Any further CKA_ID in the template only narrows the result, which matches
// checks.
func (c card) search(tmpl []Attr) ([]slot.Object, error) {
	c.l.mu.mustNotHold("an object search")
	if objs, ok, err := classSearch(c.tok, tmpl); ok {
		return objs, err
	}
	if f, ok := c.tok.(slot.ObjectFinder); ok {
		for _, a := range tmpl {
			if a.Type == ck.CKA_ID {
				return f.ObjectsWithID(a.Value)
			}
		}
	}
	return c.tok.Objects()
}

// personalize runs change with the driver's slot.Personalizer, whose every method
// talks to the card; a token without one answers CKR_FUNCTION_NOT_SUPPORTED.
func (c card) personalize(change func(p slot.Personalizer) error) error {
	c.l.mu.mustNotHold("a personalization")
	p, ok := c.tok.(slot.Personalizer)
	if !ok {
		return slot.NewError(ck.CKR_FUNCTION_NOT_SUPPORTED, "the token's driver cannot change the card", nil)
	}
	return change(p)
}

// contextLogin verifies pin for the operation about to run with key.
func (c card) contextLogin(key string, pin []byte) (*contextHold, error) {
	c.l.mu.mustNotHold("a context-specific login")
	return contextLogin(c.tok, key, pin)
}

// cardGate is the module's door to the card in one slot (one per slot ID, for the
// library's life from C_Initialize to C_Finalize).
type cardGate struct {
	id slot.ID
	// turn is the module's turn on the card (lock order: locks.go, first).
	turn sync.Mutex

	// Guarded by Library.mu:
	info    slot.TokenInfo // the card's last answer to C_GetTokenInfo
	infoGen uint64         // the slot generation info belongs to; 0 when none
	// logoutWanted: the last session closed (or C_Finalize came) while the card was
	// busy; whoever ends the current turn logs the card out, unless someone logged in
	// again meanwhile.
	logoutWanted bool
	logoutCard   card
	// running are the operations detached from their sessions that are now on the
	// card (C_SessionCancel finds them here).
	running map[*detachedOp]struct{}
}

// detachedOp is an operation taken off its session for its card exchange: the session
// no longer holds it (a second C_Sign on the session is refused, a C_CloseSession
// does not wipe what the card is reading), and nothing of it is shared with another
// thread but this record. It ends with its card call.
type detachedOp struct {
	session ck.ULong
	flags   ck.ULong // the CKF_ flag of its function (CKF_SIGN, CKF_DECRYPT, ...)
	since   time.Time
}

// gate returns the gate of slot id (l.mu held).
func (l *Library) gate(id slot.ID) *cardGate {
	g := l.gates[id]
	if g == nil {
		g = &cardGate{id: id, running: map[*detachedOp]struct{}{}}
		l.gates[id] = g
	}
	return g
}

// detached lists the operations of session h now on the card (l.mu held).
func (l *Library) detached(h ck.ULong) []*detachedOp {
	var out []*detachedOp
	for _, g := range l.gates {
		for op := range g.running {
			if op.session == h {
				out = append(out, op)
			}
		}
	}
	return out
}

// mark is what a conversation with the card started from. What may change while it
// runs with the library lock released is exactly what check looks at.
type mark struct {
	epoch uint64
	ts    *tokenState // nil: no token state involved
	s     *session    // nil: no session involved
}

func (l *Library) markOf(s *session, ts *tokenState) mark {
	return mark{epoch: l.epoch, ts: ts, s: s}
}

// check answers CKR_OK when everything the conversation started from is still there
// (l.mu held), else the clean error the caller returns instead of applying its result.
func (m mark) check(l *Library) ck.ULong {
	switch {
	case !l.initialized || l.epoch != m.epoch:
		return ck.CKR_CRYPTOKI_NOT_INITIALIZED
	case m.ts != nil && l.tokens[m.ts.slot] != m.ts:
		return ck.CKR_DEVICE_REMOVED
	case m.s != nil && l.sessions[m.s.handle] != m.s:
		return ck.CKR_SESSION_CLOSED // spec 5.1: closed during the execution of the function
	}
	return ck.CKR_OK
}

// onCard runs talk, a conversation with the card of ts, in the card's turn and with
// the library lock released (l.mu held on entry and on return, also when talk panics:
// the export's deferred Unlock must find it locked). It answers the mark's check
// afterwards: CKR_OK, or the clean error for what happened meanwhile. op, when not
// nil, is registered as running on the card for the duration.
func (l *Library) onCard(s *session, ts *tokenState, op *detachedOp, talk func(c card)) ck.ULong {
	return l.converse(s, ts, op, true, talk)
}

// offLock runs read, which may read the card but changes nothing the module keeps,
// with the library lock released and without taking the card's turn: objects the
// driver has already read come back at once even while the card is busy.
func (l *Library) offLock(s *session, ts *tokenState, read func(c card)) ck.ULong {
	return l.converse(s, ts, nil, false, read)
}

func (l *Library) converse(s *session, ts *tokenState, op *detachedOp, turn bool, f func(c card)) ck.ULong {
	mk := l.markOf(s, ts)
	g := l.gate(ts.slot)
	c := ts.card
	if op != nil {
		op.since = time.Now()
		g.running[op] = struct{}{}
		defer delete(g.running, op) // l.mu is held again when deferred calls run
	}
	l.released(func() {
		if turn {
			g.turn.Lock()
			defer l.endTurn(g)
		}
		f(c)
	})
	return mk.check(l)
}

// tryCard is onCard when the card is free; when another thread has its turn, it does
// nothing and reports false: the caller answers from what is known.
func (l *Library) tryCard(s *session, ts *tokenState, talk func(c card)) (bool, ck.ULong) {
	g := l.gate(ts.slot)
	if !g.turn.TryLock() { // does not wait: allowed under l.mu
		return false, ck.CKR_OK
	}
	mk := l.markOf(s, ts)
	c := ts.card
	l.released(func() {
		defer l.endTurn(g)
		talk(c)
	})
	return true, mk.check(l)
}

// onSlotCard runs talk on the card in slot id in the card's turn, with the library
// lock released (l.mu held on entry and on return); the card is found, and opened if
// needed, in the turn. ran is false, and rv the reason, when talk did not run or the
// library was finalized meanwhile.
func (l *Library) onSlotCard(m Manager, id slot.ID, talk func(c card)) (rv ck.ULong, ran bool) {
	g := l.gate(id)
	if !g.turn.TryLock() {
		l.released(g.turn.Lock)
	}
	return l.onSlotCardLocked(m, id, g, talk)
}

// onSlotCardLocked is onSlotCard once the caller has g's turn, which it gives up.
func (l *Library) onSlotCardLocked(m Manager, id slot.ID, g *cardGate, talk func(c card)) (rv ck.ULong, ran bool) {
	mk := l.markOf(nil, nil)
	l.released(func() {
		defer l.endTurn(g)
		tok, trv := l.token(m, id)
		if rv = trv; trv != ck.CKR_OK {
			return
		}
		ran = true
		talk(card{l, tok})
	})
	if crv := mk.check(l); crv != ck.CKR_OK {
		return crv, false
	}
	if !ran {
		l.reconcile(id)
	}
	return rv, ran
}

// wantLogout asks for the card of ts to be logged out without waiting for it (l.mu
// held): at once by the caller's settle when the card is free, else by the thread
// whose turn it is, when that turn ends.
func (l *Library) wantLogout(ts *tokenState) {
	g := l.gate(ts.slot)
	g.logoutWanted, g.logoutCard = true, ts.card
}

// settle runs the card work queued by wantLogout on every free card (l.mu NOT held);
// a busy card's work is done by its turn's owner.
func (l *Library) settle(gates ...*cardGate) {
	for _, g := range gates {
		if g == nil {
			continue
		}
		l.mu.Lock()
		want := g.logoutWanted
		l.mu.Unlock()
		if want && g.turn.TryLock() {
			l.endTurn(g)
		}
	}
}

// endTurn does the queued card work and gives the turn up (l.mu NOT held). Work queued
// after the check but before the Unlock is done here too: the queuing thread's TryLock
// failed, so it relies on this second look.
func (l *Library) endTurn(g *cardGate) {
	for {
		l.mu.Lock()
		want, c := g.logoutWanted, g.logoutCard
		g.logoutWanted, g.logoutCard = false, card{}
		// Someone logged in again since the logout was asked for: keep that login.
		if ts := l.tokens[g.id]; want && l.initialized && ts != nil && ts.login != loginNone {
			want = false
		}
		l.mu.Unlock()
		if !want {
			break
		}
		if c.tok != nil {
			if err := c.Logout(); err != nil {
				Logf("slot %d: logout: %v", g.id, err)
			}
		}
	}
	g.turn.Unlock()
	l.mu.Lock()
	again := g.logoutWanted
	l.mu.Unlock()
	if again && g.turn.TryLock() {
		l.endTurn(g)
	}
}
