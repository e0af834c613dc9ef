package slot

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/pcsc11/pcsc11/ck"
	"github.com/pcsc11/pcsc11/guard"
	"github.com/pcsc11/pcsc11/reader"
)

var (
	atrPIV   = []byte{0x3b, 0xfd, 0x13, 0x00}
	atrOther = []byte{0x3b, 0x8f, 0x80, 0x01}
	atrAlien = []byte{0xee, 0x01}
)

func newTestManager(t *testing.T, setup func(*fakeBackend)) (*Manager, *fakeBackend, *fakeDriver) {
	t.Helper()
	b := newFakeBackend()
	if setup != nil {
		setup(b)
	}
	d := &fakeDriver{}
	m := NewManager(b, d.open)
	t.Cleanup(func() { m.Close() })
	return m, b, d
}

func wantRV(t *testing.T, err error, rv ck.ULong) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) || e.RV != rv {
		t.Fatalf("error %v, want *Error with RV %#x", err, rv)
	}
}

// waitEvent blocks for the next slot event, failing after two seconds.
func waitEvent(t *testing.T, m *Manager) ID {
	t.Helper()
	type res struct {
		id  ID
		err error
	}
	ch := make(chan res, 1)
	go func() {
		id, err := m.WaitForEvent(true)
		ch <- res{id, err}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			t.Fatalf("WaitForEvent: %v", r.err)
		}
		return r.id
	case <-time.After(2 * time.Second):
		t.Fatal("no slot event within 2s")
	}
	return 0
}

func noEvent(t *testing.T, m *Manager) {
	t.Helper()
	id, err := m.WaitForEvent(false)
	if err == nil {
		t.Fatalf("unexpected event on slot %d", id)
	}
	wantRV(t, err, ck.CKR_NO_EVENT)
}

func TestSlotIDsStableAndListNeverShrinks(t *testing.T) {
	m, b, _ := newTestManager(t, func(b *fakeBackend) {
		b.attach("Reader A")
		b.attach("Reader B")
		b.insert("Reader A", atrPIV)
	})
	ids, err := m.Slots(false)
	if err != nil || !slices.Equal(ids, []ID{0, 1}) {
		t.Fatalf("Slots(false) = %v, %v", ids, err)
	}
	if ids, _ := m.Slots(true); !slices.Equal(ids, []ID{0}) {
		t.Fatalf("Slots(true) = %v", ids)
	}
	noEvent(t, m) // what was there at start is not an event

	b.detach("Reader A")
	if id := waitEvent(t, m); id != 0 {
		t.Fatalf("event on %d, want 0", id)
	}
	if ids, _ := m.Slots(false); !slices.Equal(ids, []ID{0, 1}) {
		t.Fatalf("after detach Slots(false) = %v", ids)
	}
	if ids, _ := m.Slots(true); len(ids) != 0 {
		t.Fatalf("after detach Slots(true) = %v", ids)
	}
	info, err := m.SlotInfo(0)
	if err != nil || info.Description != "Reader A" || info.Flags&ck.CKF_TOKEN_PRESENT != 0 {
		t.Fatalf("SlotInfo(0) = %+v, %v", info, err)
	}

	b.attach("Reader C")
	if id := waitEvent(t, m); id != 2 {
		t.Fatalf("new reader got slot %d, want 2", id)
	}
	b.attach("Reader A")
	if id := waitEvent(t, m); id != 0 {
		t.Fatalf("returning reader got slot %d, want its old 0", id)
	}
	b.insert("Reader A", atrPIV)
	waitEvent(t, m)
	if ids, _ := m.Slots(true); !slices.Equal(ids, []ID{0}) {
		t.Fatalf("Slots(true) = %v", ids)
	}
}

func TestSlotInfo(t *testing.T) {
	m, _, _ := newTestManager(t, func(b *fakeBackend) {
		b.attach("Yubico YubiKey OTP+FIDO+CCID 00 00")
		b.insert("Yubico YubiKey OTP+FIDO+CCID 00 00", atrPIV)
	})
	info, err := m.SlotInfo(0)
	if err != nil {
		t.Fatal(err)
	}
	want := ck.CKF_REMOVABLE_DEVICE | ck.CKF_HW_SLOT | ck.CKF_TOKEN_PRESENT
	if info.Flags != want || info.Description != "Yubico YubiKey OTP+FIDO+CCID 00 00" || info.Manufacturer == "" {
		t.Fatalf("SlotInfo = %+v", info)
	}
	_, err = m.SlotInfo(7)
	wantRV(t, err, ck.CKR_SLOT_ID_INVALID)
	_, err = m.Token(7)
	wantRV(t, err, ck.CKR_SLOT_ID_INVALID)
	if g := m.Generation(7); g != 0 {
		t.Errorf("Generation of unknown slot = %d", g)
	}
}

func TestTokenOpenedOnceAndReplacedWithTheCard(t *testing.T) {
	m, b, d := newTestManager(t, func(b *fakeBackend) {
		b.attach("R")
		b.insert("R", atrPIV)
	})
	g1 := m.Generation(0)
	t1, err := m.Token(0)
	if err != nil {
		t.Fatal(err)
	}
	t1again, err := m.Token(0)
	if err != nil || t1again != t1 || d.calls != 1 {
		t.Fatalf("second Token: same=%v calls=%d err=%v", t1again == t1, d.calls, err)
	}

	b.remove("R")
	waitEvent(t, m)
	if g := m.Generation(0); g == g1 {
		t.Fatal("generation unchanged after removal")
	}
	_, err = m.Token(0)
	wantRV(t, err, ck.CKR_TOKEN_NOT_PRESENT)
	if t1.(*fakeToken).closed != 1 {
		t.Errorf("old token closed %d times", t1.(*fakeToken).closed)
	}

	b.insert("R", atrOther)
	waitEvent(t, m)
	g3 := m.Generation(0)
	t2, err := m.Token(0)
	if err != nil || t2 == t1 || d.calls != 2 {
		t.Fatalf("Token after reinsertion: new=%v calls=%d err=%v", t2 != t1, d.calls, err)
	}
	if g3 == g1 {
		t.Fatal("generation reused")
	}
}

func TestSwappedCardWithSameATRIsANewToken(t *testing.T) {
	m, b, d := newTestManager(t, func(b *fakeBackend) {
		b.attach("R")
		b.insert("R", atrPIV)
	})
	t1, _ := m.Token(0)
	g := m.Generation(0)
	// Remove and insert an identical card faster than anyone looks: only the event
	// counter tells.
	b.mu.Lock()
	b.readers[0].EventCount += 2
	b.cards["R"].remove()
	b.cards["R"] = &fakeCard{atr: atrPIV}
	b.notify()
	b.mu.Unlock()
	waitEvent(t, m)
	if m.Generation(0) == g {
		t.Fatal("generation unchanged after a swap")
	}
	t2, err := m.Token(0)
	if err != nil || t2 == t1 || d.calls != 2 {
		t.Fatalf("swap: new=%v calls=%d err=%v", t2 != t1, d.calls, err)
	}
}

func TestCardRemovalSeenByTheCardFirst(t *testing.T) {
	m, b, d := newTestManager(t, func(b *fakeBackend) {
		b.attach("R")
		b.insert("R", atrPIV)
	})
	tok, _ := m.Token(0)
	g := m.Generation(0)
	// The card is gone (its connection says so) but PC/SC has not told the monitor.
	b.mu.Lock()
	b.cards["R"].remove()
	b.cards["R"] = &fakeCard{atr: atrPIV}
	b.mu.Unlock()
	if _, err := tok.PrivateKeyOp("priv/9a", OpECDSA, []byte{1}); !errors.Is(err, reader.ErrCardRemoved) {
		t.Fatalf("op on removed card: %v", err)
	}
	start := time.Now()
	tok2, err := m.Token(0)
	if err != nil || tok2 == tok || d.calls != 2 {
		t.Fatalf("Token after lost card: new=%v calls=%d err=%v", tok2 != tok, d.calls, err)
	}
	if m.Generation(0) == g {
		t.Fatal("generation unchanged after the card reported removal")
	}
	if time.Since(start) > 2*time.Second {
		t.Fatal("Token waited too long")
	}
	if id := waitEvent(t, m); id != 0 {
		t.Fatalf("event on %d", id)
	}
}

func TestUnrecognizedCardAskedOncePerCard(t *testing.T) {
	m, b, d := newTestManager(t, func(b *fakeBackend) {
		b.attach("R")
		b.insert("R", atrAlien)
	})
	for i := 0; i < 3; i++ {
		_, err := m.Token(0)
		wantRV(t, err, ck.CKR_TOKEN_NOT_RECOGNIZED)
	}
	if d.calls != 1 {
		t.Fatalf("driver ran %d times for one unknown card", d.calls)
	}
	if c := b.cards["R"]; c.closes != 1 {
		t.Errorf("unrecognized card's connection closed %d times", c.closes)
	}
	b.remove("R")
	waitEvent(t, m)
	b.insert("R", atrPIV)
	waitEvent(t, m)
	if _, err := m.Token(0); err != nil || d.calls != 2 {
		t.Fatalf("new card: calls=%d err=%v", d.calls, err)
	}
}

func TestEventsBetweenCallsAreKept(t *testing.T) {
	m, b, _ := newTestManager(t, func(b *fakeBackend) {
		b.attach("R0")
		b.attach("R1")
	})
	noEvent(t, m)
	b.insert("R1", atrPIV)
	b.insert("R0", atrPIV)
	b.remove("R1") // same slot again: one flag
	// Let the monitor see everything before asking.
	deadline := time.Now().Add(2 * time.Second)
	for (m.Generation(0) < 2 || m.Generation(1) < 2) && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	var got []ID
	for {
		id, err := m.WaitForEvent(false)
		if err != nil {
			wantRV(t, err, ck.CKR_NO_EVENT)
			break
		}
		got = append(got, id)
	}
	slices.Sort(got)
	if !slices.Equal(got, []ID{0, 1}) {
		t.Fatalf("events %v, want slots 0 and 1 once each", got)
	}
}

func TestCloseWakesBlockedWaiter(t *testing.T) {
	m, b, _ := newTestManager(t, func(b *fakeBackend) {
		b.attach("R")
		b.insert("R", atrPIV)
	})
	tok, err := m.Token(0)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := m.WaitForEvent(true)
		done <- err
	}()
	time.Sleep(20 * time.Millisecond) // let it block
	start := time.Now()
	closed := make(chan error, 1)
	go func() { closed <- m.Close() }()
	select {
	case err := <-done:
		wantRV(t, err, ck.CKR_CRYPTOKI_NOT_INITIALIZED)
		if d := time.Since(start); d > 100*time.Millisecond {
			t.Fatalf("waiter woke after %v", d)
		}
	case <-time.After(100 * time.Millisecond):
		t.Fatal("Close did not wake the waiter within 100 ms")
	}
	select {
	case err := <-closed:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(time.Second):
		t.Fatal("Close hung")
	}
	if !b.closed || tok.(*fakeToken).closed != 1 {
		t.Fatalf("backend closed=%v token closed=%d", b.closed, tok.(*fakeToken).closed)
	}
	select {
	case <-m.monitorDone:
	default:
		t.Fatal("monitor still running after Close")
	}
	_, err = m.WaitForEvent(false)
	wantRV(t, err, ck.CKR_CRYPTOKI_NOT_INITIALIZED)
	_, err = m.Slots(false)
	wantRV(t, err, ck.CKR_CRYPTOKI_NOT_INITIALIZED)
	_, err = m.Token(0)
	wantRV(t, err, ck.CKR_CRYPTOKI_NOT_INITIALIZED)
	if err := m.Close(); err != nil {
		t.Fatal("second Close:", err)
	}
}

func TestMonitorSurvivesBackendErrors(t *testing.T) {
	m, b, _ := newTestManager(t, func(b *fakeBackend) {
		b.attach("R")
		b.waitErrs = []error{reader.ErrReaderGone, errors.New("pcscd restarting")}
	})
	b.insert("R", atrPIV)
	if id := waitEvent(t, m); id != 0 {
		t.Fatalf("event on %d", id)
	}
	if info, _ := m.SlotInfo(0); info.Flags&ck.CKF_TOKEN_PRESENT == 0 {
		t.Fatal("card not seen after backend errors")
	}
}

func TestStartWithoutPCSC(t *testing.T) {
	b := newFakeBackend()
	b.waitErrs = []error{reader.ErrReaderGone} // the initial snapshot fails
	d := &fakeDriver{}
	m := NewManager(b, d.open)
	defer m.Close()
	if ids, err := m.Slots(false); err != nil || len(ids) != 0 {
		t.Fatalf("Slots = %v, %v", ids, err)
	}
	b.attach("R")
	if id := waitEvent(t, m); id != 0 {
		t.Fatalf("event on %d", id)
	}
}

// A panic in the slot monitor goroutine (injected through package guard's test hook)
// is recovered: the process survives, a blocked C_WaitForSlotEvent wakes with
// CKR_GENERAL_ERROR instead of waiting for events nobody will see, and Close works.
func TestMonitorPanicIsRecovered(t *testing.T) {
	guard.SetTestHook(func(name string) {
		if name == guard.SlotMonitor {
			panic("injected into the slot monitor")
		}
	})
	defer guard.SetTestHook(nil)
	m, _, _ := newTestManager(t, func(b *fakeBackend) { b.attach("R") })
	done := make(chan error, 1)
	go func() {
		_, err := m.WaitForEvent(true)
		done <- err
	}()
	select {
	case err := <-done:
		wantRV(t, err, ck.CKR_GENERAL_ERROR)
	case <-time.After(5 * time.Second):
		t.Fatal("WaitForEvent still blocked after the monitor died")
	}
	_, err := m.WaitForEvent(false)
	wantRV(t, err, ck.CKR_GENERAL_ERROR)
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
}
