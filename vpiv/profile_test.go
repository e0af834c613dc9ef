package vpiv

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pcsc11/pcsc11/apdu"
)

func profileCard(t *testing.T, opts Options) *Card {
	t.Helper()
	c, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	selectPIV(t, c)
	return c
}

// Each profile answers exactly its card's instruction set: the ones it lacks answer
// 6D00 whatever their parameters.
func TestProfileInstructionSets(t *testing.T) {
	type want struct {
		version                                string // "" = no GET VERSION
		serial, metadata, attest, move, yubico bool
		atrPrefix                              string
	}
	cases := map[string]want{
		"yubikey-5.7": {"050701", true, true, true, true, true, "3BFD1300008131FE158073C021C057"},
		"yubikey-5.4": {"050403", true, true, true, false, true, "3BFD1300008131FE158073C021C057"},
		"yubikey-5.2": {"050207", true, false, true, false, true, "3BFD1300008131FE158073C021C057"},
		"yubikey-4.3": {"040307", false, false, true, false, true, "3BF81300008131FE15597562696B657934"},
		"yubikey-neo": {"010004", false, false, false, false, true, "3BFC1300008131FE15597562696B65794E454F"},
		"piv":         {"", false, false, false, false, false, "3BD6970081B1FE451F87"},
	}
	if len(cases) != len(ProfileNames()) {
		t.Fatalf("profiles %v, cases for %d", ProfileNames(), len(cases))
	}
	for name, w := range cases {
		t.Run(name, func(t *testing.T) {
			c := profileCard(t, Options{Profile: name})
			if got := strings.ToUpper(hexs(c.ATR())); !strings.HasPrefix(got, w.atrPrefix) {
				t.Errorf("ATR %s, want prefix %s", got, w.atrPrefix)
			}
			v, sw := send(t, c, insGetVersion, 0, 0, nil)
			if w.version == "" {
				mustSW(t, sw, apdu.SWInsNotSupported, "GET VERSION")
			} else {
				mustSW(t, sw, 0x9000, "GET VERSION")
				if hexs(v) != w.version {
					t.Errorf("version %x, want %s", v, w.version)
				}
			}
			check := func(what string, ins, p1, p2 byte, has bool) {
				t.Helper()
				_, sw := send(t, c, ins, p1, p2, nil)
				if has && sw == apdu.SWInsNotSupported {
					t.Errorf("%s answers 6D00 on %s", what, name)
				}
				if !has && sw != apdu.SWInsNotSupported {
					t.Errorf("%s answers %04X on %s, want 6D00", what, sw, name)
				}
			}
			check("GET SERIAL", insGetSerial, 0, 0, w.serial)
			check("GET METADATA", insGetMetadata, 0, 0x9A, w.metadata)
			check("ATTEST", insAttest, 0x9A, 0, w.attest)
			check("MOVE KEY", insMoveKey, 0xFF, 0x9A, w.move)
			for _, ins := range []byte{insSetMgmtKey, insImportKey, insReset, insSetRetries} {
				check("Yubico INS "+hexs([]byte{ins}), ins, 0, 0, w.yubico)
			}
			// The attestation key exists exactly where ATTEST does.
			if _, ok := c.st.keys[refAttestation]; ok != w.attest {
				t.Errorf("attestation key present %v, want %v", ok, w.attest)
			}
			// Yubico's objects exist only on a YubiKey.
			_, sw = send(t, c, insGetData, 0x3F, 0xFF, hx("5C035FFF01"))
			if w.yubico && w.attest {
				mustSW(t, sw, 0x9000, "GET DATA 5FFF01")
			} else {
				mustSW(t, sw, apdu.SWFileNotFound, "GET DATA 5FFF01")
			}
		})
	}
}

func hexs(b []byte) string {
	const digits = "0123456789abcdef"
	var sb strings.Builder
	for _, x := range b {
		sb.WriteByte(digits[x>>4])
		sb.WriteByte(digits[x&15])
	}
	return sb.String()
}

// The factory management key has each generation's algorithm (3DES before 5.7,
// AES-192 on 5.7), and the other algorithm is refused without costing anything.
func TestProfileFactoryManagementKey(t *testing.T) {
	for _, tc := range []struct {
		profile string
		alg     byte
	}{{"yubikey-5.7", algAES192}, {"yubikey-5.4", alg3DES}, {"yubikey-5.2", alg3DES},
		{"yubikey-4.3", alg3DES}, {"yubikey-neo", alg3DES}, {"piv", alg3DES}} {
		t.Run(tc.profile, func(t *testing.T) {
			c := profileCard(t, Options{Profile: tc.profile})
			other := byte(algAES192)
			if tc.alg == algAES192 {
				other = alg3DES
			}
			mustSW(t, mgmtAuth(t, c, other, factoryMgmt), apdu.SWIncorrectP1P2, "wrong algorithm")
			mustSW(t, mgmtAuth(t, c, tc.alg, factoryMgmt), 0x9000, "factory management key")
		})
	}
	c := profileCard(t, Options{Profile: "piv", MgmtAlg: algAES128})
	mustSW(t, mgmtAuth(t, c, algAES128, factoryMgmt[:16]), 0x9000, "piv --mgmt-alg aes128")
	if _, err := New(Options{Profile: "yubikey-5.2", MgmtAlg: algAES128}); err == nil {
		t.Error("yubikey-5.2 accepted an AES management key (AES came with 5.4)")
	}
	if _, err := New(Options{Profile: "yubikey-5.7", GlobalPINPrimary: true}); err == nil {
		t.Error("a YubiKey accepted a Global PIN policy")
	}
	if _, err := New(Options{Profile: "yubikey-9"}); err == nil {
		t.Error("unknown profile accepted")
	}
}

// GENERATE and IMPORT accept exactly the profile's algorithms.
func TestProfileAlgorithms(t *testing.T) {
	// RSA-2048 and 4096 are left out: generating them costs seconds, and 3072 already
	// tells a 5.7 from the generations before it.
	all := []byte{algRSA1024, algRSA3072, algECP256, algECP384, algEd25519, algX25519}
	for _, name := range ProfileNames() {
		t.Run(name, func(t *testing.T) {
			p, _ := LookupProfile(name)
			c := profileCard(t, Options{Profile: name})
			mustSW(t, mgmtAuth(t, c, p.MgmtAlgs[0], factoryMgmt), 0x9000, "management key")
			for _, alg := range all {
				_, sw := send(t, c, insGenerate, 0, 0x9A, tlv([]byte{0xAC}, tlv([]byte{0x80}, []byte{alg})))
				if p.supportsAlg(alg) {
					mustSW(t, sw, 0x9000, "GENERATE "+hexs([]byte{alg}))
				} else {
					mustSW(t, sw, apdu.SWIncorrectData, "GENERATE "+hexs([]byte{alg}))
				}
			}
		})
	}
}

// The piv profile: Discovery Object with the chosen PIN usage policy, a Global PIN
// (00) that satisfies the PIN access rules, and the issuer's objects after --provision
// demo, the Facial Image and Printed Information behind the PIN.
func TestProfilePIVCard(t *testing.T) {
	for _, global := range []bool{false, true} {
		c := profileCard(t, Options{Profile: "piv", GlobalPINPrimary: global})
		d, sw := send(t, c, insGetData, 0x3F, 0xFF, hx("5C017E"))
		mustSW(t, sw, 0x9000, "Discovery Object")
		policy, ok, err := apdu.FindPath(d, 0x7E, 0x5F2F)
		if err != nil || !ok {
			t.Fatalf("Discovery Object %x: %v", d, err)
		}
		want := []byte{0x60, 0x10}
		if global {
			want = []byte{0x60, 0x20}
		}
		if !bytes.Equal(policy, want) {
			t.Errorf("global=%v: PIN usage policy %x, want %x", global, policy, want)
		}
	}

	c, err := New(Options{Profile: "piv"})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Provision("demo"); err != nil {
		t.Fatal(err)
	}
	selectPIV(t, c)
	for _, tag := range []string{"5FC102", "5FC107", "5FC106", "5FC10C", "5FC105", "5FC10A", "5FC10B", "5FC101"} {
		_, sw := send(t, c, insGetData, 0x3F, 0xFF, hx("5C03"+tag))
		mustSW(t, sw, 0x9000, "GET DATA "+tag)
	}
	chuid, _ := send(t, c, insGetData, 0x3F, 0xFF, hx("5C035FC102"))
	for _, tag := range []uint32{0x30, 0x34} {
		if v, ok, _ := apdu.FindPath(chuid, 0x53, tag); !ok || len(v) == 0 {
			t.Errorf("CHUID without element %02X: %x", tag, chuid)
		}
	}
	for _, tag := range []string{"5FC108", "5FC109"} {
		_, sw := send(t, c, insGetData, 0x3F, 0xFF, hx("5C03"+tag))
		mustSW(t, sw, apdu.SWSecurityNotSatisfied, "GET DATA "+tag+" before the PIN")
	}
	// A wrong Global PIN costs a Global PIN try, not a PIV PIN try.
	_, sw := send(t, c, insVerify, 0, refGlobal, pinBlock("999999"))
	mustSW(t, sw, 0x63C2, "wrong Global PIN")
	_, sw = send(t, c, insVerify, 0, refPIN, nil)
	mustSW(t, sw, 0x63C3, "PIV PIN counter untouched")
	_, sw = send(t, c, insVerify, 0, refGlobal, pinBlock("123456"))
	mustSW(t, sw, 0x9000, "Global PIN")
	for _, tag := range []string{"5FC108", "5FC109"} {
		_, sw := send(t, c, insGetData, 0x3F, 0xFF, hx("5C03"+tag))
		mustSW(t, sw, 0x9000, "GET DATA "+tag+" after the Global PIN")
	}
	// 9C still wants a VERIFY right before each use; the Global PIN is one.
	digest := bytes.Repeat([]byte{1}, 32)
	_, sw = send(t, c, insVerify, 0, refGlobal, pinBlock("123456"))
	mustSW(t, sw, 0x9000, "Global PIN")
	_, sw = genAuth(t, c, algECP256, 0x9C, 0x81, digest)
	if sw != 0x9000 {
		t.Errorf("9C signature right after the Global PIN: %04X", sw)
	}
	_, sw = genAuth(t, c, algECP256, 0x9C, 0x81, digest)
	mustSW(t, sw, apdu.SWSecurityNotSatisfied, "second 9C signature without a VERIFY")
	// A YubiKey has no Global PIN.
	yk := profileCard(t, Options{})
	_, sw = send(t, yk, insVerify, 0, refGlobal, pinBlock("123456"))
	mustSW(t, sw, apdu.SWRefDataNotFound, "Global PIN on a YubiKey")
}

// A state file remembers its profile; another --profile on it is refused, and files
// written before profiles existed are YubiKey 5.7 cards.
func TestProfileStateFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "card.json")
	c, err := New(Options{Profile: "piv", StatePath: path, GlobalPINPrimary: true})
	if err != nil {
		t.Fatal(err)
	}
	selectPIV(t, c)
	_, sw := send(t, c, insVerify, 0, refGlobal, pinBlock("000000"))
	mustSW(t, sw, 0x63C2, "wrong Global PIN")
	if _, err := New(Options{StatePath: path}); err == nil || !strings.Contains(err.Error(), "piv") {
		t.Errorf("yubikey-5.7 opened a piv state file: %v", err)
	}
	c2, err := New(Options{Profile: "piv", StatePath: path})
	if err != nil {
		t.Fatal(err)
	}
	selectPIV(t, c2)
	_, sw = send(t, c2, insVerify, 0, refGlobal, nil)
	mustSW(t, sw, 0x63C2, "Global PIN counter kept in the state file")

	old := filepath.Join(t.TempDir(), "old.json")
	if _, err := New(Options{StatePath: old}); err != nil {
		t.Fatal(err)
	}
	if _, err := New(Options{Profile: "yubikey-5.4", StatePath: old}); err == nil {
		t.Error("a 5.7 state file opened as yubikey-5.4")
	}
}

// Before 5.0 PIV has no GET SERIAL: clients read the serial from the OTP application,
// which every YubiKey has and a standard PIV card has not.
func TestProfileOTPSerial(t *testing.T) {
	for _, name := range []string{"yubikey-4.3", "yubikey-neo", "yubikey-5.7", "piv"} {
		c := profileCard(t, Options{Profile: name, Serial: 4242})
		mustSW(t, verifyPIN(t, c, "123456"), 0x9000, "VERIFY")
		_, sw := send(t, c, 0xA4, 0x04, 0x00, otpAID)
		if name == "piv" {
			mustSW(t, sw, apdu.SWFileNotFound, "SELECT OTP on a PIV card")
			continue
		}
		mustSW(t, sw, 0x9000, "SELECT OTP")
		s, sw := send(t, c, insOTP, otpSlotSerial, 0, nil)
		mustSW(t, sw, 0x9000, "OTP serial")
		if hexs(s) != "00001092" {
			t.Errorf("%s: OTP serial %x", name, s)
		}
		_, sw = send(t, c, insGetData, 0x3F, 0xFF, hx("5C035FC102"))
		mustSW(t, sw, apdu.SWInsNotSupported, "PIV command while OTP is selected")
		selectPIV(t, c)
		_, sw = send(t, c, insVerify, 0, refPIN, nil)
		mustSW(t, sw, 0x63C3, "PIN status lost to the OTP application")
	}
}
