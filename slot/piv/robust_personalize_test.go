package piv

import (
	"testing"

	"github.com/pcsc11/pcsc11/apdu"
	"github.com/pcsc11/pcsc11/ck"
	"github.com/pcsc11/pcsc11/reader"
	"github.com/pcsc11/pcsc11/secret"
	"github.com/pcsc11/pcsc11/slot"
)

// TestPersonalizeCardRemoved pulls the card after each APDU of every personalization
// call in turn: each call fails cleanly with CKR_DEVICE_REMOVED, never a panic.
func TestPersonalizeCardRemoved(t *testing.T) {
	calls := map[string]func(tok *Token) error{
		"InitToken": func(tok *Token) error { return tok.InitToken([]byte(defaultPUKStr), "x") },
		"InitPIN": func(tok *Token) error {
			tok.soPUK = secret.Hold([]byte(defaultPUKStr))
			return tok.InitPIN([]byte("24681357"))
		},
		"SetPIN": func(tok *Token) error { return tok.SetPIN(ck.CKU_USER, []byte(testPIN), []byte("24681357")) },
		"SetPIN mgm": func(tok *Token) error {
			return tok.SetPIN(ck.CKU_SO, []byte(defaultMgm), []byte("00112233445566778899aabbccddeeff"))
		},
		"Generate": func(tok *Token) error {
			tok.soLoggedIn = true
			_, _, err := tok.GenerateKeyPair(ck.CKM_EC_KEY_PAIR_GEN, ecTmpl(1, algP256), nil)
			return err
		},
		"Destroy": func(tok *Token) error {
			tok.soLoggedIn = true
			return tok.DestroyObject("cert/9a")
		},
	}
	for name, call := range calls {
		failed := 0
		for cut := 0; cut < 40; cut++ {
			m, _, tok := provisioned(t)
			if name == "Generate" || name == "Destroy" {
				soLogin(t, tok)
			}
			n := 0
			m.transmitFn = func(cmd []byte) ([]byte, error) {
				if n++; n > cut {
					return nil, reader.ErrCardRemoved
				}
				return m.mem.Transmit(cmd)
			}
			err := call(tok)
			if err == nil {
				break // the call needs fewer APDUs than cut
			}
			failed++
			if rv := slot.RV(err); rv != ck.CKR_DEVICE_REMOVED {
				t.Errorf("%s cut after %d APDUs: %v (rv %#x)", name, cut, err, rv)
			}
		}
		if failed < 1 {
			t.Errorf("%s: only %d cut points exercised", name, failed)
		}
		t.Logf("%s: %d cut points", name, failed)
	}
}

// TestPersonalizeHostileAnswers: a GENERATE answer without a public key, or with one
// that does not parse, is CKR_DEVICE_ERROR.
func TestPersonalizeHostileAnswers(t *testing.T) {
	for _, bad := range [][]byte{{0x90, 0x00}, {0x7F, 0x49, 0x02, 0x86, 0x00, 0x90, 0x00}, {0x7F, 0x49, 0x80, 0x90, 0x00}} {
		m := newCard(t)
		tok := openToken(t, m)
		soLogin(t, tok)
		m.corrupt = func(cmd, resp []byte) []byte {
			if c, err := apdu.ParseCommand(cmd); err == nil && c.INS == insGenerate {
				return bad
			}
			return resp
		}
		_, _, err := tok.GenerateKeyPair(ck.CKM_EC_KEY_PAIR_GEN, ecTmpl(1, algP256), nil)
		if rv := slot.RV(err); rv != ck.CKR_DEVICE_ERROR {
			t.Errorf("answer %x: %v", bad, err)
		}
	}
}
