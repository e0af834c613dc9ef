package piv

import (
	"testing"

	"github.com/pcsc11/pcsc11/ck"
)

func TestDestroyObject(t *testing.T) {
	m, _, tok := provisioned(t)
	wantRV(t, "destroy without login", tok.DestroyObject("cert/9a"), ck.CKR_USER_NOT_LOGGED_IN)
	if cardObject(t, m, 0x5FC105) == nil {
		t.Fatal("certificate deleted without login")
	}
	soLogin(t, tok)
	objs, _ := tok.Objects()
	for key, want := range map[string]bool{"cert/9a": true, "priv/9a": true, "pub/9a": false, "cert/f9": false} {
		if got := findObj(objs, key)[ck.CKA_DESTROYABLE]; got != want {
			t.Errorf("%s: CKA_DESTROYABLE %v", key, got)
		}
	}
	wantRV(t, "unknown key", tok.DestroyObject("cert/zz"), ck.CKR_OBJECT_HANDLE_INVALID)
	wantRV(t, "empty slot", tok.DestroyObject("priv/8f"), ck.CKR_OBJECT_HANDLE_INVALID)
	wantRV(t, "public key", tok.DestroyObject("pub/9a"), ck.CKR_ACTION_PROHIBITED)
	wantRV(t, "attestation key (not listed)", tok.DestroyObject("priv/f9"), ck.CKR_OBJECT_HANDLE_INVALID)
	wantRV(t, "attestation certificate", tok.DestroyObject("cert/f9"), ck.CKR_ACTION_PROHIBITED)
	if err := tok.DestroyObject("cert/9a"); err != nil {
		t.Fatal(err)
	}
	if cardObject(t, m, 0x5FC105) != nil {
		t.Error("certificate still on the card")
	}
	if err := tok.DestroyObject("priv/9d"); err != nil {
		t.Fatal(err)
	}
	if cardMeta(t, m, 0x9D) != nil {
		t.Error("key 9D still on the card")
	}
	objs, _ = tok.Objects()
	for _, k := range []string{"cert/9a", "priv/9d", "pub/9d"} {
		if findObj(objs, k) != nil {
			t.Errorf("%s still listed", k)
		}
	}
	if findObj(objs, "priv/9a") == nil {
		t.Error("key 9A went with its certificate")
	}
	tok.version = [3]byte{5, 4, 3}
	wantRV(t, "delete a key on 5.4", tok.DestroyObject("priv/9e"), ck.CKR_ACTION_PROHIBITED)
}
