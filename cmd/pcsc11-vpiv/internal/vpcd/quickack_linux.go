package vpcd

import (
	"net"
	"syscall"
)

// vpcd writes each message as two send() calls (length, then payload) on a socket
// with Nagle's algorithm on: the payload waits until our kernel acknowledges the
// length, and Linux delays that ACK by up to 40 ms. Every APDU would take ~50 ms
// (measured: 50 GET VERSION in 2.4 s). TCP_QUICKACK, re-armed before every read
// because the kernel clears it, makes the ACK immediate.
func quickAck(c net.Conn) {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		return
	}
	raw.Control(func(fd uintptr) {
		syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_QUICKACK, 1)
	})
}
