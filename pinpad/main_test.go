package pinpad_test

import (
	"os"
	"testing"
)

// The PIV driver's disk cache stays off: tests must not read or write the user's
// ~/.cache/pcsc11 (the driver's own tests cover the cache).
func TestMain(m *testing.M) {
	os.Setenv("PCSC11_CACHE", "0")
	os.Exit(m.Run())
}
