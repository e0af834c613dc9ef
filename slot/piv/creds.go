package piv

import (
	"bytes"

	"github.com/pcsc11/pcsc11/apdu"
	"github.com/pcsc11/pcsc11/ck"
	"github.com/pcsc11/pcsc11/secret"
	"github.com/pcsc11/pcsc11/slot"
)

// Instructions and references of the credential commands (SP 800-73-4 part 2, 3.2.2
// and 3.2.3; Yubico extensions for FF, FB).
const (
	insChangeRef  = 0x24
	insResetRetry = 0x2C
	insSetMgmKey  = 0xFF
	refPUK        = 0x81
)

// pinBlock checks a PIN or PUK and pads it to 8 bytes with FF (SP 800-73-4 part 2,
// 2.4.3). Checked before any APDU, so a value the card would refuse burns no retry.
func pinBlock(pin []byte) ([]byte, error) {
	if len(pin) < minPINLen || len(pin) > maxPINLen {
		return nil, slot.NewError(ck.CKR_PIN_LEN_RANGE, "piv: PIN and PUK must be 6 to 8 characters", nil)
	}
	if bytes.IndexByte(pin, 0xFF) >= 0 {
		return nil, slot.NewError(ck.CKR_PIN_INVALID, "piv: PIN and PUK cannot contain byte FF (the padding)", nil)
	}
	b := bytes.Repeat([]byte{0xFF}, maxPINLen)
	copy(b, pin)
	return b, nil
}

// isMgmKeyHex: a management key is given as 32, 48 or 64 hex digits (AES-128, 3DES or
// AES-192, AES-256).
func isMgmKeyHex(b []byte) bool { return len(b) == 32 || len(b) == 48 || len(b) == 64 }

// refError maps a failed VERIFY / CHANGE REFERENCE DATA / RESET RETRY COUNTER.
func refError(err error, what string) error {
	if n, ok := apdu.RetriesLeft(err); ok {
		if n == 0 {
			return slot.NewError(ck.CKR_PIN_LOCKED, "piv: "+what+" blocked", nil)
		}
		return slot.NewError(ck.CKR_PIN_INCORRECT, "piv: wrong "+what, nil)
	}
	if apdu.IsAuthBlocked(err) {
		return slot.NewError(ck.CKR_PIN_LOCKED, "piv: "+what+" blocked", nil)
	}
	if swIs(err, apdu.SWIncorrectData) {
		return slot.NewError(ck.CKR_PIN_INVALID, "piv: the card refused the "+what+" format", nil)
	}
	return err
}

// changeRef is CHANGE REFERENCE DATA 00 24 00 <ref> with old || new, 8 bytes each.
func (t *Token) changeRef(ref byte, oldBlk, newBlk []byte) error {
	data := append(append(make([]byte, 0, 16), oldBlk...), newBlk...)
	defer clear(data)
	_, err := t.exchange(apdu.Command{INS: insChangeRef, P2: ref, Data: data})
	return err
}

// loginPUK is the SO login by PUK (C_InitToken and C_InitPIN need the PUK): CHANGE
// REFERENCE DATA on the PUK with the same old and new value proves the PUK and changes
// nothing but the retry counter (a wrong PUK costs a try, as any PUK check does). PIV
// has no security status for the PUK, so the PUK is kept for the commands that need it,
// C_InitPIN and C_SetPIN: in locked memory outside the Go heap (package secret, as the
// PIN cache keeps the PIN), wiped on Logout, Close, C_InitToken, a new login, and when
// the card refuses it.
func (t *Token) loginPUK(puk []byte) error {
	blk, err := pinBlock(puk)
	if err != nil {
		return err
	}
	defer clear(blk)
	return t.transact(func() error {
		t.forgetPUK()
		if err := t.changeRef(refPUK, blk, blk); err != nil {
			return refError(err, "PUK")
		}
		t.soPUK = secret.Hold(puk)
		return nil
	})
}

// forgetPUK wipes the PUK of an SO login (t.mu held).
func (t *Token) forgetPUK() {
	t.soPUK.Wipe()
	t.soPUK = nil
}

// InitPIN is C_InitPIN (spec 5.6.4): RESET RETRY COUNTER with the PUK of the SO login
// sets the PIN and unblocks it. A management-key SO cannot do it (PIV has no command
// for it): CKR_USER_NOT_LOGGED_IN.
func (t *Token) InitPIN(pin []byte) error {
	t.mu.Lock()
	defer t.unlock()
	if pin == nil {
		return slot.NewError(ck.CKR_FUNCTION_NOT_SUPPORTED, "piv: PIN entry on a PIN pad is not available for C_InitPIN", nil)
	}
	newBlk, err := pinBlock(pin)
	if err != nil {
		return err
	}
	defer clear(newBlk)
	if t.soPUK == nil {
		return slot.NewError(ck.CKR_USER_NOT_LOGGED_IN, "piv: C_InitPIN needs an SO login with the PUK", nil)
	}
	pukBlk, err := pinBlock(t.soPUK.Bytes())
	if err != nil {
		return err
	}
	defer clear(pukBlk)
	return t.transact(func() error {
		data := append(append(make([]byte, 0, 16), pukBlk...), newBlk...)
		defer clear(data)
		_, err := t.exchange(apdu.Command{INS: insResetRetry, P2: refPIN, Data: data})
		t.loggedIn = false // the card drops a verified PIN with its new value
		switch {
		case err == nil:
			return nil
		case swIs(err, apdu.SWIncorrectData):
			return slot.NewError(ck.CKR_PIN_INVALID, "piv: the card refused the new PIN", nil)
		case apdu.IsAuthBlocked(err):
		default:
			if _, ok := apdu.RetriesLeft(err); !ok {
				return err
			}
		}
		// The PUK we hold was refused (changed or blocked by another program): never
		// send it again: a rejected credential is never replayed, each try costs a retry.
		t.forgetPUK()
		if rerr := refError(err, "PUK"); slot.RV(rerr) == ck.CKR_PIN_LOCKED {
			return rerr
		}
		return slot.NewError(ck.CKR_USER_NOT_LOGGED_IN, "piv: the PUK of this SO login is no longer valid", nil)
	})
}

// SetPIN is C_SetPIN (spec 5.6.5). CKU_USER changes the PIN (CHANGE REFERENCE DATA 80).
// CKU_SO changes the SO credential named by the old value's form: the PUK
// (CHANGE REFERENCE DATA 81) for 6 to 8 characters, the management key (SET MANAGEMENT
// KEY after proving the old one) for hex. Lengths are checked before any APDU.
func (t *Token) SetPIN(userType ck.ULong, oldPIN, newPIN []byte) error {
	t.mu.Lock()
	defer t.unlock()
	if oldPIN == nil && newPIN == nil {
		// Both NULL: the PIN pad collects them (spec 5.6.5, protected authentication
		// path). It changes the user PIN only.
		switch {
		case t.pad == nil:
			return slot.NewError(ck.CKR_ARGUMENTS_BAD, "piv: no PINs given and the reader has no PIN pad", nil)
		case userType != ck.CKU_USER:
			return slot.NewError(ck.CKR_ARGUMENTS_BAD, "piv: the PIN pad changes the user PIN only; give the SO values", nil)
		}
		return t.setPINOnPad()
	}
	if oldPIN == nil || newPIN == nil {
		return slot.NewError(ck.CKR_ARGUMENTS_BAD, "piv: old and new value are both needed", nil)
	}
	switch userType {
	case ck.CKU_USER:
		if t.padOnly() {
			return hostPINRefused()
		}
		return t.changePINOrPUK(t.userRef, "PIN", oldPIN, newPIN)
	case ck.CKU_SO:
		if isMgmKeyHex(oldPIN) {
			return t.changeMgmKey(oldPIN, newPIN)
		}
		if len(oldPIN) > maxPINLen {
			return slot.NewError(ck.CKR_PIN_LEN_RANGE, "piv: the SO value is a PUK (6-8 characters) or a management key (32/48/64 hex digits)", nil)
		}
		return t.changePINOrPUK(refPUK, "PUK", oldPIN, newPIN)
	}
	return slot.NewError(ck.CKR_USER_TYPE_INVALID, "piv: unknown user type", nil)
}

func (t *Token) changePINOrPUK(ref byte, what string, oldPIN, newPIN []byte) error {
	oldBlk, err := pinBlock(oldPIN)
	if err != nil {
		return err
	}
	defer clear(oldBlk)
	newBlk, err := pinBlock(newPIN)
	if err != nil {
		return err
	}
	defer clear(newBlk)
	return t.transact(func() error {
		if err := t.changeRef(ref, oldBlk, newBlk); err != nil {
			if ref == t.userRef {
				t.loggedIn = false // a wrong old PIN clears a verified PIN
			}
			return refError(err, what)
		}
		if ref == refPUK && t.soPUK != nil {
			t.forgetPUK()
			t.soPUK = secret.Hold(newPIN)
		}
		return nil
	})
}

// soFlags tells, from the PUK and management key metadata (YubiKey 5.3+; read once per
// token, see Token.soFlagsKnown):
// CKF_SO_PIN_TO_BE_CHANGED while the management key, or a usable PUK, still has its
// factory value (anyone could then administer the card or reset the PIN), and the PUK
// retry counter as CKF_SO_PIN_COUNT_LOW / FINAL_TRY / LOCKED.
func (t *Token) soFlags() (ck.ULong, error) {
	if t.soFlagsKnown {
		return t.soFlagsCache, nil
	}
	f, err := t.readSOFlags()
	if err != nil {
		return 0, err
	}
	t.soFlagsCache, t.soFlagsKnown = f, true
	return f, nil
}

// readSOFlags asks the card for what soFlags caches.
func (t *Token) readSOFlags() (ck.ULong, error) {
	var f ck.ULong
	for _, ref := range []byte{refPUK, refMgmKey} {
		m, err := t.getMetadata(ref)
		if err != nil {
			if t.metadataUnknown(ref, err) {
				continue
			}
			return 0, err
		}
		left := -1
		if ref == refPUK && m.hasRetries {
			left = m.retries[1]
			switch {
			case left == 0:
				f |= ck.CKF_SO_PIN_LOCKED
			case left == 1:
				f |= ck.CKF_SO_PIN_FINAL_TRY | ck.CKF_SO_PIN_COUNT_LOW
			case left < m.retries[0]:
				f |= ck.CKF_SO_PIN_COUNT_LOW
			}
		}
		if m.isDefault && left != 0 {
			f |= ck.CKF_SO_PIN_TO_BE_CHANGED
		}
	}
	return f, nil
}
