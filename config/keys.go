// Package config is pcsc11's one settings lookup: built-in defaults, then the
// configuration files (/etc/pcsc11/pcsc11.conf, then $XDG_CONFIG_HOME/pcsc11/pcsc11.conf),
// then the environment, each overriding the one before. Every setting is a row of Keys;
// `pcsc11 info`, docs/configuration.md and a test that scans the sources for PCSC11_
// names are checked against that one table.
//
// The library reads the files once, at C_Initialize (Reload). A file with an error is
// reported with its line number and ignored as a whole: the library goes on with the
// other layers, so a bad configuration never stops a browser from starting.
package config

import "strings"

// Key is one setting: its name in a file, its environment variable, what it is when
// set nowhere, and what it does.
type Key struct {
	Name    string // in pcsc11.conf: lower case, e.g. pin_cache
	Env     string // the environment variable: PCSC11_ + upper case name
	Default string // what applies when no layer sets it (for people; code decides)
	Meaning string
}

// Keys are all the settings, sorted by name. A setting is added here and read through
// Get (module.Getenv and piv.Getenv are Get); TestEverySettingIsAKey fails when a
// PCSC11_ variable read in the code has no row, or a row is read nowhere.
var Keys = []Key{
	{"cache", "PCSC11_CACHE", "on", "0/off: no disk cache of certificates (docs/cache.md)"},
	{"cache_dir", "PCSC11_CACHE_DIR", "$XDG_CACHE_HOME/pcsc11", "the disk cache's directory (~/.cache/pcsc11 without XDG_CACHE_HOME)"},
	{"card_timeout", "PCSC11_CARD_TIMEOUT", "45s", "a duration or seconds; 0/off: none. How long one call's card conversation may take before the card counts as not answering (docs/troubleshooting.md)"},
	{"debug", "PCSC11_DEBUG", "off", "module log on when set (not 0); the word apdu adds an APDU trace"},
	{"log", "PCSC11_LOG", "stderr", "file for the log and the APDU trace"},
	{"pin_cache", "PCSC11_PIN_CACHE", "session", "session, off, or a duration: how long the module keeps a verified PIN (docs/pin-cache.md)"},
	{"pin_cache_replays", "PCSC11_PIN_CACHE_REPLAYS", "10", "how often one login's cached PIN may be verified again: a number, unlimited, or 0 (keep none)"},
	{"pinpad", "PCSC11_PINPAD", "on", "0/off: ignore readers' PIN pads (docs/pinpad.md)"},
	{"pinpad_only", "PCSC11_PINPAD_ONLY", "off", "1/on: on a PIN-pad reader refuse PINs typed on the host"},
	{"reader_allow", "PCSC11_READER_ALLOW", "(all)", "comma-separated reader name patterns (* and ?, any case): only matching readers become slots"},
	{"reader_deny", "PCSC11_READER_DENY", "(none)", "comma-separated reader name patterns: matching readers never become slots (deny wins)"},
	{"strict_threads", "PCSC11_STRICT_THREADS", "off", "1/on: refuse CKF_LIBRARY_CANT_CREATE_OS_THREADS with CKR_NEED_TO_CREATE_THREADS"},
	{"touch_notify", "PCSC11_TOUCH_NOTIFY", "off", "1/on: a desktop notification asks for a touch when the key waits for one (docs/touch.md)"},
}

// EnvOnly are variables that matter to pcsc11 but are read by someone else (pcsc-lite's
// client library, the Go runtime), so a file cannot set them. `pcsc11 info` shows them.
var EnvOnly = []Key{
	{"", "PCSCLITE_CSOCK_NAME", "/run/pcscd/pcscd.comm", "pcsc-lite client: the pcscd socket"},
	{"", "GOMAXPROCS", "4 in the module", "Go runtime threads running Go code at once"},
}

// ByName finds a key by its file name.
func ByName(name string) (Key, bool) {
	for _, k := range Keys {
		if k.Name == name {
			return k, true
		}
	}
	return Key{}, false
}

// ByEnv finds a key by its environment variable.
func ByEnv(env string) (Key, bool) {
	if !strings.HasPrefix(env, "PCSC11_") {
		return Key{}, false
	}
	for _, k := range Keys {
		if k.Env == env {
			return k, true
		}
	}
	return Key{}, false
}
