package piv

import (
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"testing"
	"time"

	"github.com/pcsc11/pcsc11/apdu"
	"github.com/pcsc11/pcsc11/ck"
	"github.com/pcsc11/pcsc11/vpiv"
)

// testCard wraps the virtual card's in-process door (vpiv.Memory) to count APDUs and
// inject resets, transport failures and corrupted answers.
type testCard struct {
	c          *vpiv.Card
	mem        *vpiv.Memory
	apdus      int
	sent       [][]byte                         // every command, in order (see trace)
	resetNext  bool                             // reset the card before the next transaction
	corrupt    func(cmd, resp []byte) []byte    // rewrites answers when set
	transmitFn func(cmd []byte) ([]byte, error) // replaces the card when set
}

func (m *testCard) Transmit(cmd []byte) ([]byte, error) {
	m.apdus++
	m.sent = append(m.sent, append([]byte(nil), cmd...))
	if m.transmitFn != nil {
		return m.transmitFn(cmd)
	}
	resp, err := m.mem.Transmit(cmd)
	if err == nil && m.corrupt != nil {
		resp = m.corrupt(cmd, resp)
	}
	return resp, err
}

// BeginTransaction: vpiv.Memory reports ErrCardReset once after Card.Reset.
func (m *testCard) BeginTransaction() error {
	if m.resetNext {
		m.resetNext = false
		m.c.Reset()
	}
	return m.mem.BeginTransaction()
}
func (m *testCard) EndTransaction() error                       { return m.mem.EndTransaction() }
func (m *testCard) Control(c uint32, in []byte) ([]byte, error) { return m.mem.Control(c, in) }
func (m *testCard) ATR() []byte                                 { return m.mem.ATR() }
func (m *testCard) Close() error                                { return m.mem.Close() }

const (
	testPIN    = "123456"
	defaultMgm = "010203040506070801020304050607080102030405060708"
)

// demo is what provision put on the card, with the private halves the tests know.
type demo struct {
	ca     *ecdsa.PrivateKey
	rsa9a  *rsa.PrivateKey   // imported into 9A, with a certificate
	pub9c  *ecdsa.PublicKey  // generated in 9C (P-256, PIN always), with a certificate
	ec9d   *ecdsa.PrivateKey // imported into 9D (P-384), no certificate
	pub9e  ed25519.PublicKey // generated in 9E (Ed25519), no certificate
	x82    *ecdh.PrivateKey  // imported into 82 (X25519)
	cert9a *x509.Certificate
	cert9c *x509.Certificate
}

func newCard(t *testing.T) *testCard {
	t.Helper()
	c, err := vpiv.New(vpiv.Options{Serial: 12345678})
	if err != nil {
		t.Fatal(err)
	}
	return &testCard{c: c, mem: vpiv.NewMemory(c)}
}

func openToken(t *testing.T, m *testCard) *Token {
	t.Helper()
	tok, err := Open(m, "Test Reader 00 00", Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return tok.(*Token)
}

// provision loads the demo keys and certificates through the management key.
func provision(t *testing.T, m *testCard) *demo {
	t.Helper()
	tok := openToken(t, m)
	if err := tok.Login(ck.CKU_SO, []byte(defaultMgm)); err != nil {
		t.Fatalf("SO login: %v", err)
	}
	d := &demo{}
	var err error
	if d.ca, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		t.Fatal(err)
	}
	send := func(cmd apdu.Command) []byte {
		t.Helper()
		out, err := apdu.Exchange(m, cmd, apdu.Options{})
		if err != nil {
			t.Fatalf("provision INS %02X: %v", cmd.INS, err)
		}
		return out
	}
	if d.rsa9a, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		t.Fatal(err)
	}
	p := d.rsa9a.Precomputed
	var rsaData []byte
	for i, v := range []*big.Int{d.rsa9a.Primes[0], d.rsa9a.Primes[1], p.Dp, p.Dq, p.Qinv} {
		rsaData = apdu.AppendTLV(rsaData, uint32(i+1), v.FillBytes(make([]byte, 128)))
	}
	send(apdu.Command{INS: 0xFE, P1: algRSA2048, P2: 0x9A, Data: rsaData})
	d.cert9a = putCert(t, send, d.ca, &d.rsa9a.PublicKey, 0x5FC105, "9a", false)

	out := send(apdu.Command{INS: 0x47, P2: 0x9C, Data: apdu.EncodeTLV(0xAC, []byte{0x80, 0x01, algP256}), Ne: 256})
	pt, _, _ := apdu.FindPath(out, 0x7F49, 0x86)
	if d.pub9c, err = ecdsa.ParseUncompressedPublicKey(elliptic.P256(), pt); err != nil {
		t.Fatal(err)
	}
	d.cert9c = putCert(t, send, d.ca, d.pub9c, 0x5FC10A, "9c", true)

	if d.ec9d, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader); err != nil {
		t.Fatal(err)
	}
	scalar := d.ec9d.D.FillBytes(make([]byte, 48))
	send(apdu.Command{INS: 0xFE, P1: algP384, P2: 0x9D, Data: apdu.EncodeTLV(0x06, scalar)})

	out = send(apdu.Command{INS: 0x47, P2: 0x9E, Data: apdu.EncodeTLV(0xAC, []byte{0x80, 0x01, algEd25519}), Ne: 256})
	pt, _, _ = apdu.FindPath(out, 0x7F49, 0x86)
	d.pub9e = ed25519.PublicKey(pt)

	if d.x82, err = ecdh.X25519().GenerateKey(rand.Reader); err != nil {
		t.Fatal(err)
	}
	send(apdu.Command{INS: 0xFE, P1: algX25519, P2: 0x82, Data: apdu.EncodeTLV(0x08, d.x82.Bytes())})
	return d
}

func putCert(t *testing.T, send func(apdu.Command) []byte, ca *ecdsa.PrivateKey, pub crypto.PublicKey,
	object uint32, cn string, compress bool) *x509.Certificate {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "pcsc11 test " + cn},
		Issuer:       pkix.Name{CommonName: "pcsc11 test CA"},
		NotBefore:    time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, ca)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	body := apdu.AppendTLV(apdu.EncodeTLV(0x70, der), 0x71, []byte{0})
	if compress {
		body = apdu.AppendTLV(apdu.EncodeTLV(0x70, gz(t, der)), 0x71, []byte{1})
	}
	body = apdu.AppendTLV(body, 0xFE, nil)
	data := apdu.AppendTLV([]byte{0x5C, 0x03, byte(object >> 16), byte(object >> 8), byte(object)}, 0x53, body)
	send(apdu.Command{INS: 0xDB, P1: 0x3F, P2: 0xFF, Data: data})
	return cert
}

// provisioned returns a card with the demo content and a fresh token on it.
func provisioned(t *testing.T) (*testCard, *demo, *Token) {
	t.Helper()
	m := newCard(t)
	d := provision(t, m)
	m.c.Reset() // drop the management key login of provisioning
	return m, d, openToken(t, m)
}
