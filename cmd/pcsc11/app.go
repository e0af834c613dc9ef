package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/pcsc11/pcsc11/reader"
	"github.com/pcsc11/pcsc11/slot"
)

// Exit statuses (docs/cli.md).
const (
	exitOK       = 0
	exitError    = 1 // the command failed (card error, no token, bad slot...)
	exitUsage    = 2 // wrong arguments
	exitNoReader = 3 // pcscd unreachable, or no reader attached
)

// app is the CLI with its dependencies injected (tests replace them with fakes).
type app struct {
	stdout, stderr io.Writer
	getenv         func(string) string
	openPCSC       func() (reader.Backend, error)
	// openDirect reaches a reader's SCardControl without a card (nil: only readers
	// with a card get their features read).
	openDirect func(name string) (reader.Card, error)
	driver     slot.Driver
	version    string
	// interrupt delivers Ctrl-C/SIGTERM; stop undoes the registration.
	interrupt func() (ch <-chan os.Signal, stop func())
}

// cliError carries an exit status with a message.
type cliError struct {
	code int
	err  error
}

func (e *cliError) Error() string { return e.err.Error() }
func (e *cliError) Unwrap() error { return e.err }

func usageErr(format string, args ...any) error {
	return &cliError{code: exitUsage, err: fmt.Errorf(format, args...)}
}

func noReaderErr(err error) error { return &cliError{code: exitNoReader, err: err} }

// command is one subcommand.
type command struct {
	name    string
	summary string
	usage   string // the synopsis after "pcsc11 "
	help    string // what it does, flags, output, exit statuses
	run     func(a *app, c *command, args []string) error
}

// commands in the order help lists them.
var commands []*command

func init() {
	commands = []*command{readersCmd, slotsCmd, objectsCmd, infoCmd, watchCmd, traceCmd,
		registerCmd, unregisterCmd, doctorCmd, initTokenCmd, setPINCmd, unblockPINCmd, keygenCmd, importCmd, deleteCmd, attestCmd}
}

func findCommand(name string) *command {
	for _, c := range commands {
		if c.name == name {
			return c
		}
	}
	return nil
}

func (a *app) run(args []string) int {
	err := a.dispatch(args)
	if err == nil || errors.Is(err, errHelpShown) {
		return exitOK
	}
	var ce *cliError
	code := exitError
	if errors.As(err, &ce) {
		code = ce.code
	}
	if !errors.Is(err, errQuiet) {
		fmt.Fprintln(a.stderr, "pcsc11:", err)
	}
	if code == exitUsage && !errors.Is(err, errQuiet) {
		fmt.Fprintln(a.stderr, "Run 'pcsc11 help' for usage.")
	}
	return code
}

// errQuiet: the command already explained itself on stderr.
var errQuiet = errors.New("quiet")

func (a *app) dispatch(args []string) error {
	// Global flags before the command: --json (passed on), --help, --version.
	var global []string
	for len(args) > 0 && strings.HasPrefix(args[0], "-") {
		switch args[0] {
		case "-h", "-help", "--help":
			a.printUsage(a.stdout)
			return nil
		case "-version", "--version":
			fmt.Fprintf(a.stdout, "pcsc11 %s\n", a.version)
			return nil
		case "-json", "--json":
			global = append(global, args[0])
			args = args[1:]
		default:
			return usageErr("unknown flag %s", args[0])
		}
	}
	if len(args) == 0 {
		a.printUsage(a.stderr)
		return &cliError{code: exitUsage, err: errQuiet}
	}
	name, rest := args[0], args[1:]
	if name == "help" {
		return a.helpCmd(rest)
	}
	if name == "version" {
		fmt.Fprintf(a.stdout, "pcsc11 %s\n", a.version)
		return nil
	}
	c := findCommand(name)
	if c == nil {
		return usageErr("unknown command %q", name)
	}
	if name == "trace" {
		if len(global) > 0 {
			return usageErr("trace has no --json output")
		}
		return c.run(a, c, rest)
	}
	return c.run(a, c, append(global, rest...))
}

func (a *app) printUsage(w io.Writer) {
	fmt.Fprintf(w, "pcsc11 %s: PC/SC readers and smart-card tokens as pcsc11's PKCS#11 module sees them\n\n", a.version)
	fmt.Fprintln(w, "usage: pcsc11 [--json] <command> [flags]")
	fmt.Fprintln(w, "\ncommands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-11s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "  help CMD    details of one command")
	fmt.Fprint(w, exitHelp)
}

const exitHelp = `
exit status: 0 ok, 1 error, 2 usage error, 3 pcscd unreachable or no reader.
`

func (a *app) helpCmd(args []string) error {
	if len(args) == 1 && args[0] == "--man" { // pcsc11(1), for the package
		a.writeManPage(a.stdout)
		return nil
	}
	if len(args) == 1 && args[0] == "--conf" { // the package's /etc/pcsc11/pcsc11.conf
		writeConfTemplate(a.stdout)
		return nil
	}
	if len(args) == 0 {
		a.printUsage(a.stdout)
		return nil
	}
	c := findCommand(args[0])
	if c == nil {
		return usageErr("no help for unknown command %q", args[0])
	}
	a.commandHelp(a.stdout, c)
	return nil
}

func (a *app) commandHelp(w io.Writer, c *command) {
	fmt.Fprintf(w, "usage: pcsc11 %s\n\n%s", c.usage, c.help)
	fmt.Fprint(w, exitHelp)
}

// flags returns a flag set for c whose --help prints c's help on stdout.
func (a *app) flags(c *command) *flag.FlagSet {
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// parse parses args; --help prints the command's help (and returns errHelpShown).
func (a *app) parse(c *command, fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			a.commandHelp(a.stdout, c)
			return errHelpShown
		}
		return usageErr("%s: %v", c.name, err)
	}
	return nil
}

// parseNoArgs is parse for a command that takes flags only.
func (a *app) parseNoArgs(c *command, fs *flag.FlagSet, args []string) error {
	if err := a.parse(c, fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErr("%s takes no arguments", c.name)
	}
	return nil
}

var errHelpShown = errors.New("help shown")

// connect opens PC/SC; failure means pcscd cannot be reached (exit 3).
func (a *app) connect() (reader.Backend, error) {
	b, err := a.openPCSC()
	if err != nil {
		return nil, noReaderErr(fmt.Errorf("cannot reach pcscd: %v (is pcscd running? try: systemctl start pcscd.socket)", err))
	}
	return b, nil
}

// errNoReaders is exit 3 with a hint.
func errNoReaders() error {
	return noReaderErr(errors.New("no smart-card reader found (is it plugged in? pcsc_scan lists what pcscd sees)"))
}

// withManager runs f with a slot manager over PC/SC (exit 3 when pcscd is away).
func (a *app) withManager(f func(b reader.Backend, m *slot.Manager) error) error {
	b, err := a.connect()
	if err != nil {
		return err
	}
	if _, err := b.ListReaders(); err != nil {
		b.Close()
		return noReaderErr(fmt.Errorf("cannot list readers: %v", err))
	}
	m := slot.NewManager(b, a.driver)
	defer m.Close() // closes b too
	return f(b, m)
}
