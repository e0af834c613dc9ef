package piv

import (
	"bytes"

	"github.com/pcsc11/pcsc11/apdu"
)

// objKeyHistory is the Key History Object (SP 800-73-4 part 1, 3.3.2): C1
// keysWithOnCardCerts, C2 keysWithOffCardCerts, F3 offCardCertURL, FE.
const objKeyHistory = 0x5FC10C

// updateKeyHistory keeps the Key History Object in step with the certificates of the
// retired slots (82..95) after pcsc11 wrote or deleted one. OpenSC lists a retired
// slot only when keysWithOnCardCerts covers it (it reads retired certificates 1..C1;
// OpenSC issues 847 and 3287), and neither ykman nor yubico-piv-tool writes the object,
// so without this a key in a retired slot is invisible to OpenSC. C1 is the index of
// the highest retired slot holding a certificate, so that every one of them is
// covered. A history that names off-card certificates (C2 > 0 or an F3 URL) belongs to
// an issuer and is left alone. Caller runs inside transact with the management key.
func (t *Token) updateKeyHistory() error {
	cur, err := t.getData(objKeyHistory)
	switch {
	case err == nil:
		if issuersHistory(cur) {
			return nil
		}
	case isTransport(err):
		return err
	default:
		cur = nil
	}
	n := 0
	for i := 0; i < 20; i++ {
		data, err := t.getData(uint32(0x5FC10D + i))
		if err != nil {
			if isTransport(err) {
				return err
			}
			continue
		}
		if c, perr := parseCertContainer(data); perr == nil && c != nil {
			n = i + 1
		}
	}
	want := []byte{0xC1, 0x01, byte(n), 0xC2, 0x01, 0x00, 0xFE, 0x00}
	if (cur == nil && n == 0) || bytes.Equal(cur, want) {
		return nil
	}
	t.retiredKnown = false // read again: the object may now say something else
	if err := t.putData(objKeyHistory, want); err != nil && isTransport(err) {
		return err // otherwise best effort: the certificate itself is written
	}
	return nil
}

// retiredInUse is how many retired slots, from 82 on, may hold a certificate, from the
// Key History Object: keysWithOnCardCerts (C1) keys whose certificates are in the first
// C1 retired containers, then keysWithOffCardCerts (C2) keys whose certificates are
// elsewhere (SP 800-73-4 part 1, 3.3.2 and table 19) — C1+C2, at most 20. A card
// without the object, or with one we cannot read or parse, gets all 20. Used only on
// cards without GET METADATA (retiredUnused), where a retired slot is found by its
// certificate anyway. Read once per token (one GET DATA), forgotten with the objects
// and when we write the object. Caller runs inside transact.
func (t *Token) retiredInUse() (int, error) {
	if t.retiredKnown {
		return t.retiredLimit, nil
	}
	n := 20
	data, err := t.getData(objKeyHistory)
	switch {
	case err == nil:
		if c1, c2, ok := parseKeyHistory(data); ok {
			n = min(20, c1+c2)
		}
	case isTransport(err):
		return 0, err
	}
	t.retiredLimit, t.retiredKnown = n, true
	return n, nil
}

// parseKeyHistory reads C1 and C2 of a Key History Object; ok is false for anything
// but one-byte counters present exactly once each (then the object is not trusted).
func parseKeyHistory(data []byte) (c1, c2 int, ok bool) {
	elems, err := apdu.ParseAll(data)
	if err != nil {
		return 0, 0, false
	}
	seen1, seen2 := false, false
	for _, e := range elems {
		switch e.Tag {
		case 0xC1, 0xC2:
			if len(e.Value) != 1 || (e.Tag == 0xC1 && seen1) || (e.Tag == 0xC2 && seen2) {
				return 0, 0, false
			}
			if e.Tag == 0xC1 {
				c1, seen1 = int(e.Value[0]), true
			} else {
				c2, seen2 = int(e.Value[0]), true
			}
		}
	}
	return c1, c2, seen1 && seen2
}

// retiredUnused reports a retired slot that is not read (empty, no APDU): on a card
// without GET METADATA (not a YubiKey 5.3+), a slot beyond what the Key History Object
// counts, which this token did not write either. Such a card shows a key only through
// its certificate, and the object says which containers hold one: a CMS-issued PIV card
// costs 1 GET DATA instead of 20 for its retired slots.
//
// On a YubiKey 5.3+ every retired slot is asked (GET METADATA): a key without a
// certificate is common there (ykman, yubico-piv-tool and our own key generation
// create one; none of them counts it in the object, which has no place for it), and
// the object cannot say where such keys are. OpenSC lists retired slots only up to C1
// and none on a card without the object; we list every retired key. Caller runs
// inside transact.
func (t *Token) retiredUnused(ref byte) (bool, error) {
	if !retired(ref) || t.atLeast(5, 3) || t.knownCerts[ref] || t.knownPub[ref] != nil {
		return false, nil
	}
	n, err := t.retiredInUse()
	if err != nil {
		return false, err
	}
	return int(ref-0x82) >= n, nil
}

// issuersHistory reports a Key History Object (its content, C1 C2 F3 FE) that names
// off-card certificates (C2 > 0 or an F3 URL): an issuer's, which pcsc11 leaves alone.
// A content that does not parse is nobody's and may be rewritten.
func issuersHistory(content []byte) bool {
	elems, err := apdu.ParseAll(content)
	if err != nil {
		return false
	}
	for _, e := range elems {
		if (e.Tag == 0xC2 && !allZero(e.Value)) || e.Tag == 0xF3 {
			return true
		}
	}
	return false
}

// retired reports the retired key management slots 82..95.
func retired(ref byte) bool { return ref >= 0x82 && ref <= 0x95 }
