package reader

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ebfe/scard"

	"github.com/pcsc11/pcsc11/guard"
)

// pnpReader is pcsc-lite's pseudo-reader whose state changes when a reader is
// attached or detached.
const pnpReader = `\\?PnP?\Notification`

// maxReaderStates is pcsc-lite's PCSCLITE_MAX_READERS_CONTEXTS.
const maxReaderStates = 16

// PCSC is the pcsc-lite Backend.
//
// Contexts (pcsc-lite serializes the calls of one SCARDCONTEXT, and SCardCancel must
// name the context that is blocked):
//   - main: ListReaders and snapshots (WaitChange with timeout 0), never blocks long;
//   - event: WaitChange with a timeout, so Cancel can wake exactly that call;
//   - one per Conn (see Conn).
//
// A context broken by a pcscd restart is released and established again on next use.
type PCSC struct {
	mu   sync.Mutex // guards main
	main *scard.Context

	evMu sync.Mutex // held for the whole of a blocking WaitChange
	ev   atomic.Pointer[scard.Context]
	pnp  scard.StateFlag // last state seen for the PnP pseudo-reader

	closed atomic.Bool

	// Budget bounds each card conversation of the connections Connect opens (see
	// DefaultBudget, which 0 means); a negative value leaves them unbounded.
	Budget time.Duration
}

var _ Backend = (*PCSC)(nil)

// NewPCSC establishes the contexts. It fails when pcscd cannot be reached.
func NewPCSC() (*PCSC, error) {
	main, err := scard.EstablishContext()
	if err != nil {
		return nil, opErr("establish context", "", err)
	}
	ev, err := scard.EstablishContext()
	if err != nil {
		main.Release()
		return nil, opErr("establish context", "", err)
	}
	p := &PCSC{main: main}
	p.ev.Store(ev)
	return p, nil
}

// contextBroken reports errors after which a context is useless (pcscd went away).
func contextBroken(err error) bool {
	return isCode(err, scard.ErrNoService) || isCode(err, scard.ErrServiceStopped) ||
		isCode(err, scard.ErrInvalidHandle) || isCode(err, scard.ErrCommError)
}

// mainCtx returns the main context, establishing it when needed. p.mu held.
func (p *PCSC) mainCtx() (*scard.Context, error) {
	if p.closed.Load() {
		return nil, &OpError{Op: "context", Kind: ErrCancelled}
	}
	if p.main == nil {
		ctx, err := scard.EstablishContext()
		if err != nil {
			return nil, opErr("establish context", "", err)
		}
		p.main = ctx
	}
	return p.main, nil
}

// dropMain forgets a broken main context. p.mu held.
func (p *PCSC) dropMain(err error) {
	if contextBroken(err) && p.main != nil {
		p.main.Release()
		p.main = nil
	}
}

// ListReaders names the attached readers.
func (p *PCSC) ListReaders() (names []string, err error) {
	err = p.onMain("list readers", func(ctx *scard.Context) (err error) {
		names, err = listReaders(ctx)
		return err
	})
	return names, err
}

// onMain runs fn on the main context, under p.mu; when fn fails, a context that is
// broken is dropped (the next call establishes a new one).
func (p *PCSC) onMain(op string, fn func(*scard.Context) error) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	ctx, err := p.mainCtx()
	if err != nil {
		return err
	}
	if err := fn(ctx); err != nil {
		p.dropMain(err)
		return opErr(op, "", err)
	}
	return nil
}

// listReaders lists readers on ctx; "no readers" is an empty list.
func listReaders(ctx *scard.Context) ([]string, error) {
	names, err := ctx.ListReaders()
	if isCode(err, scard.ErrNoReadersAvailable) {
		return nil, nil
	}
	return names, err
}

// Connect opens a shared connection on a context of its own. T=1 is preferred: it is
// asked for alone first (pcsc-lite otherwise takes the ATR's default protocol), and
// T=0|T=1 only when the card or another program's connection rules T=1 out.
func (p *PCSC) Connect(reader string) (Card, error) {
	if p.closed.Load() {
		return nil, &OpError{Op: "connect", Reader: reader, Kind: ErrCancelled}
	}
	ctx, err := scard.EstablishContext()
	if err != nil {
		return nil, opErr("establish context", reader, err)
	}
	budget := p.Budget
	switch {
	case budget == 0:
		budget = DefaultBudget
	case budget < 0:
		budget = 0
	}
	// SCardConnect waits for the reader: behind a card that stopped answering (a
	// transmit of ours or of another program still running in pcscd) it would wait for
	// ever. It runs in a guarded goroutine, bounded like a conversation; a connect that
	// returns after its caller gave up is disconnected and released then.
	type result struct {
		h   *scard.Card
		err error
	}
	ch := make(chan result, 1)
	connect := func() {
		h, err := ctx.Connect(reader, scard.ShareShared, scard.ProtocolT1)
		if isCode(err, scard.ErrProtoMismatch) {
			h, err = ctx.Connect(reader, scard.ShareShared, scard.ProtocolAny)
		}
		ch <- result{h, err}
	}
	var r result
	if budget == 0 {
		connect()
		r = <-ch
	} else {
		guard.Go(guard.CardTransmit, connect, func(err error) { ch <- result{nil, err} })
		timer := time.NewTimer(budget)
		select {
		case r = <-ch:
			timer.Stop()
		case <-timer.C:
			guard.Go(guard.CardTransmit, func() {
				if late := <-ch; late.h != nil {
					late.h.Disconnect(scard.LeaveCard)
				}
				ctx.Release()
			}, nil)
			return nil, &OpError{Op: "connect", Reader: reader, Code: fmt.Errorf("no answer within %v", budget), Kind: ErrCardUnresponsive}
		}
	}
	h, err := r.h, r.err
	if err != nil {
		ctx.Release()
		e := &OpError{Op: "connect", Reader: reader, Code: err, Kind: kindOf(err)}
		if isCode(err, scard.ErrNoSmartcard) || isCode(err, scard.ErrRemovedCard) {
			e.Kind = ErrNoCard
		}
		return nil, e
	}
	c := newConn(reader, ctx, h)
	c.budget = budget
	return c, nil
}

// WaitChange: see Backend. A snapshot (timeout 0) uses the main context; a wait uses
// the event context. After every wake-up the reader list is read again: pcsc-lite 1.9.9
// has no reader-event counter, so the PnP pseudo-reader only says "something changed".
func (p *PCSC) WaitChange(known []ReaderState, timeout time.Duration) ([]ReaderState, error) {
	if timeout == 0 {
		var st []ReaderState
		err := p.onMain("reader status", func(ctx *scard.Context) (err error) {
			st, err = snapshot(ctx)
			return err
		})
		return st, err
	}

	p.evMu.Lock()
	defer p.evMu.Unlock()
	if p.closed.Load() {
		return nil, &OpError{Op: "wait", Kind: ErrCancelled}
	}
	ctx := p.ev.Load()
	if ctx == nil {
		var err error
		if ctx, err = scard.EstablishContext(); err != nil {
			return nil, opErr("establish context", "", err)
		}
		p.ev.Store(ctx)
	}
	st, err := p.wait(ctx, known, timeout)
	if err != nil && contextBroken(err) {
		p.ev.Store(nil)
		ctx.Release()
	}
	if err != nil {
		return nil, opErr("wait for change", "", err)
	}
	return st, nil
}

// wait is one blocking wait on ctx. p.evMu held.
func (p *PCSC) wait(ctx *scard.Context, known []ReaderState, timeout time.Duration) ([]ReaderState, error) {
	names, err := listReaders(ctx)
	if err != nil {
		return nil, err
	}
	// A reader list that already differs from known is a change: answer at once
	// (also keeps unknown names out of SCardGetStatusChange, which refuses them).
	if !sameNames(names, known) {
		return snapshot(ctx)
	}
	states := make([]scard.ReaderState, 0, len(known)+1)
	for _, k := range known {
		states = append(states, scard.ReaderState{Reader: k.Name, CurrentState: scard.StateFlag(k.raw)})
	}
	// pcsc-lite takes at most PCSCLITE_MAX_READERS_CONTEXTS (16) states per call and
	// serves at most 16 readers: with 16 attached, no reader can arrive, so no PnP.
	withPnP := len(states) < maxReaderStates
	if withPnP {
		states = append(states, scard.ReaderState{Reader: pnpReader, CurrentState: p.pnp})
	}
	err = ctx.GetStatusChange(states, timeout)
	switch {
	case err == nil:
		if withPnP {
			p.pnp = states[len(states)-1].EventState &^ scard.StateChanged
		}
	case isCode(err, scard.ErrTimeout), isCode(err, scard.ErrUnknownReader):
		// Timeout: report the unchanged state. Unknown reader: one vanished between
		// the listing and the wait; the snapshot shows it gone.
	default:
		return nil, err
	}
	return snapshot(ctx)
}

// sameNames reports whether names are exactly the readers of known.
func sameNames(names []string, known []ReaderState) bool {
	if len(names) != len(known) {
		return false
	}
	for _, k := range known {
		if !slices.Contains(names, k.Name) {
			return false
		}
	}
	return true
}

// snapshot reads the current state of every reader: SCardGetStatusChange with every
// current state UNAWARE returns at once.
func snapshot(ctx *scard.Context) ([]ReaderState, error) {
	var lastErr error
	for try := 0; try < 3; try++ {
		names, err := listReaders(ctx)
		if err != nil {
			return nil, err
		}
		if len(names) == 0 {
			return nil, nil
		}
		states := make([]scard.ReaderState, len(names))
		for i, n := range names {
			states[i] = scard.ReaderState{Reader: n, CurrentState: scard.StateUnaware}
		}
		err = ctx.GetStatusChange(states, 0)
		if isCode(err, scard.ErrUnknownReader) {
			lastErr = err // detached between the two calls: list again
			continue
		}
		if err != nil && !isCode(err, scard.ErrTimeout) {
			return nil, err
		}
		out := make([]ReaderState, len(states))
		for i, s := range states {
			out[i] = fromScard(s)
		}
		return out, nil
	}
	return nil, lastErr
}

// fromScard converts a pcsc-lite reader state.
func fromScard(s scard.ReaderState) ReaderState {
	ev := s.EventState
	rs := ReaderState{
		Name:       s.Reader,
		EventCount: uint16(uint32(ev) >> 16),
		raw:        uint32(ev &^ scard.StateChanged),
	}
	gone := ev&(scard.StateUnknown|scard.StateUnavailable|scard.StateIgnore) != 0
	rs.Present = !gone && ev&scard.StatePresent != 0
	if rs.Present {
		rs.Mute = ev&scard.StateMute != 0
		rs.ATR = append([]byte(nil), s.Atr...)
	}
	return rs
}

// Cancel wakes a blocked WaitChange, which returns ErrCancelled.
func (p *PCSC) Cancel() error {
	if ctx := p.ev.Load(); ctx != nil {
		if err := ctx.Cancel(); err != nil {
			return opErr("cancel", "", err)
		}
	}
	return nil
}

// Close releases the contexts (Conns keep their own and must be closed by their
// owners). A blocked WaitChange is cancelled first.
func (p *PCSC) Close() error {
	if p.closed.Swap(true) {
		return nil
	}
	// SCardCancel only wakes a call already blocked: repeat until the waiter is out.
	deadline := time.Now().Add(2 * time.Second)
	for !p.evMu.TryLock() {
		p.Cancel()
		if time.Now().After(deadline) {
			return errors.New("reader: close: a wait did not return")
		}
		time.Sleep(10 * time.Millisecond)
	}
	var err error
	if ctx := p.ev.Swap(nil); ctx != nil {
		err = ctx.Release()
	}
	p.evMu.Unlock()
	p.mu.Lock()
	if p.main != nil {
		if e := p.main.Release(); e != nil && err == nil {
			err = e
		}
		p.main = nil
	}
	p.mu.Unlock()
	return opErr("release context", "", err)
}
