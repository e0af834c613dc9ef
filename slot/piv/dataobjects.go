package piv

import (
	"encoding/asn1"
	"fmt"

	"github.com/pcsc11/pcsc11/apdu"
	"github.com/pcsc11/pcsc11/ck"
	"github.com/pcsc11/pcsc11/slot"
)

// The PIV data objects that hold no key's certificate are offered as CKO_DATA
// objects, as OpenSC and ykcs11 offer them: CKA_APPLICATION "PIV", CKA_OBJECT_ID the
// DER encoding of the container's PIV OID (SP 800-73-4 part 1, table 3; the same
// OIDs OpenSC's card-piv.c and ykcs11 use), CKA_LABEL its name, CKA_VALUE the
// container's content. Objects whose read access rule is the PIN are private: listed
// once the user is logged in, like every CKA_PRIVATE object.
//
// Listing them reads no value: one short probe per container (the card's first
// answer only: no GET RESPONSE for a large facial image) tells whether it is there,
// and the value is read when CKA_VALUE is asked (slot.LazyValue).

// DataApplication is CKA_APPLICATION of the PIV data objects.
const DataApplication = "PIV"

type dataObject struct {
	tag  uint32
	name string
	oid  asn1.ObjectIdentifier
	pin  bool // read access rule: PIN
}

func pivOID(arc ...int) asn1.ObjectIdentifier {
	return append(asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 7}, arc...)
}

var dataObjects = []dataObject{
	{0x5FC102, "Card Holder Unique Identifier", pivOID(2, 48, 0), false},
	{0x5FC107, "Card Capability Container", pivOID(1, 219, 0), false},
	{objDiscovery, "Discovery Object", pivOID(2, 96, 80), false},
	{0x5FC10C, "Key History Object", pivOID(2, 96, 96), false},
	{0x5FC106, "Security Object", pivOID(2, 144, 0), false},
	{0x5FC109, "Printed Information", pivOID(2, 48, 1), true},
	{0x5FC108, "Cardholder Facial Image", pivOID(2, 96, 48), true},
	{0x5FC103, "Cardholder Fingerprints", pivOID(2, 96, 16), true},
	{0x5FC121, "Cardholder Iris Images", pivOID(2, 16, 21), true},
}

// dataKey is the object key of a data object: "data/5fc102".
func dataKey(tag uint32) string { return fmt.Sprintf("data/%x", tag) }

func dataByKey(key string) (dataObject, bool) {
	for _, d := range dataObjects {
		if dataKey(d.tag) == key {
			return d, true
		}
	}
	return dataObject{}, false
}

// offered reports whether the token offers data object d at all. The PIN-protected
// ones are offered on standard PIV cards only, where the issuer put them: on a
// YubiKey the Printed Information container holds ykman's PIN-protected management
// key (a secret, never a data object), and without the PIN the card cannot tell an
// absent biometric object from a protected one (it answers 6982 either way).
func (t *Token) offered(d dataObject) bool {
	return !(t.yubikey && d.pin)
}

// ensureData probes the data objects not probed yet, in one transaction, and
// publishes their objects. Caller holds t.mu.
func (t *Token) ensureData() error {
	if t.dataObjs != nil {
		return nil
	}
	var objs []slot.Object
	unsure := false
	err := t.transact(func() error {
		for _, d := range dataObjects {
			if !t.offered(d) {
				continue
			}
			present, err := t.probeData(d)
			if err != nil {
				return err
			}
			if present && d.pin && !t.loggedIn {
				unsure = true
			}
			if present {
				objs = append(objs, slot.Object{Key: dataKey(d.tag), Attrs: t.dataAttrs(d)})
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	t.cache.Lock()
	t.dataObjs = append([]slot.Object{}, objs...)
	t.dataUnsure = unsure
	t.cache.Unlock()
	return nil
}

// afterLogin: PIN-protected objects listed before the PIN only because the card
// refused to say (6982) are probed again with the PIN, which tells absent from
// present (a card checks the access rule first). Caller holds t.mu.
func (t *Token) afterLogin() {
	t.cache.Lock()
	defer t.cache.Unlock()
	if t.dataUnsure {
		t.dataObjs, t.dataUnsure = nil, false
	}
}

// probeData asks for the first bytes of d: present when the card answers with data,
// or refuses it for want of the PIN (the object is private, so no application sees
// it before the login, and the login probes it again: afterLogin).
func (t *Token) probeData(d dataObject) (bool, error) {
	// The rest of a long answer is not fetched: the next command drops it.
	_, _, err := t.exchangeFirst(getDataCmd(d.tag, apdu.MaxShortNe))
	switch {
	case err == nil:
		return true, nil
	case d.pin && swIs(err, apdu.SWSecurityNotSatisfied):
		return true, nil
	case isTransport(err):
		return false, err
	}
	return false, nil // absent (6A82) or refused: not offered
}

func (t *Token) dataAttrs(d dataObject) slot.Attributes {
	oid, _ := asn1.Marshal(d.oid) // a valid OID always marshals
	return slot.Attributes{
		ck.CKA_CLASS:       ck.CKO_DATA,
		ck.CKA_TOKEN:       true,
		ck.CKA_PRIVATE:     d.pin,
		ck.CKA_MODIFIABLE:  false,
		ck.CKA_DESTROYABLE: false,
		ck.CKA_LABEL:       d.name,
		ck.CKA_APPLICATION: DataApplication,
		ck.CKA_OBJECT_ID:   oid,
		ck.CKA_VALUE:       slot.LazyValue(func() ([]byte, error) { return t.dataValue(d) }),
	}
}

// dataValue reads data object d's content (the 53 value; the whole 7E template for
// the Discovery Object, which has no 53 wrapper), once per token.
func (t *Token) dataValue(d dataObject) ([]byte, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if v, ok := t.dataValues[d.tag]; ok {
		return v, nil
	}
	var v []byte
	err := t.transact(func() error {
		out, err := t.exchange(getDataCmd(d.tag, apdu.MaxExtendNe))
		if err != nil {
			if swIs(err, apdu.SWSecurityNotSatisfied) {
				return slot.NewError(ck.CKR_USER_NOT_LOGGED_IN, "piv: "+d.name+" is readable after the PIN", nil)
			}
			return err
		}
		if d.tag == objDiscovery {
			v = out
			return nil
		}
		v, err = unwrapData(d.tag, out)
		return err
	})
	if err != nil {
		return nil, err
	}
	if t.dataValues == nil {
		t.dataValues = map[uint32][]byte{}
	}
	t.dataValues[d.tag] = v
	return v, nil
}
