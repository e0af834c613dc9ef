package hwtests

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pcsc11/pcsc11/hwtests/internal/pcscwait"
)

const (
	demoPIN      = "123456" // the factory/demo PIN; public knowledge, still never logged
	openscModule = "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so"
	ykcs11Module = "/usr/lib/x86_64-linux-gnu/libykcs11.so"
)

// target is the reader under test, resolved once.
type target struct {
	reader      string
	destructive bool
	require     bool
	control     string // control socket of the virtual card, if any
	demo        bool   // the card is the rig's virtual card with the demo profile
	skip        string // why every test skips
}

var (
	targetOnce sync.Once
	tgt        target
)

func rigDir() string {
	if d := os.Getenv("PCSC11_RIG_DIR"); d != "" {
		return d
	}
	return "/tmp/pcsc11-rig"
}

// resolveTarget reads the environment, falling back to a running hwtests/rig.sh (its
// card is virtual, so destructive steps are allowed there).
func resolveTarget() target {
	t := target{
		reader:      os.Getenv("PCSC11_HWTEST_READER"),
		destructive: os.Getenv("PCSC11_HWTEST_DESTRUCTIVE") == "1",
		require:     os.Getenv("PCSC11_HWTEST_REQUIRE") == "1",
		control:     os.Getenv("PCSC11_VPIV_CONTROL"),
		demo:        os.Getenv("PCSC11_HWTEST_DEMO") == "1",
	}
	if t.reader == "" {
		b, err := os.ReadFile(filepath.Join(rigDir(), "reader"))
		if err != nil {
			t.skip = "PCSC11_HWTEST_READER is not set and hwtests/rig.sh is not up: " +
				"run `hwtests/rig.sh run go test ./hwtests/...`, or name a physical reader (see `pcsc_scan -r`)"
			return t
		}
		t.reader = strings.TrimSpace(string(b))
		t.destructive, t.require, t.demo = true, true, true
		if t.control == "" {
			t.control = filepath.Join(rigDir(), "control.sock")
		}
	}
	return t
}

// needCard returns the reader name, skipping (or failing, when a card is required)
// unless the reader shows a card.
func needCard(t *testing.T) string {
	t.Helper()
	targetOnce.Do(func() { tgt = resolveTarget() })
	if tgt.skip != "" {
		t.Skip(tgt.skip)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := pcscwait.Wait(ctx, pcscwait.Match{Exact: tgt.reader}, true); err != nil {
		if tgt.require {
			t.Fatalf("no card in %q: %v", tgt.reader, err)
		}
		// Skip every later test at once instead of waiting again.
		tgt.skip = fmt.Sprintf("no card in reader %q (%v); set PCSC11_HWTEST_READER to a reader with a PIV card", tgt.reader, err)
		t.Skip(tgt.skip)
	}
	return tgt.reader
}

// needDemo skips unless the card is the virtual card with the demo profile, whose
// contents the test asserts exactly.
func needDemo(t *testing.T) {
	t.Helper()
	if !tgt.demo {
		t.Skip("asserts the virtual card's demo profile (PCSC11_HWTEST_DEMO=1, set by hwtests/rig.sh)")
	}
}

func needDestructive(t *testing.T) {
	t.Helper()
	if !tgt.destructive {
		t.Skip("writes keys to the card: set PCSC11_HWTEST_DESTRUCTIVE=1 to allow it (retired slots 82-86 are overwritten)")
	}
}

func needFile(t *testing.T, path string) {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		if tgt.require {
			t.Fatalf("%s is missing: %v", path, err)
		}
		t.Skipf("%s is not installed", path)
	}
}

func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if tgt.require {
			t.Fatalf("%s is not installed", name)
		}
		t.Skipf("%s is not installed", name)
	}
	return p
}

// secretFlags take a secret as their next argument (or after '=').
var secretFlags = []string{"--pin", "-P", "--so-pin", "--puk", "-k", "--key", "-n", "--new-key", "-N", "--new-pin"}

// redactArgs hides secrets in a command line before it reaches the test log.
func redactArgs(args []string) string {
	out := make([]string, len(args))
	hideNext := false
	for i, a := range args {
		switch {
		case hideNext:
			out[i], hideNext = "***", false
		default:
			out[i] = a
			for _, f := range secretFlags {
				if a == f {
					hideNext = true
				} else if strings.HasPrefix(a, f+"=") || (len(f) == 2 && strings.HasPrefix(a, f) && len(a) > 2 && !strings.HasPrefix(a, "--")) {
					out[i] = f + "***"
				}
			}
		}
	}
	return strings.Join(out, " ")
}

// runTool runs a client program with a deadline and returns its stdout. On failure
// the test fails with the (redacted) command line, the exit status and the output.
func runTool(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, errOut, err := runToolErr(name, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\nstdout:\n%s\nstderr:\n%s", name, redactArgs(args), err, out, errOut)
	}
	return out
}

func runToolErr(name string, args ...string) (stdout, stderr string, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	cmd.Stdin = strings.NewReader("")
	err = cmd.Run()
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		err = errors.New("timed out after 90s (a hang)")
	}
	return o.String(), e.String(), err
}

// mustContain asserts every want line fragment appears in out.
func mustContain(t *testing.T, what, out string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(out, w) {
			t.Errorf("%s lacks %q; output:\n%s", what, w, out)
		}
	}
}

func parseCertFile(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if blk, _ := pem.Decode(b); blk != nil {
		b = blk.Bytes
	}
	c, err := x509.ParseCertificate(b)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return c
}

func TestRedactArgs(t *testing.T) {
	got := redactArgs([]string{"--login", "--pin", demoPIN, "-P" + demoPIN, "-k", "0102", "--key=0102", "-a", "status"})
	if strings.Contains(got, demoPIN) || strings.Contains(got, "0102") {
		t.Fatalf("secret left in %q", got)
	}
	if !strings.Contains(got, "-a status") || !strings.Contains(got, "--login") {
		t.Fatalf("non-secret arguments lost: %q", got)
	}
}
