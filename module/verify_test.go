package module

import (
	"testing"

	"github.com/pcsc11/pcsc11/ck"
)

func TestVerify(t *testing.T) {
	l, s, key, _ := loggedIn(t, 1)
	pub := findAll(t, l, s, []Attr{ulongAttr(ck.CKA_CLASS, ck.CKO_PUBLIC_KEY), {Type: ck.CKA_ID, Value: []byte{1}}})[0]
	msg := []byte("verify me")
	pss := pssParam(ck.CKM_SHA256, ck.CKG_MGF1_SHA256, 32)
	for _, m := range []Mechanism{{Type: ck.CKM_SHA256_RSA_PKCS}, {Type: ck.CKM_SHA256_RSA_PKCS_PSS, Param: pss}} {
		sig := sign(t, l, s, key, m, msg)
		// With the public key object and with the private key object's public half.
		for _, k := range []ck.ULong{pub, key} {
			wantRV(t, "VerifyInit", l.VerifyInit(s, m, k), ck.CKR_OK)
			wantRV(t, "Verify", l.Verify(s, msg, sig), ck.CKR_OK)
		}
		bad := append([]byte(nil), sig...)
		bad[10] ^= 1
		wantRV(t, "VerifyInit", l.VerifyInit(s, m, pub), ck.CKR_OK)
		wantRV(t, "Verify bad", l.Verify(s, msg, bad), ck.CKR_SIGNATURE_INVALID)
		wantRV(t, "VerifyInit", l.VerifyInit(s, m, pub), ck.CKR_OK)
		wantRV(t, "Verify short", l.Verify(s, msg, sig[1:]), ck.CKR_SIGNATURE_LEN_RANGE)
		wantRV(t, "VerifyInit", l.VerifyInit(s, m, pub), ck.CKR_OK)
		wantRV(t, "VerifyUpdate", l.VerifyUpdate(s, msg[:3]), ck.CKR_OK)
		wantRV(t, "VerifyUpdate", l.VerifyUpdate(s, msg[3:]), ck.CKR_OK)
		wantRV(t, "VerifyFinal", l.VerifyFinal(s, sig), ck.CKR_OK)
		wantRV(t, "ended", l.VerifyFinal(s, sig), ck.CKR_OPERATION_NOT_INITIALIZED)
	}
	// ECDSA and EdDSA verify with the private key objects' public halves.
	l2, s2, ec, _ := loggedIn(t, 4)
	sig := sign(t, l2, s2, ec, Mechanism{Type: ck.CKM_ECDSA_SHA256}, msg)
	wantRV(t, "VerifyInit EC", l2.VerifyInit(s2, Mechanism{Type: ck.CKM_ECDSA_SHA256}, ec), ck.CKR_OK)
	wantRV(t, "Verify EC", l2.Verify(s2, msg, sig), ck.CKR_OK)
	wantRV(t, "VerifyInit EC", l2.VerifyInit(s2, Mechanism{Type: ck.CKM_ECDSA_SHA256}, ec), ck.CKR_OK)
	wantRV(t, "Verify EC other data", l2.Verify(s2, []byte("other"), sig), ck.CKR_SIGNATURE_INVALID)
}
