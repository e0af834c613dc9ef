package piv

import (
	"bytes"
	"crypto/rand"
	"testing"

	"github.com/pcsc11/pcsc11/apdu"
	"github.com/pcsc11/pcsc11/ck"
)

// TestYkmanProtectedKey: a card set up the way ykman "piv access
// change-management-key --generate --protect" leaves it is administered after a user
// login, and a logout leaves no management-key authentication on the card.
func TestYkmanProtectedKey(t *testing.T) {
	m := newCard(t)
	tok := openToken(t, m)
	soLogin(t, tok)
	key := make([]byte, 24)
	rand.Read(key)
	send := func(cmd apdu.Command) {
		t.Helper()
		if _, err := raw(m, cmd); err != nil {
			t.Fatalf("INS %02X: %v", cmd.INS, err)
		}
	}
	put := func(tag uint32, content []byte) {
		send(apdu.Command{INS: insPutData, P1: 0x3F, P2: 0xFF,
			Data: apdu.AppendTLV(apdu.EncodeTLV(0x5C, tagBytes(tag)), 0x53, content)})
	}
	send(apdu.Command{INS: insSetMgmKey, P1: 0xFF, P2: 0xFF, Data: append([]byte{algAES192, 0x9B, 24}, key...)})
	// ykman: the key in PRINTED, flag 02 and a PIN timestamp in ADMIN DATA.
	put(objPrinted, apdu.EncodeTLV(0x88, apdu.EncodeTLV(0x89, key)))
	put(objAdminData, apdu.EncodeTLV(0x80, append(apdu.EncodeTLV(0x81, []byte{0x02}), 0x83, 0x04, 0x65, 0x00, 0x00, 0x00)))
	m.c.Reset()
	tok = openToken(t, m)

	_, _, err := tok.GenerateKeyPair(ck.CKM_EC_KEY_PAIR_GEN, ecTmpl(0x01, algP256), nil)
	wantRV(t, "generate without login", err, ck.CKR_USER_NOT_LOGGED_IN)
	login(t, tok, ck.CKU_USER)
	if _, _, err := tok.GenerateKeyPair(ck.CKM_EC_KEY_PAIR_GEN, ecTmpl(0x01, algP256), nil); err != nil {
		t.Fatalf("generate after a user login: %v", err)
	}
	checkSigns(t, tok, 0x9A)
	// pcsc11 changing the key keeps ykman's layout, with the timestamp kept.
	if err := tok.Logout(); err != nil {
		t.Fatal(err)
	}
	if _, err := raw(m, apdu.Command{INS: insPutData, P1: 0x3F, P2: 0xFF,
		Data: apdu.AppendTLV(apdu.EncodeTLV(0x5C, tagBytes(objLabel)), 0x53, []byte{0x50, 0x01, 0x41})}); !apdu.IsSecurityStatusNotSatisfied(err) {
		t.Errorf("after logout the card still takes writes: %v", err)
	}
	hexKey := make([]byte, 48)
	const digits = "0123456789abcdef"
	for i, b := range key {
		hexKey[2*i], hexKey[2*i+1] = digits[b>>4], digits[b&15]
	}
	if err := tok.Login(ck.CKU_SO, hexKey); err != nil {
		t.Fatal(err)
	}
	newHex := []byte("00112233445566778899aabbccddeeff0011223344556677")
	if err := tok.SetPIN(ck.CKU_SO, hexKey, newHex); err != nil {
		t.Fatal(err)
	}
	if _, err := raw(m, apdu.Command{INS: insVerify, P2: refPIN, Data: []byte("123456\xff\xff")}); err != nil {
		t.Fatal(err)
	}
	stored, _, _ := apdu.FindPath(cardObject(t, m, objPrinted), 0x88, 0x89)
	if !bytes.Equal(stored, []byte{0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77}) {
		t.Errorf("PRINTED holds %x after the change", stored)
	}
	ad := cardObject(t, m, objAdminData)
	if want := apdu.EncodeTLV(0x80, []byte{0x81, 0x01, 0x02, 0x83, 0x04, 0x65, 0x00, 0x00, 0x00}); !bytes.Equal(ad, want) {
		t.Errorf("ADMIN DATA %x, want %x", ad, want)
	}
}
