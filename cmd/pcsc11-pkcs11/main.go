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
	// One P: the module's Go code is short bursts between card exchanges, and every
	// exchange and wait is a cgo call into libpcsclite, which needs no P. With a P per
	// core the idle ones spin looking for work after each wake-up: measured on S3 with
	// the card's latency model, 4 times the CPU (1.6 ms per P-256 signature instead of
	// 0.4) for the same wall time, in the host's process. GOMAXPROCS in the host's
	// environment still decides when set.
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(1)
	}
}

// main is never called in a c-shared library.
func main() {}
