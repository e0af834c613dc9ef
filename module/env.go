package module

import "github.com/pcsc11/pcsc11/config"

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
