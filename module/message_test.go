package module

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"testing"

	"github.com/pcsc11/pcsc11/ck"
)

func TestMessageSignVerify(t *testing.T) {
	l, s, key, _ := loggedIn(t, 4)
	m := Mechanism{Type: ck.CKM_ECDSA_SHA256}
	_, rv := l.SignMessage(s, nil, []byte("x"), OutBuf{Nil: true})
	wantRV(t, "SignMessage before init", rv, ck.CKR_OPERATION_NOT_INITIALIZED)
	wantRV(t, "MessageSignInit", l.MessageSignInit(s, m, key), ck.CKR_OK)
	wantRV(t, "MessageSignInit twice", l.MessageSignInit(s, m, key), ck.CKR_OPERATION_ACTIVE)
	wantRV(t, "MessageVerifyInit", l.MessageVerifyInit(s, m, key), ck.CKR_OK)

	msgs := [][]byte{[]byte("first message"), []byte("second message")}
	for _, msg := range msgs {
		n, rv := l.SignMessage(s, nil, msg, OutBuf{Nil: true})
		wantRV(t, "SignMessage size", rv, ck.CKR_OK)
		sig := make([]byte, n)
		_, rv = l.SignMessage(s, nil, msg, OutBuf{Buf: sig})
		wantRV(t, "SignMessage", rv, ck.CKR_OK)
		wantRV(t, "VerifyMessage", l.VerifyMessage(s, nil, msg, sig), ck.CKR_OK)
		wantRV(t, "VerifyMessage other", l.VerifyMessage(s, nil, []byte("forged"), sig), ck.CKR_SIGNATURE_INVALID)
	}
	// In parts; a short buffer on the last part keeps the message going.
	wantRV(t, "SignMessageBegin", l.SignMessageBegin(s, nil), ck.CKR_OK)
	_, rv = l.SignMessage(s, nil, []byte("x"), OutBuf{Buf: make([]byte, 64)})
	wantRV(t, "SignMessage during Begin/Next", rv, ck.CKR_OPERATION_ACTIVE)
	_, rv = l.SignMessageNext(s, nil, []byte("part one, "), nil)
	wantRV(t, "SignMessageNext", rv, ck.CKR_OK)
	n, rv := l.SignMessageNext(s, nil, []byte("part two"), &OutBuf{Buf: make([]byte, 8)})
	wantRV(t, "SignMessageNext short", rv, ck.CKR_BUFFER_TOO_SMALL)
	sig := make([]byte, n)
	_, rv = l.SignMessageNext(s, nil, []byte("part two"), &OutBuf{Buf: sig})
	wantRV(t, "SignMessageNext last", rv, ck.CKR_OK)
	wantRV(t, "VerifyMessage parts", l.VerifyMessage(s, nil, []byte("part one, part two"), sig), ck.CKR_OK)
	wantRV(t, "VerifyMessageBegin", l.VerifyMessageBegin(s, nil), ck.CKR_OK)
	wantRV(t, "VerifyMessageNext", l.VerifyMessageNext(s, nil, []byte("part one, "), nil), ck.CKR_OK)
	wantRV(t, "VerifyMessageNext last", l.VerifyMessageNext(s, nil, []byte("part two"), sig), ck.CKR_OK)
	wantRV(t, "VerifyMessageNext after last", l.VerifyMessageNext(s, nil, nil, sig), ck.CKR_OPERATION_NOT_INITIALIZED)

	wantRV(t, "MessageSignFinal", l.MessageSignFinal(s), ck.CKR_OK)
	wantRV(t, "MessageSignFinal twice", l.MessageSignFinal(s), ck.CKR_OPERATION_NOT_INITIALIZED)
	wantRV(t, "MessageVerifyFinal", l.MessageVerifyFinal(s), ck.CKR_OK)
	_, rv = l.SignMessageNext(s, nil, nil, nil)
	wantRV(t, "SignMessageNext after final", rv, ck.CKR_OPERATION_NOT_INITIALIZED)
}

func TestMessageSignAlwaysAuthenticate(t *testing.T) {
	l, s, key, _ := loggedIn(t, 2)
	wantRV(t, "MessageSignInit", l.MessageSignInit(s, Mechanism{Type: ck.CKM_SHA256_RSA_PKCS}, key), ck.CKR_OK)
	out := make([]byte, 256)
	_, rv := l.SignMessage(s, nil, []byte("m"), OutBuf{Buf: out})
	wantRV(t, "without context login", rv, ck.CKR_USER_NOT_LOGGED_IN)
	wantRV(t, "context login", l.Login(s, ck.CKU_CONTEXT_SPECIFIC, []byte(testPIN)), ck.CKR_OK)
	n, rv := l.SignMessage(s, nil, []byte("m"), OutBuf{Buf: out})
	wantRV(t, "with context login", rv, ck.CKR_OK)
	sum := sha256.Sum256([]byte("m"))
	if err := rsa.VerifyPKCS1v15(&testRSA.PublicKey, crypto.SHA256, sum[:], out[:n]); err != nil {
		t.Fatal(err)
	}
	_, rv = l.SignMessage(s, nil, []byte("m"), OutBuf{Buf: out})
	wantRV(t, "the login covers one message", rv, ck.CKR_USER_NOT_LOGGED_IN)
}
