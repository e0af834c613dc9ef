package vpiv

import (
	"sync"
	"time"
)

// Touch, as a YubiKey does it (docs/virtual-card.md, "Touch"):
//
//   - touch policy "always" (02): every private-key operation with the key waits for
//     a touch of the sensor;
//   - "cached" (03): a touch is good for CachedTouch (15 s) after it was given; an
//     operation within that time needs none;
//   - no touch within the timeout (15 s on a YubiKey): the operation fails with
//     6982, security status not satisfied (the same status word as a missing PIN;
//     yubico-piv-tool issue #185 reports it for an untouched key).
//
// The engine waits for the touch inside Process with its state lock released, so the
// door's status, Touch and PowerOff go on meanwhile; other commands wait (opMu), as
// they do on a YubiKey whose applet is busy. A power-off or reset ends the wait.

// CachedTouch is how long a touch counts for keys with touch policy "cached".
const CachedTouch = 15 * time.Second

// DefaultTouchTimeout is how long an operation waits for a touch when
// Options.TouchTimeout is 0: about what a YubiKey waits.
const DefaultTouchTimeout = 15 * time.Second

// touchSensor is the card's touch button. Its own lock, never held while waiting.
type touchSensor struct {
	mu      sync.Mutex
	waiting chan struct{} // non-nil while an operation waits; closed by a touch
	abort   chan struct{} // closed by a power-off or reset during the wait
	last    time.Time     // the last touch an operation consumed (cached policy)
}

// Touch gives the card a touch. It reports whether an operation was waiting for one;
// a touch with nothing waiting does nothing (as on a YubiKey, whose PIV applet only
// listens while it blinks).
func (c *Card) Touch() bool {
	s := &c.touch
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.waiting == nil {
		return false
	}
	close(s.waiting)
	s.waiting = nil
	s.last = time.Now()
	return true
}

// TouchWaiting reports whether an operation is waiting for a touch now.
func (c *Card) TouchWaiting() bool {
	c.touch.mu.Lock()
	defer c.touch.mu.Unlock()
	return c.touch.waiting != nil
}

// EndTouchWait ends a wait for a touch without one: the card leaves the reader (the
// door calls it on removal, before the connection's last command has answered).
func (c *Card) EndTouchWait() { c.abortTouch() }

// abortTouch ends a wait for a touch without one (power-off, reset, removal).
func (c *Card) abortTouch() {
	s := &c.touch
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.abort != nil {
		close(s.abort)
		s.abort = nil
	}
}

// awaitTouch applies a key's touch policy before its operation (c.mu held on entry and
// on return, released while waiting). It reports whether the operation may go on.
func (c *Card) awaitTouch(policy byte) bool {
	s := &c.touch
	s.mu.Lock()
	switch {
	case policy != touchAlways && policy != touchCached:
		s.mu.Unlock()
		return true
	case policy == touchCached && !s.last.IsZero() && time.Since(s.last) < CachedTouch:
		s.mu.Unlock()
		return true
	}
	touched, abort := make(chan struct{}), make(chan struct{})
	s.waiting, s.abort = touched, abort
	s.mu.Unlock()

	gen := c.resetGen
	timeout := c.opts.TouchTimeout
	if timeout <= 0 {
		timeout = DefaultTouchTimeout
	}
	c.mu.Unlock()
	timer := time.NewTimer(timeout)
	var auto <-chan time.Time
	if c.opts.AutoTouch > 0 {
		t := time.NewTimer(c.opts.AutoTouch)
		defer t.Stop()
		auto = t.C
	}
	ok := false
	for done := false; !done; {
		select {
		case <-touched:
			ok, done = true, true
		case <-auto:
			c.Touch() // closes touched unless a touch came first
			auto = nil
		case <-timer.C:
			done = true
		case <-abort:
			done = true
		}
	}
	timer.Stop()
	s.mu.Lock()
	if s.waiting == touched {
		s.waiting = nil
	}
	if s.abort == abort {
		s.abort = nil
	}
	s.mu.Unlock()
	c.mu.Lock()
	// A power-off or reset during the wait took the security status with it.
	return ok && c.resetGen == gen
}
