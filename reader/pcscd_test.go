package reader

import (
	"errors"
	"os"
	"testing"
	"time"

	"github.com/ebfe/scard"
)

// Tests against a real pcscd. They skip, saying why, when pcscd cannot be reached or
// has no reader or card; the hardware rig runs them with pcscd + vpcd + a virtual card.

func livePCSC(t *testing.T) *PCSC {
	t.Helper()
	p, err := NewPCSC()
	if err != nil {
		t.Skipf("skipped: no pcscd reachable (SCardEstablishContext: %v); start pcscd to run the live tests", err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// liveCardReader returns a reader holding a card, or skips.
func liveCardReader(t *testing.T, p *PCSC) ReaderState {
	t.Helper()
	states, err := p.WaitChange(nil, 0)
	if err != nil {
		t.Fatalf("snapshot: %v", err)
	}
	if len(states) == 0 {
		t.Skip("skipped: pcscd has no reader")
	}
	for _, s := range states {
		t.Logf("reader %q present=%v atr=%x events=%d", s.Name, s.Present, s.ATR, s.EventCount)
		if s.Present && !s.Mute {
			return s
		}
	}
	t.Skip("skipped: no reader holds a card")
	return ReaderState{}
}

func TestLiveCancelWakesWait(t *testing.T) {
	p := livePCSC(t)
	known, err := p.WaitChange(nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := p.WaitChange(known, -1)
		done <- err
	}()
	deadline := time.After(2 * time.Second)
	for {
		if err := p.Cancel(); err != nil {
			t.Logf("cancel: %v", err)
		}
		select {
		case err := <-done:
			if !errors.Is(err, ErrCancelled) {
				t.Fatalf("cancelled wait returned %v, want ErrCancelled", err)
			}
			return
		case <-deadline:
			t.Fatal("SCardCancel did not wake the wait")
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func TestLiveWaitTimesOutWithState(t *testing.T) {
	p := livePCSC(t)
	known, err := p.WaitChange(nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	got, err := p.WaitChange(known, 300*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(known) {
		t.Logf("readers changed during the wait (%d -> %d)", len(known), len(got))
	} else if time.Since(start) < 250*time.Millisecond {
		same := true
		for i := range got {
			same = same && got[i].Name == known[i].Name && got[i].SameCard(known[i])
		}
		if same {
			t.Fatalf("wait returned after %v with nothing changed", time.Since(start))
		}
	}
}

func TestLiveConnectTransmitFeatures(t *testing.T) {
	p := livePCSC(t)
	rs := liveCardReader(t, p)
	card, err := p.Connect(rs.Name)
	if err != nil {
		t.Fatal(err)
	}
	defer card.Close()
	if len(card.ATR()) == 0 {
		t.Error("no ATR")
	}
	if err := card.BeginTransaction(); err != nil && !errors.Is(err, ErrCardReset) {
		t.Fatal(err)
	}
	rsp, err := card.Transmit([]byte{0x00, 0xa4, 0x04, 0x00, 0x05, 0xa0, 0x00, 0x00, 0x03, 0x08})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("SELECT PIV: %x", rsp)
	if len(rsp) < 2 {
		t.Fatalf("response %x", rsp)
	}
	if err := card.EndTransaction(); err != nil {
		t.Fatal(err)
	}
	fs, err := Features(card)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("features: %+v", fs)
	if _, err := card.Transmit(nil); err == nil {
		t.Error("empty command accepted")
	}
}

// Resetting the card logs every other program out of it: opt-in, so a shared rig's
// card is not disturbed by a plain `go test`.
func TestLiveResetByAnotherProgram(t *testing.T) {
	if os.Getenv("PCSC11_TEST_RESET") != "1" {
		t.Skip("skipped: set PCSC11_TEST_RESET=1 to let this test reset a card (it logs other programs out)")
	}
	p := livePCSC(t)
	rs := liveCardReader(t, p)
	card, err := p.Connect(rs.Name)
	if err != nil {
		t.Fatal(err)
	}
	defer card.Close()

	// "Another program": its own context, resetting the card.
	ctx, err := scard.EstablishContext()
	if err != nil {
		t.Fatal(err)
	}
	defer ctx.Release()
	other, err := ctx.Connect(rs.Name, scard.ShareShared, scard.ProtocolAny)
	if err != nil {
		t.Fatal(err)
	}
	if err := other.Reconnect(scard.ShareShared, scard.ProtocolAny, scard.ResetCard); err != nil {
		t.Fatal(err)
	}
	other.Disconnect(scard.LeaveCard)

	if err := card.BeginTransaction(); !errors.Is(err, ErrCardReset) {
		t.Fatalf("BeginTransaction after a reset = %v, want ErrCardReset", err)
	}
	if _, err := card.Transmit([]byte{0x00, 0xa4, 0x04, 0x00, 0x05, 0xa0, 0x00, 0x00, 0x03, 0x08}); err != nil {
		t.Fatalf("Transmit after the reported reset: %v", err)
	}
	if err := card.EndTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := card.BeginTransaction(); err != nil {
		t.Fatalf("second BeginTransaction = %v", err)
	}
	card.EndTransaction()
}

func TestLiveConnectEmptyOrUnknownReader(t *testing.T) {
	p := livePCSC(t)
	if _, err := p.Connect("pcsc11 no such reader"); !errors.Is(err, ErrReaderGone) {
		t.Errorf("unknown reader: %v, want ErrReaderGone", err)
	}
	states, _ := p.WaitChange(nil, 0)
	for _, s := range states {
		if !s.Present {
			if _, err := p.Connect(s.Name); !errors.Is(err, ErrNoCard) {
				t.Errorf("empty reader %q: %v, want ErrNoCard", s.Name, err)
			}
			return
		}
	}
}
