// Package vpcd is the card side of vsmartcard's virtual reader driver (vpcd): the
// framing codec, one connection's message loop, the reconnecting client, fault
// injection for robustness tests and the unix control socket.
//
// The wire format (vsmartcard's vpcd/vicc documentation): every message is a 2-byte
// big-endian length followed by that many bytes. From vpcd to the card, a 1-byte
// payload is a control code (power off, power on, reset, get ATR); anything longer is
// a command APDU. The card answers a command APDU and "get ATR" with one message and
// answers nothing to the other controls.
package vpcd

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Control codes sent by vpcd as a 1-byte payload.
const (
	CtrlPowerOff byte = 0x00
	CtrlPowerOn  byte = 0x01
	CtrlReset    byte = 0x02
	CtrlGetATR   byte = 0x04
)

// MaxPayload is the largest payload the 2-byte length prefix can describe.
const MaxPayload = 0xFFFF

// ErrTooLong is returned by WriteMsg for a payload the length prefix cannot carry.
var ErrTooLong = errors.New("vpcd: payload longer than 65535 bytes")

// ReadMsg reads one length-prefixed message. A zero-length message is returned as an
// empty, non-nil slice; the caller decides what it means. A stream that ends inside a
// message is io.ErrUnexpectedEOF; a stream that ends between messages is io.EOF.
func ReadMsg(r io.Reader) ([]byte, error) {
	var hdr [2]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	n := int(binary.BigEndian.Uint16(hdr[:]))
	buf := make([]byte, n)
	if _, err := io.ReadFull(r, buf); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("vpcd: reading %d-byte message: %w", n, err)
	}
	return buf, nil
}

// WriteMsg writes one length-prefixed message in a single Write call, so that a
// message is never interleaved with another writer's bytes.
func WriteMsg(w io.Writer, payload []byte) error {
	if len(payload) > MaxPayload {
		return ErrTooLong
	}
	buf := make([]byte, 2+len(payload))
	binary.BigEndian.PutUint16(buf, uint16(len(payload)))
	copy(buf[2:], payload)
	_, err := w.Write(buf)
	return err
}
