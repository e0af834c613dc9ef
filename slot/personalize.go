package slot

import "github.com/pcsc11/pcsc11/ck"

// Personalizer is implemented by tokens that can be personalized through PKCS#11
// (docs/personalization.md). The module finds it with a type assertion on a Token:
//
//	if p, ok := tok.(slot.Personalizer); ok { ... } else { CKR_FUNCTION_NOT_SUPPORTED }
//
// Contract shared by every method:
//   - The module checks what only it knows before calling: session state (R/W, SO or
//     user logged in as the spec's function tables require), open sessions for
//     InitToken (CKR_SESSION_EXISTS), CKA_TOKEN=false objects (session objects are the
//     module's: CreateObject is only called for token objects).
//   - The driver checks what the card needs: the credential it holds (a write without
//     the right one is CKR_USER_NOT_LOGGED_IN and sends nothing that changes the card),
//     PIN lengths and formats (CKR_PIN_LEN_RANGE / CKR_PIN_INVALID before any APDU),
//     templates (CKR_ATTRIBUTE_VALUE_INVALID, CKR_TEMPLATE_INCOMPLETE,
//     CKR_TEMPLATE_INCONSISTENT, spec 5.14).
//   - After a successful write the driver's object list is already up to date: the
//     next Objects() call (and ObjectFinder answer) reflects it (the module must
//     re-read Objects, and keep the handles of unchanged object keys).
//   - Errors are *Error; secrets never appear in them.
//
// Template values (Attributes) may come in either form: typed (bool for CK_BBOOL,
// ck.ULong for CK_ULONG attributes, []byte or string for byte arrays) or raw, exactly
// the bytes the application passed ([]byte: CK_BBOOL is 1 byte, CK_ULONG is
// sizeof(CK_ULONG) in host order). Drivers accept both, so the module may pass raw
// bytes for attributes it does not know (vendor attributes).
type Personalizer interface {
	// InitToken is C_InitToken (spec 5.6.3): soPIN must match the current SO
	// credential (else CKR_PIN_INCORRECT and the card is unchanged); then the token is
	// reset to an empty state, soPIN becomes the new SO credential, and label (≤ 32
	// bytes, trailing blanks ignored) is stored on the card. Cards that cannot be reset
	// answer CKR_FUNCTION_NOT_SUPPORTED.
	InitToken(soPIN []byte, label string) error
	// InitPIN is C_InitPIN (spec 5.6.4), called in an SO session: sets the user PIN.
	InitPIN(pin []byte) error
	// SetPIN is C_SetPIN (spec 5.6.5) for userType: ck.CKU_SO when the session is SO
	// logged in, else ck.CKU_USER (the spec's "user currently logged in, or CKU_USER").
	// oldPIN == nil && newPIN == nil asks for the reader's PIN pad.
	SetPIN(userType ck.ULong, oldPIN, newPIN []byte) error
	// GenerateKeyPair is C_GenerateKeyPair (spec 5.14) with the two templates as the
	// application gave them; it returns the object keys (Object.Key) of the new public
	// and private key.
	GenerateKeyPair(mech ck.ULong, pubTmpl, privTmpl Attributes) (pubKey, privKey string, err error)
	// CreateObject is C_CreateObject (spec 5.7) for a token object; it returns the new
	// object's key.
	CreateObject(tmpl Attributes) (key string, err error)
	// DestroyObject is C_DestroyObject (spec 5.7) of a token object named by its key.
	DestroyObject(key string) error
}

// Attester is implemented by tokens whose keys can be attested (YubiKey ATTEST).
type Attester interface {
	// Attest returns the DER attestation certificate of the key named by key (a public
	// or private key object); CKR_KEY_HANDLE_INVALID when the card cannot attest it
	// (imported keys, empty slots).
	Attest(key string) ([]byte, error)
}
