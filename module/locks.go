package module

import (
	"bytes"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
)

// Locks of the module, and their order (the one place it is written; docs/architecture.md
// draws it). A thread takes them only in this order, and holds a later one only briefly:
//
//  1. cardGate.turn, one per slot (gate.go): the module's turn on that card. It is held
//     for a whole conversation whose answer changes what the module knows about the
//     card (a login, a key operation and its login refresh, a personalization), and it
//     is the only lock held across card I/O. A thread waits for it only when it needs
//     that card; a call that can answer from what is known tries it (TryLock) and
//     answers from the last known state when the card is busy.
//  2. Library.mu (libLock): library and per-token state: sessions and their operations,
//     object handles, token states (login, cached PIN), the slot list, the gates' last
//     known token info and queued card work. Never held across card I/O or a wait for
//     a turn: card is the only way to a token's I/O methods, and each of them checks
//     (in the module's tests) that its goroutine does not hold the library lock.
//  3. Leaves, held for a few instructions: cachedPIN.mu, the slot manager's locks, the
//     driver's object cache lock.
//
// Below the module, a driver serializes its own card exchanges (slot/piv: Token.mu,
// taken inside every driver call, so after 1 and never with 2).
//
// What may change while a card call runs (the library lock released): sessions close,
// the card is removed or replaced, C_Logout and C_Finalize happen. A conversation
// therefore starts from a mark (mark.go) and ends by checking it: the session still
// open, its token state still the card's, the library still initialized; otherwise the
// caller answers the mark's clean error (CKR_SESSION_CLOSED, CKR_DEVICE_REMOVED,
// CKR_CRYPTOKI_NOT_INITIALIZED) and applies nothing.

// libLock is the library lock. With lockChecks on (the module's tests turn it on) it
// records the goroutine holding it, so that a card call made under it is caught.
type libLock struct {
	mu    sync.Mutex
	owner atomic.Int64
}

// lockChecks turns on the ownership checks of libLock (a goroutine ID is read from the
// stack at every Lock: too slow for production, cheap enough for tests).
var lockChecks = false

func (k *libLock) Lock() {
	k.mu.Lock()
	if lockChecks {
		k.owner.Store(goid())
	}
}

func (k *libLock) Unlock() {
	if lockChecks {
		k.owner.Store(0)
	}
	k.mu.Unlock()
}

// released runs f with the library lock released: l.mu is held on entry and again on
// return, also when f panics (the caller's deferred Unlock must find it locked).
func (l *Library) released(f func()) {
	l.mu.Unlock()
	defer l.mu.Lock()
	f()
}

// heldHere reports (with lockChecks on) whether the calling goroutine holds the lock.
func (k *libLock) heldHere() bool {
	return lockChecks && k.owner.Load() == goid()
}

// mustNotHold panics when the calling goroutine holds the library lock: what follows
// may wait for a card, and every other thread would wait with it.
func (k *libLock) mustNotHold(what string) {
	if k.heldHere() {
		panic("module: " + what + " with the library lock held (lock order: locks.go)")
	}
}

// goid is the calling goroutine's ID, from the first line of its stack ("goroutine 12 [").
func goid() int64 {
	var buf [64]byte
	b := buf[:runtime.Stack(buf[:], false)]
	b = bytes.TrimPrefix(b, []byte("goroutine "))
	if i := bytes.IndexByte(b, ' '); i > 0 {
		b = b[:i]
	}
	n, _ := strconv.ParseInt(string(b), 10, 64)
	return n
}
