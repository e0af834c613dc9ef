package reader

import (
	"errors"
	"testing"

	"github.com/ebfe/scard"
)

func testConn(f *fakeHandle) *Conn {
	if f.proto == 0 {
		f.proto = scard.ProtocolT1
	}
	return newConn("Test Reader 00 00", nil, f)
}

func TestBeginTransactionAfterResetReconnectsAndReports(t *testing.T) {
	f := &fakeHandle{atr: []byte{0x3b, 0x01}, beginErrs: []error{scard.ErrResetCard}}
	c := testConn(f)
	err := c.BeginTransaction()
	if !errors.Is(err, ErrCardReset) {
		t.Fatalf("BeginTransaction = %v, want ErrCardReset", err)
	}
	if !errors.Is(err, scard.ErrResetCard) {
		t.Errorf("the pcsc-lite code is lost: %v", err)
	}
	if len(f.reconnects) != 1 || f.reconnects[0] != scard.LeaveCard {
		t.Errorf("reconnects = %v, want one with SCARD_LEAVE_CARD", f.reconnects)
	}
	if f.inTx != 1 {
		t.Errorf("transaction held %d times after the reset, want 1", f.inTx)
	}
	// The reset was reported once: the next transaction is a plain one.
	if err := c.EndTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := c.BeginTransaction(); err != nil {
		t.Errorf("second BeginTransaction = %v", err)
	}
}

func TestResetSeenByTransmitIsReportedByNextBegin(t *testing.T) {
	f := &fakeHandle{transmitErrs: []error{scard.ErrResetCard}}
	c := testConn(f)
	if _, err := c.Transmit([]byte{0, 0xa4, 4, 0}); !errors.Is(err, ErrCardReset) {
		t.Fatalf("Transmit = %v, want ErrCardReset", err)
	}
	if len(f.reconnects) != 1 {
		t.Fatalf("reconnects = %d, want 1", len(f.reconnects))
	}
	if err := c.BeginTransaction(); !errors.Is(err, ErrCardReset) {
		t.Fatalf("BeginTransaction after a reset seen by Transmit = %v, want ErrCardReset", err)
	}
	if f.inTx != 1 {
		t.Errorf("transaction not held after reporting the reset")
	}
	if _, err := c.Transmit([]byte{0, 0xa4, 4, 0}); err != nil {
		t.Errorf("Transmit after reconnect = %v", err)
	}
}

func TestRemovalMakesConnectionDead(t *testing.T) {
	for _, code := range []scard.Error{scard.ErrRemovedCard, scard.ErrNoSmartcard} {
		f := &fakeHandle{beginErrs: []error{code}}
		c := testConn(f)
		if err := c.BeginTransaction(); !errors.Is(err, ErrCardRemoved) {
			t.Fatalf("%v: BeginTransaction = %v, want ErrCardRemoved", code, err)
		}
		n := len(f.sent)
		if _, err := c.Transmit([]byte{0, 0xca, 0, 0}); !errors.Is(err, ErrCardRemoved) {
			t.Errorf("%v: Transmit on a dead connection = %v", code, err)
		}
		if len(f.sent) != n {
			t.Errorf("%v: a dead connection still talks to pcscd", code)
		}
		if err := c.Close(); err != nil {
			t.Errorf("Close of a dead connection = %v", err)
		}
	}
}

func TestReaderGone(t *testing.T) {
	f := &fakeHandle{transmitErrs: []error{scard.ErrReaderUnavailable}}
	c := testConn(f)
	if _, err := c.Transmit([]byte{0, 0xca, 0, 0}); !errors.Is(err, ErrReaderGone) {
		t.Fatalf("Transmit = %v, want ErrReaderGone", err)
	}
}

func TestTransmitGuards(t *testing.T) {
	f := &fakeHandle{panicOnSend: true}
	c := testConn(f)
	for _, cmd := range [][]byte{nil, {}, {0, 0xa4, 4}, make([]byte, maxCommand+1)} {
		if _, err := c.Transmit(cmd); err == nil {
			t.Errorf("Transmit(%d bytes) accepted", len(cmd))
		}
	}
	// A panic inside ebfe/scard becomes an error.
	if _, err := c.Transmit([]byte{0, 0xa4, 4, 0}); err == nil {
		t.Error("panic in Transmit not turned into an error")
	}
	// A handle without T=0/T=1 is refused before ebfe/scard can panic.
	g := &fakeHandle{proto: scard.ProtocolUndefined}
	d := newConn("r", nil, g)
	g.proto = scard.ProtocolUndefined
	if _, err := d.Transmit([]byte{0, 0xa4, 4, 0}); err == nil || len(g.sent) != 0 {
		t.Errorf("Transmit without protocol: err=%v, sent=%d", err, len(g.sent))
	}
}

func TestShortResponseIsAnError(t *testing.T) {
	f := &fakeHandle{transmit: func([]byte) ([]byte, error) { return []byte{0x90}, nil }}
	if _, err := testConn(f).Transmit([]byte{0, 0xa4, 4, 0}); err == nil {
		t.Error("1-byte response accepted")
	}
}

func TestCloseTwiceAndUseAfterClose(t *testing.T) {
	f := &fakeHandle{}
	c := testConn(f)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if f.disconnected != 1 {
		t.Errorf("disconnected %d times", f.disconnected)
	}
	if _, err := c.Transmit([]byte{0, 0xa4, 4, 0}); !errors.Is(err, ErrCardRemoved) {
		t.Errorf("Transmit after Close = %v", err)
	}
}

func TestKindOf(t *testing.T) {
	cases := []struct {
		code scard.Error
		want error
	}{
		{scard.ErrResetCard, ErrCardReset},
		{scard.ErrRemovedCard, ErrCardRemoved},
		{scard.ErrNoSmartcard, ErrCardRemoved},
		{scard.ErrUnknownReader, ErrReaderGone},
		{scard.ErrReaderUnavailable, ErrReaderGone},
		{scard.ErrNoService, ErrReaderGone},
		{scard.ErrCancelled, ErrCancelled},
		{scard.ErrUnresponsiveCard, nil},
	}
	for _, c := range cases {
		err := opErr("x", "r", c.code)
		if c.want == nil {
			for _, s := range []error{ErrCardReset, ErrCardRemoved, ErrReaderGone, ErrCancelled, ErrNoCard} {
				if errors.Is(err, s) {
					t.Errorf("%v maps to %v", c.code, s)
				}
			}
			continue
		}
		if !errors.Is(err, c.want) || !errors.Is(err, c.code) {
			t.Errorf("%v: %v is not %v", c.code, err, c.want)
		}
	}
}
