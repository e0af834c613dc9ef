// Package guard runs the library's own goroutines so that a panic in one of them never
// ends the host process (DESIGN.md, rules at the C boundary: "goroutines started by
// the library recover like exports do").
//
// Every goroutine and timer callback that pcsc11 starts inside a host goes through Go
// or Func: the slot monitor, the C_WaitForSlotEvent helper, the PIN cache's and the
// context login's timers, the reader's bounded card transmit and connect, and the
// touch prompt. A panic is recovered
// and logged once with the goroutine's name and stack, then handed to the caller's
// onPanic, which turns it into the answer the library owes (CKR_GENERAL_ERROR for a
// waiter, a wipe for a PIN timer, an error for a card exchange).
//
// The C exports recover on their own (module/cabi guard): recover only works in the
// deferred function itself, so that one cannot be shared.
package guard

import (
	"fmt"
	"runtime/debug"
	"sync/atomic"

	"github.com/pcsc11/pcsc11/logging"
)

// PanicError is what onPanic receives: the goroutine's name and the recovered value.
type PanicError struct {
	Name  string
	Value any
}

func (e *PanicError) Error() string {
	return fmt.Sprintf("internal error (panic) in %s: %v", e.Name, e.Value)
}

// Go runs fn in a new goroutine named name, guarded (see Func).
func Go(name string, fn func(), onPanic func(error)) {
	go Func(name, fn, onPanic)()
}

// Func returns fn guarded, for time.AfterFunc and other callers that start the
// goroutine themselves: a panic in fn is recovered, logged, and passed to onPanic
// (which may be nil). A panic in onPanic itself is recovered and logged too.
func Func(name string, fn func(), onPanic func(error)) func() {
	return func() {
		defer func() {
			if r := recover(); r != nil {
				handle(name, r, onPanic)
			}
		}()
		if h := hook.Load(); h != nil {
			(*h)(name)
		}
		fn()
	}
}

func handle(name string, r any, onPanic func(error)) {
	logging.Logger().Error("internal error (panic) in a library goroutine; recovered",
		"goroutine", name, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
	if onPanic == nil {
		return
	}
	defer func() {
		if r2 := recover(); r2 != nil {
			logging.Logger().Error("panic while handling a panic; recovered",
				"goroutine", name, "panic", fmt.Sprint(r2))
		}
	}()
	onPanic(&PanicError{Name: name, Value: r})
}

var hook atomic.Pointer[func(name string)]

// SetTestHook installs a function that every guarded goroutine calls, with its name,
// before its own work; tests make it panic for one name to show that goroutine is
// guarded. nil removes it. Not for production use.
func SetTestHook(h func(name string)) {
	if h == nil {
		hook.Store(nil)
		return
	}
	hook.Store(&h)
}

// Names of the library's goroutines, for logs and SetTestHook.
const (
	SlotMonitor   = "slot monitor"
	WaitForEvent  = "C_WaitForSlotEvent helper"
	PINCacheTimer = "PIN cache timer"
	ContextTimer  = "context login timer"
	CardTransmit  = "card transmit"
	TouchPrompt   = "touch prompt"
)
