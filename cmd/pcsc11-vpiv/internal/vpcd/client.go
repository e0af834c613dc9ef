package vpcd

import (
	"context"
	"net"
	"sync"
	"time"
)

// Client keeps the card connected to vpcd: it dials, serves, and dials again with
// backoff when the connection drops (pcscd restarted). Remove disconnects and stays
// away, which pcscd sees as the card leaving the reader; Insert comes back.
type Client struct {
	Addr   string
	Card   Card
	Inject *Injector
	// Latency, when set, is how long after processing a command its answer is sent
	// (the latency model of a real card: --latency-*). It is called with Card's lock
	// held, right after the command; the wait itself holds no lock.
	Latency     func() time.Duration
	Logf        Logf
	Trace       bool          // log every APDU through apdu.Redactor
	PINPad      PINPad        // set when connected to pcsc11's PIN-pad reader (--pinpad-port)
	MinBackoff  time.Duration // first retry delay; default 100 ms
	MaxBackoff  time.Duration // retry delay cap; default 2 s
	DialTimeout time.Duration

	cardMu sync.Mutex // serialises every call into Card

	mu        sync.Mutex
	started   bool
	inserted  bool
	conn      net.Conn
	connected bool
	wake      chan struct{}
}

func (c *Client) init() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.started {
		c.started = true
		c.inserted = true
		c.wake = make(chan struct{}, 1)
	}
}

// Remove takes the card out of the reader: the connection to vpcd is closed and not
// re-opened until Insert.
func (c *Client) Remove() {
	c.init()
	c.mu.Lock()
	c.inserted = false
	conn := c.conn
	c.mu.Unlock()
	if conn != nil {
		conn.Close()
	}
	// A command waiting for a touch holds the session until it answers; the card
	// leaving the reader ends the wait at once, as unplugging a YubiKey does.
	if w, ok := c.Card.(interface{ EndTouchWait() }); ok {
		w.EndTouchWait()
	}
	c.poke()
}

// Insert puts the card back: the client dials vpcd again at once.
func (c *Client) Insert() {
	c.init()
	c.mu.Lock()
	c.inserted = true
	c.mu.Unlock()
	c.poke()
}

func (c *Client) poke() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// State reports whether the card is inserted (wanted in the reader) and whether it is
// connected to vpcd right now.
func (c *Client) State() (inserted, connected bool) {
	c.init()
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.inserted, c.connected
}

// WithCard runs f while no APDU is being processed (for counters and the like).
func (c *Client) WithCard(f func(Card)) {
	c.cardMu.Lock()
	defer c.cardMu.Unlock()
	f(c.Card)
}

// Run serves until ctx ends. It returns ctx.Err().
func (c *Client) Run(ctx context.Context) error {
	c.init()
	minB, maxB := c.MinBackoff, c.MaxBackoff
	if minB <= 0 {
		minB = 100 * time.Millisecond
	}
	if maxB < minB {
		maxB = 2 * time.Second
		if maxB < minB {
			maxB = minB
		}
	}
	dialTimeout := c.DialTimeout
	if dialTimeout <= 0 {
		dialTimeout = 2 * time.Second
	}
	backoff := minB
	waitingLogged := false
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		c.mu.Lock()
		inserted := c.inserted
		c.mu.Unlock()
		if !inserted {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-c.wake:
			}
			continue
		}
		d := net.Dialer{Timeout: dialTimeout}
		conn, err := d.DialContext(ctx, "tcp", c.Addr)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if !waitingLogged {
				c.Logf.printf("waiting for vpcd at %s (is pcscd running with the vpcd driver?): %v", c.Addr, err)
				waitingLogged = true
			}
			if !c.sleep(ctx, backoff) {
				return ctx.Err()
			}
			backoff = min(backoff*2, maxB)
			continue
		}
		waitingLogged = false
		backoff = minB
		if !c.attach(conn) {
			conn.Close() // removed while dialing
			continue
		}
		c.Logf.printf("card inserted: connected to vpcd at %s", c.Addr)
		s := &session{conn: conn, card: c.Card, mu: &c.cardMu, inject: c.Inject, latency: c.Latency, logf: c.Logf, trace: c.Trace, pinpad: c.PINPad}
		err = s.serve(ctx)
		c.detach(conn)
		// A card leaving the reader loses power and with it every security status.
		c.cardMu.Lock()
		c.Card.PowerOff()
		c.cardMu.Unlock()
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case !c.isInserted():
			c.Logf.printf("card removed")
		case isClosed(err):
			c.Logf.printf("vpcd closed the connection; reconnecting")
			// pcscd is probably restarting: do not spin on its closing socket.
			if !c.sleep(ctx, minB) {
				return ctx.Err()
			}
		default:
			c.Logf.printf("connection to vpcd lost: %v; reconnecting", err)
			if !c.sleep(ctx, minB) {
				return ctx.Err()
			}
		}
	}
}

func (c *Client) isInserted() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.inserted
}

func (c *Client) attach(conn net.Conn) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.inserted {
		return false
	}
	c.conn, c.connected = conn, true
	return true
}

func (c *Client) detach(conn net.Conn) {
	conn.Close()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn == conn {
		c.conn, c.connected = nil, false
	}
}

// sleep waits d, returning early (true) on Insert/Remove and false when ctx ends.
func (c *Client) sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
	case <-c.wake:
	}
	return true
}
