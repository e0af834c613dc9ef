package reader

import (
	"errors"
	"testing"
	"time"
)

// A card that stops answering must not hold the host: the call gets ErrCardUnresponsive
// when the conversation's budget runs out, later calls get it at once, and the
// connection comes back (reporting a reset, since the card's state is unknown) if the
// late answer ever arrives. Close does not wait for the stuck call.
func TestCardThatStopsAnswering(t *testing.T) {
	release := make(chan struct{})
	f := &fakeHandle{}
	f.transmit = func(cmd []byte) ([]byte, error) {
		if cmd[1] == 0xEE { // the command the card never answers (until released)
			<-release
		}
		return []byte{0x90, 0x00}, nil
	}
	c := testConn(f)
	c.budget = 100 * time.Millisecond
	if err := c.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Transmit([]byte{0, 0xA4, 4, 0}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err := c.Transmit([]byte{0, 0xEE, 0, 0})
	if !errors.Is(err, ErrCardUnresponsive) {
		t.Fatalf("Transmit = %v, want ErrCardUnresponsive", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("the call was held %v (budget 100 ms)", d)
	}
	// Everything after answers at once, without touching the stuck handle.
	start = time.Now()
	if _, err := c.Transmit([]byte{0, 0xA4, 4, 0}); !errors.Is(err, ErrCardUnresponsive) {
		t.Fatalf("next Transmit = %v", err)
	}
	if err := c.EndTransaction(); !errors.Is(err, ErrCardUnresponsive) {
		t.Fatalf("EndTransaction = %v", err)
	}
	if err := c.BeginTransaction(); !errors.Is(err, ErrCardUnresponsive) {
		t.Fatalf("BeginTransaction = %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("calls on a dead connection took %v", d)
	}
	// The late answer: the connection is usable again and reports a reset once; the
	// transaction the stuck call ran in was ended.
	close(release)
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := c.BeginTransaction()
		if err == nil {
			t.Fatal("no reset reported after the abandoned command")
		}
		if errors.Is(err, ErrCardReset) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("connection not revived: %v", err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if f.inTx != 1 {
		t.Fatalf("transactions held: %d, want 1 (the old one ended, the new one begun)", f.inTx)
	}
	if _, err := c.Transmit([]byte{0, 0xA4, 4, 0}); err != nil {
		t.Fatalf("Transmit after revival: %v", err)
	}
	c.EndTransaction()
}

// Close while a call is stuck returns at once; the handle is released when the call
// returns.
func TestCloseWhileStuck(t *testing.T) {
	release := make(chan struct{})
	f := &fakeHandle{transmit: func([]byte) ([]byte, error) { <-release; return []byte{0x90, 0}, nil }}
	c := testConn(f)
	c.budget = 50 * time.Millisecond
	if _, err := c.Transmit([]byte{0, 0xEE, 0, 0}); !errors.Is(err, ErrCardUnresponsive) {
		t.Fatalf("Transmit = %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- c.Close() }()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("Close waited for the stuck call")
	}
	close(release)
	deadline := time.Now().Add(5 * time.Second)
	for {
		c.mu.Lock()
		n := f.disconnected
		c.mu.Unlock()
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("handle never released after the stuck call returned")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A conversation whose budget ran out between two answers gets ErrCardUnresponsive
// for its next call, and the connection is not declared dead: the next conversation
// has a budget of its own.
func TestBudgetUsedUpBetweenAnswers(t *testing.T) {
	f := &fakeHandle{}
	c := testConn(f)
	c.budget = 50 * time.Millisecond
	if err := c.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Transmit([]byte{0, 0xCB, 0x3F, 0xFF}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(60 * time.Millisecond)
	if _, err := c.Transmit([]byte{0, 0xCB, 0x3F, 0xFF}); !errors.Is(err, ErrCardUnresponsive) {
		t.Fatalf("err = %v", err)
	}
	if len(f.sent) != 1 {
		t.Fatalf("%d APDUs sent, want 1 (none after the budget ran out)", len(f.sent))
	}
	if err := c.EndTransaction(); err != nil {
		t.Fatalf("EndTransaction: %v", err)
	}
	if err := c.BeginTransaction(); err != nil {
		t.Fatalf("the next conversation: %v", err)
	}
	if _, err := c.Transmit([]byte{0, 0xCB, 0x3F, 0xFF}); err != nil {
		t.Fatalf("the next conversation's first APDU: %v", err)
	}
}

// A panic in the transmit goroutine (injected through package guard's hook) is an
// error of that call, not the end of the host.
func TestTransmitGoroutinePanic(t *testing.T) {
	panicInTransmit(t)
	c := testConn(&fakeHandle{})
	if _, err := c.Transmit([]byte{0, 0xA4, 4, 0}); err == nil {
		t.Fatal("no error from a panicking transmit")
	}
}

// BenchmarkTransmitBounded measures what the budget costs per APDU (a guarded
// goroutine and a timer) against an unbounded connection, on a fake handle that
// answers at once: go test -run '^$' -bench Transmit ./reader
func BenchmarkTransmitBounded(b *testing.B) {
	for _, budget := range []time.Duration{0, DefaultBudget} {
		name := "unbounded"
		if budget > 0 {
			name = "bounded"
		}
		b.Run(name, func(b *testing.B) {
			c := testConn(&fakeHandle{transmit: func([]byte) ([]byte, error) { return []byte{0x90, 0}, nil }})
			c.budget = budget
			cmd := []byte{0, 0xCB, 0x3F, 0xFF}
			for i := 0; i < b.N; i++ {
				if _, err := c.Transmit(cmd); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
