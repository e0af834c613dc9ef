package main

import (
	"bytes"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pcsc11/pcsc11/cmd/pcsc11-vpiv/internal/vpcd"
)

// The whole program, as a child process (this test binary re-executed), against a
// fake vpcd: wiring of flags, engine, signals, control socket and shutdown.

func TestMain(m *testing.M) {
	if os.Getenv("PCSC11_VPIV_TEST_MAIN") == "1" {
		os.Args = append([]string{"pcsc11-vpiv"}, strings.Fields(os.Getenv("PCSC11_VPIV_TEST_ARGS"))...)
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func child(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "PCSC11_VPIV_TEST_MAIN=1", "PCSC11_VPIV_TEST_ARGS="+strings.Join(args, " "))
	return cmd
}

func TestProcessEndToEnd(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	dir := t.TempDir()
	ctl, state := filepath.Join(dir, "ctl.sock"), filepath.Join(dir, "card.json")

	cmd := child(t, "--port", port, "--provision", "demo", "--state", state, "--control", ctl, "--serial", "4242")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()

	accept := func() net.Conn {
		t.Helper()
		ln.(*net.TCPListener).SetDeadline(time.Now().Add(20 * time.Second))
		c, err := ln.Accept()
		if err != nil {
			t.Fatalf("the card did not connect: %v\n%s", err, stderr.String())
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		return c
	}
	ask := func(c net.Conn, msg []byte) []byte {
		t.Helper()
		if err := vpcd.WriteMsg(c, msg); err != nil {
			t.Fatal(err)
		}
		r, err := vpcd.ReadMsg(c)
		if err != nil {
			t.Fatalf("answer to % X: %v", msg, err)
		}
		return r
	}

	conn := accept()
	if atr := ask(conn, []byte{vpcd.CtrlGetATR}); len(atr) < 2 || atr[0] != 0x3B {
		t.Fatalf("ATR % X", atr)
	}
	vpcd.WriteMsg(conn, []byte{vpcd.CtrlPowerOn})
	sel := ask(conn, []byte{0x00, 0xA4, 0x04, 0x00, 0x05, 0xA0, 0x00, 0x00, 0x03, 0x08})
	if !bytes.HasSuffix(sel, []byte{0x90, 0x00}) {
		t.Fatalf("SELECT PIV answered % X", sel)
	}
	if got := ask(conn, []byte{0x00, 0xF8, 0x00, 0x00, 0x00}); !bytes.Equal(got, []byte{0x00, 0x00, 0x10, 0x92, 0x90, 0x00}) {
		t.Fatalf("GET SERIAL answered % X, want serial 4242", got)
	}

	out, err := child(t, "--control", ctl, "--send", "status").Output()
	if err != nil || !strings.HasPrefix(string(out), "ok inserted=true connected=true commands=2 ") {
		t.Fatalf("--send status: %q, %v", out, err)
	}

	// SIGUSR1 removes (vpcd sees the connection close), SIGUSR2 inserts.
	cmd.Process.Signal(syscall.SIGUSR1)
	if _, err := vpcd.ReadMsg(conn); err == nil {
		t.Fatal("connection still open after SIGUSR1")
	}
	conn.Close()
	cmd.Process.Signal(syscall.SIGUSR2)
	conn = accept()
	if atr := ask(conn, []byte{vpcd.CtrlGetATR}); len(atr) < 2 {
		t.Fatalf("ATR after SIGUSR2: % X", atr)
	}

	// SIGTERM: clean exit, control socket removed, state kept.
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no exit within 10 s of SIGTERM")
	}
	if _, err := os.Lstat(ctl); !os.IsNotExist(err) {
		t.Errorf("control socket left behind: %v", err)
	}
	if _, err := os.Stat(state); err != nil {
		t.Errorf("state file: %v", err)
	}
	log := stderr.String()
	for _, want := range []string{"SIGUSR1: removing the card", "SIGUSR2: inserting the card", "stopped after 2 APDUs"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
}

func TestProcessRemoveAfter(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	cmd := child(t, "--port", port, "--remove-after", "300ms")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	ln.(*net.TCPListener).SetDeadline(time.Now().Add(20 * time.Second))
	conn, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := vpcd.ReadMsg(conn); err == nil {
		t.Fatal("got a message instead of the removal")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("removal after %v", d)
	}
	// Removed for good: no reconnection.
	ln.(*net.TCPListener).SetDeadline(time.Now().Add(500 * time.Millisecond))
	if c, err := ln.Accept(); err == nil {
		c.Close()
		t.Fatal("the card came back without an insert")
	}
}

func TestProcessQuitViaControl(t *testing.T) {
	ctl := filepath.Join(t.TempDir(), "ctl.sock")
	// Nothing listens on port 1: the card waits for vpcd, the control socket works.
	cmd := child(t, "--port", "1", "--control", ctl)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill() }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(ctl); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no control socket")
		}
		time.Sleep(20 * time.Millisecond)
	}
	out, err := child(t, "--control", ctl, "--send", "status").Output()
	if err != nil || !strings.HasPrefix(string(out), "ok inserted=true connected=false commands=0 ") {
		t.Fatalf("status while vpcd is away: %q, %v", out, err)
	}
	if out, err := child(t, "--control", ctl, "--send", "bogus").CombinedOutput(); err == nil || !strings.Contains(string(out), "unknown command") {
		t.Fatalf("--send bogus: %q, %v; want a failure", out, err)
	}
	out, err = child(t, "--control", ctl, "--send", "quit").Output()
	if err != nil || string(out) != "ok quitting\n" {
		t.Fatalf("--send quit: %q, %v", out, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after quit: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no exit after quit")
	}
}
