package module

import (
	"testing"
	"time"

	"github.com/pcsc11/pcsc11/ck"
)

// cardReset makes the fake card forget the verification, as a reset by another
// program does.
func cardReset(tok *fakeToken) {
	tok.mu.Lock()
	tok.loggedIn = false
	tok.mu.Unlock()
}

func logins(tok *fakeToken) int {
	tok.mu.Lock()
	defer tok.mu.Unlock()
	return tok.logins
}

func TestPINPolicyFromEnv(t *testing.T) {
	for _, c := range []struct {
		v    string
		want pinPolicy
	}{
		{"", pinPolicy{keep: true, replays: 10}},
		{"session", pinPolicy{keep: true, replays: 10}},
		{"off", pinPolicy{}},
		{"15m", pinPolicy{keep: true, ttl: 15 * time.Minute, replays: 10}},
		{"-1s", pinPolicy{}},
		{"forever-ish", pinPolicy{}}, // not understood: off, never "on by accident"
	} {
		t.Setenv("PCSC11_PIN_CACHE", c.v)
		if got := pinPolicyFromEnv(); got != c.want {
			t.Errorf("PCSC11_PIN_CACHE=%q: %+v, want %+v", c.v, got, c.want)
		}
	}
}

func TestPINReplayedAfterReset(t *testing.T) {
	t.Setenv("PCSC11_PIN_CACHE", "session")
	l, s, key, tok := loggedIn(t, 1)
	n := logins(tok)
	cardReset(tok)
	if st := state(t, l, s); st != ck.CKS_RO_USER_FUNCTIONS {
		t.Fatalf("state after reset with the PIN cached: %#x", st)
	}
	if logins(tok) != n+1 {
		t.Fatalf("PIN verified %d times after the reset, want 1", logins(tok)-n)
	}
	// A reset just before the card operation: the signature still works.
	wantRV(t, "SignInit", l.SignInit(s, Mechanism{Type: ck.CKM_SHA256_RSA_PKCS}, key), ck.CKR_OK)
	cardReset(tok)
	out := make([]byte, 256)
	_, rv := l.Sign(s, []byte("x"), OutBuf{Buf: out})
	wantRV(t, "Sign after a reset", rv, ck.CKR_OK)
}

func TestPINCacheOff(t *testing.T) {
	t.Setenv("PCSC11_PIN_CACHE", "off")
	l, s, key, tok := loggedIn(t, 1)
	if l.tokens[0].pin != nil {
		t.Fatal("PIN kept with PCSC11_PIN_CACHE=off")
	}
	n := logins(tok)
	wantRV(t, "SignInit", l.SignInit(s, Mechanism{Type: ck.CKM_SHA256_RSA_PKCS}, key), ck.CKR_OK)
	cardReset(tok)
	out := make([]byte, 256)
	_, rv := l.Sign(s, []byte("x"), OutBuf{Buf: out})
	wantRV(t, "Sign after a reset without cache", rv, ck.CKR_USER_NOT_LOGGED_IN)
	if st := state(t, l, s); st != ck.CKS_RO_PUBLIC_SESSION {
		t.Fatalf("state after a reset without cache: %#x, want public", st)
	}
	if logins(tok) != n {
		t.Fatal("a PIN was sent with the cache off")
	}
	if len(findAll(t, l, s, []Attr{ulongAttr(ck.CKA_CLASS, ck.CKO_PRIVATE_KEY)})) != 0 {
		t.Fatal("private objects visible after the login was lost")
	}
	wantRV(t, "login again", l.Login(s, ck.CKU_USER, []byte(testPIN)), ck.CKR_OK)
	if st := state(t, l, s); st != ck.CKS_RO_USER_FUNCTIONS {
		t.Fatalf("state after a new login: %#x", st)
	}
}

func TestRejectedPINNeverReplayed(t *testing.T) {
	t.Setenv("PCSC11_PIN_CACHE", "session")
	l, s, _, tok := loggedIn(t, 1)
	// Another program changed the PIN and reset the card.
	l.tokens[0].pin.wipe()
	l.tokens[0].pin = newCachedPIN(l.pinPolicy, []byte("999999"))
	cardReset(tok)
	n := logins(tok)
	if st := state(t, l, s); st != ck.CKS_RO_PUBLIC_SESSION {
		t.Fatalf("state after the card rejected the cached PIN: %#x", st)
	}
	if logins(tok) != n+1 {
		t.Fatalf("%d VERIFY for one replay", logins(tok)-n)
	}
	if l.tokens[0].pin != nil {
		t.Fatal("rejected PIN still cached")
	}
	state(t, l, s)
	findAll(t, l, s, nil)
	if logins(tok) != n+1 {
		t.Fatal("a rejected PIN was sent again")
	}
}

func TestPINCacheExpires(t *testing.T) {
	t.Setenv("PCSC11_PIN_CACHE", "30ms")
	l, s, _, tok := loggedIn(t, 1)
	time.Sleep(80 * time.Millisecond)
	cardReset(tok)
	n := logins(tok)
	if st := state(t, l, s); st != ck.CKS_RO_PUBLIC_SESSION {
		t.Fatalf("state after the cached PIN expired: %#x", st)
	}
	if logins(tok) != n {
		t.Fatal("an expired PIN was sent")
	}
}

func TestPINWipedOnLogoutCloseAndRemoval(t *testing.T) {
	t.Setenv("PCSC11_PIN_CACHE", "session")
	l, s, _, _ := loggedIn(t, 1)
	c := l.tokens[0].pin
	if c == nil {
		t.Fatal("PIN not cached")
	}
	wantRV(t, "Logout", l.Logout(s), ck.CKR_OK)
	if c.mem != nil || l.tokens[0].pin != nil {
		t.Fatal("PIN not wiped by C_Logout")
	}
	wantRV(t, "Login", l.Login(s, ck.CKU_USER, []byte(testPIN)), ck.CKR_OK)
	c = l.tokens[0].pin
	wantRV(t, "CloseSession", l.CloseSession(s), ck.CKR_OK)
	if c.mem != nil {
		t.Fatal("PIN not wiped when the last session closed")
	}

	l2, m, _ := newTestLib(t)
	l2.SlotList(false)
	s2 := open(t, l2, false)
	wantRV(t, "Login", l2.Login(s2, ck.CKU_USER, []byte(testPIN)), ck.CKR_OK)
	c = l2.tokens[0].pin
	m.swap(0, nil) // card removed
	_, rv := l2.GetSessionInfo(s2)
	wantRV(t, "session of a removed card", rv, ck.CKR_DEVICE_REMOVED)
	if c.mem != nil {
		t.Fatal("PIN not wiped on removal")
	}

	l3, _, _ := newTestLib(t)
	l3.SlotList(false)
	s3 := open(t, l3, false)
	wantRV(t, "Login", l3.Login(s3, ck.CKU_USER, []byte(testPIN)), ck.CKR_OK)
	c = l3.tokens[0].pin
	wantRV(t, "Finalize", l3.Finalize(false), ck.CKR_OK)
	if c.mem != nil {
		t.Fatal("PIN not wiped by C_Finalize")
	}
}

func TestPINReplaysFromEnv(t *testing.T) {
	t.Setenv("PCSC11_PIN_CACHE", "")
	for v, want := range map[string]pinPolicy{
		"":          {keep: true, replays: defaultReplays},
		"3":         {keep: true, replays: 3},
		"unlimited": {keep: true, replays: unlimitedReplays},
		"0":         {},
		"-2":        {}, // not understood: off
		"many":      {},
	} {
		t.Setenv("PCSC11_PIN_CACHE_REPLAYS", v)
		if got := pinPolicyFromEnv(); got != want {
			t.Errorf("PCSC11_PIN_CACHE_REPLAYS=%q: %+v, want %+v", v, got, want)
		}
	}
}

// The default bound (docs/pin-cache.md): one login's PIN is verified again at most
// PCSC11_PIN_CACHE_REPLAYS times; the next loss of the login is reported, and no PIN
// is sent.
func TestPINReplayBound(t *testing.T) {
	t.Setenv("PCSC11_PIN_CACHE", "session")
	t.Setenv("PCSC11_PIN_CACHE_REPLAYS", "2")
	l, s, _, tok := loggedIn(t, 1)
	n := logins(tok)
	for i := 1; i <= 2; i++ {
		cardReset(tok)
		if st := state(t, l, s); st != ck.CKS_RO_USER_FUNCTIONS {
			t.Fatalf("reset %d: state %#x, want the login kept", i, st)
		}
	}
	if logins(tok) != n+2 {
		t.Fatalf("%d replays, want 2", logins(tok)-n)
	}
	cardReset(tok)
	if st := state(t, l, s); st != ck.CKS_RO_PUBLIC_SESSION {
		t.Fatalf("third reset: state %#x, want the login reported lost", st)
	}
	if logins(tok) != n+2 || l.tokens[0].pin != nil {
		t.Fatal("the PIN was replayed past its bound, or kept")
	}
	// A new login starts a new count.
	wantRV(t, "login again", l.Login(s, ck.CKU_USER, []byte(testPIN)), ck.CKR_OK)
	cardReset(tok)
	if st := state(t, l, s); st != ck.CKS_RO_USER_FUNCTIONS {
		t.Fatalf("after a new login: state %#x", st)
	}
}
