package module

import (
	"testing"
	"time"

	"github.com/pcsc11/pcsc11/ck"
	"github.com/pcsc11/pcsc11/slot"
)

// slowClose is a manager whose Close takes long (pcscd slow to answer SCardCancel).
type slowClose struct{ *fakeManager }

func (s slowClose) Close() error {
	time.Sleep(500 * time.Millisecond)
	return s.fakeManager.Close()
}

// Two threads blocked in C_WaitForSlotEvent: each event wakes exactly one, and
// C_Finalize wakes both within 100 ms however long closing the readers takes.
func TestWaitersWokenByFinalize(t *testing.T) {
	m := newFakeManager(newFakeToken(t))
	l := New(func() (Manager, error) { return slowClose{m}, nil })
	wantRV(t, "Initialize", l.Initialize(nil), ck.CKR_OK)

	type res struct {
		id slot.ID
		rv ck.ULong
		at time.Time
	}
	got := make(chan res, 2)
	for i := 0; i < 2; i++ {
		go func() {
			id, rv := l.WaitForSlotEvent(0)
			got <- res{id, rv, time.Now()}
		}()
	}
	time.Sleep(50 * time.Millisecond)
	m.swap(0, nil)
	select {
	case r := <-got:
		if r.rv != ck.CKR_OK || r.id != 0 {
			t.Fatalf("first waiter: slot %d rv %#x", r.id, r.rv)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("no waiter saw the event")
	}
	select {
	case r := <-got:
		t.Fatalf("one event woke both waiters (rv %#x)", r.rv)
	case <-time.After(100 * time.Millisecond):
	}
	_, rv := l.WaitForSlotEvent(ck.CKF_DONT_BLOCK)
	wantRV(t, "no event left", rv, ck.CKR_NO_EVENT)

	go func() {
		id, rv := l.WaitForSlotEvent(0)
		got <- res{id, rv, time.Now()}
	}()
	time.Sleep(50 * time.Millisecond)
	start := time.Now()
	wantRV(t, "Finalize", l.Finalize(false), ck.CKR_OK)
	for i := 0; i < 2; i++ {
		select {
		case r := <-got:
			wantRV(t, "woken waiter", r.rv, ck.CKR_CRYPTOKI_NOT_INITIALIZED)
			if d := r.at.Sub(start); d > 100*time.Millisecond {
				t.Fatalf("waiter woke %v after C_Finalize began", d)
			}
		case <-time.After(2 * time.Second):
			t.Fatal("waiter not woken by C_Finalize")
		}
	}
}
