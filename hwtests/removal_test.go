package hwtests

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pcsc11/pcsc11/hwtests/internal/pcscwait"
)

// Removal and insertion of the virtual card, as pcscd and its clients see them,
// driven through the card's control socket and through its signals.

func control(t *testing.T, cmd string) string {
	t.Helper()
	return controlAt(t, tgt.control, cmd)
}

// controlAt sends one command to the control socket at path and returns the answer.
func controlAt(t *testing.T, path, cmd string) string {
	t.Helper()
	c, err := net.DialTimeout("unix", path, 5*time.Second)
	if err != nil {
		t.Fatalf("control socket: %v", err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintln(c, cmd)
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		t.Fatalf("control %s: %v", cmd, err)
	}
	return strings.TrimSpace(line)
}

func waitState(t *testing.T, reader string, present bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	if _, err := pcscwait.Wait(ctx, pcscwait.Match{Exact: reader}, present); err != nil {
		t.Fatal(err)
	}
	t.Logf("card present=%t after %v", present, time.Since(start).Round(time.Millisecond))
}

var commandsRE = regexp.MustCompile(`commands=(\d+)`)

func TestRemoveInsertControlSocket(t *testing.T) {
	r := needCard(t)
	if tgt.control == "" {
		t.Skip("PCSC11_VPIV_CONTROL is not set (the card is not pcsc11-vpiv)")
	}
	if _, err := os.Stat(tgt.control); err != nil {
		t.Skipf("control socket: %v", err)
	}
	runTool(t, "yubico-piv-tool", "-r", r, "-a", "version") // at least one APDU
	st := control(t, "status")
	m := commandsRE.FindStringSubmatch(st)
	if !strings.HasPrefix(st, "ok inserted=true connected=true ") || m == nil {
		t.Fatalf("status = %q", st)
	}
	if n, _ := strconv.Atoi(m[1]); n < 1 {
		t.Fatalf("status counts %s commands after yubico-piv-tool ran", m[1])
	}
	t.Cleanup(func() { control(t, "insert") }) // never leave the card out

	if got := control(t, "remove"); got != "ok removed" {
		t.Fatalf("remove = %q", got)
	}
	waitState(t, r, false)
	if out, _, err := runToolErr("yubico-piv-tool", "-r", r, "-a", "version"); err == nil {
		t.Fatalf("yubico-piv-tool still talks to a removed card: %q", out)
	}
	if got := control(t, "insert"); got != "ok inserted" {
		t.Fatalf("insert = %q", got)
	}
	waitState(t, r, true)
	// The card keeps its persistent state across removal.
	out := runTool(t, "yubico-piv-tool", "-r", r, "-a", "status")
	if tgt.demo {
		mustContain(t, "status after re-insertion", out, "CN=pcsc11 demo PIV Authentication")
	}
	if got := control(t, "frobnicate"); !strings.HasPrefix(got, "error: unknown command") {
		t.Errorf("unknown command answered %q", got)
	}
}

func TestRemoveInsertSignals(t *testing.T) {
	r := needCard(t)
	b, err := os.ReadFile(filepath.Join(rigDir(), "vpiv.pid"))
	if err != nil {
		t.Skip("pcsc11-vpiv was not started by hwtests/rig.sh (no PID file)")
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatalf("PID file: %v", err)
	}
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGUSR2) })
	if err := syscall.Kill(pid, syscall.SIGUSR1); err != nil {
		t.Fatalf("SIGUSR1: %v", err)
	}
	waitState(t, r, false)
	if err := syscall.Kill(pid, syscall.SIGUSR2); err != nil {
		t.Fatalf("SIGUSR2: %v", err)
	}
	waitState(t, r, true)
	runTool(t, "yubico-piv-tool", "-r", r, "-a", "version")
}
