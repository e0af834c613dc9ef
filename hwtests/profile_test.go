package hwtests

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/go-piv/piv-go/v2/piv"

	"github.com/pcsc11/pcsc11/vpiv"
)

// The profile matrix (scripts/test-profiles.sh): the rig's virtual card is one of the
// other cards pcsc11 serves (hwtests/rig.sh with PCSC11_RIG_CARD). These tests check
// that independent clients see that card as they would see the real one; the tests
// above are the default card's (a YubiKey 5.7).

// needProfile returns the rig card's profile, skipping outside the matrix.
func needProfile(t *testing.T) (string, vpiv.Profile) {
	t.Helper()
	name := os.Getenv("PCSC11_RIG_CARD")
	if name == "" {
		t.Skip("runs in the profile matrix (scripts/test-profiles.sh sets PCSC11_RIG_CARD)")
	}
	needCard(t)
	needDemo(t)
	p, err := vpiv.LookupProfile(name)
	if err != nil {
		t.Fatal(err)
	}
	return name, p
}

// OpenSC serves every PIV card: it lists the demo certificates and signs with the
// RSA (9A) and EC (9E) keys, OpenSSL verifying.
func TestProfileOpenSC(t *testing.T) {
	name, _ := needProfile(t)
	r := needCard(t)
	needTool(t, "pkcs11-tool")
	needTool(t, "openssl")
	needFile(t, openscModule)
	objs := p11(t, openscModule, r, "-O")
	mustContain(t, "OpenSC objects on "+name, objs,
		"subject:    DN: O=pcsc11, CN=pcsc11 demo PIV Authentication\n",
		"subject:    DN: O=pcsc11, CN=pcsc11 demo Card Authentication\n")
	t.Run("RSA-9A", func(t *testing.T) { p11SignVerify(t, openscModule, r, "01", "SHA256-RSA-PKCS") })
	t.Run("ECDSA-9E", func(t *testing.T) { p11SignVerify(t, openscModule, r, "04", "ECDSA-SHA256") })
}

// piv-go talks to YubiKeys: it reads the version at Open (so a standard PIV card,
// which has no GET VERSION, is not one to it), signs with the demo keys, and attests
// exactly where the firmware can.
func TestProfilePivGo(t *testing.T) {
	name, p := needProfile(t)
	r := needCard(t)
	if !p.Yubico {
		t.Skip("piv-go opens YubiKeys only (piv.Open sends GET VERSION); a standard PIV card answers 6D00, as this one does")
	}
	yk := openPivGo(t, r)
	v := yk.Version()
	if got := fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch); got != fmt.Sprintf("%d.%d.%d", p.Version[0], p.Version[1], p.Version[2]) {
		t.Errorf("%s: piv-go reads version %s", name, got)
	}
	// GET SERIAL from 5.0; before, piv-go reads it from the OTP application.
	if s, err := yk.Serial(); err != nil || s != vpiv.DefaultSerial {
		t.Errorf("%s: Serial = %d, %v", name, s, err)
	}
	for _, slot := range []piv.Slot{piv.SlotAuthentication, piv.SlotCardAuthentication} {
		cert, err := yk.Certificate(slot)
		if err != nil {
			t.Fatalf("Certificate(%s): %v", slot, err)
		}
		priv, err := yk.PrivateKey(slot, cert.PublicKey, piv.KeyAuth{PIN: demoPIN})
		if err != nil {
			t.Fatalf("PrivateKey(%s): %v", slot, err)
		}
		signAndVerify(t, priv, cert.PublicKey)
		_, err = yk.Attest(slot)
		if p.Attestation && err != nil {
			t.Errorf("%s: Attest(%s): %v", name, slot, err)
		}
		if !p.Attestation && err == nil {
			t.Errorf("%s: Attest(%s) worked on a card without attestation", name, slot)
		}
	}
}

// yubico-piv-tool reads the profile's version and the demo slots on every YubiKey.
func TestProfileYubicoPIVTool(t *testing.T) {
	name, p := needProfile(t)
	r := needCard(t)
	needTool(t, "yubico-piv-tool")
	if !p.Yubico {
		t.Skip("yubico-piv-tool works with YubiKeys only (it asks GET VERSION); a standard PIV card answers 6D00")
	}
	want := fmt.Sprintf("%d.%d.%d", p.Version[0], p.Version[1], p.Version[2])
	out := runTool(t, "yubico-piv-tool", "-r", r, "-a", "version")
	if !strings.Contains(out, "Application version "+want+" found.") {
		t.Errorf("%s: version %q, want %s", name, out, want)
	}
	out = runTool(t, "yubico-piv-tool", "-r", r, "-a", "status")
	if !regexp.MustCompile(`(?m)^Version:\t` + regexp.QuoteMeta(want) + `$`).MatchString(out) {
		t.Errorf("%s: status lacks Version %s:\n%s", name, want, out)
	}
	mustContain(t, "yubico-piv-tool status on "+name, out,
		fmt.Sprintf("Serial Number:\t%d\n", vpiv.DefaultSerial),
		"Slot 9a:\t\n\tAlgorithm:\tRSA2048\n\tSubject DN:\tO=pcsc11, CN=pcsc11 demo PIV Authentication\n",
		"Slot 9e:\t\n\tAlgorithm:\tECCP256\n\tSubject DN:\tO=pcsc11, CN=pcsc11 demo Card Authentication\n")
}
