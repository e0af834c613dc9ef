package hwtests

import (
	"bytes"
	"crypto/sha256"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ebfe/scard"
)

// What PC/SC allows for cancelling a command that waits on the card (a YubiKey waiting
// for a touch), measured through real pcscd and vpcd: the question behind
// C_SessionCancel (module/cancel.go, docs/conformance.md). A second virtual card in
// the rig's second reader has a touch-always key in 9E and waits touchWait for a
// touch; one handle sends the GENERAL AUTHENTICATE, and while the card waits another
// handle (or the same context) tries to end it. If any of them ever ended the wait
// early, this test fails, and C_SessionCancel could use it.
const touchWait = 3 * time.Second

func TestNothingEndsATransmitWaitingForTouch(t *testing.T) {
	r2 := secondReader(t)
	sum := sha256.Sum256([]byte("cancel?"))
	sign := append([]byte{0x00, 0x87, 0x11, 0x9E, 0x26, 0x7C, 0x24, 0x82, 0x00, 0x81, 0x20}, sum[:]...)

	for _, tc := range []struct {
		name        string
		transaction bool // the waiting handle holds a transaction, as pcsc11 does
		interrupt   func(t *testing.T, own *scard.Context, other *scard.Card) error
	}{
		{"SCardReconnect(RESET) from another handle", true, func(t *testing.T, own *scard.Context, other *scard.Card) error {
			return other.Reconnect(scard.ShareShared, scard.ProtocolAny, scard.ResetCard)
		}},
		{"SCardReconnect(RESET) from another handle, no transaction", false, func(t *testing.T, own *scard.Context, other *scard.Card) error {
			return other.Reconnect(scard.ShareShared, scard.ProtocolAny, scard.ResetCard)
		}},
		{"SCardDisconnect(RESET) from another handle", true, func(t *testing.T, own *scard.Context, other *scard.Card) error {
			return other.Disconnect(scard.ResetCard)
		}},
		{"SCardCancel on the waiting handle's context", true, func(t *testing.T, own *scard.Context, other *scard.Card) error {
			return own.Cancel()
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctl := filepath.Join(t.TempDir(), "card.sock")
			startFaultyCard(t, r2, "--provision", "demo+touch", "--touch-timeout", touchWait.String(), "--control", ctl)
			ctx1, err := scard.EstablishContext()
			if err != nil {
				t.Fatal(err)
			}
			defer ctx1.Release()
			c1, err := ctx1.Connect(r2, scard.ShareShared, scard.ProtocolAny)
			if err != nil {
				t.Fatal(err)
			}
			defer c1.Disconnect(scard.LeaveCard)
			// The other handle connects first: while we hold a transaction, pcscd makes
			// a new SCardConnect wait for its end.
			c2 := connectShared(t, r2)
			if tc.transaction {
				if err := c1.BeginTransaction(); err != nil {
					t.Fatal(err)
				}
			}
			if resp, err := c1.Transmit(apduSelectPIV); err != nil || !bytes.HasSuffix(resp, []byte{0x90, 0x00}) {
				t.Fatalf("SELECT: % X %v", resp, err)
			}
			type result struct {
				resp []byte
				err  error
				at   time.Duration
			}
			done := make(chan result, 1)
			start := time.Now()
			go func() {
				resp, err := c1.Transmit(sign)
				done <- result{resp, err, time.Since(start)}
			}()
			for !strings.Contains(controlAt(t, ctl, "status"), "touch_waiting=true") {
				if time.Since(start) > touchWait {
					t.Fatal("the card never waited for a touch")
				}
				time.Sleep(5 * time.Millisecond)
			}
			iStart := time.Since(start)
			interrupted := make(chan result, 1)
			go func() {
				err := tc.interrupt(t, ctx1, c2)
				interrupted <- result{err: err, at: time.Since(start)}
			}()
			var res result
			select {
			case res = <-done:
			case <-time.After(3 * touchWait):
				t.Fatal("the waiting Transmit never returned")
			}
			if res.at < touchWait-100*time.Millisecond {
				t.Errorf("the waiting Transmit ended at %v, before the card's %v timeout: PC/SC can cancel it", res.at, touchWait)
			}
			// An interrupt that waits for our transaction ends only when we end it.
			var ir result
			select {
			case ir = <-interrupted:
			case <-time.After(500 * time.Millisecond):
				if tc.transaction {
					c1.EndTransaction(scard.LeaveCard)
				}
				select {
				case ir = <-interrupted:
				case <-time.After(3 * touchWait):
					t.Fatal("the interrupt never returned")
				}
			}
			t.Logf("interrupt called at %v, returned at %v (%v); the waiting Transmit returned at %v: % X %v",
				iStart.Round(time.Millisecond), ir.at.Round(time.Millisecond), ir.err, res.at.Round(time.Millisecond), res.resp, res.err)
		})
	}
}
