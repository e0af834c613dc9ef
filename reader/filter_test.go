package reader

import (
	"sync"
	"testing"
	"time"
)

// stateBackend is a Backend whose readers a test changes; WaitChange answers when the
// states differ from known (by name and card), as pcsc-lite does.
type stateBackend struct {
	mu       sync.Mutex
	changed  *sync.Cond
	states   []ReaderState
	waits    int
	connects []string
}

func newStateBackend(st ...ReaderState) *stateBackend {
	b := &stateBackend{states: st}
	b.changed = sync.NewCond(&b.mu)
	return b
}

func (b *stateBackend) set(st ...ReaderState) {
	b.mu.Lock()
	b.states = st
	b.mu.Unlock()
	b.changed.Broadcast()
}

func (b *stateBackend) ListReaders() ([]string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var n []string
	for _, s := range b.states {
		n = append(n, s.Name)
	}
	return n, nil
}

func (b *stateBackend) Connect(r string) (Card, error) {
	b.mu.Lock()
	b.connects = append(b.connects, r)
	b.mu.Unlock()
	return nil, ErrNoCard
}

func (b *stateBackend) WaitChange(known []ReaderState, timeout time.Duration) ([]ReaderState, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.waits++
	differs := func() bool {
		if len(known) != len(b.states) {
			return true
		}
		for _, s := range b.states {
			found := false
			for _, k := range known {
				found = found || (k.Name == s.Name && k.SameCard(s))
			}
			if !found {
				return true
			}
		}
		return false
	}
	if known != nil && timeout != 0 {
		// The deadline is taken before the timer is armed, and the timer wakes the
		// waiter under the lock: otherwise the wake-up could come just before the
		// deadline, or between the check and Wait, and be lost.
		deadline := time.Now().Add(timeout)
		stop := time.AfterFunc(timeout, func() {
			b.mu.Lock()
			defer b.mu.Unlock()
			b.changed.Broadcast()
		})
		defer stop.Stop()
		for !differs() && time.Now().Before(deadline) {
			b.changed.Wait()
		}
	}
	return append([]ReaderState(nil), b.states...), nil
}

func (b *stateBackend) Cancel() error { return nil }
func (b *stateBackend) Close() error  { return nil }

func TestFilterHidesReaders(t *testing.T) {
	yk := ReaderState{Name: "Yubico YubiKey 00 00"}
	hello := ReaderState{Name: "Windows Hello 00 00"}
	b := newStateBackend(yk, hello)
	f := Filter(b, func(n string) bool { return n != hello.Name })
	if Filter(b, nil) != Backend(b) {
		t.Error("nil filter wraps")
	}
	names, _ := f.ListReaders()
	if len(names) != 1 || names[0] != yk.Name {
		t.Fatalf("ListReaders %v", names)
	}
	if _, err := f.Connect(hello.Name); err != ErrReaderGone || len(b.connects) != 0 {
		t.Fatalf("Connect to a hidden reader: %v, backend saw %v", err, b.connects)
	}
	if _, err := f.Connect(yk.Name); err != ErrNoCard {
		t.Fatalf("Connect to a shown reader: %v", err)
	}
	known, _ := f.WaitChange(nil, 0)
	if len(known) != 1 || known[0].Name != yk.Name {
		t.Fatalf("snapshot %v", known)
	}

	// A card in the hidden reader is no event: the wait runs to its timeout.
	done := make(chan []ReaderState, 1)
	go func() {
		st, _ := f.WaitChange(known, 300*time.Millisecond)
		done <- st
	}()
	time.Sleep(20 * time.Millisecond)
	b.set(yk, ReaderState{Name: hello.Name, Present: true, ATR: []byte{1}})
	select {
	case st := <-done:
		if !sameStates(st, known) {
			t.Fatalf("states %v", st)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("WaitChange did not return after its timeout")
	}
	b.mu.Lock()
	waits := b.waits
	b.mu.Unlock()
	if waits < 3 { // snapshot, the wait woken by the hidden card, the wait on
		t.Errorf("backend waits %d: the hidden reader's change did not reach the filter", waits)
	}

	// A card in the shown reader is one.
	go func() {
		st, _ := f.WaitChange(known, -1)
		done <- st
	}()
	time.Sleep(20 * time.Millisecond)
	b.set(ReaderState{Name: yk.Name, Present: true, ATR: []byte{2}}, ReaderState{Name: hello.Name, Present: true, ATR: []byte{1}})
	select {
	case st := <-done:
		if len(st) != 1 || !st[0].Present {
			t.Fatalf("states %v", st)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a card in the shown reader did not end the wait")
	}
}
