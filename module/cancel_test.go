package module

import (
	"crypto/sha256"
	"testing"
	"time"

	"github.com/pcsc11/pcsc11/ck"
)

// C_SessionCancel of an operation whose card exchange is running (a touch wait, a slow
// card) cannot stop it: CKR_OPERATION_CANCEL_FAILED, and the operation goes on to its
// own result. Before and after, the flag cancels (or is ignored) as usual.
func TestSessionCancelDuringCardExchange(t *testing.T) {
	l, g := twoCardLib(t)
	sum := sha256.Sum256([]byte("cancel me"))
	s, k := loggedInOn(t, l, 1)

	// An initialized operation not yet on the card is cancelled.
	wantRV(t, "SignInit", l.SignInit(s, Mechanism{Type: ck.CKM_ECDSA}, k), ck.CKR_OK)
	wantRV(t, "SessionCancel before the card", l.SessionCancel(s, ck.CKF_SIGN), ck.CKR_OK)
	if _, rv := l.Sign(s, sum[:], OutBuf{Buf: make([]byte, 64)}); rv != ck.CKR_OPERATION_NOT_INITIALIZED {
		t.Fatalf("Sign after a cancel: %#x", rv)
	}

	busy := startSign(t, l, s, k, sum[:])
	select {
	case <-g.entered:
	case <-time.After(5 * time.Second):
		t.Fatal("the gated card never saw the operation")
	}
	within(t, "C_SessionCancel during the exchange", func() {
		wantRV(t, "SessionCancel(CKF_SIGN) on the card", l.SessionCancel(s, ck.CKF_SIGN), ck.CKR_OPERATION_CANCEL_FAILED)
		wantRV(t, "SessionCancel(CKF_SIGN|CKF_DECRYPT)", l.SessionCancel(s, ck.CKF_SIGN|ck.CKF_DECRYPT), ck.CKR_OPERATION_CANCEL_FAILED)
		wantRV(t, "SessionCancel(CKF_DECRYPT) not running", l.SessionCancel(s, ck.CKF_DECRYPT), ck.CKR_OK)
	})
	g.open()
	if r := <-busy; r.rv != ck.CKR_OK || len(r.sig) != 64 {
		t.Fatalf("the signature that could not be cancelled: rv %#x, %d bytes", r.rv, len(r.sig))
	}
	wantRV(t, "SessionCancel after the exchange", l.SessionCancel(s, ck.CKF_SIGN), ck.CKR_OK)
}

// C_SessionCancel(CKF_MESSAGE_SIGN) ends a message-signing process (it answered
// CKR_OK and cancelled nothing: the next C_MessageSignInit said CKR_OPERATION_ACTIVE).
func TestSessionCancelMessageSign(t *testing.T) {
	l, s, key, _ := loggedIn(t, 4)
	m := Mechanism{Type: ck.CKM_ECDSA_SHA256}
	wantRV(t, "MessageSignInit", l.MessageSignInit(s, m, key), ck.CKR_OK)
	wantRV(t, "MessageVerifyInit", l.MessageVerifyInit(s, m, key), ck.CKR_OK)
	wantRV(t, "SessionCancel(CKF_MESSAGE_SIGN)", l.SessionCancel(s, cancelFlag[OpMessageSign]), ck.CKR_OK)
	wantRV(t, "MessageSignInit after cancel", l.MessageSignInit(s, m, key), ck.CKR_OK)
	wantRV(t, "verify untouched", l.MessageVerifyInit(s, m, key), ck.CKR_OPERATION_ACTIVE)
	wantRV(t, "SessionCancel(CKF_MESSAGE_VERIFY)", l.SessionCancel(s, cancelFlag[OpMessageVerify]), ck.CKR_OK)
	wantRV(t, "MessageVerifyInit after cancel", l.MessageVerifyInit(s, m, key), ck.CKR_OK)
	wantRV(t, "SessionCancel(CKF_SIGN) leaves message signing", l.SessionCancel(s, ck.CKF_SIGN), ck.CKR_OK)
	wantRV(t, "MessageSignInit while active", l.MessageSignInit(s, m, key), ck.CKR_OPERATION_ACTIVE)
}
