package piv

import (
	"bytes"
	"strings"
	"testing"

	"github.com/pcsc11/pcsc11/ck"
	"github.com/pcsc11/pcsc11/slot"
	"github.com/pcsc11/pcsc11/vpiv"
)

// profileToken opens a token on a demo-provisioned virtual card of profile name.
func profileToken(t *testing.T, opts vpiv.Options) (*Token, *testCard) {
	t.Helper()
	m := provisionedCard(t, opts, "demo")
	return openToken(t, m), m
}

// The module on every profile: token identity, the keys from whatever the card tells
// (metadata or certificates), a signature with every key that OpenSSL-equivalent Go
// verification accepts, SO login with the card's factory management key whatever
// its algorithm, and the Yubico-only functions refused where the card lacks them.
func TestProfilesDriver(t *testing.T) {
	type want struct {
		manufacturer, model, serial, label string
		initToken                          bool // C_InitToken (YubiKey RESET) exists
		ecMax                              ck.ULong
	}
	cases := map[string]want{
		"yubikey-5.7": {"Yubico", "YubiKey 5.7", "12345678", "YubiKey PIV #12345678", true, 384},
		"yubikey-5.4": {"Yubico", "YubiKey 5.4", "12345678", "YubiKey PIV #12345678", true, 384},
		"yubikey-5.2": {"Yubico", "YubiKey 5.2", "12345678", "YubiKey PIV #12345678", true, 384},
		"yubikey-4.3": {"Yubico", "YubiKey 4.3", "", "YubiKey PIV", true, 384},
		"yubikey-neo": {"Yubico", "YubiKey NEO", "", "YubiKey PIV", true, 256},
		"piv":         {"PIV", "PIV", "", "pcsc11 demo PIV Authentication", false, 384},
	}
	for name, w := range cases {
		t.Run(name, func(t *testing.T) {
			tok, m := profileToken(t, vpiv.Options{Profile: name, Serial: 12345678})
			info, err := tok.Info()
			if err != nil {
				t.Fatal(err)
			}
			if info.Manufacturer != w.manufacturer || info.Model != w.model || info.Label != w.label {
				t.Errorf("identity %q %q %q, want %q %q %q", info.Manufacturer, info.Model, info.Label,
					w.manufacturer, w.model, w.label)
			}
			if w.serial != "" && info.Serial != w.serial {
				t.Errorf("serial %q, want %q", info.Serial, w.serial)
			}
			if w.serial == "" && len(info.Serial) != 16 { // from the CHUID GUID
				t.Errorf("serial %q, want 16 hex digits of the CHUID GUID", info.Serial)
			}
			for _, mech := range tok.Mechanisms() {
				if mech.Type == ck.CKM_ECDSA && mech.MaxKeySize != w.ecMax {
					t.Errorf("CKM_ECDSA up to %d bits, want %d", mech.MaxKeySize, w.ecMax)
				}
			}

			objs, err := tok.Objects()
			if err != nil {
				t.Fatal(err)
			}
			privs := map[string]slot.Object{}
			for _, o := range objs {
				if o.Attrs[ck.CKA_CLASS] == ck.CKO_PRIVATE_KEY {
					privs[o.Key] = o
				}
			}
			if len(privs) != 4 {
				t.Fatalf("%d private keys, want the 4 demo keys: %v", len(privs), keysOf(privs))
			}
			if aa := privs["priv/9c"].Attrs[ck.CKA_ALWAYS_AUTHENTICATE]; aa != true {
				t.Errorf("9C CKA_ALWAYS_AUTHENTICATE %v, want true (SP 800-73-4)", aa)
			}
			if p := privs["priv/9e"].Attrs[ck.CKA_PRIVATE]; p != false {
				t.Errorf("9E CKA_PRIVATE %v, want false (card authentication)", p)
			}

			if err := tok.Login(ck.CKU_USER, []byte(testPIN)); err != nil {
				t.Fatalf("login: %v", err)
			}
			for _, ref := range []byte{0x9A, 0x9C, 0x9D, 0x9E} {
				if ref == 0x9C {
					if err := tok.Login(ck.CKU_CONTEXT_SPECIFIC, []byte(testPIN)); err != nil {
						t.Fatalf("context login: %v", err)
					}
				}
				checkSigns(t, tok, ref)
			}
			m.apdus = 0
			err = tok.InitToken([]byte(defaultMgm), "x")
			if w.initToken && slot.RV(err) == ck.CKR_FUNCTION_NOT_SUPPORTED {
				t.Errorf("InitToken refused on %s: %v", name, err)
			}
			if !w.initToken && (slot.RV(err) != ck.CKR_FUNCTION_NOT_SUPPORTED || m.apdus != 0) {
				t.Errorf("InitToken on a standard PIV card: %v after %d APDUs, want CKR_FUNCTION_NOT_SUPPORTED before any", err, m.apdus)
			}
		})
	}
}

func keysOf(m map[string]slot.Object) []string {
	var k []string
	for s := range m {
		k = append(k, s)
	}
	return k
}

// The management key of a card without GET METADATA is found by its witness
// requests alone: a wrong guess costs nothing, and the right key works whatever the
// algorithm (3DES, AES-192 or AES-128 on the piv profile).
func TestProfilesManagementKeyDetection(t *testing.T) {
	for _, tc := range []struct {
		profile string
		alg     string
		key     string
	}{
		{"piv", "3des", defaultMgm},
		{"piv", "aes192", defaultMgm},
		{"piv", "aes128", defaultMgm[:32]},
		{"piv", "aes256", defaultMgm + defaultMgm[:16]},
		{"yubikey-4.3", "", defaultMgm},
		{"yubikey-5.2", "", defaultMgm},
		{"yubikey-5.4", "", defaultMgm},
		{"yubikey-5.7", "", defaultMgm},
	} {
		t.Run(tc.profile+"/"+tc.alg, func(t *testing.T) {
			alg, err := vpiv.MgmtAlgByName(tc.alg)
			if err != nil {
				t.Fatal(err)
			}
			tok, m := profileToken(t, vpiv.Options{Profile: tc.profile, MgmtAlg: alg})
			// A wrong key of the right length: CKR_PIN_INCORRECT, and exactly one
			// counted failure (the card has no counter here, so check the APDUs: only
			// witness requests before the one real attempt).
			wrong := strings.Repeat("f", len(tc.key))
			if err := tok.Login(ck.CKU_SO, []byte(wrong)); slot.RV(err) != ck.CKR_PIN_INCORRECT {
				t.Fatalf("wrong key: %v", err)
			}
			steps := 0
			for _, c := range m.sent {
				if len(c) > 5 && c[1] == 0x87 && c[3] == 0x9B && !strings.HasPrefix(strings.ToUpper(hexs(c[5:])), "7C028000") {
					steps++
				}
			}
			if steps != 1 {
				t.Errorf("wrong key: %d authentication responses sent, want exactly 1", steps)
			}
			if err := tok.Login(ck.CKU_SO, []byte(tc.key)); err != nil {
				t.Fatalf("factory key: %v", err)
			}
		})
	}
}

func hexs(b []byte) string {
	const d = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, x := range b {
		out = append(out, d[x>>4], d[x&15])
	}
	return string(out)
}

// A standard PIV card whose Discovery Object makes the Global PIN primary is logged
// in with the Global PIN (VERIFY 00 20 00 00); otherwise with the PIV PIN.
func TestProfilesGlobalPIN(t *testing.T) {
	for _, global := range []bool{false, true} {
		tok, m := profileToken(t, vpiv.Options{Profile: "piv", GlobalPINPrimary: global})
		m.sent = nil
		if err := tok.Login(ck.CKU_USER, []byte(testPIN)); err != nil {
			t.Fatal(err)
		}
		want := byte(0x80)
		if global {
			want = 0x00
		}
		var ref = -1
		for _, c := range m.sent {
			if len(c) > 4 && c[1] == 0x20 && c[2] == 0 && len(c) > 5 {
				ref = int(c[3])
			}
		}
		if ref != int(want) {
			t.Errorf("global=%v: VERIFY with reference %02X, want %02X", global, ref, want)
		}
	}
}

// Key generation and certificate writing are standard PIV: they work on the piv
// profile with its management key.
func TestProfilesPIVKeyGeneration(t *testing.T) {
	tok, _ := profileToken(t, vpiv.Options{Profile: "piv"})
	if err := tok.Login(ck.CKU_SO, []byte(defaultMgm)); err != nil {
		t.Fatal(err)
	}
	pub, priv, err := tok.GenerateKeyPair(ck.CKM_EC_KEY_PAIR_GEN,
		slot.Attributes{ck.CKA_EC_PARAMS: ECParams(CurveP384), ck.CKA_ID: []byte{0x05}},
		slot.Attributes{ck.CKA_ID: []byte{0x05}})
	if err != nil {
		t.Fatalf("GenerateKeyPair P-384 in 82: %v", err)
	}
	if pub != "pub/82" || priv != "priv/82" {
		t.Errorf("generated %s %s", pub, priv)
	}
	if _, _, err := tok.GenerateKeyPair(ck.CKM_EC_KEY_PAIR_GEN,
		slot.Attributes{ck.CKA_EC_PARAMS: ECParams(CurveEd25519), ck.CKA_ID: []byte{0x06}},
		slot.Attributes{ck.CKA_ID: []byte{0x06}}); slot.RV(err) == ck.CKR_OK {
		t.Error("Ed25519 generated on a standard PIV card")
	}
	// Yubico-only personalization: no IMPORT KEY, no SET MANAGEMENT KEY.
	imp := slot.Attributes{ck.CKA_CLASS: ck.CKO_PRIVATE_KEY, ck.CKA_KEY_TYPE: ck.CKK_EC, ck.CKA_ID: []byte{0x07},
		ck.CKA_EC_PARAMS: ECParams(CurveP256), ck.CKA_VALUE: bytes.Repeat([]byte{1}, 32)}
	if _, err := tok.CreateObject(imp); slot.RV(err) != ck.CKR_FUNCTION_NOT_SUPPORTED {
		t.Errorf("private key import on a standard PIV card: %v", err)
	}
	if err := tok.SetPIN(ck.CKU_SO, []byte(defaultMgm), []byte(strings.Repeat("a", 48))); slot.RV(err) != ck.CKR_FUNCTION_NOT_SUPPORTED {
		t.Errorf("management key change on a standard PIV card: %v", err)
	}
}

// The PIV data objects are CKO_DATA objects with their PIV OID; listing them reads no
// value (a probe each, never a GET RESPONSE), the value comes when asked, and the
// PIN-protected ones are private. On a YubiKey the Printed Information container (the
// PIN-protected management key) is never one.
func TestProfilesDataObjects(t *testing.T) {
	for _, tc := range []struct {
		profile   string
		want, not []string
	}{
		{"piv", []string{"data/5fc102", "data/5fc107", "data/7e", "data/5fc10c", "data/5fc106", "data/5fc109", "data/5fc108"},
			[]string{"data/5fc103", "data/5fc121"}},
		{"yubikey-5.7", []string{"data/5fc102", "data/5fc107", "data/7e"}, []string{"data/5fc109", "data/5fc108", "data/5fc106"}},
	} {
		t.Run(tc.profile, func(t *testing.T) {
			tok, m := profileToken(t, vpiv.Options{Profile: tc.profile})
			m.sent = nil
			tok.mu.Lock()
			err := tok.ensureData()
			tok.mu.Unlock()
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range m.sent {
				if len(c) > 1 && c[1] == 0xC0 {
					t.Fatalf("listing data objects sent GET RESPONSE: %x", c)
				}
			}
			if len(m.sent) > len(dataObjects) {
				t.Errorf("%d APDUs to list %d data objects", len(m.sent), len(dataObjects))
			}
			objs, err := tok.Objects()
			if err != nil {
				t.Fatal(err)
			}
			for _, k := range tc.want {
				if findObj(objs, k) == nil {
					t.Errorf("%s not listed", k)
				}
			}
			absent := func(objs []slot.Object) {
				t.Helper()
				for _, k := range tc.not {
					if findObj(objs, k) != nil {
						t.Errorf("%s listed", k)
					}
				}
			}
			if tc.profile != "piv" { // the piv card cannot tell before the PIN
				absent(objs)
			}
			chuid := findObj(objs, "data/5fc102")
			if chuid == nil {
				t.Fatal("no CHUID")
			}
			wantOID := []byte{0x06, 0x0A, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x07, 0x02, 0x30, 0x00}
			if chuid[ck.CKA_CLASS] != ck.CKO_DATA || chuid[ck.CKA_APPLICATION] != DataApplication ||
				!bytes.Equal(chuid[ck.CKA_OBJECT_ID].([]byte), wantOID) || chuid[ck.CKA_PRIVATE] != false {
				t.Errorf("CHUID attributes %v", chuid)
			}
			v, err := chuid[ck.CKA_VALUE].(slot.LazyValue)()
			if err != nil || len(v) < 2 || v[0] != 0x30 {
				t.Errorf("CHUID value %x: %v", v, err)
			}
			if tc.profile != "piv" {
				return
			}
			face := findObj(objs, "data/5fc108")
			if face[ck.CKA_PRIVATE] != true {
				t.Error("Facial Image not private")
			}
			read := face[ck.CKA_VALUE].(slot.LazyValue)
			if _, err := read(); slot.RV(err) != ck.CKR_USER_NOT_LOGGED_IN {
				t.Errorf("Facial Image before the PIN: %v", err)
			}
			if err := tok.Login(ck.CKU_USER, []byte(testPIN)); err != nil {
				t.Fatal(err)
			}
			if v, err := read(); err != nil || len(v) == 0 || v[0] != 0xBC {
				t.Errorf("Facial Image after the PIN: %x %v", v, err)
			}
			// With the PIN the card tells absent objects apart: fingerprints and iris
			// (not issued on this card) are gone from the list.
			objs, err = tok.Objects()
			if err != nil {
				t.Fatal(err)
			}
			absent(objs)
			if findObj(objs, "data/5fc108") == nil || findObj(objs, "data/5fc109") == nil {
				t.Error("Facial Image or Printed Information gone after the login")
			}
		})
	}
}
