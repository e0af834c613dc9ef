package module

import (
	"testing"

	"github.com/pcsc11/pcsc11/ck"
)

// CKR_ATTRIBUTE_SENSITIVE only for a secret attribute the object's type has.
func TestAttributeTypeInvalidVersusSensitive(t *testing.T) {
	l, s, ec, _ := loggedIn(t, 4)
	rsaKey := findAll(t, l, s, []Attr{{Type: ck.CKA_ID, Value: []byte{1}}, ulongAttr(ck.CKA_CLASS, ck.CKO_PRIVATE_KEY)})[0]
	for _, c := range []struct {
		what string
		obj  ck.ULong
		typ  ck.ULong
		want ck.ULong
	}{
		{"CKA_PRIME_1 of an EC key", ec, ck.CKA_PRIME_1, ck.CKR_ATTRIBUTE_TYPE_INVALID},
		{"CKA_PRIVATE_EXPONENT of an EC key", ec, ck.CKA_PRIVATE_EXPONENT, ck.CKR_ATTRIBUTE_TYPE_INVALID},
		{"CKA_VALUE of an EC key", ec, ck.CKA_VALUE, ck.CKR_ATTRIBUTE_SENSITIVE},
		{"CKA_PRIME_1 of an RSA key", rsaKey, ck.CKA_PRIME_1, ck.CKR_ATTRIBUTE_SENSITIVE},
		{"CKA_VALUE of an RSA key", rsaKey, ck.CKA_VALUE, ck.CKR_ATTRIBUTE_TYPE_INVALID},
	} {
		reqs := []AttrReq{{Type: c.typ}}
		wantRV(t, c.what, l.GetAttributeValue(s, c.obj, reqs), c.want)
		if reqs[0].Len != ck.CK_UNAVAILABLE_INFORMATION {
			t.Errorf("%s: ulValueLen %d", c.what, reqs[0].Len)
		}
	}
}
