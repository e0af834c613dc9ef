// Command cryptocheck is the Go side of hwtests/crypto/run.sh: it turns the public keys
// that p11crypto read from the token into PEM files for OpenSSL, and verifies every
// signature the module made with Go's own crypto (a separate process: the module is a
// Go c-shared library and cannot share a process with another Go runtime).
//
//	cryptocheck pem DIR      DIR/<id>.pub -> DIR/<id>.pem (SubjectPublicKeyInfo)
//	cryptocheck verify DIR   checks DIR/sigs.txt; writes DIR/<sig>.der for ECDSA
//	cryptocheck certs DIR    DIR/<id>.pub of the generated keys (05..0c) -> DIR/<id>.der,
//	                         a certificate for each from a throw-away CA (cards without
//	                         GET METADATA find a key by its certificate)
//
// Output: "ok - ..." / "not ok - ..." lines; exit status 1 when a check failed.
package main

import (
	"bufio"
	"bytes"
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	_ "crypto/sha1"
	_ "crypto/sha256"
	_ "crypto/sha512"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/cryptobyte"
	casn1 "golang.org/x/crypto/cryptobyte/asn1"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: cryptocheck pem|verify DIR")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "pem":
		err = writePEMs(os.Args[2])
	case "verify":
		err = verifyAll(os.Args[2])
	case "certs":
		err = writeCerts(os.Args[2])
	default:
		err = errors.New("unknown command " + os.Args[1])
	}
	if err != nil {
		fmt.Println("not ok -", err)
		os.Exit(1)
	}
}

// loadPub parses DIR/<id>.pub: "type rsa|ec|ed25519|x25519" and hex fields.
func loadPub(dir, id string) (crypto.PublicKey, error) {
	b, err := os.ReadFile(filepath.Join(dir, id+".pub"))
	if err != nil {
		return nil, err
	}
	f := map[string]string{}
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, " "); ok {
			f[k] = v
		}
	}
	h := func(k string) []byte { v, _ := hex.DecodeString(f[k]); return v }
	point := unwrapOctets(h("point"))
	switch f["type"] {
	case "rsa":
		e := new(big.Int).SetBytes(h("e"))
		if !e.IsInt64() || e.Int64() > 1<<31 {
			return nil, errors.New(id + ": exponent out of range")
		}
		return &rsa.PublicKey{N: new(big.Int).SetBytes(h("n")), E: int(e.Int64())}, nil
	case "ec":
		var oid asn1.ObjectIdentifier
		if _, err := asn1.Unmarshal(h("params"), &oid); err != nil {
			return nil, fmt.Errorf("%s: CKA_EC_PARAMS: %v", id, err)
		}
		var c elliptic.Curve
		switch oid.String() {
		case "1.2.840.10045.3.1.7":
			c = elliptic.P256()
		case "1.3.132.0.34":
			c = elliptic.P384()
		default:
			return nil, fmt.Errorf("%s: curve %s", id, oid)
		}
		return ecdsa.ParseUncompressedPublicKey(c, point)
	case "ed25519":
		if len(point) != ed25519.PublicKeySize {
			return nil, errors.New(id + ": Ed25519 point length")
		}
		return ed25519.PublicKey(point), nil
	case "x25519":
		return ecdh.X25519().NewPublicKey(point)
	}
	return nil, fmt.Errorf("%s: unknown key type %q", id, f["type"])
}

// unwrapOctets removes the DER OCTET STRING around a CKA_EC_POINT (PKCS#11 3.0 gives
// it DER-encoded; some tokens give the raw point).
func unwrapOctets(p []byte) []byte {
	var raw []byte
	if rest, err := asn1.Unmarshal(p, &raw); err == nil && len(rest) == 0 && len(p) != 32 {
		return raw
	}
	return p
}

func writePEMs(dir string) error {
	files, _ := filepath.Glob(filepath.Join(dir, "*.pub"))
	for _, f := range files {
		id := strings.TrimSuffix(filepath.Base(f), ".pub")
		pub, err := loadPub(dir, id)
		if err != nil {
			return err
		}
		der, err := x509.MarshalPKIXPublicKey(pub)
		if err != nil {
			return fmt.Errorf("%s: %v", id, err)
		}
		out := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
		if err := os.WriteFile(filepath.Join(dir, id+".pem"), out, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// writeCerts issues a certificate for each generated key's public key (ids 05..0c).
func writeCerts(dir string) error {
	ca, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.pub"))
	for _, f := range files {
		id := strings.TrimSuffix(filepath.Base(f), ".pub")
		if n, err := strconv.ParseUint(id, 16, 8); err != nil || n < 5 {
			continue // the demo keys have their certificates
		}
		pub, err := loadPub(dir, id)
		if err != nil {
			return err
		}
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(time.Now().UnixNano()),
			Subject:      pkix.Name{CommonName: "pcsc11 crypto check key " + id},
			NotBefore:    time.Now().Add(-time.Hour),
			NotAfter:     time.Now().Add(24 * time.Hour),
		}
		issuer := &x509.Certificate{Subject: pkix.Name{CommonName: "pcsc11 crypto check CA"}}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, issuer, pub, ca)
		if err != nil {
			return fmt.Errorf("certificate for %s: %v", id, err)
		}
		if err := os.WriteFile(filepath.Join(dir, id+".der"), der, 0o644); err != nil {
			return err
		}
		fmt.Printf("ok - certificate for key %s\n", id)
	}
	return nil
}

var hashes = map[string]crypto.Hash{"sha1": crypto.SHA1, "sha224": crypto.SHA224, "sha256": crypto.SHA256,
	"sha384": crypto.SHA384, "sha512": crypto.SHA512}

func verifyAll(dir string) error {
	f, err := os.Open(filepath.Join(dir, "sigs.txt"))
	if err != nil {
		return err
	}
	defer f.Close()
	failed, n := 0, 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fl := strings.Fields(sc.Text())
		if len(fl) != 7 {
			continue
		}
		n++
		err := verifyOne(dir, fl)
		if err != nil {
			failed++
			fmt.Printf("not ok - Go verifies %s: %v\n", sc.Text(), err)
		} else {
			fmt.Printf("ok - Go verifies %s\n", sc.Text())
		}
	}
	if n == 0 {
		return errors.New("no signatures in sigs.txt")
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d signatures failed Go's verification", failed, n)
	}
	return nil
}

// verifyOne checks one line: id scheme hash mgf salt tbs-file sig-file.
func verifyOne(dir string, fl []string) error {
	id, scheme, hn, mn := fl[0], fl[1], fl[2], fl[3]
	salt, err := strconv.Atoi(fl[4])
	if err != nil {
		return err
	}
	tbs, err := os.ReadFile(filepath.Join(dir, fl[5]))
	if err != nil {
		return err
	}
	sig, err := os.ReadFile(filepath.Join(dir, fl[6]))
	if err != nil {
		return err
	}
	pub, err := loadPub(dir, id)
	if err != nil {
		return err
	}
	h, mgf := hashes[hn], hashes[mn]
	digest := func() []byte {
		d := h.New()
		d.Write(tbs)
		return d.Sum(nil)
	}
	switch scheme {
	case "pkcs1", "pkcs1raw", "x509", "pss", "pssraw":
		rk, ok := pub.(*rsa.PublicKey)
		if !ok {
			return errors.New("not an RSA key")
		}
		switch scheme {
		case "pkcs1":
			return rsa.VerifyPKCS1v15(rk, h, digest(), sig)
		case "pkcs1raw": // the caller's DigestInfo, signed as it is
			return rsa.VerifyPKCS1v15(rk, 0, tbs, sig)
		case "x509":
			if len(sig) != (rk.N.BitLen()+7)/8 {
				return errors.New("signature length")
			}
			m := new(big.Int).Exp(new(big.Int).SetBytes(sig), big.NewInt(int64(rk.E)), rk.N)
			if !bytes.Equal(m.FillBytes(make([]byte, len(sig))), tbs) {
				return errors.New("raw RSA: s^e mod n is not the input block")
			}
			return nil
		}
		mh := tbs
		if scheme == "pss" {
			mh = digest()
		}
		if h == mgf {
			return rsa.VerifyPSS(rk, h, mh, sig, &rsa.PSSOptions{SaltLength: salt, Hash: h})
		}
		return verifyPSS(rk, h, mgf, mh, sig, salt)
	case "ecdsa", "ecdsaraw":
		ek, ok := pub.(*ecdsa.PublicKey)
		if !ok {
			return errors.New("not an EC key")
		}
		size := (ek.Curve.Params().BitSize + 7) / 8
		if len(sig) != 2*size {
			return fmt.Errorf("signature is %d bytes, want r||s of %d", len(sig), 2*size)
		}
		r, s := new(big.Int).SetBytes(sig[:size]), new(big.Int).SetBytes(sig[size:])
		// OpenSSL wants the DER form (RFC 3279 Ecdsa-Sig-Value).
		var b cryptobyte.Builder
		b.AddASN1(casn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddASN1BigInt(r); b.AddASN1BigInt(s) })
		der, err := b.Bytes()
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, fl[6]+".der"), der, 0o644); err != nil {
			return err
		}
		in := tbs
		if scheme == "ecdsa" {
			in = digest()
		}
		if !ecdsa.Verify(ek, in, r, s) {
			return errors.New("ECDSA signature invalid")
		}
		return nil
	case "eddsa":
		ek, ok := pub.(ed25519.PublicKey)
		if !ok {
			return errors.New("not an Ed25519 key")
		}
		if !ed25519.Verify(ek, tbs, sig) {
			return errors.New("Ed25519 signature invalid")
		}
		return nil
	}
	return fmt.Errorf("unknown scheme %q", scheme)
}

// verifyPSS is EMSA-PSS-VERIFY (RFC 8017 9.1.2) with an MGF1 hash other than the
// message hash, which crypto/rsa does not offer.
func verifyPSS(pub *rsa.PublicKey, h, mgfHash crypto.Hash, mHash, sig []byte, sLen int) error {
	k := (pub.N.BitLen() + 7) / 8
	if len(sig) != k {
		return errors.New("signature length")
	}
	emBits := pub.N.BitLen() - 1
	emLen := (emBits + 7) / 8
	m := new(big.Int).Exp(new(big.Int).SetBytes(sig), big.NewInt(int64(pub.E)), pub.N)
	em := m.FillBytes(make([]byte, k))[k-emLen:]
	hLen := h.Size()
	if emLen < hLen+sLen+2 || em[emLen-1] != 0xbc {
		return errors.New("PSS: bad trailer or lengths")
	}
	db, hv := append([]byte(nil), em[:emLen-hLen-1]...), em[emLen-hLen-1:emLen-1]
	if db[0]&^(0xff>>(8*emLen-emBits)) != 0 {
		return errors.New("PSS: top bits set")
	}
	mask := mgf1(mgfHash, hv, len(db))
	for i := range db {
		db[i] ^= mask[i]
	}
	db[0] &= 0xff >> (8*emLen - emBits)
	ps := len(db) - sLen - 1
	for _, c := range db[:ps] {
		if c != 0 {
			return errors.New("PSS: padding not zero")
		}
	}
	if db[ps] != 1 {
		return errors.New("PSS: no 01 separator")
	}
	d := h.New()
	d.Write(make([]byte, 8))
	d.Write(mHash)
	d.Write(db[ps+1:])
	if !bytes.Equal(d.Sum(nil), hv) {
		return errors.New("PSS: hash mismatch")
	}
	return nil
}

func mgf1(h crypto.Hash, seed []byte, n int) []byte {
	var out []byte
	for c := uint32(0); len(out) < n; c++ {
		d := h.New()
		d.Write(seed)
		d.Write([]byte{byte(c >> 24), byte(c >> 16), byte(c >> 8), byte(c)})
		out = d.Sum(out)
	}
	return out[:n]
}
