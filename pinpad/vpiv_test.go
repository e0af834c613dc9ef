package pinpad_test

import (
	"bytes"
	"encoding/hex"
	"testing"

	"github.com/pcsc11/pcsc11/pinpad"
	"github.com/pcsc11/pcsc11/vpiv"
)

func hx(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// The keypad drives the real virtual PIV card: VERIFY and CHANGE REFERENCE DATA built
// from PIV structures as OpenSC sends them (PIN 123456 on a fresh card).
func TestKeypadWithVirtualPIV(t *testing.T) {
	card, err := vpiv.New(vpiv.Options{})
	if err != nil {
		t.Fatal(err)
	}
	run := func(cmd string) []byte { return card.Process(hx(cmd)) }
	if sw := run("00a4040005a000000308"); !bytes.HasSuffix(sw, []byte{0x90, 0x00}) {
		t.Fatalf("SELECT: % x", sw)
	}
	f := pinpad.Format{TimerOut: 30, TimerOut2: 30, FormatString: 0x82, PINBlockString: 0x08,
		MinPIN: 6, MaxPIN: 8, EntryValidation: 2}
	verify := append([]byte{pinpad.MsgVerify},
		(&pinpad.Verify{Format: f, APDU: hx("0020008008ffffffffffffffff")}).Marshal()...)
	change := append([]byte{pinpad.MsgModify}, (&pinpad.Modify{Format: f, InsertionOffsetNew: 8, ConfirmPIN: 3,
		APDU: hx("0024008010ffffffffffffffffffffffffffffffff")}).Marshal()...)

	var k pinpad.Keypad
	do := func(msg []byte, want string) {
		t.Helper()
		resp, ok := k.Handle(msg, card.Process)
		if !ok || !bytes.Equal(resp, hx(want)) {
			t.Fatalf("answer % x (handled %t), want %s", resp, ok, want)
		}
	}
	k.Type("654321")
	do(verify, "63c2") // wrong PIN: the card counts down
	k.Type("123456")
	do(verify, "9000")
	if sw := run("0020008000"); !bytes.Equal(sw, hx("9000")) {
		t.Fatalf("VERIFY status: % x", sw)
	}
	k.Type("123456")
	k.Type("24681357")
	k.Type("24681357")
	do(change, "9000")
	k.Type("123456")
	do(verify, "63c2")
	k.Type("24681357")
	do(verify, "9000")
	k.Cancel()
	do(verify, "6401")
	do(verify, "6400") // nothing queued
}
