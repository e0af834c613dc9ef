package module

import (
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pcsc11/pcsc11/ck"
	"github.com/pcsc11/pcsc11/secret"
	"github.com/pcsc11/pcsc11/slot"
)

// PIN cache policy (docs/pin-cache.md). Another program may reset the card or select
// another application between two of our calls; the card then forgets the user's
// verification. With a cached PIN the module verifies it again by itself, so the
// application's login survives; without, the login is reported lost (C_GetSessionInfo
// answers a public state) and the application logs in again.
//
// PCSC11_PIN_CACHE, read at C_Initialize:
//
//	session (default)  keep the PIN while the login lasts (until C_Logout, the last
//	                   session closed, C_Finalize or the card removed)
//	off                never keep it
//	<duration>         like session, but for at most that long after C_Login ("15m")
//
// PCSC11_PIN_CACHE_REPLAYS bounds how often one login's PIN is verified again:
//
//	10 (default)  OpenSC's bound (pin_cache_counter = 10 uses of a cached PIN per
//	              login); after the tenth replay the PIN is wiped and the next lost
//	              login is reported lost
//	<n>           another bound; 0 keeps no PIN at all (like PCSC11_PIN_CACHE=off)
//	unlimited     no bound, as libykpiv (under ykcs11) does: it verifies its stored
//	              PIN again after every reconnect for as long as the session lasts
type pinPolicy struct {
	keep    bool
	ttl     time.Duration // 0: for the whole login
	replays int           // replays allowed per login; unlimitedReplays for no bound
}

// defaultReplays is the default bound, justified in docs/pin-cache.md: a host that
// loses its login ten times in one login is being disturbed by something worth a
// fresh PIN entry, while an ordinary day (a few resets by gpg, a browser or ykman)
// stays well under it.
const (
	defaultReplays   = 10
	unlimitedReplays = -1
)

func pinPolicyFromEnv() pinPolicy {
	v := strings.TrimSpace(strings.ToLower(Getenv("PCSC11_PIN_CACHE")))
	p := pinPolicy{}
	switch v {
	case "", "session", "on":
		p = pinPolicy{keep: true}
	case "off", "0", "no", "none":
		return pinPolicy{}
	default:
		d, err := time.ParseDuration(v)
		if err != nil {
			// An unreadable setting must not silently keep a secret someone meant to forbid.
			Logf("PCSC11_PIN_CACHE=%q not understood; PIN cache off", v)
			return pinPolicy{}
		}
		if d <= 0 {
			return pinPolicy{}
		}
		p = pinPolicy{keep: true, ttl: d}
	}
	r := strings.TrimSpace(strings.ToLower(Getenv("PCSC11_PIN_CACHE_REPLAYS")))
	switch n, err := strconv.Atoi(r); {
	case r == "":
		p.replays = defaultReplays
	case r == "unlimited":
		p.replays = unlimitedReplays
	case err == nil && n > 0:
		p.replays = n
	case err == nil && n == 0:
		return pinPolicy{}
	default:
		Logf("PCSC11_PIN_CACHE_REPLAYS=%q not understood; PIN cache off", r)
		return pinPolicy{}
	}
	return p
}

// cachedPIN is a verified user PIN kept in memory outside the Go heap (the garbage
// collector never copies it), locked into RAM (never swapped), excluded from core
// dumps and from fork children where the system allows it (secret.Alloc), and wiped
// on logout, finalize, removal, expiry and when the card rejects it.
type cachedPIN struct {
	mu    sync.Mutex
	mem   []byte // a whole locked mapping; nil once wiped
	n     int
	left  int // replays left (pinPolicy.replays); unlimitedReplays: no bound
	timer *time.Timer
}

// newCachedPIN copies pin into locked memory; nil when the policy keeps nothing or
// no memory could be had.
func newCachedPIN(p pinPolicy, pin []byte) *cachedPIN {
	if !p.keep || len(pin) == 0 || len(pin) > 64 {
		return nil
	}
	mem, err := secret.Alloc(len(pin))
	if err != nil {
		Logf("PIN cache: no locked memory (%v); PIN not kept", err)
		return nil
	}
	c := &cachedPIN{mem: mem, n: copy(mem, pin), left: p.replays}
	if p.ttl > 0 {
		c.mu.Lock()
		c.timer = time.AfterFunc(p.ttl, c.wipe)
		c.mu.Unlock()
	}
	return c
}

// use runs fn with the PIN (one replay); false when it was wiped (or c is nil) or
// its replays are used up, in which case it is wiped now.
func (c *cachedPIN) use(fn func(pin []byte) error) (error, bool) {
	if c == nil {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.mem == nil {
		return nil, false
	}
	if c.left == 0 {
		Logf("PIN cache: replays used up (PCSC11_PIN_CACHE_REPLAYS); PIN forgotten")
		c.release()
		return nil, false
	}
	if c.left > 0 {
		c.left--
	}
	return fn(c.mem[:c.n]), true
}

// held reports a PIN still kept (not wiped, not expired).
func (c *cachedPIN) held() bool {
	if c == nil {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.mem != nil
}

// wipe zeroes and releases the PIN. Safe on nil and twice.
func (c *cachedPIN) wipe() {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.release()
}

// release is wipe with c.mu held.
func (c *cachedPIN) release() {
	if c.timer != nil {
		c.timer.Stop()
	}
	if c.mem != nil {
		clear(c.mem)
		secret.Free(c.mem)
		c.mem = nil
	}
}

// forgetPIN wipes the token's cached PIN (l.mu held).
func (ts *tokenState) forgetPIN() {
	ts.pin.wipe()
	ts.pin = nil
}

// refreshLogin makes ts.login tell the truth about a user login before it is relied
// upon (l.mu held): when the card no longer holds the verification (reset, another
// application selected by another program), the cached PIN is verified again if the
// policy kept one; otherwise, or when the card rejects it, the token is logged out.
// A PIN the card rejected is wiped at once and never sent again.
// It reports whether it verified the cached PIN again.
func (l *Library) refreshLogin(ts *tokenState, tok slot.Token) bool {
	if ts.login != ck.CKU_USER || l.contextLoginPending(ts) {
		return false
	}
	in, err := cardHoldsLogin(ts, tok)
	if err != nil || in {
		return false // a card error is reported by the operation that follows
	}
	err, had := ts.pin.use(func(pin []byte) error { return tok.Login(ck.CKU_USER, pin) })
	if had && err == nil {
		Logf("slot %d: card lost the login; cached PIN verified again", ts.slot)
		return true
	}
	if had {
		switch rvOf(err) {
		case ck.CKR_PIN_INCORRECT, ck.CKR_PIN_LOCKED, ck.CKR_PIN_LEN_RANGE, ck.CKR_PIN_EXPIRED, ck.CKR_PIN_INVALID:
			Logf("slot %d: card rejected the cached PIN; PIN forgotten", ts.slot)
		default:
			// The card could not be asked: keep everything as it is; the operation
			// that follows reports the device's state.
			Logf("slot %d: replaying the cached PIN: %v", ts.slot, err)
			return false
		}
	}
	Logf("slot %d: card lost the login; token logged out", ts.slot)
	ts.forgetPIN()
	ts.login = loginNone
	return false
}

// cardHoldsLogin asks the token whether the card still holds the user login. A token whose
// LoggedIn answers from its own record (a reset still ends it: slot.LoginProber) is
// asked the card only when no PIN is cached: with one, a login lost without a reset
// (another application selected) is healed by the operation that needs it (the card
// refuses it, privateKeyOp verifies the cached PIN again), and hosts that poll
// C_GetSessionInfo, NSS before TLS records and every second, cost the card nothing
// (issue 17). Without one, the session must turn public as soon as the login is gone
// (docs/pin-cache.md): one APDU per question.
func cardHoldsLogin(ts *tokenState, tok slot.Token) (bool, error) {
	if p, ok := tok.(slot.LoginProber); ok && !ts.pin.held() {
		return p.ProbeLogin()
	}
	return tok.LoggedIn()
}

// privateKeyOp runs a private-key primitive (l.mu held on entry and on return). When
// the card answers that the PIN is needed although the application is logged in (the
// card was reset or another application selected since), the login is refreshed
// (refreshLogin) and the operation tried once more if the cached PIN was verified
// again. An operation on a CKA_ALWAYS_AUTHENTICATE key is never retried: its
// context-specific login is the application's own act.
//
// A card transaction kept by a context-specific login (contextHold) needs nothing here:
// the driver runs the operation inside it and ends it.
//
// The card exchange runs with l.mu released (cardCall): a signature takes tens to
// hundreds of milliseconds on a real card, and holding the library lock through it
// would serialize every other card and every quick call (C_GetSessionInfo, C_Find…)
// of other threads behind it. The driver serializes calls per card.
func (l *Library) privateKeyOp(ts *tokenState, tok slot.Token, key string, op slot.KeyOp, in []byte, contextLogin bool) ([]byte, error) {
	out, err := l.cardCall(tok, key, op, in)
	if err == nil || contextLogin || rvOf(err) != ck.CKR_USER_NOT_LOGGED_IN {
		return out, err
	}
	// The world may have moved while l.mu was released: retry only if this is still
	// the token state of a current card and the user is still logged in.
	if !l.current(ts) || ts.login != ck.CKU_USER {
		return nil, err
	}
	if !l.refreshLogin(ts, tok) {
		return nil, err
	}
	return l.cardCall(tok, key, op, in)
}

// cardCall is tok.PrivateKeyOp with l.mu released for the exchange (l.mu held on entry
// and on return). The input is copied first, so that nothing the driver reads can be
// changed by another thread meanwhile (a misbehaving application using one session
// from two threads, or a C_CloseSession wiping the operation); the copy is wiped after.
// What the caller does after the call sees the library's state as it is then: sessions
// may have closed and cards gone, which callers already check through their own
// detached operation state.
func (l *Library) cardCall(tok slot.Token, key string, op slot.KeyOp, in []byte) (out []byte, err error) {
	buf := append([]byte(nil), in...)
	defer clear(buf)
	stop := l.touchPrompt(tok, key, op) // a YubiKey may wait for a touch here
	l.unlocked(func() {
		defer stop()
		out, err = tok.PrivateKeyOp(key, op, buf)
	})
	return out, err
}

// unlocked runs f with l.mu released (l.mu held on entry and on return, also when f
// panics: the export's guard recovers, and the caller's deferred Unlock must find the
// mutex locked, or the runtime aborts the host process).
func (l *Library) unlocked(f func()) {
	l.mu.Unlock()
	defer l.mu.Lock()
	f()
}

// current reports whether ts is still the state of the card in its slot (l.mu held):
// while l.mu was released the library may have been finalized or the card replaced.
func (l *Library) current(ts *tokenState) bool {
	return l.initialized && l.tokens[ts.slot] == ts
}

// contextLoginPending reports a CKU_CONTEXT_SPECIFIC login waiting for its operation on
// ts's card (l.mu held). The card's "PIN always" state must reach the key operation
// untouched, so the login is not probed in between: the operation itself will tell.
func (l *Library) contextLoginPending(ts *tokenState) bool {
	for _, s := range l.sessions {
		if s.slot != ts.slot {
			continue
		}
		if (s.sign != nil && s.sign.contextAuthed) || (s.decrypt != nil && s.decrypt.contextAuthed && !s.decrypt.done) ||
			(s.msgSign != nil && s.msgSign.contextAuthed) {
			return true
		}
	}
	return false
}
