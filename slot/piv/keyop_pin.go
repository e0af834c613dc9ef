package piv

import (
	"github.com/pcsc11/pcsc11/ck"
	"github.com/pcsc11/pcsc11/slot"
)

// PrivateKeyOpWithPIN runs a private-key operation right after a VERIFY of the PIN,
// both inside one PC/SC transaction, so that no other program's command can come
// between them (issue 5). A key with PIN policy "always" (CKA_ALWAYS_AUTHENTICATE,
// spec 4.9) accepts only an operation that directly follows the VERIFY; a command
// slipped in between by another application would spend the verification.
//
// A nil pin is entered on the reader's PIN pad, as for Login; without a PIN pad it is
// CKR_ARGUMENTS_BAD. Everything that can be checked on the host (key handle, input,
// PIN length) is checked before the transaction, so that such an error sends nothing
// and spends no PIN try. A rejected PIN is never retried and stops the operation
// before GENERAL AUTHENTICATE. The padded copy of the PIN is cleared here; pin itself
// belongs to the caller, who clears it.
func (t *Token) PrivateKeyOpWithPIN(key string, op slot.KeyOp, input, pin []byte) ([]byte, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	var (
		block, padStruct []byte
		err              error
	)
	if pin == nil {
		if t.pad == nil {
			return nil, noPINGiven()
		}
		if padStruct, err = t.pad.verifyStructure(); err != nil {
			return nil, slot.NewError(ck.CKR_DEVICE_ERROR, "piv: PIN pad", err)
		}
	} else {
		if block, err = t.pinBlock(pin); err != nil {
			return nil, err
		}
		defer clear(block)
	}
	ref, k, err := t.privKey(key)
	if err != nil {
		return nil, err
	}
	tag, payload, err := opPayload(k, op, input)
	if err != nil {
		return nil, err
	}
	var out []byte
	err = t.transact(func() error {
		var err error
		if block != nil {
			err = t.verifyPIN(block)
		} else {
			err = t.verifyOnPad(padStruct)
		}
		if err != nil {
			return err
		}
		out, err = t.generalAuth(ref, k, op, tag, payload)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
