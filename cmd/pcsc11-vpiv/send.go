package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strings"
	"time"
)

// send is the client side of the control socket, so that scripts need no socat/nc:
// it sends one command line and prints the one-line answer. An "error: ..." answer is
// returned as an error (non-zero exit status).
func send(path, cmd string, out io.Writer) error {
	conn, err := net.DialTimeout("unix", path, 5*time.Second)
	if err != nil {
		return fmt.Errorf("control socket: %w", err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := fmt.Fprintln(conn, strings.TrimSpace(cmd)); err != nil {
		return fmt.Errorf("control socket: %w", err)
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return fmt.Errorf("control socket: no answer: %w", err)
	}
	line = strings.TrimSuffix(line, "\n")
	if strings.HasPrefix(line, "error") {
		return fmt.Errorf("control socket: %s", line)
	}
	fmt.Fprintln(out, line)
	return nil
}
