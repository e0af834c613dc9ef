// Package reader is pcsc11's PC/SC layer: contexts, readers, shared connections,
// transactions, reset/removal handling and PC/SC v2 part 10 features.
//
// Everything above this package talks to a card through the Card interface, so the
// PIV driver and the module can be tested against the in-memory virtual card
// (package vpiv) with no pcscd at all.
package reader

import "errors"

// Card is one connection to one card. Implementations: the pcsc-lite connection in this
// package (Conn) and the in-process virtual card (vpiv.Memory).
//
// Transmit sends one raw command APDU and returns the raw response APDU (data + SW1 SW2).
// It does no chaining and no 61xx/6Cxx handling: that is package apdu's job.
type Card interface {
	Transmit(cmd []byte) ([]byte, error)
	// BeginTransaction takes exclusive access for a sequence of APDUs (SCardBeginTransaction).
	// It returns ErrCardReset when another program reset the card since our last call:
	// the connection is usable again, but the card's security state is gone.
	BeginTransaction() error
	EndTransaction() error
	// Control is SCardControl (part 10 features, PIN pad).
	Control(code uint32, in []byte) ([]byte, error)
	// ATR is the answer to reset of the current card.
	ATR() []byte
	// Close releases the connection, leaving the card powered.
	Close() error
}

var (
	// ErrCardReset: the card was reset (by another program, or powered off by pcscd)
	// since the last transaction. The connection has been re-established; the caller
	// must re-select its application and treat every login as lost.
	ErrCardReset = errors.New("reader: card was reset")
	// ErrCardRemoved: the card is gone. The Card is dead; connect again after insertion.
	ErrCardRemoved = errors.New("reader: card removed")
	// ErrNoCard: the reader has no card.
	ErrNoCard = errors.New("reader: no card present")
	// ErrReaderGone: the reader was unplugged.
	ErrReaderGone = errors.New("reader: reader unavailable")
	// ErrCancelled: a blocking call was cancelled (SCardCancel, context released).
	ErrCancelled = errors.New("reader: cancelled")
	// ErrCardUnresponsive: the card (or its reader, or pcscd) did not answer within the
	// budget of the call's conversation (Conn, DefaultBudget). The connection answers
	// this error at once until the late answer comes, if ever.
	ErrCardUnresponsive = errors.New("reader: card did not answer in time")
)
