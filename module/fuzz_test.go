package module

import (
	"crypto"
	"testing"

	"github.com/pcsc11/pcsc11/ck"
)

// The module's parsers of caller- and card-supplied bytes must answer, never panic.

func FuzzUnpad(f *testing.F) {
	f.Add([]byte{0, 2, 1, 1, 1, 1, 1, 1, 1, 1, 0, 'x'}, []byte("label"))
	f.Add(make([]byte, 64), []byte{})
	f.Fuzz(func(t *testing.T, em, label []byte) {
		pkcs1Type2Unpad(em)
		oaepDecode(em, &oaepParams{hash: crypto.SHA1, mgf: crypto.SHA256, label: label})
	})
}

func FuzzMechanismParams(f *testing.F) {
	f.Add(pssParam(ck.CKM_SHA256, ck.CKG_MGF1_SHA256, 32), []byte{4, 1, 2})
	f.Add([]byte{}, []byte{0x04, 0x41, 0x04})
	f.Fuzz(func(t *testing.T, param, point []byte) {
		testKeys(t)
		rsaKey := map[ck.ULong]any{ck.CKA_KEY_TYPE: ck.CKK_RSA, ck.CKA_MODULUS: testRSA.N.Bytes()}
		for _, m := range []ck.ULong{ck.CKM_RSA_PKCS_PSS, ck.CKM_SHA384_RSA_PKCS_PSS, ck.CKM_EDDSA} {
			prepareOp(rsaKey, "k", Mechanism{Type: m, Param: param})
		}
		parseOAEP(Mechanism{Type: ck.CKM_RSA_PKCS_OAEP, Param: param, Source: point})
		ecKey := map[ck.ULong]any{ck.CKA_KEY_TYPE: ck.CKK_EC, ck.CKA_EC_PARAMS: param, ck.CKA_EC_POINT: point}
		peerPoint(ck.CKK_EC, ecKey, point)
		peerPoint(ck.CKK_EC_MONTGOMERY, ecKey, point)
		publicKey(ecKey)
		ecdsaInput(point, len(param)*8+1)
		secretTemplate([]Attr{{Type: ck.CKA_VALUE_LEN, Value: param}, {Type: ck.CKA_TOKEN, Value: point}}, true)
	})
}
