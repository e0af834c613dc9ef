// Command pcsc11-pkcs11 is the package main of libpcsc11.so:
//
//	go build -buildmode=c-shared -o build/libpcsc11.so ./cmd/pcsc11-pkcs11
//
// The Cryptoki entry points live in module/cabi (imported for its exports); this
// package only chooses the slot manager the library builds at C_Initialize.
package main

import (
	_ "github.com/pcsc11/pcsc11/module/cabi" // the exported C_ functions

	"github.com/pcsc11/pcsc11/module"
)

// init runs at dlopen on the loader's thread: it only records a function, no I/O.
func init() {
	module.Default.SetManagerFactory(newManager)
}

// main is never called in a c-shared library.
func main() {}
