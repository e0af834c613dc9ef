package piv

import (
	"crypto/x509"
	"testing"

	"github.com/pcsc11/pcsc11/ck"
	"github.com/pcsc11/pcsc11/vpiv"
)

func TestAttest(t *testing.T) {
	m := newCard(t)
	tok := openToken(t, m)
	soLogin(t, tok)
	if _, _, err := tok.GenerateKeyPair(ck.CKM_EC_EDWARDS_KEY_PAIR_GEN, ecTmpl(0x02, algEd25519), nil); err != nil {
		t.Fatal(err)
	}
	der, err := tok.Attest("priv/9c")
	if err != nil {
		t.Fatal(err)
	}
	att, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	objs, _ := tok.Objects()
	inter, err := x509.ParseCertificate(findObj(objs, "cert/f9")[ck.CKA_VALUE].([]byte))
	if err != nil {
		t.Fatal(err)
	}
	if err := att.CheckSignatureFrom(inter); err != nil {
		t.Errorf("attestation not signed by F9: %v", err)
	}
	if err := inter.CheckSignatureFrom(vpiv.AttestationRoot()); err != nil {
		t.Errorf("F9 certificate not from the root: %v", err)
	}
	tok.mu.Lock()
	pub := tok.keys[0x9C].pub
	tok.mu.Unlock()
	if !samePublic(att.PublicKey, pub) {
		t.Error("attestation names another key")
	}
	_, err = tok.Attest("priv/9a")
	wantRV(t, "attest an empty slot", err, ck.CKR_KEY_HANDLE_INVALID)
	_, err = tok.Attest("cert/9c")
	wantRV(t, "attest a certificate", err, ck.CKR_KEY_HANDLE_INVALID)
}
