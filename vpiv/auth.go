package vpiv

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/subtle"
	"math/big"

	"github.com/pcsc11/pcsc11/apdu"
)

// Dynamic authentication template elements (SP 800-73-4 Part 2 Table 7).
const (
	tagWitness   = 0x80
	tagChallenge = 0x81
	tagResponse  = 0x82
	tagExponent  = 0x85
)

// generalAuthenticate implements GENERAL AUTHENTICATE (SP 800-73-4 Part 2 §3.2.4):
// 00 87 <alg> <key>, data 7C { ... }.
func (c *Card) generalAuthenticate(cmd apdu.Command, justVerified bool) ([]byte, uint16) {
	el, ok := templateElements(cmd.Data, 0x7C)
	if !ok {
		return nil, apdu.SWIncorrectData
	}
	if cmd.P2 == refMgmt {
		return c.mgmtAuthenticate(cmd.P1, el)
	}
	return c.privateKeyOp(cmd.P1, cmd.P2, el, justVerified)
}

// mgmtCipher builds the block cipher of the management key.
func (c *Card) mgmtCipher() cipher.Block {
	var b cipher.Block
	var err error
	if c.st.mgmtAlg == alg3DES {
		b, err = des.NewTripleDESCipher(c.st.mgmtKey)
	} else {
		b, err = aes.NewCipher(c.st.mgmtKey)
	}
	if err != nil {
		panic(err) // the stored key was validated when set
	}
	return b
}

// mgmtAuthenticate runs the card side of management key authentication:
//
//	mutual:   7C{80 00} → 7C{80 E(W)};  7C{80 W, 81 C [, 82 00]} → 7C{82 E(C)}
//	external: 7C{81 00} → 7C{81 C};     7C{82 E(C)} → 9000
//
// The host proves the key by decrypting the witness (or encrypting the challenge).
func (c *Card) mgmtAuthenticate(alg byte, el map[uint32][]byte) ([]byte, uint16) {
	if alg != c.st.mgmtAlg {
		return nil, apdu.SWIncorrectP1P2
	}
	blk := c.mgmtCipher()
	bs := blk.BlockSize()
	w, hasW := el[tagWitness]
	ch, hasC := el[tagChallenge]
	r, hasR := el[tagResponse]
	if len(el) != btoi(hasW)+btoi(hasC)+btoi(hasR) {
		return nil, apdu.SWIncorrectData // an element we do not know
	}
	switch {
	case hasW && len(w) == 0 && !hasC && !hasR:
		c.mgmtAuth, c.challenge = false, nil
		c.witness = c.random(bs)
		out := make([]byte, bs)
		blk.Encrypt(out, c.witness)
		return apdu.EncodeTLV(0x7C, apdu.EncodeTLV(tagWitness, out)), apdu.SWOK

	case hasW && len(w) > 0 && hasC && len(ch) > 0 && (!hasR || len(r) == 0):
		expect := c.witness
		c.witness = nil
		if expect == nil {
			return nil, apdu.SWConditionsNotSatisfied
		}
		if len(w) != bs || len(ch) != bs {
			return nil, apdu.SWIncorrectData
		}
		if subtle.ConstantTimeCompare(w, expect) != 1 {
			return nil, apdu.SWSecurityNotSatisfied
		}
		c.mgmtAuth = true
		out := make([]byte, bs)
		blk.Encrypt(out, ch)
		return apdu.EncodeTLV(0x7C, apdu.EncodeTLV(tagResponse, out)), apdu.SWOK

	case hasC && len(ch) == 0 && !hasW && (!hasR || len(r) == 0):
		c.mgmtAuth, c.witness = false, nil
		c.challenge = c.random(bs)
		return apdu.EncodeTLV(0x7C, apdu.EncodeTLV(tagChallenge, c.challenge)), apdu.SWOK

	case hasR && len(r) > 0 && !hasW && !hasC:
		chal := c.challenge
		c.challenge = nil
		if chal == nil {
			return nil, apdu.SWConditionsNotSatisfied
		}
		if len(r) != bs {
			return nil, apdu.SWIncorrectData
		}
		expect := make([]byte, bs)
		blk.Encrypt(expect, chal)
		if subtle.ConstantTimeCompare(r, expect) != 1 {
			return nil, apdu.SWSecurityNotSatisfied
		}
		c.mgmtAuth = true
		return nil, apdu.SWOK
	}
	return nil, apdu.SWIncorrectData
}

// btoi is 1 for true and 0 for false (counts, and the flag bytes of GET METADATA).
func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// pinPolicySatisfied applies a key's PIN policy to the current security status.
func (c *Card) pinPolicySatisfied(policy byte, justVerified bool) bool {
	switch policy {
	case pinNever:
		return true
	case pinAlways:
		return c.pinVerified && justVerified
	}
	return c.pinVerified
}

// privateKeyOp: 7C{82 00, 81 input} signs/decrypts, 7C{82 00, 85 peer point} agrees a
// key (ECDH); the answer is 7C{82 output}.
func (c *Card) privateKeyOp(alg, ref byte, el map[uint32][]byte, justVerified bool) ([]byte, uint16) {
	if !userKeyRef(ref) {
		return nil, apdu.SWIncorrectP1P2
	}
	k := c.st.keys[ref]
	if k == nil {
		return nil, apdu.SWRefDataNotFound
	}
	if alg != k.alg {
		return nil, apdu.SWIncorrectData
	}
	if !c.pinPolicySatisfied(k.pinPolicy, justVerified) {
		return nil, apdu.SWSecurityNotSatisfied
	}
	r, hasR := el[tagResponse]
	in, hasC := el[tagChallenge]
	peer, hasE := el[tagExponent]
	if !hasR || len(r) != 0 || hasC == hasE || len(el) != 2 {
		return nil, apdu.SWIncorrectData
	}
	// The PIN comes first, then the touch (a refused PIN answers at once).
	if !c.awaitTouch(k.touchPolicy) {
		return nil, apdu.SWSecurityNotSatisfied
	}
	var out []byte
	ok := false
	switch priv := k.priv.(type) {
	case *rsa.PrivateKey:
		if hasC {
			out, ok = rsaRaw(priv, in)
		}
	case *ecdsa.PrivateKey:
		if hasC {
			out, ok = c.ecdsaSign(priv, in)
		} else {
			out, ok = ecdhAgree(priv.ECDH, ecdhCurve(k.alg), peer)
		}
	case ed25519.PrivateKey:
		if hasC {
			out, ok = ed25519.Sign(priv, in), true
		}
	case *ecdh.PrivateKey:
		if hasE {
			out, ok = ecdhAgree(func() (*ecdh.PrivateKey, error) { return priv, nil }, ecdh.X25519(), peer)
		}
	}
	if !ok {
		return nil, apdu.SWIncorrectData
	}
	c.lastWork = Work{Kind: WorkPrivateKey, Alg: k.alg}
	return apdu.EncodeTLV(0x7C, apdu.EncodeTLV(tagResponse, out)), apdu.SWOK
}

// rsaRaw is the RSA private key primitive on a modulus-sized block (the host did the
// padding), computed with the CRT.
func rsaRaw(k *rsa.PrivateKey, in []byte) ([]byte, bool) {
	size := k.Size()
	if len(in) != size {
		return nil, false
	}
	m := new(big.Int).SetBytes(in)
	if m.Cmp(k.N) >= 0 {
		return nil, false
	}
	var s *big.Int
	if pc := k.Precomputed; pc.Dp != nil && pc.Dq != nil && pc.Qinv != nil && len(k.Primes) == 2 {
		p, q := k.Primes[0], k.Primes[1]
		m1 := new(big.Int).Exp(m, pc.Dp, p)
		m2 := new(big.Int).Exp(m, pc.Dq, q)
		h := m1.Sub(m1, m2)
		h.Mul(h, pc.Qinv)
		h.Mod(h, p)
		s = h.Mul(h, q)
		s.Add(s, m2)
	} else {
		s = new(big.Int).Exp(m, k.D, k.N)
	}
	return s.FillBytes(make([]byte, size)), true
}

// ecdsaSign signs a hash already cut to the curve size by the host; a shorter input is
// the same integer as its left zero padding. Output: DER SEQUENCE { r, s }.
func (c *Card) ecdsaSign(k *ecdsa.PrivateKey, in []byte) ([]byte, bool) {
	size := (k.Curve.Params().BitSize + 7) / 8
	if len(in) == 0 || len(in) > size {
		return nil, false
	}
	sig, err := ecdsa.SignASN1(c.rand, k, in)
	if err != nil {
		return nil, false
	}
	return sig, true
}

// ecdhAgree returns the shared secret (the x coordinate for NIST curves) with the peer
// point (uncompressed for NIST curves, 32 bytes for X25519).
func ecdhAgree(own func() (*ecdh.PrivateKey, error), curve ecdh.Curve, peer []byte) ([]byte, bool) {
	priv, err := own()
	if err != nil || curve == nil {
		return nil, false
	}
	pub, err := curve.NewPublicKey(peer)
	if err != nil {
		return nil, false
	}
	secret, err := priv.ECDH(pub)
	if err != nil {
		return nil, false
	}
	return secret, true
}
