package module

import (
	"strconv"
	"strings"
	"time"

	"github.com/pcsc11/pcsc11/config"
)

// Getenv reads the module's settings (PCSC11_*) through the one lookup of package
// config: the environment, over the configuration files (read at C_Initialize), over
// the defaults (docs/configuration.md). A name that is not a setting is the
// environment's. The environment layer is the C library's getenv in libpcsc11.so (see
// module/cabi): Go's copy is taken at dlopen, and a host may set a variable after
// dlopen and before C_Initialize. Tests replace Getenv.
var Getenv = config.Get

// loadConfig reads the configuration files again: at every C_Initialize, before any
// setting is read. A file with an error is not applied; the error is returned for the
// log, and the library goes on.
func loadConfig() []error { return config.Reload() }

// logConfigErrors reports files that were not applied, always (not only with
// PCSC11_DEBUG): a user who wrote a file must be able to learn why it does nothing.
// The text names the file and line, never a value.
func logConfigErrors(errs []error) {
	for _, err := range errs {
		LogAlways("configuration not applied, going on without it: %v", err)
	}
}

// CardBudget is the budget of one card conversation (one Cryptoki call's APDUs and
// PIN-pad requests) from card_timeout (PCSC11_CARD_TIMEOUT): a Go duration ("20s", "1m") or a number
// of seconds; unset or unreadable: reader.DefaultBudget (the caller's zero); "0" or
// "off": no bound. See docs/troubleshooting.md.
func CardBudget() time.Duration {
	v := strings.TrimSpace(strings.ToLower(Getenv("PCSC11_CARD_TIMEOUT")))
	switch v {
	case "":
		return 0
	case "0", "off":
		return -1
	}
	if d, err := time.ParseDuration(v); err == nil && d > 0 {
		return d
	}
	if n, err := strconv.Atoi(v); err == nil && n > 0 {
		return time.Duration(n) * time.Second
	}
	Logf("PCSC11_CARD_TIMEOUT=%q is not a duration; using the default", v)
	return 0
}
