package piv

import (
	"bytes"
	"runtime"
	"testing"

	"github.com/pcsc11/pcsc11/apdu"
	"github.com/pcsc11/pcsc11/ck"
)

func TestLoginPUK(t *testing.T) {
	m := newCard(t)
	tok := openToken(t, m)
	wantRV(t, "wrong PUK", tok.Login(ck.CKU_SO, []byte("87654321")), ck.CKR_PIN_INCORRECT)
	if md := cardMeta(t, m, refPUK); md.retries[1] != 2 {
		t.Errorf("PUK tries left %d after a wrong PUK, want 2", md.retries[1])
	}
	if tok.soPUK != nil {
		t.Error("wrong PUK kept")
	}
	if err := tok.Login(ck.CKU_SO, []byte(defaultPUKStr)); err != nil {
		t.Fatalf("PUK login: %v", err)
	}
	// The check changed nothing but the counter, which the right PUK restores.
	md := cardMeta(t, m, refPUK)
	if md.retries[1] != 3 || !md.isDefault {
		t.Errorf("PUK after login: %+v", md)
	}
	if tok.soLoggedIn {
		t.Error("a PUK login is not a management-key login")
	}
	// Held like the cached PIN: in locked memory outside the Go heap, and
	// wiped, not merely dropped, at logout.
	held := tok.soPUK
	if !bytes.Equal(held.Bytes(), []byte(defaultPUKStr)) || (runtime.GOOS == "linux" && !held.Locked()) {
		t.Errorf("PUK held as %q, locked %v", held.Bytes(), held.Locked())
	}
	if err := tok.Logout(); err != nil || tok.soPUK != nil || held.Bytes() != nil {
		t.Errorf("logout kept the PUK: %v", err)
	}
	// Lengths and the padding byte are refused before any APDU.
	before := m.apdus
	wantRV(t, "5-character PUK", tok.Login(ck.CKU_SO, []byte("12345")), ck.CKR_PIN_LEN_RANGE)
	wantRV(t, "PUK with FF", tok.Login(ck.CKU_SO, []byte("1234\xff678")), ck.CKR_PIN_INVALID)
	if m.apdus != before {
		t.Error("a malformed PUK reached the card")
	}
}

func TestInitPIN(t *testing.T) {
	m := newCard(t)
	tok := openToken(t, m)
	wantRV(t, "InitPIN without SO", tok.InitPIN([]byte("24681357")), ck.CKR_USER_NOT_LOGGED_IN)
	soLogin(t, tok)
	wantRV(t, "InitPIN as management-key SO", tok.InitPIN([]byte("24681357")), ck.CKR_USER_NOT_LOGGED_IN)
	tok.Logout()
	// Block the PIN first: C_InitPIN is how an SO unblocks it.
	for i := 0; i < 3; i++ {
		tok.Login(ck.CKU_USER, []byte("000000"))
	}
	if err := tok.Login(ck.CKU_SO, []byte(defaultPUKStr)); err != nil {
		t.Fatal(err)
	}
	before := m.apdus
	wantRV(t, "short PIN", tok.InitPIN([]byte("123")), ck.CKR_PIN_LEN_RANGE)
	wantRV(t, "long PIN", tok.InitPIN([]byte("123456789")), ck.CKR_PIN_LEN_RANGE)
	if m.apdus != before {
		t.Error("a PIN of the wrong length reached the card")
	}
	if err := tok.InitPIN([]byte("24681357")); err != nil {
		t.Fatalf("InitPIN: %v", err)
	}
	tok.Logout()
	wantRV(t, "old PIN", tok.Login(ck.CKU_USER, []byte(testPIN)), ck.CKR_PIN_INCORRECT)
	if err := tok.Login(ck.CKU_USER, []byte("24681357")); err != nil {
		t.Errorf("new PIN: %v", err)
	}
	info, _ := tok.Info()
	if info.Flags&(ck.CKF_USER_PIN_TO_BE_CHANGED|ck.CKF_USER_PIN_LOCKED) != 0 {
		t.Errorf("flags %#x after InitPIN", info.Flags)
	}
}

func TestInitPINForgetsRejectedPUK(t *testing.T) {
	m := newCard(t)
	tok := openToken(t, m)
	if err := tok.Login(ck.CKU_SO, []byte(defaultPUKStr)); err != nil {
		t.Fatal(err)
	}
	// Another program changes the PUK behind our back.
	old, _ := pinBlock([]byte(defaultPUKStr))
	nw, _ := pinBlock([]byte("11112222"))
	if _, err := raw(m, apdu.Command{INS: insChangeRef, P2: refPUK, Data: append(old, nw...)}); err != nil {
		t.Fatal(err)
	}
	held := tok.soPUK
	wantRV(t, "InitPIN with a stale PUK", tok.InitPIN([]byte("24681357")), ck.CKR_USER_NOT_LOGGED_IN)
	if tok.soPUK != nil || held.Bytes() != nil {
		t.Fatal("the rejected PUK is kept")
	}
	before := cardMeta(t, m, refPUK).retries[1]
	wantRV(t, "InitPIN again", tok.InitPIN([]byte("24681357")), ck.CKR_USER_NOT_LOGGED_IN)
	if after := cardMeta(t, m, refPUK).retries[1]; after != before {
		t.Error("a rejected PUK was sent again")
	}
}

func TestSetPINUser(t *testing.T) {
	m := newCard(t)
	tok := openToken(t, m)
	before := m.apdus
	wantRV(t, "short new PIN", tok.SetPIN(ck.CKU_USER, []byte(testPIN), []byte("12")), ck.CKR_PIN_LEN_RANGE)
	wantRV(t, "long old PIN", tok.SetPIN(ck.CKU_USER, []byte("123456789"), []byte("654321")), ck.CKR_PIN_LEN_RANGE)
	wantRV(t, "NULL PINs without a PIN pad", tok.SetPIN(ck.CKU_USER, nil, nil), ck.CKR_ARGUMENTS_BAD)
	if m.apdus != before {
		t.Error("a refused value reached the card")
	}
	wantRV(t, "wrong old PIN", tok.SetPIN(ck.CKU_USER, []byte("000000"), []byte("654321")), ck.CKR_PIN_INCORRECT)
	if err := tok.SetPIN(ck.CKU_USER, []byte(testPIN), []byte("654321")); err != nil {
		t.Fatal(err)
	}
	wantRV(t, "old PIN", tok.Login(ck.CKU_USER, []byte(testPIN)), ck.CKR_PIN_INCORRECT)
	if err := tok.Login(ck.CKU_USER, []byte("654321")); err != nil {
		t.Errorf("new PIN: %v", err)
	}
	if md := cardMeta(t, m, refPIN); md.isDefault {
		t.Error("the card still says default PIN")
	}
	info, _ := tok.Info()
	if info.Flags&ck.CKF_USER_PIN_TO_BE_CHANGED != 0 {
		t.Error("CKF_USER_PIN_TO_BE_CHANGED after a change")
	}
}

func TestSetPINPUK(t *testing.T) {
	m := newCard(t)
	tok := openToken(t, m)
	if err := tok.Login(ck.CKU_SO, []byte(defaultPUKStr)); err != nil {
		t.Fatal(err)
	}
	wantRV(t, "wrong old PUK", tok.SetPIN(ck.CKU_SO, []byte("00000000"), []byte("11223344")), ck.CKR_PIN_INCORRECT)
	wantRV(t, "hex-length new PUK", tok.SetPIN(ck.CKU_SO, []byte(defaultPUKStr), []byte(defaultMgm)), ck.CKR_PIN_LEN_RANGE)
	if err := tok.SetPIN(ck.CKU_SO, []byte(defaultPUKStr), []byte("11223344")); err != nil {
		t.Fatal(err)
	}
	// The SO session goes on with the new PUK.
	if err := tok.InitPIN([]byte("13572468")); err != nil {
		t.Errorf("InitPIN after the PUK change: %v", err)
	}
	info, _ := tok.Info()
	if info.Flags&ck.CKF_SO_PIN_TO_BE_CHANGED == 0 {
		t.Error("the management key is still the default: CKF_SO_PIN_TO_BE_CHANGED expected")
	}
	tok.Logout()
	wantRV(t, "old PUK", tok.Login(ck.CKU_SO, []byte(defaultPUKStr)), ck.CKR_PIN_INCORRECT)
}

func TestSetPINManagementKey(t *testing.T) {
	m, path := newStateCard(t)
	tok := openToken(t, m)
	soLogin(t, tok)
	newKey := []byte("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff") // AES-256
	wrong := []byte("0102030405060708010203040506070801020304050607ff")
	state := readState(t, path)
	wantRV(t, "wrong old key", tok.SetPIN(ck.CKU_SO, wrong, newKey), ck.CKR_PIN_INCORRECT)
	wantRV(t, "new key not hex", tok.SetPIN(ck.CKU_SO, []byte(defaultMgm), bytes.Repeat([]byte("z"), 64)), ck.CKR_PIN_INVALID)
	wantRV(t, "new key short", tok.SetPIN(ck.CKU_SO, []byte(defaultMgm), []byte("0011")), ck.CKR_PIN_LEN_RANGE)
	if readState(t, path) != state {
		t.Fatal("a refused management key change changed the card")
	}
	if err := tok.SetPIN(ck.CKU_SO, []byte(defaultMgm), newKey); err != nil {
		t.Fatal(err)
	}
	if md := cardMeta(t, m, refMgmKey); md.alg != algAES256 || md.isDefault {
		t.Errorf("management key metadata %+v", md)
	}
	if !tok.soLoggedIn {
		t.Error("the SO session lost its authentication")
	}
	tok2 := openToken(t, m)
	wantRV(t, "old key", tok2.Login(ck.CKU_SO, []byte(defaultMgm)), ck.CKR_PIN_INCORRECT)
	if err := tok2.Login(ck.CKU_SO, newKey); err != nil {
		t.Errorf("new key: %v", err)
	}
	// 48 hex digits after an AES-256 key: AES-192.
	k192 := []byte("a1a2a3a4a5a6a7a8b1b2b3b4b5b6b7b8c1c2c3c4c5c6c7c8")
	if err := tok2.SetPIN(ck.CKU_SO, newKey, k192); err != nil {
		t.Fatal(err)
	}
	if md := cardMeta(t, m, refMgmKey); md.alg != algAES192 {
		t.Errorf("algorithm %02X, want AES-192", md.alg)
	}
	// Cards before 5.4 take 3DES only: refused before any APDU.
	tok2.version = [3]byte{5, 2, 7}
	before := m.apdus
	wantRV(t, "AES on 5.2", tok2.SetPIN(ck.CKU_SO, k192, newKey[:32]), ck.CKR_PIN_LEN_RANGE)
	if m.apdus != before {
		t.Error("refused key reached the card")
	}
}

func TestSOFlags(t *testing.T) {
	m := newCard(t)
	tok := openToken(t, m)
	tok.Login(ck.CKU_SO, []byte("00000000"))
	info, _ := tok.Info()
	if info.Flags&ck.CKF_SO_PIN_COUNT_LOW == 0 || info.Flags&ck.CKF_SO_PIN_FINAL_TRY != 0 {
		t.Errorf("one wrong PUK: flags %#x", info.Flags)
	}
	tok.Login(ck.CKU_SO, []byte("00000000"))
	tok.Login(ck.CKU_SO, []byte("00000000"))
	info, _ = tok.Info()
	if info.Flags&ck.CKF_SO_PIN_LOCKED == 0 {
		t.Errorf("blocked PUK: flags %#x", info.Flags)
	}
	// Blocked PUK, default management key: still to be changed.
	if info.Flags&ck.CKF_SO_PIN_TO_BE_CHANGED == 0 {
		t.Error("default management key not flagged")
	}
}

// The SO flags are read once per token: a second C_GetTokenInfo costs only the PIN
// counter, and every command of this token that can change them makes the next one
// read them again.
func TestSOFlagsCachedAndRefreshed(t *testing.T) {
	m := newCard(t)
	tok := openToken(t, m)
	first, err := tok.Info()
	if err != nil {
		t.Fatal(err)
	}
	if first.Flags&ck.CKF_SO_PIN_COUNT_LOW != 0 {
		t.Fatalf("fresh card: flags %#x", first.Flags)
	}
	before := m.apdus
	again, _ := tok.Info()
	if n := m.apdus - before; n != 1 {
		t.Errorf("second Info sent %d APDUs, want 1 (the PIN counter)", n)
	}
	if again.Flags != first.Flags {
		t.Errorf("flags changed without a change: %#x then %#x", first.Flags, again.Flags)
	}
	// A wrong PUK through this token: the next Info shows the lower counter.
	wantRV(t, "wrong PUK", tok.Login(ck.CKU_SO, []byte("00000000")), ck.CKR_PIN_INCORRECT)
	info, _ := tok.Info()
	if info.Flags&ck.CKF_SO_PIN_COUNT_LOW == 0 {
		t.Errorf("after a wrong PUK: flags %#x, want CKF_SO_PIN_COUNT_LOW", info.Flags)
	}
	// Another program blocks the PUK: seen after Invalidate (and by a new token, i.e.
	// on the next insertion).
	other := openToken(t, m)
	other.Login(ck.CKU_SO, []byte("00000000"))
	other.Login(ck.CKU_SO, []byte("00000000"))
	tok.Invalidate()
	info, _ = tok.Info()
	if info.Flags&ck.CKF_SO_PIN_LOCKED == 0 {
		t.Errorf("PUK blocked by another program, then Invalidate: flags %#x, want CKF_SO_PIN_LOCKED", info.Flags)
	}
}

func TestChangesSOFacts(t *testing.T) {
	for _, tc := range []struct {
		cmd  apdu.Command
		want bool
	}{
		{apdu.Command{INS: insVerify, P2: refPIN}, false},
		{apdu.Command{INS: insVerify, P2: refPUK}, true},
		{apdu.Command{INS: insChangeRef, P2: refPIN}, false},
		{apdu.Command{INS: insChangeRef, P2: refPUK}, true},
		{apdu.Command{INS: insResetRetry, P2: refPIN}, true},
		{apdu.Command{INS: insSetMgmKey, P1: 0xFF, P2: 0xFF}, true},
		{apdu.Command{INS: insReset}, true},
		{apdu.Command{INS: insGeneralAuth, P2: refMgmKey}, false},
		{apdu.Command{INS: insGetMetadata, P2: refPUK}, false},
	} {
		if got := changesSOFacts(tc.cmd); got != tc.want {
			t.Errorf("INS %02X P2 %02X: %v, want %v", tc.cmd.INS, tc.cmd.P2, got, tc.want)
		}
	}
}
