package vpiv

import (
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"fmt"
	"math/big"

	"github.com/pcsc11/pcsc11/apdu"
)

// Algorithm identifiers (SP 800-78-4 Table 6-2, Yubico extensions for RSA-3072/4096,
// Ed25519 and X25519 on 5.7).
const (
	alg3DES    = 0x03
	algAES128  = 0x08
	algAES192  = 0x0A
	algAES256  = 0x0C
	algRSA1024 = 0x06
	algRSA2048 = 0x07
	algRSA3072 = 0x05
	algRSA4096 = 0x16
	algECP256  = 0x11
	algECP384  = 0x14
	algEd25519 = 0xE0
	algX25519  = 0xE1
	algPIN     = 0xFF // GET METADATA "algorithm" of the PIN and PUK
)

// PIN and touch policies (Yubico extensions); 00 asks for the slot's default.
const (
	pinDefault = 0x00
	pinNever   = 0x01
	pinOnce    = 0x02
	pinAlways  = 0x03

	touchDefault = 0x00
	touchNever   = 0x01
	touchAlways  = 0x02
	touchCached  = 0x03
)

// Key origins reported by GET METADATA.
const (
	originGenerated = 0x01
	originImported  = 0x02
)

// Key references (SP 800-73-4 Part 1 Table 4; F9 = YubiKey attestation).
const (
	refMgmt        = 0x9B
	refAuth        = 0x9A
	refSign        = 0x9C
	refKeyMgmt     = 0x9D
	refCardAuth    = 0x9E
	refAttestation = 0xF9
)

// slotKey is a private key with its YubiKey attributes.
type slotKey struct {
	alg         byte
	pinPolicy   byte
	touchPolicy byte
	origin      byte
	// priv is *rsa.PrivateKey, *ecdsa.PrivateKey, ed25519.PrivateKey or
	// *ecdh.PrivateKey (X25519).
	priv crypto.PrivateKey
}

// userKeyRef: the slots a user key may live in (generate, sign, move): 9A, 9C, 9D, 9E
// and the retired key management slots 82..95.
func userKeyRef(ref byte) bool {
	switch ref {
	case refAuth, refSign, refKeyMgmt, refCardAuth:
		return true
	}
	return ref >= 0x82 && ref <= 0x95
}

// keyRef: user slots plus the attestation slot F9 (import, metadata).
func keyRef(ref byte) bool { return userKeyRef(ref) || ref == refAttestation }

// keyRef is keyRef on this card: F9 exists only where the profile has attestation.
func (c *Card) keyRef(ref byte) bool {
	return userKeyRef(ref) || (ref == refAttestation && c.prof.Attestation)
}

// defaultPINPolicy per slot on a YubiKey: 9C always, 9E never, others once.
func defaultPINPolicy(ref byte) byte {
	switch ref {
	case refSign:
		return pinAlways
	case refCardAuth, refAttestation:
		return pinNever
	}
	return pinOnce
}

func rsaBits(alg byte) int {
	switch alg {
	case algRSA1024:
		return 1024
	case algRSA2048:
		return 2048
	case algRSA3072:
		return 3072
	case algRSA4096:
		return 4096
	}
	return 0
}

func ecCurve(alg byte) elliptic.Curve {
	switch alg {
	case algECP256:
		return elliptic.P256()
	case algECP384:
		return elliptic.P384()
	}
	return nil
}

func ecdhCurve(alg byte) ecdh.Curve {
	switch alg {
	case algECP256:
		return ecdh.P256()
	case algECP384:
		return ecdh.P384()
	case algX25519:
		return ecdh.X25519()
	}
	return nil
}

func asymmetricAlg(alg byte) bool {
	return rsaBits(alg) != 0 || ecCurve(alg) != nil || alg == algEd25519 || alg == algX25519
}

// generateKey makes a new private key of alg.
func (c *Card) generateKey(alg byte) (crypto.PrivateKey, error) {
	switch {
	case rsaBits(alg) != 0:
		k, err := rsa.GenerateKey(c.rand, rsaBits(alg))
		if err != nil {
			return nil, err
		}
		k.Precompute()
		return k, nil
	case ecCurve(alg) != nil:
		return ecdsa.GenerateKey(ecCurve(alg), c.rand)
	case alg == algEd25519:
		_, k, err := ed25519.GenerateKey(c.rand)
		return k, err
	case alg == algX25519:
		return ecdh.X25519().GenerateKey(c.rand)
	}
	return nil, fmt.Errorf("vpiv: algorithm %02X cannot be generated", alg)
}

// algOf reports the PIV algorithm of a private key, 0 when it fits none.
func algOf(priv crypto.PrivateKey) byte {
	switch k := priv.(type) {
	case *rsa.PrivateKey:
		switch k.N.BitLen() {
		case 1024:
			return algRSA1024
		case 2048:
			return algRSA2048
		case 3072:
			return algRSA3072
		case 4096:
			return algRSA4096
		}
	case *ecdsa.PrivateKey:
		switch k.Curve {
		case elliptic.P256():
			return algECP256
		case elliptic.P384():
			return algECP384
		}
	case ed25519.PrivateKey:
		return algEd25519
	case *ecdh.PrivateKey:
		if k.Curve() == ecdh.X25519() {
			return algX25519
		}
	}
	return 0
}

// publicKey returns the crypto.PublicKey of a slot key.
func publicKey(priv crypto.PrivateKey) crypto.PublicKey {
	switch k := priv.(type) {
	case *rsa.PrivateKey:
		return &k.PublicKey
	case *ecdsa.PrivateKey:
		return &k.PublicKey
	case ed25519.PrivateKey:
		return k.Public()
	case *ecdh.PrivateKey:
		return k.PublicKey()
	}
	return nil
}

// publicKeyTLVs encodes the public key as in the GENERATE answer (SP 800-73-4 Part 2
// §3.3.2): RSA 81 modulus 82 exponent; EC 86 uncompressed point; Ed25519/X25519 86 the
// 32-byte key. The caller wraps it in 7F49 (generate) or 04 (metadata).
func publicKeyTLVs(priv crypto.PrivateKey) []byte {
	switch k := priv.(type) {
	case *rsa.PrivateKey:
		b := apdu.EncodeTLV(0x81, k.N.Bytes())
		return apdu.AppendTLV(b, 0x82, big.NewInt(int64(k.E)).Bytes())
	case *ecdsa.PrivateKey:
		pub, err := k.PublicKey.ECDH()
		if err != nil {
			panic(err)
		}
		return apdu.EncodeTLV(0x86, pub.Bytes())
	case ed25519.PrivateKey:
		return apdu.EncodeTLV(0x86, k.Public().(ed25519.PublicKey))
	case *ecdh.PrivateKey:
		return apdu.EncodeTLV(0x86, k.PublicKey().Bytes())
	}
	panic("vpiv: unknown key type")
}

// policyArgs reads the optional AA (PIN policy) and AB (touch policy) elements, each
// one byte; 00 means the slot default. Biometric policies are not emulated.
func policyArgs(ref byte, aa, ab []byte, hasAA, hasAB bool) (pp, tp byte, ok bool) {
	pp, tp = pinDefault, touchDefault
	if hasAA {
		if len(aa) != 1 || aa[0] > pinAlways {
			return 0, 0, false
		}
		pp = aa[0]
	}
	if hasAB {
		if len(ab) != 1 || ab[0] > touchCached {
			return 0, 0, false
		}
		tp = ab[0]
	}
	if pp == pinDefault {
		pp = defaultPINPolicy(ref)
	}
	if tp == touchDefault {
		tp = touchNever
	}
	return pp, tp, true
}

// templateElements parses b as exactly one template of the given tag and returns its
// elements.
func templateElements(b []byte, tag uint32) (map[uint32][]byte, bool) {
	t, rest, err := apdu.ParseTLV(b)
	if err != nil || len(rest) != 0 || t.Tag != tag {
		return nil, false
	}
	return elements(t.Value)
}

// elements maps a TLV sequence by tag; a repeated tag is malformed.
func elements(b []byte) (map[uint32][]byte, bool) {
	list, err := apdu.ParseAll(b)
	if err != nil {
		return nil, false
	}
	m := make(map[uint32][]byte, len(list))
	for _, t := range list {
		if _, dup := m[t.Tag]; dup {
			return nil, false
		}
		m[t.Tag] = t.Value
	}
	return m, true
}

// generate implements GENERATE ASYMMETRIC KEY PAIR (SP 800-73-4 Part 2 §3.3.2):
// 00 47 00 <key>, data AC { 80 alg [AA pin policy] [AB touch policy] }.
func (c *Card) generate(cmd apdu.Command) ([]byte, uint16) {
	if cmd.P1 != 0x00 || !userKeyRef(cmd.P2) {
		return nil, apdu.SWIncorrectP1P2
	}
	if !c.mgmtAuth {
		return nil, apdu.SWSecurityNotSatisfied
	}
	el, ok := templateElements(cmd.Data, 0xAC)
	if !ok {
		return nil, apdu.SWIncorrectData
	}
	for tag := range el {
		if tag != 0x80 && tag != 0xAA && tag != 0xAB {
			return nil, apdu.SWIncorrectData
		}
	}
	algV, ok := el[0x80]
	if !ok || len(algV) != 1 || !asymmetricAlg(algV[0]) || !c.prof.supportsAlg(algV[0]) {
		return nil, apdu.SWIncorrectData
	}
	aa, hasAA := el[0xAA]
	ab, hasAB := el[0xAB]
	pp, tp, ok := policyArgs(cmd.P2, aa, ab, hasAA, hasAB)
	if !ok {
		return nil, apdu.SWIncorrectData
	}
	priv, err := c.generateKey(algV[0])
	if err != nil {
		return nil, apdu.SWUnknown
	}
	c.st.keys[cmd.P2] = &slotKey{alg: algV[0], pinPolicy: pp, touchPolicy: tp, origin: originGenerated, priv: priv}
	c.dirty = true
	c.lastWork = Work{Kind: WorkKeygen, Alg: algV[0]}
	return apdu.EncodeTLV(0x7F49, publicKeyTLVs(priv)), apdu.SWOK
}
