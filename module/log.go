package module

import "github.com/pcsc11/pcsc11/logging"

// The module logs through pcsc11's one handler (package logging): debug lines only
// when PCSC11_DEBUG is set (to anything but "" or "0"), to stderr or the file named
// by PCSC11_LOG. Nothing logged may contain a PIN, PUK or key: callers log function
// names, handles and return codes only; the APDU trace is redacted by apdu.Redactor.

// setupLog reads the environment through Getenv; it runs at C_Initialize (never in
// init(), which runs at dlopen on the loading thread).
func setupLog() { logging.Configure(Getenv) }

// Logf writes one debug line when logging is on.
func Logf(format string, args ...any) { logging.Debugf(format, args...) }

// LogCall writes one line per Cryptoki call when logging is on: its name and return
// value (what `pcsc11 trace` shows). Arguments are not logged: they may hold a PIN.
func LogCall(name string, rv uint64) {
	if !logging.Debug() {
		return
	}
	if rv == 0 {
		Logf("%s → CKR_OK", name)
		return
	}
	Logf("%s → 0x%x", name, rv)
}

// LogAlways writes a line even when debugging is off: for panics recovered at the door.
func LogAlways(format string, args ...any) { logging.Errorf(format, args...) }
