//go:build !pcsc11_nomanager

package main

import (
	"github.com/pcsc11/pcsc11/config"
	"github.com/pcsc11/pcsc11/module"
	"github.com/pcsc11/pcsc11/reader"
	"github.com/pcsc11/pcsc11/slot"
	"github.com/pcsc11/pcsc11/slot/piv"
)

// newManager builds the real slot manager: PC/SC readers, PIV cards.
func newManager() (module.Manager, error) {
	pcsc, err := reader.NewPCSC()
	if err != nil {
		return nil, err
	}
	// reader_allow / reader_deny (docs/configuration.md): readers left out never
	// become slots.
	allow, deny := module.Getenv("PCSC11_READER_ALLOW"), module.Getenv("PCSC11_READER_DENY")
	b := reader.Filter(pcsc, config.ReaderFilter(allow, deny))
	if allow != "" || deny != "" {
		module.Logf("readers: allow %q, deny %q", allow, deny)
	}
	pcsc.Budget = module.CardBudget() // card_timeout (PCSC11_CARD_TIMEOUT), else reader.DefaultBudget
	m := slot.NewManager(b, func(c reader.Card, name string) (slot.Token, error) {
		return piv.Open(c, name, piv.Options{})
	})
	return managerAdapter{m}, nil
}

// managerAdapter presents *slot.Manager as module.Manager.
type managerAdapter struct{ m *slot.Manager }

func (a managerAdapter) Slots(tokenPresent bool) ([]slot.ID, error) { return a.m.Slots(tokenPresent) }

func (a managerAdapter) SlotInfo(id slot.ID) (module.SlotInfo, error) {
	si, err := a.m.SlotInfo(id)
	if err != nil {
		return module.SlotInfo{}, err
	}
	return module.SlotInfo{Description: si.Description, Manufacturer: si.Manufacturer, Flags: si.Flags}, nil
}

func (a managerAdapter) Token(id slot.ID) (slot.Token, error)     { return a.m.Token(id) }
func (a managerAdapter) Generation(id slot.ID) uint64             { return a.m.Generation(id) }
func (a managerAdapter) WaitForEvent(block bool) (slot.ID, error) { return a.m.WaitForEvent(block) }
func (a managerAdapter) Close() error                             { a.m.Close(); return nil }
