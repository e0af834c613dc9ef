package vpiv

import (
	"bytes"
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/binary"
	"math/big"

	"github.com/pcsc11/pcsc11/apdu"
)

// The Yubico PIV extensions
// (https://developers.yubico.com/PIV/Introduction/Yubico_extensions.html).

// defaultMgmtKey is the factory management key, the same value whatever the
// algorithm (3DES before firmware 5.7, AES-192 from 5.7).
var defaultMgmtKey = []byte{1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8}

// defaultMgmtAlg is the factory management-key algorithm: Options.MgmtAlg, else the
// profile's first.
func (c *Card) defaultMgmtAlg() byte {
	if c.opts.MgmtAlg != 0 {
		return c.opts.MgmtAlg
	}
	return c.prof.MgmtAlgs[0]
}

// factoryMgmtKey is the default key value cut to the algorithm's length (AES-128
// takes the first 16 bytes, AES-256 repeats the pattern).
func factoryMgmtKey(alg byte) []byte {
	k := make([]byte, mgmtKeyLen(alg))
	for i := range k {
		k[i] = defaultMgmtKey[i%len(defaultMgmtKey)]
	}
	return k
}

func mgmtKeyLen(alg byte) int {
	switch alg {
	case alg3DES, algAES192:
		return 24
	case algAES128:
		return 16
	case algAES256:
		return 32
	}
	return 0
}

// getVersion: 00 FD 00 00 → major minor patch.
func (c *Card) getVersion(cmd apdu.Command) ([]byte, uint16) {
	if len(cmd.Data) != 0 {
		return nil, apdu.SWWrongLength
	}
	return append([]byte(nil), c.prof.Version[:]...), apdu.SWOK
}

// getSerial: 00 F8 00 00 → serial, 4 bytes big-endian.
func (c *Card) getSerial(cmd apdu.Command) ([]byte, uint16) {
	if len(cmd.Data) != 0 {
		return nil, apdu.SWWrongLength
	}
	return binary.BigEndian.AppendUint32(nil, c.st.serial), apdu.SWOK
}

// setManagementKey: 00 FF FF FF (FE = touch required), data <alg> 9B <len> <key>.
func (c *Card) setManagementKey(cmd apdu.Command) ([]byte, uint16) {
	if cmd.P1 != 0xFF || (cmd.P2 != 0xFF && cmd.P2 != 0xFE) {
		return nil, apdu.SWIncorrectP1P2
	}
	if !c.mgmtAuth {
		return nil, apdu.SWSecurityNotSatisfied
	}
	d := cmd.Data
	if len(d) < 3 || d[1] != refMgmt || mgmtKeyLen(d[0]) == 0 || !c.prof.supportsMgmtAlg(d[0]) ||
		int(d[2]) != mgmtKeyLen(d[0]) || len(d) != 3+int(d[2]) {
		return nil, apdu.SWIncorrectData
	}
	c.st.mgmtAlg = d[0]
	c.st.mgmtKey = append([]byte(nil), d[3:]...)
	c.st.mgmtTouch = touchNever
	if cmd.P2 == 0xFE {
		c.st.mgmtTouch = touchAlways
	}
	c.st.mgmtDefault = bytes.Equal(c.st.mgmtKey, factoryMgmtKey(d[0]))
	c.dirty = true
	return nil, apdu.SWOK
}

// importKey: 00 FE <alg> <key>, data RSA 01 P 02 Q 03 dP 04 dQ 05 qInv | EC 06 scalar |
// Ed25519 07 seed | X25519 08 scalar, then optional AA/AB policies.
func (c *Card) importKey(cmd apdu.Command) ([]byte, uint16) {
	if !c.keyRef(cmd.P2) || !c.prof.supportsAlg(cmd.P1) {
		return nil, apdu.SWIncorrectP1P2
	}
	if !c.mgmtAuth {
		return nil, apdu.SWSecurityNotSatisfied
	}
	el, ok := elements(cmd.Data)
	if !ok {
		return nil, apdu.SWIncorrectData
	}
	aa, hasAA := el[0xAA]
	ab, hasAB := el[0xAB]
	delete(el, 0xAA)
	delete(el, 0xAB)
	pp, tp, ok := policyArgs(cmd.P2, aa, ab, hasAA, hasAB)
	if !ok {
		return nil, apdu.SWIncorrectData
	}
	priv := parseImport(cmd.P1, el)
	if priv == nil || algOf(priv) != cmd.P1 {
		return nil, apdu.SWIncorrectData
	}
	if cmd.P2 == refAttestation && cmd.P1 == algX25519 {
		return nil, apdu.SWIncorrectData // the attestation key must sign
	}
	c.st.keys[cmd.P2] = &slotKey{alg: cmd.P1, pinPolicy: pp, touchPolicy: tp, origin: originImported, priv: priv}
	c.dirty = true
	return nil, apdu.SWOK
}

// parseImport builds the private key from the IMPORT KEY elements, nil when invalid.
func parseImport(alg byte, el map[uint32][]byte) crypto.PrivateKey {
	only := func(tags ...uint32) bool {
		if len(el) != len(tags) {
			return false
		}
		for _, t := range tags {
			if _, ok := el[t]; !ok {
				return false
			}
		}
		return true
	}
	switch {
	case rsaBits(alg) != 0:
		if !only(1, 2, 3, 4, 5) {
			return nil
		}
		if k := rsaFromCRT(el[1], el[2], el[3], el[4], el[5]); k != nil {
			return k // not a typed nil in the interface
		}
		return nil
	case ecCurve(alg) != nil:
		if !only(6) {
			return nil
		}
		size := (ecCurve(alg).Params().BitSize + 7) / 8
		d := el[6]
		if len(d) > size || len(d) == 0 {
			return nil
		}
		d = append(make([]byte, size-len(d)), d...)
		k, err := ecdsa.ParseRawPrivateKey(ecCurve(alg), d)
		if err != nil {
			return nil
		}
		return k
	case alg == algEd25519:
		if !only(7) || len(el[7]) != ed25519.SeedSize {
			return nil
		}
		return ed25519.NewKeyFromSeed(el[7])
	case alg == algX25519:
		if !only(8) {
			return nil
		}
		k, err := ecdh.X25519().NewPrivateKey(el[8])
		if err != nil {
			return nil
		}
		return k
	}
	return nil
}

// rsaFromCRT rebuilds an RSA key from its primes and CRT values; the public exponent
// is 65537, the only one a YubiKey imports.
func rsaFromCRT(pb, qb, dpb, dqb, qinvb []byte) *rsa.PrivateKey {
	p, q := new(big.Int).SetBytes(pb), new(big.Int).SetBytes(qb)
	if p.Sign() == 0 || q.Sign() == 0 || p.BitLen() > 2048 || q.BitLen() > 2048 {
		return nil
	}
	one := big.NewInt(1)
	e := big.NewInt(65537)
	pm1 := new(big.Int).Sub(p, one)
	qm1 := new(big.Int).Sub(q, one)
	phi := new(big.Int).Mul(pm1, qm1)
	d := new(big.Int).ModInverse(e, phi)
	if d == nil {
		return nil
	}
	k := &rsa.PrivateKey{
		PublicKey: rsa.PublicKey{N: new(big.Int).Mul(p, q), E: 65537},
		D:         d,
		Primes:    []*big.Int{p, q},
	}
	if err := k.Validate(); err != nil {
		return nil
	}
	k.Precompute()
	if k.Precomputed.Dp.Cmp(new(big.Int).SetBytes(dpb)) != 0 ||
		k.Precomputed.Dq.Cmp(new(big.Int).SetBytes(dqb)) != 0 ||
		k.Precomputed.Qinv.Cmp(new(big.Int).SetBytes(qinvb)) != 0 {
		return nil
	}
	return k
}

// resetApplet: 00 FB 00 00, allowed only when both PIN and PUK are blocked. Keys,
// objects and credentials go back to factory state; the attestation key and its
// certificate stay, as on a YubiKey.
func (c *Card) resetApplet(cmd apdu.Command) ([]byte, uint16) {
	if cmd.P1 != 0 || cmd.P2 != 0 {
		return nil, apdu.SWIncorrectP1P2
	}
	if c.st.pinLeft != 0 || c.st.pukLeft != 0 {
		return nil, apdu.SWConditionsNotSatisfied
	}
	att := c.st.keys[refAttestation]
	attCert, hasCert := c.st.objects[objAttestation]
	c.factoryCredentials()
	c.st.keys = map[byte]*slotKey{}
	c.st.objects = map[uint32][]byte{}
	if att != nil {
		c.st.keys[refAttestation] = att
	}
	if hasCert {
		c.st.objects[objAttestation] = attCert
	}
	c.clearSecurity()
	c.dirty = true
	return nil, apdu.SWOK
}

// setRetries: 00 FA <pin tries> <puk tries>, needs the management key and the PIN;
// PIN and PUK return to their factory values (Yubico documents this).
func (c *Card) setRetries(cmd apdu.Command) ([]byte, uint16) {
	if cmd.P1 == 0 || cmd.P2 == 0 {
		return nil, apdu.SWIncorrectP1P2
	}
	if !c.mgmtAuth || !c.pinVerified {
		return nil, apdu.SWSecurityNotSatisfied
	}
	c.st.pinMax, c.st.pinLeft = int(cmd.P1), int(cmd.P1)
	c.st.pukMax, c.st.pukLeft = int(cmd.P2), int(cmd.P2)
	c.st.pinHash, c.st.pinDefault = c.hashSecret(defaultPIN), true
	c.st.pukHash, c.st.pukDefault = c.hashSecret(defaultPUK), true
	c.pinVerified, c.pinJust = false, false
	c.dirty = true
	return nil, apdu.SWOK
}

// getMetadata: 00 F7 00 <ref> → 01 algorithm, 02 policies, 03 origin, 04 public key
// (for keys), 05 default value, 06 tries total/left (PIN, PUK, management key).
func (c *Card) getMetadata(cmd apdu.Command) ([]byte, uint16) {
	if cmd.P1 != 0 {
		return nil, apdu.SWIncorrectP1P2
	}
	var out []byte
	switch ref := cmd.P2; {
	case ref == refPIN || ref == refPUK:
		def, max, left := c.st.pinDefault, c.st.pinMax, c.st.pinLeft
		if ref == refPUK {
			def, max, left = c.st.pukDefault, c.st.pukMax, c.st.pukLeft
		}
		out = apdu.AppendTLV(out, 0x01, []byte{algPIN})
		out = apdu.AppendTLV(out, 0x05, []byte{byte(btoi(def))})
		out = apdu.AppendTLV(out, 0x06, []byte{byte(max), byte(left)})
	case ref == refMgmt:
		out = apdu.AppendTLV(out, 0x01, []byte{c.st.mgmtAlg})
		out = apdu.AppendTLV(out, 0x02, []byte{pinNever, c.st.mgmtTouch})
		out = apdu.AppendTLV(out, 0x05, []byte{byte(btoi(c.st.mgmtDefault))})
	case c.keyRef(ref):
		k := c.st.keys[ref]
		if k == nil {
			return nil, apdu.SWRefDataNotFound
		}
		out = apdu.AppendTLV(out, 0x01, []byte{k.alg})
		out = apdu.AppendTLV(out, 0x02, []byte{k.pinPolicy, k.touchPolicy})
		out = apdu.AppendTLV(out, 0x03, []byte{k.origin})
		out = apdu.AppendTLV(out, 0x04, publicKeyTLVs(k.priv))
	default:
		return nil, apdu.SWIncorrectP1P2
	}
	return out, apdu.SWOK
}

// moveKey: 00 F6 <to> <from> (5.7): moves a key between user slots (any key in the
// destination is replaced); <to> = FF deletes the key in <from>. Certificates stay.
func (c *Card) moveKey(cmd apdu.Command) ([]byte, uint16) {
	to, from := cmd.P1, cmd.P2
	if !userKeyRef(from) || (to != 0xFF && (!userKeyRef(to) || to == from)) {
		return nil, apdu.SWIncorrectP1P2
	}
	if !c.mgmtAuth {
		return nil, apdu.SWSecurityNotSatisfied
	}
	k := c.st.keys[from]
	if k == nil {
		return nil, apdu.SWRefDataNotFound
	}
	delete(c.st.keys, from)
	if to != 0xFF {
		c.st.keys[to] = k
	}
	c.dirty = true
	return nil, apdu.SWOK
}
