package module

import (
	"github.com/pcsc11/pcsc11/ck"
	"github.com/pcsc11/pcsc11/slot"
)

// SlotInfo is what C_GetSlotInfo needs from the slot manager. Strings are unpadded.
type SlotInfo struct {
	Description                  string // ≤ 64 bytes after padding; longer is cut at a rune boundary
	Manufacturer                 string // ≤ 32
	Flags                        ck.ULong
	HardwareMajor, HardwareMinor byte
	FirmwareMajor, FirmwareMinor byte
}

// Manager is the part of the slot manager (package slot) the module uses. It is an
// interface so the module's logic is tested against a fake, without PC/SC; the
// library's main package adapts *slot.Manager to it.
//
// Errors should be (or wrap) *slot.Error or one of the reader sentinels so that the
// module can answer the right CKR_ code (see rvOf).
type Manager interface {
	// Slots lists slot IDs, only those with a card when tokenPresent. The list never
	// shrinks and IDs are stable for the life of the manager.
	Slots(tokenPresent bool) ([]slot.ID, error)
	SlotInfo(id slot.ID) (SlotInfo, error)
	// Token returns the token of the card in slot id.
	Token(id slot.ID) (slot.Token, error)
	// Generation changes whenever a different card (or the same card re-inserted) is
	// seen in the slot: the sessions and object handles of the old card are dead.
	Generation(id slot.ID) uint64
	// WaitForEvent returns a slot whose state changed; with block false it answers
	// CKR_NO_EVENT (as a *slot.Error) when nothing happened. Close wakes a blocked call,
	// which then fails with reader.ErrCancelled.
	WaitForEvent(block bool) (slot.ID, error)
	Close() error
}

// ManagerFactory builds the slot manager at C_Initialize.
type ManagerFactory func() (Manager, error)
