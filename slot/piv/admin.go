package piv

import (
	"encoding/hex"
	"errors"

	"github.com/pcsc11/pcsc11/apdu"
	"github.com/pcsc11/pcsc11/ck"
	"github.com/pcsc11/pcsc11/secret"
	"github.com/pcsc11/pcsc11/slot"
)

// Data objects of the YubiKey management conventions (ykman, yubico-piv-tool, Yubico's
// SDKs): ADMIN DATA 5FFF00 = 80 { 81 flags, 82 salt, 83 PIN timestamp }, and the
// PIN-protected management key in PRINTED 5FC109 = 88 { 89 key } (readable only after
// VERIFY, which is the protection).
const (
	objAdminData = 0x5FFF00
	objPrinted   = 0x5FC109
	insPutData   = 0xDB

	adminFlagPUKBlocked   = 0x01
	adminFlagKeyProtected = 0x02
)

// adminData is the ADMIN DATA object, with the elements we do not interpret kept so a
// rewrite preserves what other tools stored there.
type adminData struct {
	flags byte
	other []apdu.TLV // 82 salt, 83 timestamp, anything newer
}

func (a *adminData) protected() bool { return a.flags&adminFlagKeyProtected != 0 }

// readAdminData reads 5FFF00. Absent or malformed counts as empty, as ykman does: the
// object is a convenience record, not a security boundary.
func (t *Token) readAdminData() (*adminData, error) {
	data, err := t.getData(objAdminData)
	if err != nil {
		if isTransport(err) {
			return nil, err
		}
		return &adminData{}, nil
	}
	return parseAdminData(data), nil
}

// parseAdminData reads the content of 5FFF00 (80 { 81 flags, 82 salt, 83 timestamp,
// ... }); anything malformed counts as empty.
func parseAdminData(data []byte) *adminData {
	a := &adminData{}
	inner, ok, err := apdu.Find(data, 0x80)
	if err != nil || !ok {
		return a
	}
	elems, err := apdu.ParseAll(inner)
	if err != nil {
		return a
	}
	for _, e := range elems {
		if e.Tag == 0x81 {
			if len(e.Value) == 1 {
				a.flags = e.Value[0]
			}
			continue
		}
		a.other = append(a.other, e)
	}
	return a
}

func (a *adminData) encode() []byte {
	body := apdu.EncodeTLV(0x81, []byte{a.flags})
	for _, e := range a.other {
		body = apdu.AppendTLV(body, e.Tag, e.Value)
	}
	return apdu.EncodeTLV(0x80, body)
}

// putData is PUT DATA 00 DB 3F FF with 5C <tag> 53 <content> (SP 800-73-4 part 2,
// 3.3.1); empty content deletes the object. Needs the management key.
func (t *Token) putData(tag uint32, content []byte) error {
	t.disk.Delete(tag) // whatever the outcome, the disk copy may be stale now
	data := apdu.EncodeTLV(0x5C, tagBytes(tag))
	data = apdu.AppendTLV(data, 0x53, content)
	_, err := t.exchange(apdu.Command{INS: insPutData, P1: 0x3F, P2: 0xFF, Data: data})
	return writeError(err)
}

func tagBytes(tag uint32) []byte {
	switch {
	case tag <= 0xFF:
		return []byte{byte(tag)}
	case tag <= 0xFFFF:
		return []byte{byte(tag >> 8), byte(tag)}
	}
	return []byte{byte(tag >> 16), byte(tag >> 8), byte(tag)}
}

// writeError maps the answers of write commands (PUT DATA, GENERATE, IMPORT, MOVE).
func writeError(err error) error {
	switch {
	case err == nil:
		return nil
	case apdu.IsSecurityStatusNotSatisfied(err):
		return slot.NewError(ck.CKR_USER_NOT_LOGGED_IN, "piv: the card wants the management key", nil)
	case swIs(err, apdu.SWNotEnoughMemory):
		return slot.NewError(ck.CKR_DEVICE_MEMORY, "piv: not enough memory on the card", nil)
	}
	return err
}

// protectedKey reads the PIN-protected management key from PRINTED (the PIN must be
// verified), into locked memory. The caller wipes the result.
func (t *Token) protectedKey() (*secret.Bytes, error) {
	data, err := t.getData(objPrinted)
	if err != nil {
		if apdu.IsSecurityStatusNotSatisfied(err) {
			return nil, slot.NewError(ck.CKR_USER_NOT_LOGGED_IN, "piv: the PIN is no longer verified", nil)
		}
		if isTransport(err) {
			return nil, err
		}
		return nil, slot.NewError(ck.CKR_USER_NOT_LOGGED_IN, "piv: the card has no PIN-protected management key", nil)
	}
	defer clear(data)
	key, ok, err := apdu.FindPath(data, 0x88, 0x89)
	if err != nil || !ok || len(key) == 0 {
		return nil, slot.NewError(ck.CKR_USER_NOT_LOGGED_IN, "piv: the card has no PIN-protected management key", nil)
	}
	return secret.Hold(key), nil
}

// writeProtectedKey stores key as ykman --protect does: PRINTED = 88 { 89 key } and
// ADMIN DATA flag 02 (other admin elements kept).
func (t *Token) writeProtectedKey(key []byte) error {
	content := apdu.EncodeTLV(0x88, apdu.EncodeTLV(0x89, key))
	defer clear(content)
	if err := t.putData(objPrinted, content); err != nil {
		return err
	}
	a, err := t.readAdminData()
	if err != nil {
		return err
	}
	a.flags |= adminFlagKeyProtected
	return t.putData(objAdminData, a.encode())
}

// ensureAdmin makes sure the card holds a management-key authentication before a
// write: an SO login with the management key, or (as ykcs11 allows) a user
// login on a card whose management key is PIN-protected, in which case the key is
// read from PRINTED and used once. Caller runs inside transact.
func (t *Token) ensureAdmin() error {
	if t.soLoggedIn || (t.userAdmin && t.loggedIn) {
		return nil
	}
	if t.soPUK != nil {
		return slot.NewError(ck.CKR_USER_NOT_LOGGED_IN,
			"piv: writing to the card needs the management key; an SO login with the PUK can only set PINs", nil)
	}
	if !t.loggedIn {
		return slot.NewError(ck.CKR_USER_NOT_LOGGED_IN, "piv: writing to the card needs an SO login with the management key", nil)
	}
	a, err := t.readAdminData()
	if err != nil {
		return err
	}
	if !a.protected() {
		return slot.NewError(ck.CKR_USER_NOT_LOGGED_IN,
			"piv: the management key is not PIN-protected: log in as SO with the management key", nil)
	}
	key, err := t.protectedKey()
	if err != nil {
		return err
	}
	defer key.Wipe()
	if err := t.authMgm(key.Bytes()); err != nil {
		if slot.RV(err) == ck.CKR_PIN_INCORRECT {
			return slot.NewError(ck.CKR_USER_NOT_LOGGED_IN, "piv: the PIN-protected management key does not open the card", nil)
		}
		return err
	}
	t.userAdmin = true
	return nil
}

// mgmAlg is the card's management key algorithm: GET METADATA 9B on YubiKey 5.3+, else
// the one the last authentication found (mutualAuth), else 3DES.
func (t *Token) mgmAlg() (byte, error) {
	if t.mgmAlgSeen != 0 && !t.atLeast(5, 3) {
		return t.mgmAlgSeen, nil
	}
	c, err := t.mgmAlgCandidates(24)
	if err != nil {
		return 0, err
	}
	return c[0], nil
}

// authMgm authenticates with a raw management key (mutual GENERAL AUTHENTICATE).
func (t *Token) authMgm(key []byte) error {
	candidates, err := t.mgmAlgCandidates(len(key))
	if err != nil {
		return err
	}
	// The witness request drops any authentication the card held.
	t.soLoggedIn, t.userAdmin = false, false
	return t.mutualAuth(candidates, key)
}

// decodeMgmKey turns 32/48/64 hex digits into a key, in locked memory (package
// secret); rv is the error code for a value that is not hex. The caller wipes it.
func decodeMgmKey(hexKey []byte, rv ck.ULong) (*secret.Bytes, error) {
	if !isMgmKeyHex(hexKey) {
		return nil, slot.NewError(ck.CKR_PIN_LEN_RANGE, "piv: management key must be 32, 48 or 64 hex digits", nil)
	}
	key := secret.Zeroed(len(hexKey) / 2)
	if _, err := hex.Decode(key.Bytes(), hexKey); err != nil {
		key.Wipe()
		return nil, slot.NewError(rv, "piv: management key is not hex", nil)
	}
	return key, nil
}

// newMgmAlg picks the algorithm of a new management key of n bytes: AES-128/AES-256
// by length (YubiKey 5.4+), and for 24 bytes the card's current 24-byte algorithm
// (3DES, or AES-192 the 5.7 default), AES-192 after an AES-128/256 key.
func (t *Token) newMgmAlg(n int, current byte) (byte, error) {
	switch n {
	case 16:
		return algAES128, nil
	case 32:
		return algAES256, nil
	case 24:
		if current == alg3DES || current == algAES192 {
			return current, nil
		}
		return algAES192, nil
	}
	return 0, errors.New("piv: management key length")
}

// checkMgmKeyLen refuses, before any APDU, a key length the card cannot take.
func (t *Token) checkMgmKeyLen(n int) error {
	if (n == 16 || n == 32) && !t.atLeast(5, 4) {
		return slot.NewError(ck.CKR_PIN_LEN_RANGE, "piv: AES management keys need YubiKey 5.4 or later; give 48 hex digits (3DES)", nil)
	}
	return nil
}

// setMgmKey is SET MANAGEMENT KEY 00 FF FF FF, data <alg> 9B <len> <key> (needs the
// current management key).
func (t *Token) setMgmKey(alg byte, key []byte) error {
	data := append([]byte{alg, refMgmKey, byte(len(key))}, key...)
	defer clear(data)
	_, err := t.exchange(apdu.Command{INS: insSetMgmKey, P1: 0xFF, P2: 0xFF, Data: data})
	return writeError(err)
}

// changeMgmKey is C_SetPIN in an SO session with hex values: prove the old key, set the
// new one. On a card whose key is PIN-protected the new key is stored in PRINTED too,
// so that user logins keep administering the card (ykman does the same on
// change-management-key --protect).
func (t *Token) changeMgmKey(oldHex, newHex []byte) error {
	if !t.yubikey {
		return slot.NewError(ck.CKR_FUNCTION_NOT_SUPPORTED, "piv: this card has no command to change the management key", nil)
	}
	oldHeld, err := decodeMgmKey(oldHex, ck.CKR_PIN_INCORRECT)
	if err != nil {
		return err
	}
	defer oldHeld.Wipe()
	newHeld, err := decodeMgmKey(newHex, ck.CKR_PIN_INVALID)
	if err != nil {
		return err
	}
	defer newHeld.Wipe()
	oldKey, newKey := oldHeld.Bytes(), newHeld.Bytes()
	if err := t.checkMgmKeyLen(len(newKey)); err != nil {
		return err
	}
	return t.transact(func() error {
		cur, err := t.mgmAlg()
		if err != nil {
			return err
		}
		if err := t.authMgm(oldKey); err != nil {
			t.soLoggedIn = false
			return err
		}
		alg, err := t.newMgmAlg(len(newKey), cur)
		if err != nil {
			return err
		}
		if err := t.setMgmKey(alg, newKey); err != nil {
			return err
		}
		a, err := t.readAdminData()
		if err != nil {
			return err
		}
		if a.protected() {
			if err := t.writeProtectedKey(newKey); err != nil {
				return err
			}
		}
		// The session stays an SO session: authenticate with the new key.
		if err := t.authMgm(newKey); err != nil {
			return err
		}
		t.soLoggedIn = true
		return nil
	})
}
