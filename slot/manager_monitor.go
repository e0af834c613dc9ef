package slot

import (
	"time"

	"github.com/pcsc11/pcsc11/reader"
)

// monitor is the one goroutine that follows PC/SC: it waits for a change, records it,
// and waits again from exactly the state it got, so nothing happening in between is
// missed. It exits when the Manager is closed.
func (m *Manager) monitor(known []reader.ReaderState) {
	defer m.monitorEnd.Do(func() { close(m.monitorDone) })
	backoff := time.Duration(0)
	idle := 0 // wake-ups in a row that changed nothing and came back at once
	for {
		if m.isClosed() {
			return
		}
		start := time.Now()
		states, err := m.b.WaitChange(known, -1)
		if m.isClosed() {
			return
		}
		if err != nil {
			// pcscd away or restarting: retry, slowly, without spinning.
			backoff = min(max(2*backoff, 100*time.Millisecond), 2*time.Second)
			if !m.sleep(backoff) {
				return
			}
			continue
		}
		backoff = 0
		m.mu.Lock()
		changed := m.apply(states, true)
		m.mu.Unlock()
		known = states
		// A backend that keeps answering at once with nothing new would turn this
		// loop into a busy poll; pause it instead.
		if !changed && time.Since(start) < 10*time.Millisecond {
			if idle++; idle >= 5 && !m.sleep(100*time.Millisecond) {
				return
			}
		} else {
			idle = 0
		}
	}
}

func (m *Manager) isClosed() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.closed
}

// sleep waits d or until Close; false when closed.
func (m *Manager) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-m.done:
		return false
	}
}

// apply records the readers' current states: new readers get the next slot ID, a
// returning reader its old one, a missing reader becomes a slot without token, and
// every change of card moves the slot's generation on. With events, each touched slot
// gets its event flag. Reports whether anything changed. m.mu held.
func (m *Manager) apply(states []reader.ReaderState, events bool) bool {
	changed := false
	touch := func(s *slotEntry) {
		changed = true
		if events {
			m.flagLocked(s.id)
		}
	}
	seen := make(map[string]bool, len(states))
	for _, st := range states {
		if seen[st.Name] {
			continue // a backend listing a reader twice: keep the first
		}
		seen[st.Name] = true
		s := m.byName[st.Name]
		if s == nil {
			s = &slotEntry{id: ID(len(m.slots)), name: st.Name, attached: true, state: st, gen: 1}
			m.slots = append(m.slots, s)
			m.byName[st.Name] = s
			touch(s)
			continue
		}
		if !s.attached {
			s.attached = true
			touch(s)
		}
		if !s.state.SameCard(st) {
			s.gen++
			touch(s)
		}
		s.state = st
	}
	for _, s := range m.slots {
		if s.attached && !seen[s.name] {
			s.attached = false
			if s.state.Present {
				s.gen++
			}
			s.state = reader.ReaderState{Name: s.name}
			touch(s)
		}
	}
	if changed {
		m.notifyLocked()
	}
	return changed
}

// cardLost is called by Token when the card reported its removal before the monitor
// saw it: wait a moment for the monitor (pcscd has already queued the event), then
// move the generation on by hand. Reports the generation to use.
func (m *Manager) cardLost(s *slotEntry, oldGen uint64) uint64 {
	deadline := time.NewTimer(500 * time.Millisecond)
	defer deadline.Stop()
	for {
		m.mu.Lock()
		if s.gen != oldGen || m.closed {
			g := s.gen
			m.mu.Unlock()
			return g
		}
		ch := m.changed
		m.mu.Unlock()
		select {
		case <-ch:
			continue
		case <-m.done:
			continue
		case <-deadline.C:
		}
		break
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if s.gen == oldGen {
		s.gen++
		m.flagLocked(s.id)
		m.notifyLocked()
	}
	return s.gen
}
