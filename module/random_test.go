package module

import (
	"testing"

	"github.com/pcsc11/pcsc11/ck"
)

// CKF_RNG is set because C_GenerateRandom works; C_SeedRandom then answers
// CKR_RANDOM_SEED_NOT_SUPPORTED.
func TestRandomAndCKF_RNG(t *testing.T) {
	l, s, _, _ := loggedIn(t, 4)
	ti, rv := l.GetTokenInfo(0)
	wantRV(t, "GetTokenInfo", rv, ck.CKR_OK)
	if ti.Flags&ck.CKF_RNG == 0 {
		t.Error("CKF_RNG clear while C_GenerateRandom is offered")
	}
	buf := make([]byte, 32)
	wantRV(t, "GenerateRandom", l.GenerateRandom(s, buf), ck.CKR_OK)
	if string(buf) == string(make([]byte, 32)) {
		t.Error("32 zero bytes of random")
	}
	wantRV(t, "SeedRandom", l.SeedRandom(s), ck.CKR_RANDOM_SEED_NOT_SUPPORTED)
	wantRV(t, "GenerateRandom bad session", l.GenerateRandom(777777, buf), ck.CKR_SESSION_HANDLE_INVALID)
}
