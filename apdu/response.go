package apdu

import (
	"errors"
	"fmt"
)

// ErrShortResponse is wrapped when a card answers fewer than the two status bytes.
var ErrShortResponse = errors.New("apdu: response shorter than 2 bytes")

// Response is a response APDU.
type Response struct {
	Data []byte
	SW   uint16
}

// ParseResponse splits raw into data and SW1SW2; error when len(raw) < 2. Data is a copy
// so the transport may reuse its buffer.
func ParseResponse(raw []byte) (Response, error) {
	if len(raw) < 2 {
		return Response{}, fmt.Errorf("%w (got %d)", ErrShortResponse, len(raw))
	}
	n := len(raw) - 2
	return Response{Data: clone(raw[:n]), SW: uint16(raw[n])<<8 | uint16(raw[n+1])}, nil
}

// Bytes serializes r (data || SW1 SW2).
func (r Response) Bytes() []byte {
	out := make([]byte, 0, len(r.Data)+2)
	out = append(out, r.Data...)
	return append(out, byte(r.SW>>8), byte(r.SW))
}

// SW1 and SW2 split the status word.
func (r Response) SW1() byte { return byte(r.SW >> 8) }
func (r Response) SW2() byte { return byte(r.SW) }

// OK reports SW 9000.
func (r Response) OK() bool { return r.SW == SWOK }

// Err returns nil for 9000 and a *StatusError for anything else.
func (r Response) Err(ins byte) error {
	if r.SW == SWOK {
		return nil
	}
	return &StatusError{SW: r.SW, INS: ins}
}
