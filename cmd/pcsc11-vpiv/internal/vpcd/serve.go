package vpcd

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"time"

	"github.com/pcsc11/pcsc11/apdu"
)

// Card is what the door needs from a card engine (vpiv.Card satisfies it).
type Card interface {
	ATR() []byte
	PowerOn()
	PowerOff()
	Reset()
	Process(cmd []byte) []byte
}

// PINPad answers the PIN requests of pcsc11's test PIN-pad reader (pinpad.Keypad):
// Handle takes the F1/F2 messages that reader adds to the vpcd protocol, Exec runs the
// control socket's "pinpad ..." commands. See docs/pinpad.md.
type PINPad interface {
	Handle(msg []byte, process func(cmd []byte) []byte) (resp []byte, handled bool)
	Exec(args string) string
}

// Logf is a printf-style logger; nil discards.
type Logf func(format string, args ...any)

func (l Logf) printf(format string, args ...any) {
	if l != nil {
		l(format, args...)
	}
}

// session is one vpcd connection. mu serialises card access with the control socket
// (status reads counters while APDUs are processed).
type session struct {
	conn    net.Conn
	card    Card
	mu      *sync.Mutex
	inject  *Injector
	latency func() time.Duration // nil: answer at once
	logf    Logf
	trace   bool
	redact  apdu.Redactor // what the trace may show: the module's own rules
	pinpad  PINPad        // nil: plain vpcd
}

// serve answers vpcd's messages until the connection fails or ctx ends. A clean close
// by vpcd (pcscd stopping) is reported as io.EOF.
func (s *session) serve(ctx context.Context) error {
	stop := context.AfterFunc(ctx, func() { s.conn.Close() })
	defer stop()
	r := quickAckReader{s.conn}
	for {
		msg, err := ReadMsg(r)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return err
		}
		out, delay, ok := s.handle(msg)
		if !ok {
			continue
		}
		if delay > 0 {
			t := time.NewTimer(delay)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			}
		}
		if err := WriteMsg(s.conn, out); err != nil {
			return err
		}
	}
}

// handle turns one message into the answer to send, if any.
func (s *session) handle(msg []byte) (out []byte, delay time.Duration, answer bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch len(msg) {
	case 0:
		// Not produced by vpcd; tolerate rather than drop the card.
		s.logf.printf("ignoring empty message from vpcd")
		return nil, 0, false
	case 1:
		switch msg[0] {
		case CtrlPowerOff:
			s.card.PowerOff()
		case CtrlPowerOn:
			s.card.PowerOn()
		case CtrlReset:
			s.card.Reset()
		case CtrlGetATR:
			// vpcd asks for the ATR on every presence poll (every 400 ms): no log.
			return s.card.ATR(), 0, true
		default:
			s.logf.printf("ignoring unknown vpcd control code %#02x", msg[0])
		}
		return nil, 0, false
	}
	if s.pinpad != nil {
		// A PIN request carries no PIN (the keypad types it); the command the keypad
		// builds is run by it and never logged.
		if resp, ok := s.pinpad.Handle(msg, s.card.Process); ok {
			if s.trace {
				s.logf.printf("< PIN pad request %#02x: %d bytes, SW %x", msg[0], len(resp), resp[max(0, len(resp)-2):])
			}
			return resp, 0, true
		}
	}
	if s.trace {
		s.logf.printf("> %s", s.redact.Command(msg))
	}
	resp := s.card.Process(msg)
	resp, delay = s.inject.Apply(msg, resp)
	if s.latency != nil {
		delay += s.latency()
	}
	if s.trace {
		s.logf.printf("< %s", s.redact.Response(resp))
	}
	return resp, delay, true
}

// isClosed tells a connection we closed ourselves (removal, shutdown) from a failure.
func isClosed(err error) bool {
	return errors.Is(err, net.ErrClosed) || errors.Is(err, io.EOF)
}

// quickAckReader re-arms TCP_QUICKACK before every read (see quickack_linux.go).
type quickAckReader struct{ c net.Conn }

func (q quickAckReader) Read(p []byte) (int, error) {
	quickAck(q.c)
	return q.c.Read(p)
}
