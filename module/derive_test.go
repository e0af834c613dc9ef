package module

import (
	"bytes"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/asn1"
	"testing"

	"github.com/pcsc11/pcsc11/ck"
)

func TestDeriveECDH(t *testing.T) {
	l, s, key, _ := loggedIn(t, 3)
	peer, _ := ecdh.P256().GenerateKey(rand.Reader)
	mine, _ := testEC.ECDH()
	want, _ := peer.ECDH(mine.PublicKey())
	params := &ECDHParams{KDF: ck.CKD_NULL, PublicData: peer.PublicKey().Bytes()}
	mech := Mechanism{Type: ck.CKM_ECDH1_DERIVE, ECDH: params}

	h, rv := l.DeriveKey(s, mech, key, nil)
	wantRV(t, "DeriveKey", rv, ck.CKR_OK)
	reqs := []AttrReq{{Type: ck.CKA_VALUE, Buf: make([]byte, 64)}, {Type: ck.CKA_CLASS, Buf: make([]byte, 8)}}
	wantRV(t, "read secret", l.GetAttributeValue(s, h, reqs), ck.CKR_OK)
	if !bytes.Equal(reqs[0].Buf[:reqs[0].Len], want) {
		t.Fatal("shared secret differs from the software peer's")
	}
	// The point may come DER-wrapped; CKA_VALUE_LEN keeps the leading bytes.
	wrapped, _ := asn1.Marshal(peer.PublicKey().Bytes())
	mech.ECDH = &ECDHParams{KDF: ck.CKD_NULL, PublicData: wrapped}
	h2, rv := l.DeriveKey(s, mech, key, []Attr{ulongAttr(ck.CKA_VALUE_LEN, 16), {Type: ck.CKA_LABEL, Value: []byte("k")}})
	wantRV(t, "DeriveKey wrapped, 16 bytes", rv, ck.CKR_OK)
	reqs = []AttrReq{{Type: ck.CKA_VALUE, Buf: make([]byte, 64)}}
	wantRV(t, "read", l.GetAttributeValue(s, h2, reqs), ck.CKR_OK)
	if !bytes.Equal(reqs[0].Buf[:reqs[0].Len], want[:16]) {
		t.Fatal("truncated secret")
	}
	// Found by a search, from another session of the application too.
	other := open(t, l, false)
	found := findAll(t, l, other, []Attr{ulongAttr(ck.CKA_CLASS, ck.CKO_SECRET_KEY)})
	if len(found) != 2 {
		t.Fatalf("secret keys found: %d", len(found))
	}
	// Sensitive secret: CKA_VALUE not revealed.
	h3, rv := l.DeriveKey(s, Mechanism{Type: ck.CKM_ECDH1_DERIVE, ECDH: params}, key, []Attr{{Type: ck.CKA_SENSITIVE, Value: []byte{1}}})
	wantRV(t, "DeriveKey sensitive", rv, ck.CKR_OK)
	wantRV(t, "sensitive value", l.GetAttributeValue(s, h3, []AttrReq{{Type: ck.CKA_VALUE}}), ck.CKR_ATTRIBUTE_SENSITIVE)

	for name, c := range map[string]struct {
		m    Mechanism
		tmpl []Attr
		want ck.ULong
	}{
		"no params":       {Mechanism{Type: ck.CKM_ECDH1_DERIVE}, nil, ck.CKR_MECHANISM_PARAM_INVALID},
		"kdf":             {Mechanism{Type: ck.CKM_ECDH1_DERIVE, ECDH: &ECDHParams{KDF: 2, PublicData: params.PublicData}}, nil, ck.CKR_MECHANISM_PARAM_INVALID},
		"bad point":       {Mechanism{Type: ck.CKM_ECDH1_DERIVE, ECDH: &ECDHParams{KDF: ck.CKD_NULL, PublicData: []byte{4, 1, 2}}}, nil, ck.CKR_MECHANISM_PARAM_INVALID},
		"token object":    {mech, []Attr{{Type: ck.CKA_TOKEN, Value: []byte{1}}}, ck.CKR_ATTRIBUTE_VALUE_INVALID},
		"bad bool":        {mech, []Attr{{Type: ck.CKA_TOKEN, Value: []byte{1, 0}}}, ck.CKR_ATTRIBUTE_VALUE_INVALID},
		"value given":     {mech, []Attr{{Type: ck.CKA_VALUE, Value: []byte{1}}}, ck.CKR_TEMPLATE_INCONSISTENT},
		"too long":        {mech, []Attr{ulongAttr(ck.CKA_VALUE_LEN, 33)}, ck.CKR_TEMPLATE_INCONSISTENT},
		"wrong class":     {mech, []Attr{ulongAttr(ck.CKA_CLASS, ck.CKO_DATA)}, ck.CKR_TEMPLATE_INCONSISTENT},
		"wrong mechanism": {Mechanism{Type: ck.CKM_ECDSA}, nil, ck.CKR_MECHANISM_INVALID},
	} {
		_, rv := l.DeriveKey(s, c.m, key, c.tmpl)
		wantRV(t, name, rv, c.want)
	}
	signKey := findAll(t, l, s, []Attr{{Type: ck.CKA_ID, Value: []byte{4}}})[0]
	_, rv = l.DeriveKey(s, mech, signKey, nil)
	wantRV(t, "key without CKA_DERIVE", rv, ck.CKR_KEY_FUNCTION_NOT_PERMITTED)

	// Destroy one; closing the creating session destroys the rest.
	wantRV(t, "DestroyObject", l.DestroyObject(other, h2), ck.CKR_OK)
	wantRV(t, "destroyed", l.GetAttributeValue(s, h2, []AttrReq{{Type: ck.CKA_CLASS}}), ck.CKR_OBJECT_HANDLE_INVALID)
	tokenObj := findAll(t, l, s, []Attr{ulongAttr(ck.CKA_CLASS, ck.CKO_CERTIFICATE)})[0]
	wantRV(t, "DestroyObject token object, R/O session", l.DestroyObject(s, tokenObj), ck.CKR_SESSION_READ_ONLY)
	wantRV(t, "CloseSession", l.CloseSession(s), ck.CKR_OK)
	wantRV(t, "gone with its session", l.GetAttributeValue(other, h, []AttrReq{{Type: ck.CKA_CLASS}}), ck.CKR_OBJECT_HANDLE_INVALID)
}

// The peer's public value, raw or DER-wrapped, for both key types that derive.
func TestPeerPoint(t *testing.T) {
	p256, _ := asn1.Marshal(asn1.ObjectIdentifier{1, 2, 840, 10045, 3, 1, 7})
	ec := map[ck.ULong]any{ck.CKA_EC_PARAMS: p256}
	wrap := func(b []byte) []byte { w, _ := asn1.Marshal(b); return w }
	point := append([]byte{4}, bytes.Repeat([]byte{7}, 64)...)
	notUncompressed := append([]byte{3}, point[1:]...)
	x := bytes.Repeat([]byte{9}, 32)
	for _, c := range []struct {
		what    string
		keyType ck.ULong
		pub     []byte
		want    []byte
	}{
		{"EC raw", ck.CKK_EC, point, point},
		{"EC wrapped", ck.CKK_EC, wrap(point), point},
		{"EC not uncompressed", ck.CKK_EC, notUncompressed, nil},
		{"EC wrapped, not uncompressed", ck.CKK_EC, wrap(notUncompressed), nil},
		{"EC short", ck.CKK_EC, point[:33], nil},
		{"EC wrapped, short", ck.CKK_EC, wrap(point[:33]), nil},
		{"X25519 raw", ck.CKK_EC_MONTGOMERY, x, x},
		{"X25519 wrapped", ck.CKK_EC_MONTGOMERY, wrap(x), x},
		{"X25519 short", ck.CKK_EC_MONTGOMERY, x[:31], nil},
		{"RSA", ck.CKK_RSA, point, nil},
	} {
		got, ok := peerPoint(c.keyType, ec, c.pub)
		if ok != (c.want != nil) || !bytes.Equal(got, c.want) {
			t.Errorf("%s: %x %v, want %x", c.what, got, ok, c.want)
		}
	}
	if _, ok := peerPoint(ck.CKK_EC, map[ck.ULong]any{}, point); ok {
		t.Error("EC key of no known curve accepted a point")
	}
}
