package hwtests

import (
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// PKCS#11 through other people's modules (OpenSC, Yubico's ykcs11), driven by
// OpenSC's pkcs11-tool and checked with OpenSSL.

// p11 runs pkcs11-tool on one module, pinned to the reader under test.
func p11(t *testing.T, module, reader string, args ...string) string {
	t.Helper()
	return runTool(t, "pkcs11-tool", append([]string{"--module", module, "--slot-description", reader}, args...)...)
}

// p11SignVerify signs with the key of CKA_ID id, reads the certificate of the same
// id through the module, and has OpenSSL verify the signature, and refuse it for
// altered data (so a broken verify cannot pass).
func p11SignVerify(t *testing.T, module, reader, id, mech string) {
	t.Helper()
	dir := t.TempDir()
	data, sig, certDER, pubPEM := filepath.Join(dir, "data"), filepath.Join(dir, "sig"), filepath.Join(dir, "cert.der"), filepath.Join(dir, "pub.pem")
	if err := os.WriteFile(data, []byte("pcsc11 hwtest: signed by "+id+" with "+mech+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"--login", "--pin", demoPIN, "--id", id, "--sign", "-m", mech, "-i", data, "-o", sig}
	if strings.HasPrefix(mech, "ECDSA") {
		args = append(args, "--signature-format", "openssl")
	}
	p11(t, module, reader, args...)
	p11(t, module, reader, "--read-object", "--type", "cert", "--id", id, "-o", certDER)
	cert := parseCertFile(t, certDER)
	pkix, err := x509.MarshalPKIXPublicKey(cert.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	writePEM(t, pubPEM, "PUBLIC KEY", pkix)
	out := runTool(t, "openssl", "dgst", "-sha256", "-verify", pubPEM, "-signature", sig, data)
	if strings.TrimSpace(out) != "Verified OK" {
		t.Fatalf("openssl: %q", out)
	}
	if err := os.WriteFile(data, []byte("altered\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, _, err := runToolErr("openssl", "dgst", "-sha256", "-verify", pubPEM, "-signature", sig, data); err == nil {
		t.Fatalf("openssl accepted the signature over altered data: %q", out)
	}
}

func TestOpenSC(t *testing.T) {
	r := needCard(t)
	needTool(t, "pkcs11-tool")
	needTool(t, "openssl")
	needFile(t, openscModule)
	slots := runTool(t, "pkcs11-tool", "--module", openscModule, "-L")
	mustContain(t, "OpenSC slot list", slots, ": "+r+"\n", "token flags        : login required, rng, token initialized, PIN initialized")
	if !tgt.demo {
		return
	}
	objs := p11(t, openscModule, r, "-O")
	mustContain(t, "OpenSC objects", objs,
		"Certificate Object; type = X.509 cert\n  label:      Certificate for PIV Authentication\n  subject:    DN: O=pcsc11, CN=pcsc11 demo PIV Authentication\n",
		"Certificate Object; type = X.509 cert\n  label:      Certificate for Digital Signature\n",
		"Certificate Object; type = X.509 cert\n  label:      Certificate for Key Management\n",
		"Certificate Object; type = X.509 cert\n  label:      Certificate for Card Authentication\n",
		"Public Key Object; RSA 2048 bits\n  label:      PIV AUTH pubkey\n  ID:         01\n",
		"Public Key Object; EC  EC_POINT 256 bits\n",
		"label:      SIGN pubkey\n  ID:         02\n",
		"Private Key Object; EC\n  label:      CARD AUTH key\n  ID:         04\n",
		"label:          'Card Holder Unique Identifier'",
		"label:          'Card Capability Container'")
	t.Run("RSA-9A", func(t *testing.T) { p11SignVerify(t, openscModule, r, "01", "SHA256-RSA-PKCS") })
	// 9C has PIN policy "always": the module must log in again (CKA_ALWAYS_AUTHENTICATE).
	t.Run("ECDSA-9C", func(t *testing.T) { p11SignVerify(t, openscModule, r, "02", "ECDSA-SHA256") })
	t.Run("RSA-PSS-9D", func(t *testing.T) { p11SignVerifyPSS(t, openscModule, r, "03") })
	t.Run("ECDSA-9E", func(t *testing.T) { p11SignVerify(t, openscModule, r, "04", "ECDSA-SHA256") })
}

// p11SignVerifyPSS covers raw RSA on the card with PSS padding done by the module.
func p11SignVerifyPSS(t *testing.T, module, reader, id string) {
	t.Helper()
	dir := t.TempDir()
	data, sig, certDER, pubPEM := filepath.Join(dir, "data"), filepath.Join(dir, "sig"), filepath.Join(dir, "cert.der"), filepath.Join(dir, "pub.pem")
	if err := os.WriteFile(data, []byte("pcsc11 hwtest: PSS\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p11(t, module, reader, "--login", "--pin", demoPIN, "--id", id, "--sign", "-m", "SHA256-RSA-PKCS-PSS",
		"--mgf", "MGF1-SHA256", "--salt-len", "-1", "-i", data, "-o", sig)
	p11(t, module, reader, "--read-object", "--type", "cert", "--id", id, "-o", certDER)
	pkix, err := x509.MarshalPKIXPublicKey(parseCertFile(t, certDER).PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	writePEM(t, pubPEM, "PUBLIC KEY", pkix)
	out := runTool(t, "openssl", "dgst", "-sha256", "-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:-1",
		"-verify", pubPEM, "-signature", sig, data)
	if strings.TrimSpace(out) != "Verified OK" {
		t.Fatalf("openssl: %q", out)
	}
}

func TestYKCS11(t *testing.T) {
	r := needCard(t)
	needTool(t, "pkcs11-tool")
	needTool(t, "openssl")
	needFile(t, ykcs11Module)
	needTool(t, "yubico-piv-tool") // to cross-check the serial
	if !strings.Contains(strings.ToLower(r), "yubico") {
		t.Skipf("ykcs11 only uses readers named Yubico...; %q is not (start hwtests/rig.sh with PCSC11_RIG_READERCONF=yubico)", r)
	}
	slots := runTool(t, "pkcs11-tool", "--module", ykcs11Module, "-L")
	mustContain(t, "ykcs11 slot list", slots, ": "+r+"\n", "token manufacturer : Yubico (www.yubico.com)")
	if !strings.Contains(slots, "firmware version   : 5.7") {
		t.Errorf("ykcs11 does not report firmware 5.7:\n%s", slots)
	}
	if tgt.demo {
		mustContain(t, "ykcs11 slot list", slots, "token label        : YubiKey PIV #12345678\n", "serial num         : 12345678\n")
	}
	if serial := yptSerial(t, r); !strings.Contains(slots, "serial num         : "+serial+"\n") {
		t.Errorf("ykcs11 and yubico-piv-tool disagree on the serial (%s):\n%s", serial, slots)
	}
	if !tgt.demo {
		return
	}
	objs := p11(t, ykcs11Module, r, "--login", "--pin", demoPIN, "-O")
	mustContain(t, "ykcs11 objects", objs,
		"Certificate Object; type = X.509 cert\n  label:      X.509 Certificate for PIV Authentication\n  subject:    DN: O=pcsc11, CN=pcsc11 demo PIV Authentication\n",
		"Certificate Object; type = X.509 cert\n  label:      X.509 Certificate for Digital Signature\n  subject:    DN: O=pcsc11, CN=pcsc11 demo Digital Signature\n",
		"Certificate Object; type = X.509 cert\n  label:      X.509 Certificate for Key Management\n  subject:    DN: O=pcsc11, CN=pcsc11 demo Key Management\n",
		"Certificate Object; type = X.509 cert\n  label:      X.509 Certificate for Card Authentication\n  subject:    DN: O=pcsc11, CN=pcsc11 demo Card Authentication\n",
		// ykcs11 builds these from the card's attestation (INS F9) of generated keys.
		"label:      X.509 Certificate for PIV Attestation 9a\n  subject:    DN: CN=YubiKey PIV Attestation 9a\n",
		"label:      X.509 Certificate for PIV Attestation 9e\n  subject:    DN: CN=YubiKey PIV Attestation 9e\n",
		"Private Key Object; RSA \n  label:      Private key for PIV Authentication\n  ID:         01\n",
		"Private Key Object; EC\n  label:      Private key for Card Authentication\n  ID:         04\n",
		"Public Key Object; EC  EC_POINT 256 bits\n")
	t.Run("RSA-9A", func(t *testing.T) { p11SignVerify(t, ykcs11Module, r, "01", "SHA256-RSA-PKCS") })
	t.Run("ECDSA-9C", func(t *testing.T) { p11SignVerify(t, ykcs11Module, r, "02", "ECDSA-SHA256") })
	t.Run("RSA-PSS-9D", func(t *testing.T) { p11SignVerifyPSS(t, ykcs11Module, r, "03") })
	t.Run("ECDSA-9E", func(t *testing.T) { p11SignVerify(t, ykcs11Module, r, "04", "ECDSA-SHA256") })
}
