package module

import (
	"github.com/pcsc11/pcsc11/config"
	"github.com/pcsc11/pcsc11/module/touchprompt"
	"github.com/pcsc11/pcsc11/slot"
)

// touchNotifyEnabled reads PCSC11_TOUCH_NOTIFY: on turns the desktop touch prompt on;
// it is off by default (docs/touch.md).
func touchNotifyEnabled() bool { return config.Flag(Getenv("PCSC11_TOUCH_NOTIFY"), false) }

// touchPrompt starts watching a private-key operation about to run on tok (l.mu held):
// when the prompt is enabled and the driver says the key may wait for a touch, the
// user sees "Touch your YubiKey (serial N) to sign" if the operation has not returned
// after touchprompt.Delay. The returned stop ends the watch and never blocks; the
// notifier does everything else on its own goroutine, so the operation is not slowed.
func (l *Library) touchPrompt(tok slot.Token, key string, op slot.KeyOp) (stop func()) {
	tp, ok := tok.(slot.TouchPrompter)
	if !ok {
		return func() {}
	}
	if l.touch == nil {
		if !touchNotifyEnabled() {
			return func() {}
		}
		l.touch = touchprompt.New(Getenv, Logf)
	}
	return l.touch.Watch(func() (string, bool) { return tp.TouchDevice(key) }, opVerb(op))
}

// opVerb names what the user allows by touching. A raw RSA operation is a signature
// or a decryption; the driver cannot tell which.
func opVerb(op slot.KeyOp) string {
	switch op {
	case slot.OpECDSA, slot.OpEdDSA:
		return "sign"
	case slot.OpECDH:
		return "agree on a key"
	}
	return "sign or decrypt"
}

// closeTouchPrompt withdraws every prompt and closes the bus connection (C_Finalize,
// with l.mu released: it waits for the notifier's goroutines, each bounded).
func closeTouchPrompt(n *touchprompt.Notifier) {
	if n != nil {
		n.Close()
	}
}
