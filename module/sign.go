package module

import (
	"crypto"
	"crypto/rand"
	"hash"
	"slices"

	"github.com/pcsc11/pcsc11/ck"
	"github.com/pcsc11/pcsc11/slot"
)

// maxBuffered bounds the data a single-part mechanism accumulates through SignUpdate.
const maxBuffered = 1 << 24

type signKind int

const (
	kindRSAPKCS1 signKind = iota + 1 // PKCS#1 v1.5 type 1 over a DigestInfo
	kindRSARaw                       // CKM_RSA_X_509
	kindRSAPSS
	kindECDSA
	kindEdDSA
)

// signOp is the family of C_SignInit..C_Sign/C_SignFinal: the module hashes and pads,
// the card runs the private-key primitive.
type signOp struct {
	mech      ck.ULong
	key       string
	kind      signKind
	hash      crypto.Hash // hash applied by the module (0: the caller's data is the input)
	running   hash.Hash   // the hash being fed by C_SignUpdate
	collected             // data of a mechanism without hashing, fed by C_SignUpdate

	modBits, sigLen int // RSA modulus bits; signature length in bytes
	ecBits          int
	pssHash, mgf    crypto.Hash
	saltLen         int
}

// fresh returns a new operation with op's mechanism and key and no data: one message
// of a message-based signing process.
func (op *signOp) fresh() family {
	c := *op
	c.collected.buf = nil
	if op.hash != 0 {
		c.running = op.hash.New()
	}
	return &c
}

func (op *signOp) size() (int, bool) { return op.sigLen, true }

// SignInit is C_SignInit (spec 5.13.1).
func (l *Library) SignInit(h ck.ULong, mech Mechanism, key ck.ULong) ck.ULong {
	return l.initOp(h, OpSign, func(ts *tokenState) (family, *contextAuth, ck.ULong) { return l.newSignOp(ts, mech, key) })
}

// newSignOp checks key and mechanism against each other and the token, and prepares
// the operation (l.mu held).
func (l *Library) newSignOp(ts *tokenState, mech Mechanism, key ck.ULong) (*signOp, *contextAuth, ck.ULong) {
	obj, auth, rv := l.usableKey(ts, key, mech.Type, ck.CKF_SIGN)
	if rv != ck.CKR_OK {
		return nil, nil, rv
	}
	op, rv := prepareOp(obj.Attrs, obj.Key, mech)
	return op, auth, rv
}

// prepareOp checks the mechanism against the key's type, size and the mechanism
// parameters, and sets up an operation for signing or verifying with it.
func prepareOp(a map[ck.ULong]any, key string, mech Mechanism) (*signOp, ck.ULong) {
	keyType, _ := a[ck.CKA_KEY_TYPE].(ck.ULong)
	op := &signOp{mech: mech.Type, key: key, hash: hashOfMech(mech.Type),
		collected: collected{limit: maxBuffered, tooLong: ck.CKR_DATA_LEN_RANGE}}
	switch {
	case mech.Type == ck.CKM_RSA_X_509 || slices.Contains(rsaPKCS1Mechs, mech.Type) || slices.Contains(pssMechs, mech.Type):
		if keyType != ck.CKK_RSA {
			return nil, ck.CKR_KEY_TYPE_INCONSISTENT
		}
		op.modBits, op.sigLen = rsaModulus(a)
		if op.modBits < 512 {
			return nil, ck.CKR_KEY_SIZE_RANGE
		}
		op.kind = kindRSAPKCS1
		if mech.Type == ck.CKM_RSA_X_509 {
			op.kind = kindRSARaw
		}
		if slices.Contains(pssMechs, mech.Type) {
			op.kind = kindRSAPSS
			if rv := op.pssParams(mech); rv != ck.CKR_OK {
				return nil, rv
			}
		}
	case slices.Contains(ecdsaMechs, mech.Type):
		if keyType != ck.CKK_EC {
			return nil, ck.CKR_KEY_TYPE_INCONSISTENT
		}
		op.kind = kindECDSA
		op.ecBits = ecOrderBits(a)
		if op.ecBits == 0 {
			return nil, ck.CKR_KEY_SIZE_RANGE
		}
		op.sigLen = 2 * ((op.ecBits + 7) / 8)
	case mech.Type == ck.CKM_EDDSA:
		if keyType != ck.CKK_EC_EDWARDS {
			return nil, ck.CKR_KEY_TYPE_INCONSISTENT
		}
		// CK_EDDSA_PARAMS { CK_BBOOL phFlag; CK_ULONG ulContextDataLen; CK_BYTE_PTR } :
		// only pure Ed25519 without context (what the card does) is accepted.
		if len(mech.Param) != 0 {
			if len(mech.Param) != 3*ulongSize {
				return nil, ck.CKR_MECHANISM_PARAM_INVALID
			}
			ctxLen, _ := parseULongs(mech.Param[ulongSize:2*ulongSize], 1)
			if mech.Param[0] != 0 || ctxLen[0] != 0 {
				return nil, ck.CKR_MECHANISM_PARAM_INVALID
			}
		}
		op.kind = kindEdDSA
		op.sigLen = 64
	default:
		return nil, ck.CKR_MECHANISM_INVALID
	}
	if op.hash != 0 {
		op.running = op.hash.New()
	}
	return op, ck.CKR_OK
}

// pssParams checks CK_RSA_PKCS_PSS_PARAMS {hashAlg, mgf, sLen} (PKCS#11 mechanisms,
// RSA PKCS #1 PSS): a known hash, the mechanism's own hash for the hash-and-sign
// variants, an MGF1 variant, and a salt that fits the modulus.
func (op *signOp) pssParams(mech Mechanism) ck.ULong {
	p, ok := parseULongs(mech.Param, 3)
	if !ok {
		return ck.CKR_MECHANISM_PARAM_INVALID
	}
	op.pssHash = hashOfMech(p[0])
	op.mgf = hashOfMGF(p[1])
	if !isDigestMech(p[0]) || op.mgf == 0 {
		return ck.CKR_MECHANISM_PARAM_INVALID
	}
	if op.hash != 0 && op.hash != op.pssHash {
		return ck.CKR_MECHANISM_PARAM_INVALID
	}
	emLen := (op.modBits - 1 + 7) / 8
	if p[2] > ck.ULong(emLen) || int(p[2]) > emLen-op.pssHash.Size()-2 {
		return ck.CKR_MECHANISM_PARAM_INVALID
	}
	op.saltLen = int(p[2])
	return ck.CKR_OK
}

func isDigestMech(m ck.ULong) bool { return slices.Contains(digestMechs, m) }

// update feeds data to the operation.
func (op *signOp) update(data []byte) ck.ULong {
	if op.running != nil {
		op.running.Write(data)
		return ck.CKR_OK
	}
	return op.collected.update(data)
}

// cardInput builds the input of the card's primitive from the data fed so far.
func (op *signOp) cardInput() ([]byte, slot.KeyOp, ck.ULong) {
	msg := op.buf
	if op.running != nil {
		msg = op.running.Sum(nil)
	}
	k := op.sigLen
	switch op.kind {
	case kindRSAPKCS1:
		t := msg
		if op.hash != 0 {
			t = digestInfo(op.hash, msg)
		}
		em, ok := pkcs1Type1(t, k)
		if !ok {
			return nil, 0, ck.CKR_DATA_LEN_RANGE
		}
		return em, slot.OpRSARaw, ck.CKR_OK
	case kindRSARaw:
		if len(msg) > k {
			return nil, 0, ck.CKR_DATA_LEN_RANGE
		}
		em := make([]byte, k)
		copy(em[k-len(msg):], msg)
		return em, slot.OpRSARaw, ck.CKR_OK
	case kindRSAPSS:
		salt := make([]byte, op.saltLen)
		if _, err := rand.Read(salt); err != nil {
			return nil, 0, ck.CKR_FUNCTION_FAILED
		}
		em, ok := pssEncode(msg, op.pssHash, op.mgf, salt, op.modBits, k)
		if !ok {
			return nil, 0, ck.CKR_DATA_LEN_RANGE
		}
		return em, slot.OpRSARaw, ck.CKR_OK
	case kindECDSA:
		if len(msg) == 0 {
			return nil, 0, ck.CKR_DATA_LEN_RANGE
		}
		return ecdsaInput(msg, op.ecBits), slot.OpECDSA, ck.CKR_OK
	case kindEdDSA:
		return append([]byte(nil), msg...), slot.OpEdDSA, ck.CKR_OK
	}
	return nil, 0, ck.CKR_GENERAL_ERROR
}

// Sign is C_Sign (spec 5.13.2; the rules are the engine's, operation.go).
func (l *Library) Sign(h ck.ULong, data []byte, out OutBuf) (ck.ULong, ck.ULong) {
	return l.finishOp(h, OpSign, data, true, out, nil)
}

// SignUpdate is C_SignUpdate.
func (l *Library) SignUpdate(h ck.ULong, part []byte) ck.ULong {
	return l.updateOp(h, OpSign, part)
}

// SignFinal is C_SignFinal.
func (l *Library) SignFinal(h ck.ULong, out OutBuf) (ck.ULong, ck.ULong) {
	return l.finishOp(h, OpSign, nil, false, out, nil)
}

// finish runs the card's part of a signature whose data has all been fed (l.mu held,
// released for the card: see privateKeyOp).
func (op *signOp) finish(c finishCall) ([]byte, ck.ULong) {
	if !c.auth.ready() {
		return nil, ck.CKR_USER_NOT_LOGGED_IN
	}
	in, kop, rv := op.cardInput()
	if rv != ck.CKR_OK {
		return nil, rv
	}
	sig, err := c.l.privateKeyOp(c.s, c.ts, ck.CKF_SIGN, op.key, kop, in, c.auth != nil)
	c.auth.used()
	clear(in)
	if err != nil {
		Logf("sign (mechanism 0x%x) session %d: %v", op.mech, c.s.handle, err)
		return nil, rvOf(err)
	}
	if op.kind <= kindRSAPSS && len(sig) < op.sigLen {
		// The card may drop leading zero bytes of the RSA result.
		sig = append(make([]byte, op.sigLen-len(sig)), sig...)
	}
	if len(sig) != op.sigLen {
		Logf("sign: card returned %d bytes, want %d", len(sig), op.sigLen)
		return nil, ck.CKR_DEVICE_ERROR
	}
	return sig, ck.CKR_OK
}
