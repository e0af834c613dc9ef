package slot

import (
	"encoding/binary"
	"testing"

	"github.com/pcsc11/pcsc11/ck"
)

func TestAttributeReaders(t *testing.T) {
	raw := make([]byte, ULongSize)
	if ULongSize == 8 {
		binary.NativeEndian.PutUint64(raw, 2048)
	} else {
		binary.NativeEndian.PutUint32(raw, 2048)
	}
	a := Attributes{
		ck.CKA_TOKEN: true, ck.CKA_PRIVATE: []byte{0}, ck.CKA_SENSITIVE: []byte{2}, ck.CKA_SIGN: "yes",
		ck.CKA_MODULUS_BITS: raw, ck.CKA_CLASS: ck.CKO_CERTIFICATE, ck.CKA_KEY_TYPE: []byte{1, 2, 3},
		ck.CKA_VALUE_LEN: -1, ck.CKA_LABEL: "label", ck.CKA_ID: []byte{1}, ck.CKA_VALUE: 7,
	}
	for _, c := range []struct {
		typ           ck.ULong
		v, present, e bool
	}{{ck.CKA_TOKEN, true, true, false}, {ck.CKA_PRIVATE, false, true, false}, {ck.CKA_SENSITIVE, false, true, true},
		{ck.CKA_SIGN, false, true, true}, {ck.CKA_DECRYPT, false, false, false}} {
		v, ok, err := a.Bool(c.typ)
		if v != c.v || ok != c.present || (err != nil) != c.e {
			t.Errorf("Bool(%#x) = %v %v %v", c.typ, v, ok, err)
		}
		if err != nil && RV(err) != ck.CKR_ATTRIBUTE_VALUE_INVALID {
			t.Errorf("Bool(%#x) error code %#x", c.typ, RV(err))
		}
	}
	if v, ok, err := a.ULong(ck.CKA_MODULUS_BITS); v != 2048 || !ok || err != nil {
		t.Errorf("raw CK_ULONG: %v %v %v", v, ok, err)
	}
	if v, ok, err := a.ULong(ck.CKA_CLASS); v != ck.CKO_CERTIFICATE || !ok || err != nil {
		t.Errorf("typed CK_ULONG: %v %v %v", v, ok, err)
	}
	for _, typ := range []ck.ULong{ck.CKA_KEY_TYPE, ck.CKA_VALUE_LEN, ck.CKA_LABEL} {
		if _, ok, err := a.ULong(typ); !ok || RV(err) != ck.CKR_ATTRIBUTE_VALUE_INVALID {
			t.Errorf("ULong(%#x) accepted a malformed value", typ)
		}
	}
	if v, ok, err := a.Bytes(ck.CKA_LABEL); string(v) != "label" || !ok || err != nil {
		t.Errorf("string: %q %v %v", v, ok, err)
	}
	if _, ok, err := a.Bytes(ck.CKA_VALUE); !ok || err == nil {
		t.Error("Bytes accepted an int")
	}
	if _, ok, err := a.Bytes(ck.CKA_SUBJECT); ok || err != nil {
		t.Error("absent attribute reported present")
	}
}
