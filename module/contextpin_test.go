package module

import (
	"sync"
	"testing"

	"github.com/pcsc11/pcsc11/ck"
	"github.com/pcsc11/pcsc11/slot"
)

// pinOpToken is the fake token with the one-transaction call of a driver that has it:
// it records the PINs it was given and then runs the operation as the card would
// right after a VERIFY.
type pinOpToken struct {
	*fakeToken
	mu   sync.Mutex
	pins []string
}

func (p *pinOpToken) PrivateKeyOpWithPIN(key string, op slot.KeyOp, in, pin []byte) ([]byte, error) {
	p.mu.Lock()
	p.pins = append(p.pins, string(pin))
	p.mu.Unlock()
	if err := p.Login(ck.CKU_CONTEXT_SPECIFIC, pin); err != nil {
		return nil, err
	}
	return p.PrivateKeyOp(key, op, in)
}

func (p *pinOpToken) used() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.pins...)
}

func contextPINLib(t *testing.T) (*Library, *pinOpToken, ck.ULong, ck.ULong) {
	t.Helper()
	tok := &pinOpToken{fakeToken: newFakeToken(t)}
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

func TestContextPINGoesWithTheOperation(t *testing.T) {
	l, tok, s, key := contextPINLib(t)
	mech := Mechanism{Type: ck.CKM_SHA256_RSA_PKCS}
	buf := make([]byte, 512)

	wantRV(t, "SignInit", l.SignInit(s, mech, key), ck.CKR_OK)
	wantRV(t, "Login context", l.Login(s, ck.CKU_CONTEXT_SPECIFIC, []byte(testPIN)), ck.CKR_OK)
	_, rv := l.Sign(s, []byte("data"), OutBuf{Buf: buf})
	wantRV(t, "Sign", rv, ck.CKR_OK)
	if got := tok.used(); len(got) != 1 || got[0] != testPIN {
		t.Fatalf("the PIN did not go with the operation: %d calls", len(got))
	}
	// One login, one operation: the next signature needs a new login.
	wantRV(t, "SignInit 2", l.SignInit(s, mech, key), ck.CKR_OK)
	_, rv = l.Sign(s, []byte("data"), OutBuf{Buf: buf})
	wantRV(t, "Sign without a new login", rv, ck.CKR_USER_NOT_LOGGED_IN)
	if len(tok.used()) != 1 {
		t.Fatal("a context PIN was used twice")
	}

	// A login whose operation is cancelled: its PIN is dropped.
	wantRV(t, "SignInit 3", l.SignInit(s, mech, key), ck.CKR_OK)
	wantRV(t, "Login context", l.Login(s, ck.CKU_CONTEXT_SPECIFIC, []byte(testPIN)), ck.CKR_OK)
	l.mu.Lock()
	held := l.sessions[s].sign.ctxPIN
	l.mu.Unlock()
	if held == nil {
		t.Fatal("no PIN held after the context login")
	}
	wantRV(t, "SessionCancel", l.SessionCancel(s, ck.CKF_SIGN), ck.CKR_OK)
	if _, ok := held.use(func([]byte) error { return nil }); ok {
		t.Fatal("the PIN of a cancelled operation was kept")
	}
	// A wrong context PIN is refused at C_Login and nothing is held.
	wantRV(t, "SignInit 4", l.SignInit(s, mech, key), ck.CKR_OK)
	wantRV(t, "Login wrong", l.Login(s, ck.CKU_CONTEXT_SPECIFIC, []byte("999999")), ck.CKR_PIN_INCORRECT)
	l.mu.Lock()
	held = l.sessions[s].sign.ctxPIN
	l.mu.Unlock()
	if held != nil {
		t.Fatal("a rejected PIN is held")
	}
}

func TestContextPINNotKeptWhenCacheOff(t *testing.T) {
	t.Setenv("PCSC11_PIN_CACHE", "off")
	l, tok, s, key := contextPINLib(t)
	wantRV(t, "SignInit", l.SignInit(s, Mechanism{Type: ck.CKM_SHA256_RSA_PKCS}, key), ck.CKR_OK)
	wantRV(t, "Login context", l.Login(s, ck.CKU_CONTEXT_SPECIFIC, []byte(testPIN)), ck.CKR_OK)
	_, rv := l.Sign(s, []byte("data"), OutBuf{Buf: make([]byte, 512)})
	wantRV(t, "Sign (VERIFY of C_Login stands alone)", rv, ck.CKR_OK)
	if len(tok.used()) != 0 {
		t.Fatal("PIN kept although PCSC11_PIN_CACHE=off")
	}
}
