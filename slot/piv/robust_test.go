package piv

import (
	"bytes"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/pcsc11/pcsc11/apdu"
	"github.com/pcsc11/pcsc11/ck"
	"github.com/pcsc11/pcsc11/reader"
	"github.com/pcsc11/pcsc11/slot"
)

// TestAPDUCount pins the cost of what every application does first.
func TestAPDUCount(t *testing.T) {
	m := newCard(t)
	provision(t, m)
	m.c.Reset()
	m.apdus = 0
	tok := openToken(t, m)
	open := m.apdus
	if _, err := tok.Info(); err != nil {
		t.Fatal(err)
	}
	info := m.apdus - open
	if _, err := tok.Objects(); err != nil {
		t.Fatal(err)
	}
	objs := m.apdus - open - info
	t.Logf("APDUs: Open %d, Info %d, Objects %d, total %d", open, info, objs, m.apdus)
	// SELECT, GET VERSION, GET SERIAL; GET METADATA PIN, PUK, 9B + GET DATA label
	// (once); 25 GET METADATA + 6 GET DATA + 5 short probes of the public PIV data
	// objects (CHUID, CCC, Discovery, Key History, Security Object: dataobjects.go).
	if open != 3 || info != 4 || objs != 36 {
		t.Errorf("APDU count changed: Open %d, Info %d, Objects %d", open, info, objs)
	}
	before := m.apdus
	if _, err := tok.Info(); err != nil {
		t.Fatal(err)
	}
	if n := m.apdus - before; n != 1 {
		t.Errorf("second Info: %d APDUs, want 1 (the PIN counter; label and SO flags are read once)", n)
	}
}

func TestResetHandling(t *testing.T) {
	m, _, tok := provisioned(t)
	login(t, tok, ck.CKU_USER)
	h := sha256.Sum256([]byte("x"))
	if _, err := tok.PrivateKeyOp("priv/9d", slot.OpECDSA, h[:]); err != nil {
		t.Fatal(err)
	}
	m.resetNext = true // another program reset the card
	if ok, err := tok.LoggedIn(); ok || err != nil {
		t.Errorf("LoggedIn after reset = %v, %v", ok, err)
	}
	m.resetNext = true
	if _, err := tok.PrivateKeyOp("priv/9d", slot.OpECDSA, h[:]); slot.RV(err) != ck.CKR_USER_NOT_LOGGED_IN {
		t.Errorf("sign after reset: %v", err)
	}
	m.resetNext = true
	if _, err := tok.Info(); err != nil {
		t.Errorf("Info after reset: %v", err)
	}
	login(t, tok, ck.CKU_USER)
	if _, err := tok.PrivateKeyOp("priv/9d", slot.OpECDSA, h[:]); err != nil {
		t.Errorf("sign after new login: %v", err)
	}

	// A reset reported by Transmit in the middle of a transaction.
	m.transmitFn = func([]byte) ([]byte, error) { return nil, reader.ErrCardReset }
	_, err := tok.PrivateKeyOp("priv/9d", slot.OpECDSA, h[:])
	if !errors.Is(err, reader.ErrCardReset) || tok.loggedIn {
		t.Errorf("mid-transaction reset: %v, loggedIn %v", err, tok.loggedIn)
	}
	m.transmitFn = nil
	if ok, _ := tok.LoggedIn(); ok {
		t.Error("login survived a reset")
	}
	// Removal maps to CKR_DEVICE_REMOVED.
	m.transmitFn = func([]byte) ([]byte, error) { return nil, reader.ErrCardRemoved }
	if _, err := tok.Info(); slot.RV(err) != ck.CKR_DEVICE_REMOVED {
		t.Errorf("removed card: %v", err)
	}
}

func TestOtherApplicationSelected(t *testing.T) {
	m, _, tok := provisioned(t)
	login(t, tok, ck.CKU_USER)
	// gpg selects OpenPGP in its own transaction: PIV is deselected, its PIN forgotten.
	m.c.Process([]byte{0x00, 0xA4, 0x04, 0x00, 0x06, 0xD2, 0x76, 0x00, 0x01, 0x24, 0x01})
	h := sha256.Sum256([]byte("x"))
	if _, err := tok.PrivateKeyOp("priv/9d", slot.OpECDSA, h[:]); slot.RV(err) != ck.CKR_USER_NOT_LOGGED_IN {
		t.Errorf("sign after another application: %v", err)
	}
	if ok, _ := tok.LoggedIn(); ok {
		t.Error("still logged in")
	}
	m.c.Process([]byte{0x00, 0xA4, 0x04, 0x00, 0x06, 0xD2, 0x76, 0x00, 0x01, 0x24, 0x01})
	tok.Invalidate()
	if objs, err := tok.Objects(); err != nil || findObj(objs, "priv/9d") == nil {
		t.Errorf("Objects after another application: %v", err)
	}
}

// notYubiKey makes the card refuse Yubico's instructions, like a plain PIV card.
func notYubiKey(cmd, resp []byte) []byte {
	if len(cmd) > 1 && (cmd[1] == 0xFD || cmd[1] == 0xF8 || cmd[1] == 0xF7) {
		return []byte{0x6D, 0x00}
	}
	return resp
}

func TestPlainPIVCard(t *testing.T) {
	m := newCard(t)
	d := provision(t, m)
	// A CHUID with a GUID for the serial.
	tok := openToken(t, m)
	if err := tok.Login(ck.CKU_SO, []byte(defaultMgm)); err != nil {
		t.Fatal(err)
	}
	guid := []byte{0xDE, 0xAD, 0xBE, 0xEF, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
	chuid := apdu.AppendTLV(apdu.AppendTLV(apdu.EncodeTLV(0x30, make([]byte, 25)), 0x34, guid), 0xFE, nil)
	if _, err := apdu.Exchange(m, apdu.Command{INS: 0xDB, P1: 0x3F, P2: 0xFF,
		Data: apdu.AppendTLV([]byte{0x5C, 0x03, 0x5F, 0xC1, 0x02}, 0x53, chuid)}, apdu.Options{}); err != nil {
		t.Fatal(err)
	}
	m.c.Reset()
	m.corrupt = notYubiKey
	m.apdus = 0
	tok = openToken(t, m)
	info, err := tok.Info()
	if err != nil {
		t.Fatal(err)
	}
	// The label is the 9A certificate's subject CN (a standard card has no label object).
	if info.Label != "pcsc11 test 9a" || info.Manufacturer != "PIV" || info.Serial != "DEADBEEF01020304" || info.FirmwareMajor != 0 {
		t.Errorf("Info = %+v", info)
	}
	objs, err := tok.Objects()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("plain PIV card: %d APDUs for Open+Info+Objects", m.apdus)
	// Without metadata only slots with certificates show keys; 9C follows SP 800-73-4.
	if findObj(objs, "priv/9d") != nil || findObj(objs, "priv/9a") == nil {
		t.Error("keys without metadata should come from certificates only")
	}
	p9c := findObj(objs, "priv/9c")
	if p9c[ck.CKA_ALWAYS_AUTHENTICATE] != true || p9c[ck.CKA_LOCAL] != false {
		t.Errorf("priv/9c without metadata: %v", p9c)
	}
	if got := tok.Mechanisms(); len(got) == 0 {
		t.Error("no mechanisms")
	} else {
		for _, mech := range got {
			if mech.Type == ck.CKM_EDDSA {
				t.Error("EdDSA offered on a plain PIV card")
			}
		}
	}
	// Short APDUs only: a 256-byte RSA block goes through command chaining.
	login(t, tok, ck.CKU_USER)
	block := make([]byte, 256)
	block[255] = 7
	sig, err := tok.PrivateKeyOp("priv/9a", slot.OpRSARaw, block)
	if err != nil {
		t.Fatal(err)
	}
	if c := encryptRaw(&d.rsa9a.PublicKey, sig); !bytes.Equal(c, block) {
		t.Error("raw RSA over chaining does not round-trip")
	}
	// Logout through VERIFY FF.
	if err := tok.Logout(); err != nil {
		t.Fatal(err)
	}
	if err := tok.transact(tok.verifyEmpty); err == nil {
		t.Error("still verified after logout")
	}
}

func encryptRaw(pub *rsa.PublicKey, sig []byte) []byte {
	c := new(big.Int).SetBytes(sig)
	c.Exp(c, big.NewInt(int64(pub.E)), pub.N)
	return c.FillBytes(make([]byte, pub.Size()))
}

// TestHostileAnswers corrupts one answer at a time and checks that every failure is
// a clean *slot.Error (CKR_DEVICE_ERROR for nonsense), never a panic. An object that
// does not parse is no failure of the whole token: it is skipped
// (skipped: the call succeeds).
func TestHostileAnswers(t *testing.T) {
	m := newCard(t)
	provision(t, m)
	targeted := []struct {
		name    string
		ins     byte
		edit    func([]byte) []byte
		run     func(*Token) error
		skipped bool
	}{
		{"cert container garbage", 0xCB, func([]byte) []byte { return []byte{0x53, 0x03, 0x70, 0x05, 0x00, 0x90, 0x00} },
			func(tok *Token) error { return noCertificates(tok) }, true},
		{"metadata truncated", 0xF7, func([]byte) []byte { return []byte{0x01, 0x02, 0x11, 0x90, 0x00} },
			func(tok *Token) error { _, err := tok.Objects(); return err }, true},
		{"metadata bad public key", 0xF7, func([]byte) []byte {
			return []byte{0x01, 0x01, 0x11, 0x04, 0x03, 0x86, 0x01, 0x04, 0x90, 0x00}
		}, func(tok *Token) error { _, err := tok.Objects(); return err }, true},
		{"sign answer not 7C", 0x87, func([]byte) []byte { return []byte{0x7D, 0x02, 0x82, 0x00, 0x90, 0x00} },
			func(tok *Token) error { return sign9d(tok) }, false},
		{"sign answer bad DER", 0x87, func([]byte) []byte { return []byte{0x7C, 0x04, 0x82, 0x02, 0x30, 0x05, 0x90, 0x00} },
			func(tok *Token) error { return sign9d(tok) }, false},
		{"sign answer trailing", 0x87, func(r []byte) []byte {
			return append(append(append([]byte(nil), r[:len(r)-2]...), 0x00), 0x90, 0x00)
		}, func(tok *Token) error { return sign9d(tok) }, false},
	}
	for _, tc := range targeted {
		m.c.Reset()
		m.corrupt = nil
		tok := openToken(t, m)
		if tc.ins == 0x87 {
			login(t, tok, ck.CKU_USER)
			tok.Objects()
		}
		m.corrupt = func(cmd, resp []byte) []byte {
			if len(cmd) > 1 && cmd[1] == tc.ins {
				return tc.edit(resp)
			}
			return resp
		}
		err := tc.run(tok)
		if tc.skipped {
			if err != nil {
				t.Errorf("%s: %v, want the object skipped and the rest listed", tc.name, err)
			}
			continue
		}
		if slot.RV(err) != ck.CKR_DEVICE_ERROR {
			t.Errorf("%s: %v (rv %#x), want CKR_DEVICE_ERROR", tc.name, err, slot.RV(err))
		}
		var se *slot.Error
		if !errors.As(err, &se) {
			t.Errorf("%s: error is not a *slot.Error", tc.name)
		}
	}

	// Random damage: truncate or flip bytes of the n-th answer across the whole flow.
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 300; i++ {
		m.c.Reset()
		target := rng.IntN(45)
		n := 0
		m.corrupt = func(cmd, resp []byte) []byte {
			n++
			if n != target || len(resp) == 0 {
				return resp
			}
			r := append([]byte(nil), resp...)
			switch rng.IntN(3) {
			case 0:
				return r[:rng.IntN(len(r))]
			case 1:
				r[rng.IntN(len(r))] ^= byte(1 + rng.IntN(255))
				return r
			default:
				return append(r[:len(r)-2], append([]byte{byte(rng.IntN(256))}, r[len(r)-2:]...)...)
			}
		}
		func() {
			defer func() {
				if p := recover(); p != nil {
					t.Fatalf("iteration %d: panic %v", i, p)
				}
			}()
			tk, err := Open(m, "r", Options{})
			if err != nil {
				checkSlotError(t, err)
				return
			}
			tok := tk.(*Token)
			_, err = tok.Info()
			checkSlotError(t, err)
			_, err = tok.Objects()
			checkSlotError(t, err)
			checkSlotError(t, tok.Login(ck.CKU_USER, []byte(testPIN)))
			checkSlotError(t, sign9d(tok))
			tok.LoggedIn()
		}()
	}
	m.corrupt = nil
	// The card still works after all that (no PIN retries burnt by damaged answers
	// beyond what the damage caused).
	m.c.Reset()
}

func sign9d(tok *Token) error {
	h := sha256.Sum256([]byte("x"))
	_, err := tok.PrivateKeyOp("priv/9d", slot.OpECDSA, h[:])
	return err
}

func checkSlotError(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	var se *slot.Error
	if !errors.As(err, &se) {
		t.Errorf("error %v is not a *slot.Error", err)
	}
}

// noCertificates lists the objects and fails if a certificate is among them (every
// container answered garbage).
func noCertificates(tok *Token) error {
	objs, err := tok.Objects()
	if err != nil {
		return err
	}
	for _, o := range objs {
		if o.Attrs[ck.CKA_CLASS] == ck.CKO_CERTIFICATE {
			return errors.New("a garbage container listed as a certificate: " + o.Key)
		}
	}
	return nil
}
