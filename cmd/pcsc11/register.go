package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/pcsc11/pcsc11/cmd/pcsc11/nssdb"
)

// moduleName is the name the module gets in NSS databases and the Firefox policy.
const moduleName = "pcsc11"

var registerCmd = &command{
	name:    "register",
	summary: "add libpcsc11.so to the NSS databases of Firefox, Thunderbird and Chromium",
	usage:   "register [--module PATH] [--nssdb DIR]... [--system [--policies FILE]] [--dry-run] [--json]",
	help: `Adds libpcsc11.so as the module "pcsc11" to every NSS database of the current user:
each Firefox and Thunderbird profile (profiles.ini in ~/.mozilla/firefox or
~/.config/mozilla/firefox, ~/.thunderbird; also the Snap and Flatpak places)
and Chromium's ~/.pki/nssdb (created with certutil when missing). Close the programs
first: they read their module list when they start.

Running it again changes nothing. An earlier entry of pcsc11 (another path, the
"friendly" mark, duplicates) is replaced by one plain entry: register never marks
slots friendly, because Firefox then skips the login and stalls in the TLS handshake
(docs/firefox.md).

flags:
  --module PATH    the library to register (default: the installed
                   /usr/lib/<multiarch>/pkcs11/libpcsc11.so, else libpcsc11.so beside
                   this program)
  --nssdb DIR      only this NSS database (sql:DIR or DIR; repeatable) instead of the
                   user's
  --system         write the Firefox enterprise policy instead (SecurityDevices in
                   /etc/firefox/policies/policies.json, for every user; needs root)
  --policies FILE  the policy file for --system
  --dry-run        say what would change, change nothing
  --json           one JSON object: {"module": …, "changes": [{"app", "path", "change", "error"}]}

Exits 1 when a database could not be changed (the others are still done).
`,
	run: func(a *app, c *command, args []string) error { return runRegister(a, c, args, true) },
}

var unregisterCmd = &command{
	name:    "unregister",
	summary: "remove libpcsc11.so from those NSS databases (or the Firefox policy)",
	usage:   "unregister [--nssdb DIR]... [--system [--policies FILE]] [--dry-run] [--json]",
	help: `Removes every entry of pcsc11 (by name, or by a library called libpcsc11.so) from the
NSS databases register writes to, or with --system from the Firefox policy. Databases
without it are left alone. Flags as for register.
`,
	run: func(a *app, c *command, args []string) error { return runRegister(a, c, args, false) },
}

type registerJSON struct {
	Module  string       `json:"module,omitempty"`
	DryRun  bool         `json:"dry_run"`
	Changes []changeJSON `json:"changes"`
}

type changeJSON struct {
	App    string `json:"app"`
	Path   string `json:"path"`
	Change string `json:"change,omitempty"`
	Error  string `json:"error,omitempty"`
}

// multiFlag collects a repeatable string flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func runRegister(a *app, c *command, args []string, add bool) error {
	fs := a.flags(c)
	asJSON := jsonFlag(fs)
	var dbs multiFlag
	fs.Var(&dbs, "nssdb", "NSS database")
	system := fs.Bool("system", false, "Firefox policy")
	policyFile := fs.String("policies", nssdb.FirefoxPolicies, "policy file")
	dry := fs.Bool("dry-run", false, "change nothing")
	module := ""
	if add {
		fs.StringVar(&module, "module", "", "library")
	}
	if err := a.parseNoArgs(c, fs, args); err != nil {
		return err
	}
	if *system && len(dbs) > 0 {
		return usageErr("--system and --nssdb exclude each other")
	}
	out := registerJSON{DryRun: *dry, Changes: []changeJSON{}}
	if add {
		lib, err := a.moduleToRegister(module)
		if err != nil {
			return err
		}
		out.Module = lib
	}
	record := func(app, path string, ch nssdb.Change, err error) {
		cj := changeJSON{App: app, Path: path, Change: string(ch)}
		if err != nil {
			cj.Change, cj.Error = "", err.Error()
		}
		out.Changes = append(out.Changes, cj)
	}
	switch {
	case *system:
		if add {
			ch, err := nssdb.RegisterPolicy(*policyFile, moduleName, out.Module, *dry)
			record("firefox-policy", *policyFile, ch, err)
		} else {
			ch, err := nssdb.UnregisterPolicy(*policyFile, moduleName, *dry)
			record("firefox-policy", *policyFile, ch, err)
		}
	default:
		targets, err := a.registerTargets(dbs)
		if err != nil {
			return err
		}
		for _, db := range targets {
			var ch nssdb.Change
			var err error
			if add {
				ch, err = nssdb.Register(db.Dir, moduleName, out.Module, *dry)
				if ch == nssdb.Missing && db.App == "chromium" {
					ch, err = a.createChromiumDB(db.Dir, out.Module, *dry)
				}
			} else {
				ch, err = nssdb.Unregister(db.Dir, moduleName, *dry)
			}
			if ch == nssdb.Missing && db.App == "nssdb" && err == nil {
				err = fmt.Errorf("no NSS database in %s (create one: certutil -N -d sql:%s --empty-password)", db.Dir, db.Dir)
			}
			record(db.App, db.Dir, ch, err)
		}
	}
	failed := 0
	for _, ch := range out.Changes {
		if ch.Error != "" {
			failed++
		}
	}
	if *asJSON {
		if err := a.writeJSON(out); err != nil {
			return err
		}
	} else {
		a.printRegister(out, add)
	}
	if failed > 0 {
		return &cliError{code: exitError, err: errQuiet}
	}
	return nil
}

func (a *app) printRegister(out registerJSON, add bool) {
	w := a.stdout
	if out.Module != "" {
		fmt.Fprintf(w, "module: %s\n", out.Module)
	}
	would, changed := "", false
	if out.DryRun {
		would = "would be "
	}
	for _, c := range out.Changes {
		switch {
		case c.Error != "":
			fmt.Fprintf(w, "%-15s %-15s %s: %s\n", "FAILED", c.App, c.Path, oneLine(c.Error))
		case c.Change == string(nssdb.Unchanged) || c.Change == string(nssdb.NotPresent) || c.Change == string(nssdb.Missing):
			fmt.Fprintf(w, "%-15s %-15s %s\n", c.Change, c.App, c.Path)
		default:
			changed = true
			fmt.Fprintf(w, "%-15s %-15s %s\n", would+c.Change, c.App, c.Path)
		}
	}
	if len(out.Changes) == 0 {
		fmt.Fprintln(w, "no NSS database found")
	} else if changed && add && !out.DryRun {
		fmt.Fprintln(w, "restart the programs (Firefox, Thunderbird, Chromium) to load the module")
	}
}

// registerTargets: the databases given with --nssdb, else the user's.
func (a *app) registerTargets(given []string) ([]nssdb.DB, error) {
	if len(given) > 0 {
		var out []nssdb.DB
		for _, d := range given {
			d = strings.TrimPrefix(d, "sql:")
			abs, err := filepath.Abs(d)
			if err != nil {
				return nil, usageErr("--nssdb %s: %v", d, err)
			}
			out = append(out, nssdb.DB{App: "nssdb", Dir: abs})
		}
		return out, nil
	}
	home := a.getenv("HOME")
	if !filepath.IsAbs(home) {
		return nil, errors.New("HOME is not set to an absolute path: cannot find the NSS databases (use --nssdb)")
	}
	return nssdb.Discover(home, a.getenv("XDG_CONFIG_HOME")), nil
}

// createChromiumDB creates ~/.pki/nssdb as Chromium would on its first start
// (certutil -N, empty password), then registers the module in it.
func (a *app) createChromiumDB(dir, lib string, dry bool) (nssdb.Change, error) {
	certutil, err := exec.LookPath("certutil")
	if err != nil {
		return nssdb.Missing, nil // reported as "no database"; doctor says how to create it
	}
	if dry {
		return nssdb.Added, nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	if out, err := exec.Command(certutil, "-N", "-d", "sql:"+dir, "--empty-password").CombinedOutput(); err != nil {
		return "", fmt.Errorf("certutil -N: %v: %s", err, oneLine(strings.TrimSpace(string(out))))
	}
	return nssdb.Register(dir, moduleName, lib, false)
}

// installedModule is where the Debian package and `make install` put the library.
func installedModule() string {
	triplet := map[string]string{"amd64": "x86_64-linux-gnu", "arm64": "aarch64-linux-gnu",
		"386": "i386-linux-gnu", "arm": "arm-linux-gnueabihf", "riscv64": "riscv64-linux-gnu",
		"ppc64le": "powerpc64le-linux-gnu", "s390x": "s390x-linux-gnu"}[runtime.GOARCH]
	return filepath.Join("/usr/lib", triplet, "pkcs11", "libpcsc11.so")
}

// moduleToRegister resolves --module, or finds the library: installed, else beside
// the pcsc11 executable (a build tree). NSS and Firefox want an absolute path.
func (a *app) moduleToRegister(flag string) (string, error) {
	var candidates []string
	if flag != "" {
		candidates = []string{flag}
	} else {
		candidates = append(candidates, installedModule())
		if exe, err := os.Executable(); err == nil {
			candidates = append(candidates, filepath.Join(filepath.Dir(exe), "libpcsc11.so"))
		}
	}
	for _, c := range candidates {
		abs, err := filepath.Abs(c)
		if err != nil {
			continue
		}
		if st, err := os.Stat(abs); err == nil && st.Mode().IsRegular() {
			return abs, nil
		}
	}
	if flag != "" {
		return "", usageErr("--module %s: no such file", flag)
	}
	return "", fmt.Errorf("libpcsc11.so not found (looked at %s); install the package or give --module PATH", strings.Join(candidates, ", "))
}
