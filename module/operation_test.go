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
