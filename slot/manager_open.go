package slot

import (
	"errors"
	"time"

	"github.com/pcsc11/pcsc11/ck"
	"github.com/pcsc11/pcsc11/reader"
)

// openRetryDelays are the pauses before the second and third attempt to open a token
// after a transient PC/SC failure. Right after an insertion pcscd may still be powering
// the card (SCARD_E_PROTO_MISMATCH, SCARD_W_UNPOWERED_CARD...); a few hundred
// milliseconds later the same card opens fine.
var openRetryDelays = []time.Duration{50 * time.Millisecond, 200 * time.Millisecond}

// open connects to the card in slot s and runs the driver (s.op held). A verdict of
// the card itself (CKR_TOKEN_NOT_RECOGNIZED resting on the card's answers) is
// remembered in s.tokErr for this insertion; a failure of the reader below (an
// *reader.OpError in the chain) is transient: it is retried a couple of times here,
// and if it persists answered CKR_DEVICE_ERROR without being remembered, so the next
// call tries again. Only a card that really is not PIV stays unrecognized.
func (m *Manager) open(s *slotEntry, name string, gen uint64) (Token, *watchedCard, error) {
	var lastErr error
	for attempt := 0; ; attempt++ {
		tok, wc, transient, err := m.openOnce(name)
		if err == nil {
			return tok, wc, nil
		}
		if !transient {
			var se *Error
			if errors.As(err, &se) && se.RV == ck.CKR_TOKEN_NOT_RECOGNIZED {
				s.tokErr, s.tokGen = err, gen
			}
			if errors.Is(err, reader.ErrCardUnresponsive) {
				// A card that let a whole budget pass without answering is not asked
				// again during this insertion: every later call would wait as long.
				// Re-inserting it starts afresh.
				s.tokErr, s.tokGen = err, gen
			}
			return nil, nil, err
		}
		lastErr = err
		if attempt >= len(openRetryDelays) || !m.sleep(openRetryDelays[attempt]) {
			break
		}
		m.mu.Lock()
		same := s.gen == gen && s.attached && s.state.Present && !m.closed
		m.mu.Unlock()
		if !same { // the card changed meanwhile: let the caller see the new situation
			break
		}
	}
	return nil, nil, NewError(ck.CKR_DEVICE_ERROR, "slot: opening the token in "+name+" (transient, will retry)", lastErr)
}

// openOnce is one connect + driver run. transient reports a failure worth retrying.
func (m *Manager) openOnce(name string) (tok Token, wc *watchedCard, transient bool, err error) {
	card, err := m.b.Connect(name)
	if errors.Is(err, reader.ErrCardUnresponsive) {
		return nil, nil, false, NewError(ck.CKR_DEVICE_ERROR, "slot: the card in "+name+" does not answer", err)
	}
	if err != nil {
		if errorsIsAny(err, reader.ErrNoCard, reader.ErrCardRemoved, reader.ErrReaderGone) {
			return nil, nil, false, NewError(ck.CKR_TOKEN_NOT_PRESENT, "slot: card left "+name, err)
		}
		if errorsIsAny(err, reader.ErrCancelled) {
			return nil, nil, false, NewError(ck.CKR_DEVICE_ERROR, "slot: connect cancelled on "+name, err)
		}
		return nil, nil, true, NewError(ck.CKR_DEVICE_ERROR, "slot: cannot connect to the card in "+name, err)
	}
	wc = &watchedCard{Card: card}
	tok, err = m.drv(wc, name)
	if err == nil && tok == nil {
		err = NewError(ck.CKR_TOKEN_NOT_RECOGNIZED, "slot: driver returned no token", nil)
	}
	if err == nil {
		return tok, wc, false, nil
	}
	wc.Close()
	if errorsIsAny(err, reader.ErrNoCard, reader.ErrCardRemoved, reader.ErrReaderGone) {
		return nil, nil, false, NewError(ck.CKR_TOKEN_NOT_PRESENT, "slot: card left "+name, err)
	}
	if errors.Is(err, reader.ErrCardUnresponsive) {
		var se *Error
		if !errors.As(err, &se) {
			err = NewError(ck.CKR_DEVICE_ERROR, "slot: the card in "+name+" does not answer", err)
		}
		return nil, nil, false, err
	}
	if readerFailure(err) {
		return nil, nil, true, err
	}
	var se *Error
	if !errors.As(err, &se) {
		err = NewError(ck.CKR_DEVICE_ERROR, "slot: opening the token in "+name, err)
	}
	return nil, nil, false, err
}

// readerFailure reports an error that came from PC/SC rather than from the card's
// answers: a reset in the middle of the driver's first exchange, a protocol mismatch,
// a communication error. Such an error says nothing about what the card is.
func readerFailure(err error) bool {
	var oe *reader.OpError
	return errors.As(err, &oe) || errorsIsAny(err, reader.ErrCardReset, reader.ErrCancelled)
}
