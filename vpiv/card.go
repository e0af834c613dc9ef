package vpiv

import (
	"crypto/rand"
	"fmt"
	"io"
	"sync"
	"time"
)

// DefaultSerial is the serial number of a card created with Options.Serial = 0.
const DefaultSerial uint32 = 12345678

// Options configure a card.
type Options struct {
	// Serial is the YubiKey serial (GET SERIAL, attestation); 0 keeps the one in the
	// state file, or DefaultSerial for a new card.
	Serial uint32
	// StatePath is "" for a memory-only card; otherwise the JSON state file, loaded when
	// present and rewritten atomically after every change of persistent state.
	StatePath string
	// Profile names the card the engine is (profile.go): "" is DefaultProfile. A state
	// file remembers its profile; opening it as another is an error.
	Profile string
	// MgmtAlg is the factory management-key algorithm of a new card (alg3DES,
	// algAES128/192/256 as PIV algorithm identifiers); 0 = the profile's default. Only
	// algorithms the profile accepts.
	MgmtAlg byte
	// GlobalPINPrimary: on a profile with a Global PIN, the Discovery Object's PIN
	// usage policy names the Global PIN primary (60 20) instead of the PIV PIN (60 10).
	GlobalPINPrimary bool
	// Rand is the source of witnesses, challenges and serial numbers; nil = crypto/rand.
	// (Since Go 1.26 key generation always uses the system source.)
	Rand io.Reader
	// TouchTimeout is how long an operation with a touch key waits for the touch
	// (touch.go); 0 means DefaultTouchTimeout, a YubiKey's 15 s.
	TouchTimeout time.Duration
	// AutoTouch, when positive, touches the card this long after an operation starts
	// waiting for a touch (for tests); 0 waits for Touch.
	AutoTouch time.Duration
}

// Card is one virtual PIV card. All methods are safe for concurrent use; Process runs
// one APDU at a time.
type Card struct {
	// opMu serializes Process: a command waiting for a touch releases mu (so status,
	// Touch, PowerOff and Reset go on) but keeps the next command out, as a busy
	// YubiKey does.
	opMu sync.Mutex
	mu   sync.Mutex
	opts Options
	prof Profile
	rand io.Reader

	st persistent // everything that survives a power cycle

	// Volatile state, cleared by power-off, reset and SELECT of another application.
	selected    bool
	otpSelected bool // the YubiKey OTP application is selected (otp.go)
	pinVerified bool
	// pinJust: the last complete command was a successful VERIFY; a key with PIN
	// policy "always" needs it.
	pinJust   bool
	mgmtAuth  bool
	witness   []byte // pending mutual authentication witness (9B)
	challenge []byte // pending external authentication challenge (9B)

	chain     []byte // command chaining: data collected so far
	chainHdr  [3]byte
	chaining  bool
	pending   []byte // response bytes waiting for GET RESPONSE
	dirty     bool   // persistent state changed by the current command
	resetGen  uint64 // bumped by every power-off/reset (Memory reports ErrCardReset)
	lastWork  Work   // the costly part of the last command (latency.go)
	cmds      uint64
	bytesIn   uint64
	bytesOut  uint64
	poweredOn bool

	touch touchSensor // touch.go
}

// New creates a card: it loads opts.StatePath when that file exists, else it makes a
// factory-fresh card of opts.Profile (PIN 123456, PUK 12345678, management key
// 010203040506070801020304050607080102030405060708 with the profile's default
// algorithm, attestation key in F9 where the profile has one; a Global PIN 123456 on
// a standard PIV card) and, when StatePath is set, writes it there.
func New(opts Options) (_ *Card, err error) {
	defer catch(&err)
	prof, err := LookupProfile(opts.Profile)
	if err != nil {
		return nil, err
	}
	if opts.MgmtAlg != 0 && !prof.supportsMgmtAlg(opts.MgmtAlg) {
		return nil, fmt.Errorf("vpiv: profile %s has no management key algorithm %02X", prof.Name, opts.MgmtAlg)
	}
	if opts.GlobalPINPrimary && !prof.GlobalPIN {
		return nil, fmt.Errorf("vpiv: profile %s has no Global PIN", prof.Name)
	}
	c := &Card{opts: opts, prof: prof, rand: opts.Rand, poweredOn: true}
	if c.rand == nil {
		c.rand = rand.Reader
	}
	loaded := false
	if opts.StatePath != "" {
		ok, err := c.load(opts.StatePath)
		if err != nil {
			return nil, err
		}
		loaded = ok
	}
	if !loaded {
		if err := c.factory(); err != nil {
			return nil, err
		}
	}
	if opts.Serial != 0 && opts.Serial != c.st.serial {
		c.st.serial = opts.Serial
		loaded = false // the attestation certificate names no serial; only the file changes
	}
	if !loaded && opts.StatePath != "" {
		if err := c.save(); err != nil {
			return nil, fmt.Errorf("vpiv: writing state: %w", err)
		}
	}
	return c, nil
}

// ATR returns the card's answer to reset (the profile's).
func (c *Card) ATR() []byte { return append([]byte(nil), c.prof.ATR...) }

// Profile returns the card's profile.
func (c *Card) Profile() Profile {
	p := c.prof
	p.ATR = append([]byte(nil), p.ATR...)
	return p
}

// PowerOn powers the card up with a clean volatile state.
func (c *Card) PowerOn() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.clearVolatile()
	c.poweredOn = true
}

// PowerOff powers the card down: every security status is lost.
func (c *Card) PowerOff() { c.interrupt(false) }

// Reset is a warm reset: every security status is lost, no application is selected.
func (c *Card) Reset() { c.interrupt(true) }

// interrupt is a power-off or a reset: the volatile state is lost, a new reset
// generation begins and a command waiting for a touch is abandoned.
func (c *Card) interrupt(poweredOn bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.clearVolatile()
	c.resetGen++
	c.poweredOn = poweredOn
	c.abortTouch()
}

// APDUCount reports how many command APDUs the card processed and the bytes in and out
// (status words included), for the benchmark rig.
func (c *Card) APDUCount() (commands, bytesIn, bytesOut uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cmds, c.bytesIn, c.bytesOut
}

func (c *Card) generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.resetGen
}

func (c *Card) clearVolatile() {
	c.selected, c.otpSelected = false, false
	c.clearSecurity()
	c.chain, c.chaining = nil, false
	c.pending = nil
}

// clearSecurity drops PIN and management key status (SELECT of another application
// does this on a YubiKey, as does a reset).
func (c *Card) clearSecurity() {
	c.pinVerified, c.pinJust, c.mgmtAuth = false, false, false
	c.witness, c.challenge = nil, nil
}

// catch turns a panic (a failing random source) into an error for the non-APDU entry
// points; Process has its own recover.
func catch(err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("vpiv: %v", r)
	}
}

func (c *Card) random(n int) []byte {
	b := make([]byte, n)
	if _, err := io.ReadFull(c.rand, b); err != nil {
		panic(fmt.Sprintf("vpiv: random source failed: %v", err)) // Process answers 6F00
	}
	return b
}
