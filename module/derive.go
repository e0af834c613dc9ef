package module

import (
	"encoding/asn1"
	"encoding/binary"

	"github.com/pcsc11/pcsc11/ck"
	"github.com/pcsc11/pcsc11/slot"
)

// ECDHParams is CK_ECDH1_DERIVE_PARAMS with its two buffers copied by the door.
type ECDHParams struct {
	KDF        ck.ULong
	SharedData []byte
	PublicData []byte
}

// DeriveKey is C_DeriveKey for CKM_ECDH1_DERIVE with CKD_NULL (the raw shared secret),
// on EC and X25519 keys: the card computes the secret, the module keeps it as a
// CKO_SECRET_KEY session object.
func (l *Library) DeriveKey(h ck.ULong, mech Mechanism, base ck.ULong, tmpl []Attr) (ck.ULong, ck.ULong) {
	return withSessionValue(l, h, func(s *session, ts *tokenState) (ck.ULong, ck.ULong) {
		obj, _, rv := l.usableKey(ts, base, mech.Type, ck.CKF_DERIVE)
		if rv != ck.CKR_OK {
			return 0, rv
		}
		if mech.Type != ck.CKM_ECDH1_DERIVE {
			return 0, ck.CKR_MECHANISM_INVALID
		}
		a := obj.Attrs
		p := mech.ECDH
		if p == nil || p.KDF != ck.CKD_NULL || len(p.SharedData) != 0 {
			return 0, ck.CKR_MECHANISM_PARAM_INVALID
		}
		keyType, _ := a[ck.CKA_KEY_TYPE].(ck.ULong)
		peer, ok := peerPoint(keyType, a, p.PublicData)
		if !ok {
			return 0, ck.CKR_MECHANISM_PARAM_INVALID
		}
		attrs, rv := secretTemplate(tmpl, ts.login == ck.CKU_USER)
		if rv != ck.CKR_OK {
			return 0, rv
		}
		secret, err := l.privateKeyOp(s, ts, ck.CKF_DERIVE, obj.Key, slot.OpECDH, peer, false)
		if err != nil {
			Logf("derive session %d: %v", h, err)
			return 0, rvOf(err)
		}
		if n, ok := attrs[ck.CKA_VALUE_LEN].(ck.ULong); ok {
			if n == 0 || n > ck.ULong(len(secret)) {
				clear(secret)
				return 0, ck.CKR_TEMPLATE_INCONSISTENT
			}
			// CKD_NULL with CKA_VALUE_LEN: the leading bytes of the shared secret.
			secret = secret[:n]
		}
		attrs[ck.CKA_VALUE] = secret
		attrs[ck.CKA_VALUE_LEN] = ck.ULong(len(secret))
		nh := l.newHandle()
		l.sessObjs[nh] = &sessObject{owner: s.handle, slot: ts.slot, gen: ts.gen, attrs: attrs}
		return nh, ck.CKR_OK
	})
}

// peerPoint checks the other party's public value for the base key's curve: an
// uncompressed point for EC keys, 32 bytes for X25519; either may come wrapped in a DER
// OCTET STRING (applications differ; both forms are common).
func peerPoint(keyType ck.ULong, a map[ck.ULong]any, pub []byte) ([]byte, bool) {
	var n int // the raw value's length
	switch keyType {
	case ck.CKK_EC:
		size := (ecOrderBits(a) + 7) / 8
		if size == 0 {
			return nil, false
		}
		n = 1 + 2*size
	case ck.CKK_EC_MONTGOMERY:
		n = 32
	default:
		return nil, false
	}
	if len(pub) != n {
		var raw []byte
		if rest, err := asn1.Unmarshal(pub, &raw); err != nil || len(rest) != 0 {
			return nil, false
		}
		pub = raw
	}
	if len(pub) != n || (keyType == ck.CKK_EC && pub[0] != 4) {
		return nil, false
	}
	return pub, true
}

// Template attributes of a derived key, by how their value is encoded.
var (
	boolAttrs = map[ck.ULong]bool{ck.CKA_TOKEN: true, ck.CKA_PRIVATE: true, ck.CKA_SENSITIVE: true,
		ck.CKA_EXTRACTABLE: true, ck.CKA_ENCRYPT: true, ck.CKA_DECRYPT: true, ck.CKA_SIGN: true,
		ck.CKA_VERIFY: true, ck.CKA_WRAP: true, ck.CKA_UNWRAP: true, ck.CKA_DERIVE: true,
		ck.CKA_MODIFIABLE: true, ck.CKA_COPYABLE: true, ck.CKA_DESTROYABLE: true}
	ulongAttrs = map[ck.ULong]bool{ck.CKA_CLASS: true, ck.CKA_KEY_TYPE: true, ck.CKA_VALUE_LEN: true}
)

// secretTemplate turns C_DeriveKey's template into the new key's attributes, with
// defaults for a session secret key that the application may read (spec 4.10 secret
// key defaults; CKA_EXTRACTABLE true, CKA_SENSITIVE false).
func secretTemplate(tmpl []Attr, userLoggedIn bool) (slot.Attributes, ck.ULong) {
	a := slot.Attributes{
		ck.CKA_CLASS: ck.CKO_SECRET_KEY, ck.CKA_KEY_TYPE: ck.CKK_GENERIC_SECRET,
		ck.CKA_TOKEN: false, ck.CKA_PRIVATE: userLoggedIn, ck.CKA_SENSITIVE: false,
		ck.CKA_EXTRACTABLE: true, ck.CKA_LOCAL: false, ck.CKA_MODIFIABLE: false,
		ck.CKA_DESTROYABLE: true, ck.CKA_DERIVE: false, ck.CKA_LABEL: "", ck.CKA_ID: []byte{},
		ck.CKA_KEY_GEN_MECHANISM: ck.CK_UNAVAILABLE_INFORMATION,
	}
	for _, t := range tmpl {
		switch {
		case boolAttrs[t.Type]:
			if len(t.Value) != 1 {
				return nil, ck.CKR_ATTRIBUTE_VALUE_INVALID
			}
			a[t.Type] = t.Value[0] != 0
		case ulongAttrs[t.Type]:
			if len(t.Value) != ulongSize {
				return nil, ck.CKR_ATTRIBUTE_VALUE_INVALID
			}
			if ulongSize == 8 {
				a[t.Type] = binary.NativeEndian.Uint64(t.Value)
			} else {
				a[t.Type] = ck.ULong(binary.NativeEndian.Uint32(t.Value))
			}
		case t.Type == ck.CKA_VALUE:
			return nil, ck.CKR_TEMPLATE_INCONSISTENT
		default:
			a[t.Type] = append([]byte(nil), t.Value...)
		}
	}
	if a[ck.CKA_CLASS] != ck.CKO_SECRET_KEY {
		return nil, ck.CKR_TEMPLATE_INCONSISTENT
	}
	if a[ck.CKA_TOKEN] == true {
		// PIV cards hold no secret-key objects.
		return nil, ck.CKR_ATTRIBUTE_VALUE_INVALID
	}
	if a[ck.CKA_PRIVATE] == true && !userLoggedIn {
		return nil, ck.CKR_USER_NOT_LOGGED_IN
	}
	a[ck.CKA_ALWAYS_SENSITIVE] = false
	a[ck.CKA_NEVER_EXTRACTABLE] = a[ck.CKA_EXTRACTABLE] == false
	return a, ck.CKR_OK
}
