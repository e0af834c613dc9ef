package apdu

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"
)

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// exchangeLog renders each (command, answer) pair through one Redactor, as a
// connection's trace does.
func exchangeLog(pairs ...[]byte) string {
	var r Redactor
	var b strings.Builder
	for i := 0; i+1 < len(pairs); i += 2 {
		b.WriteString("> " + r.Command(pairs[i]) + "\n")
		b.WriteString("< " + r.Response(pairs[i+1]) + "\n")
	}
	return b.String()
}

// absent fails when any secret appears in log, in lower- or upper-case hex or raw.
func absent(t *testing.T, log string, secrets map[string][]byte) {
	t.Helper()
	for what, s := range secrets {
		h := hex.EncodeToString(s)
		if strings.Contains(log, h) || strings.Contains(log, strings.ToUpper(h)) || strings.Contains(log, string(s)) {
			t.Errorf("%s appears in the log:\n%s", what, log)
		}
	}
}

// A defect found once: on a card with a PIN-protected management key (ykman
// --protect: PRINTED 5FC109 = 53 { 88 { 89 key } }), the answer to GET DATA 5FC109 was
// traced in clear. It, and every other object that can hold a secret, is hidden.
func TestRedactorHidesSecretObjects(t *testing.T) {
	key := []byte{0x3c, 0x91, 0x5e, 0x02, 0x77, 0xa4, 0x18, 0xd6, 0x4b, 0xe9, 0x20, 0x6f,
		0x81, 0xc5, 0x3a, 0x9d, 0x52, 0x0b, 0xf3, 0x67, 0x2e, 0xb8, 0x44, 0x1c}
	printed := cat([]byte{0x53, 0x1c, 0x88, 0x1a, 0x89, 0x18}, key)
	getPrinted := []byte{0x00, 0xcb, 0x3f, 0xff, 0x05, 0x5c, 0x03, 0x5f, 0xc1, 0x09, 0x00}
	salt := []byte{0xa1, 0xb2, 0xc3, 0xd4, 0xe5, 0xf6, 0x07, 0x18}
	admin := cat([]byte{0x53, 0x0d, 0x80, 0x0b, 0x81, 0x01, 0x03, 0x82, 0x06}, salt[:6])
	getAdmin := []byte{0x00, 0xcb, 0x3f, 0xff, 0x05, 0x5c, 0x03, 0x5f, 0xff, 0x00, 0x00}
	getIris := []byte{0x00, 0xcb, 0x3f, 0xff, 0x05, 0x5c, 0x03, 0x5f, 0xc1, 0x21, 0x00}
	iris := []byte{0x53, 0x04, 0xee, 0xdd, 0xcc, 0xbb}
	putPrinted := cat([]byte{0x00, 0xdb, 0x3f, 0xff, 0x23, 0x5c, 0x03, 0x5f, 0xc1, 0x09}, printed)
	// A chained PUT DATA whose second block happens to start like a tag list.
	putChain1 := cat([]byte{0x10, 0xdb, 0x3f, 0xff, 0x06, 0x5c, 0x03, 0x5f, 0xc1, 0x09, 0x53})
	putChain2 := cat([]byte{0x00, 0xdb, 0x3f, 0xff, 0x06, 0x5c, 0x04}, key[:4])
	log := exchangeLog(
		getPrinted, cat(printed[:10], []byte{0x61, 0x14}),
		[]byte{0x00, 0xc0, 0x00, 0x00, 0x14}, cat(printed[10:], []byte{0x90, 0x00}),
		getAdmin, cat(admin, []byte{0x90, 0x00}),
		getIris, cat(iris, []byte{0x90, 0x00}),
		putPrinted, []byte{0x90, 0x00},
		putChain1, []byte{0x90, 0x00},
		putChain2, []byte{0x90, 0x00},
	)
	absent(t, log, map[string][]byte{"management key (start)": key[:8], "management key (end)": key[16:],
		"salt": salt[:6], "iris": iris[2:], "chained key": key[:4]})
	for _, want := range []string{"00cb3fff055c035fc10900", "[10 bytes redacted] 6114", "[20 bytes redacted] 9000",
		"00db3fff 23 5c035fc109 [30 bytes redacted]", "10db3fff 06 5c035fc109 [1 bytes redacted]",
		"00db3fff 06 [6 bytes redacted]"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
}

func TestRedactorHidesCredentialsAndKeys(t *testing.T) {
	pin := []byte("918273\xff\xff")
	puk := []byte("55443322")
	mgm := bytes.Repeat([]byte{0x5a, 0xc3}, 12)
	witness := []byte{0xde, 0xad, 0xbe, 0xef, 0x13, 0x57, 0x9b, 0xdf}
	scalar := []byte{0x71, 0x72, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78}
	shared := []byte{0xab, 0xcd, 0xef, 0x99, 0x10, 0x20, 0x30, 0x40}
	plain := []byte{0xc0, 0xff, 0xee, 0x42, 0x24, 0xee, 0xff, 0x0c}
	log := exchangeLog(
		cat([]byte{0x00, 0x20, 0x00, 0x80, 0x08}, pin), []byte{0x90, 0x00},
		cat([]byte{0x00, 0x24, 0x00, 0x81, 0x10}, puk, puk), []byte{0x90, 0x00},
		cat([]byte{0x00, 0x2c, 0x00, 0x80, 0x10}, puk, pin), []byte{0x63, 0xc2},
		cat([]byte{0x00, 0x87, 0x0a, 0x9b, 0x0c, 0x7c, 0x0a, 0x80, 0x08}, witness), cat([]byte{0x7c, 0x0a, 0x82, 0x08}, witness, []byte{0x90, 0x00}),
		cat([]byte{0x00, 0xff, 0xff, 0xff, 0x1b, 0x0a, 0x9b, 0x18}, mgm), []byte{0x90, 0x00},
		cat([]byte{0x10, 0xfe, 0x11, 0x9a, 0x0a, 0x06, 0x08}, scalar), []byte{0x90, 0x00},
		[]byte{0x00, 0x87, 0x11, 0x9d, 0x07, 0x7c, 0x05, 0x82, 0x00, 0x85, 0x01, 0x04}, cat([]byte{0x7c, 0x0a, 0x82, 0x08}, shared, []byte{0x90, 0x00}),
		[]byte{0x00, 0x87, 0x07, 0x9d, 0x07, 0x7c, 0x05, 0x82, 0x00, 0x81, 0x01, 0x55}, cat([]byte{0x7c, 0x0a, 0x82, 0x08}, plain, []byte{0x61, 0x02}),
		[]byte{0x00, 0xc0, 0x00, 0x00, 0x02}, cat(plain[:2], []byte{0x90, 0x00}),
		[]byte{0x00, 0x87, 0xe1, 0x9d, 0x07, 0x7c, 0x05, 0x82, 0x00, 0x85, 0x01, 0x04}, cat([]byte{0x7c, 0x0a, 0x82, 0x08}, shared, []byte{0x90, 0x00}),
		[]byte{0x00, 0x42, 0x00, 0x00, 0x08}, cat(pin, []byte{0x90, 0x00}), // unknown: hidden both ways
	)
	absent(t, log, map[string][]byte{"PIN": pin[:6], "PUK": puk, "management key": mgm, "witness": witness,
		"scalar": scalar, "ECDH secret": shared, "RSA decryption": plain})
	for _, want := range []string{"00200080 08 [8 bytes redacted]", "00870a9b 0c [12 bytes redacted]", "63c2",
		"[12 bytes redacted] 9000", "[12 bytes redacted] 6102", "[2 bytes redacted] 9000", "00c0000002",
		"0087119d077c058200850104", "10fe119a 0a [10 bytes redacted]"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
}

// What carries no secret stays readable: that is what a trace is for.
func TestRedactorShowsPublicExchanges(t *testing.T) {
	sel := []byte{0x00, 0xa4, 0x04, 0x00, 0x05, 0xa0, 0x00, 0x00, 0x03, 0x08}
	getCert := []byte{0x00, 0xcb, 0x3f, 0xff, 0x05, 0x5c, 0x03, 0x5f, 0xc1, 0x05, 0x00}
	sign := []byte{0x00, 0x87, 0x11, 0x9a, 0x08, 0x7c, 0x06, 0x82, 0x00, 0x81, 0x02, 0xaa, 0xbb}
	meta := []byte{0x00, 0xf7, 0x00, 0x9a, 0x00}
	log := exchangeLog(
		sel, []byte{0x61, 0x10},
		getCert, []byte{0x53, 0x01, 0xaa, 0x61, 0x02},
		[]byte{0, 0xc0, 0, 0, 2}, []byte{0xbb, 0xcc, 0x90, 0x00},
		sign, []byte{0x7c, 0x04, 0x82, 0x02, 0x30, 0x00, 0x90, 0x00},
		meta, []byte{0x01, 0x01, 0x11, 0x90, 0x00},
	)
	for _, want := range []string{hex.EncodeToString(sel), "6110", hex.EncodeToString(getCert), "5301aa6102", "bbcc9000",
		hex.EncodeToString(sign), "7c04820230009000", "0101119000"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %s:\n%s", want, log)
		}
	}
}

// A command that carried a secret is wiped once sent; others are left alone.
func TestExchangeWipesSecretCommands(t *testing.T) {
	var sent [][]byte
	card := transmitFunc(func(cmd []byte) ([]byte, error) {
		sent = append(sent, cmd) // keeps the slice itself, to see it wiped afterwards
		return []byte{0x90, 0x00}, nil
	})
	pin := []byte("918273\xff\xff")
	if _, err := Exchange(card, Command{INS: 0x20, P2: 0x80, Data: pin}, Options{}); err != nil {
		t.Fatal(err)
	}
	if _, err := Exchange(card, Command{INS: 0xA4, P1: 4, Data: []byte{0xa0, 0, 0, 3, 8}}, Options{}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(sent[0], make([]byte, len(sent[0]))) {
		t.Errorf("VERIFY still holds %x after transmission", sent[0])
	}
	if sent[1][1] != 0xA4 {
		t.Errorf("SELECT was wiped: %x", sent[1])
	}
}

type transmitFunc func([]byte) ([]byte, error)

func (f transmitFunc) Transmit(cmd []byte) ([]byte, error) { return f(cmd) }

func FuzzRedactor(f *testing.F) {
	f.Add([]byte{0x00, 0xcb, 0x3f, 0xff, 0x05, 0x5c, 0x03, 0x5f, 0xc1, 0x09, 0x00}, []byte{0x53, 0x01, 0x00, 0x90, 0x00})
	f.Add([]byte{0x10, 0xdb, 0x3f, 0xff, 0x00, 0x00, 0x02, 0x5c, 0x01}, []byte{0x90})
	f.Fuzz(func(t *testing.T, cmd, rsp []byte) {
		var r Redactor
		_ = r.Command(cmd)
		_ = r.Response(rsp)
		if c, err := ParseCommand(cmd); err == nil {
			_ = c.String()
		}
	})
}

// Commands that went by while the trace was off: what they started stays hidden.
func TestRedactorAfterUnseen(t *testing.T) {
	var r Redactor
	r.Unseen() // GET DATA 5FC109 answered 61xx, untraced
	r.Command([]byte{0x00, 0xc0, 0x00, 0x00, 0x10})
	if s := r.Response([]byte{0x89, 0x18, 0x3c, 0x91, 0x90, 0x00}); strings.Contains(s, "3c91") {
		t.Errorf("the rest of an unseen answer was shown: %s", s)
	}
	r.Unseen() // the first block of a chained PUT DATA, untraced
	if s := r.Command([]byte{0x00, 0xdb, 0x3f, 0xff, 0x05, 0x5c, 0x03, 0x3c, 0x91, 0x5e}); strings.Contains(s, "3c915e") {
		t.Errorf("the last block of an unseen chain was shown: %s", s)
	}
	// The next command is judged on its own again.
	if s := r.Command([]byte{0x00, 0xfd, 0x00, 0x00, 0x00}); s != "00fd000000" {
		t.Errorf("GET VERSION after Unseen: %s", s)
	}
	if s := r.Response([]byte{0x05, 0x07, 0x01, 0x90, 0x00}); s != "0507019000" {
		t.Errorf("GET VERSION answer: %s", s)
	}
}

// An answer that may hold a secret is wiped from the transport's buffers once copied
// out; a public one is left alone.
func TestExchangeWipesSecretAnswers(t *testing.T) {
	var answers [][]byte
	parts := [][]byte{{0x53, 0x04, 0x88, 0x02, 0x61, 0x02}, {0x89, 0x00, 0x90, 0x00}}
	card := transmitFunc(func(cmd []byte) ([]byte, error) {
		a := append([]byte(nil), parts[len(answers)%2]...)
		answers = append(answers, a)
		return a, nil
	})
	printed := Command{INS: 0xCB, P1: 0x3F, P2: 0xFF, Data: []byte{0x5C, 0x03, 0x5F, 0xC1, 0x09}, Ne: 256}
	out, err := Exchange(card, printed, Options{})
	if err != nil || !bytes.Equal(out, []byte{0x53, 0x04, 0x88, 0x02, 0x89, 0x00}) {
		t.Fatalf("PRINTED: %x, %v", out, err)
	}
	for i, a := range answers {
		if !bytes.Equal(a[:len(a)-2], make([]byte, len(a)-2)) {
			t.Errorf("part %d of the PRINTED answer still in the buffer: %x", i, a)
		}
	}
	answers = nil
	chuid := printed
	chuid.Data = []byte{0x5C, 0x03, 0x5F, 0xC1, 0x02}
	if _, err := Exchange(card, chuid, Options{}); err != nil {
		t.Fatal(err)
	}
	if answers[0][0] != 0x53 {
		t.Errorf("a public answer was wiped: %x", answers[0])
	}
	// ExchangeFirst + Rest: the first part is wiped too, and Rest still returns the rest.
	answers = nil
	first, more, err := ExchangeFirst(card, printed, Options{})
	if err != nil || more == nil {
		t.Fatalf("ExchangeFirst: %v", err)
	}
	rest, err := more.Rest()
	if err != nil || !bytes.Equal(append(first, rest...), []byte{0x53, 0x04, 0x88, 0x02, 0x89, 0x00}) {
		t.Fatalf("first %x rest %x: %v", first, rest, err)
	}
	if !bytes.Equal(answers[0][:4], make([]byte, 4)) {
		t.Errorf("first part still in the buffer: %x", answers[0])
	}
}
