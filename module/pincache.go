package module

import (
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pcsc11/pcsc11/guard"
	"github.com/pcsc11/pcsc11/secret"
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
