package module

import (
	"testing"

	"github.com/pcsc11/pcsc11/ck"
)

// §5.2: a failure other than CKR_BUFFER_TOO_SMALL ends the operation, for each of the
// five operations; CKR_BUFFER_TOO_SMALL and a successful length query keep it.
func TestAfterCallEndsOperation(t *testing.T) {
	l, s, key, tok := loggedIn(t, 1)
	tok.decryptKey = "priv/83"
	pub := findAll(t, l, s, []Attr{ulongAttr(ck.CKA_CLASS, ck.CKO_PUBLIC_KEY), {Type: ck.CKA_ID, Value: []byte{1}}})[0]
	dec := findAll(t, l, s, []Attr{{Type: ck.CKA_ID, Value: []byte{6}}})[0]
	rsa := Mechanism{Type: ck.CKM_RSA_PKCS}
	cases := []struct {
		op    Op
		init  func() ck.ULong
		probe func() ck.ULong // a call that answers CKR_OPERATION_NOT_INITIALIZED once the op ended
	}{
		{OpDigest, func() ck.ULong { return l.DigestInit(s, Mechanism{Type: ck.CKM_SHA256}) },
			func() ck.ULong { return l.DigestUpdate(s, []byte("x")) }},
		{OpSign, func() ck.ULong { return l.SignInit(s, Mechanism{Type: ck.CKM_SHA256_RSA_PKCS}, key) },
			func() ck.ULong { return l.SignUpdate(s, []byte("x")) }},
		{OpVerify, func() ck.ULong { return l.VerifyInit(s, Mechanism{Type: ck.CKM_SHA256_RSA_PKCS}, pub) },
			func() ck.ULong { return l.VerifyUpdate(s, []byte("x")) }},
		{OpEncrypt, func() ck.ULong { return l.EncryptInit(s, rsa, pub) },
			func() ck.ULong { return l.EncryptUpdate(s, []byte("x")) }},
		{OpDecrypt, func() ck.ULong { return l.DecryptInit(s, rsa, dec) },
			func() ck.ULong { return l.DecryptUpdate(s, make([]byte, 256)) }},
	}
	for _, c := range cases {
		wantRV(t, "init", c.init(), ck.CKR_OK)
		l.AfterCall(s, c.op, ck.CKR_BUFFER_TOO_SMALL)
		l.AfterCall(s, c.op, ck.CKR_OK)
		wantRV(t, "init while active after BUFFER_TOO_SMALL/OK", c.init(), ck.CKR_OPERATION_ACTIVE)
		l.AfterCall(s, c.op, ck.CKR_ARGUMENTS_BAD)
		wantRV(t, "probe after ARGUMENTS_BAD", c.probe(), ck.CKR_OPERATION_NOT_INITIALIZED)
		wantRV(t, "init again", c.init(), ck.CKR_OK)
	}
	// One operation's failure does not end another's.
	l.AfterCall(s, OpSign, ck.CKR_DATA_LEN_RANGE)
	wantRV(t, "digest still active", l.DigestInit(s, Mechanism{Type: ck.CKM_SHA256}), ck.CKR_OPERATION_ACTIVE)
	// For the message-based calls the rule ends the message being processed, not the
	// process (spec 5.14.4, 5.16.4).
	wantRV(t, "MessageSignInit", l.MessageSignInit(s, Mechanism{Type: ck.CKM_SHA256_RSA_PKCS}, key), ck.CKR_OK)
	wantRV(t, "MessageVerifyInit", l.MessageVerifyInit(s, Mechanism{Type: ck.CKM_SHA256_RSA_PKCS}, pub), ck.CKR_OK)
	for _, c := range []struct {
		op    Op
		begin func() ck.ULong
		next  func() ck.ULong // a part with more to follow
	}{
		{OpMessageSign, func() ck.ULong { return l.SignMessageBegin(s, nil) },
			func() ck.ULong { _, rv := l.SignMessageNext(s, nil, []byte("x"), nil); return rv }},
		{OpMessageVerify, func() ck.ULong { return l.VerifyMessageBegin(s, nil) },
			func() ck.ULong { return l.VerifyMessageNext(s, nil, []byte("x"), nil) }},
	} {
		wantRV(t, "begin", c.begin(), ck.CKR_OK)
		l.AfterCall(s, c.op, ck.CKR_BUFFER_TOO_SMALL)
		wantRV(t, "begin while a message is active", c.begin(), ck.CKR_OPERATION_ACTIVE)
		wantRV(t, "next", c.next(), ck.CKR_OK)
		l.AfterCall(s, c.op, ck.CKR_ARGUMENTS_BAD)
		wantRV(t, "next after ARGUMENTS_BAD", c.next(), ck.CKR_OPERATION_NOT_INITIALIZED)
		wantRV(t, "begin again: the process lives on", c.begin(), ck.CKR_OK)
	}
	// No session: nothing happens, nothing panics.
	l.AfterCall(999, OpSign, ck.CKR_ARGUMENTS_BAD)
}

// usableKey is the one key check of the four key-using families and of C_DeriveKey.
func TestUsableKey(t *testing.T) {
	l, s, signKey, _ := loggedIn(t, 1)
	find := func(tmpl ...Attr) ck.ULong { return findAll(t, l, s, tmpl)[0] }
	cert := find(ulongAttr(ck.CKA_CLASS, ck.CKO_CERTIFICATE))
	pub := find(ulongAttr(ck.CKA_CLASS, ck.CKO_PUBLIC_KEY), Attr{Type: ck.CKA_ID, Value: []byte{1}})
	decryptOnly := find(Attr{Type: ck.CKA_ID, Value: []byte{6}})
	ec := find(Attr{Type: ck.CKA_ID, Value: []byte{4}}) // CKA_ALLOWED_MECHANISMS: ECDSA, ECDSA_SHA256
	rsa, ecdsa384 := Mechanism{Type: ck.CKM_RSA_PKCS}, Mechanism{Type: ck.CKM_ECDSA_SHA384}
	ecdh := Mechanism{Type: ck.CKM_ECDH1_DERIVE}
	for _, c := range []struct {
		name string
		init func() ck.ULong
		want ck.ULong
	}{
		{"sign, no such key", func() ck.ULong { return l.SignInit(s, rsa, 0xdead) }, ck.CKR_KEY_HANDLE_INVALID},
		{"sign, a certificate", func() ck.ULong { return l.SignInit(s, rsa, cert) }, ck.CKR_KEY_TYPE_INCONSISTENT},
		{"sign, a public key", func() ck.ULong { return l.SignInit(s, rsa, pub) }, ck.CKR_KEY_TYPE_INCONSISTENT},
		{"sign, CKA_SIGN false", func() ck.ULong { return l.SignInit(s, rsa, decryptOnly) }, ck.CKR_KEY_FUNCTION_NOT_PERMITTED},
		{"sign, not allowed", func() ck.ULong { return l.SignInit(s, ecdsa384, ec) }, ck.CKR_MECHANISM_INVALID},
		{"decrypt, a public key", func() ck.ULong { return l.DecryptInit(s, rsa, pub) }, ck.CKR_KEY_TYPE_INCONSISTENT},
		{"decrypt, CKA_DECRYPT false", func() ck.ULong { return l.DecryptInit(s, rsa, signKey) }, ck.CKR_KEY_FUNCTION_NOT_PERMITTED},
		{"verify, a certificate", func() ck.ULong { return l.VerifyInit(s, rsa, cert) }, ck.CKR_KEY_TYPE_INCONSISTENT},
		{"verify, not allowed", func() ck.ULong { return l.VerifyInit(s, ecdsa384, ec) }, ck.CKR_MECHANISM_INVALID},
		{"encrypt, no such key", func() ck.ULong { return l.EncryptInit(s, rsa, 0xdead) }, ck.CKR_KEY_HANDLE_INVALID},
		{"encrypt, a certificate", func() ck.ULong { return l.EncryptInit(s, rsa, cert) }, ck.CKR_KEY_TYPE_INCONSISTENT},
		{"derive, no such key", func() ck.ULong { _, rv := l.DeriveKey(s, ecdh, 0xdead, nil); return rv }, ck.CKR_KEY_HANDLE_INVALID},
		{"derive, a public key", func() ck.ULong { _, rv := l.DeriveKey(s, ecdh, pub, nil); return rv }, ck.CKR_KEY_TYPE_INCONSISTENT},
		{"derive, CKA_DERIVE false", func() ck.ULong { _, rv := l.DeriveKey(s, ecdh, signKey, nil); return rv }, ck.CKR_KEY_FUNCTION_NOT_PERMITTED},
		{"verify with the private key object", func() ck.ULong { return l.VerifyInit(s, rsa, signKey) }, ck.CKR_OK},
		{"encrypt with the public key", func() ck.ULong { return l.EncryptInit(s, rsa, pub) }, ck.CKR_OK},
		{"decrypt with its key", func() ck.ULong { return l.DecryptInit(s, rsa, decryptOnly) }, ck.CKR_OK},
	} {
		wantRV(t, c.name, c.init(), c.want)
	}
}
