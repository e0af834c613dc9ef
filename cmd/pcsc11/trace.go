package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/pcsc11/pcsc11/logging"
)

var traceCmd = &command{
	name:    "trace",
	summary: "run a command with pcsc11's APDU trace on, then print the trace",
	usage:   "trace [--keep] [--log FILE] -- COMMAND [ARGS...]",
	help: `Runs COMMAND with PCSC11_DEBUG=apdu and PCSC11_LOG set to a private temporary file,
so that libpcsc11.so (loaded by COMMAND: pkcs11-tool, ssh, p11tool, firefox...) or
pcsc11 itself logs every PKCS#11 call and every APDU it exchanges with the card,
with the reader name and timing. When COMMAND ends, the trace is printed on
stdout after a separator line. PINs, PUKs, management keys and key material are
redacted by the module itself; the trace still shows which keys exist and are
used, so share it with care.

  pcsc11 trace -- pkcs11-tool --module /usr/lib/x86_64-linux-gnu/pkcs11/libpcsc11.so -L

An existing PCSC11_DEBUG value is kept (apdu is added to it).

flags:
  --log FILE   write the trace to FILE (appended, created 0600) and keep it
  --keep       keep the temporary trace file and print its name

Exits with COMMAND's exit status (1 when COMMAND could not be started, 2 for usage
errors). COMMAND's own output goes to the terminal as usual.
`,
	run: runTrace,
}

func runTrace(a *app, c *command, args []string) error {
	fs := a.flags(c)
	keep := fs.Bool("keep", false, "keep the trace file")
	logPath := fs.String("log", "", "trace file")
	if err := a.parse(c, fs, args); err != nil {
		return err
	}
	cmdArgs := fs.Args()
	if len(cmdArgs) == 0 {
		return usageErr("trace: no command given (pcsc11 trace -- COMMAND ARGS...)")
	}

	path := *logPath
	if path == "" {
		f, err := os.CreateTemp("", "pcsc11-trace-*.log") // mode 0600
		if err != nil {
			return fmt.Errorf("trace: %v", err)
		}
		path = f.Name()
		f.Close()
		if !*keep {
			defer os.Remove(path)
		}
	} else {
		// Create it now, 0600, so the command appends to a file only we can read.
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
		if err != nil {
			return fmt.Errorf("trace: %v", err)
		}
		f.Close()
	}
	start, err := fileSize(path)
	if err != nil {
		return fmt.Errorf("trace: %v", err)
	}

	cmd := exec.Command(cmdArgs[0], cmdArgs[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, a.stdout, a.stderr
	cmd.Env = traceEnv(os.Environ(), a.getenv("PCSC11_DEBUG"), path)

	// Ctrl-C goes to the whole foreground process group, so COMMAND has it already;
	// stay alive to print what it traced. A signal sent to pcsc11 alone (SIGTERM from
	// a supervisor) is passed on to COMMAND.
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("trace: cannot run %s: %v", cmdArgs[0], err)
	}
	sig, unsig := a.interrupt()
	waited := make(chan struct{})
	go func() {
		for {
			select {
			case s := <-sig:
				if s != os.Interrupt {
					cmd.Process.Signal(s)
				}
			case <-waited:
				return
			}
		}
	}()
	runErr := cmd.Wait()
	close(waited)
	unsig()

	status := 0
	var exitErr *exec.ExitError
	switch {
	case runErr == nil:
	case errors.As(runErr, &exitErr):
		status = exitErr.ExitCode()
		if status < 0 {
			status = 1 // killed by a signal
		}
	default:
		return fmt.Errorf("trace: cannot run %s: %v", cmdArgs[0], runErr)
	}

	if err := a.printTrace(path, start); err != nil {
		fmt.Fprintf(a.stderr, "pcsc11: trace: %v\n", err)
		if status == 0 {
			status = 1
		}
	}
	if *keep || *logPath != "" {
		fmt.Fprintf(a.stderr, "pcsc11: trace kept in %s\n", path)
	}
	if status != 0 {
		return &cliError{code: status, err: errQuiet}
	}
	return nil
}

// traceEnv is environ with PCSC11_DEBUG including "apdu" and PCSC11_LOG set to path.
func traceEnv(environ []string, debug, path string) []string {
	out := make([]string, 0, len(environ)+2)
	for _, kv := range environ {
		if strings.HasPrefix(kv, "PCSC11_DEBUG=") || strings.HasPrefix(kv, "PCSC11_LOG=") {
			continue
		}
		out = append(out, kv)
	}
	switch {
	case debug == "" || debug == "0":
		debug = "apdu"
	case !logging.Wants(debug, "apdu"):
		debug += ",apdu"
	}
	return append(out, "PCSC11_DEBUG="+debug, "PCSC11_LOG="+path)
}

func fileSize(path string) (int64, error) {
	st, err := os.Stat(path)
	if err != nil {
		return 0, err
	}
	return st.Size(), nil
}

// printTrace copies what the command added to the trace file to stdout.
func (a *app) printTrace(path string, from int64) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if from > int64(len(data)) {
		from = 0 // the file was truncated meanwhile
	}
	data = data[from:]
	lines := strings.Count(string(data), "\n")
	fmt.Fprintf(a.stdout, "--- pcsc11 trace: %d lines ---\n", lines)
	if lines == 0 {
		fmt.Fprintln(a.stdout, "(empty: the command did not load libpcsc11.so, or made no PKCS#11 calls)")
	}
	_, err = a.stdout.Write(data)
	return err
}
