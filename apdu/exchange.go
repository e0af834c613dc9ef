package apdu

import (
	"errors"
	"fmt"
)

// Transmitter sends one raw APDU and returns the raw response (reader.Card satisfies it).
// It must not keep cmd after returning, and the answer it returns is the caller's:
// Exchange wipes commands that carry secrets, and answers that may hold one.
type Transmitter interface {
	Transmit(cmd []byte) ([]byte, error)
}

// Options for Exchange.
type Options struct {
	// Extended: send data over 255 bytes in one extended APDU instead of chaining.
	Extended bool
	// MaxResponse bounds the total collected response (61xx chain); default 64 KiB.
	MaxResponse int
}

// DefaultMaxResponse is Options.MaxResponse when zero or negative.
const DefaultMaxResponse = 65536

// MaxGetResponse bounds the number of GET RESPONSE commands one Exchange sends, so a card
// answering 61xx with little or no data cannot keep us busy even below MaxResponse.
const MaxGetResponse = 1024

// Errors from a card that breaks the response protocol.
var (
	ErrResponseTooLong = errors.New("apdu: response exceeds the maximum size")
	ErrTooManyChained  = errors.New("apdu: too many GET RESPONSE rounds")
	// ErrEmptyGetResponse: a GET RESPONSE answered 61xx ("more data") without data. A
	// card that does so never finishes; without this check it held a call for up to
	// MaxGetResponse rounds (about 45 s at vpcd's 44 ms per APDU).
	ErrEmptyGetResponse = errors.New("apdu: GET RESPONSE brought no data but announced more")
)

// claChain is the ISO 7816-4 §5.4.1 "command chaining" bit of an interindustry CLA.
const claChain = 0x10

// insGetResponse is GET RESPONSE (ISO 7816-4 §7.6.1).
const insGetResponse = 0xC0

// Exchange sends cmd with command chaining (CLA|0x10 on all but the last block of 255)
// when Data > 255 and !opts.Extended, follows 61xx with GET RESPONSE (00 C0 00 00 xx)
// collecting the data, re-sends once with Le=xx on 6Cxx, and returns the data for 9000
// or a *StatusError for any other final SW (63Cx included). Transport errors pass
// through unchanged. Bounded: no infinite 61xx loop, no response over MaxResponse, and
// a GET RESPONSE that brings no data while announcing more ends it (ErrEmptyGetResponse).
//
// Without opts.Extended every APDU is short: an Ne above 256 is sent as Le=00 and the
// rest is expected through 61xx, which every PIV card supports.
func Exchange(t Transmitter, cmd Command, opts Options) ([]byte, error) {
	x, err := begin(t, cmd, opts)
	if err != nil {
		return nil, err
	}
	return x.finish()
}

// ExchangeFirst is Exchange stopped at the first answer: it sends cmd (chained when
// needed, re-sent once on 6Cxx) and returns that answer's data without sending GET
// RESPONSE. When the card announced more data (61xx), more is non-nil and
// more.Rest collects the remainder; the caller may also drop it (any other command
// discards a pending answer on the card, ISO 7816-4 §7.6.1). A final SW other than
// 9000 and 61xx is a *StatusError, as from Exchange.
//
// For a cheap look at the start of a large object: with a short Ne (≤ 256) the card
// sends at most Ne bytes in one answer.
func ExchangeFirst(t Transmitter, cmd Command, opts Options) (data []byte, more *Pending, err error) {
	x, err := begin(t, cmd, opts)
	if err != nil {
		return nil, nil, err
	}
	if x.resp.SW&0xFF00 == 0x6100 {
		if len(x.resp.Data) > x.maxResp {
			return nil, nil, fmt.Errorf("%w (INS %02X, limit %d)", ErrResponseTooLong, x.ins, x.maxResp)
		}
		data = append([]byte(nil), x.resp.Data...)
		x.wipePart()
		return data, &Pending{x: x}, nil
	}
	out, err := x.finish()
	return out, nil, err
}

// Pending is the rest of an answer announced by 61xx after ExchangeFirst.
type Pending struct {
	x *exchange
}

// Rest sends GET RESPONSE until the answer is complete and returns the data after the
// part ExchangeFirst returned, or a *StatusError for a final SW other than 9000. The
// bounds of Exchange (MaxResponse over the whole answer, MaxGetResponse) apply. It is
// meant to be called once, right after ExchangeFirst.
func (p *Pending) Rest() ([]byte, error) {
	x := p.x
	first := len(x.resp.Data)
	out, err := x.finish()
	if err != nil {
		return nil, err
	}
	return out[first:], nil
}

// exchange is one Exchange in progress: resp is the answer to sent (the last block of
// the command, or the latest GET RESPONSE).
type exchange struct {
	t       Transmitter
	ins     byte
	maxResp int
	sent    Command
	sentExt bool
	resp    Response
	retried bool // 6Cxx re-sent once already
	// secret: the answer may hold a secret (Redactor's verdict on the command: a
	// PIN-protected management key, a shared secret, a decryption); each part is
	// wiped from the transport's buffer once copied out.
	secret bool
}

// begin checks cmd, sends it (chaining its data on short APDUs) and handles a first
// 6Cxx, leaving the first real answer in resp.
func begin(t Transmitter, cmd Command, opts Options) (*exchange, error) {
	maxResp := opts.MaxResponse
	if maxResp <= 0 {
		maxResp = DefaultMaxResponse
	}
	if len(cmd.Data) > MaxExtendData {
		return nil, fmt.Errorf("%w: %d data bytes (max %d)", ErrMalformedCommand, len(cmd.Data), MaxExtendData)
	}
	if cmd.Ne < 0 || cmd.Ne > MaxExtendNe {
		return nil, fmt.Errorf("%w: Ne %d out of range 0..%d", ErrMalformedCommand, cmd.Ne, MaxExtendNe)
	}

	last := cmd
	if !opts.Extended {
		if last.Ne > MaxShortNe {
			last.Ne = MaxShortNe
		}
		// Command chaining: every block but the last carries CLA|0x10, no Le, and must
		// be acknowledged with 9000 before the next one goes out.
		data := cmd.Data
		for len(data) > MaxShortData {
			block := Command{CLA: cmd.CLA | claChain, INS: cmd.INS, P1: cmd.P1, P2: cmd.P2, Data: data[:MaxShortData]}
			resp, err := transmit(t, block, false, false)
			if err != nil {
				return nil, err
			}
			if resp.SW != SWOK {
				return nil, &StatusError{SW: resp.SW, INS: cmd.INS}
			}
			data = data[MaxShortData:]
		}
		last.Data = data
	}

	x := &exchange{t: t, ins: cmd.INS, maxResp: maxResp, sent: last, sentExt: opts.Extended,
		secret: classify(cmd, false, false).answerSecret}
	var err error
	if x.resp, err = transmit(t, x.sent, x.sentExt, x.secret); err != nil {
		return nil, err
	}
	if err := x.retryLe(); err != nil {
		return nil, err
	}
	return x, nil
}

// retryLe handles 6Cxx: wrong Le, the card names the right one (ISO 7816-4 §5.1.3);
// the same APDU is re-sent with Le=xx, once per Exchange so a card cannot make us loop.
func (x *exchange) retryLe() error {
	if x.resp.SW&0xFF00 != 0x6C00 || x.retried {
		return nil
	}
	x.retried = true
	x.sent.Ne = lenByte(byte(x.resp.SW))
	var err error
	x.resp, err = transmit(x.t, x.sent, x.sentExt, x.secret)
	return err
}

// finish collects resp and every part announced by 61xx (GET RESPONSE), bounded.
func (x *exchange) finish() ([]byte, error) {
	var out []byte
	for rounds := 0; ; {
		if len(out)+len(x.resp.Data) > x.maxResp {
			return nil, fmt.Errorf("%w (INS %02X, limit %d)", ErrResponseTooLong, x.ins, x.maxResp)
		}
		out = append(out, x.resp.Data...)
		x.wipePart()
		if x.resp.SW&0xFF00 != 0x6100 {
			break
		}
		// 61xx: xx more bytes (00 = 256 or more) wait for GET RESPONSE.
		if rounds++; rounds > MaxGetResponse {
			return nil, fmt.Errorf("%w (INS %02X)", ErrTooManyChained, x.ins)
		}
		x.sent, x.sentExt = Command{CLA: 0x00, INS: insGetResponse, Ne: lenByte(byte(x.resp.SW))}, false
		var err error
		if x.resp, err = transmit(x.t, x.sent, x.sentExt, x.secret); err != nil {
			return nil, err
		}
		if err := x.retryLe(); err != nil {
			return nil, err
		}
		if len(x.resp.Data) == 0 && x.resp.SW&0xFF00 == 0x6100 {
			return nil, fmt.Errorf("%w (INS %02X, SW %04X)", ErrEmptyGetResponse, x.ins, x.resp.SW)
		}
	}
	if x.resp.SW != SWOK {
		return nil, &StatusError{SW: x.resp.SW, INS: x.ins}
	}
	return out, nil
}

// wipePart clears the part of a secret answer just copied out of the transport's
// buffer (Rest counts the first part by its length only).
func (x *exchange) wipePart() {
	if x.secret {
		clear(x.resp.Data)
	}
}

// transmit encodes c, sends it and parses the answer. A short answer is an error that
// names the instruction but not the data (which may be a PIN). The encoding of a
// command that carries a secret (Command.Sensitive) is wiped after transmission, and
// the raw answer when it may hold one.
func transmit(t Transmitter, c Command, extended, secretAnswer bool) (Response, error) {
	raw, err := c.Encode(extended)
	if err != nil {
		return Response{}, err
	}
	rb, err := t.Transmit(raw)
	if c.Sensitive() {
		// The encoded APDU is our own copy of a PIN, PUK or key: wipe it once sent
		// (the caller wipes c.Data). A Transmitter must not keep raw.
		clear(raw)
	}
	if err != nil {
		return Response{}, err
	}
	resp, err := ParseResponse(rb)
	if secretAnswer {
		clear(rb) // ParseResponse copied it; the transport's buffer keeps nothing
	}
	if err != nil {
		return Response{}, fmt.Errorf("apdu: INS %02X: %w", c.INS, err)
	}
	return resp, nil
}
