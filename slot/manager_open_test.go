package slot

import (
	"errors"
	"sync"
	"testing"

	"github.com/pcsc11/pcsc11/ck"
	"github.com/pcsc11/pcsc11/reader"
)

// flakyDriver fails its first `fail` runs with a CKR_TOKEN_NOT_RECOGNIZED that rests on
// a PC/SC failure (as the PIV driver does when SELECT dies of "Card protocol mismatch"),
// then opens the card.
type flakyDriver struct {
	mu    sync.Mutex
	fail  int
	calls int
}

func (d *flakyDriver) open(card reader.Card, name string) (Token, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.calls++
	if d.calls <= d.fail {
		cause := &reader.OpError{Op: "transmit", Reader: name, Code: errors.New("scard: Card protocol mismatch")}
		return nil, NewError(ck.CKR_TOKEN_NOT_RECOGNIZED, "piv: no PIV application on the card", cause)
	}
	return &fakeToken{card: card, name: name}, nil
}

func newFlakyManager(t *testing.T, fail int) (*Manager, *flakyDriver) {
	t.Helper()
	b := newFakeBackend()
	b.attach("R")
	b.insert("R", atrPIV)
	d := &flakyDriver{fail: fail}
	m := NewManager(b, d.open)
	t.Cleanup(func() { m.Close() })
	return m, d
}

func TestTransientOpenFailureIsRetried(t *testing.T) {
	m, d := newFlakyManager(t, 1)
	tok, err := m.Token(0)
	if err != nil || tok == nil {
		t.Fatalf("Token after one transient failure: %v", err)
	}
	if d.calls != 2 {
		t.Fatalf("driver ran %d times, want 2", d.calls)
	}
}

func TestPersistentTransientFailureIsNotRemembered(t *testing.T) {
	attempts := len(openRetryDelays) + 1
	m, d := newFlakyManager(t, attempts)
	_, err := m.Token(0)
	wantRV(t, err, ck.CKR_DEVICE_ERROR)
	if d.calls != attempts {
		t.Fatalf("driver ran %d times, want %d", d.calls, attempts)
	}
	// Not remembered as "not recognized": the next call tries again and succeeds.
	if tok, err := m.Token(0); err != nil || tok == nil {
		t.Fatalf("Token after the transient failure passed: %v", err)
	}
}

func TestCardVerdictIsRemembered(t *testing.T) {
	b := newFakeBackend()
	b.attach("R")
	b.insert("R", atrPIV)
	calls := 0
	m := NewManager(b, func(card reader.Card, name string) (Token, error) {
		calls++
		// Not wrapping a reader error: the card answered, and it is not ours.
		return nil, NewError(ck.CKR_TOKEN_NOT_RECOGNIZED, "piv: no PIV application", errors.New("apdu: 6A82"))
	})
	t.Cleanup(func() { m.Close() })
	for i := 0; i < 3; i++ {
		_, err := m.Token(0)
		wantRV(t, err, ck.CKR_TOKEN_NOT_RECOGNIZED)
	}
	if calls != 1 {
		t.Fatalf("driver ran %d times for one card that is not PIV", calls)
	}
}
