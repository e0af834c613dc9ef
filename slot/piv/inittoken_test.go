package piv

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"testing"

	"github.com/pcsc11/pcsc11/apdu"
	"github.com/pcsc11/pcsc11/ck"
)

// demoCard is a state-file card with demo content and a non-default PIN, so a reset
// has something to remove.
func demoCard(t *testing.T) (*testCard, string) {
	t.Helper()
	m, path := newStateCard(t)
	if err := m.c.Provision("demo"); err != nil {
		t.Fatal(err)
	}
	tok := openToken(t, m)
	if err := tok.SetPIN(ck.CKU_USER, []byte(testPIN), []byte("97531864")); err != nil {
		t.Fatal(err)
	}
	return m, path
}

func TestInitTokenWrongSO(t *testing.T) {
	m, path := demoCard(t)
	tok := openToken(t, m)
	before := readState(t, path)
	wantRV(t, "wrong management key", tok.InitToken([]byte("0102030405060708010203040506070801020304050607ff"), "x"), ck.CKR_PIN_INCORRECT)
	if readState(t, path) != before {
		t.Error("InitToken with a wrong management key changed the card")
	}
	wantRV(t, "wrong PUK", tok.InitToken([]byte("87654321"), "x"), ck.CKR_PIN_INCORRECT)
	// Nothing changed but the PUK retry counter (which any PUK check costs).
	var b, a map[string]any
	json.Unmarshal([]byte(before), &b)
	json.Unmarshal([]byte(readState(t, path)), &a)
	if a["puk_left"].(float64) != 2 {
		t.Errorf("puk_left %v", a["puk_left"])
	}
	delete(a, "puk_left")
	delete(b, "puk_left")
	aj, _ := json.Marshal(a)
	bj, _ := json.Marshal(b)
	if !bytes.Equal(aj, bj) {
		t.Error("InitToken with a wrong PUK changed the card beyond the PUK counter")
	}
	before = readState(t, path)
	apdus := m.apdus
	wantRV(t, "SO value of bad length", tok.InitToken([]byte("1234567890"), "x"), ck.CKR_PIN_LEN_RANGE)
	if readState(t, path) != before || m.apdus != apdus {
		t.Error("a malformed SO value reached the card")
	}
	tok.yubikey = false
	wantRV(t, "plain PIV card", tok.InitToken([]byte(defaultMgm), "x"), ck.CKR_FUNCTION_NOT_SUPPORTED)
}

func TestInitTokenManagementKey(t *testing.T) {
	m, _ := demoCard(t)
	oldCHUID := cardObject(t, m, objCHUID)
	oldGUID, _, _ := apdu.Find(oldCHUID, 0x34)
	// Record every PIN value sent: none may be the real PIN (97531864).
	var verified [][]byte
	m.corrupt = func(cmd, resp []byte) []byte {
		if c, err := apdu.ParseCommand(cmd); err == nil && c.INS == insVerify && len(c.Data) == 8 {
			verified = append(verified, c.Data)
		}
		return resp
	}
	tok := openToken(t, m)
	// soPIN is the current management key, and stays the SO credential.
	newKey := "f0e1d2c3b4a5968778695a4b3c2d1e0ff0e1d2c3b4a59687"
	soLogin(t, tok)
	if err := tok.SetPIN(ck.CKU_SO, []byte(defaultMgm), []byte(newKey)); err != nil {
		t.Fatal(err)
	}
	tok.Logout()
	if err := tok.InitToken([]byte(newKey), "Alice's key                     "); err != nil {
		t.Fatalf("InitToken: %v", err)
	}
	m.corrupt = nil
	realPIN, _ := pinBlock([]byte("97531864"))
	if len(verified) != 3 {
		t.Errorf("%d VERIFY to block a 3-try PIN", len(verified))
	}
	for _, v := range verified {
		if bytes.Equal(v, realPIN) {
			t.Error("InitToken sent the real PIN as a blocking guess")
		}
	}
	// Factory state, with the new SO credential.
	for _, ref := range []byte{0x9A, 0x9C, 0x9D, 0x9E} {
		if cardMeta(t, m, ref) != nil {
			t.Errorf("key %02X survived the reset", ref)
		}
	}
	if cardMeta(t, m, 0xF9) == nil {
		t.Error("the attestation key is gone")
	}
	if md := cardMeta(t, m, refPIN); !md.isDefault || md.retries[1] != 3 {
		t.Errorf("PIN after reset: %+v", md)
	}
	if md := cardMeta(t, m, refMgmKey); md.isDefault || md.alg != algAES192 {
		t.Errorf("management key after reset: %+v", md)
	}
	chuid := cardObject(t, m, objCHUID)
	guid, ok, _ := apdu.Find(chuid, 0x34)
	fascn, _, _ := apdu.Find(chuid, 0x30)
	exp, _, _ := apdu.Find(chuid, 0x35)
	if !ok || len(guid) != 16 || bytes.Equal(guid, oldGUID) || guid[6]>>4 != 4 || len(fascn) != 25 || len(exp) != 8 {
		t.Errorf("CHUID %x", chuid)
	}
	ccc := cardObject(t, m, objCCC)
	if id, ok, _ := apdu.Find(ccc, 0xF0); !ok || len(id) != 21 {
		t.Errorf("CCC %x", ccc)
	}
	if l := cardObject(t, m, objLabel); !bytes.Equal(l, append([]byte{0x50, 11}, "Alice's key"...)) {
		t.Errorf("label object %x", l)
	}
	// What the token tells afterwards.
	tok2 := openToken(t, m)
	info, err := tok2.Info()
	if err != nil {
		t.Fatal(err)
	}
	if info.Label != "Alice's key" {
		t.Errorf("label %q", info.Label)
	}
	if info.Flags&ck.CKF_USER_PIN_TO_BE_CHANGED == 0 || info.Flags&ck.CKF_SO_PIN_TO_BE_CHANGED == 0 {
		t.Errorf("flags %#x: PIN and PUK are the defaults", info.Flags)
	}
	if objs, _ := tok2.Objects(); len(objs) != 1+3 { // the attestation certificate; CHUID, CCC, Discovery
		t.Errorf("%d objects after reset: %v", len(objs), objKeys(objs))
	}
	wantRV(t, "old management key", tok2.Login(ck.CKU_SO, []byte(defaultMgm)), ck.CKR_PIN_INCORRECT)
	if err := tok2.Login(ck.CKU_SO, []byte(newKey)); err != nil {
		t.Errorf("new management key: %v", err)
	}
	// The initializing token itself also reports the new state.
	if info, _ := tok.Info(); info.Label != "Alice's key" {
		t.Errorf("label on the same token %q", info.Label)
	}
	if tok.loggedIn || tok.soLoggedIn || tok.userAdmin {
		t.Error("InitToken left a login")
	}
}

func TestInitTokenPUK(t *testing.T) {
	m, _ := demoCard(t)
	tok := openToken(t, m)
	// soPIN is the current PUK, and stays the SO credential.
	if err := tok.Login(ck.CKU_SO, []byte(defaultPUKStr)); err != nil {
		t.Fatal(err)
	}
	if err := tok.SetPIN(ck.CKU_SO, []byte(defaultPUKStr), []byte("24682468")); err != nil {
		t.Fatal(err)
	}
	tok.Logout()
	var pukValues [][]byte
	m.corrupt = func(cmd, resp []byte) []byte {
		if c, err := apdu.ParseCommand(cmd); err == nil && c.INS == insChangeRef && c.P2 == refPUK && len(c.Data) == 16 {
			pukValues = append(pukValues, c.Data[:8])
		}
		return resp
	}
	if err := tok.InitToken([]byte("24682468"), ""); err != nil {
		t.Fatalf("InitToken: %v", err)
	}
	m.corrupt = nil
	// The PUK check, three blocking tries (never the PUK), the PUK set again after
	// RESET (old value: the factory PUK).
	puk, _ := pinBlock([]byte("24682468"))
	def, _ := pinBlock([]byte(defaultPUKStr))
	if len(pukValues) != 5 || !bytes.Equal(pukValues[0], puk) || !bytes.Equal(pukValues[4], def) {
		t.Fatalf("PUK commands: %d", len(pukValues))
	}
	for _, v := range pukValues[1:4] {
		if bytes.Equal(v, puk) {
			t.Error("the real PUK was sent as a blocking guess")
		}
	}
	// ykman's PIN-protected management key: ADMIN DATA flag 02, key in PRINTED.
	if ad := cardObject(t, m, objAdminData); !bytes.Equal(ad, []byte{0x80, 0x03, 0x81, 0x01, 0x02}) {
		t.Errorf("ADMIN DATA %x", ad)
	}
	if cardObject(t, m, objLabel) != nil {
		t.Error("empty label stored")
	}
	tok2 := openToken(t, m)
	info, _ := tok2.Info()
	if info.Flags&ck.CKF_SO_PIN_TO_BE_CHANGED != 0 || info.Flags&ck.CKF_USER_PIN_TO_BE_CHANGED == 0 {
		t.Errorf("flags %#x", info.Flags)
	}
	if info.Label != "YubiKey PIV #12345678" {
		t.Errorf("label %q", info.Label)
	}
	wantRV(t, "default management key", tok2.Login(ck.CKU_SO, []byte(defaultMgm)), ck.CKR_PIN_INCORRECT)
	// SO by PUK sets the PIN; the user administers the card through the protected key.
	if err := tok2.Login(ck.CKU_SO, []byte("24682468")); err != nil {
		t.Fatal(err)
	}
	_, _, err := tok2.GenerateKeyPair(ck.CKM_EC_KEY_PAIR_GEN, ecTmpl(0x01, algP256), nil)
	wantRV(t, "generate as PUK SO", err, ck.CKR_USER_NOT_LOGGED_IN)
	if err := tok2.InitPIN([]byte("11335577")); err != nil {
		t.Fatal(err)
	}
	tok2.Logout()
	if err := tok2.Login(ck.CKU_USER, []byte("11335577")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := tok2.GenerateKeyPair(ck.CKM_EC_KEY_PAIR_GEN, ecTmpl(0x01, algP256), nil); err != nil {
		t.Fatalf("generate with the PIN-protected key: %v", err)
	}
	checkSigns(t, tok2, 0x9A)
	// The stored key is the card's management key: it opens the card as SO too.
	if _, err := raw(m, apdu.Command{INS: insVerify, P2: refPIN, Data: []byte("11335577")}); err != nil {
		t.Fatal(err)
	}
	key, _, _ := apdu.FindPath(cardObject(t, m, objPrinted), 0x88, 0x89)
	if len(key) != 24 {
		t.Fatalf("protected key of %d bytes", len(key))
	}
	if err := openToken(t, m).Login(ck.CKU_SO, []byte(hex.EncodeToString(key))); err != nil {
		t.Errorf("the PIN-protected key does not open the card: %v", err)
	}
}
