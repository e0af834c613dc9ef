package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ebfe/scard"

	"github.com/pcsc11/pcsc11/cmd/pcsc11/nssdb"
	"github.com/pcsc11/pcsc11/config"
	"github.com/pcsc11/pcsc11/reader"
	"github.com/pcsc11/pcsc11/slot/piv/diskcache"
)

var doctorCmd = &command{
	name:    "doctor",
	summary: "check why a token is not found: pcscd, readers, cards, locks, polkit, registration",
	usage:   "doctor [--module PATH] [--json]",
	help: `Checks, in order, what usually stands between an application and the card, with a
one-line verdict each and, when something is wrong, a command to fix it:

  configuration   the configuration files parse (docs/configuration.md)
  pcscd           pcscd answers on its socket (and systemd's pcscd.socket / .service)
  readers         PC/SC shows at least one reader (and none hidden by reader_allow/deny)
  cards           a card in each reader
  exclusive       no other program holds a card exclusively (scdaemon, another
                  SCardConnect with SCARD_SHARE_EXCLUSIVE), naming the programs that use
                  PC/SC where /proc lets us see them
  polkit          pcscd did not refuse this user (SCARD_E_NO_ACCESS, or "NOT authorized"
                  in pcscd's journal when it is readable)
  registration    the module is in each NSS database of the user (or the Firefox policy)
                  and in p11-kit's module list
  friendly        no NSS database marks pcsc11's slots friendly (Firefox stalls)
  cache           the disk cache directory is the user's and private
  module          libpcsc11.so loads: its libraries resolve, and pkcs11-tool (when
                  installed) initializes it

flags:
  --module PATH   the library to check (default as for register)
  --json          {"checks": [{"name", "status", "verdict", "fix"}]}; status is ok,
                  warn, fail or skip

Exits 1 when a check fails, else 0 (warnings included). docs/troubleshooting.md
explains each verdict and its limits.
`,
	run: runDoctor,
}

type checkJSON struct {
	Name    string `json:"name"`
	Status  string `json:"status"` // ok, warn, fail, skip
	Verdict string `json:"verdict"`
	Fix     string `json:"fix,omitempty"`
}

type doctor struct {
	a        *app
	checks   []checkJSON
	module   string
	denied   bool // pcscd refused us (polkit)
	settings *config.Settings
}

func (d *doctor) add(name, status, verdict, fix string) {
	d.checks = append(d.checks, checkJSON{Name: name, Status: status, Verdict: verdict, Fix: fix})
}

func runDoctor(a *app, c *command, args []string) error {
	fs := a.flags(c)
	asJSON := jsonFlag(fs)
	module := fs.String("module", "", "library")
	if err := a.parseNoArgs(c, fs, args); err != nil {
		return err
	}
	d := &doctor{a: a, settings: config.Load(a.getenv)}
	d.checkConfig()
	states, ok := d.checkPCSCD()
	if ok {
		d.checkReaders(states)
		d.checkCards(states)
		d.checkExclusive(states)
	} else {
		for _, n := range []string{"readers", "cards", "exclusive"} {
			d.add(n, "skip", "not checked: pcscd does not answer", "")
		}
	}
	d.checkPolkit()
	d.module, _ = a.moduleToRegister(*module)
	d.checkRegistration()
	d.checkCache()
	d.checkModule(*module)

	failed := false
	for _, ch := range d.checks {
		failed = failed || ch.Status == "fail"
	}
	if *asJSON {
		if err := a.writeJSON(struct {
			Checks []checkJSON `json:"checks"`
		}{d.checks}); err != nil {
			return err
		}
	} else {
		for _, ch := range d.checks {
			fmt.Fprintf(a.stdout, "%-5s %-13s %s\n", strings.ToUpper(ch.Status), ch.Name, oneLine(ch.Verdict))
			if ch.Fix != "" {
				for _, l := range strings.Split(ch.Fix, "\n") {
					fmt.Fprintf(a.stdout, "      fix: %s\n", l)
				}
			}
		}
	}
	if failed {
		return &cliError{code: exitError, err: errQuiet}
	}
	return nil
}

// lookup reads a setting as the module would in a program started from here.
func (d *doctor) lookup(name string) string {
	v, _ := d.settings.Lookup(name)
	return v
}

func (d *doctor) checkConfig() {
	if len(d.settings.Errors) > 0 {
		var msgs []string
		for _, e := range d.settings.Errors {
			msgs = append(msgs, e.Error())
		}
		d.add("configuration", "fail", "not applied (the module uses defaults instead): "+strings.Join(msgs, "; "),
			"correct the line named above (keys and format: docs/configuration.md), then: pcsc11 info")
		return
	}
	var used []string
	for _, f := range d.settings.Files {
		if _, err := os.Stat(f); err == nil {
			used = append(used, f)
		}
	}
	if len(used) == 0 {
		d.add("configuration", "ok", "no configuration file; defaults and environment", "")
		return
	}
	d.add("configuration", "ok", "read "+strings.Join(used, ", "), "")
}

func (d *doctor) socketPath() string {
	if s := d.a.getenv("PCSCLITE_CSOCK_NAME"); s != "" {
		return s
	}
	return "/run/pcscd/pcscd.comm"
}

// systemdState is "pcscd.socket active, pcscd.service inactive" (or "" without systemctl).
func systemdState() string {
	sc, err := exec.LookPath("systemctl")
	if err != nil {
		return ""
	}
	var parts []string
	for _, unit := range []string{"pcscd.socket", "pcscd.service"} {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		out, _ := exec.CommandContext(ctx, sc, "is-active", unit).Output()
		cancel()
		st := strings.TrimSpace(string(out))
		if st == "" {
			return "" // no systemd running (a container): say nothing
		}
		parts = append(parts, unit+" "+st)
	}
	return strings.Join(parts, ", ")
}

func (d *doctor) checkPCSCD() ([]reader.ReaderState, bool) {
	sock := d.socketPath()
	units := systemdState()
	withUnits := func(s string) string {
		if units != "" {
			return s + " (" + units + ")"
		}
		return s
	}
	b, err := d.a.openPCSC()
	var states []reader.ReaderState
	if err == nil {
		states, err = b.WaitChange(nil, 0)
		b.Close()
	}
	if err == nil {
		d.add("pcscd", "ok", withUnits("pcscd answers on "+sock), "")
		return states, true
	}
	if isSCard(err, scard.ErrNoAccess) {
		d.denied = true
	}
	if _, serr := os.Stat(sock); serr != nil {
		d.add("pcscd", "fail", withUnits("pcscd is not running: no socket "+sock),
			"sudo apt install pcscd && sudo systemctl enable --now pcscd.socket")
		return nil, false
	}
	d.add("pcscd", "fail", withUnits("pcscd does not answer on "+sock+": "+err.Error()),
		"sudo systemctl restart pcscd.socket pcscd.service   (then look at: journalctl -u pcscd -n 20)")
	return nil, false
}

func isSCard(err error, code scard.Error) bool {
	var c scard.Error
	return errors.As(err, &c) && c == code
}

func (d *doctor) checkReaders(states []reader.ReaderState) {
	if len(states) == 0 {
		fix := "plug in the reader or token; lsusb should list it, and for a YubiKey the CCID interface must be on (ykman config usb --list)"
		if p := findProcs("scdaemon"); len(p) > 0 {
			fix = "scdaemon (" + procList(p) + ") may have taken the USB reader with its own CCID driver: add disable-ccid to ~/.gnupg/scdaemon.conf, then: gpgconf --kill scdaemon"
		}
		d.add("readers", "fail", "PC/SC shows no reader", fix)
		return
	}
	keep := config.ReaderFilter(d.lookup("PCSC11_READER_ALLOW"), d.lookup("PCSC11_READER_DENY"))
	var hidden []string
	for _, st := range states {
		if keep != nil && !keep(st.Name) {
			hidden = append(hidden, strconv.Quote(st.Name))
		}
	}
	switch {
	case len(hidden) == len(states):
		d.add("readers", "fail", fmt.Sprintf("%d reader(s), all left out by reader_allow/reader_deny: %s", len(states), strings.Join(hidden, ", ")),
			"pcsc11 info   (shows where reader_allow / reader_deny are set; docs/configuration.md)")
	case len(hidden) > 0:
		d.add("readers", "ok", fmt.Sprintf("%d reader(s); left out by reader_allow/reader_deny: %s", len(states), strings.Join(hidden, ", ")), "")
	default:
		d.add("readers", "ok", fmt.Sprintf("%d reader(s)", len(states)), "")
	}
}

func (d *doctor) checkCards(states []reader.ReaderState) {
	var empty []string
	for _, st := range states {
		if !st.Present {
			empty = append(empty, strconv.Quote(st.Name))
		}
	}
	switch {
	case len(states) == 0:
		d.add("cards", "skip", "no reader", "")
	case len(empty) == len(states):
		d.add("cards", "fail", "no card in any reader: "+strings.Join(empty, ", "), "insert the card or token (pcsc11 watch shows it arrive)")
	case len(empty) > 0:
		d.add("cards", "warn", fmt.Sprintf("%d with a card; empty: %s", len(states)-len(empty), strings.Join(empty, ", ")), "")
	default:
		d.add("cards", "ok", fmt.Sprintf("a card in each of %d reader(s)", len(states)), "")
	}
}

// checkExclusive connects to each card as the module does (shared); a sharing
// violation means another program connected with SCARD_SHARE_EXCLUSIVE. pcscd does not
// say who: the candidates are the processes that have libpcsclite loaded.
func (d *doctor) checkExclusive(states []reader.ReaderState) {
	b, err := d.a.openPCSC()
	if err != nil {
		d.add("exclusive", "skip", "pcscd does not answer", "")
		return
	}
	defer b.Close()
	var held []string
	tried := 0
	for _, st := range states {
		if !st.Present {
			continue
		}
		tried++
		c, err := b.Connect(st.Name)
		switch {
		case err == nil:
			c.Close()
		case isSCard(err, scard.ErrSharingViolation):
			held = append(held, strconv.Quote(st.Name))
		case isSCard(err, scard.ErrNoAccess):
			d.denied = true
		}
	}
	if tried == 0 {
		d.add("exclusive", "skip", "no card to connect to", "")
		return
	}
	if len(held) == 0 {
		d.add("exclusive", "ok", "no card is held exclusively by another program", "")
		return
	}
	users := pcscClients()
	verdict := "held exclusively by another program: " + strings.Join(held, ", ")
	fix := "close the program holding it"
	if len(users) > 0 {
		verdict += "; programs using PC/SC: " + procList(users)
	} else {
		verdict += "; no other PC/SC program visible (another user's processes are hidden unless run as root)"
	}
	for _, p := range users {
		if p.name == "scdaemon" {
			fix = "gpgconf --kill scdaemon, and keep it from locking the card: add pcsc-shared (and disable-ccid) to ~/.gnupg/scdaemon.conf"
		}
	}
	if fix == "close the program holding it" && len(users) > 0 {
		fix = "close it (kill " + strconv.Itoa(users[0].pid) + " if it is " + users[0].name + " and you do not need it)"
	}
	d.add("exclusive", "fail", verdict, fix)
}

// checkPolkit: pcsc-lite built with polkit refuses a user the rules do not allow; the
// client sees SCARD_E_NO_ACCESS (or a closed connection), pcscd logs "Process N (user:
// U) is NOT authorized for action: access_pcsc" (or access_card).
func (d *doctor) checkPolkit() {
	fix := "allow the user in polkit: a rule for org.debian.pcsc-lite.access_pcsc and org.debian.pcsc-lite.access_card in /etc/polkit-1/rules.d/ (docs/troubleshooting.md)"
	if d.denied {
		d.add("polkit", "fail", "pcscd refused this user (SCARD_E_NO_ACCESS)", fix)
		return
	}
	if line := polkitRefusal(os.Getuid()); line != "" {
		d.add("polkit", "fail", "pcscd's journal: "+line, fix)
		return
	}
	d.add("polkit", "ok", "no refusal seen (pcscd's journal read when allowed)", "")
}

// polkitRefusal looks for pcscd's last refusal of uid in the journal of the last
// hour (readable by root and the adm / systemd-journal groups; "" otherwise).
func polkitRefusal(uid int) string {
	jc, err := exec.LookPath("journalctl")
	if err != nil {
		return ""
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, jc, "-q", "--no-pager", "-u", "pcscd", "--since", "-1h", "-o", "cat").Output()
	if err != nil {
		return ""
	}
	want := "(user: " + strconv.Itoa(uid) + ") is NOT authorized"
	last := ""
	for _, l := range strings.Split(string(out), "\n") {
		if strings.Contains(l, want) {
			last = strings.TrimSpace(l)
		}
	}
	return last
}

func (d *doctor) checkRegistration() {
	home := d.a.getenv("HOME")
	var dbs []nssdb.DB
	if filepath.IsAbs(home) {
		dbs = nssdb.Discover(home, d.a.getenv("XDG_CONFIG_HOME"))
	}
	policyLib, _, _ := nssdb.PolicyState(nssdb.FirefoxPolicies, moduleName)
	var missing, broken, friendly, good []string
	for _, db := range dbs {
		st, err := nssdb.Read(db.Dir, moduleName)
		if err != nil {
			broken = append(broken, db.String()+": "+err.Error())
			continue
		}
		if !st.Exists {
			continue // ~/.pki/nssdb before Chromium's first start
		}
		if len(st.Ours) == 0 {
			if db.App == "firefox" && policyLib != "" {
				good = append(good, db.App+" (policy)")
				continue
			}
			missing = append(missing, db.String())
			continue
		}
		for _, i := range st.Ours {
			e := st.Entries[i]
			if e.Friendly() {
				friendly = append(friendly, db.String())
			}
			if _, err := os.Stat(e.Library); err != nil {
				broken = append(broken, db.String()+": "+e.Library+" does not exist")
			}
		}
		good = append(good, db.App)
	}
	p11kit := p11kitModule(home)
	switch {
	case len(missing) > 0 || len(broken) > 0:
		v := ""
		if len(missing) > 0 {
			v = "not registered in " + strings.Join(missing, ", ")
		}
		if len(broken) > 0 {
			v = strings.TrimPrefix(v+"; ", "; ") + strings.Join(broken, "; ")
		}
		d.add("registration", "fail", v, "pcsc11 register   (close the browsers first)")
	case len(good) == 0 && policyLib == "":
		d.add("registration", "warn", "no NSS database of this user has the module (no Firefox, Thunderbird or Chromium profile found)", "pcsc11 register   (after starting the browser once)")
	default:
		d.add("registration", "ok", "registered in "+strings.Join(dedupe(good), ", ")+p11kitNote(p11kit), "")
	}
	if p11kit == "" {
		d.add("p11-kit", "warn", "no p11-kit module file names libpcsc11.so: GnuTLS and p11-kit clients do not see it",
			"install the package (or: sudo make install), which adds /usr/share/p11-kit/modules/pcsc11.module")
	} else {
		d.add("p11-kit", "ok", "module file "+p11kit, "")
	}
	if len(friendly) > 0 {
		d.add("friendly", "fail", "slots marked friendly in "+strings.Join(friendly, ", ")+": Firefox skips the login and stalls in the TLS handshake",
			"pcsc11 register   (rewrites the entry without the mark)")
	} else {
		d.add("friendly", "ok", "no database marks pcsc11's slots friendly", "")
	}
}

func p11kitNote(f string) string {
	if f == "" {
		return ""
	}
	return " and p11-kit"
}

func dedupe(s []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, v := range s {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}

// p11kitModule is the p11-kit module file that loads libpcsc11.so ("" for none): the
// system's and the user's configuration directories (p11-kit(8)).
func p11kitModule(home string) string {
	dirs := []string{"/usr/share/p11-kit/modules", "/etc/pkcs11/modules"}
	if h := home; filepath.IsAbs(h) {
		dirs = append(dirs, filepath.Join(h, ".config", "pkcs11", "modules"))
	}
	for _, dir := range dirs {
		files, _ := filepath.Glob(filepath.Join(dir, "*.module"))
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil || len(b) > 64<<10 {
				continue
			}
			for _, l := range strings.Split(string(b), "\n") {
				k, v, ok := strings.Cut(l, ":")
				if ok && strings.TrimSpace(k) == "module" && filepath.Base(strings.TrimSpace(v)) == "libpcsc11.so" {
					return f
				}
			}
		}
	}
	return ""
}

func (d *doctor) checkCache() {
	getenv := func(n string) string { return d.lookup(n) }
	if !diskcache.Enabled(getenv) {
		d.add("cache", "ok", "disk cache off (cache = 0)", "")
		return
	}
	dir := diskcache.Dir(getenv)
	if dir == "" {
		d.add("cache", "warn", "no cache directory can be named (no HOME): the cache is off", "")
		return
	}
	err := diskcache.CheckDir(dir)
	switch {
	case err == nil:
		d.add("cache", "ok", dir+" is private to this user", "")
	case errors.Is(err, os.ErrNotExist):
		d.add("cache", "ok", dir+" does not exist yet (made 0700 on first use)", "")
	default:
		d.add("cache", "fail", err.Error()+": the module does not use the cache", "chmod 700 "+dir+"   (or remove it: rm -r "+dir+")")
	}
}

// checkModule: the dynamic linker resolves the library's dependencies (ldd), and
// pkcs11-tool, when installed, loads and initializes it in its own process (a Go
// program cannot load a second Go runtime itself).
func (d *doctor) checkModule(flag string) {
	if d.module == "" {
		_, err := d.a.moduleToRegister(flag)
		d.add("module", "fail", err.Error(), "install the package (see README), or give --module PATH")
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if ldd, err := exec.LookPath("ldd"); err == nil {
		out, err := exec.CommandContext(ctx, ldd, d.module).CombinedOutput()
		var nf []string
		for _, l := range strings.Split(string(out), "\n") {
			if strings.Contains(l, "not found") {
				nf = append(nf, strings.TrimSpace(l))
			}
		}
		if err != nil || len(nf) > 0 {
			d.add("module", "fail", d.module+": libraries missing: "+strings.Join(nf, ", ")+oneLine(errString(err)),
				"sudo apt install libpcsclite1")
			return
		}
	}
	tool, err := exec.LookPath("pkcs11-tool")
	if err != nil {
		d.add("module", "ok", d.module+": its libraries resolve (install opensc for a full load test with pkcs11-tool)", "")
		return
	}
	out, err := exec.CommandContext(ctx, tool, "--module", d.module, "--show-info").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "pcsc11") {
		d.add("module", "fail", d.module+" does not load: "+oneLine(lastLine(string(out))), "pkcs11-tool --module "+d.module+" --show-info   (PCSC11_DEBUG=1 for the module's log)")
		return
	}
	d.add("module", "ok", d.module+" loads and initializes (pkcs11-tool --show-info)", "")
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return " (" + err.Error() + ")"
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// proc is a process seen in /proc.
type proc struct {
	pid  int
	name string
}

func procList(ps []proc) string {
	var s []string
	for _, p := range ps {
		s = append(s, fmt.Sprintf("%s (pid %d)", p.name, p.pid))
	}
	return strings.Join(s, ", ")
}

// procRoot is /proc (tests point it elsewhere).
var procRoot = "/proc"

// findProcs lists the processes whose command name is name.
func findProcs(name string) []proc {
	return scanProcs(func(pid string, comm string) bool { return comm == name })
}

// pcscClients lists the other processes that have pcsc-lite's client library mapped:
// every program that talks to pcscd (scdaemon, browsers, pcsc_scan…). pcscd does not
// tell which client holds a card; /proc shows only this user's processes unless root.
func pcscClients() []proc {
	self := strconv.Itoa(os.Getpid())
	return scanProcs(func(pid, comm string) bool {
		if pid == self {
			return false
		}
		b, err := os.ReadFile(filepath.Join(procRoot, pid, "maps"))
		return err == nil && strings.Contains(string(b), "libpcsclite.so")
	})
}

func scanProcs(match func(pid, comm string) bool) []proc {
	entries, err := os.ReadDir(procRoot)
	if err != nil {
		return nil
	}
	var out []proc
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join(procRoot, e.Name(), "comm"))
		if err != nil {
			continue
		}
		comm := strings.TrimSpace(string(b))
		if match(e.Name(), comm) {
			out = append(out, proc{pid: pid, name: comm})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].pid < out[j].pid })
	return out
}
