package slot

import (
	"sync"
	"sync/atomic"

	"github.com/pcsc11/pcsc11/ck"
	"github.com/pcsc11/pcsc11/reader"
)

// Token returns the token in slot id, connecting to the card and running the driver
// on first use. When the card changed since (the generation moved on, or the card
// reported its removal), the old Token is closed and a new one opened. The Token is
// the driver's own value (so drivers' extra interfaces stay reachable); drivers
// serialize their own calls.
//
// Errors: CKR_SLOT_ID_INVALID, CKR_TOKEN_NOT_PRESENT (empty slot, or the card left
// while connecting), CKR_TOKEN_NOT_RECOGNIZED (from the driver, remembered until the
// card changes, but only when the card itself answered so: see open),
// CKR_DEVICE_ERROR (transient: the next call tries again).
func (m *Manager) Token(id ID) (Token, error) {
	m.mu.Lock()
	s, err := m.lookup(id)
	m.mu.Unlock()
	if err != nil {
		return nil, err
	}
	s.op.Lock()
	defer s.op.Unlock()

	m.mu.Lock()
	closed, gen := m.closed, s.gen
	m.mu.Unlock()
	if closed {
		return nil, errNotInitialized()
	}
	if s.card != nil && s.card.lost.Load() && s.tokGen == gen {
		gen = m.cardLost(s, gen)
	}
	if s.tok != nil && s.tokGen == gen {
		return s.tok, nil
	}
	s.dropToken()
	if s.tokErr != nil && s.tokGen == gen {
		return nil, s.tokErr
	}
	s.tokErr = nil

	m.mu.Lock()
	present, name := s.attached && s.state.Present, s.name
	gen = s.gen
	m.mu.Unlock()
	if !present {
		return nil, NewError(ck.CKR_TOKEN_NOT_PRESENT, "slot: no card in "+name, nil)
	}

	tok, wc, err := m.open(s, name, gen)
	if err != nil {
		return nil, err
	}
	s.tok, s.card, s.tokGen = tok, wc, gen
	return tok, nil
}

// dropToken closes the slot's token, which owns its card and closes it. s.op held.
// The card is not closed here besides: a token busy with a call (a touch wait) closes
// it when that call ends (Token.Close never waits), and closing the connection under
// the call would wait for it in pcsc-lite (one lock per context), which C_Finalize
// must not.
func (s *slotEntry) dropToken() {
	if s.tok != nil {
		s.tok.Close()
		s.tok = nil
	} else if s.card != nil {
		s.card.Close()
	}
	s.card = nil
}

// watchedCard is the Card handed to drivers: it notes when the card reports that it is
// gone, which the monitor may not have heard of yet.
type watchedCard struct {
	reader.Card
	lost      atomic.Bool
	closeOnce sync.Once
	closeErr  error
}

func (w *watchedCard) note(err error) error {
	if errorsIsAny(err, reader.ErrCardRemoved, reader.ErrReaderGone, reader.ErrNoCard) {
		w.lost.Store(true)
	}
	return err
}

func (w *watchedCard) Transmit(cmd []byte) ([]byte, error) {
	rsp, err := w.Card.Transmit(cmd)
	return rsp, w.note(err)
}

func (w *watchedCard) BeginTransaction() error { return w.note(w.Card.BeginTransaction()) }

func (w *watchedCard) EndTransaction() error { return w.note(w.Card.EndTransaction()) }

func (w *watchedCard) Control(code uint32, in []byte) ([]byte, error) {
	out, err := w.Card.Control(code, in)
	return out, w.note(err)
}

func (w *watchedCard) Close() error {
	w.closeOnce.Do(func() { w.closeErr = w.Card.Close() })
	return w.closeErr
}
