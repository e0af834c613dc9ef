package piv

import (
	"encoding/binary"
	"fmt"

	"github.com/pcsc11/pcsc11/apdu"
)

// Instructions (SP 800-73-4 part 2, 3.x; Yubico PIV extensions for FD/F8/F7).
const (
	insSelect      = 0xA4
	insGetData     = 0xCB
	insVerify      = 0x20
	insGeneralAuth = 0x87
	insGetVersion  = 0xFD
	insGetSerial   = 0xF8
	insGetMetadata = 0xF7
)

// CommandName names a PIV command for a person reading a trace or a test: "GET METADATA 9A",
// "GET DATA 5FC105", "VERIFY PIN", "GENERAL AUTH 9E", or "INS xx p2" for the others.
// It never shows a command's data beyond the GET DATA tag, so it is safe for secrets.
func CommandName(cmd []byte) string {
	if len(cmd) < 4 {
		return fmt.Sprintf("%X", cmd)
	}
	switch cmd[1] {
	case insSelect:
		return "SELECT"
	case insGetVersion:
		return "GET VERSION"
	case insGetSerial:
		return "GET SERIAL"
	case insGetMetadata:
		return fmt.Sprintf("GET METADATA %02X", cmd[3])
	case insGetData:
		if c, err := apdu.ParseCommand(cmd); err == nil {
			if tag, ok, _ := apdu.Find(c.Data, 0x5C); ok {
				return fmt.Sprintf("GET DATA %X", tag)
			}
		}
		return "GET DATA"
	case insVerify:
		if c, err := apdu.ParseCommand(cmd); err == nil && len(c.Data) == 0 {
			return "VERIFY status"
		}
		return "VERIFY PIN"
	case insGeneralAuth:
		return fmt.Sprintf("GENERAL AUTH %02X", cmd[3])
	}
	return fmt.Sprintf("INS %02X %02X", cmd[1], cmd[3])
}

// PIN and management key references.
const (
	refPIN    = 0x80
	refGlobal = 0x00 // the Global PIN (SP 800-73-4 part 1, 3.3.2)
	refMgmKey = 0x9B
)

// exchange sends one command to the card. A standard PIV instruction answered with
// 6D00/6E00 means another program selected another application inside its own
// transaction (gpg, a browser): select PIV again, count the login as lost, and retry
// once. Yubico instructions are retried only on a YubiKey: other cards legitimately
// refuse them.
func (t *Token) exchange(cmd apdu.Command) ([]byte, error) {
	out, err := t.exchangeOnce(cmd)
	if t.reselect(cmd, err) {
		return t.exchangeOnce(cmd)
	}
	return out, err
}

// exchangeFirst is exchange stopped at the card's first answer (apdu.ExchangeFirst):
// more is non-nil when the card announced more data with 61xx. Always a short APDU
// when cmd allows it.
func (t *Token) exchangeFirst(cmd apdu.Command) (out []byte, more *apdu.Pending, err error) {
	send := func() ([]byte, *apdu.Pending, error) {
		return apdu.ExchangeFirst(t.card, cmd, apdu.Options{})
	}
	out, more, err = send()
	if t.reselect(cmd, err) {
		return send()
	}
	return out, more, err
}

// reselect: err says another application is selected (see exchange); PIV was
// selected again and cmd may be re-sent.
func (t *Token) reselect(cmd apdu.Command, err error) bool {
	if err == nil || cmd.INS == insSelect || (cmd.INS >= 0xF0 && !t.yubikey) ||
		!swIs(err, apdu.SWInsNotSupported, apdu.SWClaNotSupported) {
		return false
	}
	t.lostSecurity()
	return t.selectApp() == nil
}

func (t *Token) exchangeOnce(cmd apdu.Command) ([]byte, error) {
	if changesSOFacts(cmd) {
		t.soFlagsKnown = false
	}
	if changesPINFacts(cmd) {
		t.pinFlagsKnown = false
	}
	ext := t.extended && (len(cmd.Data) > apdu.MaxShortData || cmd.Ne > apdu.MaxShortNe)
	if ext && cmd.Ne > 0 {
		cmd.Ne = apdu.MaxExtendNe
	}
	return apdu.Exchange(t.card, cmd, apdu.Options{Extended: ext})
}

// changesSOFacts reports whether cmd can change what the SO flags of C_GetTokenInfo
// tell (the PUK's counter and factory value, the management key's factory value):
// VERIFY or CHANGE REFERENCE DATA of the PUK, RESET RETRY COUNTER (it presents the
// PUK), SET MANAGEMENT KEY and the YubiKey's PIV reset. Changes made by other programs
// are seen on the next card insertion (documented in docs/performance.md).
func changesSOFacts(cmd apdu.Command) bool {
	switch cmd.INS {
	case insVerify, insChangeRef:
		return cmd.P2 == refPUK
	case insResetRetry, insSetMgmKey, insReset:
		return true
	}
	return false
}

// changesPINFacts reports whether cmd can change what the user-PIN flags of
// C_GetTokenInfo tell (the PIN's counter and factory value): VERIFY of a PIN or CHANGE
// REFERENCE DATA of the PIN, RESET RETRY COUNTER and the YubiKey's PIV reset. A
// VERIFY through the reader's PIN pad changes the login state, which pinFlagsCached
// checks too.
func changesPINFacts(cmd apdu.Command) bool {
	switch cmd.INS {
	case insVerify: // an empty VERIFY only asks
		return cmd.P2 == refPIN && len(cmd.Data) > 0
	case insChangeRef:
		return cmd.P2 == refPIN
	case insResetRetry, insReset:
		return true
	}
	return false
}

// selectApp selects PIV by its full AID, falling back to the truncated AID that some
// cards expect. Any failure of both means this is not a PIV card.
func (t *Token) selectApp() error {
	var err error
	for _, aid := range [][]byte{pivAID, pivAIDTruncated} {
		_, err = t.exchangeOnce(apdu.Command{INS: insSelect, P1: 0x04, Data: aid, Ne: 256})
		if err == nil {
			return nil
		}
		if isTransport(err) {
			return err
		}
	}
	return notRecognized(err)
}

// getVersion is YubiKey GET VERSION: three bytes, major.minor.patch.
func (t *Token) getVersion() ([3]byte, error) {
	var v [3]byte
	out, err := t.exchangeOnce(apdu.Command{INS: insGetVersion, Ne: 256})
	if err != nil {
		return v, err
	}
	if len(out) != 3 {
		return v, fmt.Errorf("piv: GET VERSION answered %d bytes", len(out))
	}
	copy(v[:], out)
	return v, nil
}

// getSerial is YubiKey GET SERIAL: four bytes, big-endian.
func (t *Token) getSerial() (uint32, error) {
	out, err := t.exchangeOnce(apdu.Command{INS: insGetSerial, Ne: 256})
	if err != nil {
		return 0, err
	}
	if len(out) != 4 {
		return 0, fmt.Errorf("piv: GET SERIAL answered %d bytes", len(out))
	}
	return binary.BigEndian.Uint32(out), nil
}

// getData reads a data object: GET DATA 00 CB 3F FF with 5C <tag>; the answer is
// 53 <content>, which is unwrapped. An absent object is an apdu.IsNotFound error.
func (t *Token) getData(tag uint32) ([]byte, error) {
	out, err := t.exchange(getDataCmd(tag, apdu.MaxExtendNe))
	if err != nil {
		return nil, err
	}
	return unwrapData(tag, out)
}

// getDataCmd is GET DATA of object tag expecting ne bytes.
func getDataCmd(tag uint32, ne int) apdu.Command {
	return apdu.Command{INS: insGetData, P1: 0x3F, P2: 0xFF, Data: apdu.EncodeTLV(0x5C, tagBytes(tag)), Ne: ne}
}

// unwrapData takes the content out of a GET DATA answer (53 <content>).
func unwrapData(tag uint32, out []byte) ([]byte, error) {
	v, ok, err := apdu.Find(out, 0x53)
	if err != nil || !ok {
		return nil, fmt.Errorf("%w: GET DATA %X: answer is not a 53 object", errMalformedObject, tag)
	}
	return v, nil
}

// verifyEmpty sends VERIFY with no data: 9000 = verified, 63Cx = x tries left,
// 6983 = blocked (SP 800-73-4 part 2, 3.2.1).
func (t *Token) verifyEmpty() error {
	_, err := t.exchange(apdu.Command{INS: insVerify, P2: t.userRef})
	return err
}
