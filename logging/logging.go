// Package logging owns pcsc11's one log/slog handler. Every log line of the module
// (libpcsc11.so), the CLI and the virtual card goes through Logger, so there is one
// place that decides where lines go, which are written, and what a line looks like.
//
// Settings (docs/troubleshooting.md):
//
//	PCSC11_DEBUG  unset, "", "0" or "off": only errors (a panic recovered at the C door) and
//	              the lines a program always writes (the virtual card's status);
//	              anything else: debug lines too (every Cryptoki call, what failed and
//	              why). The word "apdu" (or "all") in a comma-separated list adds the
//	              APDU trace (package reader, redacted by apdu.Redactor).
//	PCSC11_LOG    a file to append the lines to (created 0600), instead of stderr.
//
// Nothing secret may be handed to a logger: callers log names, handles, sizes, status
// words and return codes. The APDU trace is the one place where card data is logged,
// and only what apdu.Redactor lets through.
package logging

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pcsc11/pcsc11/config"
)

// state is the handler's configuration, shared by every logger derived from it.
var state struct {
	mu       sync.Mutex
	out      io.Writer // nil: stderr
	file     *os.File  // the PCSC11_LOG file, when open
	path     string    // its name
	program  string
	explicit bool      // Configure or SetOutput ran: no lazy environment read
	once     sync.Once // the lazy read for programs that never call Configure
}

var (
	debugOn atomic.Bool
	apduOn  atomic.Bool
)

// logger is the one logger; its handler reads state on every line.
var logger = slog.New(handler{})

// Logger is the logger every pcsc11 package writes to.
func Logger() *slog.Logger { return logger }

// SetProgram names the program in each line ("pcsc11", "pcsc11-vpiv").
func SetProgram(name string) {
	state.mu.Lock()
	state.program = name
	state.mu.Unlock()
}

// Configure reads PCSC11_DEBUG and PCSC11_LOG through getenv. The module calls it at
// C_Initialize (never at load time) with its own Getenv; programs call it at start.
// It may run again: the log file is reopened only when its name changed.
func Configure(getenv func(string) string) {
	state.once.Do(func() {}) // an explicit configuration wins over the lazy one
	state.mu.Lock()
	defer state.mu.Unlock()
	state.explicit = true
	configure(getenv)
}

// configure applies the environment (state.mu held).
func configure(getenv func(string) string) {
	debug := getenv("PCSC11_DEBUG")
	switch strings.ToLower(strings.TrimSpace(debug)) {
	case "", "0", "off", "no", "false":
		debugOn.Store(false)
	default:
		debugOn.Store(true)
	}
	apduOn.Store(Wants(debug, "apdu"))
	state.out = nil
	path := getenv("PCSC11_LOG")
	if path != state.path && state.file != nil {
		state.file.Close()
		state.file, state.path = nil, ""
	}
	if path != "" && state.file == nil {
		// 0600: even a redacted trace says which keys a user has and uses.
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
		if err != nil {
			fmt.Fprintf(os.Stderr, "pcsc11: PCSC11_LOG: %v; logging to stderr\n", err)
		} else {
			state.file, state.path = f, path
		}
	}
	if state.file != nil {
		state.out = state.file
	}
}

// lazy configures from pcsc11's settings (package config: environment over files) on
// first use, for programs that use pcsc11's packages without calling Configure.
func lazy() {
	state.once.Do(func() {
		state.mu.Lock()
		defer state.mu.Unlock()
		if !state.explicit {
			configure(config.Get)
		}
	})
}

// Debug reports whether debug lines are written (an atomic load when off).
func Debug() bool {
	lazy()
	return debugOn.Load()
}

// APDU reports whether the APDU trace is on.
func APDU() bool {
	lazy()
	return apduOn.Load()
}

// SetOutput sends every line to w with the given switches, for tests; it returns a
// function that restores the previous configuration.
func SetOutput(w io.Writer, debug, apdu bool) (restore func()) {
	state.once.Do(func() {})
	state.mu.Lock()
	oldOut, oldExplicit := state.out, state.explicit
	oldDebug, oldAPDU := debugOn.Load(), apduOn.Load()
	state.out, state.explicit = w, true
	debugOn.Store(debug)
	apduOn.Store(apdu)
	state.mu.Unlock()
	return func() {
		state.mu.Lock()
		state.out, state.explicit = oldOut, oldExplicit
		debugOn.Store(oldDebug)
		apduOn.Store(oldAPDU)
		state.mu.Unlock()
	}
}

// Wants reports whether the comma- or space-separated list holds word (or "all").
func Wants(list, word string) bool {
	for _, f := range strings.FieldsFunc(list, func(r rune) bool { return r == ',' || r == ' ' }) {
		if strings.EqualFold(f, word) || strings.EqualFold(f, "all") {
			return true
		}
	}
	return false
}

// Debugf writes a debug line (only when PCSC11_DEBUG is on; nothing is formatted
// otherwise).
func Debugf(format string, args ...any) {
	if !Debug() {
		return
	}
	logger.Debug(fmt.Sprintf(format, args...))
}

// Infof writes a line that a program always shows (the virtual card's status).
func Infof(format string, args ...any) {
	logger.Info(fmt.Sprintf(format, args...))
}

// Errorf writes a line even when debugging is off (a panic recovered at the C door).
func Errorf(format string, args ...any) {
	logger.Error(fmt.Sprintf(format, args...))
}

// handler is the slog.Handler: one readable line per record,
//
//	15:04:05.000000 pcsc11[1234] message key=value ...
//
// with the level named only above info. Debug records pass only when debugging is on.
type handler struct {
	attrs []slog.Attr
	group string
}

func (h handler) Enabled(_ context.Context, l slog.Level) bool {
	return l >= slog.LevelInfo || Debug()
}

func (h handler) Handle(_ context.Context, r slog.Record) error {
	lazy()
	var b strings.Builder
	t := r.Time
	if t.IsZero() {
		t = time.Now()
	}
	state.mu.Lock()
	defer state.mu.Unlock()
	prog := state.program
	if prog == "" {
		prog = "pcsc11"
	}
	b.WriteString(t.Format("15:04:05.000000"))
	b.WriteByte(' ')
	b.WriteString(prog)
	b.WriteByte('[')
	b.WriteString(strconv.Itoa(os.Getpid()))
	b.WriteString("] ")
	if r.Level > slog.LevelInfo {
		b.WriteString(r.Level.String())
		b.WriteByte(' ')
	}
	b.WriteString(r.Message)
	for _, a := range h.attrs {
		writeAttr(&b, h.group, a)
	}
	r.Attrs(func(a slog.Attr) bool {
		writeAttr(&b, h.group, a)
		return true
	})
	b.WriteByte('\n')
	out := state.out
	if out == nil {
		out = os.Stderr
	}
	_, err := io.WriteString(out, b.String())
	return err
}

func writeAttr(b *strings.Builder, group string, a slog.Attr) {
	a.Value = a.Value.Resolve()
	if a.Equal(slog.Attr{}) {
		return
	}
	key := a.Key
	if group != "" {
		key = group + "." + key
	}
	b.WriteByte(' ')
	b.WriteString(key)
	b.WriteByte('=')
	v := a.Value.String()
	if v == "" || strings.ContainsAny(v, " \t\n\"=") {
		v = strconv.Quote(v)
	}
	b.WriteString(v)
}

func (h handler) WithAttrs(as []slog.Attr) slog.Handler {
	return handler{attrs: append(append([]slog.Attr(nil), h.attrs...), as...), group: h.group}
}

func (h handler) WithGroup(name string) slog.Handler {
	if h.group != "" {
		name = h.group + "." + name
	}
	return handler{attrs: h.attrs, group: name}
}
