package apdu

import (
	"errors"
	"fmt"
)

// Transmitter sends one raw APDU and returns the raw response (reader.Card satisfies it).
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
)

// claChain is the ISO 7816-4 §5.4.1 "command chaining" bit of an interindustry CLA.
const claChain = 0x10

// insGetResponse is GET RESPONSE (ISO 7816-4 §7.6.1).
const insGetResponse = 0xC0

// Exchange sends cmd with command chaining (CLA|0x10 on all but the last block of 255)
// when Data > 255 and !opts.Extended, follows 61xx with GET RESPONSE (00 C0 00 00 xx)
// collecting the data, re-sends once with Le=xx on 6Cxx, and returns the data for 9000
// or a *StatusError for any other final SW (63Cx included). Transport errors pass
// through unchanged. Bounded: no infinite 61xx loop, no response over MaxResponse.
//
// Without opts.Extended every APDU is short: an Ne above 256 is sent as Le=00 and the
// rest is expected through 61xx, which every PIV card supports.
func Exchange(t Transmitter, cmd Command, opts Options) ([]byte, error) {
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
			resp, err := transmit(t, block, false)
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

	// sent/sentExt is the APDU the current answer belongs to: the (last block of the)
	// command, then each GET RESPONSE.
	sent, sentExt := last, opts.Extended
	resp, err := transmit(t, sent, sentExt)
	if err != nil {
		return nil, err
	}
	var out []byte
	retried := false
	for rounds := 0; ; {
		// 6Cxx: wrong Le, the card names the right one (ISO 7816-4 §5.1.3); the same
		// APDU is re-sent with Le=xx, once per Exchange so a card cannot make us loop.
		if resp.SW&0xFF00 == 0x6C00 && !retried {
			retried = true
			sent.Ne = lenByte(byte(resp.SW))
			if resp, err = transmit(t, sent, sentExt); err != nil {
				return nil, err
			}
			continue
		}
		if len(out)+len(resp.Data) > maxResp {
			return nil, fmt.Errorf("%w (INS %02X, limit %d)", ErrResponseTooLong, cmd.INS, maxResp)
		}
		out = append(out, resp.Data...)
		if resp.SW&0xFF00 != 0x6100 {
			break
		}
		// 61xx: xx more bytes (00 = 256 or more) wait for GET RESPONSE.
		if rounds++; rounds > MaxGetResponse {
			return nil, fmt.Errorf("%w (INS %02X)", ErrTooManyChained, cmd.INS)
		}
		sent, sentExt = Command{CLA: 0x00, INS: insGetResponse, Ne: lenByte(byte(resp.SW))}, false
		if resp, err = transmit(t, sent, sentExt); err != nil {
			return nil, err
		}
	}
	if resp.SW != SWOK {
		return nil, &StatusError{SW: resp.SW, INS: cmd.INS}
	}
	return out, nil
}

// transmit encodes c, sends it and parses the answer. A short answer is an error that
// names the instruction but not the data (which may be a PIN).
func transmit(t Transmitter, c Command, extended bool) (Response, error) {
	raw, err := c.Encode(extended)
	if err != nil {
		return Response{}, err
	}
	rb, err := t.Transmit(raw)
	if err != nil {
		return Response{}, err
	}
	resp, err := ParseResponse(rb)
	if err != nil {
		return Response{}, fmt.Errorf("apdu: INS %02X: %w", c.INS, err)
	}
	return resp, nil
}
