package module

import (
	"sync"
	"testing"

	"github.com/pcsc11/pcsc11/ck"
	"github.com/pcsc11/pcsc11/slot"
)

// holdToken is the fake token with the kept transaction of a driver that has one: it
// counts logins for an operation and the holds ended, by the operation or by release.
type holdToken struct {
	*fakeToken
	mu                     sync.Mutex
	logins, released, byOp int
	holding                bool
}

func (h *holdToken) LoginForOperation(key string, pin []byte) (func(), error) {
	if err := h.Login(ck.CKU_CONTEXT_SPECIFIC, pin); err != nil {
		return nil, err
	}
	h.mu.Lock()
	h.logins++
	h.holding = true
	h.mu.Unlock()
	return func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		if h.holding {
			h.holding = false
			h.released++
		}
	}, nil
}

func (h *holdToken) PrivateKeyOp(key string, op slot.KeyOp, in []byte) ([]byte, error) {
	h.mu.Lock()
	if h.holding {
		h.holding = false
		h.byOp++
	}
	h.mu.Unlock()
	return h.fakeToken.PrivateKeyOp(key, op, in)
}

func (h *holdToken) counts() (logins, released, byOp int, holding bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.logins, h.released, h.byOp, h.holding
}

func holdLib(t *testing.T) (*Library, *holdToken, ck.ULong, ck.ULong) {
	t.Helper()
	tok := &holdToken{fakeToken: newFakeToken(t)}
	m := newFakeManager(tok)
	l := New(func() (Manager, error) { return m, nil })
	wantRV(t, "Initialize", l.Initialize(nil), ck.CKR_OK)
	t.Cleanup(func() { l.Finalize(false) })
	l.SlotList(false)
	s := open(t, l, false)
	wantRV(t, "Login", l.Login(s, ck.CKU_USER, []byte(testPIN)), ck.CKR_OK)
	keys := findAll(t, l, s, []Attr{{Type: ck.CKA_ID, Value: []byte{2}}, ulongAttr(ck.CKA_CLASS, ck.CKO_PRIVATE_KEY)})
	if len(keys) != 1 {
		t.Fatalf("always-authenticate key: %d found", len(keys))
	}
	return l, tok, s, keys[0]
}

func TestContextLoginKeepsTheCardForTheOperation(t *testing.T) {
	l, tok, s, key := holdLib(t)
	mech := Mechanism{Type: ck.CKM_SHA256_RSA_PKCS}
	buf := make([]byte, 512)

	wantRV(t, "SignInit", l.SignInit(s, mech, key), ck.CKR_OK)
	wantRV(t, "Login context", l.Login(s, ck.CKU_CONTEXT_SPECIFIC, []byte(testPIN)), ck.CKR_OK)
	if n, _, _, holding := tok.counts(); n != 1 || !holding {
		t.Fatalf("context login: %d logins for an operation, holding=%t", n, holding)
	}
	// A size query does not spend the login.
	n, rv := l.Sign(s, []byte("data"), OutBuf{Nil: true})
	wantRV(t, "Sign size query", rv, ck.CKR_OK)
	if _, _, _, holding := tok.counts(); !holding || n == 0 {
		t.Fatalf("size query (%d) ended the hold", n)
	}
	_, rv = l.Sign(s, []byte("data"), OutBuf{Buf: buf})
	wantRV(t, "Sign", rv, ck.CKR_OK)
	if _, rel, byOp, holding := tok.counts(); byOp != 1 || rel != 0 || holding {
		t.Fatalf("the operation did not run in the kept transaction: byOp=%d released=%d holding=%t", byOp, rel, holding)
	}
	// One login, one operation: the next signature needs a new login.
	wantRV(t, "SignInit 2", l.SignInit(s, mech, key), ck.CKR_OK)
	_, rv = l.Sign(s, []byte("data"), OutBuf{Buf: buf})
	wantRV(t, "Sign without a new login", rv, ck.CKR_USER_NOT_LOGGED_IN)

	// A login whose operation is cancelled: the card is given back at once.
	wantRV(t, "SignInit 3", l.SignInit(s, mech, key), ck.CKR_OK)
	wantRV(t, "Login context", l.Login(s, ck.CKU_CONTEXT_SPECIFIC, []byte(testPIN)), ck.CKR_OK)
	wantRV(t, "SessionCancel", l.SessionCancel(s, ck.CKF_SIGN), ck.CKR_OK)
	if _, rel, _, holding := tok.counts(); rel != 1 || holding {
		t.Fatalf("cancel: released=%d holding=%t", rel, holding)
	}
	// A second context login replaces the first (which is released).
	wantRV(t, "SignInit 4", l.SignInit(s, mech, key), ck.CKR_OK)
	wantRV(t, "Login context", l.Login(s, ck.CKU_CONTEXT_SPECIFIC, []byte(testPIN)), ck.CKR_OK)
	wantRV(t, "Login context again", l.Login(s, ck.CKU_CONTEXT_SPECIFIC, []byte(testPIN)), ck.CKR_OK)
	if _, rel, _, _ := tok.counts(); rel != 2 {
		t.Fatalf("second context login: released=%d, want 2", rel)
	}
	// Closing the session gives the card back.
	wantRV(t, "CloseSession", l.CloseSession(s), ck.CKR_OK)
	if _, rel, _, holding := tok.counts(); rel != 3 || holding {
		t.Fatalf("close: released=%d holding=%t", rel, holding)
	}
}

func TestContextLoginWrongPINHoldsNothing(t *testing.T) {
	l, tok, s, key := holdLib(t)
	wantRV(t, "SignInit", l.SignInit(s, Mechanism{Type: ck.CKM_SHA256_RSA_PKCS}, key), ck.CKR_OK)
	wantRV(t, "Login wrong", l.Login(s, ck.CKU_CONTEXT_SPECIFIC, []byte("999999")), ck.CKR_PIN_INCORRECT)
	if n, _, _, holding := tok.counts(); n != 0 || holding {
		t.Fatalf("a rejected PIN keeps the card: logins=%d holding=%t", n, holding)
	}
	l.mu.Lock()
	held := l.sessions[s].ops[OpSign].auth.hold
	l.mu.Unlock()
	if held != nil {
		t.Fatal("a rejected context login left a hold")
	}
	_, rv := l.Sign(s, []byte("data"), OutBuf{Buf: make([]byte, 512)})
	wantRV(t, "Sign after the rejected login", rv, ck.CKR_USER_NOT_LOGGED_IN)
}
