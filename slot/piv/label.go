package piv

import (
	"strings"
	"unicode/utf8"

	"github.com/pcsc11/pcsc11/apdu"
)

// objLabel holds the token label written by C_InitToken, as 50 <UTF-8 label> (50 is
// the ISO 7816-4 "application label" tag). Why 5FFF0F:
//   - it is read without the PIN (only the PIV containers 5FC103/08/09/21 need it), so
//     C_GetTokenInfo can show the label before login;
//   - it is outside the PIV standard's containers and not one of the objects Yubico's
//     tools define (5FFF00 admin data, 5FFF01 attestation, 5FFF10-15 minidriver
//     container map and roots), so OpenSC, ykman, yubico-piv-tool and the Windows
//     minidriver never read or overwrite it;
//   - every YubiKey accepts PUT DATA on any 5Fxxxx tag, and so does our virtual card
//     for 5FFF00-5FFF15; C_InitToken's RESET removes it with everything else.
const objLabel = 0x5FFF0F

// maxLabelLen is the width of CK_TOKEN_INFO.label.
const maxLabelLen = 32

// cleanLabel trims the blank padding PKCS#11 labels carry (and NULs some applications
// leave) and cuts the result to 32 bytes without splitting a UTF-8 character.
func cleanLabel(l string) string {
	l = strings.TrimRight(l, " \x00")
	if !utf8.ValidString(l) {
		l = strings.ToValidUTF8(l, "?")
	}
	for len(l) > maxLabelLen {
		_, n := utf8.DecodeLastRuneInString(l)
		l = l[:len(l)-n]
	}
	return l
}

// readLabel reads the label object once per token. A missing or malformed object
// means "no label": the label is a nicety, never a reason to refuse the token.
func (t *Token) readLabel() error {
	data, err := t.getData(objLabel)
	if err != nil {
		if isTransport(err) {
			return err
		}
		t.cardLabel, t.labelRead = "", true
		return nil
	}
	t.cardLabel, t.labelRead = parseLabel(data), true
	return nil
}

func parseLabel(data []byte) string {
	tlv, rest, err := apdu.ParseTLV(data)
	if err != nil || len(rest) != 0 || tlv.Tag != 0x50 || len(tlv.Value) > maxLabelLen || !utf8.Valid(tlv.Value) {
		return ""
	}
	return string(tlv.Value)
}

// writeLabel stores (or, for "", deletes) the label object. Needs the management key.
func (t *Token) writeLabel(label string) error {
	var content []byte
	if label != "" {
		content = apdu.EncodeTLV(0x50, []byte(label))
	}
	if err := t.putData(objLabel, content); err != nil {
		return err
	}
	t.cardLabel, t.labelRead = label, true
	return nil
}
