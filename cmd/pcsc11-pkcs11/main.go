// Command pcsc11-pkcs11 is the package main of libpcsc11.so:
//
//	go build -buildmode=c-shared -o build/libpcsc11.so ./cmd/pcsc11-pkcs11
//
// The Cryptoki entry points live in module/cabi (imported for its exports); this
// package only chooses the slot manager the library builds at C_Initialize.
package main

import (
	"os"
	"runtime"

	_ "github.com/pcsc11/pcsc11/module/cabi" // the exported C_ functions

	"github.com/pcsc11/pcsc11/module"
)

// init runs at dlopen on the loader's thread: it records a function and sizes the
// runtime, no I/O.
func init() {
	module.Default.SetManagerFactory(newManager)
	// A few Ps, whatever the number of cores. The module's Go code is short bursts
	// between card exchanges, so one P would do for the work, and idle Ps spin looking
	// for work after each wake-up (measured on S3 with the card's latency model: one P
	// 0.4 ms CPU per P-256 signature, a P per core 1.6 ms). But every card exchange and
	// slot wait is a cgo call that keeps its P (in syscall state) until the runtime's
	// monitor thread takes it back, after up to 10 ms, and more when the host is loaded.
	// With one P, the slot monitor's wait and a card waiting seconds for a touch leave
	// a host thread entering the module waiting for that hand-over: C_GetInfo took
	// 20 ms at the 100th percentile in hwtests/cabi/nonblock.inc,
	// under 2 ms with 4 Ps (the monitor, two busy cards, and a free P for callers).
	// GOMAXPROCS in the host's environment still decides when set.
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(4)
	}
}

// main is never called in a c-shared library.
func main() {}
