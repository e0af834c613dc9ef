package reader

import (
	"errors"
	"fmt"

	"github.com/ebfe/scard"
)

// OpError is a failed PC/SC call. errors.Is matches both the pcsc-lite code (a
// scard.Error) and the sentinel it means for pcsc11 (ErrCardReset, ErrCardRemoved...),
// so callers test sentinels and logs keep the real code.
type OpError struct {
	Op     string // "connect", "transmit", "begin transaction"...
	Reader string
	Code   error // the scard.Error, or another cause
	Kind   error // a sentinel of this package, or nil for a plain failure
}

func (e *OpError) Error() string {
	s := "reader: " + e.Op
	if e.Reader != "" {
		s += fmt.Sprintf(" on %q", e.Reader)
	}
	if e.Kind != nil && e.Code == nil {
		return s + ": " + e.Kind.Error()
	}
	if e.Code != nil {
		s += ": " + e.Code.Error()
	}
	return s
}

func (e *OpError) Unwrap() []error {
	var out []error
	if e.Kind != nil {
		out = append(out, e.Kind)
	}
	if e.Code != nil {
		out = append(out, e.Code)
	}
	return out
}

// kindOf maps a pcsc-lite return code to this package's sentinels (nil: no sentinel).
func kindOf(err error) error {
	var code scard.Error
	if !errors.As(err, &code) {
		return nil
	}
	switch code {
	case scard.ErrResetCard:
		return ErrCardReset
	case scard.ErrRemovedCard, scard.ErrNoSmartcard:
		return ErrCardRemoved
	case scard.ErrInvalidHandle:
		// The handle died under us (pcscd restarted, or the card went with it): the
		// connection is unusable, a new one is needed.
		return ErrCardRemoved
	case scard.ErrUnknownReader, scard.ErrReaderUnavailable, scard.ErrNoReadersAvailable,
		scard.ErrNoService, scard.ErrServiceStopped:
		return ErrReaderGone
	case scard.ErrCancelled:
		return ErrCancelled
	}
	return nil
}

// opErr wraps a PC/SC failure with its operation, reader and sentinel.
func opErr(op, reader string, err error) error {
	if err == nil {
		return nil
	}
	return &OpError{Op: op, Reader: reader, Code: err, Kind: kindOf(err)}
}

// isCode reports whether err carries the pcsc-lite code c.
func isCode(err error, c scard.Error) bool {
	var code scard.Error
	return errors.As(err, &code) && code == c
}
