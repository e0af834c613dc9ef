package module

import (
	"crypto"
	"crypto/rsa"
	_ "crypto/sha1" // register the hashes the mechanisms use
	_ "crypto/sha256"
	_ "crypto/sha512"
	"crypto/subtle"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/binary"
	"math/big"
	"slices"

	"github.com/pcsc11/pcsc11/ck"
	"github.com/pcsc11/pcsc11/slot"
)

// Mechanism is CK_MECHANISM with its parameter bytes copied out of the caller's memory.
type Mechanism struct {
	Type  ck.ULong
	Param []byte
	// Source is the OAEP label (CK_RSA_PKCS_OAEP_PARAMS.pSourceData), copied by the door
	// because Param only holds the structure with its pointer.
	Source []byte
	// ECDH is CK_ECDH1_DERIVE_PARAMS for CKM_ECDH1_DERIVE, copied by the door.
	ECDH *ECDHParams
}

// The mechanism families the module builds in software on a card's primitives: the
// mechanism list (slots.go) advertises them from these lists, and the operations
// (sign.go, decrypt.go) accept them from the same lists.
var (
	// PKCS#1 v1.5 signatures: over a caller's DigestInfo, and hash-and-sign.
	rsaPKCS1Mechs = []ck.ULong{ck.CKM_RSA_PKCS, ck.CKM_SHA1_RSA_PKCS, ck.CKM_SHA224_RSA_PKCS,
		ck.CKM_SHA256_RSA_PKCS, ck.CKM_SHA384_RSA_PKCS, ck.CKM_SHA512_RSA_PKCS}
	pssMechs = []ck.ULong{ck.CKM_RSA_PKCS_PSS, ck.CKM_SHA1_RSA_PKCS_PSS, ck.CKM_SHA224_RSA_PKCS_PSS,
		ck.CKM_SHA256_RSA_PKCS_PSS, ck.CKM_SHA384_RSA_PKCS_PSS, ck.CKM_SHA512_RSA_PKCS_PSS}
	ecdsaMechs = []ck.ULong{ck.CKM_ECDSA, ck.CKM_ECDSA_SHA1, ck.CKM_ECDSA_SHA224, ck.CKM_ECDSA_SHA256,
		ck.CKM_ECDSA_SHA384, ck.CKM_ECDSA_SHA512}
	// RSA decryption on the card, padding removed in software; encryption in software.
	rsaCryptMechs = []ck.ULong{ck.CKM_RSA_X_509, ck.CKM_RSA_PKCS, ck.CKM_RSA_PKCS_OAEP}
	digestMechs   = []ck.ULong{ck.CKM_SHA_1, ck.CKM_SHA224, ck.CKM_SHA256, ck.CKM_SHA384, ck.CKM_SHA512}
)

// hashOfMech is the hash a CKM_ value names (digest mechanisms and the hash-and-sign
// ones), or 0.
func hashOfMech(m ck.ULong) crypto.Hash {
	switch m {
	case ck.CKM_SHA_1, ck.CKM_SHA1_RSA_PKCS, ck.CKM_SHA1_RSA_PKCS_PSS, ck.CKM_ECDSA_SHA1:
		return crypto.SHA1
	case ck.CKM_SHA224, ck.CKM_SHA224_RSA_PKCS, ck.CKM_SHA224_RSA_PKCS_PSS, ck.CKM_ECDSA_SHA224:
		return crypto.SHA224
	case ck.CKM_SHA256, ck.CKM_SHA256_RSA_PKCS, ck.CKM_SHA256_RSA_PKCS_PSS, ck.CKM_ECDSA_SHA256:
		return crypto.SHA256
	case ck.CKM_SHA384, ck.CKM_SHA384_RSA_PKCS, ck.CKM_SHA384_RSA_PKCS_PSS, ck.CKM_ECDSA_SHA384:
		return crypto.SHA384
	case ck.CKM_SHA512, ck.CKM_SHA512_RSA_PKCS, ck.CKM_SHA512_RSA_PKCS_PSS, ck.CKM_ECDSA_SHA512:
		return crypto.SHA512
	}
	return 0
}

// hashOfMGF is the hash of a CKG_MGF1_ value, or 0.
func hashOfMGF(g ck.ULong) crypto.Hash {
	switch g {
	case ck.CKG_MGF1_SHA1:
		return crypto.SHA1
	case ck.CKG_MGF1_SHA224:
		return crypto.SHA224
	case ck.CKG_MGF1_SHA256:
		return crypto.SHA256
	case ck.CKG_MGF1_SHA384:
		return crypto.SHA384
	case ck.CKG_MGF1_SHA512:
		return crypto.SHA512
	}
	return 0
}

// Object identifiers of the hashes, for the PKCS#1 v1.5 DigestInfo (RFC 8017 9.2).
var hashOIDs = map[crypto.Hash]asn1.ObjectIdentifier{
	crypto.SHA1:   {1, 3, 14, 3, 2, 26},
	crypto.SHA224: {2, 16, 840, 1, 101, 3, 4, 2, 4},
	crypto.SHA256: {2, 16, 840, 1, 101, 3, 4, 2, 1},
	crypto.SHA384: {2, 16, 840, 1, 101, 3, 4, 2, 2},
	crypto.SHA512: {2, 16, 840, 1, 101, 3, 4, 2, 3},
}

// digestInfo DER-encodes DigestInfo { AlgorithmIdentifier(h, NULL), OCTET STRING sum }.
func digestInfo(h crypto.Hash, sum []byte) []byte {
	type di struct {
		Alg    pkix.AlgorithmIdentifier
		Digest []byte
	}
	b, err := asn1.Marshal(di{pkix.AlgorithmIdentifier{Algorithm: hashOIDs[h], Parameters: asn1.NullRawValue}, sum})
	if err != nil {
		panic(err) // fixed, well-formed input
	}
	return b
}

// pkcs1Type1 pads t for an RSA signature of k bytes: 00 01 FF.. 00 t (RFC 8017 9.2
// step 5, at least 8 bytes of FF). ok is false when t is too long (CKR_DATA_LEN_RANGE).
func pkcs1Type1(t []byte, k int) ([]byte, bool) {
	if len(t) > k-11 {
		return nil, false
	}
	em := make([]byte, k)
	em[1] = 1
	for i := 2; i < k-len(t)-1; i++ {
		em[i] = 0xff
	}
	copy(em[k-len(t):], t)
	return em, true
}

// mgf1 is the mask generation function of RFC 8017 B.2.1.
func mgf1(h crypto.Hash, seed []byte, n int) []byte {
	out := make([]byte, 0, n+h.Size())
	var ctr [4]byte
	for i := uint32(0); len(out) < n; i++ {
		binary.BigEndian.PutUint32(ctr[:], i)
		d := h.New()
		d.Write(seed)
		d.Write(ctr[:])
		out = d.Sum(out)
	}
	return out[:n]
}

// pssEncode is EMSA-PSS-ENCODE (RFC 8017 9.1.1) of the message hash mHash for a modulus
// of modBits bits, returned left-padded to k bytes for the raw RSA primitive.
func pssEncode(mHash []byte, h, mgfHash crypto.Hash, salt []byte, modBits, k int) ([]byte, bool) {
	hLen := h.Size()
	emBits := modBits - 1
	emLen := (emBits + 7) / 8
	if len(mHash) != hLen || emLen < hLen+len(salt)+2 {
		return nil, false
	}
	d := h.New()
	d.Write(make([]byte, 8))
	d.Write(mHash)
	d.Write(salt)
	hv := d.Sum(nil)
	db := make([]byte, emLen-hLen-1)
	db[len(db)-len(salt)-1] = 1
	copy(db[len(db)-len(salt):], salt)
	mask := mgf1(mgfHash, hv, len(db))
	for i := range db {
		db[i] ^= mask[i]
	}
	db[0] &= 0xff >> (8*emLen - emBits)
	em := make([]byte, k)
	off := k - emLen
	copy(em[off:], db)
	copy(em[off+len(db):], hv)
	em[k-1] = 0xbc
	return em, true
}

// pssVerify is RSAVP1 + EMSA-PSS-VERIFY (RFC 8017 8.1.2, 9.1.2) with an MGF1 hash that
// may differ from the message hash (CK_RSA_PKCS_PSS_PARAMS allows any pair; crypto/rsa
// ties them together). sLen must match exactly, as the parameters fix it.
func pssVerify(pub *rsa.PublicKey, h, mgfHash crypto.Hash, mHash, sig []byte, sLen int) bool {
	k := (pub.N.BitLen() + 7) / 8
	hLen := h.Size()
	if len(sig) != k || len(mHash) != hLen || sLen < 0 {
		return false
	}
	s := new(big.Int).SetBytes(sig)
	if s.Cmp(pub.N) >= 0 {
		return false
	}
	emBits := pub.N.BitLen() - 1
	emLen := (emBits + 7) / 8
	full := new(big.Int).Exp(s, big.NewInt(int64(pub.E)), pub.N).FillBytes(make([]byte, k))
	// The integer has emBits bits at most, so the bytes in front of EM are zero.
	for _, c := range full[:k-emLen] {
		if c != 0 {
			return false
		}
	}
	em := full[k-emLen:]
	if emLen < hLen+sLen+2 || em[emLen-1] != 0xbc {
		return false
	}
	db, hv := em[:emLen-hLen-1], em[emLen-hLen-1:emLen-1]
	topMask := byte(0xff >> (8*emLen - emBits))
	if db[0]&^topMask != 0 {
		return false
	}
	mask := mgf1(mgfHash, hv, len(db))
	for i := range db {
		db[i] ^= mask[i]
	}
	db[0] &= topMask
	ps := len(db) - sLen - 1
	for _, c := range db[:ps] {
		if c != 0 {
			return false
		}
	}
	if db[ps] != 1 {
		return false
	}
	d := h.New()
	d.Write(make([]byte, 8))
	d.Write(mHash)
	d.Write(db[ps+1:])
	return subtle.ConstantTimeCompare(d.Sum(nil), hv) == 1
}

// Named curves the module knows the size of, by the OID in CKA_EC_PARAMS.
var curveBits = map[string]int{
	"1.2.840.10045.3.1.7": 256, // P-256
	"1.3.132.0.34":        384, // P-384
	"1.3.132.0.35":        521, // P-521
	"1.3.132.0.33":        224, // P-224
}

// ecOrderBits returns the bit size of an EC key's curve order from CKA_EC_PARAMS, falling
// back to the length of the uncompressed point in CKA_EC_POINT.
func ecOrderBits(attrs map[ck.ULong]any) int {
	if p, ok := attrs[ck.CKA_EC_PARAMS].([]byte); ok {
		var oid asn1.ObjectIdentifier
		if rest, err := asn1.Unmarshal(p, &oid); err == nil && len(rest) == 0 {
			if b := curveBits[oid.String()]; b != 0 {
				return b
			}
		}
	}
	if pt := ecPoint(attrs); len(pt) > 1 && pt[0] == 4 && len(pt)%2 == 1 {
		return (len(pt) - 1) / 2 * 8
	}
	return 0
}

// ecdsaInput turns a hash into the fixed-size integer input of ECDSA for an order of
// bits bits (FIPS 186-4 6.4: the leftmost bits of the hash; shorter hashes are the same
// integer padded with zeros on the left).
func ecdsaInput(hash []byte, bits int) []byte {
	n := (bits + 7) / 8
	if len(hash)*8 <= bits {
		out := make([]byte, n)
		copy(out[n-len(hash):], hash)
		return out
	}
	if bits%8 == 0 {
		return append([]byte(nil), hash[:n]...)
	}
	v := new(big.Int).SetBytes(hash)
	v.Rsh(v, uint(len(hash)*8-bits))
	return v.FillBytes(make([]byte, n))
}

// rsaModulus returns the modulus size in bits and bytes of an RSA key object.
func rsaModulus(attrs map[ck.ULong]any) (bits, k int) {
	if m, ok := attrs[ck.CKA_MODULUS].([]byte); ok && len(m) > 0 {
		bits = new(big.Int).SetBytes(m).BitLen()
	} else if b, ok := attrs[ck.CKA_MODULUS_BITS].(ck.ULong); ok && b < 1<<16 {
		bits = int(b)
	}
	return bits, (bits + 7) / 8
}

// parseULongs reads a parameter structure made only of CK_ULONGs (CK_RSA_PKCS_PSS_PARAMS).
func parseULongs(p []byte, n int) ([]ck.ULong, bool) {
	if len(p) != n*ulongSize {
		return nil, false
	}
	out := make([]ck.ULong, n)
	for i := range out {
		if ulongSize == 8 {
			out[i] = binary.NativeEndian.Uint64(p[i*8:])
		} else {
			out[i] = ck.ULong(binary.NativeEndian.Uint32(p[i*4:]))
		}
	}
	return out, true
}

func hasMechanism(ms []slot.Mechanism, t, flag ck.ULong) bool {
	for _, m := range ms {
		if m.Type == t && m.Flags&flag != 0 {
			return true
		}
	}
	return false
}

// mechanismAllowed reports whether the card offers mechanism mech for flag and the key
// (attributes a) allows it (CKA_ALLOWED_MECHANISMS, when the key has the attribute).
func mechanismAllowed(ts *tokenState, a map[ck.ULong]any, mech, flag ck.ULong) bool {
	if allowed, ok := a[ck.CKA_ALLOWED_MECHANISMS].([]ck.ULong); ok && !slices.Contains(allowed, mech) {
		return false
	}
	return hasMechanism(mechanisms(ts.card), mech, flag)
}
