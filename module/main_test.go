package module

import (
	"os"
	"testing"
)

// The PIV driver's disk cache is off in this package's tests (the module over the
// driver and the virtual card: piv_test.go, touch_test.go), as in slot/piv's, so that
// no test reads or writes a real user's ~/.cache/pcsc11 and their APDU counts do not
// depend on what an earlier test or program left there.
func TestMain(m *testing.M) {
	// Every test checks the lock order: a card call made under the library lock panics
	// (locks.go).
	lockChecks = true
	os.Setenv("PCSC11_CACHE", "0")
	os.Unsetenv("PCSC11_CACHE_DIR")
	os.Exit(m.Run())
}
