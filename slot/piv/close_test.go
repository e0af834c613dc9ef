package piv

import (
	"testing"
	"time"

	"github.com/pcsc11/pcsc11/ck"
	"github.com/pcsc11/pcsc11/slot"
)

// Close never waits for a call in progress (C_Finalize during a touch wait must return
// at once): the call's own thread logs the card out and releases it when it ends.
func TestCloseNeverWaitsForACall(t *testing.T) {
	m, _, tok := provisioned(t)
	if err := tok.Login(ck.CKU_USER, []byte(testPIN)); err != nil {
		t.Fatalf("Login: %v", err)
	}
	entered, gate := make(chan int, 1), make(chan struct{})
	m.transmitFn = func(cmd []byte) ([]byte, error) {
		if len(cmd) > 1 && cmd[1] == insGeneralAuth {
			entered <- len(m.sent)
			<-gate // the card computes (a touch, a slow key)
		}
		return m.mem.Transmit(cmd)
	}
	done := make(chan error, 1)
	in := make([]byte, 256)
	in[255] = 1
	go func() {
		_, err := tok.PrivateKeyOp("priv/9a", slot.OpRSARaw, in)
		done <- err
	}()
	sent := <-entered
	closed := make(chan error, 1)
	go func() { closed <- tok.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Fatalf("Close: %v", err)
		}
	case <-time.After(2 * time.Second):
		close(gate)
		t.Fatal("Close waited for the running call")
	}
	if tok.closed.Load() {
		t.Fatal("the card was released under the running call")
	}
	close(gate)
	if err := <-done; err != nil {
		t.Fatalf("the running call: %v", err)
	}
	if !tok.closed.Load() {
		t.Fatal("the card was not released when the call ended")
	}
	loggedOut := false
	for _, c := range m.sent[sent:] {
		loggedOut = loggedOut || (len(c) > 3 && c[1] == insVerify && c[2] == 0xFF)
	}
	if !loggedOut {
		t.Fatalf("no logout (VERIFY P1=FF) before the release; sent after the operation: % x", m.sent[sent:])
	}
}
