package module

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"math/big"

	"github.com/pcsc11/pcsc11/ck"
)

// publicKey builds the software public key of a key object (public key, or the public
// half a private key object carries) for verification and encryption: from
// CKA_PUBLIC_KEY_INFO when present, else from the per-type attributes.
func publicKey(a map[ck.ULong]any) (crypto.PublicKey, bool) {
	if spki, ok := a[ck.CKA_PUBLIC_KEY_INFO].([]byte); ok && len(spki) > 0 {
		if k, err := x509.ParsePKIXPublicKey(spki); err == nil {
			return k, true
		}
	}
	keyType, _ := a[ck.CKA_KEY_TYPE].(ck.ULong)
	switch keyType {
	case ck.CKK_RSA:
		n, _ := a[ck.CKA_MODULUS].([]byte)
		e, _ := a[ck.CKA_PUBLIC_EXPONENT].([]byte)
		if len(n) == 0 || len(e) == 0 || len(e) > 8 {
			return nil, false
		}
		ev := new(big.Int).SetBytes(e)
		if !ev.IsInt64() || ev.Int64() < 3 || ev.Int64() > 1<<31-1 {
			return nil, false
		}
		return &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(ev.Int64())}, true
	case ck.CKK_EC:
		var curve elliptic.Curve
		switch ecOrderBits(a) {
		case 256:
			curve = elliptic.P256()
		case 384:
			curve = elliptic.P384()
		case 521:
			curve = elliptic.P521()
		case 224:
			curve = elliptic.P224()
		default:
			return nil, false
		}
		pt := ecPoint(a)
		k, err := ecdsa.ParseUncompressedPublicKey(curve, pt)
		if err != nil {
			return nil, false
		}
		return k, true
	case ck.CKK_EC_EDWARDS:
		pt := ecPoint(a)
		if len(pt) != ed25519.PublicKeySize {
			return nil, false
		}
		return ed25519.PublicKey(pt), true
	}
	return nil, false
}

// ecPoint returns CKA_EC_POINT without its DER OCTET STRING wrapping (spec: the point
// is DER-encoded; some tokens store it raw, accepted too).
func ecPoint(a map[ck.ULong]any) []byte {
	pt, _ := a[ck.CKA_EC_POINT].([]byte)
	var raw []byte
	if rest, err := asn1.Unmarshal(pt, &raw); err == nil && len(rest) == 0 {
		return raw
	}
	return pt
}
