package vpiv

import (
	"errors"
	"sync"

	"github.com/pcsc11/pcsc11/reader"
)

// Memory is the in-process door to a Card: a reader.Card with no PC/SC underneath,
// for fast tests of the PIV driver and the module.
type Memory struct {
	c      *Card
	mu     sync.Mutex
	closed bool
	gen    uint64 // the card's reset generation seen by the last BeginTransaction
}

var _ reader.Card = (*Memory)(nil)

// ErrNoControl: the in-memory door has no reader, so no SCardControl features.
var ErrNoControl = errors.New("vpiv: the in-memory card has no reader control")

// NewMemory connects to c.
func NewMemory(c *Card) *Memory { return &Memory{c: c, gen: c.generation()} }

// Transmit sends one command APDU (no chaining or 61xx handling: the caller's job).
func (m *Memory) Transmit(cmd []byte) ([]byte, error) {
	m.mu.Lock()
	closed := m.closed
	m.mu.Unlock()
	if closed {
		return nil, reader.ErrCardRemoved
	}
	return m.c.Process(cmd), nil
}

// BeginTransaction reports reader.ErrCardReset once after the card was reset or
// powered off (Card.Reset, Card.PowerOff) since the previous call, like pcsc-lite's
// SCARD_W_RESET_CARD. Transactions are otherwise no-ops: Process is serialized.
func (m *Memory) BeginTransaction() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return reader.ErrCardRemoved
	}
	if g := m.c.generation(); g != m.gen {
		m.gen = g
		return reader.ErrCardReset
	}
	return nil
}

// EndTransaction is a no-op.
func (m *Memory) EndTransaction() error { return nil }

// Control always fails with ErrNoControl.
func (m *Memory) Control(code uint32, in []byte) ([]byte, error) { return nil, ErrNoControl }

// ATR is the card's answer to reset.
func (m *Memory) ATR() []byte { return m.c.ATR() }

// Close ends this connection; the card stays as it is.
func (m *Memory) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	return nil
}
