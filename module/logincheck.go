package module

import (
	"github.com/pcsc11/pcsc11/ck"
	"github.com/pcsc11/pcsc11/slot"
)

// A user login may be lost on the card behind the module's back (another program reset
// the card or selected another application). Finding out takes the card, so it is done
// in three steps: the caller takes the token's cached PIN (l.mu held; the PIN has its
// own lock and may be wiped meanwhile: use then says so), checkLogin talks to the card
// (in the card's turn, l.mu released), applyLoginCheck records the outcome (l.mu held). When the card no longer holds the verification, the cached PIN is
// verified again if the policy kept one; otherwise, or when the card rejects it, the
// token is logged out. A PIN the card rejected is wiped at once and never sent again.

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

// contextLoginPending reports a CKU_CONTEXT_SPECIFIC login waiting for its operation on
// ts's card (l.mu held). The card's "PIN always" state must reach the key operation
// untouched, so the login is not probed in between: the operation itself will tell.
func (l *Library) contextLoginPending(ts *tokenState) bool {
	for _, s := range l.sessions {
		if s.slot != ts.slot {
			continue
		}
		for _, a := range s.contextAuths() {
			if a.authed {
				return true
			}
		}
	}
	return false
}
