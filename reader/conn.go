package reader

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/ebfe/scard"
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
}

var _ Card = (*Conn)(nil)

// newConn wraps an open handle and reads the card's ATR.
func newConn(reader string, ctx *scard.Context, h handle) *Conn {
	c := &Conn{reader: reader, ctx: ctx, h: h}
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
// BeginTransaction; removal and reader loss make the connection dead.
func (c *Conn) fail(op string, err error) error {
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
	rsp, err = c.guardedTransmit(cmd)
	if err == nil && len(rsp) < 2 {
		err = &OpError{Op: "transmit", Reader: c.reader, Code: fmt.Errorf("response of %d bytes", len(rsp))}
	}
	c.trace.transmit(c.reader, cmd, rsp, err, time.Since(start))
	if err != nil {
		var oe *OpError
		if errors.As(err, &oe) {
			return nil, err
		}
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
	out, err := c.guardedControl(code, in)
	traceControl(c.reader, code, in, out, err, time.Since(start))
	if err != nil {
		var oe *OpError
		if errors.As(err, &oe) {
			return nil, err
		}
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
