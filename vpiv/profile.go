package vpiv

import (
	"fmt"
	"slices"
	"strings"
)

// Profile is what one kind of card answers: which instructions it knows, its version,
// its ATR, the algorithms it generates and imports and its factory management key.
// The engine consults it for every command, so a profile is the card, not a costume.
//
// Sources for each fact are in docs/virtual-card.md (profile table); in short:
//   - instruction availability per YubiKey firmware: Yubico's "PIV extensions" page and
//     yubico-piv-tool/ykcs11 version checks (GET SERIAL 5.0, GET METADATA 5.3, ATTEST
//     4.3, MOVE KEY and RSA-3072/4096, Ed25519, X25519 5.7, AES management keys 5.4,
//     AES-192 factory default 5.7);
//   - ATRs: pcsc-tools' smartcard_list.txt (YubiKey NEO, 4, 5; the IDEMIA ID-One PIV
//     2.4 card for the standard PIV profile);
//   - a standard PIV card (SP 800-73-4 Part 2) knows SELECT, GET DATA, PUT DATA,
//     VERIFY, CHANGE REFERENCE DATA, RESET RETRY COUNTER, GENERAL AUTHENTICATE and
//     GENERATE ASYMMETRIC KEY PAIR (+ GET RESPONSE); anything else answers 6D00.
type Profile struct {
	Name string
	// Yubico: the Yubico instruction set exists at all (GET VERSION, SET MANAGEMENT
	// KEY, IMPORT KEY, RESET, SET PIN RETRIES); false for a standard PIV card.
	Yubico  bool
	Version [3]byte // GET VERSION (Yubico only)
	ATR     []byte
	// Optional Yubico instructions, by firmware.
	Serial      bool // GET SERIAL (F8), 5.0+
	Metadata    bool // GET METADATA (F7), 5.3+
	Attestation bool // ATTEST (F9) and the attestation key F9, 4.3+
	MoveKey     bool // MOVE/DELETE KEY (F6), 5.7+
	// MgmtAlgs are the management-key algorithms the card accepts; the first is the
	// factory default.
	MgmtAlgs []byte
	// Algs are the asymmetric algorithms GENERATE and IMPORT accept.
	Algs []byte
	// GlobalPIN: the card has a Global PIN (key reference 00) besides the PIV PIN, and
	// the Discovery Object's PIN usage policy says which one is primary (standard PIV
	// cards; YubiKeys have none).
	GlobalPIN bool
}

// ATRs (pcsc-tools smartcard_list.txt).
var (
	// YubiKey 5 (USB, CCID): T=1, historical bytes 80 73 C0 21 C0 "WYubiKey", TCK.
	atrYubiKey5 = []byte{0x3B, 0xFD, 0x13, 0x00, 0x00, 0x81, 0x31, 0xFE, 0x15, 0x80, 0x73, 0xC0, 0x21,
		0xC0, 0x57, 0x59, 0x75, 0x62, 0x69, 0x4B, 0x65, 0x79, 0x40}
	// YubiKey 4: historical bytes "Yubikey4".
	atrYubiKey4 = []byte{0x3B, 0xF8, 0x13, 0x00, 0x00, 0x81, 0x31, 0xFE, 0x15, 0x59, 0x75, 0x62, 0x69,
		0x6B, 0x65, 0x79, 0x34, 0xD4}
	// YubiKey NEO: historical bytes "YubikeyNEOr3".
	atrYubiKeyNEO = []byte{0x3B, 0xFC, 0x13, 0x00, 0x00, 0x81, 0x31, 0xFE, 0x15, 0x59, 0x75, 0x62, 0x69,
		0x6B, 0x65, 0x79, 0x4E, 0x45, 0x4F, 0x72, 0x33, 0xE1}
	// IDEMIA ID-One PIV 2.4 (P/N 1501381): T=1, a government PIV card.
	atrIDOnePIV = []byte{0x3B, 0xD6, 0x97, 0x00, 0x81, 0xB1, 0xFE, 0x45, 0x1F, 0x87, 0x80, 0x31, 0xC1,
		0x52, 0x21, 0x1A, 0x4B}
)

var (
	algsYK57 = []byte{algRSA1024, algRSA2048, algRSA3072, algRSA4096, algECP256, algECP384, algEd25519, algX25519}
	algsYK4  = []byte{algRSA1024, algRSA2048, algECP256, algECP384}
	algsNEO  = []byte{algRSA1024, algRSA2048, algECP256}
	// SP 800-78-4 Table 3-1: RSA-2048 and ECC P-256/P-384 for the PIV keys (RSA-1024
	// is no longer issued).
	algsPIV  = []byte{algRSA2048, algECP256, algECP384}
	mgmtAES  = []byte{algAES128, algAES192, algAES256}
	mgmt3DES = []byte{alg3DES}
)

// DefaultProfile is the card of a plain `pcsc11-vpiv`: a YubiKey 5 with firmware 5.7.
const DefaultProfile = "yubikey-5.7"

// profiles are the cards the engine can be.
var profiles = []Profile{
	{Name: "yubikey-5.7", Yubico: true, Version: [3]byte{5, 7, 1}, ATR: atrYubiKey5,
		Serial: true, Metadata: true, Attestation: true, MoveKey: true,
		MgmtAlgs: append([]byte{algAES192, alg3DES}, algAES128, algAES256), Algs: algsYK57},
	{Name: "yubikey-5.4", Yubico: true, Version: [3]byte{5, 4, 3}, ATR: atrYubiKey5,
		Serial: true, Metadata: true, Attestation: true,
		MgmtAlgs: append(slices.Clone(mgmt3DES), mgmtAES...), Algs: algsYK4},
	{Name: "yubikey-5.2", Yubico: true, Version: [3]byte{5, 2, 7}, ATR: atrYubiKey5,
		Serial: true, Attestation: true, MgmtAlgs: mgmt3DES, Algs: algsYK4},
	{Name: "yubikey-4.3", Yubico: true, Version: [3]byte{4, 3, 7}, ATR: atrYubiKey4,
		Attestation: true, MgmtAlgs: mgmt3DES, Algs: algsYK4},
	// The NEO's PIV applet reports its own version (1.0.x), not the device firmware.
	{Name: "yubikey-neo", Yubico: true, Version: [3]byte{1, 0, 4}, ATR: atrYubiKeyNEO,
		MgmtAlgs: mgmt3DES, Algs: algsNEO},
	{Name: "piv", ATR: atrIDOnePIV, MgmtAlgs: append(slices.Clone(mgmt3DES), mgmtAES...),
		Algs: algsPIV, GlobalPIN: true},
}

// ProfileNames lists the profiles, the default first.
func ProfileNames() []string {
	names := make([]string, len(profiles))
	for i, p := range profiles {
		names[i] = p.Name
	}
	return names
}

// LookupProfile returns the profile called name ("" = DefaultProfile).
func LookupProfile(name string) (Profile, error) {
	if name == "" {
		name = DefaultProfile
	}
	for _, p := range profiles {
		if p.Name == name {
			p.ATR = slices.Clone(p.ATR)
			return p, nil
		}
	}
	return Profile{}, fmt.Errorf("vpiv: unknown profile %q (want one of %s)", name, strings.Join(ProfileNames(), ", "))
}

// supportsAlg: GENERATE and IMPORT accept alg.
func (p *Profile) supportsAlg(alg byte) bool { return slices.Contains(p.Algs, alg) }

// supportsMgmtAlg: SET MANAGEMENT KEY (and the piv profile's factory setting) accept alg.
func (p *Profile) supportsMgmtAlg(alg byte) bool { return slices.Contains(p.MgmtAlgs, alg) }

// knowsINS reports whether the card has instruction ins at all; one it lacks answers
// 6D00 (INS not supported), as the real card does.
func (p *Profile) knowsINS(ins byte) bool {
	switch ins {
	case insSelect, insGetResponse, insVerify, insChangeRef, insResetRetry, insGenAuth,
		insGenerate, insGetData, insPutData:
		return true // SP 800-73-4 Part 2
	case insGetVersion, insSetMgmtKey, insImportKey, insReset, insSetRetries:
		return p.Yubico
	case insGetSerial:
		return p.Serial
	case insGetMetadata:
		return p.Metadata
	case insAttest:
		return p.Attestation
	case insMoveKey:
		return p.MoveKey
	}
	return false
}

// MgmtAlgByName maps "3des", "aes128", "aes192", "aes256" to the PIV algorithm
// identifier of Options.MgmtAlg; "" is 0 (the profile's default).
func MgmtAlgByName(name string) (byte, error) {
	switch strings.ToLower(name) {
	case "":
		return 0, nil
	case "3des":
		return alg3DES, nil
	case "aes128":
		return algAES128, nil
	case "aes192":
		return algAES192, nil
	case "aes256":
		return algAES256, nil
	}
	return 0, fmt.Errorf("vpiv: unknown management key algorithm %q (want 3des, aes128, aes192 or aes256)", name)
}
