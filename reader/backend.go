package reader

import (
	"bytes"
	"time"
)

// Backend is the PC/SC service as the slot manager needs it: the reader list, reader
// and card states with blocking change notification, and connections. PCSC is the
// pcsc-lite implementation; tests use scripted fakes.
type Backend interface {
	// ListReaders names the readers attached now (none is not an error).
	ListReaders() ([]string, error)
	// Connect opens a shared connection to the card in reader. ErrNoCard when the
	// reader is empty, ErrReaderGone when it no longer exists.
	Connect(reader string) (Card, error)
	// WaitChange blocks until the readers differ from known (a reader attached or
	// detached, a card inserted, removed or swapped), or timeout passes, then returns
	// the current state of every attached reader. Pass back what the previous call
	// returned: states carry backend data that make the next wait exact. known == nil
	// with timeout 0 is a snapshot. A negative timeout waits forever. Cancel makes a
	// blocked call return ErrCancelled.
	WaitChange(known []ReaderState, timeout time.Duration) ([]ReaderState, error)
	// Cancel wakes a WaitChange blocked in another goroutine (SCardCancel).
	Cancel() error
	// Close releases the backend; WaitChange then returns ErrCancelled.
	Close() error
}

// ReaderState is one reader as last seen by the backend.
type ReaderState struct {
	Name    string
	Present bool   // a card is in the reader
	Mute    bool   // a card is in but does not answer (no ATR)
	ATR     []byte // the card's answer to reset when present
	// EventCount is pcsc-lite's per-reader card event counter (insertions and
	// removals); it tells a swapped card from the same card even when the ATRs match.
	// 0 when the backend has none.
	EventCount uint16

	// raw is the backend's own state word (pcsc-lite's dwEventState), passed back as
	// dwCurrentState so the next wait starts exactly where this one ended.
	raw uint32
}

// SameCard reports whether a and b show the same card situation: the same presence
// and event counter (a card that came and went between two looks still moves the
// counter), and when a card is in, the same ATR.
func (a ReaderState) SameCard(b ReaderState) bool {
	if a.Present != b.Present || a.EventCount != b.EventCount {
		return false
	}
	return !a.Present || bytes.Equal(a.ATR, b.ATR)
}
