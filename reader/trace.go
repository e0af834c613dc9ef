package reader

import (
	"fmt"
	"io"
	"time"

	"github.com/pcsc11/pcsc11/apdu"
	"github.com/pcsc11/pcsc11/logging"
)

// APDU trace: PCSC11_DEBUG=apdu (a comma-separated list may hold other words) logs
// every command and response with the reader name and timing, through pcsc11's one
// log handler (package logging: stderr, or the file named by PCSC11_LOG). What a line
// may show of the data is decided by apdu.Redactor alone: PINs, PUKs, management
// keys, private keys and the answers that may hold a secret are replaced by their
// length (docs/troubleshooting.md).

// setTraceOutput sends the trace (and every other log line) to w, for tests; nil
// turns it off.
func setTraceOutput(w io.Writer) {
	if w == nil {
		logging.SetOutput(io.Discard, false, false)
		return
	}
	logging.SetOutput(w, false, true)
}

// tracing reports whether the APDU trace is on (an atomic load when off).
func tracing() bool { return logging.APDU() }

func traceLine(format string, args ...any) {
	logging.Logger().Info(fmt.Sprintf(format, args...))
}

// tracer follows one connection's exchanges: its Redactor remembers the previous
// command (GET RESPONSE continues its answer, chained blocks its data).
type tracer struct {
	redact apdu.Redactor
}

// transmit logs one exchange. Called after the exchange, so nothing is formatted when
// tracing is off; the redactor is told a command went by unseen, so that a trace
// turned on mid-answer cannot show the rest of a secret one.
func (t *tracer) transmit(reader string, cmd, rsp []byte, err error, took time.Duration) {
	if !tracing() {
		t.redact.Unseen()
		return
	}
	traceLine("apdu %q > %s", reader, t.redact.Command(cmd))
	if err != nil {
		traceLine("apdu %q < error: %v (%s)", reader, err, took)
		return
	}
	traceLine("apdu %q < %s (%s)", reader, t.redact.Response(rsp), took)
}

// traceControl logs an SCardControl call by size only: PIN-pad structures are not
// secret, but there is no need to show them either.
func traceControl(reader string, code uint32, in, out []byte, err error, took time.Duration) {
	if !tracing() {
		return
	}
	if err != nil {
		traceLine("ctl  %q %08x in=%d bytes: error: %v (%s)", reader, code, len(in), err, took)
		return
	}
	traceLine("ctl  %q %08x in=%d bytes out=%d bytes (%s)", reader, code, len(in), len(out), took)
}

// Traced wraps a Card that does not come through pcsc-lite (the in-process virtual
// card) so that its exchanges reach the APDU trace exactly as a Conn's do.
func Traced(c Card, name string) Card { return &tracedCard{Card: c, name: name} }

type tracedCard struct {
	Card
	name string
	t    tracer
}

func (c *tracedCard) Transmit(cmd []byte) ([]byte, error) {
	start := time.Now()
	rsp, err := c.Card.Transmit(cmd)
	c.t.transmit(c.name, cmd, rsp, err, time.Since(start))
	return rsp, err
}

func (c *tracedCard) Control(code uint32, in []byte) ([]byte, error) {
	start := time.Now()
	out, err := c.Card.Control(code, in)
	traceControl(c.name, code, in, out, err, time.Since(start))
	return out, err
}
