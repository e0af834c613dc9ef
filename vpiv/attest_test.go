package vpiv

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"testing"

	"github.com/go-piv/piv-go/v2/piv"
	"github.com/pcsc11/pcsc11/apdu"
)

func TestAttestationRootStable(t *testing.T) {
	a, b := AttestationRoot(), AttestationRoot()
	if !bytes.Equal(a.Raw, b.Raw) || !a.IsCA || a.Subject.CommonName == "" {
		t.Fatal("root not stable or not a CA")
	}
	if err := a.CheckSignatureFrom(a); err != nil {
		t.Fatalf("root not self-signed: %v", err)
	}
	sum := sha256.Sum256(a.Raw)
	if got := hex.EncodeToString(sum[:]); got != pinnedRootSHA256 {
		t.Fatalf("root certificate changed: sha256 %s, pinned %s", got, pinnedRootSHA256)
	}
}

func attestationCert(t *testing.T, c *Card) *x509.Certificate {
	t.Helper()
	obj, sw := send(t, c, 0xCB, 0x3F, 0xFF, hx("5C035FFF01"))
	mustSW(t, sw, 0x9000, "GET attestation object")
	der, ok, err := apdu.FindPath(obj, 0x53, 0x70)
	if err != nil || !ok {
		t.Fatalf("attestation object %x", obj)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

func TestAttestVerifiesWithPivGo(t *testing.T) {
	c, err := New(Options{Serial: 7654321})
	if err != nil {
		t.Fatal(err)
	}
	selectPIV(t, c)
	mustSW(t, mgmtAuth(t, c, 0x0A, factoryMgmt), 0x9000, "auth")
	roots := x509.NewCertPool()
	roots.AddCert(AttestationRoot())
	v := piv.Verifier{Roots: roots}

	for _, tc := range []struct {
		slot, alg, pp, tp byte
		wantPP            piv.PINPolicy
		wantTP            piv.TouchPolicy
		slotInfo          piv.Slot
	}{
		{0x9A, 0x11, 0, 0, piv.PINPolicyOnce, piv.TouchPolicyNever, piv.SlotAuthentication},
		{0x9C, 0xE0, 0, 0x03, piv.PINPolicyAlways, piv.TouchPolicyCached, piv.SlotSignature},
		{0x9E, 0x14, 0x01, 0x02, piv.PINPolicyNever, piv.TouchPolicyAlways, piv.SlotCardAuthentication},
		{0x9D, 0x06, 0, 0, piv.PINPolicyOnce, piv.TouchPolicyNever, piv.SlotKeyManagement},
		{0x95, 0xE1, 0x03, 0, piv.PINPolicyAlways, piv.TouchPolicyNever, piv.Slot{}},
	} {
		pub := generate(t, c, tc.slot, tc.alg, tc.pp, tc.tp)
		der, sw := send(t, c, 0xF9, tc.slot, 0x00, nil)
		mustSW(t, sw, 0x9000, "ATTEST")
		slotCert, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatalf("slot %02X: %v", tc.slot, err)
		}
		a, err := v.Verify(attestationCert(t, c), slotCert)
		if err != nil {
			t.Fatalf("slot %02X: piv-go rejects the attestation: %v", tc.slot, err)
		}
		if a.Serial != 7654321 || a.Version != (piv.Version{Major: 5, Minor: 7, Patch: 1}) ||
			a.PINPolicy != tc.wantPP || a.TouchPolicy != tc.wantTP || a.Formfactor != piv.FormfactorUSBAKeychain {
			t.Errorf("slot %02X: attestation %+v", tc.slot, a)
		}
		if tc.slotInfo != (piv.Slot{}) && a.Slot.Key != tc.slotInfo.Key {
			t.Errorf("slot %02X: piv-go infers slot %+v", tc.slot, a.Slot)
		}
		// The certified key is the slot's key.
		md, _ := send(t, c, 0xF7, 0x00, tc.slot, nil)
		p, _, _ := apdu.Find(md, 0x04)
		if !bytes.Equal(p, pub) {
			t.Fatalf("slot %02X: metadata key differs", tc.slot)
		}
		if _, err := x509.ParsePKIXPublicKey(slotCert.RawSubjectPublicKeyInfo); err != nil {
			t.Fatalf("slot %02X: certified key: %v", tc.slot, err)
		}
		keyBytes, ok, _ := apdu.Find(pub, 0x86)
		if !ok {
			keyBytes, _, _ = apdu.Find(pub, 0x81)
		}
		if !bytes.Contains(slotCert.RawSubjectPublicKeyInfo, keyBytes) {
			t.Fatalf("slot %02X: certificate does not carry the slot's key", tc.slot)
		}
	}
	// An attestation signed by some other root does not verify.
	other := x509.NewCertPool()
	if _, err := (&piv.Verifier{Roots: other}).Verify(attestationCert(t, c), AttestationRoot()); err == nil {
		t.Fatal("verification without the root should fail")
	}

	_, sw := send(t, c, 0xF9, 0x9B, 0x00, nil)
	mustSW(t, sw, 0x6A86, "ATTEST 9B")
	_, sw = send(t, c, 0xF9, 0x82, 0x00, nil)
	mustSW(t, sw, 0x6A80, "ATTEST of an empty slot")
	_, sw = send(t, c, 0xF9, 0xF9, 0x00, nil)
	mustSW(t, sw, 0x6A80, "ATTEST of F9")
	_, sw = send(t, c, 0xF9, 0x9A, 0x01, nil)
	mustSW(t, sw, 0x6A86, "ATTEST P2")
}

func TestAttestationCertificateIssuedByRoot(t *testing.T) {
	c := selected(t)
	cert := attestationCert(t, c)
	if err := cert.CheckSignatureFrom(AttestationRoot()); err != nil {
		t.Fatalf("F9 certificate not issued by the root: %v", err)
	}
	if !cert.IsCA {
		t.Fatal("F9 certificate must be a CA")
	}
}

// pinnedRootSHA256 pins the virtual root CA: it must be the same in every process
// and build, or everyone who saved the root loses attestation.
const pinnedRootSHA256 = "2c9538fe0ec7207e1886b47961639962937cc25d6a27532c9f0985e66cb449cd"
