package piv

import (
	"bytes"
	"encoding/asn1"
	"fmt"

	"github.com/pcsc11/pcsc11/ck"
	"github.com/pcsc11/pcsc11/slot"
)

// Template checks shared by C_GenerateKeyPair and C_CreateObject (spec 4.1.x and
// 5.14): a value the card cannot honour is CKR_ATTRIBUTE_VALUE_INVALID, an attribute
// the token computes is CKR_TEMPLATE_INCONSISTENT, a read-only one
// CKR_ATTRIBUTE_READ_ONLY, an unknown one CKR_ATTRIBUTE_TYPE_INVALID.

func tmplErr(rv ck.ULong, msg string) error { return slot.NewError(rv, "piv: "+msg, nil) }

// Attributes accepted but not stored (a PIV card has no place for them; the object's
// label, subject and dates come from the slot and the certificate).
var ignoredAttrs = map[ck.ULong]bool{
	ck.CKA_LABEL: true, ck.CKA_SUBJECT: true, ck.CKA_START_DATE: true, ck.CKA_END_DATE: true,
	ck.CKA_ALLOWED_MECHANISMS: true, ck.CKA_APPLICATION: true,
}

// readOnlyAttrs are set by the token only (spec 4.4 table 4 footnote 4 and 4.9).
var readOnlyAttrs = map[ck.ULong]bool{
	ck.CKA_LOCAL: true, ck.CKA_KEY_GEN_MECHANISM: true, ck.CKA_ALWAYS_SENSITIVE: true,
	ck.CKA_NEVER_EXTRACTABLE: true, ck.CKA_CHECK_VALUE: true,
}

// checkCommon validates the attributes every object template may carry; class is the
// class the template must have (CKA_CLASS, when present, must agree).
func checkCommon(a slot.Attributes, class ck.ULong) error {
	if v, ok, err := a.ULong(ck.CKA_CLASS); err != nil {
		return err
	} else if ok && v != class {
		return tmplErr(ck.CKR_TEMPLATE_INCONSISTENT, "CKA_CLASS does not fit")
	}
	// The card only holds token objects; the module keeps session objects itself.
	if v, ok, err := a.Bool(ck.CKA_TOKEN); err != nil {
		return err
	} else if ok && !v {
		return tmplErr(ck.CKR_ATTRIBUTE_VALUE_INVALID, "the card holds token objects only (CKA_TOKEN false)")
	}
	// What the card cannot do: modify or copy its objects.
	for _, c := range []struct {
		typ    ck.ULong
		refuse bool
	}{{ck.CKA_MODIFIABLE, true}, {ck.CKA_COPYABLE, true}, {ck.CKA_DESTROYABLE, false}} {
		if v, ok, err := a.Bool(c.typ); err != nil {
			return err
		} else if ok && v == c.refuse {
			return tmplErr(ck.CKR_ATTRIBUTE_VALUE_INVALID, "objects on the card are neither modifiable nor copyable, and destroyable")
		}
	}
	for typ := range a {
		if readOnlyAttrs[typ] {
			return tmplErr(ck.CKR_ATTRIBUTE_READ_ONLY, "attribute set by the token only")
		}
	}
	return nil
}

// onlyKnown refuses attribute types outside known (and the common ones).
func onlyKnown(a slot.Attributes, known ...ck.ULong) error {
	ok := map[ck.ULong]bool{ck.CKA_CLASS: true, ck.CKA_TOKEN: true, ck.CKA_PRIVATE: true,
		ck.CKA_MODIFIABLE: true, ck.CKA_COPYABLE: true, ck.CKA_DESTROYABLE: true, ck.CKA_ID: true}
	for _, k := range known {
		ok[k] = true
	}
	for typ := range a {
		if !ok[typ] && !ignoredAttrs[typ] && !readOnlyAttrs[typ] {
			return tmplErr(ck.CKR_ATTRIBUTE_TYPE_INVALID, "attribute not valid for this object")
		}
	}
	return nil
}

// mustBe refuses typ when present with a value other than want (a capability the
// card's keys cannot change).
func mustBe(a slot.Attributes, typ ck.ULong, want bool, why string) error {
	v, ok, err := a.Bool(typ)
	if err != nil {
		return err
	}
	if ok && v != want {
		return tmplErr(ck.CKR_ATTRIBUTE_VALUE_INVALID, why)
	}
	return nil
}

// slotFrom maps CKA_ID (from a or b: bytesFrom) to a key slot: one byte, 01..18 for
// keys (9A, 9C, 9D, 9E, 82..95); certificates may also name 19 (F9, the attestation
// certificate).
func slotFrom(a, b slot.Attributes, allowAttest bool) (keySlot, error) {
	id, err := bytesFrom(a, b, ck.CKA_ID, "CKA_ID (the PIV slot)")
	if err != nil {
		return keySlot{}, err
	}
	if len(id) == 1 {
		if s, ok := slotByID(id[0]); ok && (s.ref != 0xF9 || allowAttest) {
			return s, nil
		}
	}
	return keySlot{}, tmplErr(ck.CKR_ATTRIBUTE_VALUE_INVALID, "CKA_ID must name a PIV key slot: 01-04 for 9A/9C/9D/9E, 05-18 for 82-95")
}

// curveFromParams maps CKA_EC_PARAMS to a PIV algorithm: the DER OID (or, as v3.0
// allows for Edwards and Montgomery curves, the PrintableString curve name).
func curveFromParams(p []byte) (byte, error) {
	for _, alg := range []byte{algP256, algP384, algEd25519, algX25519} {
		if bytes.Equal(p, ecParams(alg)) {
			return alg, nil
		}
	}
	var name string
	if rest, err := asn1.UnmarshalWithParams(p, &name, "printable"); err == nil && len(rest) == 0 {
		switch name {
		case "prime256v1", "secp256r1":
			return algP256, nil
		case "secp384r1":
			return algP384, nil
		case "edwards25519":
			return algEd25519, nil
		case "curve25519":
			return algX25519, nil
		}
		return 0, tmplErr(ck.CKR_CURVE_NOT_SUPPORTED, "curve not supported by PIV")
	}
	var oid asn1.ObjectIdentifier
	if rest, err := asn1.Unmarshal(p, &oid); err == nil && len(rest) == 0 {
		return 0, tmplErr(ck.CKR_CURVE_NOT_SUPPORTED, "curve not supported by PIV")
	}
	return 0, tmplErr(ck.CKR_ATTRIBUTE_VALUE_INVALID, fmt.Sprintf("CKA_EC_PARAMS is not a curve OID or name (% x)", p[:min(len(p), 24)]))
}

// bytesFrom reads attribute typ (named name) from the public and private templates
// (b may be nil): required in at least one, equal when in both.
func bytesFrom(a, b slot.Attributes, typ ck.ULong, name string) ([]byte, error) {
	x, okA, err := a.Bytes(typ)
	if err != nil {
		return nil, err
	}
	y, okB, err := b.Bytes(typ)
	if err != nil {
		return nil, err
	}
	switch {
	case okA && okB && !bytes.Equal(x, y):
		return nil, tmplErr(ck.CKR_TEMPLATE_INCONSISTENT, name+" differs between the public and private templates")
	case okA:
		return x, nil
	case okB:
		return y, nil
	}
	return nil, tmplErr(ck.CKR_TEMPLATE_INCOMPLETE, name+" is needed")
}

// policyValue reads a Yubico policy attribute: CK_ULONG, or one byte as some ykcs11
// callers pass it; 0 (slot default) to 3.
func policyValue(a slot.Attributes, typ ck.ULong) (byte, bool, error) {
	if raw, ok := a[typ].([]byte); ok && len(raw) == 1 {
		if raw[0] > 3 {
			return 0, true, tmplErr(ck.CKR_ATTRIBUTE_VALUE_INVALID, "Yubico policy out of range")
		}
		return raw[0], true, nil
	}
	v, ok, err := a.ULong(typ)
	if err != nil || !ok {
		return 0, ok, err
	}
	if v > 3 {
		return 0, true, tmplErr(ck.CKR_ATTRIBUTE_VALUE_INVALID, "Yubico policy out of range")
	}
	return byte(v), true, nil
}

// policyFrom reads one policy attribute from either template (equal when in both).
func policyFrom(pub, priv slot.Attributes, typ ck.ULong) (byte, error) {
	x, okX, err := policyValue(pub, typ)
	if err != nil {
		return 0, err
	}
	y, okY, err := policyValue(priv, typ)
	if err != nil {
		return 0, err
	}
	if okX && okY && x != y {
		return 0, tmplErr(ck.CKR_TEMPLATE_INCONSISTENT, "Yubico policy differs between the templates")
	}
	if okY {
		return y, nil
	}
	return x, nil
}

// keyPolicies decides the YubiKey PIN and touch policies of a new key (0 = the slot's
// default) from the Yubico vendor attributes (same numbers as ykcs11: PIN 1 never,
// 2 once, 3 always; touch 1 never, 2 always, 3 cached) and the standard attributes of
// the private key:
//   - CKA_ALWAYS_AUTHENTICATE true → PIN policy always; false on 9C (whose default is
//     always) → once;
//   - CKA_PRIVATE false → PIN policy never; true on 9E (whose default is never) → once.
//
// Contradictions are CKR_TEMPLATE_INCONSISTENT.
func (t *Token) keyPolicies(s keySlot, pub, priv slot.Attributes) (pin, touch byte, err error) {
	if pin, err = policyFrom(pub, priv, ck.CKA_YUBICO_PIN_POLICY); err != nil {
		return 0, 0, err
	}
	if touch, err = policyFrom(pub, priv, ck.CKA_YUBICO_TOUCH_POLICY); err != nil {
		return 0, 0, err
	}
	always, hasAlways, err := priv.Bool(ck.CKA_ALWAYS_AUTHENTICATE)
	if err != nil {
		return 0, 0, err
	}
	private, hasPrivate, err := priv.Bool(ck.CKA_PRIVATE)
	if err != nil {
		return 0, 0, err
	}
	inconsistent := tmplErr(ck.CKR_TEMPLATE_INCONSISTENT, "PIN policy attributes contradict each other")
	if hasAlways && always && hasPrivate && !private {
		return 0, 0, inconsistent // spec 4.9: CKA_ALWAYS_AUTHENTICATE needs CKA_PRIVATE
	}
	want := byte(0)
	switch {
	case hasAlways && always:
		want = pinPolicyAlways
	case hasPrivate && !private:
		want = pinPolicyNever
	case hasAlways && !always && s.always:
		want = pinPolicyOnce
	case hasPrivate && private && s.pinNone:
		want = pinPolicyOnce
	}
	if pin != 0 {
		if (hasAlways && always != (pin == pinPolicyAlways)) || (hasPrivate && private != (pin != pinPolicyNever)) {
			return 0, 0, inconsistent
		}
	} else {
		pin = want
	}
	if !t.yubikey && (pin != 0 || touch != 0) {
		return 0, 0, tmplErr(ck.CKR_ATTRIBUTE_VALUE_INVALID, "this card has no PIN or touch policies")
	}
	return pin, touch, nil
}
