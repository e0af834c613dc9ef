package piv

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/hex"
	"testing"

	"github.com/pcsc11/pcsc11/apdu"
	"github.com/pcsc11/pcsc11/vpiv"
)

func TestKeyHistory(t *testing.T) {
	m := newCard(t)
	tok := openToken(t, m)
	soLogin(t, tok)
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der := selfSigned(t, &k.PublicKey, 0)
	// 9A is not a retired slot: no history.
	if _, err := tok.CreateObject(certTmpl(0x01, der)); err != nil {
		t.Fatal(err)
	}
	if h := cardObject(t, m, objKeyHistory); h != nil {
		t.Errorf("history %x after a 9A certificate", h)
	}
	// Retired key 3 (84): keysWithOnCardCerts covers slots 1..3.
	if _, err := tok.CreateObject(certTmpl(0x07, der)); err != nil {
		t.Fatal(err)
	}
	want := func(n byte) []byte { return []byte{0xC1, 0x01, n, 0xC2, 0x01, 0x00, 0xFE, 0x00} }
	if h := cardObject(t, m, objKeyHistory); !bytes.Equal(h, want(3)) {
		t.Errorf("history %x, want %x", h, want(3))
	}
	if _, err := tok.CreateObject(certTmpl(0x05, der)); err != nil {
		t.Fatal(err)
	}
	if h := cardObject(t, m, objKeyHistory); !bytes.Equal(h, want(3)) {
		t.Errorf("history %x after a lower slot", h)
	}
	if err := tok.DestroyObject("cert/84"); err != nil {
		t.Fatal(err)
	}
	if h := cardObject(t, m, objKeyHistory); !bytes.Equal(h, want(1)) {
		t.Errorf("history %x after deleting 84", h)
	}
	// A history naming off-card certificates is the issuer's: left alone.
	issuer := []byte{0xC1, 0x01, 0x01, 0xC2, 0x01, 0x02, 0xF3, 0x03, 'u', 'r', 'l', 0xFE, 0x00}
	if _, err := raw(m, apdu.Command{INS: insPutData, P1: 0x3F, P2: 0xFF,
		Data: apdu.AppendTLV(apdu.EncodeTLV(0x5C, tagBytes(objKeyHistory)), 0x53, issuer)}); err != nil {
		t.Fatal(err)
	}
	if _, err := tok.CreateObject(certTmpl(0x18, der)); err != nil {
		t.Fatal(err)
	}
	if h := cardObject(t, m, objKeyHistory); !bytes.Equal(h, issuer) {
		t.Errorf("issuer history rewritten: %x", h)
	}
}

// TestKeyHistoryBoundsRetiredReads: on a card without GET METADATA a retired slot is
// found by its certificate, and the Key History Object says which containers hold one:
// the driver reads those and not the others, and lists exactly what reading all 20
// gives. A card without the object, or with one it cannot parse, has all 20 read; a
// YubiKey 5.3+ asks every retired slot's metadata whatever the object says.
func TestKeyHistoryBoundsRetiredReads(t *testing.T) {
	retiredReads := func(m *testCard, from int) (n int, history bool) {
		for _, name := range trace(m, from) {
			switch {
			case name == "GET DATA 5FC10C":
				history = true
			case len(name) == 15 && name[:11] == "GET DATA 5F" && name >= "GET DATA 5FC10D" && name <= "GET DATA 5FC120":
				n++
			}
		}
		return n, history
	}
	for _, tc := range []struct {
		profile  string
		oldFW    bool
		history  []byte // written over the profile's object when set
		want     int    // retired containers read
		wantHist bool
	}{
		{"demo+retired+keyhistory", true, nil, 3, true},
		{"demo+retired", true, nil, 20, true},
		{"demo+retired+keyhistory", true, []byte{0xC1, 0x02, 0x00, 0x03, 0xFE, 0x00}, 20, true}, // malformed C1
		{"demo+retired+keyhistory", true, []byte{0xC1, 0x01, 0x01, 0xC2, 0x01, 0x02, 0xFE, 0x00}, 3, true},
		// 5.7: metadata of every slot, certificates of 82..84; the object is read as a
		// PIV data object (CKO_DATA), not to bound the retired slots.
		{"demo+retired+keyhistory", false, nil, 3, true},
	} {
		m := provisionedCard(t, vpiv.Options{Serial: 12345678}, tc.profile)
		if tc.history != nil {
			writeObjectRaw(t, m, objKeyHistory, tc.history)
		}
		open := func() *Token {
			tok := openToken(t, m)
			if tc.oldFW {
				tok.version = [3]byte{5, 2, 7} // before GET METADATA
			}
			return tok
		}
		tok := open()
		from := len(m.sent)
		got, err := tok.Objects()
		if err != nil {
			t.Fatal(err)
		}
		n, hist := retiredReads(m, from)
		what := tc.profile
		if tc.history != nil {
			what += " with history " + hex.EncodeToString(tc.history)
		}
		if n != tc.want || hist != tc.wantHist {
			t.Errorf("%s (old firmware %v): %d retired containers read, history read %v; want %d, %v",
				what, tc.oldFW, n, hist, tc.want, tc.wantHist)
		}
		all := open()
		all.retiredKnown, all.retiredLimit = true, 20 // read every container
		want, err := all.Objects()
		if err != nil {
			t.Fatal(err)
		}
		sameObjects(t, what, got, want)
		if findObj(got, "cert/84") == nil {
			t.Errorf("%s: the retired certificates are missing: %v", what, objKeys(got))
		}
	}
}
