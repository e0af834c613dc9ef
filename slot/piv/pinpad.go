package piv

import (
	"bytes"
	"errors"

	"github.com/pcsc11/pcsc11/apdu"
	"github.com/pcsc11/pcsc11/ck"
	"github.com/pcsc11/pcsc11/config"
	"github.com/pcsc11/pcsc11/reader"
	"github.com/pcsc11/pcsc11/slot"
)

// PIN entry on the reader's PIN pad (PC/SC v2 part 10; docs/pinpad.md,
// "Token behaviour"). The PIN never reaches the host: the reader collects it and
// inserts it into the VERIFY / CHANGE REFERENCE DATA template we give it.

// Getenv reads PCSC11_PINPAD, PCSC11_PINPAD_ONLY and the disk cache's settings
// through the one settings lookup (environment over configuration files, package
// config); tests replace it.
var Getenv = config.Get

// Timeouts of a PIN entry, in seconds: the whole entry, and after the first key when
// the reader does not say (0 lets the reader use its own default).
const padTimeout = 30

// pinPad is what Open learned about the reader's PIN pad.
type pinPad struct {
	verify, modify uint32 // control codes; modify 0 when the reader cannot change PINs
	props          reader.PINProperties
	min, max       byte // PIN sizes both the reader and the card accept
}

// envFlag reads an on/off setting (config.Flag); def when unset or not a flag word.
func envFlag(name string, def bool) bool { return config.Flag(Getenv(name), def) }

// detectPINPad asks the reader for its part 10 features and PIN properties. A reader
// without FEATURE_VERIFY_PIN_DIRECT, one that answers garbage, or one whose PIN sizes
// leave no room for a PIV PIN (6 to 8) is a plain reader (nil, nil). Only transport
// failures are errors; a reset during detection is harmless (nothing was verified
// yet) and detection is tried once more.
func detectPINPad(card reader.Card) (*pinPad, error) {
	var (
		fs  reader.FeatureSet
		err error
	)
	for range 2 {
		if fs, err = reader.Features(card); !errors.Is(err, reader.ErrCardReset) {
			break
		}
	}
	if err != nil || !fs.PINPad() {
		if errors.Is(err, reader.ErrCardReset) {
			return nil, nil
		}
		return nil, err
	}
	props, err := reader.ReadPINProperties(card, fs)
	if err != nil && !errors.Is(err, reader.ErrCardReset) {
		return nil, err
	}
	p := &pinPad{verify: fs.VerifyPINDirect, modify: fs.ModifyPINDirect, props: props,
		min: minPINLen, max: maxPINLen}
	if props.MinPIN > p.min {
		p.min = props.MinPIN
	}
	if props.MaxPIN != 0 && props.MaxPIN < p.max {
		p.max = props.MaxPIN
	}
	if p.min > p.max {
		return nil, nil
	}
	return p, nil
}

// format is the PIV PIN layout (SP 800-73-4 part 2, 2.4.3): ASCII digits from the
// first byte of an 8-byte block, the rest left at the template's FF padding, no length
// field (bmFormatString 82: byte units, position 0, left justified, ASCII;
// bmPINBlockString 08; bmPINLengthFormat 00).
func (p *pinPad) format(messages byte) reader.PINFormat {
	entry := byte(0x02) // the user presses OK
	if v := p.props.EntryValidation & 0x07; v != 0 && v&0x02 == 0 {
		entry = v // a reader without an OK key: what it supports
	}
	if !p.props.HasDisplay() {
		messages = 0 // nothing to show the messages on
	}
	return reader.PINFormat{TimeOut: padTimeout, TimeOut2: p.props.TimeOut2,
		FormatString: 0x82, PINBlockString: 0x08, PINLengthFormat: 0x00,
		MinPIN: p.min, MaxPIN: p.max, EntryValidation: entry, NumberMessage: messages,
		LangID: 0x0409}
}

// verifyStructure is PIN_VERIFY_STRUCTURE for VERIFY 00 20 00 <ref> with an FF block;
// ref is the token's user PIN (80, or 00 on a card whose Global PIN is primary).
func (p *pinPad) verifyStructure(ref byte) ([]byte, error) {
	tmpl := append([]byte{0x00, insVerify, 0x00, ref, maxPINLen}, bytes.Repeat([]byte{0xFF}, maxPINLen)...)
	v := reader.VerifyPIN{PINFormat: p.format(1), APDU: tmpl}
	return v.Marshal()
}

// modifyStructure is PIN_MODIFY_STRUCTURE for CHANGE REFERENCE DATA 00 24 00 <ref>
// with two FF blocks: the current PIN at offset 0, the new one at 8, entered twice.
func (p *pinPad) modifyStructure(ref byte) ([]byte, error) {
	tmpl := append([]byte{0x00, insChangeRef, 0x00, ref, 2 * maxPINLen}, bytes.Repeat([]byte{0xFF}, 2*maxPINLen)...)
	m := reader.ModifyPIN{PINFormat: p.format(3), InsertionOffsetOld: 0, InsertionOffsetNew: maxPINLen,
		ConfirmPIN: 0x03, MsgIndex: [3]byte{0, 1, 2}, APDU: tmpl}
	return m.Marshal()
}

// padOnly: configuration forbids PINs typed on the host for a token in a PIN-pad
// reader (Options.PINPadOnly or PCSC11_PINPAD_ONLY=1).
func (t *Token) padOnly() bool {
	return t.pad != nil && (t.opts.PINPadOnly || envFlag("PCSC11_PINPAD_ONLY", false))
}

// hostPINRefused is the answer to a host PIN when padOnly: CKR_ARGUMENTS_BAD, the
// return of a PIN argument the token cannot take; nothing is sent, no retry is spent.
func hostPINRefused() error {
	return slot.NewError(ck.CKR_ARGUMENTS_BAD,
		"piv: this token takes the PIN on the reader's PIN pad only (PCSC11_PINPAD_ONLY); pass a NULL PIN", nil)
}

// loginOnPad is VERIFY through FEATURE_VERIFY_PIN_DIRECT. Cancel and timeout leave
// the card untouched, so an earlier verification (if any) stands.
func (t *Token) loginOnPad() error {
	s, err := t.pad.verifyStructure(t.userRef)
	if err != nil {
		return slot.NewError(ck.CKR_DEVICE_ERROR, "piv: PIN pad", err)
	}
	return t.transact(func() error { return t.verifyOnPad(s) })
}

// verifyOnPad runs one PIN-pad VERIFY with structure s; the caller holds the
// transaction.
func (t *Token) verifyOnPad(s []byte) error {
	out, err := t.card.Control(t.pad.verify, s)
	sw, perr := t.padAnswer(insVerify, out, err)
	switch {
	case perr != nil && sw == 0:
		return perr
	case sw == apdu.SWOK:
		t.loggedIn = true
		t.afterLogin()
		return nil
	case padOwnSW(sw):
		return perr // the card saw nothing
	}
	t.loggedIn = false
	return perr
}

// setPINOnPad is CHANGE REFERENCE DATA through FEATURE_MODIFY_PIN_DIRECT: the user
// types the current PIN, the new one and the new one again.
func (t *Token) setPINOnPad() error {
	if t.pad.modify == 0 {
		return slot.NewError(ck.CKR_FUNCTION_NOT_SUPPORTED, "piv: the PIN pad cannot change PINs (no FEATURE_MODIFY_PIN_DIRECT)", nil)
	}
	s, err := t.pad.modifyStructure(t.userRef)
	if err != nil {
		return slot.NewError(ck.CKR_DEVICE_ERROR, "piv: PIN pad", err)
	}
	return t.transact(func() error {
		out, err := t.card.Control(t.pad.modify, s)
		sw, perr := t.padAnswer(insChangeRef, out, err)
		if perr != nil && sw != 0 && !padOwnSW(sw) {
			t.loggedIn = false // a wrong current PIN clears a verified PIN
		}
		return perr
	})
}

// padOwnSW: status words the reader answers itself; the card received no command.
func padOwnSW(sw uint16) bool {
	switch sw {
	case reader.SWPINPadTimeout, reader.SWPINPadCancelled, reader.SWPINPadMismatch,
		reader.SWPINPadLengthRange, reader.SWPINPadBadParam:
		return true
	}
	return false
}

// padAnswer maps the reader's answer to a PIN request. It returns the status word (0
// when there is none) and the error for it:
//
//	9000        success
//	6400        timeout: CKR_FUNCTION_CANCELED (nobody entered a PIN; the card was not
//	            asked and no retry was spent, so "incorrect" would be wrong)
//	6401        cancel key: CKR_FUNCTION_CANCELED
//	6402        new PIN and confirmation differ: CKR_PIN_INCORRECT (no retry spent)
//	6403        PIN length outside min..max: CKR_PIN_LEN_RANGE (no retry spent)
//	6B80        structure refused by the reader: CKR_DEVICE_ERROR
//	63Cx        wrong PIN: CKR_PIN_INCORRECT, 63C0 and 6983: CKR_PIN_LOCKED
//	other       as for a PIN typed on the host
func (t *Token) padAnswer(ins byte, out []byte, err error) (uint16, error) {
	if err != nil {
		if errors.Is(err, reader.ErrCardReset) {
			t.lostSecurity()
			t.needSelect = true
		}
		if isTransport(err) {
			return 0, readerError("PIN pad", err)
		}
		return 0, slot.NewError(ck.CKR_DEVICE_ERROR, "piv: the reader refused the PIN request", err)
	}
	resp, perr := apdu.ParseResponse(out)
	if perr != nil {
		return 0, slot.NewError(ck.CKR_DEVICE_ERROR, "piv: PIN pad answer", perr)
	}
	switch resp.SW {
	case apdu.SWOK:
		return resp.SW, nil
	case reader.SWPINPadTimeout:
		return resp.SW, slot.NewError(ck.CKR_FUNCTION_CANCELED, "piv: no PIN entered on the PIN pad in time", nil)
	case reader.SWPINPadCancelled:
		return resp.SW, slot.NewError(ck.CKR_FUNCTION_CANCELED, "piv: PIN entry cancelled on the PIN pad", nil)
	case reader.SWPINPadMismatch:
		return resp.SW, slot.NewError(ck.CKR_PIN_INCORRECT, "piv: the new PIN and its confirmation differ", nil)
	case reader.SWPINPadLengthRange:
		return resp.SW, slot.NewError(ck.CKR_PIN_LEN_RANGE, "piv: the PIN typed on the PIN pad has the wrong length", nil)
	case reader.SWPINPadBadParam:
		return resp.SW, slot.NewError(ck.CKR_DEVICE_ERROR, "piv: the reader refused the PIN structure", nil)
	case apdu.SWInsNotSupported, apdu.SWClaNotSupported, apdu.SWFileNotFound:
		// Another program selected another application: select PIV before the next
		// command. The user is not asked again on their behalf (no automatic retry).
		t.lostSecurity()
		t.needSelect = true
	}
	se := &apdu.StatusError{SW: resp.SW, INS: ins}
	return resp.SW, refError(se, "PIN")
}
