package module

import (
	"testing"
	"time"

	"github.com/pcsc11/pcsc11/ck"
	"github.com/pcsc11/pcsc11/guard"
)

// panicIn makes the guarded goroutine called name panic for the rest of the test.
func panicIn(t *testing.T, name string) {
	guard.SetTestHook(func(n string) {
		if n == name {
			panic("injected into " + n)
		}
	})
	t.Cleanup(func() { guard.SetTestHook(nil) })
}

// A panic in C_WaitForSlotEvent's helper goroutine: the host survives (this test
// process), and the call answers CKR_GENERAL_ERROR instead of blocking for ever.
func TestWaitHelperPanicIsRecovered(t *testing.T) {
	panicIn(t, guard.WaitForEvent)
	m := newFakeManager(newFakeToken(t))
	l := New(func() (Manager, error) { return m, nil })
	wantRV(t, "Initialize", l.Initialize(nil), ck.CKR_OK)
	defer l.Finalize(false)
	done := make(chan ck.ULong, 1)
	go func() {
		_, rv := l.WaitForSlotEvent(0)
		done <- rv
	}()
	select {
	case rv := <-done:
		wantRV(t, "C_WaitForSlotEvent after its helper panicked", rv, ck.CKR_GENERAL_ERROR)
	case <-time.After(5 * time.Second):
		t.Fatal("C_WaitForSlotEvent blocked after its helper panicked")
	}
	// The library still answers.
	_, rv := l.WaitForSlotEvent(ck.CKF_DONT_BLOCK)
	wantRV(t, "non-blocking wait (no helper)", rv, ck.CKR_NO_EVENT)
}

// A panic in the PIN cache's timer: recovered, and the PIN is wiped all the same.
func TestPINCacheTimerPanicStillWipes(t *testing.T) {
	panicIn(t, guard.PINCacheTimer)
	c := newCachedPIN(pinPolicy{keep: true, ttl: 10 * time.Millisecond}, []byte(testPIN))
	if c == nil {
		t.Skip("no locked memory for the PIN cache here")
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, ok := c.use(func([]byte) error { return nil }); !ok {
			break // wiped
		}
		if time.Now().After(deadline) {
			t.Fatal("the PIN outlived its time after the timer panicked")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
