package main

import (
	"fmt"
	"runtime"
)

var infoCmd = &command{
	name:    "info",
	summary: "version, PC/SC status, reader count, configuration in effect",
	usage:   "info [--json]",
	help: `Shows pcsc11's version, whether pcscd answers, how many readers and cards it sees,
and the environment variables that configure libpcsc11.so (as they are set for this
process: an application started from the same shell sees the same values).

flags:
  --json   one JSON object (fields in docs/cli.md)

Exits 3 when pcscd cannot be reached, else 0 (also with no reader).
`,
	run: runInfo,
}

// configVars are the variables the module and the PC/SC client read, with what they do.
var configVars = []struct{ name, meaning string }{
	{"PCSC11_CACHE", "0/off: no disk cache of certificates (docs/cache.md); on by default"},
	{"PCSC11_CACHE_DIR", "the disk cache's directory (default $XDG_CACHE_HOME/pcsc11, ~/.cache/pcsc11)"},
	{"PCSC11_DEBUG", "module log on when set (not 0); the word apdu adds an APDU trace"},
	{"PCSC11_LOG", "file for the log and trace (default stderr)"},
	{"PCSC11_PIN_CACHE", "session (default), off, or a duration: how long the module keeps a verified PIN"},
	{"PCSC11_STRICT_THREADS", "1: refuse CKF_LIBRARY_CANT_CREATE_OS_THREADS with CKR_NEED_TO_CREATE_THREADS"},
	{"PCSCLITE_CSOCK_NAME", "pcsc-lite client: the pcscd socket (default /run/pcscd/pcscd.comm)"},
}

type infoJSON struct {
	Version   string            `json:"version"`
	GoVersion string            `json:"go_version"`
	PCSC      pcscJSON          `json:"pcsc"`
	Env       map[string]string `json:"env"`
}

type pcscJSON struct {
	Reachable bool     `json:"reachable"`
	Error     string   `json:"error,omitempty"`
	Readers   int      `json:"readers"`
	Cards     int      `json:"cards"`
	Names     []string `json:"reader_names"`
}

func runInfo(a *app, c *command, args []string) error {
	fs := a.flags(c)
	asJSON := jsonFlag(fs)
	if err := a.parse(c, fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErr("info takes no arguments")
	}
	info := infoJSON{Version: a.version, GoVersion: runtime.Version(), Env: map[string]string{},
		PCSC: pcscJSON{Names: []string{}}}
	for _, v := range configVars {
		if val := a.getenv(v.name); val != "" {
			info.Env[v.name] = val
		}
	}
	var failure error
	b, err := a.connect()
	if err == nil {
		states, werr := b.WaitChange(nil, 0)
		b.Close()
		if werr != nil {
			err = noReaderErr(fmt.Errorf("cannot read reader states: %v", werr))
		}
		for _, st := range states {
			info.PCSC.Names = append(info.PCSC.Names, st.Name)
			if st.Present {
				info.PCSC.Cards++
			}
		}
		info.PCSC.Readers = len(states)
	}
	if err != nil {
		info.PCSC.Error, failure = err.Error(), err
	} else {
		info.PCSC.Reachable = true
	}
	if *asJSON {
		if err := a.writeJSON(info); err != nil {
			return err
		}
	} else {
		a.printInfo(info)
	}
	if failure != nil {
		return &cliError{code: exitNoReader, err: errQuiet}
	}
	return nil
}

func (a *app) printInfo(i infoJSON) {
	w := a.stdout
	fmt.Fprintf(w, "pcsc11 %s (%s)\n", i.Version, i.GoVersion)
	if i.PCSC.Reachable {
		fmt.Fprintf(w, "pcscd:   reachable, %d reader(s), %d with a card\n", i.PCSC.Readers, i.PCSC.Cards)
		for _, n := range i.PCSC.Names {
			fmt.Fprintf(w, "         %s\n", oneLine(n))
		}
	} else {
		fmt.Fprintf(w, "pcscd:   NOT reachable: %s\n", oneLine(i.PCSC.Error))
	}
	fmt.Fprintln(w, "configuration (environment):")
	for _, v := range configVars {
		val, ok := i.Env[v.name]
		if !ok {
			val = "(unset)"
		}
		fmt.Fprintf(w, "  %-22s %-10s %s\n", v.name, oneLine(val), v.meaning)
	}
}
