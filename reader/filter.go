package reader

import (
	"sync"
	"time"
)

// Filter shows only the readers keep accepts (the reader_allow / reader_deny settings,
// docs/configuration.md): the others are not listed, never connected to, and their
// events do not wake a waiter. nil keep is b itself.
func Filter(b Backend, keep func(name string) bool) Backend {
	if keep == nil {
		return b
	}
	return &filtered{Backend: b, keep: keep}
}

type filtered struct {
	Backend
	keep func(string) bool
	// hidden are the states of the readers left out of the last WaitChange answer:
	// they are handed back to the real backend with the caller's known states, so that
	// it waits from where it was and a hidden reader's unchanged state is not news.
	mu     sync.Mutex
	hidden []ReaderState
}

func (f *filtered) ListReaders() ([]string, error) {
	names, err := f.Backend.ListReaders()
	out := names[:0:0]
	for _, n := range names {
		if f.keep(n) {
			out = append(out, n)
		}
	}
	return out, err
}

func (f *filtered) Connect(reader string) (Card, error) {
	if !f.keep(reader) {
		return nil, ErrReaderGone
	}
	return f.Backend.Connect(reader)
}

// WaitChange waits like the real backend, but a change of hidden readers only is no
// change: it waits on, within the caller's timeout.
func (f *filtered) WaitChange(known []ReaderState, timeout time.Duration) ([]ReaderState, error) {
	var deadline time.Time
	if timeout > 0 {
		deadline = time.Now().Add(timeout)
	}
	for {
		inner := known
		if known != nil {
			f.mu.Lock()
			inner = append(append([]ReaderState(nil), known...), f.hidden...)
			f.mu.Unlock()
		}
		all, err := f.Backend.WaitChange(inner, timeout)
		shown, hidden := []ReaderState{}, []ReaderState(nil)
		for _, st := range all {
			if f.keep(st.Name) {
				shown = append(shown, st)
			} else {
				hidden = append(hidden, st)
			}
		}
		f.mu.Lock()
		f.hidden = hidden
		f.mu.Unlock()
		if err != nil || known == nil || timeout == 0 || !sameStates(known, shown) {
			return shown, err
		}
		if timeout > 0 {
			if timeout = time.Until(deadline); timeout <= 0 {
				return shown, nil
			}
		}
	}
}

// sameStates: the same readers, in the same order, each with the same card situation.
func sameStates(a, b []ReaderState) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Name != b[i].Name || !a[i].SameCard(b[i]) || a[i].Mute != b[i].Mute {
			return false
		}
	}
	return true
}
