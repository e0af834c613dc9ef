package piv

import (
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"math/big"
	"slices"

	"github.com/pcsc11/pcsc11/apdu"
	"github.com/pcsc11/pcsc11/ck"
	"github.com/pcsc11/pcsc11/slot"
)

// keyInfo is what the token knows about one key slot.
type keyInfo struct {
	slot keySlot
	alg  byte             // PIV algorithm, 0 when no usable key is known
	pub  crypto.PublicKey // from metadata, else from the certificate
	cert *certInfo
	meta *metadata     // YubiKey 5.3+ only
	objs []slot.Object // the slot's PKCS#11 objects (certificate, public, private key)
}

// The token's objects are read slot by slot and cached for the token's life (a new
// card means a new Token): t.keys[ref] exists once key slot ref was read, with its
// objects; t.objects is the whole list once every slot was read. Nothing about one
// slot's objects depends on another slot, so a slot read alone gives the same objects
// as the full enumeration, and a slot is never read twice. Writes forget the slot they
// changed (forgetSlot); Invalidate and InitToken forget everything.

// What was read is also published under t.cache, a lock of its own: t.mu is held
// for the whole of a card exchange (a signature: tens of milliseconds), and a question
// about objects already read (the module asks one for every C_SignInit, under its
// library lock) must not wait for it. Writers hold both locks; stored objects are
// never changed afterwards.

// cached returns key slot ref's record if it was read, without waiting for t.mu.
func (t *Token) cached(ref byte) *keyInfo {
	t.cache.RLock()
	defer t.cache.RUnlock()
	return t.keys[ref]
}

// slotRecord is key slot s's record: from the cache when it was read, else read now
// (taking t.mu; the caller must not hold it).
func (t *Token) slotRecord(s keySlot) (*keyInfo, error) {
	if k := t.cached(s.ref); k != nil {
		return k, nil
	}
	t.mu.Lock()
	defer t.unlock()
	return t.ensureSlot(s)
}

// Objects lists the token's objects: every slot not read yet is read, in one
// transaction.
func (t *Token) Objects() ([]slot.Object, error) {
	t.cache.RLock()
	all, data := t.objects, t.dataObjs
	t.cache.RUnlock()
	if all != nil && data != nil {
		return withData(all, data), nil
	}
	t.mu.Lock()
	defer t.unlock()
	if err := t.ensureKeys(); err != nil {
		return nil, err
	}
	if err := t.ensureData(); err != nil {
		return nil, err
	}
	return withData(t.objects, t.dataObjs), nil
}

// withData is the whole list: the key slots' objects, then the data objects.
func withData(keys, data []slot.Object) []slot.Object {
	if len(data) == 0 {
		return keys
	}
	return append(slices.Clip(keys), data...)
}

// ObjectsWithID is slot.ObjectFinder: the objects of the one key slot a CKA_ID can
// name (01 → 9A, ...; slots.go), reading only that slot. Any other id names no object
// and sends nothing.
func (t *Token) ObjectsWithID(id []byte) ([]slot.Object, error) {
	if len(id) != 1 {
		return nil, nil
	}
	s, ok := slotByID(id[0])
	if !ok {
		return nil, nil
	}
	k, err := t.slotRecord(s)
	if err != nil {
		return nil, err
	}
	return k.objs, nil
}

// Object is slot.ObjectFinder: the object named key, reading only its slot.
func (t *Token) Object(key string) (slot.Object, bool, error) {
	if _, isData := dataByKey(key); isData {
		return t.dataObject(key)
	}
	_, s, ok := objectRef(key)
	if !ok {
		return slot.Object{}, false, nil
	}
	k, err := t.slotRecord(s)
	if err != nil {
		return slot.Object{}, false, err
	}
	if o := findObject(k.objs, key); o != nil {
		return *o, true, nil
	}
	return slot.Object{}, false, nil
}

var _ slot.ObjectFinder = (*Token)(nil)

// dataObject is Object for a data object key: the data objects are probed (once) if
// they were not.
func (t *Token) dataObject(key string) (slot.Object, bool, error) {
	t.cache.RLock()
	data := t.dataObjs
	t.cache.RUnlock()
	if data == nil {
		t.mu.Lock()
		err := t.ensureData()
		data = t.dataObjs
		t.mu.Unlock()
		if err != nil {
			return slot.Object{}, false, err
		}
	}
	if o := findObject(data, key); o != nil {
		return *o, true, nil
	}
	return slot.Object{}, false, nil
}

// ensureSlot reads key slot s unless cached, in its own transaction (or the one kept
// by a context-specific login). Caller holds t.mu.
func (t *Token) ensureSlot(s keySlot) (*keyInfo, error) {
	if k := t.keys[s.ref]; k != nil {
		return k, nil
	}
	if err := t.transact(func() error { return t.loadSlot(s) }); err != nil {
		return nil, err
	}
	return t.keys[s.ref], nil
}

// ensureKeys reads every key slot not read yet, in one transaction, and builds the
// whole list. Caller holds t.mu.
func (t *Token) ensureKeys() error {
	if t.objects != nil {
		return nil
	}
	if err := t.ensureSlots(func(keySlot) bool { return true }); err != nil {
		return err // the slots read before the failure stay read
	}
	objs := []slot.Object{}
	for _, s := range slots {
		objs = append(objs, t.keys[s.ref].objs...)
	}
	t.cache.Lock()
	t.objects = slices.Clip(objs)
	t.cache.Unlock()
	return nil
}

// ensureSlots reads every key slot s with want(s) not read yet, in one transaction
// (none when all were read). Caller holds t.mu.
func (t *Token) ensureSlots(want func(keySlot) bool) error {
	missing := false
	for _, s := range slots {
		missing = missing || (want(s) && t.keys[s.ref] == nil)
	}
	if !missing {
		return nil
	}
	return t.transact(func() error {
		for _, s := range slots {
			if want(s) && t.keys[s.ref] == nil {
				if err := t.loadSlot(s); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// ObjectsOfClass is slot.ClassFinder. Certificates and keys live in the user key slots
// only: a search for them reads those (GET METADATA each, and the certificates), not
// the attestation slot F9, whose certificate is a data object, nor the data objects
// (5 short probes on a YubiKey, 9 on a standard PIV card). A search for data objects
// gets the whole list; one for any other class (NSS asks for its trust objects,
// CKO_NSS_TRUST) finds nothing without a command: this driver makes no such objects.
func (t *Token) ObjectsOfClass(class ck.ULong) ([]slot.Object, error) {
	switch class {
	case ck.CKO_CERTIFICATE, ck.CKO_PUBLIC_KEY, ck.CKO_PRIVATE_KEY:
	case ck.CKO_DATA:
		return t.Objects()
	default:
		return nil, nil
	}
	userSlot := func(s keySlot) bool { return s.ref != attestationRef }
	for {
		if out, ok := t.cachedOfClass(class, userSlot); ok {
			return out, nil // read before: no wait for another thread's card exchange
		}
		// Read what is missing; a write by another thread in between forgets a slot
		// again, and the next round reads it.
		t.mu.Lock()
		err := t.ensureSlots(userSlot)
		t.mu.Unlock()
		if err != nil {
			return nil, err
		}
	}
}

// cachedOfClass collects the objects of class from the key slots with want, if every
// one of them was read (ok false otherwise).
func (t *Token) cachedOfClass(class ck.ULong, want func(keySlot) bool) (out []slot.Object, ok bool) {
	t.cache.RLock()
	defer t.cache.RUnlock()
	for _, s := range slots {
		if !want(s) {
			continue
		}
		k := t.keys[s.ref]
		if k == nil {
			return nil, false
		}
		for _, o := range k.objs {
			if o.Attrs[ck.CKA_CLASS] == class {
				out = append(out, o)
			}
		}
	}
	return out, true
}

var _ slot.ClassFinder = (*Token)(nil)

// loadSlot reads key slot s and records it with its objects. Caller runs inside
// transact.
func (t *Token) loadSlot(s keySlot) error {
	k, err := t.readSlot(s)
	if err != nil {
		return err
	}
	k.objs = slices.Clip(buildObjects(k)) // handed out: an append must not write here
	t.markDestroyable(k.objs)
	t.cache.Lock()
	defer t.cache.Unlock()
	if t.keys == nil {
		t.keys = make(map[byte]*keyInfo, len(slots))
	}
	t.keys[s.ref] = k
	return nil
}

// forgetSlot drops what was read of key slot ref, after a write to it (t.mu held).
func (t *Token) forgetSlot(ref byte) {
	t.cache.Lock()
	defer t.cache.Unlock()
	delete(t.keys, ref)
	t.objects = nil
}

// forgetObjects drops every slot read and the data objects (t.mu held).
func (t *Token) forgetObjects() {
	t.cache.Lock()
	defer t.cache.Unlock()
	t.keys, t.objects = nil, nil
	t.dataObjs, t.dataValues = nil, nil
	t.retiredKnown = false
}

// markDestroyable sets CKA_DESTROYABLE (spec 4.4) to what DestroyObject can do here:
// certificates, private keys on YubiKey 5.7+ (MOVE/DELETE KEY) except the attestation
// key; never a public key on its own.
func (t *Token) markDestroyable(objs []slot.Object) {
	for _, o := range objs {
		kind, s, _ := objectRef(o.Key)
		o.Attrs[ck.CKA_DESTROYABLE] = (kind == "cert" && s.ref != attestationRef) ||
			(kind == "priv" && s.ref != attestationRef && t.atLeast(5, 7))
	}
}

// readSlot reads one key slot. On YubiKey 5.3+ GET METADATA tells whether the slot
// holds a key (and its policies and public key) in one short answer, so the
// certificate container is only read for a slot that holds a key: 25 + n APDUs for
// the whole card instead of 50. A certificate stored in a slot without a key is
// therefore not listed on those cards (unless this token wrote it).
//
// On a card without metadata, a retired slot beyond what the Key History Object counts
// is empty without a command (keyhistory.go retiredUnused).
func (t *Token) readSlot(s keySlot) (*keyInfo, error) {
	k := &keyInfo{slot: s}
	if unused, err := t.retiredUnused(s.ref); err != nil || unused {
		return k, err
	}
	readCert := true
	if t.atLeast(5, 3) {
		m, err := t.getMetadata(s.ref)
		switch {
		case err == nil:
			k.meta = m
			if knownAlg(m.alg) && len(m.publicKey) > 0 {
				pub, perr := parsePublicKey(m.alg, m.publicKey)
				if perr != nil {
					// A public key that does not parse hides this slot's key, not the
					// token: the certificate may still give it.
					t.skipBad(uint32(s.ref), "metadata of slot", perr)
					break
				}
				k.pub, k.alg = pub, m.alg
			}
		case apdu.IsNotFound(err):
			readCert = t.knownCerts[s.ref] // empty slot, unless we wrote a certificate there
		case !t.metadataUnknown(s.ref, err):
			return nil, err // transport failure
		default:
			// The card does not tell this slot's metadata: its certificate may.
		}
	}
	if readCert {
		data, err := t.getCertData(s.object)
		switch {
		case err == nil:
			c, perr := parseCertContainer(data)
			if perr != nil {
				// One malformed container hides its certificate, nothing else: the
				// slot's key stays listed from metadata where the card has it.
				t.skipBad(s.object, "certificate container", perr)
				break
			}
			k.cert = c
		case errors.Is(err, errMalformedObject):
			t.skipBad(s.object, "certificate container", err)
		case apdu.IsNotFound(err), swIs(err, apdu.SWSecurityNotSatisfied):
		default:
			return nil, err
		}
	}
	if pk := t.knownPub[s.ref]; k.pub == nil && pk != nil {
		k.pub, k.alg = pk, algorithmOf(pk) // generated or imported by this token, no metadata
	}
	if k.pub == nil && k.cert != nil && k.cert.pub != nil {
		k.pub, k.alg = k.cert.pub, algorithmOf(k.cert.pub)
	}
	return k, nil
}

func knownAlg(a byte) bool {
	switch a {
	case algRSA1024, algRSA2048, algRSA3072, algRSA4096, algP256, algP384, algEd25519, algX25519:
		return true
	}
	return false
}

// buildObjects turns one key slot into its PKCS#11 objects: certificate, public key,
// private key. The YubiKey attestation slot F9 is the exception: its key signs only
// attestations (GENERAL AUTHENTICATE with it is refused), so it is no key a user can
// authenticate with, and clients that offer every certificate or public key they
// find (OpenSSH's ssh-keygen -D and ssh-add -s) must not see one. Its
// certificate stays reachable as a data object (attestationObject) for `pcsc11
// attest` and anyone verifying an attestation.
func buildObjects(k *keyInfo) []slot.Object {
	if k.slot.ref == attestationRef {
		if k.cert == nil {
			return nil
		}
		return []slot.Object{{Key: certKey(k.slot.ref), Attrs: attestationAttrs(k)}}
	}
	var objs []slot.Object
	if k.cert != nil {
		objs = append(objs, slot.Object{Key: certKey(k.slot.ref), Attrs: certAttrs(k)})
	}
	if k.pub != nil {
		objs = append(objs,
			slot.Object{Key: pubKey(k.slot.ref), Attrs: pubAttrs(k)},
			slot.Object{Key: privKey(k.slot.ref), Attrs: privAttrs(k)})
	}
	return objs
}

// attestationRef is the YubiKey attestation key slot.
const attestationRef = 0xF9

// AttestationApplication is CKA_APPLICATION of the data object that holds the
// YubiKey attestation certificate (F9's, object 5FFF01); its CKA_VALUE is the DER
// certificate and it keeps the slot's CKA_ID (0x19), as a convenience for callers
// that looked for it by ID when it was a certificate object.
const AttestationApplication = "YubiKey PIV Attestation"

// attestationAttrs: the F9 certificate as CKO_DATA.
func attestationAttrs(k *keyInfo) slot.Attributes {
	return slot.Attributes{
		ck.CKA_CLASS:       ck.CKO_DATA,
		ck.CKA_TOKEN:       true,
		ck.CKA_PRIVATE:     false,
		ck.CKA_MODIFIABLE:  false,
		ck.CKA_LABEL:       "X.509 Certificate for " + k.slot.name,
		ck.CKA_APPLICATION: AttestationApplication,
		ck.CKA_OBJECT_ID:   []byte{}, // Yubico's object 5FFF01 has no PIV OID
		ck.CKA_ID:          []byte{k.slot.id},
		ck.CKA_VALUE:       k.cert.der,
	}
}

func certAttrs(k *keyInfo) slot.Attributes {
	c := k.cert
	sum := sha1.Sum(c.der)
	return slot.Attributes{
		ck.CKA_CLASS:                ck.CKO_CERTIFICATE,
		ck.CKA_TOKEN:                true,
		ck.CKA_PRIVATE:              false,
		ck.CKA_MODIFIABLE:           false,
		ck.CKA_LABEL:                "X.509 Certificate for " + k.slot.name,
		ck.CKA_ID:                   []byte{k.slot.id},
		ck.CKA_CERTIFICATE_TYPE:     ck.CKC_X_509,
		ck.CKA_TRUSTED:              false,
		ck.CKA_CERTIFICATE_CATEGORY: ck.CK_CERTIFICATE_CATEGORY_TOKEN_USER,
		ck.CKA_CHECK_VALUE:          sum[:3], // base spec 4.6.3: first 3 bytes of SHA-1
		ck.CKA_VALUE:                c.der,
		ck.CKA_SUBJECT:              c.subject,
		ck.CKA_ISSUER:               c.issuer,
		ck.CKA_SERIAL_NUMBER:        c.serial,
		ck.CKA_PUBLIC_KEY_INFO:      c.spki,
	}
}

// commonKeyAttrs are shared by the public and private key objects of a slot.
func commonKeyAttrs(k *keyInfo, label string) slot.Attributes {
	a := slot.Attributes{
		ck.CKA_TOKEN:           true,
		ck.CKA_MODIFIABLE:      false,
		ck.CKA_LABEL:           label + k.slot.name,
		ck.CKA_ID:              []byte{k.slot.id},
		ck.CKA_KEY_TYPE:        keyTypeOf(k.alg),
		ck.CKA_LOCAL:           k.local(),
		ck.CKA_SUBJECT:         []byte{},
		ck.CKA_DERIVE:          false,
		ck.CKA_PUBLIC_KEY_INFO: spkiOf(k),
	}
	if k.local() {
		a[ck.CKA_KEY_GEN_MECHANISM] = keyGenMechanism(k.alg)
	} else {
		a[ck.CKA_KEY_GEN_MECHANISM] = ck.CK_UNAVAILABLE_INFORMATION
	}
	if k.cert != nil {
		a[ck.CKA_SUBJECT] = k.cert.subject
	}
	switch pub := k.pub.(type) {
	case *rsa.PublicKey:
		a[ck.CKA_MODULUS] = pub.N.Bytes()
		a[ck.CKA_PUBLIC_EXPONENT] = big.NewInt(int64(pub.E)).Bytes()
		a[ck.CKA_MODULUS_BITS] = ck.ULong(pub.N.BitLen())
	case *ecdsa.PublicKey:
		point, _ := pub.Bytes() // cannot fail for a parsed P-256/P-384 key
		a[ck.CKA_EC_PARAMS] = ecParams(k.alg)
		a[ck.CKA_EC_POINT] = octetString(point)
	case ed25519.PublicKey:
		a[ck.CKA_EC_PARAMS] = ecParams(k.alg)
		a[ck.CKA_EC_POINT] = octetString(pub)
	case *ecdh.PublicKey:
		a[ck.CKA_EC_PARAMS] = ecParams(k.alg)
		a[ck.CKA_EC_POINT] = octetString(pub.Bytes())
	}
	return a
}

func pubAttrs(k *keyInfo) slot.Attributes {
	a := commonKeyAttrs(k, "Public key for ")
	a[ck.CKA_CLASS] = ck.CKO_PUBLIC_KEY
	a[ck.CKA_PRIVATE] = false
	a[ck.CKA_TRUSTED] = false
	a[ck.CKA_ENCRYPT] = k.isRSA()
	a[ck.CKA_WRAP] = false
	a[ck.CKA_VERIFY] = k.canSign()
	a[ck.CKA_VERIFY_RECOVER] = false
	a[ck.CKA_DERIVE] = k.canDerive()
	return a
}

func privAttrs(k *keyInfo) slot.Attributes {
	a := commonKeyAttrs(k, "Private key for ")
	private := k.needsPIN()
	a[ck.CKA_CLASS] = ck.CKO_PRIVATE_KEY
	a[ck.CKA_PRIVATE] = private
	a[ck.CKA_SENSITIVE] = true
	a[ck.CKA_EXTRACTABLE] = false
	// A key imported into the card existed outside it before: it was not always
	// sensitive. Without metadata we assume the usual case, generated on the card.
	imported := k.meta != nil && k.meta.origin == originImported
	a[ck.CKA_ALWAYS_SENSITIVE] = !imported
	a[ck.CKA_NEVER_EXTRACTABLE] = !imported
	a[ck.CKA_SIGN] = k.canSign()
	a[ck.CKA_SIGN_RECOVER] = false
	a[ck.CKA_DECRYPT] = k.isRSA()
	a[ck.CKA_UNWRAP] = false
	a[ck.CKA_DERIVE] = k.canDerive()
	// Base spec 4.9: CKA_ALWAYS_AUTHENTICATE only with CKA_PRIVATE.
	a[ck.CKA_ALWAYS_AUTHENTICATE] = private && k.alwaysAuth()
	// ykcs11's vendor attributes, where GET METADATA tells the policies (a card
	// without metadata answers CKR_ATTRIBUTE_TYPE_INVALID for them, as ykcs11 does
	// not know them either).
	if k.meta != nil && k.meta.pinPolicy != 0 {
		a[ck.CKA_YUBICO_PIN_POLICY] = ck.ULong(k.meta.pinPolicy)
	}
	if p := k.touchPolicy(); p != 0 {
		a[ck.CKA_YUBICO_TOUCH_POLICY] = ck.ULong(p)
	}
	return a
}

func (k *keyInfo) isRSA() bool { return rsaBits(k.alg) != 0 }

// canSign and canDerive: what the algorithm allows, except the YubiKey attestation key
// (F9), which the card uses only to sign attestation certificates: GENERAL
// AUTHENTICATE with it is refused, so advertising CKA_SIGN would only produce
// CKR_DEVICE_ERROR in applications that pick any signing key (Java's keystore does).
func (k *keyInfo) canSign() bool {
	if k.slot.ref == 0xF9 {
		return false
	}
	return k.isRSA() || k.alg == algP256 || k.alg == algP384 || k.alg == algEd25519
}
func (k *keyInfo) canDerive() bool {
	if k.slot.ref == 0xF9 {
		return false
	}
	return k.alg == algP256 || k.alg == algP384 || k.alg == algX25519
}

// local: the key was generated on the card (metadata origin); unknown without metadata.
func (k *keyInfo) local() bool { return k.meta != nil && k.meta.origin == originGenerated }

// needsPIN follows the card's PIN policy when metadata gives it, else SP 800-73-4:
// every key but card authentication (9E) needs the PIN.
func (k *keyInfo) needsPIN() bool {
	if k.meta != nil && k.meta.pinPolicy != 0 {
		return k.meta.pinPolicy != pinPolicyNever
	}
	return !k.slot.pinNone
}

// alwaysAuth: PIN policy "always" from metadata, else the 9C convention.
func (k *keyInfo) alwaysAuth() bool {
	if k.meta != nil && k.meta.pinPolicy != 0 {
		return k.meta.pinPolicy == pinPolicyAlways
	}
	return k.slot.always
}

// keyTypeOf is the CKK_ of a PIV algorithm.
func keyTypeOf(alg byte) ck.ULong {
	switch alg {
	case algP256, algP384:
		return ck.CKK_EC
	case algEd25519:
		return ck.CKK_EC_EDWARDS
	case algX25519:
		return ck.CKK_EC_MONTGOMERY
	}
	return ck.CKK_RSA
}

func keyGenMechanism(alg byte) ck.ULong {
	switch alg {
	case algP256, algP384:
		return ck.CKM_EC_KEY_PAIR_GEN
	case algEd25519:
		return ck.CKM_EC_EDWARDS_KEY_PAIR_GEN
	case algX25519:
		return ck.CKM_EC_MONTGOMERY_KEY_PAIR_GEN
	}
	return ck.CKM_RSA_PKCS_KEY_PAIR_GEN
}

// Curves the driver generates and imports keys on, by the names tools use for them.
const (
	CurveP256    = "p256"
	CurveP384    = "p384"
	CurveEd25519 = "ed25519"
	CurveX25519  = "x25519"
)

// ECParams is CKA_EC_PARAMS for a key on curve (one of the Curve names), as this
// driver writes and expects it; nil for any other name. For templates built outside
// the driver, such as the CLI's key generation.
func ECParams(curve string) []byte {
	alg := map[string]byte{CurveP256: algP256, CurveP384: algP384, CurveEd25519: algEd25519, CurveX25519: algX25519}[curve]
	if alg == 0 {
		return nil
	}
	return ecParams(alg)
}

// ecParams is CKA_EC_PARAMS: the DER OID of the curve. For Edwards and Montgomery keys
// PKCS#11 v3.0 (curr 2.3.5/2.3.7) allows either the curveName PrintableString or the
// oId choice; we give the RFC 8410 OID, which ykcs11 also uses and which v3.1 made the
// preferred form.
func ecParams(alg byte) []byte {
	switch alg {
	case algP256:
		return []byte{0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07} // 1.2.840.10045.3.1.7
	case algP384:
		return []byte{0x06, 0x05, 0x2B, 0x81, 0x04, 0x00, 0x22} // 1.3.132.0.34
	case algEd25519:
		return []byte{0x06, 0x03, 0x2B, 0x65, 0x70} // 1.3.101.112
	case algX25519:
		return []byte{0x06, 0x03, 0x2B, 0x65, 0x6E} // 1.3.101.110
	}
	return nil
}

// octetString is CKA_EC_POINT: the point wrapped in a DER OCTET STRING (X9.62 for
// Weierstrass curves; the raw RFC 8032/7748 encoding for Ed25519/X25519).
func octetString(b []byte) []byte {
	out, _ := asn1.Marshal(b) // a []byte always marshals
	return out
}

// spkiOf is CKA_PUBLIC_KEY_INFO: the certificate's SPKI, else one built from the key.
func spkiOf(k *keyInfo) []byte {
	if k.cert != nil && k.cert.pub != nil && algorithmOf(k.cert.pub) == k.alg && samePublic(k.cert.pub, k.pub) {
		return k.cert.spki
	}
	der, err := x509.MarshalPKIXPublicKey(k.pub)
	if err != nil {
		return []byte{}
	}
	return der
}

func samePublic(a, b crypto.PublicKey) bool {
	type equaler interface{ Equal(crypto.PublicKey) bool }
	e, ok := a.(equaler)
	return ok && e.Equal(b)
}

func findObject(objs []slot.Object, key string) *slot.Object {
	for i := range objs {
		if objs[i].Key == key {
			return &objs[i]
		}
	}
	return nil
}
