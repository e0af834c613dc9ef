package main

import (
	"bytes"
	"errors"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/pcsc11/pcsc11/reader"
	"github.com/pcsc11/pcsc11/vpiv"
)

// fakePCSC is a scripted PC/SC: readers, cards (the in-process virtual PIV card) and
// per-reader SCardControl answers. WaitChange blocks until the script changes
// something, the timeout passes, or Cancel/Close.
type fakePCSC struct {
	mu       sync.Mutex
	readers  []reader.ReaderState
	cards    map[string]*vpiv.Card
	ctl      map[string]map[uint32][]byte // reader → control code → answer
	aliens   map[string]bool              // readers holding a non-PIV card
	changed  chan struct{}
	cancel   chan struct{}
	closed   bool
	connects int
	held     map[string]error // readers whose Connect fails so (another program holds the card)
}

func newFakePCSC() *fakePCSC {
	return &fakePCSC{cards: map[string]*vpiv.Card{}, ctl: map[string]map[uint32][]byte{}, aliens: map[string]bool{},
		changed: make(chan struct{}), cancel: make(chan struct{})}
}

func (f *fakePCSC) notify() { close(f.changed); f.changed = make(chan struct{}) }

func (f *fakePCSC) attach(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.readers = append(f.readers, reader.ReaderState{Name: name})
	f.notify()
}

func (f *fakePCSC) insert(name string, c *vpiv.Card) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range f.readers {
		if f.readers[i].Name == name {
			f.readers[i].Present, f.readers[i].ATR = true, c.ATR()
			f.readers[i].EventCount++
		}
	}
	f.cards[name] = c
	f.notify()
}

func (f *fakePCSC) remove(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range f.readers {
		if f.readers[i].Name == name {
			f.readers[i].Present, f.readers[i].ATR = false, nil
			f.readers[i].EventCount++
		}
	}
	delete(f.cards, name)
	f.notify()
}

func (f *fakePCSC) ListReaders() ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var names []string
	for _, r := range f.readers {
		names = append(names, r.Name)
	}
	return names, nil
}

func (f *fakePCSC) Connect(name string) (reader.Card, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.connects++
	if err := f.held[name]; err != nil {
		return nil, err
	}
	if f.aliens[name] {
		return &ctlCard{Card: alienCard{}, answers: f.ctl[name]}, nil
	}
	c := f.cards[name]
	if c == nil {
		return nil, reader.ErrNoCard
	}
	return &ctlCard{Card: vpiv.NewMemory(c), answers: f.ctl[name]}, nil
}

// insertAlien puts a card without a PIV application into reader name.
func (f *fakePCSC) insertAlien(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range f.readers {
		if f.readers[i].Name == name {
			f.readers[i].Present, f.readers[i].ATR = true, []byte{0x3b, 0x00}
			f.readers[i].EventCount++
		}
	}
	f.aliens[name] = true
	f.notify()
}

// alienCard answers every command "file not found", as a card without PIV does.
type alienCard struct{}

func (alienCard) Transmit([]byte) ([]byte, error)        { return []byte{0x6a, 0x82}, nil }
func (alienCard) BeginTransaction() error                { return nil }
func (alienCard) EndTransaction() error                  { return nil }
func (alienCard) Control(uint32, []byte) ([]byte, error) { return nil, errUnsupported }
func (alienCard) ATR() []byte                            { return []byte{0x3b, 0x00} }
func (alienCard) Close() error                           { return nil }

// direct is the app's openDirect: control only, card or not.
func (f *fakePCSC) direct(name string) (reader.Card, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, r := range f.readers {
		if r.Name == name {
			return &ctlCard{answers: f.ctl[name]}, nil
		}
	}
	return nil, reader.ErrReaderGone
}

func (f *fakePCSC) differs(known []reader.ReaderState) bool {
	if len(known) != len(f.readers) {
		return true
	}
	for i := range known {
		if known[i].Name != f.readers[i].Name || !known[i].SameCard(f.readers[i]) {
			return true
		}
	}
	return false
}

func (f *fakePCSC) WaitChange(known []reader.ReaderState, timeout time.Duration) ([]reader.ReaderState, error) {
	var deadline <-chan time.Time
	if timeout > 0 {
		deadline = time.After(timeout)
	}
	for {
		f.mu.Lock()
		if f.closed {
			f.mu.Unlock()
			return nil, reader.ErrCancelled
		}
		if timeout == 0 || f.differs(known) {
			out := append([]reader.ReaderState(nil), f.readers...)
			f.mu.Unlock()
			return out, nil
		}
		ch, cancel := f.changed, f.cancel
		f.mu.Unlock()
		select {
		case <-ch:
		case <-cancel:
			return nil, reader.ErrCancelled
		case <-deadline:
			return f.WaitChange(nil, 0)
		}
	}
}

func (f *fakePCSC) Cancel() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return nil
	}
	close(f.cancel)
	f.cancel = make(chan struct{})
	return nil
}

// reopen is a new PC/SC session on the same readers (each CLI run opens one).
func (f *fakePCSC) reopen() *fakePCSC {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		f.closed, f.cancel = false, make(chan struct{})
	}
	return f
}

func (f *fakePCSC) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.closed {
		f.closed = true
		close(f.cancel)
	}
	return nil
}

// ctlCard answers SCardControl from a table; everything else goes to the card.
type ctlCard struct {
	reader.Card // nil for a direct connection
	answers     map[uint32][]byte
}

var errUnsupported = errors.New("fake: unsupported feature")

func (c *ctlCard) Control(code uint32, in []byte) ([]byte, error) {
	if a, ok := c.answers[code]; ok {
		return append([]byte(nil), a...), nil
	}
	return nil, errUnsupported
}

func (c *ctlCard) Close() error {
	if c.Card != nil {
		return c.Card.Close()
	}
	return nil
}

// The demo card is slow to make (RSA key generation): one for the whole test binary.
var (
	demoOnce sync.Once
	demoCard *vpiv.Card
	demoErr  error
)

func testCard(t *testing.T) *vpiv.Card {
	t.Helper()
	demoOnce.Do(func() {
		demoCard, demoErr = vpiv.New(vpiv.Options{Serial: 12345678})
		if demoErr == nil {
			demoErr = demoCard.Provision("demo")
		}
	})
	if demoErr != nil {
		t.Fatal(demoErr)
	}
	return demoCard
}

// testApp is the CLI wired to f; sig delivers a fake Ctrl-C.
type testApp struct {
	*app
	out, errb *syncBuf
	sig       chan os.Signal
}

func newTestApp(f *fakePCSC) *testApp {
	ta := &testApp{sig: make(chan os.Signal, 1),
		out: &syncBuf{b: new(bytes.Buffer)}, errb: &syncBuf{b: new(bytes.Buffer)}}
	ta.app = &app{
		stdout: ta.out, stderr: ta.errb,
		getenv:     func(string) string { return "" },
		openPCSC:   func() (reader.Backend, error) { return f.reopen(), nil },
		openDirect: f.direct,
		driver:     pivDriver,
		version:    "test",
		interrupt: func() (<-chan os.Signal, func()) {
			return ta.sig, func() {}
		},
	}
	return ta
}

// syncBuf lets a test read output while watch still writes.
type syncBuf struct {
	mu sync.Mutex
	b  *bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
