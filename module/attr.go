package module

import (
	"encoding/binary"
	"math/bits"

	"github.com/pcsc11/pcsc11/ck"
)

// ulongSize is sizeof(CK_ULONG): unsigned long is as wide as Go's uint on every
// platform cgo targets (LP64 Unix: 8, ILP32: 4).
const ulongSize = bits.UintSize / 8

// putULong appends v in the host's CK_ULONG layout.
func putULong(b []byte, v ck.ULong) []byte {
	if ulongSize == 8 {
		return binary.NativeEndian.AppendUint64(b, v)
	}
	return binary.NativeEndian.AppendUint32(b, uint32(v))
}

// encodeAttr turns a driver's attribute value into the bytes an application receives:
// bool → CK_BBOOL, ck.ULong → CK_ULONG, []ck.ULong → CK_ULONG array (e.g.
// CKA_ALLOWED_MECHANISMS), []byte and string as they are. ok is false for a value of a
// type the module does not know (a driver bug: logged, answered as absent).
func encodeAttr(v any) (b []byte, ok bool) {
	switch x := v.(type) {
	case bool:
		if x {
			return []byte{1}, true
		}
		return []byte{0}, true
	case ck.ULong:
		return putULong(nil, x), true
	case int:
		if x < 0 {
			return nil, false
		}
		return putULong(nil, ck.ULong(x)), true
	case []ck.ULong:
		out := make([]byte, 0, len(x)*ulongSize)
		for _, u := range x {
			out = putULong(out, u)
		}
		return out, true
	case []byte:
		if x == nil {
			return []byte{}, true
		}
		return x, true
	case string:
		return []byte(x), true
	case nil:
		return []byte{}, true
	}
	return nil, false
}

// Attributes that a sensitive or unextractable key never reveals (spec 4.8/4.9: such
// attributes answer CKR_ATTRIBUTE_SENSITIVE, not "absent"), by the key types that have
// them: an RSA private key has the CRT parts, every other key type has CKA_VALUE (spec
// 2.1.x of the mechanisms document and 4.10 secret keys). An attribute the object's
// type does not have at all, such as CKA_PRIME_1 of an EC key, is
// CKR_ATTRIBUTE_TYPE_INVALID like any other absent attribute (spec 5.7.5).
var (
	rsaSecretAttrs = map[ck.ULong]bool{
		ck.CKA_PRIVATE_EXPONENT: true,
		ck.CKA_PRIME_1:          true,
		ck.CKA_PRIME_2:          true,
		ck.CKA_EXPONENT_1:       true,
		ck.CKA_EXPONENT_2:       true,
		ck.CKA_COEFFICIENT:      true,
	}
	valueSecretAttrs = map[ck.ULong]bool{ck.CKA_VALUE: true}
)

// secretAttrsOf returns the secret attributes an object of this class and key type has.
func secretAttrsOf(attrs map[ck.ULong]any) map[ck.ULong]bool {
	class, _ := attrs[ck.CKA_CLASS].(ck.ULong)
	keyType, _ := attrs[ck.CKA_KEY_TYPE].(ck.ULong)
	switch {
	case class == ck.CKO_PRIVATE_KEY && keyType == ck.CKK_RSA:
		return rsaSecretAttrs
	case class == ck.CKO_PRIVATE_KEY || class == ck.CKO_SECRET_KEY:
		return valueSecretAttrs
	}
	return nil
}

// isSensitive reports whether attribute typ of an object with attrs must not be revealed.
func isSensitive(attrs map[ck.ULong]any, typ ck.ULong) bool {
	if !secretAttrsOf(attrs)[typ] {
		return false
	}
	class, _ := attrs[ck.CKA_CLASS].(ck.ULong)
	sens, _ := attrs[ck.CKA_SENSITIVE].(bool)
	extr, hasExtr := attrs[ck.CKA_EXTRACTABLE].(bool)
	return sens || (hasExtr && !extr) || class == ck.CKO_PRIVATE_KEY
}

// AttrReq is one (type, pValue, ulValueLen) triple of C_GetAttributeValue as the door
// presents it: Buf is nil when pValue is NULL, else the caller's buffer (its length is
// the caller's ulValueLen). The module sets Len, the value of ulValueLen on return.
type AttrReq struct {
	Type ck.ULong
	Buf  []byte
	Len  ck.ULong
}

// fillAttrs applies the five cases of spec 5.7.5 to every triple and returns the call's
// code. When several cases apply, the first in spec order wins:
// CKR_ATTRIBUTE_SENSITIVE, then CKR_ATTRIBUTE_TYPE_INVALID, then CKR_BUFFER_TOO_SMALL.
func fillAttrs(attrs map[ck.ULong]any, reqs []AttrReq) ck.ULong {
	var sensitive, invalid, small bool
	for i := range reqs {
		r := &reqs[i]
		if isSensitive(attrs, r.Type) {
			r.Len = ck.CK_UNAVAILABLE_INFORMATION
			sensitive = true
			continue
		}
		v, present := attrs[r.Type]
		var val []byte
		ok := false
		if present {
			val, ok = encodeAttr(v)
			if !ok {
				Logf("attribute 0x%x has a value of type %T the module cannot encode", r.Type, v)
			}
		}
		switch {
		case !ok:
			r.Len = ck.CK_UNAVAILABLE_INFORMATION
			invalid = true
		case r.Buf == nil:
			r.Len = ck.ULong(len(val))
		case len(r.Buf) >= len(val):
			copy(r.Buf, val)
			r.Len = ck.ULong(len(val))
		default:
			r.Len = ck.CK_UNAVAILABLE_INFORMATION
			small = true
		}
	}
	switch {
	case sensitive:
		return ck.CKR_ATTRIBUTE_SENSITIVE
	case invalid:
		return ck.CKR_ATTRIBUTE_TYPE_INVALID
	case small:
		return ck.CKR_BUFFER_TOO_SMALL
	}
	return ck.CKR_OK
}
