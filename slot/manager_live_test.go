package slot

import (
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pcsc11/pcsc11/ck"
	"github.com/pcsc11/pcsc11/reader"
)

// The manager on a real pcscd. Skips, saying why, without one. With
// PCSC11_VPIV_CONTROL naming the control socket of a pcsc11-vpiv card, it also removes
// and re-inserts that card and checks the events and generations.

func liveManager(t *testing.T) (*Manager, *fakeDriver) {
	t.Helper()
	b, err := reader.NewPCSC()
	if err != nil {
		t.Skipf("skipped: no pcscd reachable (SCardEstablishContext: %v)", err)
	}
	d := &fakeDriver{}
	m := NewManager(b, d.open)
	t.Cleanup(func() { m.Close() })
	return m, d
}

func TestLiveManagerSlotsAndTokens(t *testing.T) {
	m, _ := liveManager(t)
	ids, err := m.Slots(false)
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) == 0 {
		t.Skip("skipped: pcscd has no reader")
	}
	for _, id := range ids {
		info, err := m.SlotInfo(id)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("slot %d: %q flags %#x generation %d", id, info.Description, info.Flags, m.Generation(id))
		_, err = m.Token(id)
		if info.Flags&ck.CKF_TOKEN_PRESENT == 0 {
			wantRV(t, err, ck.CKR_TOKEN_NOT_PRESENT)
		} else if err != nil {
			t.Errorf("slot %d: Token: %v", id, err)
		}
	}
}

func TestLiveManagerCloseWakesWaiter(t *testing.T) {
	m, _ := liveManager(t)
	done := make(chan error, 1)
	go func() {
		for {
			if _, err := m.WaitForEvent(true); err != nil {
				done <- err
				return
			}
		}
	}()
	time.Sleep(50 * time.Millisecond)
	start := time.Now()
	go m.Close()
	select {
	case err := <-done:
		wantRV(t, err, ck.CKR_CRYPTOKI_NOT_INITIALIZED)
	case <-time.After(100 * time.Millisecond):
		t.Fatal("Close did not wake the waiter within 100 ms")
	}
	select {
	case <-m.monitorDone:
	case <-time.After(time.Second):
		t.Fatal("monitor still blocked in SCardGetStatusChange 1 s after Close")
	}
	t.Logf("woken and stopped in %v", time.Since(start))
}

func vpivSend(t *testing.T, sock, cmd string) {
	t.Helper()
	c, err := net.DialTimeout("unix", sock, 2*time.Second)
	if err != nil {
		t.Fatalf("control socket: %v", err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte(cmd + "\n")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 256)
	n, _ := c.Read(buf)
	t.Logf("vpiv %s: %s", cmd, strings.TrimSpace(string(buf[:n])))
}

func TestLiveManagerCardEvents(t *testing.T) {
	sock := os.Getenv("PCSC11_VPIV_CONTROL")
	if sock == "" {
		t.Skip("skipped: set PCSC11_VPIV_CONTROL to a pcsc11-vpiv control socket to remove and insert its card")
	}
	m, d := liveManager(t)
	ids, _ := m.Slots(true)
	if len(ids) != 1 {
		t.Skipf("skipped: want exactly one card, have %d", len(ids))
	}
	id := ids[0]
	tok, err := m.Token(id)
	if err != nil {
		t.Fatal(err)
	}
	g := m.Generation(id)
	noEvent(t, m)

	vpivSend(t, sock, "remove")
	if got := waitEvent(t, m); got != id {
		t.Fatalf("event on slot %d, want %d", got, id)
	}
	if info, _ := m.SlotInfo(id); info.Flags&ck.CKF_TOKEN_PRESENT != 0 {
		t.Fatal("token still present after removal")
	}
	vpivSend(t, sock, "insert")
	if got := waitEvent(t, m); got != id {
		t.Fatalf("event on slot %d, want %d", got, id)
	}
	for info, _ := m.SlotInfo(id); info.Flags&ck.CKF_TOKEN_PRESENT == 0; info, _ = m.SlotInfo(id) {
		waitEvent(t, m)
	}
	if m.Generation(id) == g {
		t.Fatal("generation unchanged after remove + insert")
	}
	tok2, err := m.Token(id)
	if err != nil || tok2 == tok || d.calls != 2 {
		t.Fatalf("token after reinsertion: new=%v driver calls=%d err=%v", tok2 != tok, d.calls, err)
	}
}

// countingBackend counts WaitChange calls.
type countingBackend struct {
	reader.Backend
	mu    sync.Mutex
	waits int
}

func (c *countingBackend) WaitChange(known []reader.ReaderState, timeout time.Duration) ([]reader.ReaderState, error) {
	c.mu.Lock()
	c.waits++
	c.mu.Unlock()
	return c.Backend.WaitChange(known, timeout)
}

// The monitor must block in SCardGetStatusChange, not poll: our own open connection
// (the reader's INUSE flag) and idle time must not wake it over and over.
func TestLiveManagerMonitorDoesNotPoll(t *testing.T) {
	b, err := reader.NewPCSC()
	if err != nil {
		t.Skipf("skipped: no pcscd reachable (SCardEstablishContext: %v)", err)
	}
	cb := &countingBackend{Backend: b}
	d := &fakeDriver{}
	m := NewManager(cb, d.open)
	defer m.Close()
	if ids, _ := m.Slots(true); len(ids) > 0 {
		if _, err := m.Token(ids[0]); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(200 * time.Millisecond)
	cb.mu.Lock()
	before := cb.waits
	cb.mu.Unlock()
	time.Sleep(time.Second)
	cb.mu.Lock()
	n := cb.waits - before
	cb.mu.Unlock()
	if n > 3 {
		t.Fatalf("monitor called WaitChange %d times in an idle second", n)
	}
	t.Logf("%d wake-ups in an idle second", n)
}
