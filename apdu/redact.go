package apdu

import (
	"encoding/hex"
	"fmt"
	"strings"
)

// Redaction: the one place that decides what a log may show of an APDU exchange. The
// module's APDU trace (package reader), the virtual card's trace (pcsc11-vpiv --trace)
// and Command.String all ask here. The decision comes from the command alone (its
// instruction, the key reference in P2, the algorithm in P1, the object tag of GET and
// PUT DATA, and what its data template announces) and, for answers, from the command
// they answer (GET RESPONSE continues the answer of the command before it).
//
// It fails safe: data is shown only for instructions known to carry none of a
// secret, and answers only for commands known to return public data. Everything else
// is replaced by its length; headers and status words always stay, since they are
// what a trace is read for.
//
// Secrets covered (DESIGN.md, "Rules at the C boundary"):
//   - command data: VERIFY (PIN), CHANGE REFERENCE DATA (old and new PIN or PUK),
//     RESET RETRY COUNTER (PUK, new PIN), IMPORT KEY (private key), SET MANAGEMENT
//     KEY, GENERAL AUTHENTICATE with the management key 9B (witness, challenge,
//     response), PUT DATA content (only its tag list is shown: PRINTED may hold a
//     PIN-protected management key), and every instruction not known here;
//   - answers: GET DATA of every object not known to be public (PRINTED 5FC109 holds
//     the management key of ykman's --protect layout, 88 { 89 key }; ADMIN DATA
//     5FFF00 holds the salt of a PIN-derived key; biometric objects; the pairing
//     code), GENERAL AUTHENTICATE of the management key, of key agreement (an ECDH or
//     X25519 shared secret) and of RSA keys (a raw RSA answer may be a decryption:
//     the card cannot be asked which), and answers of every instruction not known.

// Instructions the redactor knows (SP 800-73-4 part 2, Yubico PIV extensions).
const (
	insVerify       = 0x20
	insChangeRef    = 0x24
	insResetRetry   = 0x2C
	insGenerate     = 0x47
	insGeneralAuth  = 0x87
	insSelect       = 0xA4
	insGetData      = 0xCB
	insPutData      = 0xDB
	insGetMetadata  = 0xF7
	insGetSerial    = 0xF8
	insAttest       = 0xF9
	insSetRetries   = 0xFA
	insResetPIV     = 0xFB
	insGetVersion   = 0xFD
	insImportKey    = 0xFE
	insSetMgmKey    = 0xFF
	insMoveKey      = 0xF6
	keyRefMgm       = 0x9B
	tagDynAuth      = 0x7C
	tagExponent     = 0x85 // GENERAL AUTHENTICATE: the peer's public point (key agreement)
	tagObjectList   = 0x5C
	algECCP256      = 0x11
	algECCP384      = 0x14
	algEd25519      = 0xE0
	maxShownTagList = 8 // 5C len tag(≤ 3 bytes), with room to spare
)

// publicData: instructions whose command data never holds a secret, shown whole.
var publicData = map[byte]bool{
	insSelect: true, insGetData: true, insGetResponse: true, insGetVersion: true,
	insGetSerial: true, insGetMetadata: true, insAttest: true, insGenerate: true,
	insSetRetries: true, insResetPIV: true, insMoveKey: true,
}

// publicAnswer: instructions whose answer never holds a secret (GET DATA, GENERAL
// AUTHENTICATE and GET RESPONSE are decided case by case).
var publicAnswer = map[byte]bool{
	insSelect: true, insGetVersion: true, insGetSerial: true, insGetMetadata: true,
	insAttest: true, insGenerate: true, insVerify: true, insChangeRef: true,
	insResetRetry: true, insSetRetries: true, insResetPIV: true, insMoveKey: true,
	insPutData: true, insImportKey: true, insSetMgmKey: true,
}

// publicObjects are the data objects whose content is public (SP 800-73-4 part 1,
// table 3; Yubico for 5FFF01): certificates, CHUID, CCC, the security object, the
// Discovery Object and Key History. Every other tag, known or not, is treated as
// secret: PRINTED, ADMIN DATA, fingerprints, facial image, iris, pairing code, and
// vendor objects nobody listed.
var publicObjects = map[uint32]bool{
	0x5FC107: true, // Card Capability Container
	0x5FC102: true, // CHUID
	0x5FC105: true, // certificate 9A
	0x5FC10A: true, // certificate 9C
	0x5FC10B: true, // certificate 9D
	0x5FC101: true, // certificate 9E
	0x5FC106: true, // Security Object
	0x7E:     true, // Discovery Object
	0x5FC10C: true, // Key History
	0x5FC122: true, // SM Certificate Signer
	0x5FFF01: true, // YubiKey attestation certificate (F9)
}

func init() {
	for tag := uint32(0x5FC10D); tag <= 0x5FC120; tag++ {
		publicObjects[tag] = true // retired key management certificates 82..95
	}
}

// PublicObject reports whether the content of data object tag may be logged.
func PublicObject(tag uint32) bool { return publicObjects[tag] }

// objectTag reads the tag of a GET/PUT DATA tag list (5C len tag) at the start of
// data; ok is false when data does not start with one.
func objectTag(data []byte) (tag uint32, size int, ok bool) {
	if len(data) < 2 || data[0] != tagObjectList {
		return 0, 0, false
	}
	n := int(data[1])
	if n == 0 || n > 3 || len(data) < 2+n {
		return 0, 0, false
	}
	for _, b := range data[2 : 2+n] {
		tag = tag<<8 | uint32(b)
	}
	return tag, 2 + n, true
}

// redaction is the verdict on one command.
type redaction struct {
	shown        int  // leading bytes of the command data a log may show
	answerSecret bool // the answer (and its GET RESPONSE continuations) must be hidden
}

// classify decides for c. continued: c continues a chained command (the previous
// block had CLA bit 0x10 and the same INS), so its data starts in the middle of
// something and nothing in it can be read as a tag; prevSecret: the answer being
// collected (for GET RESPONSE) is secret.
func classify(c Command, continued, prevSecret bool) redaction {
	r := redaction{answerSecret: !publicAnswer[c.INS]}
	if publicData[c.INS] && !continued {
		r.shown = len(c.Data)
	}
	switch c.INS {
	case insGetResponse:
		r.answerSecret = prevSecret
	case insGetData:
		tag, _, ok := objectTag(c.Data)
		r.answerSecret = !ok || !publicObjects[tag]
	case insPutData:
		if _, n, ok := objectTag(c.Data); ok && !continued {
			r.shown = n // the tag list; the content may be PRINTED's management key
		}
	case insGeneralAuth:
		r.answerSecret = true
		if c.P2 == keyRefMgm {
			break // witness, challenge and response of the management key
		}
		if !continued {
			r.shown = len(c.Data) // a hash, a message, a ciphertext or a peer's public key
		}
		switch c.P1 {
		case algECCP256, algECCP384:
			// A signature unless the template carries a peer's point (ECDH).
			r.answerSecret = continued || carriesPeerPoint(c.Data)
		case algEd25519:
			r.answerSecret = false // EdDSA only signs
		}
	}
	return r
}

// carriesPeerPoint reports whether a GENERAL AUTHENTICATE template (7C { ... }) holds
// an 85 element, the peer's public point of a key agreement. A template that does not
// parse counts as one: when unsure, hide.
func carriesPeerPoint(data []byte) bool {
	t, rest, err := ParseTLV(data)
	if err != nil || len(rest) != 0 || t.Tag != tagDynAuth {
		return true
	}
	_, found, err := Find(t.Value, tagExponent)
	return found || err != nil
}

// Sensitive reports whether c's data holds something a log must not show (and that
// Exchange wipes from the encoded APDU once sent).
func (c Command) Sensitive() bool {
	return classify(c, false, false).shown < len(c.Data)
}

// Redactor renders the exchanges of one card connection for a log. It remembers
// what the previous command was, since GET RESPONSE continues its answer and a
// chained block continues its data. The zero value is ready; not safe for
// concurrent use (a connection is used by one goroutine at a time).
type Redactor struct {
	answerSecret bool // the answer being collected is secret
	chainINS     int  // INS of a chain in progress (CLA bit 0x10 seen), or anyINS
	chaining     bool
}

// anyINS: after Unseen, the next command may continue whatever chain went by.
const anyINS = -1

// Unseen notes that a command went by without being rendered (the trace was off; it
// costs nothing more than this): until the next command is seen, nothing that one may
// have started (an answer collected by GET RESPONSE, a chain of blocks) is taken for
// public.
func (r *Redactor) Unseen() {
	r.answerSecret, r.chaining, r.chainINS = true, true, anyINS
}

// Command renders a raw command APDU and notes what its answer may show.
func (r *Redactor) Command(raw []byte) string {
	if len(raw) < 4 {
		r.answerSecret, r.chaining = true, false
		return fmt.Sprintf("[%d bytes redacted: not an APDU]", len(raw))
	}
	continued := r.chaining && (r.chainINS == anyINS || int(raw[1]) == r.chainINS)
	r.chaining, r.chainINS = raw[0]&claChain != 0, int(raw[1])
	c, err := ParseCommand(raw)
	if err != nil {
		r.answerSecret = true
		return fmt.Sprintf("%x [%d bytes redacted: malformed]", raw[:4], len(raw)-4)
	}
	v := classify(c, continued, r.answerSecret)
	r.answerSecret = v.answerSecret
	if v.shown >= len(c.Data) {
		return hex.EncodeToString(raw)
	}
	// The header and the length field stay, so a trace still tells a PIN of the
	// wrong length from a right one; the data is shown up to v.shown.
	start := 5
	if Extended(raw) {
		start = 7
	}
	var b strings.Builder
	b.WriteString(hex.EncodeToString(raw[:4]))
	b.WriteByte(' ')
	b.WriteString(hex.EncodeToString(raw[4:start]))
	if v.shown > 0 {
		b.WriteByte(' ')
		b.WriteString(hex.EncodeToString(c.Data[:v.shown]))
	}
	fmt.Fprintf(&b, " [%d bytes redacted]", len(c.Data)-v.shown)
	if le := raw[start+len(c.Data):]; len(le) > 0 {
		b.WriteString(" le=")
		b.WriteString(hex.EncodeToString(le))
	}
	clear(c.Data) // ParseCommand's copy
	return b.String()
}

// Response renders a raw response APDU (data + SW1 SW2) to the last command given to
// Command: whole when public, else its length and status word.
func (r *Redactor) Response(raw []byte) string {
	if !r.answerSecret || len(raw) <= 2 {
		return hex.EncodeToString(raw)
	}
	return fmt.Sprintf("[%d bytes redacted] %x", len(raw)-2, raw[len(raw)-2:])
}
