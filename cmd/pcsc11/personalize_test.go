package main

import (
	"crypto/x509"
	"encoding/pem"
	pivgo "github.com/go-piv/piv-go/v2/piv"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pcsc11/pcsc11/vpiv"
)

const testMgmtKey = "010203040506070801020304050607080102030405060708"

// persoApp is the CLI on a fresh demo card of its own (these commands change it), with
// env as its environment.
func persoApp(t *testing.T, env map[string]string) (*testApp, *fakePCSC) {
	t.Helper()
	card, err := vpiv.New(vpiv.Options{Serial: 12345678})
	if err == nil {
		err = card.Provision("demo")
	}
	if err != nil {
		t.Fatal(err)
	}
	f := newFakePCSC()
	f.attach(plainReader)
	f.insert(plainReader, card)
	ta := newTestApp(f)
	ta.getenv = func(k string) string { return env[k] }
	return ta, f
}

func TestKeygenAttestDelete(t *testing.T) {
	ta, _ := persoApp(t, map[string]string{"PCSC11_SO_PIN": testMgmtKey})
	if code := ta.run(t, "keygen", "--id", "01", "--type", "p384", "--pin-policy", "always"); code != 0 {
		t.Fatalf("keygen: exit %d: %s", code, ta.errb.String())
	}
	blk, _ := pem.Decode([]byte(ta.out.String()))
	if blk == nil || blk.Type != "PUBLIC KEY" {
		t.Fatalf("keygen printed no public key: %q", ta.out.String())
	}
	if _, err := x509.ParsePKIXPublicKey(blk.Bytes); err != nil {
		t.Fatalf("keygen's public key: %v", err)
	}

	roots := filepath.Join(t.TempDir(), "root.pem")
	if err := os.WriteFile(roots, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: vpiv.AttestationRoot().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	ta.out.b.Reset()
	if code := ta.run(t, "attest", "--id", "01", "--roots", roots); code != 0 {
		t.Fatalf("attest: exit %d: %s", code, ta.errb.String())
	}
	if !strings.Contains(ta.out.String(), "slot 9a generated on the card") || !strings.Contains(ta.out.String(), "PIN policy always") {
		t.Errorf("attest output: %q", ta.out.String())
	}
	// Without the virtual root, the attestation must not verify.
	if code := ta.run(t, "attest", "--id", "01"); code != 1 {
		t.Errorf("attest against Yubico's roots: exit %d, want 1", code)
	}

	ta.out.b.Reset()
	if code := ta.run(t, "delete", "--id", "01", "--key"); code != 0 {
		t.Fatalf("delete: exit %d: %s", code, ta.errb.String())
	}
	if !strings.Contains(ta.out.String(), "deleted") {
		t.Errorf("delete output: %q", ta.out.String())
	}
	if code := ta.run(t, "delete", "--id", "01", "--key"); code != 1 {
		t.Errorf("second delete: exit %d, want 1 (nothing left)", code)
	}
}

func TestPersonalizationRefusals(t *testing.T) {
	ta, _ := persoApp(t, map[string]string{"PCSC11_SO_PIN": "ff" + testMgmtKey[2:]})
	for _, tc := range []struct {
		args []string
		code int
		err  string
	}{
		{[]string{"init-token", "--label", "x"}, 1, "init-token"},        // wrong management key
		{[]string{"keygen", "--id", "01", "--type", "p256"}, 1, "login"}, // wrong management key
		{[]string{"keygen", "--id", "01", "--type", "dsa"}, 2, "--type"},
		{[]string{"keygen", "--type", "p256"}, 2, "--id"},
		{[]string{"keygen", "--id", "0101", "--type", "p256"}, 2, "one byte"},
		{[]string{"keygen", "--id", "01", "--type", "p256", "--pin-policy", "sometimes"}, 2, "policy"},
		{[]string{"init-token"}, 2, "usage"},
		{[]string{"set-pin", "--puk", "--mgmt-key"}, 2, "usage"},
		{[]string{"import", "--id", "01"}, 2, "usage"},
	} {
		ta.errb.b.Reset()
		if code := ta.run(t, tc.args...); code != tc.code || !strings.Contains(ta.errb.String(), tc.err) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tc.args, code, ta.errb.String(), tc.code, tc.err)
		}
	}
	// The wrong management key changed nothing: the demo keys are still there.
	ta.out.b.Reset()
	if code := ta.run(t, "objects"); code != 0 || !strings.Contains(ta.out.String(), "id=01") {
		t.Errorf("objects after the refusals: exit %d: %q", code, ta.out.String())
	}
}

func TestSecretSources(t *testing.T) {
	ta, _ := persoApp(t, map[string]string{"PCSC11_PIN": "from-env"})
	got, err := ta.readSecret(secretSource{env: "PCSC11_PIN", prompt: "PIN"})
	if err != nil || string(got) != "from-env" {
		t.Errorf("env: %q, %v", got, err)
	}
	file := filepath.Join(t.TempDir(), "puk")
	if err := os.WriteFile(file, []byte("12345678\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err = ta.readSecret(secretSource{env: "PCSC11_PUK", file: file, prompt: "PUK"})
	if err != nil || string(got) != "12345678" {
		t.Errorf("file: %q, %v", got, err)
	}
	if _, err := ta.readSecret(secretSource{env: "PCSC11_PUK", file: file + ".missing", prompt: "PUK"}); err == nil {
		t.Error("a missing secret file was accepted")
	}
}

// The policy tables serve the keygen flags (ykcs11 numbers) and piv-go's attestation
// fields alike: the numbers must agree.
func TestPolicyNumbering(t *testing.T) {
	for _, c := range []struct {
		got, want string
	}{
		{policyName(int(pivgo.PINPolicyNever), pinPolicyNames), "never"},
		{policyName(int(pivgo.PINPolicyOnce), pinPolicyNames), "once"},
		{policyName(int(pivgo.PINPolicyAlways), pinPolicyNames), "always"},
		{policyName(int(pivgo.TouchPolicyNever), touchPolicyNames), "never"},
		{policyName(int(pivgo.TouchPolicyAlways), touchPolicyNames), "always"},
		{policyName(int(pivgo.TouchPolicyCached), touchPolicyNames), "cached"},
		{policyName(int(pivgo.PINPolicyMatchAlways), pinPolicyNames), "5"},
	} {
		if c.got != c.want {
			t.Errorf("policy name %q, want %q", c.got, c.want)
		}
	}
	if v, set, err := policyValue("always", pinPolicyNames); err != nil || !set || v != 3 {
		t.Errorf("--pin-policy always: %d %t %v, want 3 (CKA_YUBICO_PIN_POLICY always)", v, set, err)
	}
	if v, set, err := policyValue("cached", touchPolicyNames); err != nil || !set || v != 3 {
		t.Errorf("--touch-policy cached: %d %t %v, want 3", v, set, err)
	}
	if _, _, err := policyValue("once", touchPolicyNames); err == nil {
		t.Error("a PIN policy name was accepted as a touch policy")
	}
}
