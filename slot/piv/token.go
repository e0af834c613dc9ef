package piv

import (
	"crypto"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pcsc11/pcsc11/apdu"
	"github.com/pcsc11/pcsc11/ck"
	"github.com/pcsc11/pcsc11/reader"
	"github.com/pcsc11/pcsc11/secret"
	"github.com/pcsc11/pcsc11/slot"
	"github.com/pcsc11/pcsc11/slot/piv/diskcache"
)

// Options tune a token.
type Options struct {
	// NoPINPad: do not look for a PIN pad; the reader is used as a plain reader
	// (also PCSC11_PINPAD=0).
	NoPINPad bool
	// PINPadOnly: on a PIN-pad reader, refuse a user PIN typed on the host with
	// CKR_ARGUMENTS_BAD (also PCSC11_PINPAD_ONLY=1).
	PINPadOnly bool
	// NoExtendedAPDU forces short APDUs with chaining and GET RESPONSE even on cards
	// known to support extended length (a reader that cannot carry them).
	NoExtendedAPDU bool
}

// Token is a PIV card behind one reader.Card. mu serializes the card's exchanges and
// guards the token's state: every exported method takes it and gives it back with
// unlock, which also does what was asked meanwhile without waiting (a Close, the end
// of a context login's hold). Objects already read are published under cache too.
type Token struct {
	mu sync.Mutex
	// Asked for while mu may be held by a long call (a touch, a slow RSA key); done by
	// the caller when mu is free, else by mu's holder in unlock.
	closing    atomic.Bool   // Close was called
	closed     atomic.Bool   // the card connection was released
	releaseGen atomic.Uint64 // a context hold of this generation should end
	card       reader.Card
	reader     string
	opts       Options
	pad        *pinPad // the reader's PIN pad; nil for a plain reader (pinpad.go)

	// Static facts, read once at Open.
	yubikey  bool
	version  [3]byte // YubiKey firmware major.minor.patch
	serial   uint32
	hasSer   bool
	extended bool // send extended APDUs (YubiKey 4+)
	// userRef is the PIN a user login verifies: the PIV PIN (80), or the Global PIN
	// (00) when the card's Discovery Object makes it primary (discovery.go).
	userRef byte

	// disk is the on-disk cache of certificate containers (certcache.go); nil for a
	// card without a YubiKey serial or with PCSC11_CACHE=0.
	disk *diskcache.Cache

	chuidSerial string // serial derived from the CHUID, computed on demand
	chuidRead   bool

	pinTries int // maximum PIN tries (metadata), or the highest counter seen

	// mgmAlgSeen is the management-key algorithm the last successful authentication
	// used (mgmkey.go), for cards without GET METADATA; 0 until one succeeded.
	mgmAlgSeen byte

	// The CKF_SO_PIN_* flags (GET METADATA of the PUK and the management key, creds.go
	// soFlags), read once per token and forgotten by every command that can change
	// them (changesSOFacts), so that C_GetTokenInfo costs one APDU after the first.
	soFlagsCache ck.ULong
	soFlagsKnown bool

	// The CKF_USER_PIN_* flags as read while our login stood (info.go
	// userPINFlags): a host that polls C_GetTokenInfo while logged in (NSS, every
	// second) gets them without an APDU. Forgotten by every command that can change
	// them (changesPINFacts) and unused once the login is gone.
	pinFlagsCache ck.ULong
	pinFlagsKnown bool

	// The retired key slots (82..95) that may hold a key, from the Key History
	// Object (keyhistory.go retiredInUse): the first retiredLimit of them. Read once
	// per token, forgotten with the objects and when we write the object.
	retiredLimit int
	retiredKnown bool

	loggedIn   bool // CKU_USER verified by us and not lost since
	soLoggedIn bool // management key authenticated
	needSelect bool // a reset was seen mid-transaction: select PIV before the next command

	// A transaction kept open from a context-specific login to its key operation
	// (context.go): holdTimer is its time limit, nil when none is open.
	holdGen   uint64
	holdTimer *time.Timer

	// Objects, read key slot by key slot (objects.go): keys[ref] once slot ref was read,
	// with its objects; objects is the whole list, nil until every slot was read.
	// Written with both t.mu and cache held; read with either.
	cache   sync.RWMutex
	keys    map[byte]*keyInfo
	objects []slot.Object
	// dataObjs are the PIV data objects found on the card (dataobjects.go), nil until
	// probed; dataValues their contents once read (t.mu).
	dataObjs   []slot.Object
	dataValues map[uint32][]byte
	dataUnsure bool // dataObjs holds PIN-protected objects probed without the PIN

	// Personalization state (personalize*.go).
	soPUK     *secret.Bytes // the PUK of an SO login by PUK (no card state exists for it), locked memory; wiped on Logout/Close
	userAdmin bool          // the card holds a management-key authentication made with the PIN-protected key
	cardLabel string        // label object written by C_InitToken ("" when none)
	labelRead bool          // cardLabel was read (once per token, refreshed by InitToken)
	// Remembered for this token's life because the card cannot tell them on every
	// firmware: public keys generated or imported here on cards without GET METADATA,
	// and certificates written here into slots GET METADATA reports empty.
	knownPub   map[byte]crypto.PublicKey
	knownCerts map[byte]bool
	// Containers found malformed and skipped (badobject.go), so each is logged once.
	badLogged map[uint32]bool
}

var _ slot.Token = (*Token)(nil)

// PIV application identifier (SP 800-73-4 part 1, 2.2) and its truncated form, which
// real cards also accept for SELECT.
var (
	pivAID          = []byte{0xA0, 0x00, 0x00, 0x03, 0x08, 0x00, 0x00, 0x10, 0x00, 0x01, 0x00}
	pivAIDTruncated = []byte{0xA0, 0x00, 0x00, 0x03, 0x08}
)

// Open selects the PIV application on card and reads the static facts of the token
// (YubiKey version and serial). A card without PIV is CKR_TOKEN_NOT_RECOGNIZED.
func Open(card reader.Card, readerName string, opts Options) (slot.Token, error) {
	if card == nil {
		return nil, slot.NewError(ck.CKR_ARGUMENTS_BAD, "piv: no card", nil)
	}
	// needSelect makes transact select PIV first, exactly once even if the card
	// reports a reset.
	t := &Token{card: card, reader: readerName, opts: opts, needSelect: true, userRef: refPIN}
	if !opts.NoPINPad && envFlag("PCSC11_PINPAD", true) {
		pad, err := detectPINPad(card)
		if err != nil {
			return nil, readerError("PIN pad detection", err)
		}
		t.pad = pad
	}
	err := t.transact(t.readStaticFacts)
	if err != nil {
		return nil, err
	}
	t.openDiskCache()
	return t, nil
}

// readStaticFacts learns whether the card is a YubiKey (GET VERSION answered) and its
// serial. Other PIV cards answer 6D00 to these Yubico instructions.
func (t *Token) readStaticFacts() error {
	v, err := t.getVersion()
	if err != nil {
		if isTransport(err) {
			return err
		}
		return t.readDiscovery() // not a YubiKey: a standard PIV card
	}
	t.yubikey, t.version = true, v
	t.extended = v[0] >= 4 && !t.opts.NoExtendedAPDU
	if v[0] >= 5 { // GET SERIAL exists from firmware 5.0
		s, err := t.getSerial()
		if err != nil && isTransport(err) {
			return err
		}
		if err == nil {
			t.serial, t.hasSer = s, true
		}
	}
	return nil
}

// isNEO reports a YubiKey NEO: its PIV applet reports version 1.0.x (below any
// YubiKey 4/5 firmware); it has RSA-1024/2048 and P-256 only, no attestation.
func (t *Token) isNEO() bool { return t.yubikey && t.version[0] < 4 }

// atLeast reports a YubiKey with firmware ≥ major.minor.
func (t *Token) atLeast(major, minor byte) bool {
	if !t.yubikey {
		return false
	}
	return t.version[0] > major || (t.version[0] == major && t.version[1] >= minor)
}

// Invalidate drops every key slot read so far and the SO flags (after a write to the
// card by someone else): the next question about them reads the card again.
func (t *Token) Invalidate() {
	t.mu.Lock()
	defer t.unlock()
	t.forgetObjects()
	t.soFlagsKnown = false
	t.pinFlagsKnown = false
}

// Close releases the card connection. It never waits for a call in progress (a
// signature waiting for a touch, slot.Token's contract): C_Finalize must return at
// once. That call's thread then closes the token when it ends, and logs the card out
// first if a login is on it (the module, which logs out before closing, could not).
func (t *Token) Close() error {
	t.closing.Store(true)
	if !t.mu.TryLock() {
		return nil // the holder's unlock closes
	}
	defer t.mu.Unlock()
	return t.closeLocked(false)
}

// closeLocked ends the hold, forgets every secret and releases the card (t.mu held);
// with logout, a login still on the card is dropped first. Idempotent.
func (t *Token) closeLocked(logout bool) error {
	if t.closed.Swap(true) {
		return nil
	}
	t.endHold()
	if logout && (t.loggedIn || t.soLoggedIn || t.userAdmin) {
		_ = t.logoutLocked() // best effort: the card may be gone already
	}
	t.lostSecurity()
	t.forgetPUK()
	if err := t.card.Close(); err != nil {
		return readerError("close", err)
	}
	return nil
}

// unlock gives t.mu up at the end of a call, after doing what was asked for while it
// was held. What is asked after that check but before the Unlock is seen by the second
// look: the asker's TryLock failed, so it relies on it.
func (t *Token) unlock() {
	t.whenFree()
	t.mu.Unlock()
	if t.asked() && t.mu.TryLock() {
		t.whenFree()
		t.mu.Unlock()
	}
}

// asked reports work waiting for t.mu to be free.
func (t *Token) asked() bool {
	return (t.closing.Load() && !t.closed.Load()) || t.releaseGen.Load() != 0
}

// whenFree does the work asked for while t.mu was busy (t.mu held).
func (t *Token) whenFree() {
	if gen := t.releaseGen.Swap(0); gen != 0 && t.holdGen == gen {
		t.endHold()
	}
	if t.closing.Load() {
		_ = t.closeLocked(true)
	}
}

// transact runs fn inside one PC/SC transaction. When the card was reset since our last
// transaction, PIV is selected again and every login is marked lost before fn runs
// (DESIGN: another program may reset the card).
func (t *Token) transact(fn func() error) error { return t.run(false, fn) }

// run is transact; with keep, the transaction stays open after fn succeeded, for the
// key operation of a context-specific login (context.go). While such a transaction is
// open every call runs inside it.
func (t *Token) run(keep bool, fn func() error) error {
	if t.holding() {
		err := fn()
		if lostTransaction(err) {
			t.endHold()
		}
		return t.afterFn(err)
	}
	err := t.card.BeginTransaction()
	reset := errors.Is(err, reader.ErrCardReset)
	if err != nil && !reset {
		return readerError("begin transaction", err)
	}
	kept := false
	defer func() {
		if !kept {
			t.card.EndTransaction()
		}
	}()
	if reset || t.needSelect {
		t.lostSecurity()
		if err := t.selectApp(); err != nil {
			return mapErr("re-select after reset", err)
		}
		t.needSelect = false
	}
	err = fn()
	if keep && err == nil {
		kept = true
		t.startHold()
	}
	return t.afterFn(err)
}

// afterFn records a reset seen between two of our APDUs (the card's security state is
// gone) and maps the error.
func (t *Token) afterFn(err error) error {
	if errors.Is(err, reader.ErrCardReset) {
		t.lostSecurity()
		t.needSelect = true
	}
	return mapErr("card", err)
}

// lostSecurity records that the card dropped every security status (reset, SELECT).
// The PUK of an SO login survives: it is a value we hold, not a state of the card.
func (t *Token) lostSecurity() {
	t.loggedIn, t.soLoggedIn, t.userAdmin = false, false, false
}

// mapErr turns an error from the card layer into *slot.Error; an *slot.Error passes.
func mapErr(what string, err error) error {
	if err == nil {
		return nil
	}
	var se *slot.Error
	if errors.As(err, &se) {
		return err
	}
	if isTransport(err) {
		return readerError(what, err)
	}
	return slot.NewError(ck.CKR_DEVICE_ERROR, "piv: "+what, err)
}

// isTransport reports errors of the reader below us (not card status words).
func isTransport(err error) bool {
	for _, e := range []error{reader.ErrCardReset, reader.ErrCardRemoved, reader.ErrNoCard,
		reader.ErrReaderGone, reader.ErrCancelled, reader.ErrCardUnresponsive} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// readerError maps the reader sentinels to their natural CKR_ codes.
func readerError(what string, err error) error {
	rv := ck.CKR_DEVICE_ERROR
	switch {
	case errors.Is(err, reader.ErrCardRemoved), errors.Is(err, reader.ErrNoCard):
		rv = ck.CKR_DEVICE_REMOVED
	case errors.Is(err, reader.ErrReaderGone):
		rv = ck.CKR_DEVICE_REMOVED
	case errors.Is(err, reader.ErrCancelled):
		rv = ck.CKR_FUNCTION_CANCELED
	}
	return slot.NewError(rv, "piv: "+what, err)
}

// swIs reports a card status word in err.
func swIs(err error, sws ...uint16) bool {
	sw, ok := apdu.SW(err)
	if !ok {
		return false
	}
	for _, s := range sws {
		if sw == s {
			return true
		}
	}
	return false
}

// notRecognized is the error of Open for a card without a PIV application.
func notRecognized(err error) error {
	return slot.NewError(ck.CKR_TOKEN_NOT_RECOGNIZED, "piv: no PIV application on the card", err)
}
