// The module over the real PIV driver (slot/piv) and the in-process virtual card
// (vpiv): what an application sees through Library, with the card's APDUs counted.

package module_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/binary"
	"math/big"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pcsc11/pcsc11/ck"
	"github.com/pcsc11/pcsc11/module"
	"github.com/pcsc11/pcsc11/reader"
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

// demoLibrary is an initialized library over a fresh demo card (vpiv, in memory) in
// slot 0, its slot list read; wrap, when set, sits between the driver and the card.
func demoLibrary(t *testing.T, wrap func(reader.Card) reader.Card) *module.Library {
	t.Helper()
	c, err := vpiv.New(vpiv.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Provision("demo"); err != nil {
		t.Fatal(err)
	}
	var card reader.Card = vpiv.NewMemory(c)
	if wrap != nil {
		card = wrap(card)
	}
	return libraryOver(t, card)
}

// libraryOver is an initialized library with the PIV token of card in slot 0, its
// slot list read; C_Finalize at the end of the test.
func libraryOver(t *testing.T, card reader.Card) *module.Library {
	t.Helper()
	tok, err := piv.Open(card, "vpiv", piv.Options{})
	if err != nil {
		t.Fatal(err)
	}
	l := module.New(func() (module.Manager, error) { return &oneSlot{tok: tok}, nil })
	must(t, "C_Initialize", l.Initialize(nil))
	t.Cleanup(func() { l.Finalize(false) })
	if _, rv := l.SlotList(true); rv != ck.CKR_OK {
		t.Fatal(rv)
	}
	return l
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
	l := demoLibrary(t, nil)
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

// tracingCard records every command sent to the card.
type tracingCard struct {
	reader.Card
	cmds [][]byte
}

func (c *tracingCard) Transmit(cmd []byte) ([]byte, error) {
	c.cmds = append(c.cmds, append([]byte(nil), cmd...))
	return c.Card.Transmit(cmd)
}

// names spells the commands as the benchmark's traces do.
func (c *tracingCard) names() []string {
	var out []string
	for _, b := range c.cmds {
		out = append(out, piv.CommandName(b))
	}
	return out
}

// TestS2ThroughTheModule is benchmark scenario S2 (docs/performance.md) on the demo
// card, through the module as bench/p11bench drives it: cold start, token info, find
// the certificate with CKA_ID 01, read its value (length, then value), find the
// private key (hidden before login), C_Login, find it again, C_SignInit + C_Sign with
// CKM_RSA_PKCS. Only the 9A slot is read: 11 APDUs, where the full enumeration cost 40.
func TestS2ThroughTheModule(t *testing.T) {
	l, card, h := tracedDemoSession(t)
	id := attr(ck.CKA_ID, []byte{0x01})
	find := func(class ck.ULong) []ck.ULong {
		t.Helper()
		must(t, "C_FindObjectsInit", l.FindObjectsInit(h, []module.Attr{attr(ck.CKA_CLASS, class), id}))
		found, rv := l.FindObjects(h, 10)
		must(t, "C_FindObjects", rv)
		must(t, "C_FindObjectsFinal", l.FindObjectsFinal(h))
		return found
	}
	certs := find(ck.CKO_CERTIFICATE)
	if len(certs) != 1 {
		t.Fatalf("certificates with CKA_ID 01: %d", len(certs))
	}
	reqs := []module.AttrReq{{Type: ck.CKA_VALUE}}
	must(t, "C_GetAttributeValue (length)", l.GetAttributeValue(h, certs[0], reqs))
	reqs[0].Buf = make([]byte, reqs[0].Len)
	must(t, "C_GetAttributeValue", l.GetAttributeValue(h, certs[0], reqs))
	cert, err := x509.ParseCertificate(reqs[0].Buf)
	if err != nil {
		t.Fatal(err)
	}
	if keys := find(ck.CKO_PRIVATE_KEY); len(keys) != 0 {
		t.Fatalf("private key visible before login: %d", len(keys))
	}
	must(t, "C_Login", l.Login(h, ck.CKU_USER, []byte("123456")))
	keys := find(ck.CKO_PRIVATE_KEY)
	if len(keys) != 1 {
		t.Fatalf("private keys with CKA_ID 01 after login: %d", len(keys))
	}
	digest := sha256.Sum256([]byte("S2"))
	digestInfo := append([]byte{0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04,
		0x02, 0x01, 0x05, 0x00, 0x04, 0x20}, digest[:]...)
	must(t, "C_SignInit", l.SignInit(h, module.Mechanism{Type: ck.CKM_RSA_PKCS}, keys[0]))
	sig := make([]byte, 256)
	n, rv := l.Sign(h, digestInfo, module.OutBuf{Buf: sig})
	must(t, "C_Sign", rv)
	if err := rsa.VerifyPKCS1v15(cert.PublicKey.(*rsa.PublicKey), crypto.SHA256, digest[:], sig[:n]); err != nil {
		t.Errorf("signature: %v", err)
	}
	got := card.names()
	t.Logf("S2 through the module: %d APDUs: %s", len(got), strings.Join(got, " → "))
	want := []string{"SELECT", "GET VERSION", "GET SERIAL", // piv.Open
		"GET METADATA 80", "GET METADATA 81", "GET METADATA 9B", "GET DATA 5FFF0F", // C_GetTokenInfo
		"GET METADATA 9A", "GET DATA 5FC105", // the search by CKA_ID 01
		"VERIFY PIN", "GENERAL AUTH 9A"} // C_Login, C_Sign
	if !slices.Equal(got, want) {
		t.Errorf("S2 sent %q, want %q", got, want)
	}
}

// loggedInLibrary is an initialized library over a virtual card of opts provisioned
// with provision, in slot 0, with a session logged in as the user; the card's commands
// are traced.
func loggedInLibrary(t *testing.T, opts vpiv.Options, provision string) (*module.Library, *vpiv.Card, *tracingCard, ck.ULong) {
	t.Helper()
	c, err := vpiv.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Provision(provision); err != nil {
		t.Fatal(err)
	}
	tc := &tracingCard{Card: vpiv.NewMemory(c)}
	l := libraryOver(t, tc)
	h, rv := l.OpenSession(0, ck.CKF_SERIAL_SESSION)
	must(t, "C_OpenSession", rv)
	must(t, "C_Login", l.Login(h, ck.CKU_USER, []byte("123456")))
	return l, c, tc, h
}

// TestIdlePollingThroughTheModule (docs/performance.md, S9/S10): a host polling slot,
// token and session information while logged in, as NSS does before TLS records and
// every second, costs the card nothing with the PIN cache (the default); another
// program selecting another application is then healed by the next signature (the
// cached PIN verified again). With PCSC11_PIN_CACHE=off every C_GetSessionInfo asks the
// card, so that the same loss turns the session public at once (docs/pin-cache.md).
func TestIdlePollingThroughTheModule(t *testing.T) {
	for _, policy := range []string{"session", "off"} {
		t.Run(policy, func(t *testing.T) {
			t.Setenv("PCSC11_PIN_CACHE", policy)
			l, c, card, h := loggedInLibrary(t, vpiv.Options{}, "demo")
			poll := func() ck.ULong {
				t.Helper()
				_, rv := l.GetSlotInfo(0)
				must(t, "C_GetSlotInfo", rv)
				si, rv := l.GetSessionInfo(h)
				must(t, "C_GetSessionInfo", rv)
				_, rv = l.GetTokenInfo(0)
				must(t, "C_GetTokenInfo", rv)
				return si.State
			}
			poll() // the first C_GetTokenInfo after the login reads the PIN counter
			from := len(card.cmds)
			for i := 0; i < 10; i++ {
				if st := poll(); st != ck.CKS_RO_USER_FUNCTIONS {
					t.Fatalf("state %#x while logged in", st)
				}
			}
			want := 0
			if policy == "off" {
				want = 10 // one empty VERIFY per C_GetSessionInfo
			}
			if n := len(card.cmds) - from; n != want {
				t.Errorf("10 polls: %d APDUs %v, want %d", n, card.names()[from:], want)
			}

			// Another program selects OpenPGP in its own transaction.
			c.Process([]byte{0x00, 0xA4, 0x04, 0x00, 0x06, 0xD2, 0x76, 0x00, 0x01, 0x24, 0x01})
			st := poll()
			if policy == "off" && st != ck.CKS_RO_PUBLIC_SESSION {
				t.Fatalf("state %#x after another application without a PIN cache, want public", st)
			}
			if policy == "off" {
				return
			}
			if st != ck.CKS_RO_USER_FUNCTIONS {
				t.Errorf("state %#x after another application (PIN cached)", st)
			}
			must(t, "C_FindObjectsInit", l.FindObjectsInit(h, []module.Attr{
				attr(ck.CKA_CLASS, ck.CKO_PRIVATE_KEY), attr(ck.CKA_ID, []byte{0x01})}))
			keys, rv := l.FindObjects(h, 1)
			must(t, "C_FindObjects", rv)
			must(t, "C_FindObjectsFinal", l.FindObjectsFinal(h))
			if len(keys) != 1 {
				t.Fatalf("9A private key: %v", keys)
			}
			must(t, "C_SignInit", l.SignInit(h, module.Mechanism{Type: ck.CKM_SHA256_RSA_PKCS}, keys[0]))
			_, rv = l.Sign(h, []byte("x"), module.OutBuf{Buf: make([]byte, 256)})
			must(t, "C_Sign after another application, PIN cached", rv)
		})
	}
}

// tracedDemoSession is what an application does first on the demo card, its commands
// traced: C_GetTokenInfo, then a session.
func tracedDemoSession(t *testing.T) (*module.Library, *tracingCard, ck.ULong) {
	t.Helper()
	card := &tracingCard{}
	l := demoLibrary(t, func(c reader.Card) reader.Card { card.Card = c; return card })
	_, rv := l.GetTokenInfo(0)
	must(t, "C_GetTokenInfo", rv)
	h, rv := l.OpenSession(0, ck.CKF_SERIAL_SESSION)
	must(t, "C_OpenSession", rv)
	return l, card, h
}

// TestS7ThroughTheModule: listing every public key and certificate as ssh-keygen -D
// does (searches by class) reads the token information, the user key slots and their
// certificates: 35 APDUs on the demo card (docs/performance.md, the S7 floor), no
// attestation slot and no data object; the handles are those a full search gives.
func TestS7ThroughTheModule(t *testing.T) {
	l, card, h := tracedDemoSession(t)
	find := func(tmpl ...module.Attr) []ck.ULong {
		t.Helper()
		must(t, "C_FindObjectsInit", l.FindObjectsInit(h, tmpl))
		found, rv := l.FindObjects(h, 100)
		must(t, "C_FindObjects", rv)
		must(t, "C_FindObjectsFinal", l.FindObjectsFinal(h))
		return found
	}
	pubs := find(attr(ck.CKA_CLASS, ck.CKO_PUBLIC_KEY))
	certs := find(attr(ck.CKA_CLASS, ck.CKO_CERTIFICATE))
	if len(pubs) != 4 || len(certs) != 4 {
		t.Fatalf("%d public keys, %d certificates; want 4 and 4", len(pubs), len(certs))
	}
	names := card.names()
	for _, n := range names {
		if n == "GET METADATA F9" || n == "GET DATA 5FFF01" || n == "GET DATA 5FC102" || n == "GET DATA 7E" {
			t.Errorf("a search by class sent %s", n)
		}
	}
	if len(names) != 35 {
		t.Errorf("S7 sent %d APDUs, want 35: %q", len(names), names)
	}
	all := find()
	for _, hh := range append(pubs, certs...) {
		if !slices.Contains(all, hh) {
			t.Errorf("handle %d of a search by class is not in the full list %v", hh, all)
		}
	}
}
