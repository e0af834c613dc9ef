package piv

import (
	"strconv"
	"time"

	"github.com/pcsc11/pcsc11/apdu"
	"github.com/pcsc11/pcsc11/ck"
	"github.com/pcsc11/pcsc11/slot"
)

// YubiKey touch policies (GET METADATA tag 02, second byte; GENERATE/IMPORT tag AB;
// ykcs11's CKA_YUBICO_TOUCH_POLICY values): 1 never, 2 always, 3 cached (a touch is
// good for 15 s). docs/virtual-card.md, "Touch", has the facts and their sources.
const (
	touchPolicyNever  = 0x01
	touchPolicyAlways = 0x02
	touchPolicyCached = 0x03
)

// touchRefusalAfter tells a touch timeout from a missing PIN: a YubiKey answers both
// with 6982, the PIN refusal at once (it checks the PIN before it waits for a touch),
// the touch timeout after waiting for the finger (about 15 s). Any 6982 that took this
// long on a key that may wait for a touch is taken as "touch not given in time".
const touchRefusalAfter = time.Second

// touchPolicy is the key's touch policy from metadata, 0 when unknown.
func (k *keyInfo) touchPolicy() byte {
	if k.meta == nil {
		return 0
	}
	return k.meta.touchPolicy
}

// mayWaitForTouch: metadata says always or cached; without metadata, any YubiKey key
// may (older firmware has touch policies but no GET METADATA).
func (k *keyInfo) mayWaitForTouch(yubikey bool) bool {
	switch k.touchPolicy() {
	case touchPolicyAlways, touchPolicyCached:
		return true
	case 0:
		return yubikey
	}
	return false
}

// TouchDevice implements slot.TouchPrompter: whether an operation with the private key
// named key may wait for the user's touch, and the name of the device to touch
// ("YubiKey (serial 12345678)"). It answers from what was read already and never
// waits for the card: the module asks it while the operation runs.
func (t *Token) TouchDevice(key string) (device string, mayWait bool) {
	kind, s, ok := objectRef(key)
	if !ok || kind != "priv" || !t.yubikey {
		return "", false
	}
	k := t.cached(s.ref)
	if k == nil || k.meta == nil {
		// Not read yet, or no metadata: no reason to believe the key waits for a touch.
		return "", false
	}
	if p := k.touchPolicy(); p != touchPolicyAlways && p != touchPolicyCached {
		return "", false
	}
	if t.hasSer {
		return "YubiKey (serial " + strconv.FormatUint(uint64(t.serial), 10) + ")", true
	}
	return "YubiKey", true
}

var _ slot.TouchPrompter = (*Token)(nil)

// touchTimeout recognizes a touch not given in time (see touchRefusalAfter) and
// answers CKR_FUNCTION_CANCELED: the card cancelled the operation because the user did
// not confirm it. The module must not take it for a lost login (CKR_USER_NOT_LOGGED_IN
// would make it verify a cached PIN again and retry). nil when err is something else.
func (t *Token) touchTimeout(err error, k *keyInfo, waited time.Duration) error {
	if !apdu.IsSecurityStatusNotSatisfied(err) || waited < touchRefusalAfter || !k.mayWaitForTouch(t.yubikey) {
		return nil
	}
	return slot.NewError(ck.CKR_FUNCTION_CANCELED,
		"piv: touch not given in time (the card gave up after "+waited.Round(100*time.Millisecond).String()+")", err)
}
