package main

import (
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMain lets the test binary play the traced command: with PCSC11_CLI_TEST_CHILD
// set it writes what a libpcsc11.so user would to PCSC11_LOG and exits.
func TestMain(m *testing.M) {
	if code := os.Getenv("PCSC11_CLI_TEST_CHILD"); code != "" {
		f, err := os.OpenFile(os.Getenv("PCSC11_LOG"), os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(99)
		}
		fmt.Fprintf(f, "debug=%s\napdu \"Virtual PCD 00 00\" > 00a4040009a0000003080000100000\n", os.Getenv("PCSC11_DEBUG"))
		if code == "wait" {
			// Play a long-running program: wait for SIGTERM, note it, exit 5.
			ch := make(chan os.Signal, 1)
			signal.Notify(ch, syscall.SIGTERM)
			fmt.Fprintln(f, "waiting")
			<-ch
			fmt.Fprintln(f, "terminated")
			f.Close()
			os.Exit(5)
		}
		f.Close()
		fmt.Println("child output")
		var n int
		fmt.Sscan(code, &n)
		os.Exit(n)
	}
	// The PIV driver's disk cache stays off: tests must not read or write the
	// user's ~/.cache/pcsc11 (the driver's own tests cover the cache).
	os.Setenv("PCSC11_CACHE", "0")
	os.Exit(m.Run())
}

func TestTrace(t *testing.T) {
	t.Setenv("PCSC11_CLI_TEST_CHILD", "7")
	t.Setenv("TMPDIR", t.TempDir())
	ta := newTestApp(newFakePCSC())
	ta.getenv = func(k string) string {
		if k == "PCSC11_DEBUG" {
			return "1"
		}
		return ""
	}
	code := ta.run(t, "trace", "--", os.Args[0], "-test.run=NONE")
	if code != 7 {
		t.Fatalf("exit %d, want the command's 7; stderr %s", code, ta.errb)
	}
	out := ta.out.String()
	for _, want := range []string{"child output\n", "--- pcsc11 trace: 2 lines ---\n", "debug=1,apdu\n", `apdu "Virtual PCD 00 00" > 00a404`} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in\n%s", want, out)
		}
	}
	// The temporary trace is gone.
	if left, _ := filepath.Glob(filepath.Join(os.Getenv("TMPDIR"), "pcsc11-trace-*")); len(left) != 0 {
		t.Errorf("trace file left behind: %v", left)
	}
}

func TestTraceLogFile(t *testing.T) {
	t.Setenv("PCSC11_CLI_TEST_CHILD", "0")
	path := filepath.Join(t.TempDir(), "trace.log")
	os.WriteFile(path, []byte("old line\n"), 0o600)
	ta := newTestApp(newFakePCSC())
	if code := ta.run(t, "trace", "--log", path, "--", os.Args[0]); code != 0 {
		t.Fatalf("exit %d %s", code, ta.errb)
	}
	// Only what this command traced is printed; the file keeps everything.
	if out := ta.out.String(); strings.Contains(out, "old line") || !strings.Contains(out, "debug=apdu\n") {
		t.Errorf("stdout:\n%s", out)
	}
	data, _ := os.ReadFile(path)
	if !strings.HasPrefix(string(data), "old line\ndebug=apdu\n") || !strings.Contains(ta.errb.String(), "trace kept in "+path) {
		t.Errorf("file %q, stderr %s", data, ta.errb)
	}
}

func TestTraceCannotStart(t *testing.T) {
	ta := newTestApp(newFakePCSC())
	if code := ta.run(t, "trace", "--", "/nonexistent/pcsc11-no-such-program"); code != exitError ||
		!strings.Contains(ta.errb.String(), "cannot run /nonexistent/pcsc11-no-such-program") {
		t.Fatalf("exit %d %s", code, ta.errb)
	}
}

func TestTraceEnv(t *testing.T) {
	env := traceEnv([]string{"A=1", "PCSC11_LOG=/old", "PCSC11_DEBUG=x"}, "calls", "/new")
	if strings.Join(env, " ") != "A=1 PCSC11_DEBUG=calls,apdu PCSC11_LOG=/new" {
		t.Errorf("%q", env)
	}
	if env := traceEnv(nil, "all", "/p"); env[0] != "PCSC11_DEBUG=all" {
		t.Errorf("%q", env)
	}
	if env := traceEnv(nil, "0", "/p"); env[0] != "PCSC11_DEBUG=apdu" {
		t.Errorf("%q", env)
	}
}

// A SIGTERM sent to pcsc11 reaches the traced program, and the trace is still printed.
func TestTraceForwardsSIGTERM(t *testing.T) {
	t.Setenv("PCSC11_CLI_TEST_CHILD", "wait")
	path := filepath.Join(t.TempDir(), "trace.log")
	ta := newTestApp(newFakePCSC())
	done := make(chan int)
	go func() { done <- ta.app.run([]string{"trace", "--log", path, "--", os.Args[0]}) }()
	for end := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if b, _ := os.ReadFile(path); strings.Contains(string(b), "waiting") {
			break
		}
		if time.Now().After(end) {
			t.Fatal("child never started")
		}
	}
	ta.sig <- syscall.SIGTERM
	select {
	case code := <-done:
		if code != 5 || !strings.Contains(ta.out.String(), "terminated\n") {
			t.Fatalf("exit %d\n%s", code, ta.out)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("SIGTERM not passed on")
	}
}
