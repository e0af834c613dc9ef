package module

import (
	"time"

	"github.com/pcsc11/pcsc11/slot"
)

// pinKeyOp is offered by a driver that can send the PIN and a private-key operation in
// one card transaction (issue 5: for a CKA_ALWAYS_AUTHENTICATE key no other program's
// command may come between the VERIFY and the operation). The module uses it when the
// token has it; otherwise the VERIFY of C_Login(CKU_CONTEXT_SPECIFIC) stands alone.
type pinKeyOp interface {
	PrivateKeyOpWithPIN(key string, op slot.KeyOp, input, pin []byte) ([]byte, error)
}

// contextPINTTL bounds how long a context-specific PIN waits for its operation: the
// operation normally follows at once, and one that never comes must not leave the PIN
// behind (every path that ends an operation also wipes it).
const contextPINTTL = time.Minute

// holdContextPIN keeps the PIN of a successful C_Login(CKU_CONTEXT_SPECIFIC) for the
// one operation it was given for, in the PIN cache's locked memory; nil when the
// token cannot take it with the operation or the PIN cache policy is "off" (the user
// asked that no PIN be kept at all).
func (l *Library) holdContextPIN(tok slot.Token, pin []byte) *cachedPIN {
	if _, ok := tok.(pinKeyOp); !ok || !l.pinPolicy.keep {
		return nil
	}
	return newCachedPIN(pinPolicy{keep: true, ttl: contextPINTTL}, pin)
}

// keyOpWithContextPIN runs op with the held PIN in the same card transaction, and
// wipes the PIN: it serves one operation. ok is false when there was none to use.
func keyOpWithContextPIN(tok slot.Token, ctx *cachedPIN, key string, op slot.KeyOp, in []byte) (out []byte, err error, ok bool) {
	defer ctx.wipe()
	pk, can := tok.(pinKeyOp)
	if !can {
		return nil, nil, false
	}
	err, ok = ctx.use(func(pin []byte) error {
		var e error
		out, e = pk.PrivateKeyOpWithPIN(key, op, in, pin)
		return e
	})
	return out, err, ok
}
