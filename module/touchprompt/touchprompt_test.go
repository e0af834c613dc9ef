package touchprompt_test

import (
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/pcsc11/pcsc11/guard"
	"github.com/pcsc11/pcsc11/module/touchprompt"
	"github.com/pcsc11/pcsc11/module/touchprompt/touchprompttest"
)

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func yubikey() (string, bool) { return "YubiKey (serial 12345678)", true }

func TestPromptShownAfterDelayAndWithdrawn(t *testing.T) {
	addr := touchprompttest.Bus(t)
	svc := touchprompttest.Listen(t, addr)
	n := touchprompt.New(env(map[string]string{"DBUS_SESSION_BUS_ADDRESS": addr}), t.Logf)
	defer n.Close()

	start := time.Now()
	stop := n.Watch(yubikey, "sign")
	c := svc.Next(t, 5*time.Second)
	if c.Method != "Notify" || c.Summary != "Touch your YubiKey (serial 12345678) to sign" {
		t.Fatalf("got %s %q", c.Method, c.Summary)
	}
	if d := c.At.Sub(start); d < touchprompt.Delay {
		t.Fatalf("notified after %v, before the %v delay", d, touchprompt.Delay)
	}
	svc.Nothing(t, 100*time.Millisecond) // stays while the operation runs
	stop()
	w := svc.Next(t, 5*time.Second)
	if w.Method != "CloseNotification" || w.ID != c.ID {
		t.Fatalf("withdrawal: %s id %d, want CloseNotification of %d", w.Method, w.ID, c.ID)
	}
	t.Logf("shown %v after the operation started, withdrawn %v after it ended",
		c.At.Sub(start).Round(time.Millisecond), time.Since(w.At).Round(time.Millisecond))

	// A second prompt reuses the connection.
	stop = n.Watch(yubikey, "decrypt")
	if c := svc.Next(t, 5*time.Second); c.Summary != "Touch your YubiKey (serial 12345678) to decrypt" {
		t.Fatalf("second prompt %q", c.Summary)
	}
	stop()
	if w := svc.Next(t, 5*time.Second); w.Method != "CloseNotification" {
		t.Fatalf("second withdrawal: %s", w.Method)
	}
}

func TestNoPromptForQuickOperationsOrKeysWithoutTouch(t *testing.T) {
	addr := touchprompttest.Bus(t)
	svc := touchprompttest.Listen(t, addr)
	n := touchprompt.New(env(map[string]string{"DBUS_SESSION_BUS_ADDRESS": addr}), t.Logf)
	defer n.Close()

	stop := n.Watch(yubikey, "sign")
	time.Sleep(touchprompt.Delay / 10)
	stop()
	svc.Nothing(t, 2*touchprompt.Delay)

	asked := make(chan struct{}, 1)
	stop = n.Watch(func() (string, bool) { asked <- struct{}{}; return "", false }, "sign")
	defer stop()
	select {
	case <-asked:
	case <-time.After(5 * time.Second):
		t.Fatal("the device was never asked whether it waits for a touch")
	}
	svc.Nothing(t, 2*touchprompt.Delay)
}

func TestCloseWithdrawsShownPrompt(t *testing.T) {
	addr := touchprompttest.Bus(t)
	svc := touchprompttest.Listen(t, addr)
	n := touchprompt.New(env(map[string]string{"DBUS_SESSION_BUS_ADDRESS": addr}), t.Logf)
	stop := n.Watch(yubikey, "sign")
	defer stop()
	c := svc.Next(t, 5*time.Second)
	start := time.Now()
	n.Close()
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("Close took %v", d)
	}
	if w := svc.Next(t, 5*time.Second); w.Method != "CloseNotification" || w.ID != c.ID {
		t.Fatalf("after Close: %s %d", w.Method, w.ID)
	}
	// After Close nothing is shown any more.
	n.Watch(yubikey, "sign")
	svc.Nothing(t, 2*touchprompt.Delay)
}

// Without a notification service, or without a bus, nothing happens and nothing waits.
func TestNoServiceNoBus(t *testing.T) {
	addr := touchprompttest.Bus(t) // a bus nobody serves notifications on
	for name, vars := range map[string]map[string]string{
		"no service":     {"DBUS_SESSION_BUS_ADDRESS": addr},
		"no bus":         {"DBUS_SESSION_BUS_ADDRESS": "unix:path=" + filepath.Join(t.TempDir(), "absent")},
		"no address":     {},
		"tcp is refused": {"DBUS_SESSION_BUS_ADDRESS": "tcp:host=127.0.0.1,port=1"},
	} {
		t.Run(name, func(t *testing.T) {
			var logged []string
			var mu sync.Mutex
			n := touchprompt.New(env(vars), func(f string, a ...any) {
				mu.Lock()
				defer mu.Unlock()
				logged = append(logged, f)
			})
			start := time.Now()
			stop := n.Watch(yubikey, "sign")
			if d := time.Since(start); d > 50*time.Millisecond {
				t.Fatalf("Watch took %v", d)
			}
			time.Sleep(touchprompt.Delay + 200*time.Millisecond)
			start = time.Now()
			stop()
			n.Close()
			if d := time.Since(start); d > 3*time.Second {
				t.Fatalf("stop+Close took %v", d)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(logged) == 0 {
				t.Fatal("the failure was not logged")
			}
		})
	}
}

// A panic in the prompt's goroutine (injected through package guard's hook) is
// recovered: the host survives, and Close does not wait for a goroutine that died.
func TestPromptGoroutinePanicIsRecovered(t *testing.T) {
	guard.SetTestHook(func(name string) {
		if name == guard.TouchPrompt {
			panic("injected into the touch prompt")
		}
	})
	defer guard.SetTestHook(nil)
	n := touchprompt.New(env(map[string]string{}), t.Logf)
	stop := n.Watch(yubikey, "sign")
	stop()
	done := make(chan struct{})
	go func() { n.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(3 * time.Second):
		t.Fatal("Close hung after the prompt's goroutine panicked")
	}
}
