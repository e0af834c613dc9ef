package module

import (
	"testing"
	"time"

	"github.com/pcsc11/pcsc11/ck"
)

// Spec edge cases at the module's level; the same cases run through the C
// ABI in hwtests/cabi (edgecases.inc).

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
	// No session: nothing happens, nothing panics.
	l.AfterCall(999, OpSign, ck.CKR_ARGUMENTS_BAD)
}

// C_SessionCancel(CKF_MESSAGE_SIGN) ends a message-signing process (it answered
// CKR_OK and cancelled nothing: the next C_MessageSignInit said CKR_OPERATION_ACTIVE).
func TestSessionCancelMessageSign(t *testing.T) {
	l, s, key, _ := loggedIn(t, 4)
	m := Mechanism{Type: ck.CKM_ECDSA_SHA256}
	wantRV(t, "MessageSignInit", l.MessageSignInit(s, m, key), ck.CKR_OK)
	wantRV(t, "MessageVerifyInit", l.MessageVerifyInit(s, m, key), ck.CKR_OK)
	wantRV(t, "SessionCancel(CKF_MESSAGE_SIGN)", l.SessionCancel(s, ckfMessageSign), ck.CKR_OK)
	wantRV(t, "MessageSignInit after cancel", l.MessageSignInit(s, m, key), ck.CKR_OK)
	wantRV(t, "verify untouched", l.MessageVerifyInit(s, m, key), ck.CKR_OPERATION_ACTIVE)
	wantRV(t, "SessionCancel(CKF_MESSAGE_VERIFY)", l.SessionCancel(s, ckfMessageVerify), ck.CKR_OK)
	wantRV(t, "MessageVerifyInit after cancel", l.MessageVerifyInit(s, m, key), ck.CKR_OK)
	wantRV(t, "SessionCancel(CKF_SIGN) leaves message signing", l.SessionCancel(s, ck.CKF_SIGN), ck.CKR_OK)
	wantRV(t, "MessageSignInit while active", l.MessageSignInit(s, m, key), ck.CKR_OPERATION_ACTIVE)
}

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

// CKF_RNG is set because C_GenerateRandom works; C_SeedRandom then answers
// CKR_RANDOM_SEED_NOT_SUPPORTED.
func TestRandomAndCKF_RNG(t *testing.T) {
	l, s, _, _ := loggedIn(t, 4)
	ti, rv := l.GetTokenInfo(0)
	wantRV(t, "GetTokenInfo", rv, ck.CKR_OK)
	if ti.Flags&ck.CKF_RNG == 0 {
		t.Error("CKF_RNG clear while C_GenerateRandom is offered")
	}
	buf := make([]byte, 32)
	wantRV(t, "GenerateRandom", l.GenerateRandom(s, buf), ck.CKR_OK)
	if string(buf) == string(make([]byte, 32)) {
		t.Error("32 zero bytes of random")
	}
	wantRV(t, "SeedRandom", l.SeedRandom(s), ck.CKR_RANDOM_SEED_NOT_SUPPORTED)
}

// C_CopyObject copies session objects with the template's changes.
func TestCopySessionObject(t *testing.T) {
	l, s, ec, _ := loggedIn(t, 4)
	data := []Attr{ulongAttr(ck.CKA_CLASS, ck.CKO_DATA), {Type: ck.CKA_LABEL, Value: []byte("orig")},
		{Type: ck.CKA_VALUE, Value: []byte("payload")}}
	obj, rv := l.CreateObject(s, data)
	wantRV(t, "CreateObject", rv, ck.CKR_OK)
	cp, rv := l.CopyObject(s, obj, []Attr{{Type: ck.CKA_LABEL, Value: []byte("copy")}})
	wantRV(t, "CopyObject", rv, ck.CKR_OK)
	if cp == obj {
		t.Fatal("the copy has the original's handle")
	}
	reqs := []AttrReq{{Type: ck.CKA_LABEL, Buf: make([]byte, 16)}, {Type: ck.CKA_VALUE, Buf: make([]byte, 16)}}
	wantRV(t, "GetAttributeValue copy", l.GetAttributeValue(s, cp, reqs), ck.CKR_OK)
	if string(reqs[0].Buf[:reqs[0].Len]) != "copy" || string(reqs[1].Buf[:reqs[1].Len]) != "payload" {
		t.Fatalf("copy: label %q value %q", reqs[0].Buf[:reqs[0].Len], reqs[1].Buf[:reqs[1].Len])
	}
	wantRV(t, "original kept", l.GetAttributeValue(s, obj, reqs[:1]), ck.CKR_OK)
	if string(reqs[0].Buf[:reqs[0].Len]) != "orig" {
		t.Fatalf("original label %q", reqs[0].Buf[:reqs[0].Len])
	}
	wantRV(t, "destroy the copy", l.DestroyObject(s, cp), ck.CKR_OK)
	wantRV(t, "original survives", l.GetAttributeValue(s, obj, reqs[:1]), ck.CKR_OK)

	_, rv = l.CopyObject(s, obj, []Attr{{Type: ck.CKA_TOKEN, Value: []byte{1}}})
	wantRV(t, "copy onto the token", rv, ck.CKR_TEMPLATE_INCONSISTENT)
	_, rv = l.CopyObject(s, obj, []Attr{ulongAttr(ck.CKA_CLASS, ck.CKO_SECRET_KEY)})
	wantRV(t, "change the class", rv, ck.CKR_ATTRIBUTE_READ_ONLY)
	locked, rv := l.CopyObject(s, obj, []Attr{{Type: ck.CKA_COPYABLE, Value: []byte{0}}})
	wantRV(t, "copy that is not copyable", rv, ck.CKR_OK)
	_, rv = l.CopyObject(s, locked, nil)
	wantRV(t, "copy of a CKA_COPYABLE false object", rv, ck.CKR_ACTION_PROHIBITED)
	_, rv = l.CopyObject(s, ec, nil)
	wantRV(t, "copy of a card object", rv, ck.CKR_SESSION_READ_ONLY)
	_, rv = l.CopyObject(open(t, l, true), ec, nil)
	wantRV(t, "copy of a card object in a R/W session", rv, ck.CKR_FUNCTION_NOT_SUPPORTED)
	_, rv = l.CopyObject(s, 12345, nil)
	wantRV(t, "copy of no object", rv, ck.CKR_OBJECT_HANDLE_INVALID)
}

func TestCardBudgetFromEnv(t *testing.T) {
	for v, want := range map[string]time.Duration{"": 0, "off": -1, "0": -1, "20s": 20 * time.Second,
		"90": 90 * time.Second, "1m": time.Minute, "soon": 0, "-5s": 0} {
		t.Setenv("PCSC11_CARD_TIMEOUT", v)
		if got := CardBudget(); got != want {
			t.Errorf("PCSC11_CARD_TIMEOUT=%q: %v, want %v", v, got, want)
		}
	}
}
