package module

import (
	"errors"

	"github.com/pcsc11/pcsc11/ck"
	"github.com/pcsc11/pcsc11/reader"
	"github.com/pcsc11/pcsc11/slot"
)

// rvOf turns an error from the slot layer into a CKR_ code: a *slot.Error carries its
// own code; the reader sentinels have natural ones; anything else is a device error.
func rvOf(err error) ck.ULong {
	switch {
	case err == nil:
		return ck.CKR_OK
	case errors.Is(err, reader.ErrNoCard):
		return ck.CKR_TOKEN_NOT_PRESENT
	case errors.Is(err, reader.ErrCardRemoved), errors.Is(err, reader.ErrReaderGone):
		return ck.CKR_DEVICE_REMOVED
	case errors.Is(err, reader.ErrCancelled):
		return ck.CKR_FUNCTION_CANCELED
	}
	var e *slot.Error
	if errors.As(err, &e) {
		return e.RV
	}
	return slot.RV(err)
}
