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
		if elems, perr := apdu.ParseAll(cur); perr == nil {
			for _, e := range elems {
				if (e.Tag == 0xC2 && !allZero(e.Value)) || e.Tag == 0xF3 {
					return nil
				}
			}
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
	if err := t.putData(objKeyHistory, want); err != nil && isTransport(err) {
		return err // otherwise best effort: the certificate itself is written
	}
	return nil
}

// retired reports the retired key management slots 82..95.
func retired(ref byte) bool { return ref >= 0x82 && ref <= 0x95 }
