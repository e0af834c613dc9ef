package piv

import (
	"github.com/pcsc11/pcsc11/apdu"
	"github.com/pcsc11/pcsc11/ck"
	"github.com/pcsc11/pcsc11/slot"
)

const insAttest = 0xF9

// Attest is YubiKey ATTEST 00 F9 <slot> 00: a certificate for the key of the slot,
// signed by the attestation key F9 (whose certificate is the object "cert/f9"). Keys
// that were imported, and empty slots, cannot be attested.
func (t *Token) Attest(key string) ([]byte, error) {
	t.mu.Lock()
	defer t.unlock()
	kind, s, ok := objectRef(key)
	if !ok || kind == "cert" || s.ref == 0xF9 {
		return nil, slot.NewError(ck.CKR_KEY_HANDLE_INVALID, "piv: not a key that can be attested", nil)
	}
	if !t.atLeast(4, 3) {
		return nil, slot.NewError(ck.CKR_FUNCTION_NOT_SUPPORTED, "piv: this card has no attestation", nil)
	}
	var der []byte
	err := t.transact(func() error {
		out, err := t.exchange(apdu.Command{INS: insAttest, P1: s.ref, Ne: apdu.MaxExtendNe})
		if err != nil {
			if _, isSW := apdu.SW(err); isSW {
				return slot.NewError(ck.CKR_KEY_HANDLE_INVALID, "piv: the card cannot attest this key (imported or absent)", err)
			}
			return err
		}
		if der, err = parseAttestation(out); err != nil {
			return slot.NewError(ck.CKR_DEVICE_ERROR, "piv: attestation is not a certificate", err)
		}
		return nil
	})
	return der, err
}

// parseAttestation checks the answer to ATTEST: one DER certificate (X.509, the key's
// attestation signed by F9), nothing before or after it. It returns the certificate.
func parseAttestation(out []byte) ([]byte, error) {
	c, err := parseCertificate(out)
	if err != nil {
		return nil, err
	}
	return c.der, nil
}

var _ slot.Attester = (*Token)(nil)
