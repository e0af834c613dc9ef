package piv

import (
	"fmt"
	"strconv"
	"strings"
)

// keySlot is one PIV key reference with the data object that holds its certificate.
// CKA_ID and labels follow the conventions of OpenSC and Yubico's ykcs11 so that
// configurations written for those modules (ssh -I, libp11 URIs) keep working:
// 9A=01, 9C=02, 9D=03, 9E=04, retired 82..95 = 05..18, F9 = 19.
type keySlot struct {
	ref     byte   // key reference (P2 of GENERAL AUTHENTICATE)
	object  uint32 // certificate data object tag (SP 800-73-4 part 1, table 3)
	id      byte   // CKA_ID
	name    string // "PIV Authentication", "Retired Key 3", ...
	pinNone bool   // 9E: SP 800-73-4 card authentication key, usable without PIN
	always  bool   // 9C: SP 800-73-4 requires a PIN verification right before each use
}

// slots lists every key slot in CKA_ID order; built once at init from the fixed table.
var slots = buildSlots()

func buildSlots() []keySlot {
	s := []keySlot{
		{ref: 0x9A, object: 0x5FC105, id: 0x01, name: "PIV Authentication"},
		{ref: 0x9C, object: 0x5FC10A, id: 0x02, name: "Digital Signature", always: true},
		{ref: 0x9D, object: 0x5FC10B, id: 0x03, name: "Key Management"},
		{ref: 0x9E, object: 0x5FC101, id: 0x04, name: "Card Authentication", pinNone: true},
	}
	for i := 0; i < 20; i++ {
		s = append(s, keySlot{
			ref:    byte(0x82 + i),
			object: uint32(0x5FC10D + i),
			id:     byte(0x05 + i),
			name:   fmt.Sprintf("Retired Key %d", i+1),
		})
	}
	// F9: the YubiKey attestation key; its certificate lives in a Yubico object.
	s = append(s, keySlot{ref: 0xF9, object: 0x5FFF01, id: 0x19, name: "PIV Attestation"})
	return s
}

// slotByRef finds a slot by key reference.
func slotByRef(ref byte) (keySlot, bool) {
	for _, s := range slots {
		if s.ref == ref {
			return s, true
		}
	}
	return keySlot{}, false
}

// slotByID finds the slot whose objects carry CKA_ID {id}.
func slotByID(id byte) (keySlot, bool) {
	for _, s := range slots {
		if s.id == id {
			return s, true
		}
	}
	return keySlot{}, false
}

// Object keys: "cert/9a", "pub/9a", "priv/9a" (slot.Object.Key).
func certKey(ref byte) string { return fmt.Sprintf("cert/%02x", ref) }
func pubKey(ref byte) string  { return fmt.Sprintf("pub/%02x", ref) }
func privKey(ref byte) string { return fmt.Sprintf("priv/%02x", ref) }

// objectRef parses an object key "cert/9a", "pub/9a", "priv/9a" (exactly as certKey,
// pubKey and privKey spell it, for a slot of the table).
func objectRef(key string) (kind string, s keySlot, ok bool) {
	kind, hex, found := strings.Cut(key, "/")
	if !found || len(hex) != 2 || (kind != "cert" && kind != "pub" && kind != "priv") {
		return "", keySlot{}, false
	}
	ref, err := strconv.ParseUint(hex, 16, 8)
	if err != nil || strings.ToLower(hex) != hex {
		return "", keySlot{}, false
	}
	if s, ok = slotByRef(byte(ref)); !ok {
		return "", keySlot{}, false
	}
	return kind, s, true
}
