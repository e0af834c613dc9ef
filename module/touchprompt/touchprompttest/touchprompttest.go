// Package touchprompttest gives tests a private session bus (dbus-daemon --session on
// a socket of their own) and a fake notification service on it that records what it
// is asked, to observe the touch prompt from outside.
package touchprompttest

import (
	"bufio"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/pcsc11/pcsc11/module/touchprompt"
)

// Bus starts a session bus of the test's own (dbus-daemon --session on a
// socket in a temporary directory) and returns its address.
func Bus(t testing.TB) string {
	t.Helper()
	daemon, err := exec.LookPath("dbus-daemon")
	if err != nil {
		t.Skip("dbus-daemon not installed: the notification tests need a private session bus (apt-get install dbus-daemon)")
	}
	sock := filepath.Join(t.TempDir(), "bus")
	cmd := exec.Command(daemon, "--session", "--nofork", "--nopidfile", "--print-address=1", "--address=unix:path="+sock)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	// Its stderr (a complaint about the fd limit when not root) stays out of the log.
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("dbus-daemon printed no address: %v", err)
	}
	return strings.TrimSpace(line)
}

// Call is one method call the fake notification service received.
type Call struct {
	Method  string // Notify or CloseNotification
	Summary string // Notify's summary
	ID      uint32 // the notification's id
	At      time.Time
}

// Service is a fake org.freedesktop.Notifications; Calls receives every call.
type Service struct {
	Calls chan Call
	mu    sync.Mutex
	next  uint32
}

func (s *Service) Notify(app string, replaces uint32, icon, summary, body string, actions []string,
	hints map[string]dbus.Variant, expire int32) (uint32, *dbus.Error) {
	s.mu.Lock()
	s.next++
	id := s.next
	s.mu.Unlock()
	s.Calls <- Call{Method: "Notify", Summary: summary, ID: id, At: time.Now()}
	return id, nil
}

func (s *Service) CloseNotification(id uint32) *dbus.Error {
	s.Calls <- Call{Method: "CloseNotification", ID: id, At: time.Now()}
	return nil
}

// Listen puts a fake service on the bus at addr, for the test's life.
func Listen(t testing.TB, addr string) *Service {
	t.Helper()
	s, closeFn, err := Serve(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closeFn)
	return s
}

// Serve puts a fake service on the bus at addr (for programs: hwtests' listener);
// closeFn leaves the bus.
func Serve(addr string) (s *Service, closeFn func(), err error) {
	conn, err := dbus.Connect(addr)
	if err != nil {
		return nil, nil, err
	}
	s = &Service{Calls: make(chan Call, 16)}
	if err := conn.Export(s, touchprompt.ObjectPath, touchprompt.Interface); err != nil {
		conn.Close()
		return nil, nil, err
	}
	reply, err := conn.RequestName(touchprompt.BusName, dbus.NameFlagDoNotQueue)
	if err == nil && reply != dbus.RequestNameReplyPrimaryOwner {
		err = fmt.Errorf("RequestName: reply %v", reply)
	}
	if err != nil {
		conn.Close()
		return nil, nil, err
	}
	return s, func() { conn.Close() }, nil
}

// Next returns the next call, failing the test when none comes within d.
func (s *Service) Next(t testing.TB, d time.Duration) Call {
	t.Helper()
	select {
	case c := <-s.Calls:
		return c
	case <-time.After(d):
		t.Fatal("the notification service received nothing")
	}
	return Call{}
}

// Nothing fails the test when a call comes within d.
func (s *Service) Nothing(t testing.TB, d time.Duration) {
	t.Helper()
	select {
	case c := <-s.Calls:
		t.Fatalf("unexpected %s %q", c.Method, c.Summary)
	case <-time.After(d):
	}
}
