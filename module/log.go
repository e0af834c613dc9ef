package module

import (
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Logging is off unless PCSC11_DEBUG is set (to anything but "" or "0"). Lines go to
// stderr, or to the file named by PCSC11_LOG. Nothing logged may contain a PIN, PUK or
// key: callers log function names, handles and return codes only.
var logState struct {
	sync.Mutex
	on  bool
	out io.Writer
	f   *os.File
}

// setupLog reads the environment; it runs at C_Initialize (never in init(), which runs
// at dlopen on the loading thread).
func setupLog() {
	logState.Lock()
	defer logState.Unlock()
	v := Getenv("PCSC11_DEBUG")
	logState.on = v != "" && v != "0"
	callsOn.Store(logState.on)
	if !logState.on {
		return
	}
	logState.out = os.Stderr
	if p := Getenv("PCSC11_LOG"); p != "" && logState.f == nil {
		if f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600); err == nil {
			logState.f = f
		}
	}
	if logState.f != nil {
		logState.out = logState.f
	}
}

// Logf writes one debug line when logging is on.
func Logf(format string, args ...any) {
	logState.Lock()
	defer logState.Unlock()
	if !logState.on || logState.out == nil {
		return
	}
	fmt.Fprintf(logState.out, "pcsc11 %s [%d] %s\n", time.Now().Format("15:04:05.000"), os.Getpid(), fmt.Sprintf(format, args...))
}

// callsOn mirrors logState.on without the mutex: LogCall runs on every Cryptoki call.
var callsOn atomic.Bool

// LogCall writes one line per Cryptoki call when logging is on: its name and return
// value (what `pcsc11 trace` shows). Arguments are not logged: they may hold a PIN.
func LogCall(name string, rv uint64) {
	if !callsOn.Load() {
		return
	}
	if rv == 0 {
		Logf("%s → CKR_OK", name)
		return
	}
	Logf("%s → 0x%x", name, rv)
}

// LogAlways writes a line even when debugging is off: for panics recovered at the door.
func LogAlways(format string, args ...any) {
	logState.Lock()
	defer logState.Unlock()
	out := logState.out
	if out == nil {
		out = os.Stderr
	}
	fmt.Fprintf(out, "pcsc11 %s [%d] %s\n", time.Now().Format("15:04:05.000"), os.Getpid(), fmt.Sprintf(format, args...))
}
