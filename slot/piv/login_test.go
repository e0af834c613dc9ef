package piv

import (
	"crypto/sha256"
	"testing"

	"github.com/pcsc11/pcsc11/ck"
	"github.com/pcsc11/pcsc11/slot"
)

func TestLogin(t *testing.T) {
	m := newCard(t)
	tok := openToken(t, m)
	for _, pin := range []string{"12345", "123456789", ""} {
		before := m.apdus
		if err := tok.Login(ck.CKU_USER, []byte(pin)); slot.RV(err) != ck.CKR_PIN_LEN_RANGE {
			t.Errorf("PIN of %d: %v", len(pin), err)
		}
		if m.apdus != before {
			t.Errorf("PIN of length %d reached the card", len(pin))
		}
	}
	if err := tok.Login(ck.CKU_USER, nil); slot.RV(err) != ck.CKR_ARGUMENTS_BAD {
		t.Errorf("nil PIN: %v", err)
	}
	if err := tok.Login(ck.CKU_USER, []byte("000000")); slot.RV(err) != ck.CKR_PIN_INCORRECT {
		t.Errorf("wrong PIN: %v", err)
	}
	if ok, _ := tok.LoggedIn(); ok {
		t.Error("logged in after a wrong PIN")
	}
	if err := tok.Login(ck.CKU_USER, []byte(testPIN)); err != nil {
		t.Fatalf("right PIN: %v", err)
	}
	if ok, err := tok.LoggedIn(); !ok || err != nil {
		t.Errorf("LoggedIn = %v, %v", ok, err)
	}
	if err := tok.Logout(); err != nil {
		t.Fatal(err)
	}
	if ok, _ := tok.LoggedIn(); ok {
		t.Error("logged in after Logout")
	}
	// The card agrees: an empty VERIFY says not verified.
	if err := tok.transact(tok.verifyEmpty); err == nil {
		t.Error("card still verified after Logout")
	}
	if err := tok.Login(42, []byte(testPIN)); slot.RV(err) != ck.CKR_USER_TYPE_INVALID {
		t.Errorf("user type 42: %v", err)
	}
	// A NULL PIN without a PIN pad (Open asks the reader, which has none).
	plain, _ := Open(m, "r", Options{})
	if err := plain.Login(ck.CKU_USER, nil); slot.RV(err) != ck.CKR_ARGUMENTS_BAD {
		t.Errorf("NULL PIN without a PIN pad: %v", err)
	}
}

func TestLoginSO(t *testing.T) {
	m := newCard(t)
	tok := openToken(t, m)
	if err := tok.Login(ck.CKU_SO, []byte("0102030405060708010203040506070801020304050607FF")); slot.RV(err) != ck.CKR_PIN_INCORRECT {
		t.Errorf("wrong management key: %v", err)
	}
	if err := tok.Login(ck.CKU_SO, []byte("0102030405")); slot.RV(err) != ck.CKR_PIN_LEN_RANGE {
		t.Errorf("short management key: %v", err)
	}
	if err := tok.Login(ck.CKU_SO, []byte("zz0203040506070801020304050607080102030405060708")); slot.RV(err) != ck.CKR_PIN_INCORRECT {
		t.Errorf("non-hex management key: %v", err)
	}
	if err := tok.Login(ck.CKU_SO, []byte("0102030405060708010203040506070801020304050607080102030405060708")); slot.RV(err) != ck.CKR_PIN_INCORRECT {
		t.Errorf("AES-256 length key against AES-192: %v", err)
	}
	if err := tok.Login(ck.CKU_SO, []byte(defaultMgm)); err != nil || !tok.soLoggedIn {
		t.Fatalf("default management key: %v", err)
	}
	if err := tok.Logout(); err != nil || tok.soLoggedIn {
		t.Fatalf("logout: %v", err)
	}
}

// TestLoggedInFromState: a host polling C_GetSessionInfo and C_GetTokenInfo while
// logged in costs the card nothing (docs/performance.md, S10), on every firmware; a
// reset by another program is still seen (PC/SC reports it when the call's transaction
// begins), and so is a PIN command of ours.
func TestLoggedInFromState(t *testing.T) {
	m := newCard(t)
	tok := openToken(t, m)
	login(t, tok, ck.CKU_USER)
	if _, err := tok.Info(); err != nil { // the first after the login reads the counter
		t.Fatal(err)
	}
	before := m.apdus
	for i := 0; i < 10; i++ {
		if ok, err := tok.LoggedIn(); !ok || err != nil {
			t.Fatalf("LoggedIn: %v %v", ok, err)
		}
		if _, err := tok.Info(); err != nil {
			t.Fatal(err)
		}
	}
	if m.apdus != before {
		t.Errorf("10 polls while logged in: %d APDUs, want 0", m.apdus-before)
	}
	// Another program resets the card: the login is gone and the flags are read again.
	m.resetNext = true
	if ok, err := tok.LoggedIn(); ok || err != nil {
		t.Errorf("LoggedIn after a reset: %v %v, want false", ok, err)
	}
	before = m.apdus
	if _, err := tok.Info(); err != nil || m.apdus == before {
		t.Errorf("Info after the login was lost: %v, %d APDUs (want the counter read)", err, m.apdus-before)
	}
	// A wrong PIN of ours: the counter is read again and tells it.
	login(t, tok, ck.CKU_USER)
	if _, err := tok.Info(); err != nil {
		t.Fatal(err)
	}
	if err := tok.Login(ck.CKU_CONTEXT_SPECIFIC, []byte("654321")); err == nil {
		t.Fatal("wrong PIN accepted")
	}
	info, err := tok.Info()
	if err != nil || info.Flags&ck.CKF_USER_PIN_COUNT_LOW == 0 {
		t.Errorf("Info after a wrong PIN: flags %#x, %v; want COUNT_LOW", info.Flags, err)
	}
}

// TestProbeLogin: a login lost without a reset (another program selected another
// application) is invisible to LoggedIn until an operation is refused, and told at
// once by ProbeLogin, which asks the card (one empty VERIFY) where that is reliable.
func TestProbeLogin(t *testing.T) {
	m, _, tok := provisioned(t)
	login(t, tok, ck.CKU_USER)
	before := m.apdus
	if in, err := tok.ProbeLogin(); !in || err != nil || m.apdus != before+1 {
		t.Errorf("ProbeLogin while logged in: %v %v, %d APDUs (want 1)", in, err, m.apdus-before)
	}
	m.c.Process([]byte{0x00, 0xA4, 0x04, 0x00, 0x06, 0xD2, 0x76, 0x00, 0x01, 0x24, 0x01}) // OpenPGP
	if in, _ := tok.LoggedIn(); !in {
		t.Error("LoggedIn asked the card")
	}
	if in, err := tok.ProbeLogin(); in || err != nil {
		t.Errorf("ProbeLogin after another application: %v %v, want false", in, err)
	}
	// Lost without a reset and found by a refused operation: LoggedIn tells it after.
	login(t, tok, ck.CKU_USER)
	m.c.Process([]byte{0x00, 0x20, 0xFF, 0x80}) // another program: VERIFY reset of the PIN status
	h := sha256.Sum256([]byte("x"))
	if _, err := tok.PrivateKeyOp("priv/9d", slot.OpECDSA, h[:]); slot.RV(err) != ck.CKR_USER_NOT_LOGGED_IN {
		t.Fatalf("sign without the PIN: %v", err)
	}
	if in, _ := tok.LoggedIn(); in {
		t.Error("LoggedIn after the card refused the key for want of the PIN")
	}
	// Where an empty VERIFY cannot be trusted, ProbeLogin keeps the record.
	login(t, tok, ck.CKU_USER)
	tok.version = [3]byte{5, 3, 1}
	before = m.apdus
	if in, err := tok.ProbeLogin(); !in || err != nil || m.apdus != before {
		t.Errorf("ProbeLogin on 5.3.1: %v %v, %d APDUs", in, err, m.apdus-before)
	}
	for v, want := range map[[3]byte]bool{{3, 4, 3}: false, {4, 3, 6}: false, {4, 3, 7}: true,
		{5, 3, 1}: false, {5, 3, 2}: true, {5, 7, 1}: true} {
		if got := (&Token{yubikey: true, version: v}).emptyVerifyReliable(); got != want {
			t.Errorf("version %v: reliable %v, want %v", v, got, want)
		}
	}
}

func login(t *testing.T, tok *Token, userType ck.ULong) {
	t.Helper()
	if err := tok.Login(userType, []byte(testPIN)); err != nil {
		t.Fatalf("login: %v", err)
	}
}
