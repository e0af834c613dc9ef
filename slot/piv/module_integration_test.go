//go:build integration

// This test imports the module (a layer above slot/piv), so it only builds with
// -tags integration: go test -tags integration ./slot/piv -run ThroughTheModule

package piv_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/binary"
	"math/big"
	"testing"
	"time"

	"github.com/pcsc11/pcsc11/ck"
	"github.com/pcsc11/pcsc11/module"
	"github.com/pcsc11/pcsc11/slot"
	"github.com/pcsc11/pcsc11/slot/piv"
	"github.com/pcsc11/pcsc11/vpiv"
)

// oneSlot is a module.Manager with the PIV token of one in-process virtual card.
type oneSlot struct{ tok slot.Token }

func (m *oneSlot) Slots(bool) ([]slot.ID, error) { return []slot.ID{0}, nil }
func (m *oneSlot) SlotInfo(slot.ID) (module.SlotInfo, error) {
	return module.SlotInfo{Description: "vpiv", Flags: ck.CKF_TOKEN_PRESENT}, nil
}
func (m *oneSlot) Token(slot.ID) (slot.Token, error) { return m.tok, nil }
func (m *oneSlot) Generation(slot.ID) uint64         { return 1 }
func (m *oneSlot) WaitForEvent(bool) (slot.ID, error) {
	return 0, slot.NewError(ck.CKR_NO_EVENT, "none", nil)
}
func (m *oneSlot) Close() error { return nil }

func attr(typ ck.ULong, v any) module.Attr {
	switch x := v.(type) {
	case bool:
		if x {
			return module.Attr{Type: typ, Value: []byte{1}}
		}
		return module.Attr{Type: typ, Value: []byte{0}}
	case ck.ULong:
		b := make([]byte, slot.ULongSize)
		if slot.ULongSize == 8 {
			binary.NativeEndian.PutUint64(b, uint64(x))
		} else {
			binary.NativeEndian.PutUint32(b, uint32(x))
		}
		return module.Attr{Type: typ, Value: b}
	}
	return module.Attr{Type: typ, Value: v.([]byte)}
}

func must(t *testing.T, what string, rv ck.ULong) {
	t.Helper()
	if rv != ck.CKR_OK {
		t.Fatalf("%s: rv %#x", what, rv)
	}
}

// TestThroughTheModule drives personalization the way an application does, through
// the module's Cryptoki calls and the Personalizer contract: C_InitToken with the PUK,
// C_InitPIN, a user login that administers the card through the PIN-protected
// management key, C_GenerateKeyPair, a signature, a certificate import, a deletion.
func TestThroughTheModule(t *testing.T) {
	c, err := vpiv.New(vpiv.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Provision("demo"); err != nil {
		t.Fatal(err)
	}
	tok, err := piv.Open(vpiv.NewMemory(c), "vpiv", piv.Options{})
	if err != nil {
		t.Fatal(err)
	}
	l := module.New(func() (module.Manager, error) { return &oneSlot{tok: tok}, nil })
	must(t, "C_Initialize", l.Initialize(nil))
	defer l.Finalize(false)
	if _, rv := l.SlotList(true); rv != ck.CKR_OK {
		t.Fatal(rv)
	}
	if rv := l.InitToken(0, []byte("87654321"), "x"); rv != ck.CKR_PIN_INCORRECT {
		t.Fatalf("C_InitToken with a wrong PUK: %#x", rv)
	}
	must(t, "C_InitToken", l.InitToken(0, []byte("12345678"), "through the module            "))
	ti, rv := l.GetTokenInfo(0)
	must(t, "C_GetTokenInfo", rv)
	if ti.Label != "through the module" || ti.Flags&ck.CKF_USER_PIN_TO_BE_CHANGED == 0 {
		t.Errorf("token info after C_InitToken: %q %#x", ti.Label, ti.Flags)
	}

	h, rv := l.OpenSession(0, ck.CKF_SERIAL_SESSION|ck.CKF_RW_SESSION)
	must(t, "C_OpenSession", rv)
	must(t, "C_Login(SO, PUK)", l.Login(h, ck.CKU_SO, []byte("12345678")))
	must(t, "C_InitPIN", l.InitPIN(h, []byte("24681357")))
	must(t, "C_Logout", l.Logout(h))
	must(t, "C_Login(USER)", l.Login(h, ck.CKU_USER, []byte("24681357")))

	id := attr(ck.CKA_ID, []byte{0x01})
	p256 := attr(ck.CKA_EC_PARAMS, []byte{0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07})
	pub, priv, rv := l.GenerateKeyPair(h, module.Mechanism{Type: ck.CKM_EC_KEY_PAIR_GEN},
		[]module.Attr{id, p256, attr(ck.CKA_TOKEN, true), attr(ck.CKA_VERIFY, true), attr(ck.CKA_LABEL, []byte("mine"))},
		[]module.Attr{id, attr(ck.CKA_TOKEN, true), attr(ck.CKA_SIGN, true), attr(ck.CKA_PRIVATE, true),
			attr(ck.CKA_SENSITIVE, true), attr(ck.CKA_YUBICO_TOUCH_POLICY, ck.ULong(1))})
	must(t, "C_GenerateKeyPair", rv)

	reqs := []module.AttrReq{{Type: ck.CKA_EC_POINT, Buf: make([]byte, 80)}}
	must(t, "C_GetAttributeValue", l.GetAttributeValue(h, pub, reqs))
	var point []byte
	if _, err := asn1.Unmarshal(reqs[0].Buf[:reqs[0].Len], &point); err != nil {
		t.Fatal(err)
	}
	ecPub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), point)
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte("signed after C_GenerateKeyPair")
	must(t, "C_SignInit", l.SignInit(h, module.Mechanism{Type: ck.CKM_ECDSA_SHA256}, priv))
	sig := make([]byte, 64)
	n, rv := l.Sign(h, msg, module.OutBuf{Buf: sig})
	must(t, "C_Sign", rv)
	d := sha256.Sum256(msg)
	if n != 64 || !ecdsa.Verify(ecPub, d[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
		t.Error("signature does not verify")
	}

	ca, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "module"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, ecPub, ca)
	ch, rv := l.CreateObject(h, []module.Attr{attr(ck.CKA_CLASS, ck.CKO_CERTIFICATE), attr(ck.CKA_TOKEN, true),
		attr(ck.CKA_CERTIFICATE_TYPE, ck.CKC_X_509), id, attr(ck.CKA_VALUE, der)})
	must(t, "C_CreateObject(certificate)", rv)
	must(t, "C_FindObjectsInit", l.FindObjectsInit(h, []module.Attr{id}))
	found, rv := l.FindObjects(h, 10)
	must(t, "C_FindObjects", rv)
	l.FindObjectsFinal(h)
	if len(found) != 3 {
		t.Errorf("CKA_ID 01: %d objects, want certificate, public and private key", len(found))
	}
	must(t, "C_DestroyObject(certificate)", l.DestroyObject(h, ch))
	must(t, "C_Logout", l.Logout(h))
	// Without a login the card takes no write.
	if _, rv := l.CreateObject(h, []module.Attr{attr(ck.CKA_CLASS, ck.CKO_CERTIFICATE), attr(ck.CKA_TOKEN, true),
		id, attr(ck.CKA_VALUE, der)}); rv != ck.CKR_USER_NOT_LOGGED_IN {
		t.Errorf("write after logout: %#x", rv)
	}
}
