package module

import (
	"testing"
	"time"

	"github.com/pcsc11/pcsc11/ck"
	"github.com/pcsc11/pcsc11/slot"
)

func TestSlots(t *testing.T) {
	l, _, _ := newTestLib(t)
	all, rv := l.SlotList(false)
	wantRV(t, "SlotList(false)", rv, ck.CKR_OK)
	if len(all) != 2 {
		t.Fatalf("slots: %v", all)
	}
	present, _ := l.SlotList(true)
	if len(present) != 1 || present[0] != 0 {
		t.Fatalf("slots with token: %v", present)
	}
	si, rv := l.GetSlotInfo(1)
	wantRV(t, "GetSlotInfo(1)", rv, ck.CKR_OK)
	if si.Flags&ck.CKF_TOKEN_PRESENT != 0 || si.Flags&ck.CKF_HW_SLOT == 0 {
		t.Fatalf("slot 1 flags %#x", si.Flags)
	}
	_, rv = l.GetSlotInfo(99)
	wantRV(t, "GetSlotInfo(99)", rv, ck.CKR_SLOT_ID_INVALID)
	_, rv = l.GetTokenInfo(1)
	wantRV(t, "GetTokenInfo(empty slot)", rv, ck.CKR_TOKEN_NOT_PRESENT)
	_, rv = l.GetTokenInfo(99)
	wantRV(t, "GetTokenInfo(99)", rv, ck.CKR_SLOT_ID_INVALID)
	_, rv = l.OpenSession(1, ck.CKF_SERIAL_SESSION)
	wantRV(t, "OpenSession(empty slot)", rv, ck.CKR_TOKEN_NOT_PRESENT)

	h1, _ := l.OpenSession(0, ck.CKF_SERIAL_SESSION)
	l.OpenSession(0, ck.CKF_SERIAL_SESSION|ck.CKF_RW_SESSION)
	ti, rv := l.GetTokenInfo(0)
	wantRV(t, "GetTokenInfo(0)", rv, ck.CKR_OK)
	if ti.Label != "fake" || ti.SessionCount != 2 || ti.RWSessionCount != 1 {
		t.Fatalf("token info %+v", ti)
	}
	l.CloseSession(h1)
	ti, _ = l.GetTokenInfo(0)
	if ti.SessionCount != 1 {
		t.Fatalf("session count after close: %d", ti.SessionCount)
	}
}

func TestMechanisms(t *testing.T) {
	l, _, _ := newTestLib(t)
	l.SlotList(false)
	list, rv := l.MechanismList(0)
	wantRV(t, "MechanismList", rv, ck.CKR_OK)
	have := map[ck.ULong]bool{}
	for i, m := range list {
		if have[m] {
			t.Fatalf("mechanism %#x listed twice", m)
		}
		if i > 0 && list[i-1] > m {
			t.Fatalf("list not sorted: %v", list)
		}
		have[m] = true
	}
	for _, m := range []ck.ULong{ck.CKM_RSA_X_509, ck.CKM_RSA_PKCS, ck.CKM_SHA256_RSA_PKCS, ck.CKM_RSA_PKCS_PSS,
		ck.CKM_SHA384_RSA_PKCS_PSS, ck.CKM_ECDSA, ck.CKM_ECDSA_SHA256, ck.CKM_EDDSA, ck.CKM_SHA256} {
		if !have[m] {
			t.Errorf("mechanism %#x missing", m)
		}
	}
	info, rv := l.MechanismInfo(0, ck.CKM_SHA256_RSA_PKCS)
	wantRV(t, "MechanismInfo", rv, ck.CKR_OK)
	if info.MinKeySize != 1024 || info.MaxKeySize != 4096 || info.Flags&ck.CKF_SIGN == 0 || info.Flags&ck.CKF_DECRYPT != 0 {
		t.Fatalf("SHA256_RSA_PKCS info %+v", info)
	}
	_, rv = l.MechanismInfo(0, ck.CKM_EC_KEY_PAIR_GEN)
	wantRV(t, "MechanismInfo(unlisted)", rv, ck.CKR_MECHANISM_INVALID)
}

func TestWaitForSlotEvent(t *testing.T) {
	l, m, _ := newTestLib(t)
	_, rv := l.WaitForSlotEvent(ck.CKF_DONT_BLOCK)
	wantRV(t, "no event", rv, ck.CKR_NO_EVENT)
	m.swap(1, newFakeToken(t))
	id, rv := l.WaitForSlotEvent(ck.CKF_DONT_BLOCK)
	wantRV(t, "event", rv, ck.CKR_OK)
	if id != 1 {
		t.Fatalf("event on slot %d", id)
	}
	// C_Finalize wakes a blocked call, which answers CKR_CRYPTOKI_NOT_INITIALIZED.
	done := make(chan ck.ULong)
	go func() {
		_, rv := l.WaitForSlotEvent(0)
		done <- rv
	}()
	time.Sleep(20 * time.Millisecond) // let it block; the test does not depend on it
	wantRV(t, "finalize", l.Finalize(false), ck.CKR_OK)
	select {
	case rv := <-done:
		wantRV(t, "woken wait", rv, ck.CKR_CRYPTOKI_NOT_INITIALIZED)
	case <-time.After(5 * time.Second):
		t.Fatal("C_WaitForSlotEvent not woken by C_Finalize")
	}
}

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

// A slot ID the library has not seen yet is checked with a fresh listing from pcscd;
// a pcscd slow to answer must not hold the library lock, so other calls go on.
func TestUnknownSlotListingOffLock(t *testing.T) {
	l, m, _ := newTestLib(t)
	m.mu.Lock() // pcscd does not answer: the fake manager's Slots waits
	answered := make(chan ck.ULong)
	go func() {
		_, rv := l.GetSlotInfo(7)
		answered <- rv
	}()
	time.Sleep(50 * time.Millisecond) // let it reach the listing
	done := make(chan struct{})
	go func() {
		l.GetInfo()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		m.mu.Unlock()
		t.Fatal("C_GetInfo waited for a slot listing")
	}
	m.mu.Unlock()
	wantRV(t, "GetSlotInfo(unknown slot)", <-answered, ck.CKR_SLOT_ID_INVALID)
}
