package module

import (
	"github.com/pcsc11/pcsc11/ck"
	"github.com/pcsc11/pcsc11/slot"
)

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
	pin, loggedIn := ts.pin, ts.login == ck.CKU_USER
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
