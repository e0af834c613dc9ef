package piv

import (
	"bytes"
	"compress/gzip"
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"math/big"

	"github.com/pcsc11/pcsc11/apdu"
	"github.com/pcsc11/pcsc11/ck"
	"github.com/pcsc11/pcsc11/slot"
)

const (
	insImportKey = 0xFE
	// maxObjectSize is the largest data object content a YubiKey 5 stores.
	maxObjectSize = 3052
)

var (
	certAttrs2 = []ck.ULong{ck.CKA_CERTIFICATE_TYPE, ck.CKA_VALUE, ck.CKA_ISSUER, ck.CKA_SERIAL_NUMBER,
		ck.CKA_TRUSTED, ck.CKA_CERTIFICATE_CATEGORY, ck.CKA_PUBLIC_KEY_INFO, ck.CKA_URL,
		ck.CKA_HASH_OF_SUBJECT_PUBLIC_KEY, ck.CKA_HASH_OF_ISSUER_PUBLIC_KEY, ck.CKA_JAVA_MIDP_SECURITY_DOMAIN,
		ck.CKA_NAME_HASH_ALGORITHM}
	privImportAttrs = []ck.ULong{ck.CKA_KEY_TYPE, ck.CKA_MODULUS, ck.CKA_PUBLIC_EXPONENT,
		ck.CKA_PRIVATE_EXPONENT, ck.CKA_PRIME_1, ck.CKA_PRIME_2, ck.CKA_EXPONENT_1, ck.CKA_EXPONENT_2,
		ck.CKA_COEFFICIENT, ck.CKA_EC_PARAMS, ck.CKA_VALUE, ck.CKA_SENSITIVE, ck.CKA_EXTRACTABLE,
		ck.CKA_DECRYPT, ck.CKA_SIGN, ck.CKA_SIGN_RECOVER, ck.CKA_UNWRAP, ck.CKA_DERIVE,
		ck.CKA_ALWAYS_AUTHENTICATE, ck.CKA_WRAP_WITH_TRUSTED, ck.CKA_PUBLIC_KEY_INFO,
		ck.CKA_YUBICO_PIN_POLICY, ck.CKA_YUBICO_TOUCH_POLICY}
)

// CreateObject is C_CreateObject (spec 5.7.1) for token objects:
//   - CKO_CERTIFICATE (X.509): PUT DATA into the container of the slot named by
//     CKA_ID, gzip-compressed (CertInfo 01) when it would not fit uncompressed;
//   - CKO_PRIVATE_KEY (RSA with the CRT values, EC/Ed25519/X25519 with CKA_VALUE):
//     YubiKey IMPORT KEY into the slot named by CKA_ID; a certificate in that slot for
//     another key is deleted.
//
// Public keys cannot be stored on a PIV card (the card derives them), nor can data
// objects in this version: CKR_ATTRIBUTE_VALUE_INVALID on CKA_CLASS.
func (t *Token) CreateObject(tmpl slot.Attributes) (string, error) {
	t.mu.Lock()
	defer t.unlock()
	class, ok, err := tmpl.ULong(ck.CKA_CLASS)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", tmplErr(ck.CKR_TEMPLATE_INCOMPLETE, "CKA_CLASS is needed")
	}
	switch class {
	case ck.CKO_CERTIFICATE:
		return t.createCert(tmpl)
	case ck.CKO_PRIVATE_KEY:
		return t.importKey(tmpl)
	}
	return "", tmplErr(ck.CKR_ATTRIBUTE_VALUE_INVALID, "a PIV card stores certificates and private keys only")
}

func (t *Token) createCert(tmpl slot.Attributes) (string, error) {
	if err := checkCommon(tmpl, ck.CKO_CERTIFICATE); err != nil {
		return "", err
	}
	if err := onlyKnown(tmpl, certAttrs2...); err != nil {
		return "", err
	}
	if ct, ok, err := tmpl.ULong(ck.CKA_CERTIFICATE_TYPE); err != nil {
		return "", err
	} else if ok && ct != ck.CKC_X_509 {
		return "", tmplErr(ck.CKR_ATTRIBUTE_VALUE_INVALID, "only X.509 certificates")
	}
	if err := mustBe(tmpl, ck.CKA_TRUSTED, false, "only the SO may mark a certificate trusted, and the card cannot store it"); err != nil {
		return "", err
	}
	der, ok, err := tmpl.Bytes(ck.CKA_VALUE)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", tmplErr(ck.CKR_TEMPLATE_INCOMPLETE, "CKA_VALUE (the DER certificate) is needed")
	}
	c, err := parseCertificate(der)
	if err != nil {
		return "", tmplErr(ck.CKR_ATTRIBUTE_VALUE_INVALID, "CKA_VALUE is not a DER X.509 certificate")
	}
	// What the template says about the certificate must be what it is.
	for _, f := range []struct {
		typ  ck.ULong
		want []byte
	}{{ck.CKA_SUBJECT, c.subject}, {ck.CKA_ISSUER, c.issuer}, {ck.CKA_SERIAL_NUMBER, c.serial}, {ck.CKA_PUBLIC_KEY_INFO, c.spki}} {
		if v, ok, err := tmpl.Bytes(f.typ); err != nil {
			return "", err
		} else if ok && len(v) > 0 && !bytes.Equal(v, f.want) {
			return "", tmplErr(ck.CKR_TEMPLATE_INCONSISTENT, "template attribute differs from the certificate")
		}
	}
	s, err := slotFrom(tmpl, nil, true)
	if err != nil {
		return "", err
	}
	content, err := certContainer(c.der)
	if err != nil {
		return "", err
	}
	err = t.transact(func() error {
		if err := t.ensureAdmin(); err != nil {
			return err
		}
		if err := t.putData(s.object, content); err != nil {
			return err
		}
		t.forgetSlot(s.ref)
		if retired(s.ref) {
			if err := t.updateKeyHistory(); err != nil {
				return err
			}
		}
		if t.knownCerts == nil {
			t.knownCerts = map[byte]bool{}
		}
		t.knownCerts[s.ref] = true
		return nil
	})
	if err != nil {
		return "", err
	}
	return certKey(s.ref), nil
}

// certContainer builds the certificate container (SP 800-73-4 part 1, appendix A:
// 70 certificate, 71 CertInfo, FE error detection code), compressed with gzip
// (CertInfo 01) when it does not fit the card uncompressed.
func certContainer(der []byte) ([]byte, error) {
	build := func(cert []byte, info byte) []byte {
		b := apdu.EncodeTLV(0x70, cert)
		b = apdu.AppendTLV(b, 0x71, []byte{info})
		return apdu.AppendTLV(b, 0xFE, nil)
	}
	if b := build(der, 0); len(b) <= maxObjectSize {
		return b, nil
	}
	var z bytes.Buffer
	w, _ := gzip.NewWriterLevel(&z, gzip.BestCompression)
	w.Write(der) // a bytes.Buffer never fails
	w.Close()
	if b := build(z.Bytes(), 1); len(b) <= maxObjectSize {
		return b, nil
	}
	return nil, tmplErr(ck.CKR_DEVICE_MEMORY, "the certificate does not fit a PIV container, even compressed")
}

// importKey is C_CreateObject of a private key: YubiKey IMPORT KEY 00 FE <alg> <slot>,
// data RSA 01 P 02 Q 03 dP 04 dQ 05 qInv (each the modulus' half size), EC 06 scalar,
// Ed25519 07 seed, X25519 08 scalar, then AA/AB policies.
func (t *Token) importKey(tmpl slot.Attributes) (string, error) {
	if err := checkCommon(tmpl, ck.CKO_PRIVATE_KEY); err != nil {
		return "", err
	}
	if err := onlyKnown(tmpl, privImportAttrs...); err != nil {
		return "", err
	}
	if !t.yubikey {
		// IMPORT KEY is a Yubico instruction; a standard PIV card has none.
		return "", slot.NewError(ck.CKR_FUNCTION_NOT_SUPPORTED, "piv: this card cannot import private keys (no IMPORT KEY)", nil)
	}
	s, err := slotFrom(tmpl, nil, false)
	if err != nil {
		return "", err
	}
	alg, data, pub, err := t.importData(tmpl)
	if err != nil {
		return "", err
	}
	defer clear(data)
	if err := checkKeyUsage(alg, slot.Attributes{}, tmpl); err != nil {
		return "", err
	}
	pinPol, touchPol, err := t.keyPolicies(s, slot.Attributes{}, tmpl)
	if err != nil {
		return "", err
	}
	if pinPol != 0 {
		data = apdu.AppendTLV(data, 0xAA, []byte{pinPol})
	}
	if touchPol != 0 {
		data = apdu.AppendTLV(data, 0xAB, []byte{touchPol})
	}
	err = t.transact(func() error {
		if err := t.ensureAdmin(); err != nil {
			return err
		}
		_, err := t.exchange(apdu.Command{INS: insImportKey, P1: alg, P2: s.ref, Data: data})
		if err != nil {
			if swIs(err, apdu.SWIncorrectData, apdu.SWIncorrectP1P2) {
				return slot.NewError(ck.CKR_ATTRIBUTE_VALUE_INVALID, "piv: the card refused the key", nil)
			}
			return writeError(err)
		}
		t.forgetSlot(s.ref)
		t.rememberPub(s.ref, pub)
		return t.dropStaleCert(s, pub)
	})
	if err != nil {
		return "", err
	}
	return privKey(s.ref), nil
}

// dropStaleCert deletes the certificate of slot s unless it names pub.
func (t *Token) dropStaleCert(s keySlot, pub crypto.PublicKey) error {
	data, err := t.getData(s.object)
	if err != nil {
		if isTransport(err) {
			return err
		}
		return nil // no certificate
	}
	if c, perr := parseCertContainer(data); perr == nil && c != nil && c.pub != nil && samePublic(c.pub, pub) {
		return nil
	}
	delete(t.knownCerts, s.ref)
	if err := t.putData(s.object, nil); err != nil && isTransport(err) {
		return err // best effort otherwise, as after GENERATE
	}
	if retired(s.ref) {
		return t.updateKeyHistory()
	}
	return nil
}

// importData checks the key material of the template and encodes it for IMPORT KEY.
func (t *Token) importData(tmpl slot.Attributes) (alg byte, data []byte, pub crypto.PublicKey, err error) {
	kt, ok, err := tmpl.ULong(ck.CKA_KEY_TYPE)
	if err != nil {
		return 0, nil, nil, err
	}
	if !ok {
		return 0, nil, nil, tmplErr(ck.CKR_TEMPLATE_INCOMPLETE, "CKA_KEY_TYPE is needed")
	}
	get := func(typ ck.ULong) ([]byte, error) {
		v, ok, err := tmpl.Bytes(typ)
		if err != nil {
			return nil, err
		}
		if !ok || len(v) == 0 {
			return nil, tmplErr(ck.CKR_TEMPLATE_INCOMPLETE, "key material missing from the template")
		}
		return v, nil
	}
	bad := tmplErr(ck.CKR_ATTRIBUTE_VALUE_INVALID, "the key material is not a valid key")
	if kt == ck.CKK_RSA {
		if _, ok := tmpl[ck.CKA_EC_PARAMS]; ok {
			return 0, nil, nil, tmplErr(ck.CKR_TEMPLATE_INCONSISTENT, "CKA_EC_PARAMS in an RSA key")
		}
		var parts [5][]byte
		for i, typ := range []ck.ULong{ck.CKA_PRIME_1, ck.CKA_PRIME_2, ck.CKA_EXPONENT_1, ck.CKA_EXPONENT_2, ck.CKA_COEFFICIENT} {
			if parts[i], err = get(typ); err != nil {
				return 0, nil, nil, err
			}
		}
		p, q := new(big.Int).SetBytes(parts[0]), new(big.Int).SetBytes(parts[1])
		if p.BitLen() > 2048 || q.BitLen() > 2048 {
			return 0, nil, nil, bad
		}
		k := &rsa.PrivateKey{PublicKey: rsa.PublicKey{N: new(big.Int).Mul(p, q), E: 65537}, Primes: []*big.Int{p, q}}
		if e, ok, err := tmpl.Bytes(ck.CKA_PUBLIC_EXPONENT); err != nil {
			return 0, nil, nil, err
		} else if ok && new(big.Int).SetBytes(e).Cmp(big.NewInt(65537)) != 0 {
			return 0, nil, nil, tmplErr(ck.CKR_ATTRIBUTE_VALUE_INVALID, "PIV cards use the public exponent 65537 only")
		}
		if n, ok, err := tmpl.Bytes(ck.CKA_MODULUS); err != nil {
			return 0, nil, nil, err
		} else if ok && new(big.Int).SetBytes(n).Cmp(k.N) != 0 {
			return 0, nil, nil, tmplErr(ck.CKR_TEMPLATE_INCONSISTENT, "CKA_MODULUS is not PRIME_1 × PRIME_2")
		}
		pm1, qm1 := new(big.Int).Sub(p, big.NewInt(1)), new(big.Int).Sub(q, big.NewInt(1))
		k.D = new(big.Int).ModInverse(big.NewInt(65537), new(big.Int).Mul(pm1, qm1))
		if k.D == nil || k.Validate() != nil {
			return 0, nil, nil, bad
		}
		k.Precompute()
		if k.Precomputed.Dp.Cmp(new(big.Int).SetBytes(parts[2])) != 0 ||
			k.Precomputed.Dq.Cmp(new(big.Int).SetBytes(parts[3])) != 0 ||
			k.Precomputed.Qinv.Cmp(new(big.Int).SetBytes(parts[4])) != 0 {
			return 0, nil, nil, tmplErr(ck.CKR_TEMPLATE_INCONSISTENT, "the CRT values do not belong to the primes")
		}
		if d, ok, err := tmpl.Bytes(ck.CKA_PRIVATE_EXPONENT); err != nil {
			return 0, nil, nil, err
		} else if ok && len(d) > 0 {
			// Any d ≡ e⁻¹ mod λ(n) is right; check it works rather than compare.
			m := big.NewInt(2)
			c := new(big.Int).Exp(m, big.NewInt(65537), k.N)
			if new(big.Int).Exp(c, new(big.Int).SetBytes(d), k.N).Cmp(m) != 0 {
				return 0, nil, nil, tmplErr(ck.CKR_TEMPLATE_INCONSISTENT, "CKA_PRIVATE_EXPONENT does not belong to the primes")
			}
		}
		if alg, err = t.rsaAlg(k.N.BitLen()); err != nil {
			return 0, nil, nil, err
		}
		half := rsaBits(alg) / 16
		for i, v := range []*big.Int{p, q, k.Precomputed.Dp, k.Precomputed.Dq, k.Precomputed.Qinv} {
			if (v.BitLen()+7)/8 > half {
				return 0, nil, nil, bad
			}
			data = apdu.AppendTLV(data, uint32(i+1), v.FillBytes(make([]byte, half)))
		}
		return alg, data, &k.PublicKey, nil
	}
	for _, typ := range []ck.ULong{ck.CKA_MODULUS, ck.CKA_PUBLIC_EXPONENT, ck.CKA_PRIVATE_EXPONENT,
		ck.CKA_PRIME_1, ck.CKA_PRIME_2, ck.CKA_EXPONENT_1, ck.CKA_EXPONENT_2, ck.CKA_COEFFICIENT} {
		if _, ok := tmpl[typ]; ok {
			return 0, nil, nil, tmplErr(ck.CKR_TEMPLATE_INCONSISTENT, "RSA attribute in an EC key")
		}
	}
	params, err := get(ck.CKA_EC_PARAMS)
	if err != nil {
		return 0, nil, nil, err
	}
	if alg, err = curveFromParams(params); err != nil {
		return 0, nil, nil, err
	}
	if keyTypeOf(alg) != kt {
		return 0, nil, nil, tmplErr(ck.CKR_TEMPLATE_INCONSISTENT, "CKA_KEY_TYPE does not match CKA_EC_PARAMS")
	}
	if (alg == algEd25519 || alg == algX25519) && !t.atLeast(5, 7) {
		return 0, nil, nil, tmplErr(ck.CKR_ATTRIBUTE_VALUE_INVALID, "Ed25519 and X25519 need YubiKey 5.7 or later")
	}
	v, err := get(ck.CKA_VALUE)
	if err != nil {
		return 0, nil, nil, err
	}
	size := ecSize(alg)
	switch alg {
	case algP256, algP384:
		if len(v) > size {
			return 0, nil, nil, bad
		}
		d := make([]byte, size)
		copy(d[size-len(v):], v)
		curve := elliptic.P256()
		if alg == algP384 {
			curve = elliptic.P384()
		}
		k, err := ecdsa.ParseRawPrivateKey(curve, d)
		if err != nil {
			clear(d)
			return 0, nil, nil, bad
		}
		return alg, apdu.EncodeTLV(0x06, d), &k.PublicKey, nil
	case algEd25519:
		if len(v) != ed25519.SeedSize {
			return 0, nil, nil, bad
		}
		k := ed25519.NewKeyFromSeed(v)
		defer clear(k)
		return alg, apdu.EncodeTLV(0x07, v), k.Public(), nil
	}
	k, err := ecdh.X25519().NewPrivateKey(v)
	if err != nil {
		return 0, nil, nil, bad
	}
	return alg, apdu.EncodeTLV(0x08, v), k.PublicKey(), nil
}

var _ slot.Personalizer = (*Token)(nil)
