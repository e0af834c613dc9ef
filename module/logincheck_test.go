package module

import (
	"testing"

	"github.com/pcsc11/pcsc11/ck"
)

// Between a context-specific login and its operation the card is not probed (a probe
// could cost the "PIN always" state on some cards).
func TestNoProbeDuringContextLogin(t *testing.T) {
	l, s, key, tok := loggedIn(t, 2) // id 02: CKA_ALWAYS_AUTHENTICATE
	wantRV(t, "SignInit", l.SignInit(s, Mechanism{Type: ck.CKM_SHA256_RSA_PKCS}, key), ck.CKR_OK)
	wantRV(t, "context login", l.Login(s, ck.CKU_CONTEXT_SPECIFIC, []byte(testPIN)), ck.CKR_OK)
	cardReset(tok) // would make a probe answer "logged out" and replay the PIN
	n := logins(tok)
	if st := state(t, l, s); st != ck.CKS_RO_USER_FUNCTIONS || logins(tok) != n {
		t.Fatalf("card probed during a context login: state %#x, %d VERIFY", st, logins(tok)-n)
	}
	tok.mu.Lock()
	tok.loggedIn = true
	tok.mu.Unlock()
	out := make([]byte, 256)
	_, rv := l.Sign(s, []byte("x"), OutBuf{Buf: out})
	wantRV(t, "Sign", rv, ck.CKR_OK)
}
