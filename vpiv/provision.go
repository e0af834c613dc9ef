package vpiv

import (
	"crypto"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/pcsc11/pcsc11/apdu"
)

// demoSlots is what Provision("demo") puts on an empty card.
var demoSlots = []struct {
	ref  byte
	alg  byte
	obj  uint32
	name string
}{
	{refAuth, algRSA2048, objCertPIVAuth, "PIV Authentication"},
	{refSign, algECP256, objCertSign, "Digital Signature"},
	{refKeyMgmt, algRSA2048, objCertKeyMgmt, "Key Management"},
	{refCardAuth, algECP256, objCertCardAuth, "Card Authentication"},
}

// Provision loads profiles onto the card; several may be joined with "+"
// (e.g. "demo+3des").
//
//	"factory": nothing (the card as it leaves the factory).
//	"demo":    when 9A, 9C, 9D and 9E hold no key and no certificate: RSA-2048 in 9A
//	           and 9D, P-256 in 9C and 9E (written by the engine itself, as an issuer
//	           would: a standard PIV card has no IMPORT; default policies), a
//	           self-signed certificate "pcsc11 demo <slot name>" in each container, and
//	           a CHUID and CCC like ykman writes; on the piv profile also Printed
//	           Information, a Facial Image, Key History and a Security Object. A card
//	           that has any of the four keys or certificates is left alone.
//	"retired": P-256 keys and certificates in the first three retired slots (82-84)
//	           that are empty (provision_retired.go), without a Key History Object.
//	"keyhistory": a Key History Object that counts the retired slots' certificates.
//	"3des":    the management key becomes 3DES with the default value, as on YubiKeys
//	           before 5.7 (yubico-piv-tool/ykcs11 2.2 assume it) — only when the
//	           management key is still the factory AES-192 one.
//	"touch":   the keys in 9A and 9E (when there are) get touch policies, for tests
//	           of touch: 9A "cached", 9E "always". Put it after "demo". A real YubiKey
//	           fixes a key's policies when the key is made; this profile changes them
//	           in place, which only a test double may do.
func (c *Card) Provision(profile string) (err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	defer catch(&err)
	parts := strings.Split(profile, "+")
	for _, p := range parts {
		switch p {
		case "factory", "demo", "3des", "touch", "retired", "keyhistory":
		default:
			return fmt.Errorf("vpiv: unknown profile %q (want demo, retired, keyhistory, 3des, touch or factory)", p)
		}
	}
	for _, p := range parts {
		switch p {
		case "demo":
			err = c.provisionDemo()
		case "retired":
			err = c.provisionRetired()
		case "keyhistory":
			err = c.provisionKeyHistory()
		case "3des":
			if c.st.mgmtAlg == algAES192 && c.st.mgmtDefault && c.prof.supportsMgmtAlg(alg3DES) {
				c.st.mgmtAlg = alg3DES
			}
		case "touch":
			for ref, policy := range map[byte]byte{refAuth: touchCached, refCardAuth: touchAlways} {
				if k := c.st.keys[ref]; k != nil {
					k.touchPolicy = policy
				}
			}
		}
		if err != nil {
			return err
		}
	}
	if c.opts.StatePath != "" {
		return c.save()
	}
	return nil
}

func (c *Card) provisionDemo() error {
	for _, s := range demoSlots {
		if c.st.keys[s.ref] != nil {
			return nil
		}
		if _, ok := c.st.objects[s.obj]; ok {
			return nil
		}
	}
	keys := map[byte]*slotKey{}
	objs := map[uint32][]byte{}
	for _, s := range demoSlots {
		priv, err := c.generateKey(s.alg)
		if err != nil {
			return fmt.Errorf("vpiv: demo key %02X: %w", s.ref, err)
		}
		der, err := c.selfSigned(priv, "pcsc11 demo "+s.name)
		if err != nil {
			return fmt.Errorf("vpiv: demo certificate %02X: %w", s.ref, err)
		}
		keys[s.ref] = &slotKey{alg: s.alg, pinPolicy: defaultPINPolicy(s.ref), touchPolicy: touchNever,
			origin: originGenerated, priv: priv}
		objs[s.obj] = certContainer(der)
	}
	for ref, k := range keys {
		c.st.keys[ref] = k
	}
	for tag, v := range objs {
		c.st.objects[tag] = v
	}
	if _, ok := c.st.objects[objCHUID]; !ok {
		c.st.objects[objCHUID] = c.newCHUID()
	}
	if _, ok := c.st.objects[objCCC]; !ok {
		c.st.objects[objCCC] = c.newCCC()
	}
	if !c.prof.Yubico {
		c.provisionIssuerObjects()
	}
	return nil
}

// provisionIssuerObjects writes what an issuer puts on a standard PIV card besides
// keys and certificates (SP 800-73-4 Part 1 Appendix A): Printed Information, a
// Facial Image (both readable after the PIN), Key History and the Security Object.
// On a YubiKey 5FC109 holds ykman's PIN-protected management key instead, so these
// are written on the piv profile only.
func (c *Card) provisionIssuerObjects() {
	set := func(tag uint32, v []byte) {
		if _, ok := c.st.objects[tag]; !ok {
			c.st.objects[tag] = v
		}
	}
	// Printed Information (Table 13): 01 name, 02 employee affiliation, 04 expiration
	// date, 05 agency card serial number, 06 issuer identification, FE.
	pi := apdu.EncodeTLV(0x01, []byte("PCSC11 DEMO CARDHOLDER"))
	pi = apdu.AppendTLV(pi, 0x02, []byte("Virtual"))
	pi = apdu.AppendTLV(pi, 0x04, []byte("2099DEC31"))
	pi = apdu.AppendTLV(pi, 0x05, []byte("0000000001"))
	pi = apdu.AppendTLV(pi, 0x06, []byte("PCSC11 VIRTUAL ISSUER"))
	set(objPrinted, apdu.AppendTLV(pi, 0xFE, nil))
	// Cardholder Facial Image (Table 14): BC the CBEFF record (here a small
	// placeholder header and random bytes: no real image), FE.
	set(objFacial, apdu.AppendTLV(apdu.EncodeTLV(0xBC, append([]byte("pcsc11-demo-facial-image:"), c.random(64)...)), 0xFE, nil))
	// Key History (Table 19): C1 keys with on-card certificates, C2 with off-card
	// certificates (none retired), FE.
	kh := apdu.EncodeTLV(0xC1, []byte{0})
	kh = apdu.AppendTLV(kh, 0xC2, []byte{0})
	set(objKeyHistory, apdu.AppendTLV(kh, 0xFE, nil))
	// Security Object (Table 12): BA the mapping of data group numbers to container
	// IDs (1 CHUID 3000, 2 Facial Image 6030, 3 Printed Information 3001), BB the
	// LDS security object. A real issuer signs BB (CMS SignedData); this card has no
	// issuer key, so BB carries the unsigned digest list and says so.
	ba := []byte{0x01, 0x30, 0x00, 0x02, 0x60, 0x30, 0x03, 0x30, 0x01}
	so := apdu.EncodeTLV(0xBA, ba)
	so = apdu.AppendTLV(so, 0xBB, []byte("pcsc11 virtual card: unsigned security object"))
	set(objSecurity, apdu.AppendTLV(so, 0xFE, nil))
}

func (c *Card) selfSigned(priv crypto.PrivateKey, cn string) ([]byte, error) {
	signer, ok := priv.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("key cannot sign")
	}
	now := time.Now().UTC()
	tmpl := &x509.Certificate{
		SerialNumber: new(big.Int).SetBytes(c.random(16)),
		Subject:      pkix.Name{CommonName: cn, Organization: []string{"pcsc11"}},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.AddDate(10, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment | x509.KeyUsageKeyAgreement,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	return x509.CreateCertificate(c.rand, tmpl, tmpl, signer.Public(), signer)
}

// fascn is the FASC-N ykman and yubico-piv-tool put in generated CHUIDs (agency code
// 9999: "no agency", all other fields zero).
var fascn, _ = hex.DecodeString("d4e739da739ced39ce739d836858210842108421c84210c3eb")

// newCHUID builds a Card Holder Unique Identifier (SP 800-73-4 Part 1 Table 9):
// 30 FASC-N, 34 GUID, 35 expiration date, 3E signature (empty), FE EDC.
func (c *Card) newCHUID() []byte {
	b := apdu.EncodeTLV(0x30, fascn)
	b = apdu.AppendTLV(b, 0x34, c.random(16))
	b = apdu.AppendTLV(b, 0x35, []byte("20991231"))
	b = apdu.AppendTLV(b, 0x3E, nil)
	return apdu.AppendTLV(b, 0xFE, nil)
}

// newCCC builds a Card Capability Container (SP 800-73-4 Part 1 Table 8) with a random
// card identifier under the GSC-IS RID, as ykman does.
func (c *Card) newCCC() []byte {
	id := append([]byte{0xA0, 0x00, 0x00, 0x01, 0x16, 0xFF, 0x02}, c.random(14)...)
	b := apdu.EncodeTLV(0xF0, id)
	b = apdu.AppendTLV(b, 0xF1, []byte{0x21})
	b = apdu.AppendTLV(b, 0xF2, []byte{0x21})
	b = apdu.AppendTLV(b, 0xF3, nil)
	b = apdu.AppendTLV(b, 0xF4, []byte{0x00})
	b = apdu.AppendTLV(b, 0xF5, []byte{0x10})
	for _, t := range []uint32{0xF6, 0xF7, 0xFA, 0xFB, 0xFC, 0xFD, 0xFE} {
		b = apdu.AppendTLV(b, t, nil)
	}
	return b
}
