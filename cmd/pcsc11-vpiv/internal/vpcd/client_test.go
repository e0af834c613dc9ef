package vpcd

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeCard records power events and answers INS + 90 00, or a TLV to GET DATA.
type fakeCard struct {
	mu                  sync.Mutex
	on, off, reset, cmd int
}

var fakeATR = []byte{0x3B, 0xF8, 0x13, 0x00, 0x00, 0x81, 0x31, 0xFE, 0x15}

func (c *fakeCard) ATR() []byte { return fakeATR }
func (c *fakeCard) PowerOn()    { c.mu.Lock(); c.on++; c.mu.Unlock() }
func (c *fakeCard) PowerOff()   { c.mu.Lock(); c.off++; c.mu.Unlock() }
func (c *fakeCard) Reset()      { c.mu.Lock(); c.reset++; c.mu.Unlock() }
func (c *fakeCard) Process(cmd []byte) []byte {
	c.mu.Lock()
	c.cmd++
	c.mu.Unlock()
	if cmd[1] == 0xCB {
		return append([]byte(nil), okResp...)
	}
	return []byte{cmd[1], 0x90, 0x00}
}
func (c *fakeCard) counts() (on, off, reset, cmd int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.on, c.off, c.reset, c.cmd
}

// fakeVPCD is the reader side: it listens like vpcd and talks to one card at a time.
type fakeVPCD struct {
	t  *testing.T
	ln net.Listener
}

func newFakeVPCD(t *testing.T) *fakeVPCD {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return &fakeVPCD{t: t, ln: ln}
}

// accept waits for the card to connect, failing the test after d.
func (v *fakeVPCD) accept(d time.Duration) net.Conn {
	v.t.Helper()
	conn, err := v.tryAccept(d)
	if err != nil {
		v.t.Fatalf("card did not connect within %v: %v", d, err)
	}
	v.t.Cleanup(func() { conn.Close() })
	return conn
}

func (v *fakeVPCD) tryAccept(d time.Duration) (net.Conn, error) {
	v.ln.(*net.TCPListener).SetDeadline(time.Now().Add(d))
	return v.ln.Accept()
}

func exchange(t *testing.T, conn net.Conn, msg []byte) []byte {
	t.Helper()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	if err := WriteMsg(conn, msg); err != nil {
		t.Fatalf("send % X: %v", msg, err)
	}
	resp, err := ReadMsg(conn)
	if err != nil {
		t.Fatalf("answer to % X: %v", msg, err)
	}
	return resp
}

func startClient(t *testing.T, addr string, card Card, inj *Injector) (*Client, context.CancelFunc, <-chan error) {
	t.Helper()
	var logMu sync.Mutex
	c := &Client{Addr: addr, Card: card, Inject: inj, MinBackoff: 20 * time.Millisecond, MaxBackoff: 100 * time.Millisecond,
		Logf: func(f string, a ...any) { logMu.Lock(); t.Logf(f, a...); logMu.Unlock() }}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Error("Client.Run did not return after cancel")
		}
	})
	return c, cancel, done
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestClientProtocol(t *testing.T) {
	v := newFakeVPCD(t)
	card := &fakeCard{}
	startClient(t, v.ln.Addr().String(), card, nil)
	conn := v.accept(5 * time.Second)

	if got := exchange(t, conn, []byte{CtrlGetATR}); !bytes.Equal(got, fakeATR) {
		t.Fatalf("ATR = % X, want % X", got, fakeATR)
	}
	// Power on, reset and off are not answered: the next answer is the APDU's.
	for _, ctrl := range []byte{CtrlPowerOn, CtrlReset, CtrlPowerOff, CtrlPowerOn, 0x03} {
		if err := WriteMsg(conn, []byte{ctrl}); err != nil {
			t.Fatal(err)
		}
	}
	if got := exchange(t, conn, []byte{0x00, 0xFD, 0x00, 0x00}); !bytes.Equal(got, []byte{0xFD, 0x90, 0x00}) {
		t.Fatalf("APDU answer % X", got)
	}
	on, off, reset, cmd := card.counts()
	if on != 2 || off != 1 || reset != 1 || cmd != 1 {
		t.Fatalf("card saw on=%d off=%d reset=%d cmd=%d, want 2 1 1 1", on, off, reset, cmd)
	}
	// An empty message is ignored, the connection stays usable.
	if err := WriteMsg(conn, nil); err != nil {
		t.Fatal(err)
	}
	if got := exchange(t, conn, getData); !bytes.Equal(got, okResp) {
		t.Fatalf("GET DATA answer % X", got)
	}
}

func TestClientRemoveInsert(t *testing.T) {
	v := newFakeVPCD(t)
	card := &fakeCard{}
	c, _, _ := startClient(t, v.ln.Addr().String(), card, nil)
	conn := v.accept(5 * time.Second)
	exchange(t, conn, []byte{CtrlGetATR})
	waitFor(t, "connected state", func() bool { _, conn := c.State(); return conn })

	c.Remove()
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := ReadMsg(conn); err == nil {
		t.Fatal("connection still open after Remove")
	}
	// Remove is immediate for "inserted"; the client's loop notices the closed
	// connection, then records it and powers the card off: wait for that.
	if ins, _ := c.State(); ins {
		t.Fatal("after Remove: still inserted")
	}
	waitFor(t, "disconnected state after Remove", func() bool { _, connd := c.State(); return !connd })
	waitFor(t, "the card powered off by the removal", func() bool { _, off, _, _ := card.counts(); return off >= 1 })
	if extra, err := v.tryAccept(300 * time.Millisecond); err == nil {
		extra.Close()
		t.Fatal("a removed card reconnected on its own")
	}

	c.Insert()
	conn2 := v.accept(5 * time.Second)
	if got := exchange(t, conn2, []byte{CtrlGetATR}); !bytes.Equal(got, fakeATR) {
		t.Fatalf("ATR after insert = % X", got)
	}
}

func TestClientReconnectsAfterVPCDRestart(t *testing.T) {
	v := newFakeVPCD(t)
	addr := v.ln.Addr().String()
	card := &fakeCard{}
	startClient(t, addr, card, nil)
	conn := v.accept(5 * time.Second)
	exchange(t, conn, []byte{CtrlGetATR})

	// vpcd drops the card (pcscd stopping) and is away for a while.
	conn.Close()
	v.ln.Close()
	time.Sleep(150 * time.Millisecond)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("cannot re-listen on %s: %v", addr, err)
	}
	v.ln = ln
	t.Cleanup(func() { ln.Close() })
	conn2 := v.accept(5 * time.Second)
	if got := exchange(t, conn2, []byte{CtrlGetATR}); !bytes.Equal(got, fakeATR) {
		t.Fatalf("ATR after reconnect = % X", got)
	}
}

func TestClientInjectionOnTheWire(t *testing.T) {
	v := newFakeVPCD(t)
	inj, _ := NewInjector(InjectTruncate, 2, 0)
	startClient(t, v.ln.Addr().String(), &fakeCard{}, inj)
	conn := v.accept(5 * time.Second)
	apdu := []byte{0x00, 0xF8, 0x00, 0x00}
	if got := exchange(t, conn, apdu); len(got) != 3 {
		t.Fatalf("first answer % X, want untouched", got)
	}
	if got := exchange(t, conn, apdu); !bytes.Equal(got, []byte{0xF8}) {
		t.Fatalf("second answer % X, want truncated to F8", got)
	}
	// The ATR is a control answer, never injected.
	if got := exchange(t, conn, []byte{CtrlGetATR}); !bytes.Equal(got, fakeATR) {
		t.Fatalf("ATR % X", got)
	}
}

func TestClientStopsOnCancelWhileWaiting(t *testing.T) {
	// Nothing listens here: the client keeps retrying until cancelled.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	c := &Client{Addr: addr, Card: &fakeCard{}, MinBackoff: 20 * time.Millisecond}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	time.Sleep(100 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if err != context.Canceled {
			t.Fatalf("Run = %v, want context.Canceled", err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("Run did not stop")
	}
}

func TestControlSocket(t *testing.T) {
	v := newFakeVPCD(t)
	card := &fakeCard{}
	c, _, _ := startClient(t, v.ln.Addr().String(), card, nil)
	conn := v.accept(5 * time.Second)
	exchange(t, conn, []byte{0x00, 0xFD, 0x00, 0x00})

	quit := make(chan struct{})
	var waiting atomic.Bool // a stand-in for the engine's touch sensor
	ct := &Controller{Client: c,
		Stats: func(card Card) (uint64, uint64, uint64) {
			_, _, _, n := card.(*fakeCard).counts()
			return uint64(n), 4 * uint64(n), 3 * uint64(n)
		},
		Touch:        func() bool { return waiting.Swap(false) },
		TouchWaiting: waiting.Load,
		Quit:         func() { close(quit) }}
	dir := t.TempDir()
	path := filepath.Join(dir, "ctl.sock")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	wait, err := ListenControl(ctx, path, ct, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket mode: %v %v, want 0600", fi.Mode(), err)
	}
	cc, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	r := bufio.NewReader(cc)
	ask := func(cmd string) string {
		t.Helper()
		cc.SetDeadline(time.Now().Add(5 * time.Second))
		fmt.Fprintln(cc, cmd)
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("%s: %v", cmd, err)
		}
		return strings.TrimSuffix(line, "\n")
	}
	waitFor(t, "connected", func() bool { _, ok := c.State(); return ok })
	if got := ask("status"); got != "ok inserted=true connected=true commands=1 bytes_in=4 bytes_out=3 touch_waiting=false" {
		t.Fatalf("status = %q", got)
	}
	if got := ask("touch"); got != "error: no operation is waiting for a touch" {
		t.Fatalf("touch with nothing waiting = %q", got)
	}
	waiting.Store(true)
	if got := ask("status"); !strings.HasSuffix(got, " touch_waiting=true") {
		t.Fatalf("status while waiting = %q", got)
	}
	if got := ask("touch"); got != "ok touched" || waiting.Load() {
		t.Fatalf("touch = %q (still waiting: %t)", got, waiting.Load())
	}
	if got := ask("bogus"); !strings.HasPrefix(got, "error: unknown command") {
		t.Fatalf("bogus = %q", got)
	}
	if got := ask("remove"); got != "ok removed" {
		t.Fatalf("remove = %q", got)
	}
	if got := ask("status"); !strings.HasPrefix(got, "ok inserted=false connected=false") {
		t.Fatalf("status after remove = %q", got)
	}
	if got := ask("insert"); got != "ok inserted" {
		t.Fatalf("insert = %q", got)
	}
	v.accept(5 * time.Second)
	if got := ask("quit"); got != "ok quitting" {
		t.Fatalf("quit = %q", got)
	}
	select {
	case <-quit:
	case <-time.After(time.Second):
		t.Fatal("quit did not call Quit")
	}
	// quit ends the connection after its answer.
	if _, err := r.ReadString('\n'); err == nil {
		t.Fatal("connection still open after quit")
	}
	// A line longer than the limit is refused, not buffered.
	cc2, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer cc2.Close()
	fmt.Fprintln(cc2, strings.Repeat("x", 1000))
	cc2.SetDeadline(time.Now().Add(5 * time.Second))
	if line, _ := bufio.NewReader(cc2).ReadString('\n'); !strings.Contains(line, "too long") {
		t.Fatalf("long line answer %q", line)
	}
	cancel()
	wait()
	if _, err := os.Lstat(path); !os.IsNotExist(err) {
		t.Fatalf("socket file left behind: %v", err)
	}
}

func TestControlSocketRefusesRegularFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "not-a-socket")
	if err := os.WriteFile(path, []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := ListenControl(context.Background(), path, &Controller{}, nil)
	if err == nil || !strings.Contains(err.Error(), "not a socket") {
		t.Fatalf("ListenControl over a file = %v", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "keep me" {
		t.Fatal("the file was overwritten")
	}
}
