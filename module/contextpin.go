package module

import (
	"github.com/pcsc11/pcsc11/ck"
	"github.com/pcsc11/pcsc11/slot"
)

// contextLoginer is offered by a driver that keeps the card to itself from the VERIFY
// of C_Login(CKU_CONTEXT_SPECIFIC) to the key operation that follows (for a
// CKA_ALWAYS_AUTHENTICATE key no other program's command may come between the two,
// and the PIN goes to the card in the operation's transaction). The driver's next
// private-key operation ends that transaction; release ends it when the operation
// ends without one. Tokens without it get a plain Login(CKU_CONTEXT_SPECIFIC).
type contextLoginer interface {
	LoginForOperation(key string, pin []byte) (release func(), err error)
}

// contextHold is the card transaction a context-specific login keeps open for its one
// operation. The module holds no copy of the PIN.
type contextHold struct{ release func() }

// wipe ends the kept transaction if the operation did not use it; nil-safe and
// idempotent (the driver ignores a release after its operation ended the hold).
func (h *contextHold) wipe() {
	if h != nil && h.release != nil {
		h.release()
		h.release = nil
	}
}

// contextLogin verifies pin for the operation about to run on tok with key.
func contextLogin(tok slot.Token, key string, pin []byte) (*contextHold, error) {
	if cl, ok := tok.(contextLoginer); ok {
		release, err := cl.LoginForOperation(key, pin)
		if err != nil {
			return nil, err
		}
		return &contextHold{release: release}, nil
	}
	return nil, tok.Login(ck.CKU_CONTEXT_SPECIFIC, pin)
}
