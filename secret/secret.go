// Package secret holds the credentials pcsc11 keeps beyond one statement (the PIN of
// the PIN cache, the PUK of an SO login, management keys while they are used) in
// memory mapped outside the Go heap, so the garbage collector never copies them,
// locked into RAM (never swapped), left out of core dumps and fork children where the
// system allows it, and zeroed when wiped.
package secret

import (
	"fmt"
	"log/slog"
)

// Bytes is one secret value. The zero value and nil are empty; Wipe is safe on both
// and twice. Not safe for concurrent use: its owner's lock guards it.
type Bytes struct {
	mem    []byte // the whole mapping (or heap buffer); nil once wiped
	n      int
	locked bool
}

// New copies b into locked memory; an error when the system gives none (a small
// RLIMIT_MEMLOCK, or not Linux): the caller then keeps nothing.
func New(b []byte) (*Bytes, error) {
	mem, err := Alloc(max(len(b), 1))
	if err != nil {
		return nil, err
	}
	return &Bytes{mem: mem, n: copy(mem, b), locked: true}, nil
}

// Hold copies b into locked memory when the system gives it, else into an ordinary
// buffer that is wiped all the same: for a value the caller must keep to work at all
// (the PUK of an SO login, a management key being used).
func Hold(b []byte) *Bytes {
	s := Zeroed(len(b))
	copy(s.mem, b)
	return s
}

// Zeroed is n zero bytes, locked when the system allows it, to decode or generate a
// secret into.
func Zeroed(n int) *Bytes {
	if mem, err := Alloc(max(n, 1)); err == nil {
		return &Bytes{mem: mem, n: n, locked: true}
	}
	return &Bytes{mem: make([]byte, n), n: n}
}

// Bytes is the value; nil once wiped. The slice must not outlive the Bytes: copy
// nothing out of it that is not wiped too.
func (s *Bytes) Bytes() []byte {
	if s == nil || s.mem == nil {
		return nil
	}
	return s.mem[:s.n]
}

// Len is the value's length (0 once wiped).
func (s *Bytes) Len() int { return len(s.Bytes()) }

// Locked reports whether the value lives in locked memory.
func (s *Bytes) Locked() bool { return s != nil && s.mem != nil && s.locked }

// Format keeps every fmt verb (%v, %s, %x, %+v, %#v) from printing the value: a
// secret that reaches a log line by mistake shows as its length.
func (s *Bytes) Format(f fmt.State, _ rune) { fmt.Fprintf(f, "[secret: %d bytes]", s.Len()) }

// LogValue does the same for log/slog.
func (s *Bytes) LogValue() slog.Value {
	return slog.StringValue(fmt.Sprintf("[secret: %d bytes]", s.Len()))
}

// Wipe zeroes the value and releases its memory.
func (s *Bytes) Wipe() {
	if s == nil || s.mem == nil {
		return
	}
	clear(s.mem)
	if s.locked {
		Free(s.mem)
	}
	s.mem, s.n, s.locked = nil, 0, false
}
