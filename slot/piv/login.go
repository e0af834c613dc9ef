package piv

import (
	"github.com/pcsc11/pcsc11/apdu"
	"github.com/pcsc11/pcsc11/ck"
	"github.com/pcsc11/pcsc11/slot"
)

// Login verifies the PIN (CKU_USER, CKU_CONTEXT_SPECIFIC) or authenticates with the
// management key given as hex (CKU_SO). A rejected credential is never retried.
func (t *Token) Login(userType ck.ULong, pin []byte) error {
	t.mu.Lock()
	defer t.unlock()
	switch userType {
	case ck.CKU_USER, ck.CKU_CONTEXT_SPECIFIC:
		return t.loginUser(pin)
	case ck.CKU_SO:
		// A PUK is 6 to 8 characters, a management key 32, 48 or 64 hex digits.
		if pin != nil && len(pin) <= maxPINLen {
			return t.loginPUK(pin)
		}
		return t.loginSO(pin)
	}
	return slot.NewError(ck.CKR_USER_TYPE_INVALID, "piv: unknown user type", nil)
}

// loginUser: a nil PIN is entered on the reader's PIN pad (spec 5.6.6, protected
// authentication path); without a PIN pad it is CKR_ARGUMENTS_BAD.
func (t *Token) loginUser(pin []byte) error {
	if pin == nil {
		if t.pad != nil {
			return t.loginOnPad()
		}
		return noPINGiven()
	}
	buf, err := t.pinBlock(pin)
	if err != nil {
		return err
	}
	defer clear(buf)
	return t.transact(func() error { return t.verifyPIN(buf) })
}

// noPINGiven is the answer to a NULL PIN on a reader without a PIN pad.
func noPINGiven() error {
	return slot.NewError(ck.CKR_ARGUMENTS_BAD, "piv: no PIN given and the reader has no PIN pad", nil)
}

// pinBlock checks a PIN typed on the host and returns it as the VERIFY data (the
// shared pinBlock of creds.go); nothing is sent. The caller clears the block after use.
func (t *Token) pinBlock(pin []byte) ([]byte, error) {
	if t.padOnly() {
		return nil, hostPINRefused()
	}
	// Checked on the host so that a PIN the card would reject for its length burns no
	// retry; SP 800-73-4 part 2, 2.4.3: padded to 8 bytes with FF.
	return pinBlock(pin)
}

// verifyPIN sends VERIFY with a PIN block; the caller holds the transaction.
func (t *Token) verifyPIN(block []byte) error {
	_, err := t.exchange(apdu.Command{INS: insVerify, P2: t.userRef, Data: block})
	if err == nil {
		t.loggedIn = true
		t.afterLogin()
		return nil
	}
	t.loggedIn = false
	return verifyError(err)
}

// verifyError maps a VERIFY failure: 63Cx wrong PIN (63C0 and 6983 blocked).
func verifyError(err error) error {
	if n, ok := apdu.RetriesLeft(err); ok {
		if n == 0 {
			return slot.NewError(ck.CKR_PIN_LOCKED, "piv: PIN blocked", nil)
		}
		return slot.NewError(ck.CKR_PIN_INCORRECT, "piv: wrong PIN", nil)
	}
	if apdu.IsAuthBlocked(err) {
		return slot.NewError(ck.CKR_PIN_LOCKED, "piv: PIN blocked", nil)
	}
	return err
}

// Logout resets the PIN's security status with VERIFY P1=FF (SP 800-73-4 part 2,
// 3.2.1); cards that refuse it are logged out by selecting PIV again. A management-key
// authentication (SO, or made for the user with the PIN-protected key) is dropped
// first by starting a new one (a witness request resets the card's authentication
// state): re-selecting the application does not clear it on every card (our virtual
// card keeps it), and a card left authenticated would take anyone's writes.
func (t *Token) Logout() error {
	t.mu.Lock()
	defer t.unlock()
	return t.logoutLocked()
}

// logoutLocked is Logout with t.mu held.
func (t *Token) logoutLocked() error {
	so := t.soLoggedIn || t.userAdmin
	t.lostSecurity()
	t.forgetPUK()
	return t.transact(func() error {
		if so {
			if err := t.dropMgmAuth(); err != nil && isTransport(err) {
				return err
			}
		}
		_, err := t.exchangeOnce(apdu.Command{INS: insVerify, P1: 0xFF, P2: t.userRef})
		if isTransport(err) || (err == nil && !so) {
			return err
		}
		// Selecting again also clears the security state on cards that do it on
		// re-selection (belt and braces after a management-key authentication).
		return t.selectApp()
	})
}

// dropMgmAuth asks for a management-key witness and leaves the exchange unfinished.
func (t *Token) dropMgmAuth() error {
	alg, err := t.mgmAlg()
	if err != nil {
		return err
	}
	_, err = t.exchangeOnce(apdu.Command{INS: insGeneralAuth, P1: alg, P2: refMgmKey,
		Data: apdu.EncodeTLV(0x7C, []byte{0x80, 0x00}), Ne: 256})
	return err
}

// LoggedIn reports whether the card still holds our user login, without an APDU: a
// reset of the card by another program is what PC/SC reports when this call's
// transaction begins (transact then marks every login lost and selects PIV again), and
// nothing else it could see without asking the card. Asking (an empty VERIFY) on every
// call cost hosts that poll C_GetSessionInfo — NSS before every TLS record and every
// second while idle — one APDU each time (docs/performance.md, S9, S10). A login lost
// without a reset (another program selected another application on the card) is found
// by the next operation that needs it: the card refuses it with 6982 and the module
// reports the login lost (or verifies again from its PIN cache). A caller that has no
// PIN to verify again and must know at once asks ProbeLogin.
func (t *Token) LoggedIn() (bool, error) {
	t.mu.Lock()
	defer t.unlock()
	if !t.loggedIn {
		return false, nil
	}
	if err := t.transact(func() error { return nil }); err != nil {
		return false, err
	}
	return t.loggedIn, nil
}

// ProbeLogin is slot.LoginProber: it asks the card whether the PIN is still verified
// (an empty VERIFY), which also tells a login lost without a reset. The module asks it
// only when it has no PIN to verify again (docs/pin-cache.md): one APDU per
// C_GetSessionInfo is then the price of reporting such a loss at once. Cards whose
// empty VERIFY cannot be trusted (emptyVerifyReliable) get LoggedIn's answer.
func (t *Token) ProbeLogin() (bool, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.loggedIn {
		return false, nil
	}
	err := t.transact(func() error {
		if !t.loggedIn || !t.emptyVerifyReliable() { // lost to a reset seen by transact
			return nil
		}
		err := t.verifyEmpty()
		if err != nil && !isTransport(err) {
			if _, ok := apdu.SW(err); ok {
				t.loggedIn = false
				return nil
			}
		}
		return err
	})
	if err != nil {
		return false, err
	}
	return t.loggedIn, nil
}

var _ slot.LoginProber = (*Token)(nil)

// emptyVerifyReliable: an empty VERIFY tells the PIN status without side effects.
// YubiKey NEO and YubiKey 4 before 4.3.7 always answer 63Cx (yubico-piv-tool issue 77,
// OpenSC PR 1243), and YubiKey 5.3.1 clears the verified PIN when asked (teleport PR
// 36427): on those we trust our own record, kept honest by reset detection.
func (t *Token) emptyVerifyReliable() bool {
	if !t.yubikey {
		return true
	}
	v := t.version
	older := func(a, b, c byte) bool {
		return v[0] < a || (v[0] == a && (v[1] < b || (v[1] == b && v[2] < c)))
	}
	if older(4, 3, 7) {
		return false
	}
	return !(v[0] == 5 && v[1] == 3 && v[2] <= 1)
}
