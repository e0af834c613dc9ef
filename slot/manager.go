package slot

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pcsc11/pcsc11/ck"
	"github.com/pcsc11/pcsc11/guard"
	"github.com/pcsc11/pcsc11/reader"
)

// Driver opens the token on a freshly connected card. A card it does not know gets
// *Error{RV: CKR_TOKEN_NOT_RECOGNIZED}. The Token owns card and closes it.
type Driver func(card reader.Card, readerName string) (Token, error)

// SlotInfo is what CK_SLOT_INFO needs (strings unpadded).
type SlotInfo struct {
	Description  string // the reader's name
	Manufacturer string
	Flags        ck.ULong // CKF_REMOVABLE_DEVICE|CKF_HW_SLOT, plus CKF_TOKEN_PRESENT
}

// SlotManufacturer fills CK_SLOT_INFO.manufacturerID: PC/SC does not say who made a
// reader, so the slot is described as pcsc11's view of it.
const SlotManufacturer = "pcsc11 (PC/SC)"

// Manager maps PC/SC readers to slots and cards to tokens.
//
// One monitor goroutine, started by NewManager, is the only writer of reader and card
// state: it blocks in Backend.WaitChange (SCardGetStatusChange on its own context) and
// records every change as a slot event (PKCS#11 3.0 §5.5 C_WaitForSlotEvent: event
// flags are kept from C_Initialize on, so none is lost between calls). Close cancels it.
//
// Slot IDs are handed out in the order readers are first seen and never reused or
// removed: a reader that returns gets its old ID back and the slot list never shrinks.
//
// A slot's generation changes whenever the card in it changes (inserted, removed,
// swapped, or its reader detached while it held a card). Tokens are opened on first
// use and replaced when the generation moves on; the module compares generations to
// invalidate sessions. The Manager owns the Backend and closes it in Close.
type Manager struct {
	b   reader.Backend
	drv Driver

	mu      sync.Mutex
	slots   []*slotEntry // index is the slot ID
	byName  map[string]*slotEntry
	events  []ID // slots with their event flag set, oldest first
	flagged map[ID]bool
	changed chan struct{} // closed (and replaced) after every state change
	closed  bool
	done    chan struct{} // closed by Close

	monitorDone chan struct{}
	monitorEnd  sync.Once // closes monitorDone, from the monitor or its panic handler
	// monitorErr: the monitor goroutine died of a panic (recovered by package guard).
	// Events are no longer seen, so C_WaitForSlotEvent answers CKR_GENERAL_ERROR
	// instead of waiting for ever.
	monitorErr error

	listing  atomic.Bool  // a PC/SC listing of Slots is in flight
	listedAt atomic.Int64 // when the last one ended (Unix ns)
}

// slotEntry is one reader. Fields up to gen are guarded by Manager.mu; the token
// fields by op, which also serializes opening and replacing the token.
type slotEntry struct {
	id       ID
	name     string
	attached bool
	state    reader.ReaderState
	gen      uint64

	op     sync.Mutex
	tok    Token
	card   *watchedCard
	tokGen uint64
	tokErr error // a CKR_TOKEN_NOT_RECOGNIZED answer, kept for tokGen
}

// NewManager reads the current readers (no events for what is already there) and
// starts the monitor. A PC/SC failure here is not fatal: the monitor keeps trying.
func NewManager(b reader.Backend, d Driver) *Manager {
	m := &Manager{
		b:           b,
		drv:         d,
		byName:      map[string]*slotEntry{},
		flagged:     map[ID]bool{},
		changed:     make(chan struct{}),
		done:        make(chan struct{}),
		monitorDone: make(chan struct{}),
	}
	known, err := b.WaitChange(nil, 0)
	if err == nil {
		m.mu.Lock()
		m.apply(known, false)
		m.mu.Unlock()
	} else {
		known = nil
	}
	guard.Go(guard.SlotMonitor, func() { m.monitor(known) }, m.monitorPanicked)
	return m
}

// monitorPanicked records that the monitor is gone and wakes every waiter.
func (m *Manager) monitorPanicked(err error) {
	m.monitorEnd.Do(func() { close(m.monitorDone) })
	m.mu.Lock()
	defer m.mu.Unlock()
	m.monitorErr = NewError(ck.CKR_GENERAL_ERROR, "slot: the slot monitor failed", err)
	m.notifyLocked()
}

func errNotInitialized() error {
	return NewError(ck.CKR_CRYPTOKI_NOT_INITIALIZED, "slot: manager closed", nil)
}

// lookup finds slot id. m.mu held.
func (m *Manager) lookup(id ID) (*slotEntry, error) {
	if m.closed {
		return nil, errNotInitialized()
	}
	if id >= ID(len(m.slots)) {
		return nil, NewError(ck.CKR_SLOT_ID_INVALID, "slot: no such slot", nil)
	}
	return m.slots[id], nil
}

// listFresh: a PC/SC listing of Slots is good for this long (see Slots).
const listFresh = 250 * time.Millisecond

// Slots lists slot IDs in ascending order: every reader ever seen, or with
// tokenPresent only those holding a card. When PC/SC lists readers the monitor has not
// reported yet, it waits a little for the monitor to catch up, so a reader plugged in
// just before C_GetSlotList is there. That listing is asked by one caller at a time
// and at most every listFresh: hosts call C_GetSlotList from their UI threads all the
// time, and the others answer from the monitor's state at once instead of queueing
// for pcscd (before: 43 ms at the 100th percentile with three threads asking).
func (m *Manager) Slots(tokenPresent bool) ([]ID, error) {
	if m.listTurn() {
		defer m.listDone()
		m.catchUp()
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, errNotInitialized()
	}
	ids := make([]ID, 0, len(m.slots))
	for _, s := range m.slots {
		if tokenPresent && !(s.attached && s.state.Present) {
			continue
		}
		ids = append(ids, s.id)
	}
	return ids, nil
}

// listTurn reports whether this caller lists PC/SC's readers now: none in flight and
// the last one older than listFresh.
func (m *Manager) listTurn() bool {
	if time.Since(time.Unix(0, m.listedAt.Load())) < listFresh {
		return false
	}
	return m.listing.CompareAndSwap(false, true)
}

func (m *Manager) listDone() {
	m.listedAt.Store(time.Now().UnixNano())
	m.listing.Store(false)
}

// catchUp lists PC/SC's readers and waits (at most a second) until the monitor has
// reported them all.
func (m *Manager) catchUp() {
	if names, err := m.b.ListReaders(); err == nil {
		deadline := time.NewTimer(time.Second)
		defer deadline.Stop()
		for {
			m.mu.Lock()
			if m.closed {
				m.mu.Unlock()
				return
			}
			fresh, ch := m.hasReadersLocked(names), m.changed
			m.mu.Unlock()
			if fresh {
				break
			}
			select {
			case <-ch:
				continue
			case <-deadline.C:
			case <-m.done:
			}
			break
		}
	}
}

// hasReadersLocked reports whether every name is an attached slot. m.mu held.
func (m *Manager) hasReadersLocked(names []string) bool {
	for _, n := range names {
		if s := m.byName[n]; s == nil || !s.attached {
			return false
		}
	}
	return true
}

// SlotInfo describes slot id.
func (m *Manager) SlotInfo(id ID) (SlotInfo, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, err := m.lookup(id)
	if err != nil {
		return SlotInfo{}, err
	}
	info := SlotInfo{
		Description:  s.name,
		Manufacturer: SlotManufacturer,
		Flags:        ck.CKF_REMOVABLE_DEVICE | ck.CKF_HW_SLOT,
	}
	if s.attached && s.state.Present {
		info.Flags |= ck.CKF_TOKEN_PRESENT
	}
	return info, nil
}

// Generation is the identity of the card now in slot id: it changes whenever the card
// does (inserted, removed, swapped). 0 for an unknown slot.
func (m *Manager) Generation(id ID) uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	if id >= ID(len(m.slots)) {
		return 0
	}
	return m.slots[id].gen
}

// WaitForEvent is C_WaitForSlotEvent (PKCS#11 3.0 §5.5): it returns a slot whose event
// flag is set and clears the flag. Without block, CKR_NO_EVENT when no flag is set.
// Close wakes a blocked call, which returns CKR_CRYPTOKI_NOT_INITIALIZED (C_Finalize,
// §5.4).
func (m *Manager) WaitForEvent(block bool) (ID, error) {
	for {
		m.mu.Lock()
		if m.closed {
			m.mu.Unlock()
			return 0, errNotInitialized()
		}
		if len(m.events) > 0 {
			id := m.events[0]
			m.events = m.events[1:]
			delete(m.flagged, id)
			m.mu.Unlock()
			return id, nil
		}
		if err := m.monitorErr; err != nil {
			m.mu.Unlock()
			return 0, err
		}
		if !block {
			m.mu.Unlock()
			return 0, NewError(ck.CKR_NO_EVENT, "slot: no event", nil)
		}
		ch := m.changed
		m.mu.Unlock()
		select {
		case <-ch:
		case <-m.done:
		}
	}
}

// Close stops the monitor, wakes every waiter, closes every token and the backend.
func (m *Manager) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	close(m.done)
	slots := append([]*slotEntry(nil), m.slots...)
	m.mu.Unlock()

	m.stopMonitor()
	for _, s := range slots {
		s.op.Lock()
		s.dropToken()
		s.op.Unlock()
	}
	return m.b.Close()
}

// stopMonitor cancels the monitor's wait until it exits. SCardCancel only wakes a call
// already blocked, so one cancel can race with the monitor entering its next wait.
func (m *Manager) stopMonitor() {
	deadline := time.After(2 * time.Second)
	for {
		m.b.Cancel()
		select {
		case <-m.monitorDone:
			return
		case <-deadline:
			return // Backend.Close cancels too; do not hang C_Finalize
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// flagLocked sets slot id's event flag. m.mu held.
func (m *Manager) flagLocked(id ID) {
	if m.flagged[id] {
		return
	}
	m.flagged[id] = true
	m.events = append(m.events, id)
}

// notifyLocked wakes everyone waiting for a change. m.mu held.
func (m *Manager) notifyLocked() {
	close(m.changed)
	m.changed = make(chan struct{})
}

// errorsIsAny reports whether err is any of targets.
func errorsIsAny(err error, targets ...error) bool {
	for _, t := range targets {
		if errors.Is(err, t) {
			return true
		}
	}
	return false
}
