package reader

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/pcsc11/pcsc11/logging"
)

// traceOf runs cmds through a Conn whose card answers with answers[i], with tracing
// into a buffer, and returns the trace.
func traceOf(t *testing.T, cmds, answers [][]byte) string {
	t.Helper()
	var buf bytes.Buffer
	setTraceOutput(&buf)
	t.Cleanup(func() { setTraceOutput(nil) })
	i := 0
	f := &fakeHandle{transmit: func([]byte) ([]byte, error) {
		r := answers[i]
		i++
		return r, nil
	}}
	c := testConn(f)
	for _, cmd := range cmds {
		if _, err := c.Transmit(cmd); err != nil {
			t.Fatal(err)
		}
	}
	return buf.String()
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func TestTraceRedactsSecrets(t *testing.T) {
	pin := []byte("918273\xff\xff")
	puk := []byte("55443322")
	mgmtKey := bytes.Repeat([]byte{0x5a, 0xc3}, 12)
	witness := []byte{0x7c, 0x0a, 0x80, 0x08, 0xde, 0xad, 0xbe, 0xef, 0x13, 0x57, 0x9b, 0xdf}
	privKey := []byte{0x06, 0x20, 0x71, 0x72, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78}
	secretAnswer := []byte{0x7c, 0x06, 0x82, 0x04, 0xc0, 0xff, 0xee, 0x42}
	sharedSecret := []byte{0x7c, 0x06, 0x82, 0x04, 0xab, 0xcd, 0xef, 0x99}
	cmds := [][]byte{
		cat([]byte{0x00, 0x20, 0x00, 0x80, 0x08}, pin),                       // VERIFY
		cat([]byte{0x00, 0x24, 0x00, 0x80, 0x10}, pin, pin),                  // CHANGE REFERENCE DATA
		cat([]byte{0x00, 0x2c, 0x00, 0x80, 0x10}, puk, pin),                  // RESET RETRY COUNTER
		cat([]byte{0x00, 0x87, 0x03, 0x9b, 0x0c}, witness),                   // GENERAL AUTHENTICATE 9B
		{0x00, 0xc0, 0x00, 0x00, 0x00},                                       // GET RESPONSE of the 9B answer
		cat([]byte{0x00, 0xff, 0xff, 0xff, 0x1b, 0x03, 0x9b, 0x18}, mgmtKey), // SET MANAGEMENT KEY
		cat([]byte{0x10, 0xfe, 0x11, 0x9a, 0x0a}, privKey),                   // IMPORT KEY (chained)
		{0x00, 0x87, 0x11, 0x9d, 0x04, 0x7c, 0x02, 0x85, 0x00},               // GENERAL AUTHENTICATE 9D (ECDH)
	}
	answers := [][]byte{
		{0x90, 0x00}, {0x90, 0x00}, {0x63, 0xc2},
		cat(secretAnswer, []byte{0x61, 0x04}),
		cat([]byte{0x11, 0x22, 0x33, 0x44}, []byte{0x90, 0x00}),
		{0x90, 0x00}, {0x90, 0x00},
		cat(sharedSecret, []byte{0x90, 0x00}),
	}
	out := traceOf(t, cmds, answers)
	lower := strings.ToLower(out)
	secrets := map[string][]byte{"pin": pin[:6], "puk": puk, "management key": mgmtKey,
		"witness": witness[4:], "private key": privKey[2:], "9B answer": secretAnswer[4:],
		"GET RESPONSE continuation": {0x11, 0x22, 0x33, 0x44}, "ECDH secret": sharedSecret[4:]}
	for what, s := range secrets {
		if strings.Contains(lower, hex.EncodeToString(s)) {
			t.Errorf("%s appears in the trace:\n%s", what, out)
		}
	}
	if strings.Contains(out, "918273") || strings.Contains(out, "55443322") {
		t.Errorf("PIN or PUK digits appear in the trace")
	}
	// Headers, sizes and status words stay for debugging.
	for _, want := range []string{"00200080 08 [8 bytes redacted]", "0087039b 0c [12 bytes redacted]",
		"[8 bytes redacted] 6104", "[4 bytes redacted] 9000", "63c2", "Test Reader 00 00"} {
		if !strings.Contains(out, want) {
			t.Errorf("trace lacks %q:\n%s", want, out)
		}
	}
}

func TestTraceShowsOrdinaryAPDUs(t *testing.T) {
	sel := []byte{0x00, 0xa4, 0x04, 0x00, 0x05, 0xa0, 0x00, 0x00, 0x03, 0x08}
	get := []byte{0x00, 0xcb, 0x3f, 0xff, 0x05, 0x5c, 0x03, 0x5f, 0xc1, 0x02}
	out := traceOf(t, [][]byte{sel, {0x00, 0x87, 0x03, 0x9b, 0x04, 0x7c, 0x02, 0x80, 0x00}, get, {0, 0xc0, 0, 0, 0}},
		[][]byte{{0x61, 0x10}, {0x7c, 0x0a, 0x90, 0x00}, {0x53, 0x01, 0xaa, 0x61, 0x02}, {0xbb, 0xcc, 0x90, 0x00}})
	for _, want := range []string{hex.EncodeToString(sel), "6110", hex.EncodeToString(get), "5301aa6102", "bbcc9000"} {
		if !strings.Contains(out, want) {
			t.Errorf("trace lacks %s:\n%s", want, out)
		}
	}
}

func TestTraceOffWritesNothing(t *testing.T) {
	var buf bytes.Buffer
	restore := logging.SetOutput(&buf, true, false) // debug lines on, APDU trace off
	defer restore()
	f := &fakeHandle{}
	if _, err := testConn(f).Transmit([]byte{0, 0x20, 0, 0x80, 1, 0x31}); err != nil {
		t.Fatal(err)
	}
	if tracing() || buf.Len() != 0 {
		t.Fatalf("trace written with apdu off: %q", buf.String())
	}
}

// The in-process card gets the same trace as a pcsc-lite connection.
func TestTracedCard(t *testing.T) {
	var buf bytes.Buffer
	restore := logging.SetOutput(&buf, false, true)
	defer restore()
	c := Traced(testConn(&fakeHandle{transmit: func([]byte) ([]byte, error) { return []byte{0x12, 0x34, 0x90, 0x00}, nil }}), "mem")
	if _, err := c.Transmit([]byte{0, 0x20, 0, 0x80, 2, 0x31, 0x32}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Transmit([]byte{0, 0xfd, 0, 0, 0}); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{`apdu "mem" > 00200080 02 [2 bytes redacted]`, `apdu "mem" < 12349000`} {
		if !strings.Contains(out, want) {
			t.Errorf("trace lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "3132") {
		t.Errorf("PIN in the trace:\n%s", out)
	}
}

// A defect found once: a PIN-protected management key (ykman --protect, PRINTED 5FC109 =
// 53 { 88 { 89 key } }) read back during a key generation by a user with a PIN was
// traced in clear; so was the PUT DATA that writes it.
func TestTraceHidesProtectedManagementKey(t *testing.T) {
	key := []byte{0x3c, 0x91, 0x5e, 0x02, 0x77, 0xa4, 0x18, 0xd6, 0x4b, 0xe9, 0x20, 0x6f,
		0x81, 0xc5, 0x3a, 0x9d, 0x52, 0x0b, 0xf3, 0x67, 0x2e, 0xb8, 0x44, 0x1c}
	printed := cat([]byte{0x53, 0x1c, 0x88, 0x1a, 0x89, 0x18}, key)
	get := []byte{0x00, 0xcb, 0x3f, 0xff, 0x05, 0x5c, 0x03, 0x5f, 0xc1, 0x09, 0x00}
	put := cat([]byte{0x00, 0xdb, 0x3f, 0xff, 0x23, 0x5c, 0x03, 0x5f, 0xc1, 0x09}, printed)
	out := traceOf(t, [][]byte{get, put}, [][]byte{cat(printed, []byte{0x90, 0x00}), {0x90, 0x00}})
	for _, part := range [][]byte{key[:8], key[8:16], key[16:]} {
		if strings.Contains(strings.ToLower(out), hex.EncodeToString(part)) {
			t.Errorf("management key bytes %x appear in the trace:\n%s", part, out)
		}
	}
	if !strings.Contains(out, "00cb3fff055c035fc10900") {
		t.Errorf("the GET DATA command itself should stay readable:\n%s", out)
	}
}
