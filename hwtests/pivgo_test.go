package hwtests

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-piv/piv-go/v2/piv"

	"github.com/pcsc11/pcsc11/vpiv"
)

// piv-go (github.com/go-piv/piv-go/v2) against the card: its own APDUs, its own
// parsing, its own attestation verification.

func openPivGo(t *testing.T, reader string) *piv.YubiKey {
	t.Helper()
	cards, err := piv.Cards()
	if err != nil {
		t.Fatalf("piv.Cards: %v", err)
	}
	if !slices.Contains(cards, reader) {
		t.Fatalf("piv.Cards() = %q, lacks %q", cards, reader)
	}
	// piv-go connects exclusively: another client in the middle of a transaction
	// makes that a sharing violation for a moment, so retry for a while.
	var yk *piv.YubiKey
	deadline := time.Now().Add(15 * time.Second)
	for {
		yk, err = piv.Open(reader)
		if err == nil {
			break
		}
		if time.Now().After(deadline) || !strings.Contains(err.Error(), "other connections outstanding") {
			t.Fatalf("piv.Open(%q): %v", reader, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// piv-go holds an exclusive connection: release it before the next client.
	t.Cleanup(func() { yk.Close() })
	return yk
}

func TestPivGoIdentity(t *testing.T) {
	r := needCard(t)
	resetCard(t, r) // so that the PIN is not verified and VERIFY reports the retries
	yk := openPivGo(t, r)
	v := yk.Version()
	if v.Major != 5 || v.Minor != 7 {
		t.Errorf("Version %d.%d.%d, want 5.7.x", v.Major, v.Minor, v.Patch)
	}
	serial, err := yk.Serial()
	if err != nil {
		t.Fatal(err)
	}
	if tgt.demo && serial != vpiv.DefaultSerial {
		t.Errorf("Serial %d, want %d", serial, vpiv.DefaultSerial)
	}
	n, err := yk.Retries()
	if err != nil || n < 1 || (tgt.demo && n != 3) {
		t.Errorf("Retries = %d, %v; want 3 on the demo card, at least 1 anywhere", n, err)
	}
	yk.Close()
	if got := yptSerial(t, r); got != strconv.FormatUint(uint64(serial), 10) {
		t.Errorf("piv-go says serial %d, yubico-piv-tool says %s", serial, got)
	}
}

// TestPivGoDemoKeys signs with the demo keys and checks the signatures against the
// certificates piv-go reads from the card.
func TestPivGoDemoKeys(t *testing.T) {
	r := needCard(t)
	needDemo(t)
	yk := openPivGo(t, r)
	for _, slot := range []piv.Slot{piv.SlotAuthentication, piv.SlotSignature, piv.SlotKeyManagement, piv.SlotCardAuthentication} {
		cert, err := yk.Certificate(slot)
		if err != nil {
			t.Fatalf("Certificate(%s): %v", slot, err)
		}
		// The demo keys were generated on the card: attestation works and names the slot.
		att, err := yk.Attest(slot)
		if err != nil {
			t.Fatalf("Attest(%s): %v", slot, err)
		}
		if !publicKeysEqual(att.PublicKey, cert.PublicKey) {
			t.Errorf("slot %s: attested key differs from the certificate's", slot)
		}
		priv, err := yk.PrivateKey(slot, cert.PublicKey, piv.KeyAuth{PIN: demoPIN})
		if err != nil {
			t.Fatalf("PrivateKey(%s): %v", slot, err)
		}
		signAndVerify(t, priv, cert.PublicKey)
	}
}

// TestPivGoGenerateAttest generates keys with the default management key (AES-192 on a
// 5.7 card; piv-go picks the algorithm from GET METADATA), attests them, verifies the
// attestation chain to the virtual card's root with piv's Verifier, signs, and stores
// and reads back a certificate.
func TestPivGoGenerateAttest(t *testing.T) {
	r := needCard(t)
	needDestructive(t)
	yk := openPivGo(t, r)
	serial, err := yk.Serial()
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		ref uint32
		alg piv.Algorithm
	}{{0x84, piv.AlgorithmEC256}, {0x85, piv.AlgorithmEd25519}, {0x86, piv.AlgorithmEC384}}
	for _, c := range cases {
		slot, ok := piv.RetiredKeyManagementSlot(c.ref)
		if !ok {
			t.Fatalf("no retired slot %x", c.ref)
		}
		t.Run(slot.String(), func(t *testing.T) {
			pub, err := yk.GenerateKey(piv.DefaultManagementKey, slot, piv.Key{
				Algorithm: c.alg, PINPolicy: piv.PINPolicyOnce, TouchPolicy: piv.TouchPolicyNever})
			if err != nil {
				t.Fatalf("GenerateKey: %v", err)
			}
			attCert, err := yk.Attest(slot)
			if err != nil {
				t.Fatalf("Attest: %v", err)
			}
			f9, err := yk.AttestationCertificate()
			if err != nil {
				t.Fatalf("AttestationCertificate: %v", err)
			}
			var a *piv.Attestation
			if tgt.demo {
				roots := x509.NewCertPool()
				roots.AddCert(vpiv.AttestationRoot())
				a, err = (&piv.Verifier{Roots: roots}).Verify(f9, attCert)
			} else {
				a, err = piv.Verify(f9, attCert) // a real YubiKey chains to Yubico's CA
			}
			if err != nil {
				t.Fatalf("attestation does not verify: %v", err)
			}
			if a.Serial != serial || a.Slot != slot || a.PINPolicy != piv.PINPolicyOnce ||
				a.TouchPolicy != piv.TouchPolicyNever || a.Version.Major != 5 || a.Version.Minor != 7 {
				t.Errorf("attestation says %+v; want serial %d, slot %s, PIN once, touch never, 5.7", a, serial, slot)
			}
			if !publicKeysEqual(attCert.PublicKey, pub) {
				t.Fatal("attested key differs from the generated one")
			}
			priv, err := yk.PrivateKey(slot, pub, piv.KeyAuth{PIN: demoPIN})
			if err != nil {
				t.Fatal(err)
			}
			signAndVerify(t, priv, pub)

			// A certificate signed by the card's key, stored and read back.
			tmpl := &x509.Certificate{SerialNumber: big.NewInt(int64(c.ref)),
				Subject:   pkix.Name{CommonName: "pcsc11 piv-go " + slot.String()},
				NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(time.Hour)}
			der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, priv)
			if err != nil {
				t.Fatalf("self-signing with the card: %v", err)
			}
			cert, err := x509.ParseCertificate(der)
			if err != nil {
				t.Fatal(err)
			}
			if err := cert.CheckSignature(cert.SignatureAlgorithm, cert.RawTBSCertificate, cert.Signature); err != nil {
				t.Fatalf("card's certificate signature: %v", err)
			}
			if err := yk.SetCertificate(piv.DefaultManagementKey, slot, cert); err != nil {
				t.Fatalf("SetCertificate: %v", err)
			}
			back, err := yk.Certificate(slot)
			if err != nil || !back.Equal(cert) {
				t.Fatalf("Certificate read back: %v (equal=%t)", err, err == nil && back.Equal(cert))
			}
		})
	}
}

// signAndVerify signs a SHA-256 digest (or, for Ed25519, the message) with the card
// and verifies it with Go's crypto against pub.
func signAndVerify(t *testing.T, priv crypto.PrivateKey, pub crypto.PublicKey) {
	t.Helper()
	signer, ok := priv.(crypto.Signer)
	if !ok {
		t.Fatalf("%T is not a crypto.Signer", priv)
	}
	msg := []byte("pcsc11 hwtest via piv-go")
	digest := sha256.Sum256(msg)
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		sig, err := signer.Sign(rand.Reader, digest[:], crypto.SHA256)
		if err != nil {
			t.Fatalf("sign: %v", err)
		}
		if !ecdsa.VerifyASN1(k, digest[:], sig) {
			t.Fatal("ECDSA signature does not verify")
		}
	case *rsa.PublicKey:
		sig, err := signer.Sign(rand.Reader, digest[:], crypto.SHA256)
		if err != nil {
			t.Fatalf("sign: %v", err)
		}
		if err := rsa.VerifyPKCS1v15(k, crypto.SHA256, digest[:], sig); err != nil {
			t.Fatalf("RSA signature: %v", err)
		}
		pss, err := signer.Sign(rand.Reader, digest[:], &rsa.PSSOptions{Hash: crypto.SHA256, SaltLength: rsa.PSSSaltLengthEqualsHash})
		if err != nil {
			t.Fatalf("sign PSS: %v", err)
		}
		if err := rsa.VerifyPSS(k, crypto.SHA256, digest[:], pss, nil); err != nil {
			t.Fatalf("RSA-PSS signature: %v", err)
		}
	case ed25519.PublicKey:
		sig, err := signer.Sign(rand.Reader, msg, crypto.Hash(0))
		if err != nil {
			t.Fatalf("sign: %v", err)
		}
		if !ed25519.Verify(k, msg, sig) {
			t.Fatal("Ed25519 signature does not verify")
		}
	default:
		t.Fatalf("unexpected public key %T", pub)
	}
}
