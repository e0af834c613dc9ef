// Command pcsc11 shows PC/SC readers, slots, tokens and objects the way pcsc11's
// PKCS#11 module sees them, without going through PKCS#11: it tells a module problem
// from a reader or card problem, and gives scripts pkcs11: URIs and JSON.
//
// See docs/cli.md, or `pcsc11 help`.
package main

import (
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/pcsc11/pcsc11/config"
	"github.com/pcsc11/pcsc11/logging"
	"github.com/pcsc11/pcsc11/module"
)

func main() {
	// The CLI's log lines (the APDU trace of its own card exchanges, the module's
	// lines when it loads it) go through pcsc11's one handler, set from pcsc11's
	// settings (environment over configuration files) as the library's are.
	logging.Configure(config.Get)
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr, os.Getenv))
}

// run is the whole program with its outside world passed in: arguments, output
// streams and the environment. It returns the exit status.
func run(args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	a := &app{
		stdout:     stdout,
		stderr:     stderr,
		getenv:     getenv,
		openPCSC:   openPCSC,
		openDirect: openDirect,
		driver:     pivDriver,
		version:    module.Version,
		interrupt: func() (<-chan os.Signal, func()) {
			ch := make(chan os.Signal, 1)
			signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
			return ch, func() { signal.Stop(ch) }
		},
	}
	return a.run(args)
}
