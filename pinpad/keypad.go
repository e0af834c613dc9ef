package pinpad

import (
	"errors"
	"fmt"
	"strings"
	"sync"
)

// Status words of a PIN-pad reader (PC/SC v2 part 10; the CCID driver and OpenSC
// read them this way).
const (
	SWTimeout     uint16 = 0x6400 // no entry in time
	SWCancelled   uint16 = 0x6401 // user pressed cancel
	SWMismatch    uint16 = 0x6402 // new PIN and confirmation differ
	SWLengthRange uint16 = 0x6403 // PIN shorter or longer than the structure allows
	SWBadParam    uint16 = 0x6B80 // structure rejected by the reader
	swNoAnswer    uint16 = 0x6F00 // the card gave no status word
)

// MaxDigits bounds a scripted PIN (no keypad structure allows more than 15 bytes of
// block, and a case 1 APDU is bounded by its 1-byte length).
const MaxDigits = 32

type actionKind int

const (
	actType actionKind = iota
	actCancel
	actTimeout
)

type action struct {
	kind actionKind
	pin  string
}

// Keypad is a scripted user at the PIN pad: each PIN request consumes the queued
// actions it needs, oldest first (verify: one entry; modify: current PIN when the
// structure asks for it, new PIN, confirmation when asked for). With nothing queued
// the user "does not type" and the request times out at once. Safe for concurrent use.
type Keypad struct {
	mu    sync.Mutex
	queue []action
}

// ErrBadPIN reports a scripted PIN that a keypad cannot type.
var ErrBadPIN = errors.New("pinpad: a typed PIN is 1 to 32 decimal digits")

// Type queues a PIN typed on the keypad, then the validation key.
func (k *Keypad) Type(pin string) error {
	if len(pin) == 0 || len(pin) > MaxDigits {
		return ErrBadPIN
	}
	for i := 0; i < len(pin); i++ {
		if pin[i] < '0' || pin[i] > '9' {
			return ErrBadPIN
		}
	}
	k.push(action{kind: actType, pin: pin})
	return nil
}

// Cancel queues a press of the cancel key.
func (k *Keypad) Cancel() { k.push(action{kind: actCancel}) }

// Timeout queues a user who never finishes the entry.
func (k *Keypad) Timeout() { k.push(action{kind: actTimeout}) }

// Clear drops every queued action.
func (k *Keypad) Clear() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.queue = nil
}

// Pending reports how many actions are queued.
func (k *Keypad) Pending() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.queue)
}

func (k *Keypad) push(a action) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.queue = append(k.queue, a)
}

// next takes the oldest action; an empty queue is a timeout.
func (k *Keypad) next() action {
	k.mu.Lock()
	defer k.mu.Unlock()
	if len(k.queue) == 0 {
		return action{kind: actTimeout}
	}
	a := k.queue[0]
	k.queue[0] = action{}
	k.queue = k.queue[1:]
	return a
}

// entry reads one PIN from the keypad: ok false with the status word to answer when
// the user cancels, times out or types a PIN outside min..max.
func (k *Keypad) entry(f *Format) (pin string, sw uint16, ok bool) {
	a := k.next()
	switch a.kind {
	case actCancel:
		return "", SWCancelled, false
	case actTimeout:
		return "", SWTimeout, false
	}
	if len(a.pin) < int(f.MinPIN) || len(a.pin) > int(f.MaxPIN) {
		return "", SWLengthRange, false
	}
	return a.pin, 0, true
}

// Handle answers one message from the reader driver when it is a PIN request
// (MsgVerify or MsgModify followed by the structure); handled is false for any other
// message, which the caller processes as usual. process runs a command APDU on the
// card and returns the response APDU. The answer is always at least a status word.
func (k *Keypad) Handle(msg []byte, process func(cmd []byte) []byte) (resp []byte, handled bool) {
	if len(msg) < 2 || (msg[0] != MsgVerify && msg[0] != MsgModify) {
		return nil, false
	}
	var (
		cmd []byte
		sw  uint16
	)
	if msg[0] == MsgVerify {
		cmd, sw = k.verify(msg[1:])
	} else {
		cmd, sw = k.modify(msg[1:])
	}
	if cmd == nil {
		return swBytes(sw), true
	}
	resp = process(cmd)
	wipe(cmd)
	if len(resp) < 2 {
		return swBytes(swNoAnswer), true
	}
	return resp, true
}

// verify builds the VERIFY command, or returns the status word to answer instead.
func (k *Keypad) verify(b []byte) ([]byte, uint16) {
	v, err := ParseVerify(b)
	if err != nil {
		return nil, SWBadParam
	}
	t, err := v.checkLayout()
	if err != nil {
		return nil, SWBadParam
	}
	pin, sw, ok := k.entry(&v.Format)
	if !ok {
		return nil, sw
	}
	cmd, err := v.build(t, pin)
	if err != nil {
		return nil, SWBadParam
	}
	return cmd, 0
}

// modify builds the CHANGE/RESET command from the current PIN (when asked for), the
// new PIN and its confirmation (when asked for).
func (k *Keypad) modify(b []byte) ([]byte, uint16) {
	m, err := ParseModify(b)
	if err != nil {
		return nil, SWBadParam
	}
	t, err := m.checkLayout()
	if err != nil {
		return nil, SWBadParam
	}
	var old string
	if m.ConfirmPIN&0x02 != 0 {
		p, sw, ok := k.entry(&m.Format)
		if !ok {
			return nil, sw
		}
		old = p
	}
	pin, sw, ok := k.entry(&m.Format)
	if !ok {
		return nil, sw
	}
	if m.ConfirmPIN&0x01 != 0 {
		again, sw, ok := k.entry(&m.Format)
		if !ok {
			return nil, sw
		}
		if again != pin {
			return nil, SWMismatch
		}
	}
	cmd, err := m.build(t, old, pin)
	if err != nil {
		return nil, SWBadParam
	}
	return cmd, 0
}

func swBytes(sw uint16) []byte { return []byte{byte(sw >> 8), byte(sw)} }

// Exec runs one control-socket command (the words after "pinpad") and returns the
// answer line: "ok ..." or "error: ...". Answers never repeat the PIN.
//
//	type DIGITS   queue a typed PIN
//	cancel        queue a cancel
//	timeout       queue a timeout
//	clear         drop the queue
//	status        report the queue length
func (k *Keypad) Exec(args string) string {
	f := strings.Fields(args)
	const usage = "error: usage: pinpad type DIGITS | cancel | timeout | clear | status"
	if len(f) == 0 {
		return usage
	}
	switch {
	case f[0] == "type" && len(f) == 2:
		if err := k.Type(f[1]); err != nil {
			return "error: " + err.Error()
		}
	case f[0] == "cancel" && len(f) == 1:
		k.Cancel()
	case f[0] == "timeout" && len(f) == 1:
		k.Timeout()
	case f[0] == "clear" && len(f) == 1:
		k.Clear()
	case f[0] == "status" && len(f) == 1:
	default:
		return usage
	}
	return fmt.Sprintf("ok pinpad pending=%d", k.Pending())
}
