package module

import (
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pcsc11/pcsc11/ck"
	"github.com/pcsc11/pcsc11/guard"
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
	mu   sync.Mutex
	mem  []byte // a whole locked mapping; nil once wiped
	n    int
	left int // replays left (pinPolicy.replays); unlimitedReplays: no bound
	// expires is when the policy's time bound ends (zero: none). The timer wipes the
	// PIN then; use and held also compare with it, so a PIN is never used past its
	// time even when the timer's goroutine has not run yet (a loaded host).
	expires time.Time
	timer   *time.Timer
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
		c.expires = time.Now().Add(p.ttl)
		// Guarded: a panic in the timer's goroutine would end the host. Should the
		// wipe itself be what failed, it is tried again from the panic handler, so
		// the PIN does not outlive its time.
		c.timer = time.AfterFunc(p.ttl, guard.Func(guard.PINCacheTimer, c.wipe, func(error) { c.wipe() }))
		c.mu.Unlock()
	}
	return c
}

// expired reports, with c.mu held, that the time bound has passed; it wipes the PIN.
func (c *cachedPIN) expired() bool {
	if c.expires.IsZero() || time.Now().Before(c.expires) {
		return false
	}
	c.release()
	return true
}

// use runs fn with the PIN (one replay); false when it was wiped (or c is nil) or
// its replays are used up, in which case it is wiped now.
func (c *cachedPIN) use(fn func(pin []byte) error) (error, bool) {
	if c == nil {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.mem == nil || c.expired() {
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
	return c.mem != nil && !c.expired()
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

// A user login may be lost on the card behind the module's back (another program reset
// the card or selected another application). Finding out takes the card, so it is done
// in three steps: loginProbe (l.mu held) takes what the check needs, checkLogin talks to
// the card (in the card's turn, l.mu released), applyLoginCheck records the outcome
// (l.mu held). When the card no longer holds the verification, the cached PIN is
// verified again if the policy kept one; otherwise, or when the card rejects it, the
// token is logged out. A PIN the card rejected is wiped at once and never sent again.

// loginProbe is what checkLogin needs from the token state (l.mu held): the cached PIN
// (which has its own lock and may be wiped meanwhile: use then says so).
func (l *Library) loginProbe(ts *tokenState) *cachedPIN { return ts.pin }

// loginCheck is checkLogin's outcome.
type loginCheck struct {
	checked    bool       // the card was asked
	reverified bool       // the cached PIN was verified again
	lost       bool       // the login is gone: log the token out
	pin        *cachedPIN // the PIN the check used (lost applies only if it is still the one)
}

// checkLogin asks the card whether it still holds the user's verification and, if not,
// verifies the cached PIN again (card I/O: l.mu not held, the card's turn held).
func checkLogin(c card, id slot.ID, pin *cachedPIN) loginCheck {
	res := loginCheck{checked: true, pin: pin}
	in, err := c.holdsLogin(pin)
	if err != nil || in {
		return res // a card error is reported by the operation that follows
	}
	err, had := pin.use(func(p []byte) error { return c.Login(ck.CKU_USER, p) })
	if had && err == nil {
		Logf("slot %d: card lost the login; cached PIN verified again", id)
		res.reverified = true
		return res
	}
	if had {
		switch rvOf(err) {
		case ck.CKR_PIN_INCORRECT, ck.CKR_PIN_LOCKED, ck.CKR_PIN_LEN_RANGE, ck.CKR_PIN_EXPIRED, ck.CKR_PIN_INVALID:
			Logf("slot %d: card rejected the cached PIN; PIN forgotten", id)
		default:
			// The card could not be asked: keep everything as it is; the operation
			// that follows reports the device's state.
			Logf("slot %d: replaying the cached PIN: %v", id, err)
			return res
		}
	}
	Logf("slot %d: card lost the login; token logged out", id)
	res.lost = true
	return res
}

// applyLoginCheck records a lost login (l.mu held; ts is current, the caller checked
// its mark). A login made again since the check (another PIN) is kept.
func (l *Library) applyLoginCheck(ts *tokenState, res loginCheck) {
	if !res.lost || ts.login != ck.CKU_USER || ts.pin != res.pin {
		return
	}
	ts.forgetPIN()
	ts.login = loginNone
}

// privateKeyOp runs a private-key primitive for session s (l.mu held on entry and on
// return). The card exchange runs in the card's turn with the library lock released
// (onCard): a signature takes tens of milliseconds, a touch seconds, and nobody else
// waits for it but callers that need this card. The operation is detached from the
// session before (its callers took it off the session), and registered as running on
// the card under flags (C_SessionCancel finds it there). The input is copied first, so
// that nothing the driver reads can be changed by another thread meanwhile; the copy
// is wiped after.
//
// When the card answers that the PIN is needed although the application is logged in
// (the card was reset or another application selected since), the login is checked
// (checkLogin) and the operation tried once more, in the same turn, if the cached PIN
// was verified again. An operation on a CKA_ALWAYS_AUTHENTICATE key is never retried:
// its context-specific login is the application's own act. A card transaction kept by
// a context-specific login (contextHold) needs nothing here: the driver runs the
// operation inside it and ends it.
//
// When the session was closed, the card removed or the library finalized meanwhile,
// the result is wiped and the mark's clean error returned instead.
func (l *Library) privateKeyOp(s *session, ts *tokenState, flags ck.ULong, key string, op slot.KeyOp, in []byte, contextLogin bool) ([]byte, error) {
	buf := append([]byte(nil), in...)
	defer clear(buf)
	pin, loggedIn := l.loginProbe(ts), ts.login == ck.CKU_USER
	var out []byte
	var err error
	var res loginCheck
	stop := l.touchPrompt(ts.card.tok, key, op) // a YubiKey may wait for a touch here
	rv := l.onCard(s, ts, &detachedOp{session: s.handle, flags: flags}, func(c card) {
		defer stop()
		out, err = c.PrivateKeyOp(key, op, buf)
		if err == nil || contextLogin || !loggedIn || rvOf(err) != ck.CKR_USER_NOT_LOGGED_IN {
			return
		}
		if res = checkLogin(c, ts.slot, pin); res.reverified {
			out, err = c.PrivateKeyOp(key, op, buf)
		}
	})
	if rv != ck.CKR_OK {
		clear(out)
		return nil, slot.NewError(rv, "the operation's session ended while the card worked", nil)
	}
	l.applyLoginCheck(ts, res)
	return out, err
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
