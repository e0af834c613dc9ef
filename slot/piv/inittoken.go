package piv

import (
	"bytes"
	"crypto/rand"
	"time"

	"github.com/pcsc11/pcsc11/apdu"
	"github.com/pcsc11/pcsc11/ck"
	"github.com/pcsc11/pcsc11/secret"
	"github.com/pcsc11/pcsc11/slot"
)

const (
	insReset   = 0xFB
	objCHUID   = 0x5FC102
	objCCC     = 0x5FC107
	maxBlockOf = 300 // bound on the wrong tries sent to block a PIN or PUK (YubiKey allows up to 255 tries)
)

// Factory values of a YubiKey after RESET.
var (
	defaultPUK    = []byte("12345678")
	defaultMgmKey = []byte{1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8}
)

// InitToken is C_InitToken on a YubiKey (spec 5.6.3). soPIN is either the
// management key (32/48/64 hex digits) or the PUK (6-8 characters), and it must be the
// card's current one: otherwise CKR_PIN_INCORRECT and nothing on the card changed.
// Then, in one PC/SC transaction:
//
//  1. the PIN and then the PUK are blocked with values known not to be theirs (RESET
//     is only allowed when both are blocked),
//  2. RESET (00 FB) returns the application to factory state,
//  3. soPIN becomes the SO credential again:
//     - hex: it is the new management key; the PUK stays 12345678 (the token then
//     reports CKF_SO_PIN_TO_BE_CHANGED until the SO changes it with C_SetPIN);
//     - a PUK: it is the new PUK, and the management key becomes a random key stored
//     PIN-protected the way ykman --protect does (so a user login administers the
//     card, and no default management key is left);
//  4. a fresh CHUID (new random GUID) and CCC are written, and the label object.
//
// The PIN is 123456 afterwards (CKF_USER_PIN_TO_BE_CHANGED); C_InitPIN sets it.
// Other PIV cards have no reset: CKR_FUNCTION_NOT_SUPPORTED.
func (t *Token) InitToken(soPIN []byte, label string) error {
	t.mu.Lock()
	defer t.unlock()
	if !t.yubikey {
		return slot.NewError(ck.CKR_FUNCTION_NOT_SUPPORTED, "piv: only YubiKeys can be reset; personalize this card with its issuer's tools", nil)
	}
	if soPIN == nil {
		return slot.NewError(ck.CKR_FUNCTION_NOT_SUPPORTED, "piv: C_InitToken on a PIN pad is not available", nil)
	}
	label = cleanLabel(label)
	// Check the new credential's form before anything is sent.
	var pukBlk, mgmKey []byte
	var err error
	if isMgmKeyHex(soPIN) {
		held, err := decodeMgmKey(soPIN, ck.CKR_PIN_INCORRECT)
		if err != nil {
			return err
		}
		defer held.Wipe()
		mgmKey = held.Bytes()
		if err := t.checkMgmKeyLen(len(mgmKey)); err != nil {
			return err
		}
	} else {
		if pukBlk, err = pinBlock(soPIN); err != nil {
			return err
		}
		defer clear(pukBlk)
	}
	return t.transact(func() error {
		// 0. The SO credential: nothing changes when it is wrong.
		if mgmKey != nil {
			if err := t.authMgm(mgmKey); err != nil {
				return err
			}
		} else if err := t.changeRef(refPUK, pukBlk, pukBlk); err != nil {
			return refError(err, "PUK")
		}
		// From here on the card's credentials and content go; so does our login state.
		t.lostSecurity()
		t.forgetPUK()
		t.forgetObjects()
		t.disk.Clear() // the reset below empties every certificate container
		t.knownPub, t.knownCerts = nil, nil
		t.labelRead = false

		// 1. Block PIN and PUK. The PIN is unknown to us, unless it is the default;
		// the PUK is known in PUK mode.
		var knownPIN, knownPUK []byte
		if t.atLeast(5, 3) {
			if m, err := t.getMetadata(refPIN); err == nil && m.isDefault {
				knownPIN, _ = pinBlock([]byte("123456"))
			} else if err != nil && isTransport(err) {
				return err
			}
		}
		if pukBlk != nil {
			knownPUK = pukBlk
		}
		if err := t.block(knownPIN, func(v []byte) error {
			_, err := t.exchange(apdu.Command{INS: insVerify, P2: refPIN, Data: v})
			return err
		}); err != nil {
			return err
		}
		if err := t.block(knownPUK, func(v []byte) error { return t.changeRef(refPUK, v, v) }); err != nil {
			return err
		}
		// 2. Reset.
		if _, err := t.exchange(apdu.Command{INS: insReset}); err != nil {
			return mapErr("RESET", err)
		}
		// 3. New SO credential, starting from the factory management key.
		if err := t.authMgm(defaultMgmKey); err != nil {
			return mapErr("authenticate with the factory management key after RESET", err)
		}
		cur, err := t.mgmAlg()
		if err != nil {
			return err
		}
		if mgmKey != nil {
			if err := t.setNewMgmKey(mgmKey, cur); err != nil {
				return err
			}
		} else {
			def, _ := pinBlock(defaultPUK)
			if err := t.changeRef(refPUK, def, pukBlk); err != nil {
				return mapErr("set the PUK", err)
			}
			n := 24
			if cur == algAES128 {
				n = 16
			}
			held := secret.Zeroed(n)
			defer held.Wipe()
			key := held.Bytes()
			if _, err := rand.Read(key); err != nil {
				return slot.NewError(ck.CKR_FUNCTION_FAILED, "piv: no randomness", err)
			}
			if err := t.setNewMgmKey(key, cur); err != nil {
				return err
			}
			if err := t.writeProtectedKey(key); err != nil {
				return err
			}
		}
		// 4. Identity objects and the label.
		chuid, err := newCHUID()
		if err != nil {
			return err
		}
		if err := t.putData(objCHUID, chuid); err != nil {
			return err
		}
		ccc, err := newCCC()
		if err != nil {
			return err
		}
		if err := t.putData(objCCC, ccc); err != nil {
			return err
		}
		if err := t.writeLabel(label); err != nil {
			return err
		}
		t.chuidRead = false
		// Leave no management-key authentication behind: select again.
		t.lostSecurity()
		return t.selectApp()
	})
}

// setNewMgmKey sets key with the algorithm its length names and authenticates with it.
func (t *Token) setNewMgmKey(key []byte, cur byte) error {
	alg, err := t.newMgmAlg(len(key), cur)
	if err != nil {
		return err
	}
	if err := t.setMgmKey(alg, key); err != nil {
		return err
	}
	return t.authMgm(key)
}

// block sends wrong values through try until the card reports the reference blocked
// (63C0 or 6983). The values are 8-byte blocks starting with six NUL bytes, which no
// keyboard produces, and each is compared with known (the current value when we know
// it) and skipped when equal: we never send a guess that we know to be the real value.
// Should one be accepted anyway (a PIN of NULs), the card has told us the value and the
// next candidates differ from it; the loop is bounded.
func (t *Token) block(known []byte, try func([]byte) error) error {
	for i := 0; i < maxBlockOf; i++ {
		cand := []byte{0, 0, 0, 0, 0, 0, byte(i >> 8), byte(i)}
		if bytes.Equal(cand, known) {
			continue
		}
		err := try(cand)
		switch {
		case err == nil:
			known = cand
			continue
		case apdu.IsAuthBlocked(err):
			return nil
		}
		n, ok := apdu.RetriesLeft(err)
		if !ok {
			return mapErr("block PIN/PUK before RESET", err)
		}
		if n == 0 {
			return nil
		}
	}
	return slot.NewError(ck.CKR_DEVICE_ERROR, "piv: the card did not block the PIN/PUK", nil)
}

// fascnNoAgency is the FASC-N ykman and yubico-piv-tool put in the CHUIDs they generate
// (agency code 9999, all other fields zero), so pcsc11's CHUID looks like theirs.
var fascnNoAgency = []byte{0xD4, 0xE7, 0x39, 0xDA, 0x73, 0x9C, 0xED, 0x39, 0xCE, 0x73, 0x9D,
	0x83, 0x68, 0x58, 0x21, 0x08, 0x42, 0x10, 0x84, 0x21, 0xC8, 0x42, 0x10, 0xC3, 0xEB}

// newCHUID builds a CHUID (SP 800-73-4 part 1, table 9): 30 FASC-N, 34 GUID (16 random
// bytes, an RFC 4122 version 4 UUID), 35 expiration date YYYYMMDD, 3E issuer signature
// (empty: not a government-issued card), FE error detection code.
func newCHUID() ([]byte, error) {
	guid := make([]byte, 16)
	if _, err := rand.Read(guid); err != nil {
		return nil, slot.NewError(ck.CKR_FUNCTION_FAILED, "piv: no randomness", err)
	}
	guid[6] = guid[6]&0x0F | 0x40
	guid[8] = guid[8]&0x3F | 0x80
	b := apdu.EncodeTLV(0x30, fascnNoAgency)
	b = apdu.AppendTLV(b, 0x34, guid)
	b = apdu.AppendTLV(b, 0x35, []byte(time.Now().UTC().AddDate(10, 0, 0).Format("20060102")))
	b = apdu.AppendTLV(b, 0x3E, nil)
	return apdu.AppendTLV(b, 0xFE, nil), nil
}

// newCCC builds a Card Capability Container (SP 800-73-4 part 1, table 8): F0 card
// identifier (GSC-IS RID A0 00 00 01 16, manufacturer FF, card type 02, 14 random
// bytes), F1/F2 versions 21, F3 application URL, F4 PKCS#15 00, F5 data model 10, and
// the empty F6, F7, FA-FD and FE elements, as ykman writes it.
func newCCC() ([]byte, error) {
	id := []byte{0xA0, 0x00, 0x00, 0x01, 0x16, 0xFF, 0x02}
	r := make([]byte, 14)
	if _, err := rand.Read(r); err != nil {
		return nil, slot.NewError(ck.CKR_FUNCTION_FAILED, "piv: no randomness", err)
	}
	b := apdu.EncodeTLV(0xF0, append(id, r...))
	b = apdu.AppendTLV(b, 0xF1, []byte{0x21})
	b = apdu.AppendTLV(b, 0xF2, []byte{0x21})
	b = apdu.AppendTLV(b, 0xF3, nil)
	b = apdu.AppendTLV(b, 0xF4, []byte{0x00})
	b = apdu.AppendTLV(b, 0xF5, []byte{0x10})
	for _, tag := range []uint32{0xF6, 0xF7, 0xFA, 0xFB, 0xFC, 0xFD, 0xFE} {
		b = apdu.AppendTLV(b, tag, nil)
	}
	return b, nil
}
