package vpcd

import (
	"sync"
	"testing"
	"time"
)

// The latency model delays answers to APDUs by what the card says it just did, on
// top of an injected delay, and never delays vpcd's control messages.
func TestSessionLatency(t *testing.T) {
	card := &fakeCard{}
	calls := 0
	s := &session{card: card, mu: &sync.Mutex{}, latency: func() time.Duration {
		calls++
		if _, _, _, n := card.counts(); n != calls {
			t.Errorf("latency asked before the command was processed (%d commands, call %d)", n, calls)
		}
		return 30 * time.Millisecond
	}}
	if _, d, ok := s.handle([]byte{0x00, 0xF8, 0x00, 0x00}); !ok || d != 30*time.Millisecond {
		t.Errorf("APDU: delay %v (answered %v), want 30ms", d, ok)
	}
	if _, d, _ := s.handle([]byte{CtrlGetATR}); d != 0 || calls != 1 {
		t.Errorf("ATR request: delay %v, latency calls %d", d, calls)
	}
	inj, _ := NewInjector(InjectSlow, 1, 5*time.Millisecond)
	s.inject = inj
	if _, d, _ := s.handle([]byte{0x00, 0xF8, 0x00, 0x00}); d != 35*time.Millisecond {
		t.Errorf("with --inject slow: delay %v, want 35ms", d)
	}
}
