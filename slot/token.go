// Package slot maps PC/SC readers to PKCS#11 slots and defines the Token interface
// that card drivers (slot/piv) implement for the module.
//
// The module above speaks PKCS#11; a Token speaks in card terms turned into PKCS#11
// objects. The split of work follows DESIGN.md: the card does the private-key
// primitive (raw RSA, ECDSA over a hash, EdDSA, ECDH); hashing, padding, verification
// and public-key encryption are done in software by the module.
package slot

import (
	"errors"

	"github.com/pcsc11/pcsc11/ck"
)

// ID is a PKCS#11 slot ID. IDs are stable for the life of the process: a reader that
// comes back gets its old ID, and the slot list never shrinks (NSS cannot cope).
type ID = ck.ULong

// TokenInfo is what CK_TOKEN_INFO needs from a driver. Strings are unpadded; the C door
// pads them with blanks to their fixed widths.
type TokenInfo struct {
	Label          string // ≤ 32 bytes
	Manufacturer   string // ≤ 32
	Model          string // ≤ 16
	Serial         string // ≤ 16
	Flags          ck.ULong
	MinPINLen      ck.ULong
	MaxPINLen      ck.ULong
	HardwareMajor  byte
	HardwareMinor  byte
	FirmwareMajor  byte
	FirmwareMinor  byte
	TotalPublicMem ck.ULong // CK_UNAVAILABLE_INFORMATION when unknown
}

// Mechanism is one entry of C_GetMechanismList / C_GetMechanismInfo.
type Mechanism struct {
	Type       ck.ULong
	MinKeySize ck.ULong
	MaxKeySize ck.ULong
	Flags      ck.ULong
}

// Attribute values are plain Go values; the C door encodes them:
//
//	bool → CK_BBOOL, ck.ULong → CK_ULONG, []byte → byte array, string → UTF-8 bytes.
type Attributes map[ck.ULong]any

// Object is one PKCS#11 object of a token. Key is a stable, driver-chosen name for the
// object within its token (for PIV: "cert/9a", "priv/9a", "pub/9a", "data/5fc102"); the
// module maps it to a CK_OBJECT_HANDLE that stays the same for the token's life.
type Object struct {
	Key   string
	Attrs Attributes
}

// LazyValue is an attribute value the driver reads from the card only when an
// application asks for it (C_GetAttributeValue, or a search template naming it): a
// PIV data object's CKA_VALUE, so that listing objects reads no values. The module
// calls it and uses the bytes as a []byte value; its error answers the call.
type LazyValue func() ([]byte, error)

// KeyOp is a private-key primitive performed by the card.
type KeyOp int

const (
	OpRSARaw KeyOp = iota + 1 // input: a modulus-sized block, already padded by the host
	OpECDSA                   // input: a hash; output: r||s, each the curve's size
	OpEdDSA                   // input: the message; output: the 64-byte signature
	OpECDH                    // input: the peer's public point (uncompressed, or 32-byte X25519 u); output: the shared secret
)

// Token is a card as the module sees it. Calls may block on the card, and may come
// from several threads at once: each driver serializes its own calls (the manager
// does not; see Manager.Token). All errors should be (or wrap) *Error so the
// module can answer the right CKR_ code.
type Token interface {
	Info() (TokenInfo, error)
	Mechanisms() []Mechanism
	// Objects lists every object; the module hides CKA_PRIVATE ones until login. A
	// token that can read less for a narrower question also implements ObjectFinder.
	Objects() ([]Object, error)
	// Login verifies a credential. pin == nil means "use the reader's PIN pad".
	// userType is ck.CKU_USER, ck.CKU_SO or ck.CKU_CONTEXT_SPECIFIC.
	Login(userType ck.ULong, pin []byte) error
	Logout() error
	// LoggedIn reports whether the card still holds the user's verification (it may
	// have been lost to a reset by another program).
	LoggedIn() (bool, error)
	// PrivateKeyOp runs op with the private key of object key (an Object.Key naming a
	// private key).
	PrivateKeyOp(key string, op KeyOp, input []byte) ([]byte, error)
	// Close releases the card connection. It must not wait for a call in progress
	// on another thread (C_Finalize returns at once while a card waits for a touch):
	// such a call's thread releases the connection when it ends.
	Close() error
}

// ClassFinder is implemented by tokens that can list the objects of one class without
// reading what no object of that class needs (a search for certificates or
// keys, as ssh-keygen -D and NSS make, need not probe a PIV card's data objects).
// ObjectsOfClass returns every object of Objects whose CKA_CLASS is class, in the order
// of Objects; it may return more (the caller matches its template anyway).
type ClassFinder interface {
	ObjectsOfClass(class ck.ULong) ([]Object, error)
}

// LoginProber is implemented by tokens whose LoggedIn answers from their own record
// (no card command; a reset of the card still ends it) and that can also ask the card.
// ProbeLogin asks: one command, which tells a login lost without a reset too (another
// program selected another application). The module asks only when it has no PIN to
// verify again (PCSC11_PIN_CACHE=off, or nothing cached); with one, a lost login is
// healed by the operation that needs it, and status polling costs the card nothing.
type LoginProber interface {
	ProbeLogin() (bool, error)
}

// ObjectFinder is implemented by tokens that can answer for some of their objects
// without reading the whole card (a host's search by CKA_ID, or a lookup by handle,
// reads only what it names). The module finds it with a type assertion on a Token and
// falls back to Objects. Both methods give exactly what Objects would (same objects,
// same attributes, the same values the module hides until login); they only read less.
type ObjectFinder interface {
	// ObjectsWithID returns every object whose CKA_ID is id, in the order of Objects
	// (it may return more; the caller matches its template anyway). An id no object of
	// the token can carry returns nothing and costs nothing on the card.
	ObjectsWithID(id []byte) ([]Object, error)
	// Object returns the object named key (an Object.Key); ok is false when the token
	// has no such object.
	Object(key string) (obj Object, ok bool, err error)
}

// TouchPrompter is implemented by tokens whose keys may wait for the user to touch the
// device (YubiKey touch policies). The module asks it while a private-key operation
// runs, to prompt the user; it must answer from what is known and never wait for the
// card.
type TouchPrompter interface {
	// TouchDevice reports whether an operation with the private key named key may
	// wait for a touch, and what to call the device in a prompt.
	TouchDevice(key string) (device string, mayWait bool)
}

// Error carries a PKCS#11 return value from a driver to the module, with a message for
// logs (never containing a secret).
type Error struct {
	RV  ck.ULong
	Msg string
	Err error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Msg + ": " + e.Err.Error()
	}
	return e.Msg
}

func (e *Error) Unwrap() error { return e.Err }

// NewError builds an *Error: rv for the module to answer, msg and the cause for the log.
func NewError(rv ck.ULong, msg string, err error) *Error { return &Error{RV: rv, Msg: msg, Err: err} }

// RV extracts the CKR_ code of err: CKR_OK for nil, the code of an *Error anywhere in
// the chain, else CKR_GENERAL_ERROR... except the reader sentinels, which map to their
// natural codes.
func RV(err error) ck.ULong {
	if err == nil {
		return ck.CKR_OK
	}
	var e *Error
	if errors.As(err, &e) {
		return e.RV
	}
	return ck.CKR_DEVICE_ERROR
}
