package vpiv

import (
	"bytes"
	"crypto"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"io"
)

// createCertificate is x509.CreateCertificate plus X25519 subject keys, which the
// standard library cannot certify: the certificate is made for an Ed25519 key with the
// same 32 bytes, the SubjectPublicKeyInfo (same length, only the algorithm OID differs,
// RFC 8410) is swapped in, and the TBSCertificate is signed again.
func createCertificate(rand io.Reader, tmpl, parent *x509.Certificate, pub crypto.PublicKey, signer crypto.Signer) ([]byte, error) {
	xk, ok := pub.(*ecdh.PublicKey)
	if !ok || xk.Curve() != ecdh.X25519() {
		return x509.CreateCertificate(rand, tmpl, parent, pub, signer)
	}
	stand := ed25519.PublicKey(xk.Bytes())
	der, err := x509.CreateCertificate(rand, tmpl, parent, stand, signer)
	if err != nil {
		return nil, err
	}
	fromSPKI, err := x509.MarshalPKIXPublicKey(stand)
	if err != nil {
		return nil, err
	}
	toSPKI, err := x509.MarshalPKIXPublicKey(xk)
	if err != nil {
		return nil, err
	}
	if len(fromSPKI) != len(toSPKI) {
		return nil, errors.New("vpiv: SPKI lengths differ")
	}
	var outer struct {
		TBS    asn1.RawValue
		SigAlg asn1.RawValue
		Sig    asn1.BitString
	}
	if rest, err := asn1.Unmarshal(der, &outer); err != nil || len(rest) != 0 {
		return nil, errors.New("vpiv: cannot split certificate")
	}
	if bytes.Count(outer.TBS.FullBytes, fromSPKI) != 1 {
		return nil, errors.New("vpiv: SPKI not found once in TBSCertificate")
	}
	tbs := bytes.Replace(outer.TBS.FullBytes, fromSPKI, toSPKI, 1)
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	var hash crypto.Hash
	switch cert.SignatureAlgorithm {
	case x509.SHA256WithRSA, x509.ECDSAWithSHA256:
		hash = crypto.SHA256
	case x509.SHA384WithRSA, x509.ECDSAWithSHA384:
		hash = crypto.SHA384
	case x509.SHA512WithRSA, x509.ECDSAWithSHA512:
		hash = crypto.SHA512
	case x509.PureEd25519:
	default:
		return nil, errors.New("vpiv: unexpected signature algorithm")
	}
	msg := tbs
	if hash != 0 {
		h := hash.New()
		h.Write(tbs)
		msg = h.Sum(nil)
	}
	sig, err := signer.Sign(rand, msg, hash)
	if err != nil {
		return nil, err
	}
	outer.TBS = asn1.RawValue{FullBytes: tbs}
	outer.Sig = asn1.BitString{Bytes: sig, BitLength: 8 * len(sig)}
	return asn1.Marshal(outer)
}
