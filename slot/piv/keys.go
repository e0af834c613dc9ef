package piv

import (
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"errors"
	"fmt"
	"math/big"

	"github.com/pcsc11/pcsc11/apdu"
)

// PIV algorithm identifiers (SP 800-78-4 table 6-2; Yubico for 3072/4096/Ed25519/X25519).
const (
	algRSA1024 = 0x06
	algRSA2048 = 0x07
	algRSA3072 = 0x05
	algRSA4096 = 0x16
	algP256    = 0x11
	algP384    = 0x14
	algEd25519 = 0xE0
	algX25519  = 0xE1
	alg3DES    = 0x03
	algAES128  = 0x08
	algAES192  = 0x0A
	algAES256  = 0x0C
)

// YubiKey PIN policies and key origins (GET METADATA tags 02 and 03).
const (
	pinPolicyNever  = 0x01
	pinPolicyOnce   = 0x02
	pinPolicyAlways = 0x03
	originGenerated = 0x01
	originImported  = 0x02
)

// metadata is a YubiKey GET METADATA answer (firmware 5.3+).
type metadata struct {
	alg         byte
	pinPolicy   byte // 0 when absent
	touchPolicy byte
	origin      byte
	publicKey   []byte // the 04 template: 81/82 or 86
	isDefault   bool
	retries     [2]int // total, remaining
	hasRetries  bool
}

// getMetadata reads GET METADATA 00 F7 00 <ref>. An empty slot is apdu.IsNotFound; an
// answer that does not parse is errBadMetadata.
func (t *Token) getMetadata(ref byte) (*metadata, error) {
	out, err := t.exchange(apdu.Command{INS: insGetMetadata, P2: ref, Ne: apdu.MaxExtendNe})
	if err != nil {
		return nil, err
	}
	m, err := parseMetadata(out)
	if err != nil {
		return nil, fmt.Errorf("%w (%v)", errBadMetadata, err)
	}
	return m, nil
}

// errBadMetadata is a GET METADATA answer that does not parse.
var errBadMetadata = errors.New("piv: malformed metadata")

// metadataUnknown reports a GET METADATA failure that only means the card does not
// tell: a status word (the card refuses the command for ref), or an answer that does
// not parse (logged once: a firmware's odd answer must not make the whole token
// unusable; the callers fall back to what they do without metadata). A transport
// failure is not: it is the caller's error.
func (t *Token) metadataUnknown(ref byte, err error) bool {
	if errors.Is(err, errBadMetadata) {
		// skipBad logs once per object tag; F7 (the instruction) + ref names this answer
		// apart from the data objects and from the slot's parsed metadata (ref alone).
		t.skipBad(0xF70000|uint32(ref), "GET METADATA answer", err)
		return true
	}
	_, isSW := apdu.SW(err)
	return isSW
}

func parseMetadata(b []byte) (*metadata, error) {
	tlvs, err := apdu.ParseAll(b)
	if err != nil {
		return nil, fmt.Errorf("piv: metadata: %w", err)
	}
	m := &metadata{}
	for _, e := range tlvs {
		switch e.Tag {
		case 0x01:
			if len(e.Value) != 1 {
				return nil, errors.New("piv: metadata: bad algorithm")
			}
			m.alg = e.Value[0]
		case 0x02:
			if len(e.Value) < 1 || len(e.Value) > 2 {
				return nil, errors.New("piv: metadata: bad policy")
			}
			m.pinPolicy = e.Value[0]
			if len(e.Value) == 2 {
				m.touchPolicy = e.Value[1]
			}
		case 0x03:
			if len(e.Value) != 1 {
				return nil, errors.New("piv: metadata: bad origin")
			}
			m.origin = e.Value[0]
		case 0x04:
			m.publicKey = e.Value
		case 0x05:
			if len(e.Value) != 1 {
				return nil, errors.New("piv: metadata: bad default flag")
			}
			m.isDefault = e.Value[0] == 1
		case 0x06:
			if len(e.Value) != 2 {
				return nil, errors.New("piv: metadata: bad retries")
			}
			m.retries = [2]int{int(e.Value[0]), int(e.Value[1])}
			m.hasRetries = true
		}
	}
	return m, nil
}

// parsePublicKey decodes a PIV public key template (7F49 content, or the 04 metadata
// value): 81 modulus + 82 exponent for RSA, 86 point for EC, Ed25519 and X25519.
func parsePublicKey(alg byte, b []byte) (crypto.PublicKey, error) {
	tlvs, err := apdu.ParseAll(b)
	if err != nil {
		return nil, fmt.Errorf("piv: public key: %w", err)
	}
	var n, e, point []byte
	for _, v := range tlvs {
		switch v.Tag {
		case 0x81:
			n = v.Value
		case 0x82:
			e = v.Value
		case 0x86:
			point = v.Value
		}
	}
	switch alg {
	case algRSA1024, algRSA2048, algRSA3072, algRSA4096:
		if len(n) == 0 || len(e) == 0 || len(e) > 8 || n[0] == 0 {
			return nil, errors.New("piv: public key: bad RSA template")
		}
		pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n)}
		ev := new(big.Int).SetBytes(e)
		if !ev.IsInt64() || ev.Int64() < 3 || ev.Int64() > 1<<31-1 || ev.Bit(0) == 0 {
			return nil, errors.New("piv: public key: bad RSA exponent")
		}
		pub.E = int(ev.Int64())
		if pub.N.BitLen() != rsaBits(alg) {
			return nil, errors.New("piv: public key: modulus size does not match algorithm")
		}
		return pub, nil
	case algP256, algP384:
		curve := elliptic.P256()
		if alg == algP384 {
			curve = elliptic.P384()
		}
		pub, err := ecdsa.ParseUncompressedPublicKey(curve, point)
		if err != nil {
			return nil, fmt.Errorf("piv: public key: %w", err)
		}
		return pub, nil
	case algEd25519:
		if len(point) != ed25519.PublicKeySize {
			return nil, errors.New("piv: public key: bad Ed25519 key")
		}
		return ed25519.PublicKey(append([]byte(nil), point...)), nil
	case algX25519:
		pub, err := ecdh.X25519().NewPublicKey(point)
		if err != nil {
			return nil, fmt.Errorf("piv: public key: %w", err)
		}
		return pub, nil
	}
	return nil, fmt.Errorf("piv: public key: unsupported algorithm %02X", alg)
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

// algorithmOf gives the PIV algorithm of a public key (0 when the card cannot hold it).
func algorithmOf(pub crypto.PublicKey) byte {
	switch k := pub.(type) {
	case *rsa.PublicKey:
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
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			return algP256
		case elliptic.P384():
			return algP384
		}
	case ed25519.PublicKey:
		return algEd25519
	case *ecdh.PublicKey:
		if k.Curve() == ecdh.X25519() {
			return algX25519
		}
	}
	return 0
}

// ecSize is the byte size of the field/order for an EC algorithm.
func ecSize(alg byte) int {
	switch alg {
	case algP256:
		return 32
	case algP384:
		return 48
	case algEd25519, algX25519:
		return 32
	}
	return 0
}
