package vpcd

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/pcsc11/pcsc11/vpiv"
)

// Fault injection turns the faithful card into a misbehaving one so that the host
// side (pcsc11's apdu and reader layers, and other clients) can be tested against
// answers real cards and flaky readers produce.
const (
	InjectNone       = ""
	InjectTruncate   = "truncate"     // answer a single byte: no status word
	InjectGarbageTLV = "garbage-tlv"  // GET DATA answers claim more bytes than they hold
	InjectEndless61  = "endless-61"   // the status word is always 61 FF: "more data", forever
	InjectSlow       = "slow"         // answer after a delay
	InjectEmpty61    = "empty-61"     // the answer is 61 10 with no data: "more", and never any
	InjectMute       = "mute"         // the card stops answering (until removed or stopped)
	InjectBadMeta    = "bad-metadata" // GET METADATA answers 01 02 11 11: an algorithm of two bytes
)

// muteDelay is "never" for InjectMute: the answer waits until the card is removed or
// the program stops.
const muteDelay = 1000 * time.Hour

var injectModes = map[string]string{
	InjectTruncate:   "answer 1 byte (no status word)",
	InjectGarbageTLV: "corrupt the outer TLV length of GET DATA answers",
	InjectEndless61:  "replace the status word with 61 FF",
	InjectSlow:       "delay the answer (--inject-delay)",
	InjectEmpty61:    "answer 61 10 with no data, to every command including GET RESPONSE",
	InjectMute:       "stop answering from the Nth command on (--inject-every N), until removal",
	InjectBadMeta:    "answer every successful GET METADATA with a malformed template (01 02 11 11)",
}

func init() {
	// The bad certificate containers are written into the card at start (vpiv.CorruptObject,
	// --inject-object names the container); they rewrite no answer.
	for m, d := range vpiv.BadObjectModes {
		injectModes[m] = d
	}
}

// ObjectMode reports whether mode is one of the bad-object modes: the program corrupts
// the container once at start (vpiv.Card.CorruptObject) instead of rewriting answers.
func ObjectMode(mode string) bool {
	_, ok := vpiv.BadObjectModes[mode]
	return ok
}

// InjectModes describes the modes, for --help.
func InjectModes() string {
	names := make([]string, 0, len(injectModes))
	for n := range injectModes {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		fmt.Fprintf(&b, "%s: %s; ", n, injectModes[n])
	}
	return strings.TrimSuffix(b.String(), "; ")
}

// Injector applies one fault mode to every Nth eligible response. The zero value and
// a nil *Injector inject nothing.
type Injector struct {
	Mode  string
	Every int           // 1 = every eligible response; values < 1 count as 1
	Delay time.Duration // for InjectSlow

	mu    sync.Mutex
	n     int
	muted bool // InjectMute hit once: no answer ever again
}

// NewInjector checks the mode and returns an injector.
func NewInjector(mode string, every int, delay time.Duration) (*Injector, error) {
	if mode == InjectNone {
		return nil, nil
	}
	if _, ok := injectModes[mode]; !ok {
		return nil, fmt.Errorf("unknown --inject mode %q (modes: %s)", mode, InjectModes())
	}
	if every < 1 {
		return nil, fmt.Errorf("--inject-every must be at least 1, got %d", every)
	}
	if delay < 0 {
		return nil, fmt.Errorf("--inject-delay must not be negative")
	}
	return &Injector{Mode: mode, Every: every, Delay: delay}, nil
}

// eligible says whether a response counts for the mode: garbage-tlv only touches
// successful GET DATA answers that start with a TLV, bad-metadata successful GET
// METADATA answers, every other mode any answer.
func (in *Injector) eligible(cmd, resp []byte) bool {
	switch {
	case ObjectMode(in.Mode):
		return false
	case in.Mode == InjectGarbageTLV:
		return successWith(cmd, resp, 0xCB, 4)
	case in.Mode == InjectBadMeta:
		return successWith(cmd, resp, 0xF7, 2)
	}
	return true
}

// successWith: cmd has instruction ins and resp, at least minLen bytes, a success
// status word (90 00 or 61 xx).
func successWith(cmd, resp []byte, ins byte, minLen int) bool {
	if len(cmd) < 2 || cmd[1] != ins || len(resp) < minLen {
		return false
	}
	sw1 := resp[len(resp)-2]
	return sw1 == 0x90 || sw1 == 0x61
}

// Apply returns the response to send (possibly rewritten) and how long to wait before
// sending it. It never modifies resp in place.
func (in *Injector) Apply(cmd, resp []byte) ([]byte, time.Duration) {
	if in == nil || in.Mode == InjectNone || !in.eligible(cmd, resp) {
		return resp, 0
	}
	in.mu.Lock()
	in.n++
	every := in.Every
	if every < 1 {
		every = 1
	}
	hit := in.n%every == 0 || in.muted
	in.mu.Unlock()
	if !hit {
		return resp, 0
	}
	switch in.Mode {
	case InjectTruncate:
		if len(resp) == 0 {
			return []byte{0x6F}, 0
		}
		return []byte{resp[0]}, 0
	case InjectEndless61:
		out := append([]byte(nil), resp...)
		if len(out) < 2 {
			return []byte{0x61, 0xFF}, 0
		}
		out[len(out)-2], out[len(out)-1] = 0x61, 0xFF
		return out, 0
	case InjectGarbageTLV:
		return corruptLength(resp), 0
	case InjectBadMeta:
		return []byte{0x01, 0x02, 0x11, 0x11, 0x90, 0x00}, 0
	case InjectSlow:
		return resp, in.Delay
	case InjectEmpty61:
		return []byte{0x61, 0x10}, 0
	case InjectMute:
		in.mu.Lock()
		in.muted = true
		in.mu.Unlock()
		return resp, muteDelay
	}
	return resp, 0
}

// corruptLength rewrites the length of the first TLV in the response data so that it
// claims the most bytes its encoding form allows, without changing the number of bytes
// on the wire. resp has at least 2 data bytes (checked by eligible).
func corruptLength(resp []byte) []byte {
	out := append([]byte(nil), resp...)
	data := out[:len(out)-2]
	i := 1 // the length follows a one-byte tag ...
	if data[0]&0x1F == 0x1F {
		// ... or a multi-byte tag: skip the continuation bytes.
		for i < len(data) && data[i]&0x80 != 0 {
			i++
		}
		i++
	}
	if i >= len(data) {
		return out
	}
	switch l := data[i]; {
	case l < 0x80:
		data[i] = 0x7F
	default:
		n := int(l & 0x7F)
		for j := i + 1; j <= i+n && j < len(data); j++ {
			data[j] = 0xFF
		}
	}
	return out
}
