package piv

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha256"
	"math/big"
	"testing"
	"time"

	"github.com/pcsc11/pcsc11/ck"
	"github.com/pcsc11/pcsc11/guard"
	"github.com/pcsc11/pcsc11/reader"
	"github.com/pcsc11/pcsc11/slot"
)

// txCard wraps a test card and records, for every APDU and PIN-pad request, the
// instruction and the PC/SC transaction it was sent in (0: outside any).
type txCard struct {
	reader.Card
	txs    int // transactions begun
	cur    int // the open transaction, 0 when none
	events []txEvent
}

type txEvent struct {
	ins byte // INS of the APDU; for a PIN-pad request, the INS of its template
	pad bool // sent through Control (PIN pad)
	tx  int
}

func (c *txCard) BeginTransaction() error {
	c.txs++
	c.cur = c.txs
	return c.Card.BeginTransaction()
}

func (c *txCard) EndTransaction() error {
	c.cur = 0
	return c.Card.EndTransaction()
}

func (c *txCard) Transmit(cmd []byte) ([]byte, error) {
	if len(cmd) >= 2 {
		c.events = append(c.events, txEvent{ins: cmd[1], tx: c.cur})
	}
	return c.Card.Transmit(cmd)
}

func (c *txCard) Control(code uint32, in []byte) ([]byte, error) {
	if code == ctlVerify || code == ctlModify {
		c.events = append(c.events, txEvent{ins: insVerify, pad: true, tx: c.cur})
	}
	return c.Card.Control(code, in)
}

// count returns how many events since from had instruction ins.
func (c *txCard) count(from int, ins byte) int {
	n := 0
	for _, e := range c.events[from:] {
		if e.ins == ins {
			n++
		}
	}
	return n
}

// wantVerifyThenAuth checks the events since from: one VERIFY, then the GENERAL
// AUTHENTICATE command(s), in one transaction with nothing between them.
func wantVerifyThenAuth(t *testing.T, c *txCard, from int, pad bool) {
	t.Helper()
	evs := c.events[from:]
	v := -1
	for i, e := range evs {
		if e.ins == insVerify {
			if v >= 0 {
				t.Fatalf("more than one VERIFY: %+v", evs)
			}
			v = i
		}
	}
	if v < 0 || v+1 >= len(evs) {
		t.Fatalf("no VERIFY followed by an operation: %+v", evs)
	}
	if evs[v].pad != pad || evs[v].tx == 0 {
		t.Fatalf("VERIFY %+v, want pad=%t inside a transaction", evs[v], pad)
	}
	for _, e := range evs[v+1:] {
		if e.ins != insGeneralAuth || e.tx != evs[v].tx {
			t.Fatalf("after the VERIFY (transaction %d): %+v", evs[v].tx, evs[v+1:])
		}
	}
}

func openTx(t *testing.T, card reader.Card) (*txCard, *Token) {
	t.Helper()
	c := &txCard{Card: card}
	tok, err := Open(c, "Test Reader 00 00", Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return c, tok.(*Token)
}

// signWithContextLogin is C_Login(CKU_CONTEXT_SPECIFIC) then the key operation, as
// the module drives them.
func signWithContextLogin(tok *Token, key string, op slot.KeyOp, in, pin []byte) ([]byte, error) {
	if _, err := tok.LoginForOperation(key, pin); err != nil {
		return nil, err
	}
	return tok.PrivateKeyOp(key, op, in)
}

func TestContextLoginOneTransaction(t *testing.T) {
	setEnv(t, nil)
	m, d, _ := provisioned(t)
	c, tok := openTx(t, m)
	h := sha256.Sum256([]byte("always authenticate"))
	pin := []byte(testPIN)
	for i := range 2 { // every use of the PIN-always key gets its own VERIFY
		from := len(c.events)
		sig, err := signWithContextLogin(tok, "priv/9c", slot.OpECDSA, h[:], pin)
		if err != nil || len(sig) != 64 {
			t.Fatalf("sign %d: %d bytes, %v", i, len(sig), err)
		}
		if !ecdsa.Verify(d.pub9c, h[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
			t.Fatalf("sign %d: signature does not verify", i)
		}
		wantVerifyThenAuth(t, c, from, false)
		if c.cur != 0 || tok.holding() {
			t.Fatalf("sign %d: the transaction is still open after the operation", i)
		}
	}
	if string(pin) != testPIN {
		t.Error("the caller's PIN was changed")
	}
	// The verification was spent by the operation: the key needs the PIN again.
	if _, err := tok.PrivateKeyOp("priv/9c", slot.OpECDSA, h[:]); slot.RV(err) != ck.CKR_USER_NOT_LOGGED_IN {
		t.Errorf("9C after the operation: %v", err)
	}

	// RSA 2048 (9A), PKCS#1 v1.5 padded on the host, checked with crypto/rsa.
	from := len(c.events)
	info := append([]byte{0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01,
		0x05, 0x00, 0x04, 0x20}, h[:]...)
	block := make([]byte, 256)
	block[1] = 0x01
	for i := 2; i < len(block)-len(info)-1; i++ {
		block[i] = 0xFF
	}
	copy(block[len(block)-len(info):], info)
	sig, err := signWithContextLogin(tok, "priv/9a", slot.OpRSARaw, block, pin)
	if err != nil {
		t.Fatalf("RSA: %v", err)
	}
	if err := rsa.VerifyPKCS1v15(&d.rsa9a.PublicKey, crypto.SHA256, h[:], sig); err != nil {
		t.Errorf("RSA signature: %v", err)
	}
	wantVerifyThenAuth(t, c, from, false)

	// A reset seen at the start of the transaction: PIV is selected again first, and
	// the VERIFY and the operation still follow each other.
	m.resetNext = true
	from = len(c.events)
	if _, err := signWithContextLogin(tok, "priv/9c", slot.OpECDSA, h[:], pin); err != nil {
		t.Fatalf("after a reset: %v", err)
	}
	for len(c.events) > from && c.events[from].ins != insVerify {
		from++ // the SELECT of the re-selection
	}
	wantVerifyThenAuth(t, c, from, false)
}

// A login whose operation never comes gives the card back: by release, by a second
// login, by Close, and at the latest after contextHoldMax.
func TestContextLoginReleased(t *testing.T) {
	setEnv(t, nil)
	m, _, _ := provisioned(t)
	c, tok := openTx(t, m)
	pin := []byte(testPIN)

	release, err := tok.LoginForOperation("priv/9c", pin)
	if err != nil {
		t.Fatal(err)
	}
	if c.cur == 0 || !tok.holding() {
		t.Fatal("no transaction kept after the context login")
	}
	release()
	if c.cur != 0 || tok.holding() {
		t.Fatal("release did not end the transaction")
	}
	release() // idempotent

	first, err := tok.LoginForOperation("priv/9c", pin)
	if err != nil {
		t.Fatal(err)
	}
	tx := c.cur
	if _, err := tok.LoginForOperation("priv/9c", pin); err != nil {
		t.Fatal(err)
	}
	if c.cur == tx || c.cur == 0 {
		t.Fatalf("a second login did not replace the first transaction (%d, %d)", tx, c.cur)
	}
	first() // the old release must not end the new hold
	if c.cur == 0 || !tok.holding() {
		t.Fatal("a stale release ended the new hold")
	}

	old := contextHoldMax
	contextHoldMax = 20 * time.Millisecond
	t.Cleanup(func() { contextHoldMax = old })
	if _, err := tok.LoginForOperation("priv/9c", pin); err != nil {
		t.Fatal(err)
	}
	waitHoldEnded(t, tok, "the kept transaction outlived contextHoldMax")
	contextHoldMax = old
	if _, err := tok.LoginForOperation("priv/9c", pin); err != nil {
		t.Fatal(err)
	}
	if err := tok.Close(); err != nil {
		t.Fatal(err)
	}
	if tok.holding() {
		t.Fatal("Close left the transaction open")
	}
}

func TestContextLoginWrongPIN(t *testing.T) {
	setEnv(t, nil)
	m, _, _ := provisioned(t)
	c, tok := openTx(t, m)
	h := sha256.Sum256([]byte("x"))
	before := pinRetries(t, tok)
	from := len(c.events)
	_, err := tok.LoginForOperation("priv/9c", []byte("654321"))
	wantRV(t, "wrong PIN", err, ck.CKR_PIN_INCORRECT)
	if n := c.count(from, insVerify); n != 1 {
		t.Errorf("%d VERIFY commands, want 1 (no retry)", n)
	}
	if c.cur != 0 || tok.holding() {
		t.Error("a rejected PIN keeps the card")
	}
	if after := pinRetries(t, tok); after != before-1 {
		t.Errorf("PIN tries %d -> %d, want one spent", before, after)
	}
	if tok.loggedIn {
		t.Error("logged in after a wrong PIN")
	}
	// Then the right PIN works.
	if _, err := signWithContextLogin(tok, "priv/9c", slot.OpECDSA, h[:], []byte(testPIN)); err != nil {
		t.Errorf("right PIN after a wrong one: %v", err)
	}
}

// Errors found on the host send nothing, so they spend no PIN try.
func TestContextLoginHostErrors(t *testing.T) {
	setEnv(t, nil)
	m, _, _ := provisioned(t)
	c, tok := openTx(t, m)
	cases := []struct {
		name string
		pin  []byte
		rv   ck.ULong
	}{
		{"PIN too short", []byte("12345"), ck.CKR_PIN_LEN_RANGE},
		{"PIN too long", []byte("123456789"), ck.CKR_PIN_LEN_RANGE},
		{"empty PIN", []byte{}, ck.CKR_PIN_LEN_RANGE},
		{"NULL PIN without a PIN pad", nil, ck.CKR_ARGUMENTS_BAD},
	}
	for _, tc := range cases {
		txs, evs := c.txs, len(c.events)
		_, err := tok.LoginForOperation("priv/9c", tc.pin)
		wantRV(t, tc.name, err, tc.rv)
		if c.txs != txs || len(c.events) != evs {
			t.Errorf("%s: %d transactions and %d APDUs sent, want none", tc.name, c.txs-txs, len(c.events)-evs)
		}
	}
}

func TestContextLoginOnPad(t *testing.T) {
	setEnv(t, nil)
	m, d, _ := provisioned(t)
	p := newPadCard(m)
	c, tok := openTx(t, p)
	if tok.pad == nil {
		t.Fatal("no PIN pad detected")
	}
	h := sha256.Sum256([]byte("on the pad"))
	p.keypad.Type(testPIN)
	from := len(c.events)
	sig, err := signWithContextLogin(tok, "priv/9c", slot.OpECDSA, h[:], nil)
	if err != nil {
		t.Fatalf("sign with the PIN pad: %v", err)
	}
	if !ecdsa.Verify(d.pub9c, h[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
		t.Error("signature does not verify")
	}
	wantVerifyThenAuth(t, c, from, true)

	// Wrong PIN on the pad: the login fails, nothing is kept.
	p.keypad.Type("999999")
	from = len(c.events)
	_, err = tok.LoginForOperation("priv/9c", nil)
	wantRV(t, "wrong PIN on the pad", err, ck.CKR_PIN_INCORRECT)
	if c.count(from, insGeneralAuth) != 0 || c.count(from, insVerify) != 1 || tok.holding() {
		t.Errorf("after a wrong PIN on the pad: %+v", c.events[from:])
	}

	// PCSC11_PINPAD_ONLY: a host PIN is refused before anything is sent.
	setEnv(t, map[string]string{"PCSC11_PINPAD_ONLY": "1"})
	txs, evs := c.txs, len(c.events)
	_, err = tok.LoginForOperation("priv/9c", []byte(testPIN))
	wantRV(t, "host PIN on a pad-only token", err, ck.CKR_ARGUMENTS_BAD)
	if c.txs != txs || len(c.events) != evs {
		t.Error("a refused host PIN reached the card")
	}
}

// The first context login on a fresh token reads the operation key's slot only, before
// its VERIFY: a PIN-always signature costs its slot's reads, not the whole card's.
func TestContextLoginReadsOnlyItsSlot(t *testing.T) {
	setEnv(t, nil)
	m, d, tok := provisioned(t)
	from := len(m.sent)
	h := sha256.Sum256([]byte("only 9C"))
	sig, err := signWithContextLogin(tok, "priv/9c", slot.OpECDSA, h[:], []byte(testPIN))
	if err != nil {
		t.Fatal(err)
	}
	if !ecdsa.Verify(d.pub9c, h[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
		t.Fatal("signature does not verify")
	}
	wantTrace(t, "fresh token, context login + 9C signature", m, from,
		"GET METADATA 9C", "GET DATA 5FC10A", "VERIFY PIN", "GENERAL AUTH 9C")
}

// A panic in the context login's timer goroutine (injected through package guard's
// test hook) is recovered, and the kept transaction is still released on time.
func TestContextTimerPanicIsRecovered(t *testing.T) {
	setEnv(t, nil)
	m, _, _ := provisioned(t)
	_, tok := openTx(t, m)
	guard.SetTestHook(func(name string) {
		if name == guard.ContextTimer {
			panic("injected into the context login timer")
		}
	})
	defer guard.SetTestHook(nil)
	old := contextHoldMax
	contextHoldMax = 20 * time.Millisecond
	t.Cleanup(func() { contextHoldMax = old })
	if _, err := tok.LoginForOperation("priv/9c", []byte(testPIN)); err != nil {
		t.Fatal(err)
	}
	waitHoldEnded(t, tok, "the kept transaction outlived its timer's panic")
}

// waitHoldEnded waits (5 s) until tok keeps no transaction for a context login.
func waitHoldEnded(t *testing.T, tok *Token, failure string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		tok.mu.Lock()
		holding := tok.holding()
		tok.mu.Unlock()
		if !holding {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal(failure)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
