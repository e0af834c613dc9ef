package vpcd

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/pcsc11/pcsc11/pinpad"
)

// With a PIN pad, F1 requests are answered by the keypad (which runs the built VERIFY
// on the card); APDUs still reach the card; "pinpad ..." control lines script it.
func TestPINPadHook(t *testing.T) {
	v := newFakeVPCD(t)
	card := &fakeCard{}
	kp := &pinpad.Keypad{}
	c := &Client{Addr: v.ln.Addr().String(), Card: card, PINPad: kp}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	ct := &Controller{Client: c}
	conn := v.accept(5 * time.Second)

	if got, _ := ct.Exec("pinpad type 123456"); got != "ok pinpad pending=1" {
		t.Fatalf("Exec: %q", got)
	}
	verify := (&pinpad.Verify{Format: pinpad.Format{FormatString: 0x82, PINBlockString: 0x08, MinPIN: 6, MaxPIN: 8,
		EntryValidation: 2}, APDU: []byte{0x00, 0x20, 0x00, 0x80, 0x08, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}}).Marshal()
	// fakeCard answers INS 90 00: the keypad ran a VERIFY (INS 20) on it.
	if got := exchange(t, conn, append([]byte{pinpad.MsgVerify}, verify...)); !bytes.Equal(got, []byte{0x20, 0x90, 0x00}) {
		t.Fatalf("PIN request answer % X", got)
	}
	if got := exchange(t, conn, append([]byte{pinpad.MsgVerify}, verify...)); !bytes.Equal(got, []byte{0x64, 0x00}) {
		t.Fatalf("unscripted PIN request answer % X", got)
	}
	if got := exchange(t, conn, []byte{0x00, 0xFD, 0x00, 0x00}); !bytes.Equal(got, []byte{0xFD, 0x90, 0x00}) {
		t.Fatalf("APDU answer % X", got)
	}
	if got, _ := ct.Exec("pinpad type 12x456"); !strings.HasPrefix(got, "error") || strings.Contains(got, "12x456") {
		t.Fatalf("bad PIN: %q", got)
	}
	if got, _ := (&Controller{Client: &Client{}}).Exec("pinpad type 123456"); !strings.HasPrefix(got, "error: no PIN pad") {
		t.Fatalf("without a PIN pad: %q", got)
	}
}
