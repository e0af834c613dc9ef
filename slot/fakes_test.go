package slot

import (
	"errors"
	"sync"
	"time"

	"github.com/pcsc11/pcsc11/ck"
	"github.com/pcsc11/pcsc11/reader"
)

// fakeBackend is a scripted PC/SC: tests attach and detach readers and insert and
// remove cards; WaitChange blocks until the script changes something.
type fakeBackend struct {
	mu       sync.Mutex
	readers  []reader.ReaderState
	cards    map[string]*fakeCard // the card now in each reader
	changed  chan struct{}
	waiting  chan struct{} // non-nil while a WaitChange is blocked; Cancel closes it
	waitErrs []error       // errors the next WaitChange calls return
	closed   bool
	connects int
	cancels  int
}

func newFakeBackend() *fakeBackend {
	return &fakeBackend{cards: map[string]*fakeCard{}, changed: make(chan struct{})}
}

func (f *fakeBackend) notify() {
	close(f.changed)
	f.changed = make(chan struct{})
}

// attach adds an empty reader.
func (f *fakeBackend) attach(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.readers = append(f.readers, reader.ReaderState{Name: name})
	f.notify()
}

// detach removes a reader (and its card).
func (f *fakeBackend) detach(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, r := range f.readers {
		if r.Name == name {
			f.readers = append(f.readers[:i], f.readers[i+1:]...)
		}
	}
	if c := f.cards[name]; c != nil {
		c.remove()
	}
	delete(f.cards, name)
	f.notify()
}

// insert puts a card with atr into reader name (which must be attached).
func (f *fakeBackend) insert(name string, atr []byte) *fakeCard {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := &fakeCard{atr: atr}
	for i := range f.readers {
		if f.readers[i].Name == name {
			f.readers[i].Present, f.readers[i].ATR = true, atr
			f.readers[i].EventCount++
		}
	}
	f.cards[name] = c
	f.notify()
	return c
}

// remove takes the card out of reader name.
func (f *fakeBackend) remove(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range f.readers {
		if f.readers[i].Name == name {
			f.readers[i].Present, f.readers[i].ATR = false, nil
			f.readers[i].EventCount++
		}
	}
	if c := f.cards[name]; c != nil {
		c.remove()
	}
	delete(f.cards, name)
	f.notify()
}

func (f *fakeBackend) snapshot() []reader.ReaderState {
	return append([]reader.ReaderState(nil), f.readers...)
}

func (f *fakeBackend) ListReaders() ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var names []string
	for _, r := range f.readers {
		names = append(names, r.Name)
	}
	return names, nil
}

func (f *fakeBackend) Connect(name string) (reader.Card, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.connects++
	c := f.cards[name]
	if c == nil {
		return nil, reader.ErrNoCard
	}
	c.conns++
	return c, nil
}

func sameStates(a, b []reader.ReaderState) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Name != b[i].Name || !a[i].SameCard(b[i]) {
			return false
		}
	}
	return true
}

func (f *fakeBackend) WaitChange(known []reader.ReaderState, timeout time.Duration) ([]reader.ReaderState, error) {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return nil, reader.ErrCancelled
	}
	if len(f.waitErrs) > 0 {
		err := f.waitErrs[0]
		f.waitErrs = f.waitErrs[1:]
		f.mu.Unlock()
		return nil, err
	}
	cancel := make(chan struct{})
	f.waiting = cancel
	defer func() {
		f.mu.Lock()
		f.waiting = nil
		f.mu.Unlock()
	}()
	for {
		now := f.snapshot()
		if timeout == 0 || !sameStates(now, known) {
			f.mu.Unlock()
			return now, nil
		}
		ch := f.changed
		f.mu.Unlock()
		select {
		case <-ch:
		case <-cancel:
			return nil, reader.ErrCancelled
		}
		f.mu.Lock()
	}
}

// Cancel wakes a blocked WaitChange only, like SCardCancel.
func (f *fakeBackend) Cancel() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cancels++
	if f.waiting != nil {
		close(f.waiting)
		f.waiting = nil
	}
	return nil
}

func (f *fakeBackend) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	return nil
}

// fakeCard is a card answering 90 00 until it is removed.
type fakeCard struct {
	mu      sync.Mutex
	atr     []byte
	gone    bool
	conns   int
	closes  int
	txCount int
}

func (c *fakeCard) remove() {
	c.mu.Lock()
	c.gone = true
	c.mu.Unlock()
}

func (c *fakeCard) err() error {
	if c.gone {
		return reader.ErrCardRemoved
	}
	return nil
}

func (c *fakeCard) Transmit(cmd []byte) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.txCount++
	if err := c.err(); err != nil {
		return nil, err
	}
	return []byte{0x90, 0x00}, nil
}

func (c *fakeCard) BeginTransaction() error { c.mu.Lock(); defer c.mu.Unlock(); return c.err() }
func (c *fakeCard) EndTransaction() error   { c.mu.Lock(); defer c.mu.Unlock(); return c.err() }
func (c *fakeCard) Control(uint32, []byte) ([]byte, error) {
	return nil, errors.New("no control")
}
func (c *fakeCard) ATR() []byte { return c.atr }
func (c *fakeCard) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closes++
	return nil
}

// fakeToken is what fakeDriver opens.
type fakeToken struct {
	card   reader.Card
	name   string
	mu     sync.Mutex
	closed int
}

func (t *fakeToken) Info() (TokenInfo, error)     { return TokenInfo{Label: t.name}, nil }
func (t *fakeToken) Mechanisms() []Mechanism      { return nil }
func (t *fakeToken) Objects() ([]Object, error)   { return nil, nil }
func (t *fakeToken) Login(ck.ULong, []byte) error { return nil }
func (t *fakeToken) Logout() error                { return nil }
func (t *fakeToken) LoggedIn() (bool, error)      { return false, nil }
func (t *fakeToken) PrivateKeyOp(string, KeyOp, []byte) ([]byte, error) {
	_, err := t.card.Transmit([]byte{0, 0x87, 0x11, 0x9a})
	return nil, err
}
func (t *fakeToken) Close() error {
	t.mu.Lock()
	t.closed++
	t.mu.Unlock()
	return t.card.Close()
}

// fakeDriver opens every card whose ATR does not start with EE.
type fakeDriver struct {
	mu     sync.Mutex
	opened []*fakeToken
	calls  int
}

func (d *fakeDriver) open(card reader.Card, name string) (Token, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.calls++
	if atr := card.ATR(); len(atr) > 0 && atr[0] == 0xEE {
		return nil, NewError(ck.CKR_TOKEN_NOT_RECOGNIZED, "fake: unknown card", nil)
	}
	if err := card.BeginTransaction(); err != nil {
		return nil, err
	}
	card.EndTransaction()
	t := &fakeToken{card: card, name: name}
	d.opened = append(d.opened, t)
	return t, nil
}
