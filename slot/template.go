package slot

import (
	"encoding/binary"
	"fmt"
	"math/bits"

	"github.com/pcsc11/pcsc11/ck"
)

// ULongSize is sizeof(CK_ULONG) on this platform (unsigned long is as wide as Go's uint
// on every platform cgo targets).
const ULongSize = bits.UintSize / 8

// Template readers for Attributes in either of the forms Personalizer accepts (typed
// or raw bytes). Each answers present=false when the attribute is absent and an *Error
// with CKR_ATTRIBUTE_VALUE_INVALID when it is there but malformed.

func invalid(typ ck.ULong) error {
	return NewError(ck.CKR_ATTRIBUTE_VALUE_INVALID, fmt.Sprintf("attribute 0x%X: malformed value", uint64(typ)), nil)
}

// Bool reads a CK_BBOOL attribute.
func (a Attributes) Bool(typ ck.ULong) (v, present bool, err error) {
	raw, ok := a[typ]
	if !ok {
		return false, false, nil
	}
	switch x := raw.(type) {
	case bool:
		return x, true, nil
	case []byte:
		if len(x) == 1 && x[0] <= 1 {
			return x[0] == 1, true, nil
		}
	}
	return false, true, invalid(typ)
}

// ULong reads a CK_ULONG attribute.
func (a Attributes) ULong(typ ck.ULong) (v ck.ULong, present bool, err error) {
	raw, ok := a[typ]
	if !ok {
		return 0, false, nil
	}
	switch x := raw.(type) {
	case ck.ULong:
		return x, true, nil
	case int:
		if x >= 0 {
			return ck.ULong(x), true, nil
		}
	case []byte:
		switch {
		case len(x) == 8 && ULongSize == 8:
			return ck.ULong(binary.NativeEndian.Uint64(x)), true, nil
		case len(x) == 4 && ULongSize == 4:
			return ck.ULong(binary.NativeEndian.Uint32(x)), true, nil
		}
	}
	return 0, true, invalid(typ)
}

// Bytes reads a byte-array attribute (a string is taken as its UTF-8 bytes).
func (a Attributes) Bytes(typ ck.ULong) (v []byte, present bool, err error) {
	raw, ok := a[typ]
	if !ok {
		return nil, false, nil
	}
	switch x := raw.(type) {
	case []byte:
		return x, true, nil
	case string:
		return []byte(x), true, nil
	case nil:
		return []byte{}, true, nil
	}
	return nil, true, invalid(typ)
}
