package piv

import (
	"github.com/pcsc11/pcsc11/apdu"
	"github.com/pcsc11/pcsc11/ck"
	"github.com/pcsc11/pcsc11/slot"
)

const insMoveKey = 0xF6

// DestroyObject is C_DestroyObject (spec 5.7.4): a certificate is deleted with an empty
// PUT DATA; a private key with MOVE KEY to FF (YubiKey 5.7+; older cards cannot delete
// a key: CKR_ACTION_PROHIBITED). The certificate of a deleted key stays, as other tools
// expect; delete it too. A public key is derived from its private key and goes with it
// (CKR_ACTION_PROHIBITED on its own).
func (t *Token) DestroyObject(key string) error {
	t.mu.Lock()
	defer t.unlock()
	kind, s, ok := objectRef(key)
	if !ok {
		return slot.NewError(ck.CKR_OBJECT_HANDLE_INVALID, "piv: no such object", nil)
	}
	k, err := t.ensureSlot(s)
	if err != nil {
		return err
	}
	if findObject(k.objs, key) == nil {
		return slot.NewError(ck.CKR_OBJECT_HANDLE_INVALID, "piv: no such object", nil)
	}
	switch {
	case kind == "pub":
		return slot.NewError(ck.CKR_ACTION_PROHIBITED, "piv: a public key goes with its private key", nil)
	case kind == "cert" && s.ref == attestationRef:
		return slot.NewError(ck.CKR_ACTION_PROHIBITED, "piv: the attestation certificate is the card maker's", nil)
	case kind == "priv" && (s.ref == 0xF9 || !t.atLeast(5, 7)):
		return slot.NewError(ck.CKR_ACTION_PROHIBITED, "piv: this card cannot delete keys (YubiKey 5.7 or later can)", nil)
	}
	return t.transact(func() error {
		if err := t.ensureAdmin(); err != nil {
			return err
		}
		t.forgetSlot(s.ref)
		if kind == "cert" {
			delete(t.knownCerts, s.ref)
			if err := t.putData(s.object, nil); err != nil {
				return err
			}
			if retired(s.ref) {
				return t.updateKeyHistory()
			}
			return nil
		}
		delete(t.knownPub, s.ref)
		_, err := t.exchange(apdu.Command{INS: insMoveKey, P1: 0xFF, P2: s.ref})
		if apdu.IsNotFound(err) {
			return nil // already gone
		}
		return writeError(err)
	})
}
