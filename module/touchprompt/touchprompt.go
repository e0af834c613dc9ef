// Package touchprompt asks the user, through a desktop notification, to touch a
// device that waits for a touch (a YubiKey key with a touch policy), and withdraws the
// notification when the operation ends.
//
// It speaks the freedesktop Desktop Notifications interface
// (org.freedesktop.Notifications: Notify, CloseNotification) on the session D-Bus,
// through github.com/godbus/dbus/v5. It is opt-in (the module turns it on with
// PCSC11_TOUCH_NOTIFY=1) and costs the operation nothing: Watch only starts a timer;
// the bus is reached from a goroutine of the notifier, connected on first need with a
// short timeout, and when there is no bus or no notification service nothing happens.
package touchprompt

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/pcsc11/pcsc11/guard"
)

// Delay is how long an operation may run before the user is asked to touch: a key
// whose touch is cached (or was given at once) answers well before it.
const Delay = 300 * time.Millisecond

// The D-Bus names of the Desktop Notifications specification.
const (
	BusName    = "org.freedesktop.Notifications"
	ObjectPath = dbus.ObjectPath("/org/freedesktop/Notifications")
	Interface  = "org.freedesktop.Notifications"
)

const (
	// callTimeout bounds every exchange with the bus (connect, Notify, Close).
	callTimeout = 2 * time.Second
	// expireAfter: the notification disappears by itself a little after a YubiKey
	// gives up waiting (15 s), should its withdrawal ever be lost.
	expireAfter = 20 * time.Second
	// retryAfter: after a failed connection, the bus is not tried again for this long,
	// so that a desktop without a bus costs one attempt per minute at most.
	retryAfter = time.Minute
)

// Notifier shows touch prompts. The zero value is not usable; use New. All methods
// are safe for concurrent use.
type Notifier struct {
	getenv func(string) string
	delay  time.Duration
	logf   func(format string, args ...any)

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu         sync.Mutex // guards conn, connCancel, failedAt
	conn       *dbus.Conn
	connCancel context.CancelFunc
	failedAt   time.Time
}

// New returns a notifier. getenv reads DBUS_SESSION_BUS_ADDRESS and XDG_RUNTIME_DIR
// (the module passes its own Getenv, which sees the live C environment); logf, if
// not nil, hears why a prompt could not be shown (never anything secret).
func New(getenv func(string) string, logf func(format string, args ...any)) *Notifier {
	if getenv == nil {
		getenv = os.Getenv
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Notifier{getenv: getenv, delay: Delay, logf: logf, ctx: ctx, cancel: cancel}
}

// Watch starts watching one operation. If the operation has not ended after Delay and
// device reports that it may wait for a touch, a notification "Touch your <device> to
// <verb>" is shown, and withdrawn when the operation ends. The returned stop ends the
// watch; it never blocks. device is called from the notifier's goroutine, after Delay.
func (n *Notifier) Watch(device func() (name string, mayWait bool), verb string) (stop func()) {
	done := make(chan struct{})
	var once sync.Once
	stop = func() { once.Do(func() { close(done) }) }
	if n.ctx.Err() != nil {
		return stop
	}
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		// A goroutine of a library inside someone else's process: a panic is
		// recovered and logged by package guard, never the end of the host.
		guard.Func(guard.TouchPrompt, func() { n.run(done, device, verb) }, nil)()
	}()
	return stop
}

func (n *Notifier) run(done <-chan struct{}, device func() (string, bool), verb string) {
	t := time.NewTimer(n.delay)
	defer t.Stop()
	select {
	case <-done:
		return
	case <-n.ctx.Done():
		return
	case <-t.C:
	}
	name, ok := device()
	if !ok {
		return
	}
	conn := n.connection()
	if conn == nil {
		return
	}
	id, err := n.notify(conn, "Touch your "+name+" to "+verb)
	if err != nil {
		n.log("touch prompt: no notification: %v", err)
		n.drop(conn)
		return
	}
	select {
	case <-done:
	case <-n.ctx.Done():
	}
	// Withdraw it also when the library is finalized meanwhile: a fresh context, the
	// call is bounded by callTimeout and Close closes the connection after wg.Wait.
	if err := n.close(conn, id); err != nil {
		n.log("touch prompt: withdrawing notification %d: %v", id, err)
	}
}

// Close withdraws every notification shown, ends the watches and closes the bus
// connection. It returns when the notifier's goroutines have ended (each bounded by
// callTimeout). Watch after Close does nothing.
func (n *Notifier) Close() {
	n.cancel()
	n.wg.Wait()
	n.mu.Lock()
	conn, cancel := n.conn, n.connCancel
	n.conn, n.connCancel = nil, nil
	n.mu.Unlock()
	if conn != nil {
		conn.Close()
		cancel()
	}
}

func (n *Notifier) log(format string, args ...any) {
	if n.logf != nil {
		n.logf(format, args...)
	}
}

// connection returns the bus connection, connecting on first need. Two watches that
// need it at once may both dial; the loser closes its connection.
func (n *Notifier) connection() *dbus.Conn {
	n.mu.Lock()
	if n.conn != nil {
		c := n.conn
		n.mu.Unlock()
		return c
	}
	if !n.failedAt.IsZero() && time.Since(n.failedAt) < retryAfter {
		n.mu.Unlock()
		return nil
	}
	n.mu.Unlock()

	conn, cancel, err := n.dial()
	n.mu.Lock()
	defer n.mu.Unlock()
	if err != nil {
		n.failedAt = time.Now()
		n.log("touch prompt: no session bus: %v", err)
		return nil
	}
	if n.ctx.Err() != nil || n.conn != nil {
		conn.Close()
		cancel()
		return n.conn // nil after Close
	}
	n.conn, n.connCancel, n.failedAt = conn, cancel, time.Time{}
	return conn
}

// drop forgets a connection that failed, so that the next prompt dials again.
func (n *Notifier) drop(conn *dbus.Conn) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.conn == conn && !conn.Connected() {
		n.conn = nil
		conn.Close()
		n.connCancel()
	}
}

// busAddress is the session bus: DBUS_SESSION_BUS_ADDRESS, else the per-user socket
// $XDG_RUNTIME_DIR/bus that systemd's user bus offers. Only unix sockets are used:
// other transports (tcp, autolaunch, which would start a program) are refused.
func (n *Notifier) busAddress() (string, error) {
	if a := n.getenv("DBUS_SESSION_BUS_ADDRESS"); a != "" {
		for _, part := range strings.Split(a, ";") {
			if strings.HasPrefix(part, "unix:") {
				return part, nil
			}
		}
		return "", errors.New("DBUS_SESSION_BUS_ADDRESS names no unix socket")
	}
	if dir := n.getenv("XDG_RUNTIME_DIR"); dir != "" {
		p := filepath.Join(dir, "bus")
		if fi, err := os.Stat(p); err == nil && fi.Mode()&os.ModeSocket != 0 {
			return "unix:path=" + p, nil
		}
	}
	return "", errors.New("DBUS_SESSION_BUS_ADDRESS is not set")
}

// dial connects and authenticates within callTimeout. The connection does not live
// under n.ctx: Close still withdraws the notifications shown before it closes it.
func (n *Notifier) dial() (*dbus.Conn, context.CancelFunc, error) {
	addr, err := n.busAddress()
	if err != nil {
		return nil, nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	// Until connected, a timeout or Close ends an attempt that hangs in authentication.
	timer := time.AfterFunc(callTimeout, cancel)
	stopOnClose := context.AfterFunc(n.ctx, cancel)
	conn, err := dbus.Connect(addr, dbus.WithContext(ctx))
	intime, open := timer.Stop(), stopOnClose()
	if err == nil && (!intime || !open) {
		conn.Close()
		err = errors.New("timed out or closed")
	}
	if err != nil {
		cancel()
		return nil, nil, fmt.Errorf("connecting to %s: %w", addr, err)
	}
	return conn, cancel, nil
}

// notify calls Notify(app_name, replaces_id, app_icon, summary, body, actions, hints,
// expire_timeout) and returns the notification's id.
//
// The call is not cut short by Close: the service may have shown the notification
// already, and only its id lets Close withdraw it.
func (n *Notifier) notify(conn *dbus.Conn, summary string) (uint32, error) {
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	hints := map[string]dbus.Variant{
		"urgency":  dbus.MakeVariant(byte(1)), // normal
		"category": dbus.MakeVariant("device"),
	}
	call := conn.Object(BusName, ObjectPath).CallWithContext(ctx, Interface+".Notify", 0,
		"pcsc11", uint32(0), "security-high", summary,
		"The operation goes on when you touch it; it is cancelled if you do not.",
		[]string{}, hints, int32(expireAfter/time.Millisecond))
	var id uint32
	if err := call.Store(&id); err != nil {
		return 0, err
	}
	return id, nil
}

// close calls CloseNotification(id).
func (n *Notifier) close(conn *dbus.Conn, id uint32) error {
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	return conn.Object(BusName, ObjectPath).CallWithContext(ctx, Interface+".CloseNotification", 0, id).Err
}
