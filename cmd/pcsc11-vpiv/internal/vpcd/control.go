package vpcd

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"strings"
	"sync"
	"time"
)

// Controller executes the line commands of the control socket:
//
//	remove   take the card out of the reader (disconnect from vpcd)
//	insert   put it back (reconnect)
//	status   one line: inserted, connected, the APDU counters and whether an
//	         operation waits for a touch
//	touch    touch the card's sensor (an operation waiting for a touch goes on)
//	quit     stop the process
//	pinpad type DIGITS | cancel | timeout | clear | status
//	         script the PIN-pad reader's keypad (with --pinpad-port)
//
// Every command answers exactly one line, "ok ..." or "error: ...".
type Controller struct {
	Client *Client
	// Stats returns the engine's APDU counters. It is called without the door's card
	// lock, so that status answers while a command waits for a touch: the engine
	// locks its counters itself.
	Stats func(Card) (commands, bytesIn, bytesOut uint64)
	// Touch touches the card and reports whether an operation was waiting for it;
	// TouchWaiting reports whether one waits now. Nil: the card has no touch sensor.
	Touch        func() bool
	TouchWaiting func() bool
	Quit         func()
}

const commandList = "remove, insert, status, touch, quit"

// Exec runs one command line and returns the answer line (without newline). For
// "quit" it only answers and reports quit = true: the caller sends the answer first and
// then calls Quit, so the client still reads "ok quitting".
func (ct *Controller) Exec(line string) (answer string, quit bool) {
	// Before the switch: its default case echoes the command, and a pinpad line may
	// hold a PIN.
	if f := strings.Fields(line); len(f) > 0 && f[0] == "pinpad" {
		if ct.Client == nil || ct.Client.PINPad == nil {
			return "error: no PIN pad (start with --pinpad-port)", false
		}
		return ct.Client.PINPad.Exec(strings.Join(f[1:], " ")), false
	}
	switch cmd := strings.TrimSpace(line); cmd {
	case "remove":
		ct.Client.Remove()
		return "ok removed", false
	case "insert":
		ct.Client.Insert()
		return "ok inserted", false
	case "status":
		inserted, connected := ct.Client.State()
		var c, in, out uint64
		if ct.Stats != nil {
			c, in, out = ct.Stats(ct.Client.Card)
		}
		waiting := ct.TouchWaiting != nil && ct.TouchWaiting()
		return fmt.Sprintf("ok inserted=%t connected=%t commands=%d bytes_in=%d bytes_out=%d touch_waiting=%t",
			inserted, connected, c, in, out, waiting), false
	case "touch":
		if ct.Touch == nil {
			return "error: this card has no touch sensor", false
		}
		if !ct.Touch() {
			return "error: no operation is waiting for a touch", false
		}
		return "ok touched", false
	case "quit":
		return "ok quitting", true
	case "":
		return "error: empty command (commands: " + commandList + ")", false
	default:
		if len(cmd) > 32 {
			cmd = cmd[:32] + "..."
		}
		return fmt.Sprintf("error: unknown command %q (commands: %s)", cmd, commandList), false
	}
}

// ListenControl opens the unix control socket at path (mode 0600: it can remove the
// card and stop the process) and serves it until ctx ends. A stale socket left by a
// crashed run is replaced; any other existing file is an error, never overwritten.
func ListenControl(ctx context.Context, path string, ct *Controller, logf Logf) (wait func(), err error) {
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode()&fs.ModeSocket == 0 {
			return nil, fmt.Errorf("control socket %s: exists and is not a socket", path)
		}
		if c, err := net.DialTimeout("unix", path, 200*time.Millisecond); err == nil {
			c.Close()
			return nil, fmt.Errorf("control socket %s: another process is listening", path)
		}
		os.Remove(path)
	}
	old := umask(0o177)
	ln, err := net.Listen("unix", path)
	umask(old)
	if err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	var wg sync.WaitGroup
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				if !errors.Is(err, net.ErrClosed) {
					logf.printf("control socket: %v", err)
				}
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				serveControlConn(ctx, conn, ct)
			}()
		}
	}()
	return func() {
		stop()
		ln.Close()
		wg.Wait()
		os.Remove(path)
	}, nil
}

// serveControlConn answers commands on one connection, one line each. Lines are
// bounded so that a client cannot make us buffer without limit.
func serveControlConn(ctx context.Context, conn net.Conn, ct *Controller) {
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	sc := bufio.NewScanner(conn)
	sc.Buffer(make([]byte, 256), 256)
	for sc.Scan() {
		answer, quit := ct.Exec(sc.Text())
		if _, err := fmt.Fprintln(conn, answer); err != nil {
			return
		}
		if quit {
			if ct.Quit != nil {
				ct.Quit()
			}
			return
		}
	}
	if errors.Is(sc.Err(), bufio.ErrTooLong) {
		fmt.Fprintln(conn, "error: line too long")
	}
}
