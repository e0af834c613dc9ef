package main

import (
	"fmt"
	"runtime"
	"strings"

	"github.com/pcsc11/pcsc11/config"
)

var infoCmd = &command{
	name:    "info",
	summary: "version, PC/SC status, reader count, configuration in effect",
	usage:   "info [--json]",
	help: `Shows pcsc11's version, whether pcscd answers, how many readers and cards it sees,
and the configuration libpcsc11.so would use in a program started from this shell:
every setting's value and where it came from (default, /etc/pcsc11/pcsc11.conf or
$XDG_CONFIG_HOME/pcsc11/pcsc11.conf with its line, or the environment), and the files
that have an error and are therefore not applied (docs/configuration.md).

flags:
  --json   one JSON object (fields in docs/cli.md)

Exits 3 when pcscd cannot be reached, else 0 (also with no reader).
`,
	run: runInfo,
}

type infoJSON struct {
	Version   string            `json:"version"`
	GoVersion string            `json:"go_version"`
	PCSC      pcscJSON          `json:"pcsc"`
	Env       map[string]string `json:"env"`
	// Config is every setting with the value in effect and where it came from.
	Config       []settingJSON `json:"config"`
	ConfigFiles  []string      `json:"config_files"`
	ConfigErrors []string      `json:"config_errors"`
}

type settingJSON struct {
	Name   string `json:"name"`
	Env    string `json:"env"`
	Value  string `json:"value"`
	Source string `json:"source"` // "default", "environment" or FILE:LINE
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
	if err := a.parseNoArgs(c, fs, args); err != nil {
		return err
	}
	info := infoJSON{Version: a.version, GoVersion: runtime.Version(), Env: map[string]string{},
		PCSC: pcscJSON{Names: []string{}}}
	info.Config, info.ConfigFiles, info.ConfigErrors = a.settings()
	for _, k := range append(append([]config.Key(nil), config.Keys...), config.EnvOnly...) {
		if val := a.getenv(k.Env); val != "" {
			info.Env[k.Env] = val
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
	fmt.Fprintf(w, "configuration (files: %s; the environment overrides them):\n", strings.Join(i.ConfigFiles, ", "))
	for _, e := range i.ConfigErrors {
		fmt.Fprintf(w, "  NOT APPLIED: %s\n", oneLine(e))
	}
	for _, s := range i.Config {
		k, _ := config.ByName(s.Name)
		fmt.Fprintf(w, "  %-15s %-22s %-30s %s\n", s.Name, oneLine(s.Value), s.Source, k.Meaning)
	}
	fmt.Fprintln(w, "environment only (read by pcsc-lite, the Go runtime):")
	for _, k := range config.EnvOnly {
		val, ok := i.Env[k.Env]
		if !ok {
			val = "(unset: " + k.Default + ")"
		}
		fmt.Fprintf(w, "  %-20s %s\n", k.Env, oneLine(val))
	}
}

// settings is the configuration as libpcsc11.so would read it in a program started
// from here: every key's value (its default's description when no layer sets it) and
// source, the files looked for, and the files not applied.
func (a *app) settings() (out []settingJSON, files, errs []string) {
	s := config.Load(a.getenv)
	for _, k := range config.Keys {
		v, src := s.Lookup(k.Env)
		if src.Kind == "default" {
			v = k.Default
		}
		out = append(out, settingJSON{Name: k.Name, Env: k.Env, Value: v, Source: src.String()})
	}
	for _, err := range s.Errors {
		errs = append(errs, err.Error())
	}
	return out, append([]string{}, s.Files...), append([]string{}, errs...)
}
