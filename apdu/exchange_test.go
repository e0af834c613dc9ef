package apdu

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
)

// scriptCard answers each transmitted APDU with the next scripted answer and records
// what it was sent. After the script it repeats the last answer forever, which is how a
// hostile or broken card behaves.
type scriptCard struct {
	answers [][]byte
	errs    []error
	sent    [][]byte
}

func (c *scriptCard) Transmit(cmd []byte) ([]byte, error) {
	i := len(c.sent)
	c.sent = append(c.sent, append([]byte(nil), cmd...))
	if i < len(c.errs) && c.errs[i] != nil {
		return nil, c.errs[i]
	}
	if len(c.answers) == 0 {
		return nil, errors.New("script empty")
	}
	if i >= len(c.answers) {
		i = len(c.answers) - 1
	}
	return append([]byte(nil), c.answers[i]...), nil
}

func ans(data []byte, sw uint16) []byte {
	return Response{Data: data, SW: sw}.Bytes()
}

func TestExchangeSimple(t *testing.T) {
	card := &scriptCard{answers: [][]byte{ans([]byte{1, 2}, 0x9000)}}
	got, err := Exchange(card, Command{INS: 0xCB, P1: 0x3F, P2: 0xFF, Data: []byte{0x5C, 1, 0x7E}, Ne: 256}, Options{})
	if err != nil || !bytes.Equal(got, []byte{1, 2}) {
		t.Fatalf("got % X %v", got, err)
	}
	if want := mustHex(t, "00CB3FFF035C017E00"); len(card.sent) != 1 || !bytes.Equal(card.sent[0], want) {
		t.Fatalf("sent % X", card.sent)
	}
}

func TestExchangeStatusError(t *testing.T) {
	card := &scriptCard{answers: [][]byte{ans(nil, 0x63C1)}}
	_, err := Exchange(card, Command{INS: 0x20, P2: 0x80, Data: []byte("12345678")}, Options{})
	var se *StatusError
	if !errors.As(err, &se) || se.SW != 0x63C1 || se.INS != 0x20 {
		t.Fatalf("err = %v", err)
	}
	if bytes.Contains([]byte(err.Error()), []byte("1234")) {
		t.Fatal("error text contains command data")
	}
}

func TestExchangeCommandChaining(t *testing.T) {
	data := seq(600) // 255 + 255 + 90
	card := &scriptCard{answers: [][]byte{ans(nil, 0x9000), ans(nil, 0x9000), ans([]byte{0xAA}, 0x9000)}}
	got, err := Exchange(card, Command{CLA: 0x00, INS: 0xDB, P1: 0x3F, P2: 0xFF, Data: data, Ne: 256}, Options{})
	if err != nil || !bytes.Equal(got, []byte{0xAA}) {
		t.Fatalf("got % X %v", got, err)
	}
	if len(card.sent) != 3 {
		t.Fatalf("sent %d APDUs", len(card.sent))
	}
	var joined []byte
	for i, raw := range card.sent {
		c, err := ParseCommand(raw)
		if err != nil {
			t.Fatal(err)
		}
		if Extended(raw) {
			t.Errorf("block %d is extended", i)
		}
		last := i == len(card.sent)-1
		if wantCLA := byte(0x10); !last && c.CLA != wantCLA || last && c.CLA != 0 {
			t.Errorf("block %d CLA %02X", i, c.CLA)
		}
		if !last && (len(c.Data) != 255 || c.Ne != 0) || last && (len(c.Data) != 90 || c.Ne != 256) {
			t.Errorf("block %d: %d bytes Ne %d", i, len(c.Data), c.Ne)
		}
		joined = append(joined, c.Data...)
	}
	if !bytes.Equal(joined, data) {
		t.Fatal("chained data differs")
	}
}

func TestExchangeChainingExactMultiple(t *testing.T) {
	card := &scriptCard{answers: [][]byte{ans(nil, 0x9000)}}
	if _, err := Exchange(card, Command{INS: 0xDB, Data: seq(510)}, Options{}); err != nil {
		t.Fatal(err)
	}
	if len(card.sent) != 2 || card.sent[0][0] != 0x10 || card.sent[1][0] != 0x00 || len(card.sent[1]) != 5+255 {
		t.Fatalf("sent %d APDUs", len(card.sent))
	}
}

func TestExchangeChainingIntermediateError(t *testing.T) {
	card := &scriptCard{answers: [][]byte{ans(nil, 0x9000), ans(nil, 0x6884), ans(nil, 0x9000)}}
	_, err := Exchange(card, Command{INS: 0xDB, Data: seq(800)}, Options{})
	if sw, ok := SW(err); !ok || sw != 0x6884 {
		t.Fatalf("err = %v", err)
	}
	if len(card.sent) != 2 {
		t.Fatalf("kept sending after an error: %d", len(card.sent))
	}
	// 61xx on an intermediate block is not an acknowledgement either.
	card = &scriptCard{answers: [][]byte{ans(nil, 0x6110)}}
	if _, err = Exchange(card, Command{INS: 0xDB, Data: seq(300)}, Options{}); err == nil {
		t.Fatal("61xx accepted on an intermediate block")
	}
}

func TestExchangeExtended(t *testing.T) {
	card := &scriptCard{answers: [][]byte{ans([]byte{5}, 0x9000)}}
	data := seq(1000)
	got, err := Exchange(card, Command{INS: 0xDB, Data: data, Ne: 1000}, Options{Extended: true})
	if err != nil || !bytes.Equal(got, []byte{5}) {
		t.Fatalf("got % X %v", got, err)
	}
	c, err := ParseCommand(card.sent[0])
	if len(card.sent) != 1 || err != nil || !Extended(card.sent[0]) || !bytes.Equal(c.Data, data) || c.Ne != 1000 {
		t.Fatalf("sent %d, %+v %v", len(card.sent), c.Ne, err)
	}
}

func TestExchangeShortClampsNe(t *testing.T) {
	card := &scriptCard{answers: [][]byte{ans(nil, 0x9000)}}
	if _, err := Exchange(card, Command{INS: 0xCB, Ne: 4000}, Options{}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(card.sent[0], mustHex(t, "00CB000000")) {
		t.Fatalf("sent % X", card.sent[0])
	}
}

func TestExchangeGetResponse(t *testing.T) {
	a, b, c := seq(256), seq(256)[:200], []byte{7, 8, 9}
	card := &scriptCard{answers: [][]byte{ans(a, 0x6100), ans(b, 0x6103), ans(c, 0x9000)}}
	got, err := Exchange(card, Command{INS: 0xCB, Ne: 256}, Options{})
	want := append(append(append([]byte(nil), a...), b...), c...)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("got %d bytes, %v", len(got), err)
	}
	if len(card.sent) != 3 || !bytes.Equal(card.sent[1], mustHex(t, "00C0000000")) || !bytes.Equal(card.sent[2], mustHex(t, "00C0000003")) {
		t.Fatalf("sent % X", card.sent)
	}
}

func TestExchangeGetResponseFinalError(t *testing.T) {
	card := &scriptCard{answers: [][]byte{ans(seq(10), 0x6105), ans(nil, 0x6A88)}}
	got, err := Exchange(card, Command{INS: 0xCB, Ne: 256}, Options{})
	if !IsNotFound(err) || got != nil {
		t.Fatalf("got % X %v", got, err)
	}
	var se *StatusError
	if errors.As(err, &se) && se.INS != 0xCB {
		t.Fatalf("INS %02X, want the original instruction", se.INS)
	}
}

func TestExchangeWrongLe(t *testing.T) {
	card := &scriptCard{answers: [][]byte{ans(nil, 0x6C08), ans(seq(8), 0x9000)}}
	got, err := Exchange(card, Command{INS: 0xCA, P1: 0x9F, P2: 0x7F, Ne: 256}, Options{})
	if err != nil || !bytes.Equal(got, seq(8)) {
		t.Fatalf("got % X %v", got, err)
	}
	if len(card.sent) != 2 || !bytes.Equal(card.sent[1], mustHex(t, "00CA9F7F08")) {
		t.Fatalf("sent % X", card.sent)
	}
	// 6C00 means 256.
	card = &scriptCard{answers: [][]byte{ans(nil, 0x6C00), ans(nil, 0x9000)}}
	if _, err = Exchange(card, Command{INS: 0xCA, Ne: 1}, Options{}); err != nil || !bytes.Equal(card.sent[1], mustHex(t, "00CA000000")) {
		t.Fatalf("6C00: sent % X, %v", card.sent, err)
	}
	// 6Cxx then 61xx chain works.
	card = &scriptCard{answers: [][]byte{ans(nil, 0x6C02), ans([]byte{1, 2}, 0x6101), ans([]byte{3}, 0x9000)}}
	if got, err = Exchange(card, Command{INS: 0xCA, Ne: 1}, Options{}); err != nil || !bytes.Equal(got, []byte{1, 2, 3}) {
		t.Fatalf("6Cxx+61xx: % X %v", got, err)
	}
}

func TestExchangeWrongLeOnlyOnce(t *testing.T) {
	card := &scriptCard{answers: [][]byte{ans(nil, 0x6C08)}} // forever
	_, err := Exchange(card, Command{INS: 0xCA, Ne: 256}, Options{})
	if sw, ok := SW(err); !ok || sw != 0x6C08 {
		t.Fatalf("err = %v", err)
	}
	if len(card.sent) != 2 {
		t.Fatalf("sent %d APDUs, want 2", len(card.sent))
	}
}

func TestExchangeEndless61xx(t *testing.T) {
	for _, tc := range []struct {
		name string
		ans  []byte
		max  int
		want error
	}{
		{"one byte forever", ans([]byte{1}, 0x6101), 0, ErrTooManyChained},
		{"full blocks forever", ans(seq(256), 0x6100), 0, ErrResponseTooLong},
		{"small limit", ans(seq(100), 0x6164), 250, ErrResponseTooLong},
	} {
		t.Run(tc.name, func(t *testing.T) {
			card := &scriptCard{answers: [][]byte{tc.ans}}
			got, err := Exchange(card, Command{INS: 0xCB, Ne: 256}, Options{MaxResponse: tc.max})
			if !errors.Is(err, tc.want) || got != nil {
				t.Fatalf("got %d bytes, err %v; want %v", len(got), err, tc.want)
			}
			if len(card.sent) > MaxGetResponse+1 {
				t.Fatalf("sent %d APDUs", len(card.sent))
			}
		})
	}
}

// A card answering 61xx with no data must not loop: the first GET RESPONSE that brings
// nothing ends the exchange, after 2 APDUs instead of MaxGetResponse+1 (~45 s at
// vpcd's 44 ms per APDU). A first answer of 61xx without data is normal (T=0 cards
// answer so) and is followed.
func TestExchangeEmptyGetResponse(t *testing.T) {
	card := &scriptCard{answers: [][]byte{ans(nil, 0x6100)}}
	got, err := Exchange(card, Command{INS: 0xCB, Ne: 256}, Options{})
	if !errors.Is(err, ErrEmptyGetResponse) || got != nil {
		t.Fatalf("got %d bytes, err %v; want ErrEmptyGetResponse", len(got), err)
	}
	if len(card.sent) != 2 {
		t.Fatalf("sent %d APDUs, want 2 (the command, one GET RESPONSE)", len(card.sent))
	}
	// Data, then an empty "more": the same.
	card = &scriptCard{answers: [][]byte{ans(seq(10), 0x6110), ans(nil, 0x6110)}}
	if _, err := Exchange(card, Command{INS: 0xCB, Ne: 256}, Options{}); !errors.Is(err, ErrEmptyGetResponse) || len(card.sent) != 2 {
		t.Fatalf("err %v after %d APDUs", err, len(card.sent))
	}
	// 61xx without data as the first answer, then the data: fine.
	card = &scriptCard{answers: [][]byte{ans(nil, 0x6103), ans([]byte{1, 2, 3}, 0x9000)}}
	if got, err := Exchange(card, Command{INS: 0xCB, Ne: 256}, Options{}); err != nil || !bytes.Equal(got, []byte{1, 2, 3}) {
		t.Fatalf("T=0 style: % X, %v", got, err)
	}
	// An empty GET RESPONSE with 9000 is a complete (if odd) answer.
	card = &scriptCard{answers: [][]byte{ans([]byte{1}, 0x6101), ans(nil, 0x9000)}}
	if got, err := Exchange(card, Command{INS: 0xCB, Ne: 256}, Options{}); err != nil || !bytes.Equal(got, []byte{1}) {
		t.Fatalf("empty final part: % X, %v", got, err)
	}
}

func TestExchangeMaxResponseExact(t *testing.T) {
	card := &scriptCard{answers: [][]byte{ans(seq(100), 0x6132), ans(seq(50), 0x9000)}}
	got, err := Exchange(card, Command{INS: 0xCB, Ne: 256}, Options{MaxResponse: 150})
	if err != nil || len(got) != 150 {
		t.Fatalf("got %d, %v", len(got), err)
	}
}

func TestExchangeShortAnswer(t *testing.T) {
	for _, bad := range [][]byte{nil, {0x90}} {
		card := &scriptCard{answers: [][]byte{bad}}
		if _, err := Exchange(card, Command{INS: 0xCB}, Options{}); !errors.Is(err, ErrShortResponse) {
			t.Errorf("answer % X: err %v", bad, err)
		}
	}
	// A short answer in the middle of a 61xx chain too.
	card := &scriptCard{answers: [][]byte{ans(nil, 0x6110), {0x61}}}
	if _, err := Exchange(card, Command{INS: 0xCB}, Options{}); !errors.Is(err, ErrShortResponse) {
		t.Errorf("mid-chain: err %v", err)
	}
}

func TestExchangeTransportError(t *testing.T) {
	sentinel := fmt.Errorf("card removed")
	card := &scriptCard{answers: [][]byte{ans(nil, 0x6110)}, errs: []error{nil, sentinel}}
	if _, err := Exchange(card, Command{INS: 0xCB}, Options{}); err != sentinel {
		t.Fatalf("err = %v, want the transport error unchanged", err)
	}
}

func TestExchangeBadCommand(t *testing.T) {
	card := &scriptCard{answers: [][]byte{ans(nil, 0x9000)}}
	for _, c := range []Command{{Data: make([]byte, 65536)}, {Ne: -1}, {Ne: 70000}} {
		if _, err := Exchange(card, c, Options{}); !errors.Is(err, ErrMalformedCommand) {
			t.Errorf("err = %v", err)
		}
	}
	if len(card.sent) != 0 {
		t.Fatal("sent a malformed command")
	}
}

func TestExchangeWrongLeOnGetResponse(t *testing.T) {
	card := &scriptCard{answers: [][]byte{ans([]byte{1}, 0x6100), ans(nil, 0x6C02), ans([]byte{2, 3}, 0x9000)}}
	got, err := Exchange(card, Command{INS: 0xCB, Ne: 256}, Options{})
	if err != nil || !bytes.Equal(got, []byte{1, 2, 3}) {
		t.Fatalf("got % X %v", got, err)
	}
	if len(card.sent) != 3 || !bytes.Equal(card.sent[2], mustHex(t, "00C0000002")) {
		t.Fatalf("sent % X", card.sent)
	}
}

func TestExchangeWrongLeKeepsExtendedForm(t *testing.T) {
	card := &scriptCard{answers: [][]byte{ans(nil, 0x6C04), ans([]byte{1, 2, 3, 4}, 0x9000)}}
	if _, err := Exchange(card, Command{INS: 0xCB, Data: []byte{0x5C}, Ne: 300}, Options{Extended: true}); err != nil {
		t.Fatal(err)
	}
	if want := mustHex(t, "00CB0000 000001 5C 0004"); !bytes.Equal(card.sent[1], want) {
		t.Fatalf("re-sent % X, want % X", card.sent[1], want)
	}
}

func TestExchangeFirstStopsAt61xx(t *testing.T) {
	card := &scriptCard{answers: [][]byte{
		ans(bytes.Repeat([]byte{1}, 256), 0x6100),
		ans(bytes.Repeat([]byte{2}, 256), 0x6104),
		ans([]byte{3, 3, 3, 3}, 0x9000),
	}}
	cmd := Command{INS: 0xCB, P1: 0x3F, P2: 0xFF, Data: []byte{0x5C, 1, 0x7E}, Ne: 256}
	first, more, err := ExchangeFirst(card, cmd, Options{})
	if err != nil || len(first) != 256 || more == nil {
		t.Fatalf("first: %d bytes, more %v, %v", len(first), more, err)
	}
	if len(card.sent) != 1 {
		t.Fatalf("sent %d APDUs before Rest, want 1", len(card.sent))
	}
	rest, err := more.Rest()
	if err != nil || len(rest) != 260 || rest[0] != 2 || rest[259] != 3 {
		t.Fatalf("rest: %d bytes, %v", len(rest), err)
	}
	if want := mustHex(t, "00C0000004"); len(card.sent) != 3 || !bytes.Equal(card.sent[2], want) {
		t.Fatalf("sent % X", card.sent)
	}
}

func TestExchangeFirstComplete(t *testing.T) {
	card := &scriptCard{answers: [][]byte{ans(nil, 0x6C02), ans([]byte{1, 2}, 0x9000)}}
	got, more, err := ExchangeFirst(card, Command{INS: 0xCB, Ne: 256}, Options{})
	if err != nil || more != nil || !bytes.Equal(got, []byte{1, 2}) {
		t.Fatalf("got % X, more %v, %v", got, more, err)
	}
	card = &scriptCard{answers: [][]byte{ans(nil, 0x6A82)}}
	_, more, err = ExchangeFirst(card, Command{INS: 0xCB, Ne: 256}, Options{})
	if !IsNotFound(err) || more != nil {
		t.Fatalf("more %v, err %v", more, err)
	}
}

func TestExchangeFirstBounded(t *testing.T) {
	card := &scriptCard{answers: [][]byte{ans(make([]byte, 200), 0x6100)}}
	if _, _, err := ExchangeFirst(card, Command{INS: 0xCB, Ne: 256}, Options{MaxResponse: 100}); !errors.Is(err, ErrResponseTooLong) {
		t.Fatalf("err = %v", err)
	}
	// A card that keeps answering 61xx with data: Rest stops after MaxGetResponse rounds.
	card = &scriptCard{answers: [][]byte{ans([]byte{1}, 0x6101)}}
	_, more, err := ExchangeFirst(card, Command{INS: 0xCB, Ne: 256}, Options{})
	if err != nil || more == nil {
		t.Fatalf("more %v, err %v", more, err)
	}
	if _, err := more.Rest(); !errors.Is(err, ErrTooManyChained) {
		t.Fatalf("err = %v", err)
	}
	// Without data: at the first empty GET RESPONSE.
	card = &scriptCard{answers: [][]byte{ans(nil, 0x6100)}}
	if _, more, err = ExchangeFirst(card, Command{INS: 0xCB, Ne: 256}, Options{}); err != nil || more == nil {
		t.Fatalf("more %v, err %v", more, err)
	}
	if _, err := more.Rest(); !errors.Is(err, ErrEmptyGetResponse) || len(card.sent) != 2 {
		t.Fatalf("err = %v after %d APDUs", err, len(card.sent))
	}
}
