package piv

import (
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"github.com/pcsc11/pcsc11/apdu"
	"github.com/pcsc11/pcsc11/ck"
	"github.com/pcsc11/pcsc11/slot"
)

// PIV PIN length bounds (SP 800-73-4 part 2, 2.4.3: 6 to 8 bytes).
const (
	minPINLen = 6
	maxPINLen = 8
)

// Info answers CK_TOKEN_INFO. Static facts come from Open; a call costs one APDU for
// the PIN counter (GET METADATA on the PIN on YubiKey 5.3+, else an empty VERIFY),
// except while our login stands and the card reported no reset (userPINFlags): then
// none, so that a host polling C_GetTokenInfo while logged in costs the card nothing.
// The first call also reads what changes only through administration: the label
// object (YubiKey), the PUK and management-key metadata (5.3+, the SO flags), and the
// CHUID on a card without a YubiKey serial.
func (t *Token) Info() (slot.TokenInfo, error) {
	t.mu.Lock()
	defer t.unlock()
	info := slot.TokenInfo{
		Manufacturer:   "PIV",
		Model:          "PIV",
		MinPINLen:      minPINLen,
		MaxPINLen:      maxPINLen,
		TotalPublicMem: ck.CK_UNAVAILABLE_INFORMATION,
		Flags: ck.CKF_LOGIN_REQUIRED | ck.CKF_USER_PIN_INITIALIZED |
			ck.CKF_TOKEN_INITIALIZED,
	}
	if t.yubikey {
		info.Manufacturer = "Yubico"
		info.Model = t.yubiKeyModel()
		info.FirmwareMajor, info.FirmwareMinor = t.version[0], t.version[1]
	}
	if t.pad != nil { // spec 3.2 CK_TOKEN_INFO: C_Login may pass a NULL PIN
		info.Flags |= ck.CKF_PROTECTED_AUTHENTICATION_PATH
	}
	err := t.transact(func() error {
		flags, err := t.userPINFlags()
		if err != nil {
			return err
		}
		info.Flags |= flags
		if t.yubikey && !t.labelRead {
			if err := t.readLabel(); err != nil {
				return err
			}
		}
		if !t.yubikey && t.keys[0x9A] == nil {
			// The label comes from the 9A certificate (label below): read that slot
			// now, as the object list would.
			s, _ := slotByRef(0x9A)
			if err := t.loadSlot(s); err != nil {
				return err
			}
		}
		if !t.hasSer && !t.chuidRead {
			t.chuidSerial, err = t.readCHUIDSerial()
			if err != nil {
				return err
			}
			t.chuidRead = true
		}
		return nil
	})
	if err != nil {
		return slot.TokenInfo{}, err
	}
	info.Serial = t.serialString()
	info.Label = t.label()
	return info, nil
}

// label: the label written by pcsc11's C_InitToken when the card has one (label.go),
// else a name built from the YubiKey serial, else "YubiKey PIV". A standard PIV card
// is named after its holder as the PIV Authentication certificate (9A) names them,
// the subject's common name, which anyone may read (Printed Information has the
// printed name too, but only after the PIN); "PIV card" without that certificate.
func (t *Token) label() string {
	if t.cardLabel != "" {
		return t.cardLabel
	}
	if t.yubikey && t.hasSer {
		return "YubiKey PIV #" + strconv.FormatUint(uint64(t.serial), 10)
	}
	if t.yubikey {
		return "YubiKey PIV"
	}
	if k := t.keys[0x9A]; k != nil && k.cert != nil {
		if cn := commonName(k.cert.der); cn != "" {
			return cn
		}
	}
	return "PIV card"
}

// yubiKeyModel names the YubiKey generation: the NEO's PIV applet reports its own
// version (1.0.x, below any YubiKey firmware: yubico-piv-tool and ykcs11 tell the NEO
// by a major version below 4); later keys report the firmware.
func (t *Token) yubiKeyModel() string {
	if t.version[0] < 4 {
		return "YubiKey NEO"
	}
	return fmt.Sprintf("YubiKey %d.%d", t.version[0], t.version[1])
}

// commonName is the subject CN of a DER certificate, "" when it has none.
func commonName(der []byte) string {
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return ""
	}
	return c.Subject.CommonName
}

func (t *Token) serialString() string {
	if t.hasSer {
		return strconv.FormatUint(uint64(t.serial), 10)
	}
	return t.chuidSerial
}

// readCHUIDSerial derives a serial from the CHUID (5FC102): the GUID (tag 34) when it
// is not all zero, else the FASC-N (tag 30), as hex cut to CK_TOKEN_INFO's 16
// characters. A missing or unreadable CHUID leaves the serial empty: it is a nicety,
// not a reason to refuse the token.
func (t *Token) readCHUIDSerial() (string, error) {
	data, err := t.getData(0x5FC102)
	if err != nil {
		if isTransport(err) {
			return "", err
		}
		return "", nil
	}
	return chuidSerial(data), nil
}

// chuidSerial derives a token serial from a CHUID (5FC102 content): the GUID (34), or
// the FASC-N (30) when the GUID is all zero, as 16 hex digits; "" when neither helps.
func chuidSerial(data []byte) string {
	tlvs, err := apdu.ParseAll(data)
	if err != nil {
		return ""
	}
	var guid, fascn []byte
	for _, e := range tlvs {
		switch e.Tag {
		case 0x34:
			guid = e.Value
		case 0x30:
			fascn = e.Value
		}
	}
	id := guid
	if allZero(id) {
		id = fascn
	}
	if allZero(id) {
		return ""
	}
	s := strings.ToUpper(hex.EncodeToString(id))
	if len(s) > 16 {
		s = s[:16]
	}
	return s
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// userPINFlags is pinFlags, answered from the last read while our login stands. The
// PIN's counter is at its maximum from the successful VERIFY that made the login until
// the next VERIFY, and every VERIFY, CHANGE or RESET RETRY of ours forgets the flags
// (changesPINFacts); a reset of the card, seen by PC/SC when this call's transaction
// begins, ends the login (transact). What another program does without resetting the
// card (wrong PINs, another application selected) is seen once the login is found lost:
// by the next operation that needs it, which the card refuses. (docs/performance.md,
// S10: an idle logged-in host costs 0 APDUs a minute instead of 60.)
func (t *Token) userPINFlags() (ck.ULong, error) {
	if t.loggedIn && t.pinFlagsKnown {
		return t.pinFlagsCache, nil
	}
	f, err := t.pinFlags()
	if err != nil {
		return 0, err
	}
	t.pinFlagsCache, t.pinFlagsKnown = f, t.loggedIn
	return f, nil
}

// pinFlags reads the PIN retry counter and maps it to the CKF_USER_PIN_* flags:
// COUNT_LOW when fewer tries remain than the maximum, FINAL_TRY at one, LOCKED at none.
// On YubiKey 5.3+ GET METADATA also tells whether the PIN, the PUK and the management
// key still have their factory values (CKF_USER_PIN_TO_BE_CHANGED,
// CKF_SO_PIN_TO_BE_CHANGED, spec 3.2 CK_TOKEN_INFO) and the PUK counter (CKF_SO_PIN_*).
func (t *Token) pinFlags() (ck.ULong, error) {
	left := -1
	var extra ck.ULong // flags that do not depend on the PIN counter (5.3+ metadata)
	if t.atLeast(5, 3) {
		m, err := t.getMetadata(refPIN)
		if err != nil && !t.metadataUnknown(refPIN, err) {
			return 0, err
		}
		if err == nil && m.hasRetries {
			t.pinTries = m.retries[0]
			left = m.retries[1]
		}
		if err == nil && m.isDefault && left != 0 {
			extra |= ck.CKF_USER_PIN_TO_BE_CHANGED
		}
		so, err := t.soFlags()
		if err != nil {
			return 0, err
		}
		extra |= so
	}
	if left < 0 {
		err := t.verifyEmpty()
		switch {
		case err == nil:
			return 0, nil // verified: the counter is at its maximum
		case apdu.IsAuthBlocked(err):
			return ck.CKF_USER_PIN_LOCKED, nil
		case isTransport(err):
			return 0, err
		}
		n, ok := apdu.RetriesLeft(err)
		if !ok {
			return 0, nil // the card does not tell; no flags rather than a failure
		}
		left = n
		if t.pinTries == 0 && t.yubikey {
			t.pinTries = 3 // YubiKey default before 5.3 exposed the setting
		}
		if left > t.pinTries {
			t.pinTries = left
		}
	}
	return retryFlags(left, t.pinTries) | extra, nil
}

func retryFlags(left, max int) ck.ULong {
	var f ck.ULong
	switch {
	case left <= 0:
		return ck.CKF_USER_PIN_LOCKED
	case left == 1:
		f |= ck.CKF_USER_PIN_FINAL_TRY
	}
	if left < max {
		f |= ck.CKF_USER_PIN_COUNT_LOW
	}
	return f
}

// Mechanisms lists what this card can do with the module's software halves: the card
// does the private-key primitive, the module hashes, pads and verifies.
func (t *Token) Mechanisms() []slot.Mechanism {
	const (
		hw      = ck.CKF_HW
		ecFlags = ck.CKF_EC_F_P | ck.CKF_EC_NAMEDCURVE | ck.CKF_EC_UNCOMPRESS
	)
	rsaMax := ck.ULong(2048)
	if t.atLeast(5, 7) {
		rsaMax = 4096
	}
	ecMax := ck.ULong(384)
	if t.isNEO() {
		ecMax = 256
	}
	var m []slot.Mechanism
	add := func(mech, minBits, maxBits, flags ck.ULong) {
		m = append(m, slot.Mechanism{Type: mech, MinKeySize: minBits, MaxKeySize: maxBits, Flags: flags})
	}
	add(ck.CKM_RSA_PKCS, 1024, rsaMax, hw|ck.CKF_SIGN|ck.CKF_VERIFY|ck.CKF_DECRYPT|ck.CKF_ENCRYPT)
	add(ck.CKM_RSA_X_509, 1024, rsaMax, hw|ck.CKF_SIGN|ck.CKF_VERIFY|ck.CKF_DECRYPT|ck.CKF_ENCRYPT)
	add(ck.CKM_RSA_PKCS_PSS, 1024, rsaMax, hw|ck.CKF_SIGN|ck.CKF_VERIFY)
	add(ck.CKM_RSA_PKCS_OAEP, 1024, rsaMax, hw|ck.CKF_DECRYPT|ck.CKF_ENCRYPT)
	for _, mech := range []ck.ULong{ck.CKM_SHA1_RSA_PKCS, ck.CKM_SHA224_RSA_PKCS, ck.CKM_SHA256_RSA_PKCS,
		ck.CKM_SHA384_RSA_PKCS, ck.CKM_SHA512_RSA_PKCS, ck.CKM_SHA1_RSA_PKCS_PSS,
		ck.CKM_SHA224_RSA_PKCS_PSS, ck.CKM_SHA256_RSA_PKCS_PSS, ck.CKM_SHA384_RSA_PKCS_PSS,
		ck.CKM_SHA512_RSA_PKCS_PSS} {
		add(mech, 1024, rsaMax, hw|ck.CKF_SIGN|ck.CKF_VERIFY)
	}
	for _, mech := range []ck.ULong{ck.CKM_ECDSA, ck.CKM_ECDSA_SHA1, ck.CKM_ECDSA_SHA224,
		ck.CKM_ECDSA_SHA256, ck.CKM_ECDSA_SHA384, ck.CKM_ECDSA_SHA512} {
		add(mech, 256, ecMax, hw|ck.CKF_SIGN|ck.CKF_VERIFY|ecFlags)
	}
	ecdhMin := ck.ULong(256)
	if t.atLeast(5, 7) {
		ecdhMin = 255 // X25519
		add(ck.CKM_EDDSA, 255, 255, hw|ck.CKF_SIGN|ck.CKF_VERIFY)
	}
	add(ck.CKM_ECDH1_DERIVE, ecdhMin, ecMax, hw|ck.CKF_DERIVE|ecFlags)
	// Key generation on the card (GENERATE ASYMMETRIC KEY PAIR; needs the management
	// key, see keygen.go).
	// A standard PIV card generates RSA-2048 only (SP 800-78-4 dropped RSA-1024 for
	// new keys); YubiKeys still make 1024.
	rsaGenMin := ck.ULong(1024)
	if !t.yubikey {
		rsaGenMin = 2048
	}
	add(ck.CKM_RSA_PKCS_KEY_PAIR_GEN, rsaGenMin, rsaMax, hw|ck.CKF_GENERATE_KEY_PAIR)
	add(ck.CKM_EC_KEY_PAIR_GEN, 256, ecMax, hw|ck.CKF_GENERATE_KEY_PAIR|ecFlags)
	if t.atLeast(5, 7) {
		add(ck.CKM_EC_EDWARDS_KEY_PAIR_GEN, 255, 255, hw|ck.CKF_GENERATE_KEY_PAIR)
		add(ck.CKM_EC_MONTGOMERY_KEY_PAIR_GEN, 255, 255, hw|ck.CKF_GENERATE_KEY_PAIR)
	}
	for _, mech := range []ck.ULong{ck.CKM_SHA_1, ck.CKM_SHA224, ck.CKM_SHA256, ck.CKM_SHA384, ck.CKM_SHA512} {
		add(mech, 0, 0, ck.CKF_DIGEST)
	}
	return m
}
