package reader

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/ebfe/scard"

	"github.com/pcsc11/pcsc11/guard"
)

// handle is the part of *scard.Card a Conn uses; tests substitute a fake.
type handle interface {
	Transmit(cmd []byte) ([]byte, error)
	BeginTransaction() error
	EndTransaction(d scard.Disposition) error
	Reconnect(mode scard.ShareMode, proto scard.Protocol, d scard.Disposition) error
	Status() (*scard.CardStatus, error)
	Control(code uint32, in []byte) ([]byte, error)
	Disconnect(d scard.Disposition) error
	ActiveProtocol() scard.Protocol
}

// maxCommand is the largest command pcsc-lite accepts (MAX_BUFFER_SIZE_EXTENDED:
// header, extended Lc, 65536 data bytes, extended Le).
const maxCommand = 4 + 3 + 65536 + 3

// Conn is a shared connection to the card in one reader (Card for pcsc-lite).
//
// Each Conn has its own SCARDCONTEXT: pcsc-lite serializes the calls made on one
// context, so separate contexts let cards in different readers work in parallel and
// keep them from queueing behind the event monitor's SCardGetStatusChange. One Conn is
// used by one goroutine at a time (its mutex enforces it).
type Conn struct {
	mu     sync.Mutex
	reader string
	ctx    *scard.Context // released by Close; nil for test connections
	h      handle
	atr    []byte

	// resetSeen: a reset was noticed (and the handle reconnected) outside
	// BeginTransaction; the next BeginTransaction reports it so it is never lost.
	resetSeen error
	dead      error // set once the card is gone: every call returns it
	closed    bool
	trace     tracer

	// The budget of one card conversation (see Budget): deadline is when the open
	// transaction's budget runs out (zero outside a transaction). stuck: a PC/SC call
	// did not return in time and still runs in its goroutine; the connection is dead
	// (ErrCardUnresponsive) until it returns (revive). txOwed: that call ran inside a
	// transaction, which pcscd still holds for us and revive ends.
	budget   time.Duration
	deadline time.Time
	inTx     bool
	stuck    bool
	txOwed   bool
}

// DefaultBudget is how long one card conversation may take: every APDU and PIN-pad
// request from BeginTransaction to EndTransaction, which is one Cryptoki call (one
// PC/SC transaction per call; a context-specific login keeps its transaction for at
// most 10 s more, slot/piv/context.go). Long enough for a YubiKey touch (the key waits
// up to 15 s) and for a PIN typed on a PIN pad (30 s, slot/piv/pinpad.go); short
// enough that a card that stops answering releases the host's thread in under a
// minute instead of never. PCSC11_CARD_TIMEOUT changes it (docs/troubleshooting.md).
const DefaultBudget = 45 * time.Second

var _ Card = (*Conn)(nil)

// newConn wraps an open handle and reads the card's ATR.
func newConn(reader string, ctx *scard.Context, h handle) *Conn {
	c := &Conn{reader: reader, ctx: ctx, h: h, budget: DefaultBudget}
	c.refreshATR()
	return c
}

// Reader is the name of the reader this connection goes through.
func (c *Conn) Reader() string { return c.reader }

func (c *Conn) refreshATR() {
	st, err := c.h.Status()
	if err == nil && st != nil {
		c.atr = append([]byte(nil), st.Atr...)
	}
}

// ATR is the answer to reset of the card, as read at connect or the last reconnect.
func (c *Conn) ATR() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]byte(nil), c.atr...)
}

// usable returns the error every call gets on a closed or dead connection.
func (c *Conn) usable() error {
	if c.closed {
		return &OpError{Op: "use", Reader: c.reader, Code: errors.New("connection closed"), Kind: ErrCardRemoved}
	}
	return c.dead
}

// fail turns a PC/SC error into the package's error and updates the connection's state:
// a reset reconnects (leaving the card as it is) and is remembered for the next
// BeginTransaction; removal and reader loss make the connection dead. An error that is
// already the package's (a verdict of bounded, a short answer) is returned as it is.
func (c *Conn) fail(op string, err error) error {
	var oe *OpError
	if errors.As(err, &oe) {
		return err
	}
	e := opErr(op, c.reader, err)
	switch {
	case errors.Is(e, ErrCardReset):
		if rerr := c.reconnect(); rerr != nil {
			return rerr
		}
		c.resetSeen = e
	case errors.Is(e, ErrCardRemoved), errors.Is(e, ErrReaderGone):
		c.dead = e
	}
	return e
}

// reconnect re-establishes the handle after a reset, keeping the protocol when possible.
func (c *Conn) reconnect() error {
	proto := c.h.ActiveProtocol()
	if proto != scard.ProtocolT0 && proto != scard.ProtocolT1 {
		proto = scard.ProtocolAny
	}
	err := c.h.Reconnect(scard.ShareShared, proto, scard.LeaveCard)
	if isCode(err, scard.ErrProtoMismatch) && proto != scard.ProtocolAny {
		err = c.h.Reconnect(scard.ShareShared, scard.ProtocolAny, scard.LeaveCard)
	}
	if err != nil {
		e := opErr("reconnect", c.reader, err)
		if k := kindOf(err); k == ErrCardRemoved || k == ErrReaderGone {
			c.dead = e
		}
		return e
	}
	c.refreshATR()
	return nil
}

// Transmit sends one command APDU and returns the response (data + SW1 SW2).
func (c *Conn) Transmit(cmd []byte) (rsp []byte, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.usable(); err != nil {
		return nil, err
	}
	// ebfe/scard indexes cmd[0] and panics on a handle with no T=0/T=1 protocol:
	// check both here, and recover as a last line.
	if len(cmd) < 4 || len(cmd) > maxCommand {
		return nil, &OpError{Op: "transmit", Reader: c.reader, Code: fmt.Errorf("command of %d bytes", len(cmd))}
	}
	if p := c.h.ActiveProtocol(); p != scard.ProtocolT0 && p != scard.ProtocolT1 {
		return nil, &OpError{Op: "transmit", Reader: c.reader, Code: fmt.Errorf("no T=0/T=1 protocol (%d)", p)}
	}
	start := time.Now()
	rsp, err = c.bounded("transmit", func() ([]byte, error) { return c.guardedTransmit(cmd) })
	if err == nil && len(rsp) < 2 {
		err = &OpError{Op: "transmit", Reader: c.reader, Code: fmt.Errorf("response of %d bytes", len(rsp))}
	}
	c.trace.transmit(c.reader, cmd, rsp, err, time.Since(start))
	if err != nil {
		return nil, c.fail("transmit", err)
	}
	return rsp, nil
}

func (c *Conn) guardedTransmit(cmd []byte) (rsp []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			rsp, err = nil, &OpError{Op: "transmit", Reader: c.reader, Code: fmt.Errorf("scard panic: %v", r)}
		}
	}()
	return c.h.Transmit(cmd)
}

// BeginTransaction takes exclusive access to the card. After a reset by someone else
// (seen now or by an earlier call) the handle is reconnected, the transaction is taken
// and ErrCardReset returned: the transaction is held and the caller must treat the
// card's security state as lost.
func (c *Conn) BeginTransaction() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.usable(); err != nil {
		return err
	}
	err := c.h.BeginTransaction()
	if err != nil {
		e := c.fail("begin transaction", err)
		if !errors.Is(e, ErrCardReset) || c.dead != nil {
			return e
		}
		// Reconnected: take the transaction on the fresh handle.
		if err := c.h.BeginTransaction(); err != nil {
			return c.fail("begin transaction", err)
		}
	}
	c.inTx, c.deadline = true, c.startBudget()
	if e := c.resetSeen; e != nil {
		c.resetSeen = nil
		return e
	}
	return nil
}

// EndTransaction releases the transaction, leaving the card as it is.
func (c *Conn) EndTransaction() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.inTx, c.deadline = false, time.Time{}
	if err := c.usable(); err != nil {
		return err
	}
	if err := c.h.EndTransaction(scard.LeaveCard); err != nil {
		return c.fail("end transaction", err)
	}
	return nil
}

// Control is SCardControl (part 10 features, PIN-pad verification).
func (c *Conn) Control(code uint32, in []byte) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.usable(); err != nil {
		return nil, err
	}
	start := time.Now()
	out, err := c.bounded("control", func() ([]byte, error) { return c.guardedControl(code, in) })
	traceControl(c.reader, code, in, out, err, time.Since(start))
	if err != nil {
		return nil, c.fail("control", err)
	}
	return out, nil
}

func (c *Conn) guardedControl(code uint32, in []byte) (out []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, &OpError{Op: "control", Reader: c.reader, Code: fmt.Errorf("scard panic: %v", r)}
		}
	}()
	return c.h.Control(code, in)
}

// Close disconnects (leaving the card powered and its state alone) and releases the
// connection's context. Safe to call twice.
func (c *Conn) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	c.closed = true
	if c.stuck {
		// A PC/SC call on this handle has not returned: disconnecting now would wait
		// for it. revive releases the handle and context when (if) it returns.
		return nil
	}
	return c.release()
}

// release disconnects and releases the context (c.mu held, c.closed set).
func (c *Conn) release() error {
	err := c.h.Disconnect(scard.LeaveCard)
	if c.dead != nil {
		err = nil // the handle is already gone on pcscd's side
	}
	if c.ctx != nil {
		if rerr := c.ctx.Release(); rerr != nil && err == nil {
			err = rerr
		}
	}
	return opErr("disconnect", c.reader, err)
}

// startBudget returns the deadline of a conversation starting now (zero: unbounded).
func (c *Conn) startBudget() time.Time {
	if c.budget <= 0 {
		return time.Time{}
	}
	return time.Now().Add(c.budget)
}

// bounded runs one PC/SC call (c.mu held) within the budget of the conversation: the
// open transaction's, or its own outside a transaction. The call runs in a guarded
// goroutine; if it has not returned when the budget runs out, the connection is marked
// dead with ErrCardUnresponsive and the caller gets that error at once, while the call
// goes on in its goroutine (a cgo call cannot be interrupted); revive undoes the
// verdict if it ever returns. A conversation that used up its budget with answers
// (many slow APDUs) gets ErrCardUnresponsive for its next call, without the verdict.
func (c *Conn) bounded(op string, call func() ([]byte, error)) ([]byte, error) {
	deadline := c.deadline
	if deadline.IsZero() {
		deadline = c.startBudget()
	}
	if deadline.IsZero() {
		return call()
	}
	left := time.Until(deadline)
	if left <= 0 {
		return nil, &OpError{Op: op, Reader: c.reader, Code: fmt.Errorf("the call's card budget (%v) is used up", c.budget), Kind: ErrCardUnresponsive}
	}
	type result struct {
		out []byte
		err error
	}
	ch := make(chan result, 1)
	guard.Go(guard.CardTransmit, func() {
		out, err := call()
		ch <- result{out, err}
	}, func(err error) {
		ch <- result{nil, &OpError{Op: op, Reader: c.reader, Code: err}}
	})
	timer := time.NewTimer(left)
	defer timer.Stop()
	select {
	case r := <-ch:
		return r.out, r.err
	case <-timer.C:
	}
	c.dead = &OpError{Op: op, Reader: c.reader, Code: fmt.Errorf("no answer within the call's budget of %v", c.budget), Kind: ErrCardUnresponsive}
	c.stuck, c.txOwed = true, c.inTx
	guard.Go(guard.CardTransmit, func() {
		<-ch
		c.revive()
	}, nil)
	return nil, c.dead
}

// revive runs when a call that overran its budget finally returns: the connection is
// usable again, but what the card did with the abandoned command is unknown, so the
// next BeginTransaction reports a reset (re-select, logins lost). A transaction the
// call ran in is ended; a connection closed meanwhile is released now.
func (c *Conn) revive() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stuck = false
	if c.txOwed {
		c.txOwed = false
		c.h.EndTransaction(scard.LeaveCard)
	}
	if c.closed {
		c.release()
		return
	}
	if errors.Is(c.dead, ErrCardUnresponsive) {
		c.dead = nil
		c.resetSeen = &OpError{Op: "transmit", Reader: c.reader, Code: errors.New("the card answered after its budget; its state is unknown"), Kind: ErrCardReset}
	}
}
