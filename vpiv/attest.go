package vpiv

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"math/big"
	"sync"
	"time"

	"github.com/pcsc11/pcsc11/apdu"
)

// Attestation: the card's F9 key, certified at "factory time" by a virtual root CA,
// signs certificates for keys generated on the card. Certificates follow Yubico's PIV
// attestation format (https://developers.yubico.com/PIV/Introduction/PIV_attestation.html)
// so piv-go's Verifier, given AttestationRoot in its Roots, accepts them.

// Yubico attestation extension OIDs (1.3.6.1.4.1.41482.3.x).
var (
	oidFirmware   = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 41482, 3, 3}
	oidSerial     = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 41482, 3, 7}
	oidPolicy     = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 41482, 3, 8}
	oidFormFactor = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 41482, 3, 9}
)

// formFactorUSBAKeychain is the form factor the card claims (YubiKey 5 NFC).
const formFactorUSBAKeychain = 0x01

// rootSeed fixes the root CA key, so every process and test knows the same root.
const rootSeed = "pcsc11 vpiv attestation root CA, v1"

var (
	notBefore = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	notAfter  = time.Date(2099, 12, 31, 23, 59, 59, 0, time.UTC)
)

var root struct {
	once sync.Once
	key  ed25519.PrivateKey
	cert *x509.Certificate
}

// rootCA builds the root once. Ed25519 signatures are deterministic, so the root
// certificate is byte-identical everywhere.
func rootCA() (ed25519.PrivateKey, *x509.Certificate) {
	root.once.Do(func() {
		seed := sha256.Sum256([]byte(rootSeed))
		key := ed25519.NewKeyFromSeed(seed[:])
		tmpl := &x509.Certificate{
			SerialNumber:          big.NewInt(1),
			Subject:               pkix.Name{CommonName: "pcsc11 Virtual PIV Attestation Root CA", Organization: []string{"pcsc11"}},
			NotBefore:             time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC),
			NotAfter:              notAfter,
			KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
			BasicConstraintsValid: true,
			IsCA:                  true,
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
		if err != nil {
			panic(fmt.Sprintf("vpiv: root CA: %v", err))
		}
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			panic(fmt.Sprintf("vpiv: root CA: %v", err))
		}
		root.key, root.cert = key, cert
	})
	return root.key, root.cert
}

// AttestationRoot returns the virtual root CA that issues every virtual card's
// attestation (F9) certificate. Its key derives from a fixed seed: the certificate is
// the same in every process.
func AttestationRoot() *x509.Certificate {
	_, cert := rootCA()
	return cert
}

// makeAttestationKey creates the F9 key (P-256) and its CA certificate, stored in
// 5FFF01 as a PIV certificate container.
func (c *Card) makeAttestationKey() error {
	rootKey, rootCert := rootCA()
	key, err := ecdsa.GenerateKey(elliptic.P256(), c.rand)
	if err != nil {
		return err
	}
	serial := new(big.Int).SetBytes(c.random(16))
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "pcsc11 Virtual PIV Attestation", Organization: []string{"pcsc11"}},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(c.rand, tmpl, rootCert, &key.PublicKey, rootKey)
	if err != nil {
		return fmt.Errorf("vpiv: attestation certificate: %w", err)
	}
	c.st.keys[refAttestation] = &slotKey{alg: algECP256, pinPolicy: pinNever, touchPolicy: touchNever,
		origin: originImported, priv: key}
	c.st.objects[objAttestation] = certContainer(der)
	return nil
}

// certContainer is the PIV certificate object content: 70 cert, 71 CertInfo 00
// (uncompressed), FE error detection code (SP 800-73-4 Part 1 Table 10).
func certContainer(der []byte) []byte {
	b := apdu.EncodeTLV(0x70, der)
	b = apdu.AppendTLV(b, 0x71, []byte{0x00})
	return apdu.AppendTLV(b, 0xFE, nil)
}

// attestationSigner returns the F9 key and certificate, or false when unusable.
func (c *Card) attestationSigner() (crypto.Signer, *x509.Certificate, bool) {
	k := c.st.keys[refAttestation]
	obj, ok := c.st.objects[objAttestation]
	if k == nil || !ok {
		return nil, nil, false
	}
	signer, ok := k.priv.(crypto.Signer)
	if !ok {
		return nil, nil, false
	}
	der, found, err := apdu.Find(obj, 0x70)
	if err != nil || !found {
		return nil, nil, false
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, false
	}
	return signer, cert, true
}

// attest implements ATTEST: 00 F9 <key> 00 → DER certificate for a key generated on
// the card, signed by F9. Imported keys and empty slots answer 6A80.
func (c *Card) attest(cmd apdu.Command) ([]byte, uint16) {
	if cmd.P2 != 0 || !c.keyRef(cmd.P1) {
		return nil, apdu.SWIncorrectP1P2
	}
	k := c.st.keys[cmd.P1]
	if k == nil || k.origin != originGenerated || cmd.P1 == refAttestation {
		return nil, apdu.SWIncorrectData
	}
	signer, issuer, ok := c.attestationSigner()
	if !ok {
		return nil, apdu.SWIncorrectData
	}
	serialDER, err := asn1.Marshal(int64(c.st.serial))
	if err != nil {
		return nil, apdu.SWUnknown
	}
	tmpl := &x509.Certificate{
		SerialNumber: new(big.Int).SetBytes(c.random(16)),
		Subject:      pkix.Name{CommonName: fmt.Sprintf("YubiKey PIV Attestation %02x", cmd.P1)},
		NotBefore:    issuer.NotBefore,
		NotAfter:     issuer.NotAfter,
		ExtraExtensions: []pkix.Extension{
			{Id: oidFirmware, Value: append([]byte(nil), c.prof.Version[:]...)},
			{Id: oidSerial, Value: serialDER},
			{Id: oidPolicy, Value: []byte{k.pinPolicy, k.touchPolicy}},
			{Id: oidFormFactor, Value: []byte{formFactorUSBAKeychain}},
		},
	}
	der, err := createCertificate(c.rand, tmpl, issuer, publicKey(k.priv), signer)
	if err != nil {
		return nil, apdu.SWIncorrectData
	}
	return der, apdu.SWOK
}
