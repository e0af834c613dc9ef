package reader

import (
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/pcsc11/pcsc11/config"
)

// APDU trace: PCSC11_DEBUG=apdu (a comma-separated list may hold other words) logs
// every command and response with the reader name and timing, to stderr or to the file
// named by PCSC11_LOG. Secrets never reach it: the data of commands that carry PINs,
// PUKs or key material, and the answers that may hold secrets, are replaced by their
// length.

// traceSink is where trace lines go; nil when tracing is off.
var (
	traceOnce sync.Once
	traceMu   sync.Mutex
	traceOut  io.Writer
)

// tracer returns the trace writer, reading the environment on first use.
func tracer() io.Writer {
	traceOnce.Do(func() {
		if !debugWants(config.Get("PCSC11_DEBUG"), "apdu") {
			return
		}
		traceOut = os.Stderr
		if path := config.Get("PCSC11_LOG"); path != "" {
			// 0600: even redacted traces say which keys a user has and uses.
			f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
			if err == nil {
				traceOut = f
			} else {
				fmt.Fprintf(os.Stderr, "pcsc11: PCSC11_LOG: %v; tracing to stderr\n", err)
			}
		}
	})
	return traceOut
}

// setTraceOutput replaces the trace writer (tests); nil turns tracing off.
func setTraceOutput(w io.Writer) {
	traceOnce.Do(func() {})
	traceMu.Lock()
	traceOut = w
	traceMu.Unlock()
}

func debugWants(list, word string) bool {
	for _, f := range strings.FieldsFunc(list, func(r rune) bool { return r == ',' || r == ' ' }) {
		if strings.EqualFold(f, word) || f == "all" {
			return true
		}
	}
	return false
}

func traceLine(format string, args ...any) {
	w := tracer()
	if w == nil {
		return
	}
	traceMu.Lock()
	defer traceMu.Unlock()
	if traceOut == nil {
		return
	}
	fmt.Fprintf(traceOut, "%s pcsc11 "+format+"\n",
		append([]any{time.Now().UTC().Format("15:04:05.000000")}, args...)...)
}

// apduRedactor remembers, per connection, whether the answers now arriving may hold a
// secret: GET RESPONSE continues the answer of the command before it.
type apduRedactor struct {
	secretAnswer bool
}

// Instructions whose command data is always a secret.
const (
	insVerify           = 0x20 // PIN
	insChangeReference  = 0x24 // old and new PIN/PUK
	insResetRetry       = 0x2C // PUK and new PIN
	insGeneralAuth      = 0x87 // with key 9B: management key challenge/response
	insGetResponse      = 0xC0
	insImportKey        = 0xFE // YubiKey: private key
	insSetManagementKey = 0xFF // YubiKey: new management key
	keyManagement       = 0x9B
)

// command classifies cmd: whether its data must be hidden, and whether its answer must.
func (r *apduRedactor) command(cmd []byte) (hideData, hideAnswer bool) {
	if len(cmd) < 4 {
		r.secretAnswer = false
		return false, false
	}
	ins, p2 := cmd[1], cmd[3]
	switch ins {
	case insVerify, insChangeReference, insResetRetry, insImportKey, insSetManagementKey:
		hideData = true
	case insGeneralAuth:
		// Key 9B: both halves of the management-key handshake are secret. Other keys:
		// the input (a hash, a peer's public point, a ciphertext) is not, but the
		// answer may be (an ECDH shared secret, a decrypted key), so hide all answers.
		hideData = p2 == keyManagement
		hideAnswer = true
	case insGetResponse:
		hideAnswer = r.secretAnswer
	}
	r.secretAnswer = hideAnswer
	return hideData, hideAnswer
}

// formatCommand renders cmd for the trace, hiding its data when asked.
func formatCommand(cmd []byte, hideData bool) string {
	if !hideData || len(cmd) <= 4 {
		return hex.EncodeToString(cmd)
	}
	return fmt.Sprintf("%s [%d bytes redacted]", hex.EncodeToString(cmd[:4]), len(cmd)-4)
}

// formatResponse renders rsp; a hidden answer keeps only its status word.
func formatResponse(rsp []byte, hide bool) string {
	if !hide || len(rsp) <= 2 {
		return hex.EncodeToString(rsp)
	}
	return fmt.Sprintf("[%d bytes redacted] %s", len(rsp)-2, hex.EncodeToString(rsp[len(rsp)-2:]))
}

// traceTransmit logs one exchange. Called after the exchange, so nothing is formatted
// when tracing is off.
func (r *apduRedactor) traceTransmit(reader string, cmd, rsp []byte, err error, took time.Duration) {
	hideData, hideAnswer := r.command(cmd)
	if tracer() == nil {
		return
	}
	traceLine("apdu %q > %s", reader, formatCommand(cmd, hideData))
	if err != nil {
		traceLine("apdu %q < error: %v (%s)", reader, err, took)
		return
	}
	traceLine("apdu %q < %s (%s)", reader, formatResponse(rsp, hideAnswer), took)
}

// traceControl logs an SCardControl call by size only: PIN-pad structures are not
// secret, but there is no need to show them either.
func traceControl(reader string, code uint32, in, out []byte, err error, took time.Duration) {
	if tracer() == nil {
		return
	}
	if err != nil {
		traceLine("ctl  %q %08x in=%d bytes: error: %v (%s)", reader, code, len(in), err, took)
		return
	}
	traceLine("ctl  %q %08x in=%d bytes out=%d bytes (%s)", reader, code, len(in), len(out), took)
}
