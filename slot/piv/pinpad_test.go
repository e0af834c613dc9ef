package piv

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"math/big"
	"testing"

	"github.com/pcsc11/pcsc11/ck"
	"github.com/pcsc11/pcsc11/pinpad"
	"github.com/pcsc11/pcsc11/reader"
	"github.com/pcsc11/pcsc11/slot"
	"github.com/pcsc11/pcsc11/vpiv"
)

// Control codes of the fake PIN-pad reader (the CCID driver's numbering).
const (
	ctlVerify = 0x42330006
	ctlModify = 0x42330007
	ctlIFD    = 0x4233000A
	ctlTLV    = 0x42330012
)

// padCard is a PIN-pad reader in front of the virtual card: it answers the part 10
// feature list and properties as scripted, and hands PIN requests to a scripted
// pinpad.Keypad, which builds the command and runs it on the vpiv engine — the same
// path as pcscd + the test reader driver + pcsc11-vpiv, in process.
type padCard struct {
	*testCard
	keypad   pinpad.Keypad
	features []byte                                       // GET_FEATURE_REQUEST answer; nil: refused
	tlv      []byte                                       // GET_TLV_PROPERTIES answer; nil: refused
	answer   func(code uint32, in []byte) ([]byte, error) // replaces the keypad when set
	featErr  error                                        // GET_FEATURE_REQUEST fails with this
	requests [][]byte                                     // PIN structures received
	controls int
}

var errUnsupported = errors.New("fake reader: unsupported feature")

func features(tags ...byte) []byte {
	var b []byte
	for _, tag := range tags {
		b = append(b, tag, 4, 0x42, 0x33, 0x00, tag)
	}
	return b
}

// tlvProps: no display, OK key, PIN sizes min..max.
func tlvProps(min, max byte) []byte {
	return []byte{0x01, 2, 0, 0, 0x02, 1, 0x02, 0x03, 1, 0, 0x06, 1, min, 0x07, 1, max}
}

func newPadCard(m *testCard) *padCard {
	return &padCard{testCard: m, features: features(0x06, 0x07, 0x0A, 0x12), tlv: tlvProps(4, 12)}
}

func (p *padCard) Control(code uint32, in []byte) ([]byte, error) {
	p.controls++
	switch code {
	case reader.IOCTLGetFeatureRequest:
		if p.featErr != nil {
			return nil, p.featErr
		}
		if p.features == nil {
			return nil, errUnsupported
		}
		return p.features, nil
	case ctlTLV:
		if p.tlv == nil {
			return nil, errUnsupported
		}
		return p.tlv, nil
	case ctlVerify, ctlModify:
		p.requests = append(p.requests, append([]byte(nil), in...))
		if p.answer != nil {
			return p.answer(code, in)
		}
		kind := pinpad.MsgVerify
		if code == ctlModify {
			kind = pinpad.MsgModify
		}
		resp, ok := p.keypad.Handle(append([]byte{kind}, in...), p.c.Process)
		if !ok {
			return nil, errUnsupported
		}
		return resp, nil
	}
	return nil, errUnsupported
}

func openPad(t *testing.T, p *padCard, opts Options) *Token {
	t.Helper()
	tok, err := Open(p, "pcsc11 PIN pad 00 00", opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return tok.(*Token)
}

func protected(t *testing.T, tok *Token) bool {
	t.Helper()
	info, err := tok.Info()
	if err != nil {
		t.Fatalf("Info: %v", err)
	}
	return info.Flags&ck.CKF_PROTECTED_AUTHENTICATION_PATH != 0
}

func pinRetries(t *testing.T, tok *Token) int {
	t.Helper()
	var left int
	err := tok.transact(func() error {
		m, err := tok.getMetadata(refPIN)
		if err == nil {
			left = m.retries[1]
		}
		return err
	})
	if err != nil {
		t.Fatalf("PIN metadata: %v", err)
	}
	return left
}

// setEnv replaces the driver's Getenv for one test.
func setEnv(t *testing.T, env map[string]string) {
	old := Getenv
	Getenv = func(k string) string { return env[k] }
	t.Cleanup(func() { Getenv = old })
}

func TestPINPadDetection(t *testing.T) {
	setEnv(t, nil)
	m := newCard(t)
	p := newPadCard(m)
	tok := openPad(t, p, Options{})
	if !protected(t, tok) || tok.pad.min != 6 || tok.pad.max != 8 || tok.pad.modify != ctlModify {
		t.Errorf("PIN pad: protected %t, %+v", protected(t, tok), tok.pad)
	}
	// The plain virtual card (vpiv.Memory answers no Control): no protected path.
	if plain := openToken(t, m); protected(t, plain) || plain.pad != nil {
		t.Error("protected path on a reader without a PIN pad")
	}
	// The reader narrows the card's 6..8.
	p = newPadCard(m)
	p.tlv = tlvProps(7, 12)
	if tok := openPad(t, p, Options{}); tok.pad == nil || tok.pad.min != 7 || tok.pad.max != 8 {
		t.Errorf("reader min 7: %+v", tok.pad)
	}
	cases := []struct {
		name     string
		change   func(*padCard)
		opts     Options
		env      map[string]string
		pad      bool
		controls int // -1: any
	}{
		{"no TLV properties: the card's bounds", func(p *padCard) { p.tlv = nil }, Options{}, nil, true, -1},
		{"garbage TLV properties", func(p *padCard) { p.tlv = []byte{0x06, 9} }, Options{}, nil, true, -1},
		{"reader max below 6", func(p *padCard) { p.tlv = tlvProps(1, 5) }, Options{}, nil, false, -1},
		{"garbage feature list", func(p *padCard) { p.features = []byte{0x06, 4, 1} }, Options{}, nil, false, 1},
		{"feature list refused", func(p *padCard) { p.features = nil }, Options{}, nil, false, 1},
		{"no VERIFY_PIN_DIRECT", func(p *padCard) { p.features = features(0x07, 0x12) }, Options{}, nil, false, 1},
		{"NoPINPad", func(*padCard) {}, Options{NoPINPad: true}, nil, false, 0},
		{"PCSC11_PINPAD=0", func(*padCard) {}, Options{}, map[string]string{"PCSC11_PINPAD": "0"}, false, 0},
		{"reset during detection", func(p *padCard) { p.featErr = reader.ErrCardReset }, Options{}, nil, false, 2},
	}
	for _, c := range cases {
		setEnv(t, c.env)
		p := newPadCard(m)
		c.change(p)
		tok := openPad(t, p, c.opts)
		if (tok.pad != nil) != c.pad || protected(t, tok) != c.pad {
			t.Errorf("%s: PIN pad %+v", c.name, tok.pad)
		}
		if c.controls >= 0 && p.controls != c.controls {
			t.Errorf("%s: %d Control calls, want %d", c.name, p.controls, c.controls)
		}
	}
	setEnv(t, nil)
	// The card went away while we asked: Open fails with the reader's code.
	p = newPadCard(m)
	p.featErr = reader.ErrCardRemoved
	_, err := Open(p, "r", Options{})
	wantRV(t, "removed during detection", err, ck.CKR_DEVICE_REMOVED)
}

// The structures sent for PIV: ASCII in an 8-byte FF block, min/max from reader and
// card, OK key, timeouts (compared with OpenSC's PIV structures, see docs/pinpad.md).
func TestPINPadStructures(t *testing.T) {
	setEnv(t, nil)
	p := newPadCard(newCard(t))
	tok := openPad(t, p, Options{})
	p.keypad.Type(testPIN)
	if err := tok.Login(ck.CKU_USER, nil); err != nil {
		t.Fatalf("login: %v", err)
	}
	want, _ := hex.DecodeString("1e00820800" + "0806" + "02" + "00" + "0904" + "00" + "000000" + "0d000000" + "0020008008ffffffffffffffff")
	if len(p.requests) != 1 || !bytes.Equal(p.requests[0], want) {
		t.Errorf("verify structure\n got % x\nwant % x", p.requests, want)
	}
	for _, a := range []string{testPIN, "11223344", "11223344"} {
		p.keypad.Type(a)
	}
	if err := tok.SetPIN(ck.CKU_USER, nil, nil); err != nil {
		t.Fatalf("set PIN: %v", err)
	}
	m, err := pinpad.ParseModify(p.requests[1])
	if err != nil || m.ConfirmPIN != 3 || m.InsertionOffsetOld != 0 || m.InsertionOffsetNew != 8 ||
		m.MinPIN != 6 || m.MaxPIN != 8 || m.FormatString != 0x82 || m.PINBlockString != 0x08 ||
		m.EntryValidation != 2 || m.TimerOut != 30 ||
		!bytes.Equal(m.APDU, append([]byte{0, 0x24, 0, 0x80, 0x10}, bytes.Repeat([]byte{0xFF}, 16)...)) {
		t.Errorf("modify structure: %+v, %v", m, err)
	}
}

// On a standard PIV card whose Discovery Object makes the Global PIN primary, the PIN
// pad verifies and changes the Global PIN (reference 00), as a typed PIN does.
func TestPINPadGlobalPIN(t *testing.T) {
	c, err := vpiv.New(vpiv.Options{Profile: "piv", GlobalPINPrimary: true})
	if err != nil {
		t.Fatal(err)
	}
	p := newPadCard(&testCard{c: c, mem: vpiv.NewMemory(c)})
	tok := openPad(t, p, Options{})
	p.keypad.Type(testPIN)
	if err := tok.Login(ck.CKU_USER, nil); err != nil {
		t.Fatalf("login on the pad: %v", err)
	}
	v, err := pinpad.ParseVerify(p.requests[len(p.requests)-1])
	if err != nil || len(v.APDU) < 4 || v.APDU[3] != 0x00 {
		t.Errorf("verify structure APDU % x, %v: want reference 00", v.APDU, err)
	}
	for _, a := range []string{testPIN, "11223344", "11223344"} {
		p.keypad.Type(a)
	}
	if err := tok.SetPIN(ck.CKU_USER, nil, nil); err != nil {
		t.Fatalf("set PIN on the pad: %v", err)
	}
	m, err := pinpad.ParseModify(p.requests[len(p.requests)-1])
	if err != nil || len(m.APDU) < 4 || m.APDU[3] != 0x00 {
		t.Errorf("modify structure APDU % x, %v: want reference 00", m.APDU, err)
	}
	if err := tok.Login(ck.CKU_USER, []byte("11223344")); err != nil {
		t.Errorf("the Global PIN changed on the pad does not log in: %v", err)
	}
}

func TestPINPadLogin(t *testing.T) {
	setEnv(t, nil)
	m, d, _ := provisioned(t)
	p := newPadCard(m)
	tok := openPad(t, p, Options{})

	// Nothing scripted: the reader times out; cancel key: cancelled. No retry spent.
	wantRV(t, "timeout", tok.Login(ck.CKU_USER, nil), ck.CKR_FUNCTION_CANCELED)
	p.keypad.Cancel()
	wantRV(t, "cancel", tok.Login(ck.CKU_USER, nil), ck.CKR_FUNCTION_CANCELED)
	p.keypad.Type("1234") // shorter than the structure's minimum: the reader says 6403
	wantRV(t, "short PIN", tok.Login(ck.CKU_USER, nil), ck.CKR_PIN_LEN_RANGE)
	if n := pinRetries(t, tok); n != 3 {
		t.Fatalf("retries %d after cancel/timeout, want 3", n)
	}

	// A wrong PIN costs one try, shows in the flags, and is not retried: one request,
	// the next scripted entry is still queued.
	p.keypad.Type("654321")
	p.keypad.Type(testPIN)
	p.requests = nil
	wantRV(t, "wrong PIN", tok.Login(ck.CKU_USER, nil), ck.CKR_PIN_INCORRECT)
	if len(p.requests) != 1 || p.keypad.Pending() != 1 {
		t.Errorf("%d requests, %d entries left: retried?", len(p.requests), p.keypad.Pending())
	}
	if n := pinRetries(t, tok); n != 2 {
		t.Errorf("retries %d after a wrong PIN, want 2", n)
	}
	if info, _ := tok.Info(); info.Flags&ck.CKF_USER_PIN_COUNT_LOW == 0 {
		t.Errorf("no CKF_USER_PIN_COUNT_LOW after a wrong PIN: %#x", info.Flags)
	}

	// The right PIN: logged in, the counter is back, and the card signs.
	if err := tok.Login(ck.CKU_USER, nil); err != nil {
		t.Fatalf("login on the pad: %v", err)
	}
	if in, err := tok.LoggedIn(); err != nil || !in {
		t.Errorf("LoggedIn %t, %v", in, err)
	}
	if n := pinRetries(t, tok); n != 3 {
		t.Errorf("retries %d after the right PIN", n)
	}
	// A cancel later does not undo the verification (the card never saw a command).
	p.keypad.Cancel()
	wantRV(t, "cancel when logged in", tok.Login(ck.CKU_USER, nil), ck.CKR_FUNCTION_CANCELED)
	if !tok.loggedIn {
		t.Error("a cancel dropped the login")
	}
	// 9C has PIN policy ALWAYS: CKU_CONTEXT_SPECIFIC on the pad before each use.
	if _, err := tok.Objects(); err != nil {
		t.Fatal(err)
	}
	p.keypad.Type(testPIN)
	if err := tok.Login(ck.CKU_CONTEXT_SPECIFIC, nil); err != nil {
		t.Fatalf("context-specific login on the pad: %v", err)
	}
	h := sha256.Sum256([]byte("signed through the PIN pad"))
	sig, err := tok.PrivateKeyOp("priv/9c", slot.OpECDSA, h[:])
	if err != nil {
		t.Fatalf("sign with 9C: %v", err)
	}
	n := len(sig) / 2
	if !ecdsa.Verify(d.pub9c, h[:], new(big.Int).SetBytes(sig[:n]), new(big.Int).SetBytes(sig[n:])) {
		t.Error("signature does not verify")
	}

	// A PIN typed on the host still works on a PIN-pad token.
	if err := tok.Login(ck.CKU_USER, []byte(testPIN)); err != nil {
		t.Errorf("host PIN on a PIN-pad token: %v", err)
	}

	// Block the PIN: 63C1, then 63C0 → locked, then 6983 → locked.
	p.keypad.Type("000000")
	p.keypad.Type("000000")
	wantRV(t, "wrong 1", tok.Login(ck.CKU_USER, nil), ck.CKR_PIN_INCORRECT)
	if in, _ := tok.LoggedIn(); in {
		t.Error("still logged in after a wrong PIN")
	}
	wantRV(t, "wrong 2", tok.Login(ck.CKU_USER, nil), ck.CKR_PIN_INCORRECT)
	if info, _ := tok.Info(); info.Flags&ck.CKF_USER_PIN_FINAL_TRY == 0 {
		t.Errorf("no CKF_USER_PIN_FINAL_TRY: %#x", info.Flags)
	}
	p.keypad.Type("000000")
	wantRV(t, "wrong 3", tok.Login(ck.CKU_USER, nil), ck.CKR_PIN_LOCKED)
	p.keypad.Type(testPIN)
	wantRV(t, "blocked", tok.Login(ck.CKU_USER, nil), ck.CKR_PIN_LOCKED)
	if info, _ := tok.Info(); info.Flags&ck.CKF_USER_PIN_LOCKED == 0 {
		t.Errorf("no CKF_USER_PIN_LOCKED: %#x", info.Flags)
	}
}

func TestPINPadOnly(t *testing.T) {
	for _, c := range []struct {
		opts Options
		env  map[string]string
	}{
		{Options{PINPadOnly: true}, nil},
		{Options{}, map[string]string{"PCSC11_PINPAD_ONLY": "1"}},
	} {
		setEnv(t, c.env)
		m := newCard(t)
		p := newPadCard(m)
		tok := openPad(t, p, c.opts)
		before := m.apdus
		wantRV(t, "host PIN", tok.Login(ck.CKU_USER, []byte(testPIN)), ck.CKR_ARGUMENTS_BAD)
		wantRV(t, "host PIN change", tok.SetPIN(ck.CKU_USER, []byte(testPIN), []byte("11223344")), ck.CKR_ARGUMENTS_BAD)
		if m.apdus != before {
			t.Errorf("%d APDUs sent for a refused host PIN", m.apdus-before)
		}
		p.keypad.Type(testPIN)
		if err := tok.Login(ck.CKU_USER, nil); err != nil {
			t.Errorf("pad login with PIN-pad-only: %v", err)
		}
		// The SO keeps typing the management key: the pad takes the user PIN only.
		if err := tok.Login(ck.CKU_SO, []byte(defaultMgm)); err != nil {
			t.Errorf("SO login with PIN-pad-only: %v", err)
		}
		// Without a PIN pad the setting changes nothing.
		if err := openToken(t, m).Login(ck.CKU_USER, []byte(testPIN)); err != nil {
			t.Errorf("plain reader with PIN-pad-only: %v", err)
		}
	}
}

// Reader answers that the keypad does not produce, and failures of SCardControl.
func TestPINPadAnswers(t *testing.T) {
	setEnv(t, nil)
	m := newCard(t)
	p := newPadCard(m)
	tok := openPad(t, p, Options{})
	for _, c := range []struct {
		name string
		out  []byte
		err  error
		rv   ck.ULong
	}{
		{"mismatch 6402", []byte{0x64, 0x02}, nil, ck.CKR_PIN_INCORRECT},
		{"length 6403", []byte{0x64, 0x03}, nil, ck.CKR_PIN_LEN_RANGE},
		{"structure refused 6B80", []byte{0x6B, 0x80}, nil, ck.CKR_DEVICE_ERROR},
		{"blocked 6983", []byte{0x69, 0x83}, nil, ck.CKR_PIN_LOCKED},
		{"63C0", []byte{0x63, 0xC0}, nil, ck.CKR_PIN_LOCKED},
		{"63C2", []byte{0x63, 0xC2}, nil, ck.CKR_PIN_INCORRECT},
		{"one byte", []byte{0x90}, nil, ck.CKR_DEVICE_ERROR},
		{"empty", nil, nil, ck.CKR_DEVICE_ERROR},
		{"other SW", []byte{0x6F, 0x00}, nil, ck.CKR_DEVICE_ERROR},
		{"reader refuses", nil, errUnsupported, ck.CKR_DEVICE_ERROR},
		{"card removed", nil, reader.ErrCardRemoved, ck.CKR_DEVICE_REMOVED},
		{"SCardCancel", nil, reader.ErrCancelled, ck.CKR_FUNCTION_CANCELED},
		{"card reset", nil, reader.ErrCardReset, ck.CKR_DEVICE_ERROR},
	} {
		p.answer = func(uint32, []byte) ([]byte, error) { return c.out, c.err }
		wantRV(t, c.name+" (verify)", tok.Login(ck.CKU_USER, nil), c.rv)
		wantRV(t, c.name+" (modify)", tok.SetPIN(ck.CKU_USER, nil, nil), c.rv)
	}
	// A reset during the entry loses the login; the next command selects PIV again.
	p.answer = func(uint32, []byte) ([]byte, error) { return []byte{0x90, 0x00}, nil }
	if err := tok.Login(ck.CKU_USER, nil); err != nil || !tok.loggedIn {
		t.Fatalf("login: %v", err)
	}
	p.answer = func(uint32, []byte) ([]byte, error) { return nil, reader.ErrCardReset }
	tok.Login(ck.CKU_USER, nil)
	if tok.loggedIn || !tok.needSelect {
		t.Error("reset during PIN entry: login kept")
	}
	if _, err := tok.Info(); err != nil {
		t.Errorf("after a reset: %v", err)
	}
}

func TestPINPadSetPIN(t *testing.T) {
	setEnv(t, nil)
	m := newCard(t)
	p := newPadCard(m)
	tok := openPad(t, p, Options{})
	// Confirmation differs: the reader refuses, the card saw nothing.
	for _, a := range []string{testPIN, "11223344", "11223355"} {
		p.keypad.Type(a)
	}
	wantRV(t, "mismatch", tok.SetPIN(ck.CKU_USER, nil, nil), ck.CKR_PIN_INCORRECT)
	if n := pinRetries(t, tok); n != 3 {
		t.Errorf("retries %d after a mismatch", n)
	}
	// Wrong current PIN: one try spent.
	for _, a := range []string{"999999", "11223344", "11223344"} {
		p.keypad.Type(a)
	}
	wantRV(t, "wrong current PIN", tok.SetPIN(ck.CKU_USER, nil, nil), ck.CKR_PIN_INCORRECT)
	if n := pinRetries(t, tok); n != 2 {
		t.Errorf("retries %d after a wrong current PIN", n)
	}
	p.keypad.Cancel()
	wantRV(t, "cancel", tok.SetPIN(ck.CKU_USER, nil, nil), ck.CKR_FUNCTION_CANCELED)
	for _, a := range []string{testPIN, "11223344", "11223344"} {
		p.keypad.Type(a)
	}
	if err := tok.SetPIN(ck.CKU_USER, nil, nil); err != nil {
		t.Fatalf("change on the pad: %v", err)
	}
	wantRV(t, "old PIN", tok.Login(ck.CKU_USER, []byte(testPIN)), ck.CKR_PIN_INCORRECT)
	if err := tok.Login(ck.CKU_USER, []byte("11223344")); err != nil {
		t.Errorf("new PIN: %v", err)
	}
	// The pad does not take SO values; a plain reader takes no NULL PINs; a reader
	// without MODIFY_PIN_DIRECT cannot change PINs.
	wantRV(t, "SO on the pad", tok.SetPIN(ck.CKU_SO, nil, nil), ck.CKR_ARGUMENTS_BAD)
	wantRV(t, "SO login on the pad", tok.Login(ck.CKU_SO, nil), ck.CKR_ARGUMENTS_BAD)
	plain := openToken(t, m)
	wantRV(t, "plain reader set", plain.SetPIN(ck.CKU_USER, nil, nil), ck.CKR_ARGUMENTS_BAD)
	wantRV(t, "plain reader login", plain.Login(ck.CKU_USER, nil), ck.CKR_ARGUMENTS_BAD)
	wantRV(t, "plain reader context", plain.Login(ck.CKU_CONTEXT_SPECIFIC, nil), ck.CKR_ARGUMENTS_BAD)
	p = newPadCard(m)
	p.features = features(0x06, 0x12)
	verifyOnly := openPad(t, p, Options{})
	wantRV(t, "no MODIFY_PIN_DIRECT", verifyOnly.SetPIN(ck.CKU_USER, nil, nil), ck.CKR_FUNCTION_NOT_SUPPORTED)
	if len(p.requests) != 0 {
		t.Error("a request reached the reader")
	}
}
