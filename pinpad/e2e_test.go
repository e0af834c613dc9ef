//go:build pinpad_e2e

// End-to-end check of the test PIN-pad reader through a real pcscd: run by
// pinpad/e2e.sh inside private namespaces (pcscd loaded with the driver from
// pinpad/install.sh). The card side here is the vpiv engine behind a Keypad.
package pinpad_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ebfe/scard"
	"github.com/pcsc11/pcsc11/pinpad"
	"github.com/pcsc11/pcsc11/vpiv"
)

const (
	readerPrefix   = "pcsc11 PIN pad"
	getFeatureCtl  = 0x42000000 + 3400
	tlvVerify      = 0x06
	tlvModify      = 0x07
	tlvPINProps    = 0x0A
	tlvTLVProps    = 0x12
	defaultCardDst = "127.0.0.1:35965"
)

// cardSide connects the virtual card to the driver and serves it until closed.
type cardSide struct {
	conn net.Conn
	done chan struct{}
}

func readMsg(r io.Reader) ([]byte, error) {
	var hdr [2]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	b := make([]byte, binary.BigEndian.Uint16(hdr[:]))
	_, err := io.ReadFull(r, b)
	return b, err
}

func writeMsg(w io.Writer, b []byte) error {
	_, err := w.Write(append([]byte{byte(len(b) >> 8), byte(len(b))}, b...))
	return err
}

func insert(t *testing.T, card *vpiv.Card, k *pinpad.Keypad) *cardSide {
	t.Helper()
	addr := os.Getenv("PCSC11_PINPAD_ADDR")
	if addr == "" {
		addr = defaultCardDst
	}
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("card side: %v", err)
	}
	cs := &cardSide{conn: conn, done: make(chan struct{})}
	var mu sync.Mutex
	go func() {
		defer close(cs.done)
		for {
			msg, err := readMsg(conn)
			if err != nil {
				return
			}
			mu.Lock()
			var out []byte
			answer := true
			switch {
			case len(msg) == 1 && msg[0] == 0x04:
				out = card.ATR()
			case len(msg) == 1:
				answer = false
				switch msg[0] {
				case 0x00:
					card.PowerOff()
				case 0x01:
					card.PowerOn()
				case 0x02:
					card.Reset()
				}
			default:
				if resp, ok := k.Handle(msg, card.Process); ok {
					out = resp
				} else {
					out = card.Process(msg)
				}
			}
			mu.Unlock()
			if answer && writeMsg(conn, out) != nil {
				return
			}
		}
	}()
	return cs
}

func (cs *cardSide) remove() {
	cs.conn.Close()
	<-cs.done
}

func findReader(t *testing.T, ctx *scard.Context) string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		readers, _ := ctx.ListReaders()
		for _, r := range readers {
			if strings.HasPrefix(r, readerPrefix) {
				return r
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("no reader named %q", readerPrefix)
	return ""
}

// waitState waits for the reader to report (or stop reporting) a card.
func waitState(t *testing.T, ctx *scard.Context, reader string, present bool) {
	t.Helper()
	rs := []scard.ReaderState{{Reader: reader, CurrentState: scard.StateUnaware}}
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if err := ctx.GetStatusChange(rs, time.Second); err != nil && !errors.Is(err, scard.ErrTimeout) {
			t.Fatalf("GetStatusChange: %v", err)
		}
		if (rs[0].EventState&scard.StatePresent != 0) == present {
			return
		}
		rs[0].CurrentState = rs[0].EventState
	}
	t.Fatalf("reader never reported present=%t", present)
}

func features(t *testing.T, c *scard.Card) map[byte]uint32 {
	t.Helper()
	b, err := c.Control(getFeatureCtl, nil)
	if err != nil {
		t.Fatalf("GET_FEATURE_REQUEST: %v", err)
	}
	if len(b)%6 != 0 {
		t.Fatalf("feature list % x", b)
	}
	m := map[byte]uint32{}
	for i := 0; i < len(b); i += 6 {
		if b[i+1] != 4 {
			t.Fatalf("feature TLV % x", b[i:i+6])
		}
		m[b[i]] = binary.BigEndian.Uint32(b[i+2 : i+6])
	}
	return m
}

func TestE2EPINPadThroughPcscd(t *testing.T) {
	ctx, err := scard.EstablishContext()
	if err != nil {
		t.Fatal(err)
	}
	defer ctx.Release()
	reader := findReader(t, ctx)
	waitState(t, ctx, reader, false)

	card, err := vpiv.New(vpiv.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var k pinpad.Keypad
	cs := insert(t, card, &k)
	waitState(t, ctx, reader, true)

	// The reader and its card, as the command-line tools see them.
	out, err := exec.Command("opensc-tool", "-l").CombinedOutput()
	if err != nil {
		t.Fatalf("opensc-tool -l: %v\n%s", err, out)
	}
	t.Logf("opensc-tool -l:\n%s", out)
	if !lineHas(string(out), reader, "Yes", "PIN pad") {
		t.Errorf("opensc-tool does not list %q with a card and a PIN pad", reader)
	}
	out, _ = exec.Command("pcsc_scan", "-r").CombinedOutput()
	if !strings.Contains(string(out), reader) {
		t.Errorf("pcsc_scan -r:\n%s", out)
	}

	c, err := ctx.Connect(reader, scard.ShareShared, scard.ProtocolAny)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Disconnect(scard.LeaveCard)

	f := features(t, c)
	for _, tag := range []byte{tlvVerify, tlvModify, tlvPINProps, tlvTLVProps} {
		if f[tag] != 0x42330000+uint32(tag) {
			t.Errorf("feature %#02x: code %#x", tag, f[tag])
		}
	}
	props, err := c.Control(f[tlvPINProps], nil)
	if err != nil || !bytes.Equal(props, []byte{0, 0, 2, 0}) {
		t.Errorf("IFD_PIN_PROPERTIES: % x %v", props, err)
	}
	tlv, err := c.Control(f[tlvTLVProps], nil)
	if err != nil || !bytes.Contains(tlv, []byte{6, 1, 4}) || !bytes.Contains(tlv, []byte{7, 1, 12}) {
		t.Errorf("GET_TLV_PROPERTIES: % x %v", tlv, err)
	}

	transmit := func(cmd string) []byte {
		t.Helper()
		r, err := c.Transmit(hx(cmd))
		if err != nil {
			t.Fatalf("transmit %s: %v", cmd[:8], err)
		}
		return r
	}
	if r := transmit("00a4040005a000000308"); !bytes.HasSuffix(r, []byte{0x90, 0}) {
		t.Fatalf("SELECT PIV: % x", r)
	}
	fm := pinpad.Format{TimerOut: 30, TimerOut2: 30, FormatString: 0x82, PINBlockString: 0x08,
		MinPIN: 6, MaxPIN: 8, EntryValidation: 2}
	verify := (&pinpad.Verify{Format: fm, APDU: hx("0020008008ffffffffffffffff")}).Marshal()
	change := (&pinpad.Modify{Format: fm, InsertionOffsetNew: 8, ConfirmPIN: 3,
		APDU: hx("0024008010ffffffffffffffffffffffffffffffff")}).Marshal()
	pin := func(ctl uint32, req []byte, want string) {
		t.Helper()
		r, err := c.Control(ctl, req)
		if err != nil || !bytes.Equal(r, hx(want)) {
			t.Fatalf("PIN request: % x %v, want %s", r, err, want)
		}
	}

	k.Type("123456")
	pin(f[tlvVerify], verify, "9000")
	if r := transmit("0020008000"); !bytes.Equal(r, hx("9000")) {
		t.Fatalf("PIN not verified on the card: % x", r)
	}
	k.Type("111111")
	pin(f[tlvVerify], verify, "63c2")
	k.Cancel()
	pin(f[tlvVerify], verify, "6401")
	pin(f[tlvVerify], verify, "6400") // nothing scripted
	k.Type("123456")
	k.Type("24681357")
	k.Type("24681357")
	pin(f[tlvModify], change, "9000")
	k.Type("24681357")
	pin(f[tlvVerify], verify, "9000")

	// Hostile requests through pcscd: refused, and pcscd and the card carry on.
	if _, err := c.Control(f[tlvVerify], verify[:10]); err == nil {
		t.Error("truncated PIN_VERIFY_STRUCTURE accepted")
	}
	bad := append([]byte(nil), verify...)
	bad[18] = 0x80 // ulDataLength 2^31
	if _, err := c.Control(f[tlvVerify], bad); err == nil {
		t.Error("PIN_VERIFY_STRUCTURE with a huge ulDataLength accepted")
	}
	badFmt := append([]byte(nil), verify...)
	badFmt[2] = 0x83 // RFU encoding: the reader answers 6B80
	pin(f[tlvVerify], badFmt, "6b80")
	if r := transmit("f1200080"); !bytes.Equal(r, hx("6e00")) {
		t.Errorf("CLA F1 APDU: % x", r)
	}
	if r := transmit("0020008000"); !bytes.Equal(r, hx("9000")) {
		t.Fatalf("card after hostile requests: % x", r)
	}

	// Removing the card side empties the reader.
	cs.remove()
	waitState(t, ctx, reader, false)
}

func lineHas(out string, words ...string) bool {
	for _, line := range strings.Split(out, "\n") {
		all := true
		for _, w := range words {
			all = all && strings.Contains(line, w)
		}
		if all {
			return true
		}
	}
	return false
}
