package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"unsafe"
)

// A secret (PIN, PUK, management key) comes, in this order, from the environment
// variable named for it, from the file given with the command's --*-file flag, or from
// a prompt on the terminal with echo off. It is never taken from a visible argument:
// other users see arguments in ps(1) and shells keep them in their history.
type secretSource struct {
	env    string // e.g. PCSC11_PIN
	file   string // the --pin-file value, "" when not given
	prompt string // e.g. "PIN"
}

// read returns the secret; the caller clears it after use.
func (a *app) readSecret(s secretSource) ([]byte, error) {
	if v := a.getenv(s.env); v != "" {
		return []byte(v), nil
	}
	if s.file != "" {
		b, err := os.ReadFile(s.file)
		if err != nil {
			return nil, fmt.Errorf("%s file: %v", s.prompt, err)
		}
		return []byte(strings.TrimRight(string(b), "\r\n")), nil
	}
	tty, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil {
		return nil, usageErr("no %s: set %s or give a file (no terminal to ask on)", s.prompt, s.env)
	}
	defer tty.Close()
	fmt.Fprintf(tty, "%s: ", s.prompt)
	restore, err := echoOff(tty)
	if err != nil {
		return nil, fmt.Errorf("cannot turn off echo on the terminal: %v", err)
	}
	line, rerr := bufio.NewReader(tty).ReadString('\n')
	restore()
	fmt.Fprintln(tty)
	if rerr != nil && line == "" {
		return nil, errors.New("no " + s.prompt + " typed")
	}
	return []byte(strings.TrimRight(line, "\r\n")), nil
}

// echoOff clears ECHO on the terminal (Linux termios) and returns how to restore it.
func echoOff(tty *os.File) (func(), error) {
	fd := tty.Fd()
	var old syscall.Termios
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, fd, syscall.TCGETS, uintptr(unsafe.Pointer(&old))); e != 0 {
		return nil, e
	}
	quiet := old
	quiet.Lflag &^= syscall.ECHO
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, fd, syscall.TCSETS, uintptr(unsafe.Pointer(&quiet))); e != 0 {
		return nil, e
	}
	return func() {
		syscall.Syscall(syscall.SYS_IOCTL, fd, syscall.TCSETS, uintptr(unsafe.Pointer(&old)))
	}, nil
}
