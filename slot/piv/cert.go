package piv

import (
	"bytes"
	"compress/gzip"
	"crypto"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"

	"github.com/pcsc11/pcsc11/apdu"
)

// maxCertSize bounds a decompressed certificate: PIV containers are at most a few KiB
// and a YubiKey object at most ~3 KiB; a gzip bomb must not eat the host's memory.
const maxCertSize = 64 << 10

// certInfo is a certificate from a PIV container, with the fields PKCS#11 exposes.
type certInfo struct {
	der     []byte
	subject []byte // DER Name
	issuer  []byte // DER Name
	serial  []byte // DER INTEGER, tag and length included
	spki    []byte // DER SubjectPublicKeyInfo
	pub     crypto.PublicKey
}

// parseCertContainer unwraps a certificate container (SP 800-73-4 part 1, appendix A:
// 70 certificate, 71 CertInfo, 72 MSCUID, FE error detection code). It answers
// (nil, nil) for an empty container, which some cards use for "no certificate".
func parseCertContainer(b []byte) (*certInfo, error) {
	if len(b) == 0 {
		return nil, nil
	}
	tlvs, err := apdu.ParseAll(b)
	if err != nil {
		return nil, fmt.Errorf("piv: certificate container: %w", err)
	}
	var der []byte
	var info byte
	for _, e := range tlvs {
		switch e.Tag {
		case 0x70:
			der = e.Value
		case 0x71:
			if len(e.Value) > 1 {
				return nil, errors.New("piv: certificate container: bad CertInfo")
			}
			if len(e.Value) == 1 {
				info = e.Value[0]
			}
		}
	}
	if len(der) == 0 {
		return nil, nil
	}
	// CertInfo bit 0 = compressed (gzip); bits 1-7 are reserved (SP 800-73-4 part 1,
	// table 10: 0x01 compressed, other values reserved).
	switch info {
	case 0x00:
	case 0x01:
		if der, err = gunzip(der); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("piv: certificate container: unknown CertInfo %02X", info)
	}
	return parseCertificate(der)
}

func gunzip(b []byte) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("piv: compressed certificate: %w", err)
	}
	out, err := io.ReadAll(io.LimitReader(zr, maxCertSize+1))
	if err != nil {
		return nil, fmt.Errorf("piv: compressed certificate: %w", err)
	}
	if len(out) > maxCertSize {
		return nil, errors.New("piv: compressed certificate: too large")
	}
	return out, nil
}

// parseCertificate extracts the DER fields PKCS#11 needs by walking the certificate's
// TBS structure (RFC 5280 4.1) rather than through x509.ParseCertificate, which rejects
// certificates real cards carry (negative serials, odd extensions). The public key goes
// through x509.ParsePKIXPublicKey; an unsupported key leaves pub nil.
func parseCertificate(der []byte) (*certInfo, error) {
	bad := func(what string) error { return fmt.Errorf("piv: certificate: %s", what) }
	var cert asn1.RawValue
	rest, err := asn1.Unmarshal(der, &cert)
	if err != nil || len(rest) != 0 || cert.Tag != asn1.TagSequence || !cert.IsCompound {
		return nil, bad("not a DER SEQUENCE")
	}
	var tbs asn1.RawValue
	if _, err := asn1.Unmarshal(cert.Bytes, &tbs); err != nil || tbs.Tag != asn1.TagSequence {
		return nil, bad("no TBSCertificate")
	}
	fields := make([]asn1.RawValue, 0, 8)
	for b := tbs.Bytes; len(b) > 0 && len(fields) < 7; {
		var f asn1.RawValue
		if b, err = asn1.Unmarshal(b, &f); err != nil {
			return nil, bad("malformed TBSCertificate")
		}
		fields = append(fields, f)
	}
	// Skip the optional explicit [0] version.
	if len(fields) > 0 && fields[0].Class == asn1.ClassContextSpecific && fields[0].Tag == 0 {
		fields = fields[1:]
	}
	if len(fields) < 6 {
		return nil, bad("short TBSCertificate")
	}
	serial, issuer, subject, spki := fields[0], fields[2], fields[4], fields[5]
	if serial.Tag != asn1.TagInteger || issuer.Tag != asn1.TagSequence ||
		subject.Tag != asn1.TagSequence || spki.Tag != asn1.TagSequence {
		return nil, bad("unexpected TBSCertificate fields")
	}
	c := &certInfo{
		der:     append([]byte(nil), der...),
		serial:  append([]byte(nil), serial.FullBytes...),
		issuer:  append([]byte(nil), issuer.FullBytes...),
		subject: append([]byte(nil), subject.FullBytes...),
		spki:    append([]byte(nil), spki.FullBytes...),
	}
	if pub, err := x509.ParsePKIXPublicKey(c.spki); err == nil && algorithmOf(pub) != 0 {
		c.pub = pub
	}
	return c, nil
}
