package module

import (
	"encoding/binary"

	"github.com/pcsc11/pcsc11/ck"
	"github.com/pcsc11/pcsc11/slot"
)

// classSearch answers a search whose template names a CKA_CLASS (and no CKA_ID, which
// the ObjectFinder narrows further) through the driver's ClassFinder: on a PIV card a
// search for certificates or keys, as ssh-keygen -D and NSS make at start-up, then
// reads the user key slots only and no data object (docs/performance.md, S7/S8). ok is
// false when the template names no usable class or the driver cannot narrow by class.
// Kept apart from the search itself so that the search can move without it.
func classSearch(tok slot.Token, tmpl []Attr) (objs []slot.Object, ok bool, err error) {
	f, isFinder := tok.(slot.ClassFinder)
	if !isFinder {
		return nil, false, nil
	}
	class, have := ck.ULong(0), false
	for _, a := range tmpl {
		switch a.Type {
		case ck.CKA_ID:
			return nil, false, nil
		case ck.CKA_CLASS:
			v, valid := ulongValue(a.Value)
			if !valid || (have && v != class) {
				return nil, false, nil // no object matches; the full search says so
			}
			class, have = v, true
		}
	}
	if !have {
		return nil, false, nil
	}
	objs, err = f.ObjectsOfClass(class)
	return objs, true, err
}

// ulongValue decodes a CK_ULONG attribute value in the host's layout (putULong's);
// any other length matches no object (matches compares the encoded bytes).
func ulongValue(b []byte) (ck.ULong, bool) {
	if len(b) != ulongSize {
		return 0, false
	}
	if ulongSize == 8 {
		return ck.ULong(binary.NativeEndian.Uint64(b)), true
	}
	return ck.ULong(binary.NativeEndian.Uint32(b)), true
}
