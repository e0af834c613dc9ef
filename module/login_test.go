package module

import (
	"testing"

	"github.com/pcsc11/pcsc11/ck"
)

func TestLoginProtectedPath(t *testing.T) {
	l, _, tok := newTestLib(t)
	l.SlotList(false)
	s := open(t, l, false)
	wantRV(t, "NULL PIN without PIN pad", l.Login(s, ck.CKU_USER, nil), ck.CKR_ARGUMENTS_BAD)
	tok.protected = true
	wantRV(t, "NULL PIN with PIN pad", l.Login(s, ck.CKU_USER, nil), ck.CKR_OK)
}
