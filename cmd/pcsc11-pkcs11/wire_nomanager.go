//go:build pcsc11_nomanager

package main

import (
	"sync"

	"github.com/pcsc11/pcsc11/ck"
	"github.com/pcsc11/pcsc11/module"
	"github.com/pcsc11/pcsc11/slot"
)

// newManager of a library built with -tags pcsc11_nomanager: no PC/SC at all, no slots.
// Used to test the C ABI alone (hwtests/cabi) on machines without pcscd.
func newManager() (module.Manager, error) { return &noSlots{done: make(chan struct{})}, nil }

type noSlots struct {
	once sync.Once
	done chan struct{}
}

func errNoSlot() error { return slot.NewError(ck.CKR_SLOT_ID_INVALID, "no slots", nil) }

func (*noSlots) Slots(bool) ([]slot.ID, error)             { return nil, nil }
func (*noSlots) SlotInfo(slot.ID) (module.SlotInfo, error) { return module.SlotInfo{}, errNoSlot() }
func (*noSlots) Token(slot.ID) (slot.Token, error)         { return nil, errNoSlot() }
func (*noSlots) Generation(slot.ID) uint64                 { return 0 }

// WaitForEvent never sees an event; a blocking call waits for Close.
func (n *noSlots) WaitForEvent(block bool) (slot.ID, error) {
	if block {
		<-n.done
		return 0, slot.NewError(ck.CKR_CRYPTOKI_NOT_INITIALIZED, "closed", nil)
	}
	return 0, slot.NewError(ck.CKR_NO_EVENT, "no event", nil)
}

func (n *noSlots) Close() error {
	n.once.Do(func() { close(n.done) })
	return nil
}
