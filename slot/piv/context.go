package piv

import (
	"errors"
	"time"

	"github.com/pcsc11/pcsc11/ck"
	"github.com/pcsc11/pcsc11/guard"
	"github.com/pcsc11/pcsc11/reader"
	"github.com/pcsc11/pcsc11/slot"
)

// contextHoldMax bounds how long a context-specific login keeps the card to itself
// when its operation never comes. The operation normally follows within
// milliseconds (the application has the PIN before it calls C_Login); a host that
// stops half-way must not lock every other program out of the card.
var contextHoldMax = 10 * time.Second

// LoginForOperation is C_Login(CKU_CONTEXT_SPECIFIC) for a key with PIN policy
// "always" (CKA_ALWAYS_AUTHENTICATE, spec 4.9 and 5.6.6).
//
// SP 800-73-4 part 2 (3.2.1) wants the PIN verified immediately before each use of
// such a key. The VERIFY is sent now, so that a wrong PIN is answered by C_Login as
// the spec requires (CKR_PIN_INCORRECT, one try spent, never retried), and the PC/SC
// transaction it ran in is kept open until the key operation: no other program's
// command can come between the VERIFY and the GENERAL AUTHENTICATE, either to spend
// the verification or to use it. The next PrivateKeyOp ends the transaction; so does
// release (the operation ended without one), and, at the latest, contextHoldMax.
// This costs no APDU beyond the protocol's floor (VERIFY + GENERAL AUTHENTICATE), and
// no copy of the PIN outlives this call.
//
// key names the private key of the operation (an Object.Key): its slot is read first
// if it was not yet, in its own transaction, because reading it between the VERIFY and
// the operation would spend the verification on the card. An empty or unknown key
// reads every slot not read yet instead.
//
// A nil pin is entered on the reader's PIN pad; without a PIN pad it is
// CKR_ARGUMENTS_BAD. Errors found on the host send nothing.
func (t *Token) LoginForOperation(key string, pin []byte) (release func(), err error) {
	t.mu.Lock()
	defer t.unlock()
	t.endHold() // a second context login replaces the first
	var block, padStruct []byte
	if pin == nil {
		if t.pad == nil {
			return nil, noPINGiven()
		}
		if padStruct, err = t.pad.verifyStructure(t.userRef); err != nil {
			return nil, slot.NewError(ck.CKR_DEVICE_ERROR, "piv: PIN pad", err)
		}
	} else {
		if block, err = t.pinBlock(pin); err != nil {
			return nil, err
		}
		defer clear(block)
	}
	// The operation's slot first (above: only if not read yet).
	if kind, ks, ok := objectRef(key); ok && kind == "priv" {
		if _, err := t.ensureSlot(ks); err != nil {
			return nil, err
		}
	} else if err := t.ensureKeys(); err != nil {
		return nil, err
	}
	err = t.run(true, func() error {
		if block != nil {
			return t.verifyPIN(block)
		}
		return t.verifyOnPad(padStruct)
	})
	if err != nil {
		return nil, err
	}
	gen := t.holdGen
	return func() { t.releaseHold(gen) }, nil
}

// holding reports a transaction kept open by LoginForOperation (t.mu held): one is
// open exactly while its time limit runs.
func (t *Token) holding() bool { return t.holdTimer != nil }

// startHold keeps the transaction just begun open (t.mu held).
func (t *Token) startHold() {
	t.holdGen++
	gen := t.holdGen
	release := func() { t.releaseHold(gen) }
	// Guarded: a panic here would end the host; the handler tries the release again
	// so the card is not kept from other applications.
	t.holdTimer = time.AfterFunc(contextHoldMax, guard.Func(guard.ContextTimer, release, func(error) { release() }))
}

// releaseHold ends the hold of generation gen if it is still the open one: a release
// or time limit that comes after its operation, or after a newer login, does nothing.
// It never waits for the card: the module may call it under its library lock when an
// operation ends, and a busy card's call ends the hold when it returns (unlock).
func (t *Token) releaseHold(gen uint64) {
	t.releaseGen.Store(gen)
	if t.mu.TryLock() {
		t.unlock()
	}
}

// endHold ends a transaction kept open by LoginForOperation, if any (t.mu held). An
// error from the reader changes nothing: a reset or removed card ended it already.
func (t *Token) endHold() {
	if !t.holding() {
		return
	}
	t.holdTimer.Stop()
	t.holdTimer = nil
	_ = t.card.EndTransaction()
}

// lostTransaction reports errors after which a kept transaction no longer exists.
func lostTransaction(err error) bool {
	return errors.Is(err, reader.ErrCardReset) || errors.Is(err, reader.ErrCardRemoved) ||
		errors.Is(err, reader.ErrNoCard) || errors.Is(err, reader.ErrReaderGone)
}
