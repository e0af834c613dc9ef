package module

import (
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/asn1"
	"fmt"
	"math/big"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/pcsc11/pcsc11/ck"
	"github.com/pcsc11/pcsc11/reader"
	"github.com/pcsc11/pcsc11/slot"
)

// Test keys, generated once per test binary.
var (
	keysOnce sync.Once
	testRSA  *rsa.PrivateKey
	testEC   *ecdsa.PrivateKey
	testEd   ed25519.PrivateKey
)

func testKeys(t testing.TB) {
	keysOnce.Do(func() {
		var err error
		if testRSA, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
		if testEC, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
			panic(err)
		}
		_, testEd, _ = ed25519.GenerateKey(rand.Reader)
	})
}

const testPIN = "123456"

// fakeToken is an in-memory token with software keys: an RSA key (id 01), an RSA
// always-authenticate key (id 02, same key material), a P-256 key (id 04), an Ed25519
// key (id 05), a certificate, and a public data object.
type fakeToken struct {
	lazyReads  atomic.Int32 // reads of the lazy CKA_VALUE of data/5fc107
	mu         sync.Mutex
	loggedIn   bool
	ctxPending bool
	logins     int
	ops        int
	protected  bool
	closed     bool
	decryptKey string // a key name that decrypts with the RSA test key

	// Personalization state (slot.Personalizer).
	label     string
	userPIN   string
	extra     []slot.Object
	destroyed map[string]bool
	reset     bool
	genMech   bool // advertise CKM_EC_KEY_PAIR_GEN
}

const testSOKey = "010203040506070801020304050607080102030405060708"

func (f *fakeToken) InitToken(soPIN []byte, label string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if string(soPIN) != testSOKey {
		return slot.NewError(ck.CKR_PIN_INCORRECT, "wrong SO credential", nil)
	}
	f.label, f.reset, f.extra = label, true, nil
	return nil
}

func (f *fakeToken) InitPIN(pin []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(pin) < 6 || len(pin) > 8 {
		return slot.NewError(ck.CKR_PIN_LEN_RANGE, "PIN length", nil)
	}
	f.userPIN = string(pin)
	return nil
}

func (f *fakeToken) SetPIN(userType ck.ULong, oldPIN, newPIN []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if userType != ck.CKU_USER {
		return slot.NewError(ck.CKR_FUNCTION_NOT_SUPPORTED, "fake: user PIN only", nil)
	}
	if string(oldPIN) != testPIN {
		return slot.NewError(ck.CKR_PIN_INCORRECT, "wrong PIN", nil)
	}
	f.userPIN = string(newPIN)
	return nil
}

func (f *fakeToken) GenerateKeyPair(mech ck.ULong, pub, priv slot.Attributes) (string, string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id, _, err := pub.Bytes(ck.CKA_ID)
	if err != nil || len(id) != 1 {
		return "", "", slot.NewError(ck.CKR_TEMPLATE_INCOMPLETE, "CKA_ID", nil)
	}
	k := fmt.Sprintf("%02x", id[0])
	f.extra = append(f.extra,
		slot.Object{Key: "pub/gen" + k, Attrs: slot.Attributes{ck.CKA_CLASS: ck.CKO_PUBLIC_KEY, ck.CKA_ID: id, ck.CKA_KEY_TYPE: ck.CKK_EC}},
		slot.Object{Key: "priv/gen" + k, Attrs: slot.Attributes{ck.CKA_CLASS: ck.CKO_PRIVATE_KEY, ck.CKA_ID: id, ck.CKA_PRIVATE: true, ck.CKA_KEY_TYPE: ck.CKK_EC}})
	return "pub/gen" + k, "priv/gen" + k, nil
}

func (f *fakeToken) CreateObject(tmpl slot.Attributes) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	class, _, err := tmpl.ULong(ck.CKA_CLASS)
	if err != nil || class != ck.CKO_CERTIFICATE {
		return "", slot.NewError(ck.CKR_TEMPLATE_INCONSISTENT, "certificates only", nil)
	}
	v, _, _ := tmpl.Bytes(ck.CKA_VALUE)
	key := fmt.Sprintf("cert/new%d", len(f.extra))
	f.extra = append(f.extra, slot.Object{Key: key, Attrs: slot.Attributes{ck.CKA_CLASS: ck.CKO_CERTIFICATE, ck.CKA_VALUE: v}})
	return key, nil
}

func (f *fakeToken) DestroyObject(key string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.destroyed == nil {
		f.destroyed = map[string]bool{}
	}
	f.destroyed[key] = true
	return nil
}

func newFakeToken(t testing.TB) *fakeToken {
	testKeys(t)
	return &fakeToken{}
}

func (f *fakeToken) Info() (slot.TokenInfo, error) {
	fl := ck.CKF_LOGIN_REQUIRED | ck.CKF_USER_PIN_INITIALIZED | ck.CKF_TOKEN_INITIALIZED
	if f.protected {
		fl |= ck.CKF_PROTECTED_AUTHENTICATION_PATH
	}
	return slot.TokenInfo{Label: "fake", Manufacturer: "test", Model: "PIV", Serial: "1234",
		Flags: fl, MinPINLen: 6, MaxPINLen: 8, TotalPublicMem: ck.CK_UNAVAILABLE_INFORMATION}, nil
}

func (f *fakeToken) Mechanisms() []slot.Mechanism {
	m := f.baseMechanisms()
	if f.genMech {
		m = append(m, slot.Mechanism{Type: ck.CKM_EC_KEY_PAIR_GEN, MinKeySize: 256, MaxKeySize: 384, Flags: ck.CKF_HW | ck.CKF_GENERATE_KEY_PAIR})
	}
	return m
}

func (f *fakeToken) baseMechanisms() []slot.Mechanism {
	return []slot.Mechanism{
		{Type: ck.CKM_RSA_X_509, MinKeySize: 1024, MaxKeySize: 4096, Flags: ck.CKF_HW | ck.CKF_SIGN | ck.CKF_DECRYPT},
		{Type: ck.CKM_ECDSA, MinKeySize: 256, MaxKeySize: 384, Flags: ck.CKF_HW | ck.CKF_SIGN | ck.CKF_EC_NAMEDCURVE},
		{Type: ck.CKM_EDDSA, MinKeySize: 255, MaxKeySize: 255, Flags: ck.CKF_HW | ck.CKF_SIGN},
		{Type: ck.CKM_ECDH1_DERIVE, MinKeySize: 256, MaxKeySize: 384, Flags: ck.CKF_HW | ck.CKF_DERIVE},
	}
}

func mustDER(v any) []byte {
	b, err := asn1.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func (f *fakeToken) Objects() ([]slot.Object, error) {
	base, _ := f.baseObjects()
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []slot.Object
	for _, o := range append(base, f.extra...) {
		if !f.destroyed[o.Key] {
			out = append(out, o)
		}
	}
	return out, nil
}

func (f *fakeToken) baseObjects() ([]slot.Object, error) {
	p256 := mustDER(asn1.ObjectIdentifier{1, 2, 840, 10045, 3, 1, 7})
	point := elliptic.Marshal(elliptic.P256(), testEC.X, testEC.Y) //nolint:staticcheck // test data
	rsaPriv := func(key, id string, always bool) slot.Object {
		return slot.Object{Key: key, Attrs: slot.Attributes{
			ck.CKA_CLASS: ck.CKO_PRIVATE_KEY, ck.CKA_KEY_TYPE: ck.CKK_RSA, ck.CKA_TOKEN: true,
			ck.CKA_PRIVATE: true, ck.CKA_SENSITIVE: true, ck.CKA_EXTRACTABLE: false, ck.CKA_SIGN: true,
			ck.CKA_ID: []byte(id), ck.CKA_LABEL: "rsa " + key, ck.CKA_MODULUS: testRSA.N.Bytes(),
			ck.CKA_PUBLIC_EXPONENT: big.NewInt(int64(testRSA.E)).Bytes(), ck.CKA_ALWAYS_AUTHENTICATE: always,
			ck.CKA_DECRYPT: false,
		}}
	}
	return []slot.Object{
		{Key: "cert/9a", Attrs: slot.Attributes{ck.CKA_CLASS: ck.CKO_CERTIFICATE, ck.CKA_TOKEN: true,
			ck.CKA_PRIVATE: false, ck.CKA_ID: []byte{1}, ck.CKA_VALUE: []byte("certificate bytes"),
			ck.CKA_LABEL: "X.509 Certificate for PIV Authentication", ck.CKA_CERTIFICATE_TYPE: ck.CKC_X_509}},
		{Key: "pub/9a", Attrs: slot.Attributes{ck.CKA_CLASS: ck.CKO_PUBLIC_KEY, ck.CKA_KEY_TYPE: ck.CKK_RSA,
			ck.CKA_PRIVATE: false, ck.CKA_ID: []byte{1}, ck.CKA_MODULUS: testRSA.N.Bytes(),
			ck.CKA_PUBLIC_EXPONENT: big.NewInt(int64(testRSA.E)).Bytes(), ck.CKA_VERIFY: true, ck.CKA_ENCRYPT: true}},
		rsaPriv("priv/9a", "\x01", false),
		rsaPriv("priv/9c", "\x02", true),
		{Key: "priv/9e", Attrs: slot.Attributes{ck.CKA_CLASS: ck.CKO_PRIVATE_KEY, ck.CKA_KEY_TYPE: ck.CKK_EC,
			ck.CKA_PRIVATE: true, ck.CKA_SENSITIVE: true, ck.CKA_SIGN: true, ck.CKA_ID: []byte{4},
			ck.CKA_EC_PARAMS: p256, ck.CKA_EC_POINT: mustDER(point),
			ck.CKA_ALLOWED_MECHANISMS: []ck.ULong{ck.CKM_ECDSA, ck.CKM_ECDSA_SHA256}}},
		{Key: "priv/9d", Attrs: slot.Attributes{ck.CKA_CLASS: ck.CKO_PRIVATE_KEY, ck.CKA_KEY_TYPE: ck.CKK_EC,
			ck.CKA_PRIVATE: true, ck.CKA_SENSITIVE: true, ck.CKA_DERIVE: true, ck.CKA_ID: []byte{3},
			ck.CKA_EC_PARAMS: p256, ck.CKA_EC_POINT: mustDER(point)}},
		{Key: "priv/82", Attrs: slot.Attributes{ck.CKA_CLASS: ck.CKO_PRIVATE_KEY, ck.CKA_KEY_TYPE: ck.CKK_EC_EDWARDS,
			ck.CKA_PRIVATE: true, ck.CKA_SIGN: true, ck.CKA_ID: []byte{5}}},
		{Key: "priv/83", Attrs: slot.Attributes{ck.CKA_CLASS: ck.CKO_PRIVATE_KEY, ck.CKA_KEY_TYPE: ck.CKK_RSA,
			ck.CKA_PRIVATE: true, ck.CKA_SIGN: false, ck.CKA_DECRYPT: true, ck.CKA_ID: []byte{6},
			ck.CKA_MODULUS: testRSA.N.Bytes()}},
		{Key: "data/5fc102", Attrs: slot.Attributes{ck.CKA_CLASS: ck.CKO_DATA, ck.CKA_PRIVATE: false,
			ck.CKA_APPLICATION: "PIV", ck.CKA_VALUE: []byte{0x53, 0}, ck.CKA_LABEL: "CHUID",
			ck.CKA_START_DATE: struct{}{}}},
	}, nil
}

func (f *fakeToken) Login(userType ck.ULong, pin []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.logins++
	if pin == nil && f.protected {
		pin = []byte(testPIN)
	}
	if string(pin) != testPIN {
		return slot.NewError(ck.CKR_PIN_INCORRECT, "wrong PIN", nil)
	}
	if userType == ck.CKU_CONTEXT_SPECIFIC {
		f.ctxPending = true
		return nil
	}
	f.loggedIn = true
	return nil
}

func (f *fakeToken) Logout() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.loggedIn = false
	return nil
}

func (f *fakeToken) LoggedIn() (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.loggedIn, nil
}

func (f *fakeToken) PrivateKeyOp(key string, op slot.KeyOp, in []byte) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ops++
	if !f.loggedIn {
		return nil, slot.NewError(ck.CKR_USER_NOT_LOGGED_IN, "security status not satisfied", nil)
	}
	switch {
	case (key == "priv/9a" || key == "priv/9c" || key == f.decryptKey) && op == slot.OpRSARaw:
		if key == "priv/9c" {
			if !f.ctxPending {
				return nil, slot.NewError(ck.CKR_USER_NOT_LOGGED_IN, "needs PIN", nil)
			}
			f.ctxPending = false
		}
		if len(in) != testRSA.Size() {
			return nil, slot.NewError(ck.CKR_DATA_LEN_RANGE, "bad length", nil)
		}
		c := new(big.Int).SetBytes(in)
		return new(big.Int).Exp(c, testRSA.D, testRSA.N).FillBytes(make([]byte, testRSA.Size())), nil
	case key == "priv/9e" && op == slot.OpECDSA:
		if len(in) != 32 {
			return nil, slot.NewError(ck.CKR_DATA_LEN_RANGE, "bad hash length", nil)
		}
		r, s, err := ecdsa.Sign(rand.Reader, testEC, in)
		if err != nil {
			return nil, err
		}
		out := make([]byte, 64)
		r.FillBytes(out[:32])
		s.FillBytes(out[32:])
		return out, nil
	case key == "priv/9d" && op == slot.OpECDH:
		priv, err := testEC.ECDH()
		if err != nil {
			return nil, err
		}
		peer, err := ecdh.P256().NewPublicKey(in)
		if err != nil {
			return nil, slot.NewError(ck.CKR_ARGUMENTS_BAD, "bad point", err)
		}
		return priv.ECDH(peer)
	case key == "priv/82" && op == slot.OpEdDSA:
		return ed25519.Sign(testEd, in), nil
	}
	return nil, slot.NewError(ck.CKR_KEY_TYPE_INCONSISTENT, "unsupported op", nil)
}

func (f *fakeToken) Close() error { f.closed = true; return nil }

// fakeManager serves fixed slots: 0 with a token, 1 empty (reader without card).
type fakeManager struct {
	mu      sync.Mutex
	tokens  map[slot.ID]slot.Token
	gens    map[slot.ID]uint64
	events  chan slot.ID
	closed  chan struct{}
	closeMu sync.Once
}

func newFakeManager(tok slot.Token) *fakeManager {
	return &fakeManager{
		tokens: map[slot.ID]slot.Token{0: tok, 1: nil},
		gens:   map[slot.ID]uint64{0: 1, 1: 0},
		events: make(chan slot.ID, 4),
		closed: make(chan struct{}),
	}
}

func (m *fakeManager) Slots(tokenPresent bool) ([]slot.ID, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []slot.ID
	for _, id := range []slot.ID{0, 1} {
		if !tokenPresent || m.tokens[id] != nil {
			out = append(out, id)
		}
	}
	return out, nil
}

func (m *fakeManager) SlotInfo(id slot.ID) (SlotInfo, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	tok, ok := m.tokens[id]
	if !ok {
		return SlotInfo{}, slot.NewError(ck.CKR_SLOT_ID_INVALID, "no such slot", nil)
	}
	si := SlotInfo{Description: "Fake Reader", Manufacturer: "test", Flags: ck.CKF_HW_SLOT | ck.CKF_REMOVABLE_DEVICE}
	if tok != nil {
		si.Flags |= ck.CKF_TOKEN_PRESENT
	}
	return si, nil
}

func (m *fakeManager) Token(id slot.ID) (slot.Token, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	tok, ok := m.tokens[id]
	if !ok {
		return nil, slot.NewError(ck.CKR_SLOT_ID_INVALID, "no such slot", nil)
	}
	if tok == nil {
		return nil, reader.ErrNoCard
	}
	return tok, nil
}

func (m *fakeManager) Generation(id slot.ID) uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.gens[id]
}

// swap puts a new card (or none) in slot id.
func (m *fakeManager) swap(id slot.ID, tok slot.Token) {
	m.mu.Lock()
	m.tokens[id] = tok
	m.gens[id]++
	m.mu.Unlock()
	m.events <- id
}

func (m *fakeManager) WaitForEvent(block bool) (slot.ID, error) {
	if !block {
		select {
		case id := <-m.events:
			return id, nil
		default:
			return 0, slot.NewError(ck.CKR_NO_EVENT, "no event", nil)
		}
	}
	select {
	case id := <-m.events:
		return id, nil
	case <-m.closed:
		return 0, reader.ErrCancelled
	}
}

func (m *fakeManager) Close() error {
	m.closeMu.Do(func() { close(m.closed) })
	return nil
}

// newTestLib returns an initialized library over a fake manager with one token.
func newTestLib(t *testing.T) (*Library, *fakeManager, *fakeToken) {
	t.Helper()
	tok := newFakeToken(t)
	m := newFakeManager(tok)
	l := New(func() (Manager, error) { return m, nil })
	if rv := l.Initialize(nil); rv != ck.CKR_OK {
		t.Fatalf("Initialize: %#x", rv)
	}
	t.Cleanup(func() { l.Finalize(false) })
	return l, m, tok
}

func wantRV(t *testing.T, what string, got, want ck.ULong) {
	t.Helper()
	if got != want {
		t.Fatalf("%s: got rv %#x, want %#x", what, got, want)
	}
}

var _ = crypto.SHA256
