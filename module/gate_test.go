package module

import (
	"crypto/ecdsa"
	"crypto/sha256"
	"math/big"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/pcsc11/pcsc11/ck"
	"github.com/pcsc11/pcsc11/slot"
)

// gatedToken is a fake card whose private-key operations wait at a gate: the test sees
// an operation "on the card" and decides when the card answers.
type gatedToken struct {
	*fakeToken
	entered chan struct{}
	release chan struct{}
	once    sync.Once
}

// open lets every waiting and future operation through.
func (g *gatedToken) open() { g.once.Do(func() { close(g.release) }) }

func (g *gatedToken) PrivateKeyOp(key string, op slot.KeyOp, in []byte) ([]byte, error) {
	g.entered <- struct{}{}
	<-g.release
	return g.fakeToken.PrivateKeyOp(key, op, in)
}

// Login waits at the gate for a PIN-pad entry (pin == nil), as a user typing.
func (g *gatedToken) Login(userType ck.ULong, pin []byte) error {
	if pin == nil {
		g.entered <- struct{}{}
		<-g.release
	}
	return g.fakeToken.Login(userType, pin)
}

// twoCardLib is a library with the usual fake card in slot 0 and a gated card in slot 1.
func twoCardLib(t *testing.T) (*Library, *gatedToken) {
	t.Helper()
	l, m, _ := newTestLib(t)
	g := &gatedToken{fakeToken: newFakeToken(t), entered: make(chan struct{}, 1), release: make(chan struct{})}
	m.mu.Lock()
	m.tokens[1], m.gens[1] = g, 1
	m.mu.Unlock()
	// Runs before newTestLib's C_Finalize: a failing test must not leave it waiting.
	t.Cleanup(g.open)
	l.SlotList(false)
	return l, g
}

// loggedInOn opens a session on slot id, logs in and returns it with the P-256 key.
func loggedInOn(t *testing.T, l *Library, id slot.ID) (ck.ULong, ck.ULong) {
	t.Helper()
	s, rv := l.OpenSession(id, ck.CKF_SERIAL_SESSION)
	wantRV(t, "OpenSession", rv, ck.CKR_OK)
	wantRV(t, "Login", l.Login(s, ck.CKU_USER, []byte(testPIN)), ck.CKR_OK)
	keys := findAll(t, l, s, []Attr{{Type: ck.CKA_ID, Value: []byte{4}}, ulongAttr(ck.CKA_CLASS, ck.CKO_PRIVATE_KEY)})
	if len(keys) != 1 {
		t.Fatalf("slot %d: %d P-256 keys", id, len(keys))
	}
	return s, keys[0]
}

type signResult struct {
	sig []byte
	rv  ck.ULong
}

// startSign runs C_SignInit + C_Sign (CKM_ECDSA) on session s in a goroutine.
func startSign(t *testing.T, l *Library, s, key ck.ULong, hash []byte) <-chan signResult {
	t.Helper()
	wantRV(t, "SignInit", l.SignInit(s, Mechanism{Type: ck.CKM_ECDSA}, key), ck.CKR_OK)
	done := make(chan signResult, 1)
	go func() {
		out := make([]byte, 64)
		n, rv := l.Sign(s, hash, OutBuf{Buf: out})
		done <- signResult{out[:n], rv}
	}()
	return done
}

func within(t *testing.T, what string, f func()) {
	t.Helper()
	ok := make(chan struct{})
	go func() { f(); close(ok) }()
	select {
	case <-ok:
	case <-time.After(5 * time.Second):
		t.Fatalf("%s did not return while another card was busy: the library lock is held across card I/O", what)
	}
}

// A private-key operation in progress on one card must not stop other threads: not
// another card's signature, not quick calls on the busy card's own sessions.
func TestCardOperationDoesNotBlockOtherCards(t *testing.T) {
	l, g := twoCardLib(t)
	sum := sha256.Sum256([]byte("two cards"))
	s1, k1 := loggedInOn(t, l, 1)
	s0, k0 := loggedInOn(t, l, 0)

	busy := startSign(t, l, s1, k1, sum[:])
	select {
	case <-g.entered:
	case <-time.After(5 * time.Second):
		t.Fatal("the gated card never saw the operation")
	}
	within(t, "a signature on the other card", func() {
		wantRV(t, "Sign on slot 0", (<-startSign(t, l, s0, k0, sum[:])).rv, ck.CKR_OK)
	})
	within(t, "C_GetSessionInfo on the busy card's session", func() {
		_, rv := l.GetSessionInfo(s1)
		wantRV(t, "GetSessionInfo", rv, ck.CKR_OK)
	})
	within(t, "C_OpenSession on the busy card", func() {
		_, rv := l.OpenSession(1, ck.CKF_SERIAL_SESSION)
		wantRV(t, "OpenSession", rv, ck.CKR_OK)
	})
	// The busy session's operation was taken when it started: a second C_Sign on the
	// same session (an application bug) is refused, not run twice.
	within(t, "C_Sign on the busy session", func() {
		_, rv := l.Sign(s1, sum[:], OutBuf{Buf: make([]byte, 64)})
		wantRV(t, "second Sign on the busy session", rv, ck.CKR_OPERATION_NOT_INITIALIZED)
	})

	g.open()
	r := <-busy
	wantRV(t, "Sign on slot 1", r.rv, ck.CKR_OK)
	if len(r.sig) != 64 || !ecdsa.Verify(&testEC.PublicKey, sum[:], new(big.Int).SetBytes(r.sig[:32]), new(big.Int).SetBytes(r.sig[32:])) {
		t.Fatal("the signature made while the lock was released does not verify")
	}
}

// Closing the session or all sessions, or finalizing the library, while its card works
// returns at once; the operation's caller gets a clean error when the card answers
// (CKR_SESSION_CLOSED: spec 5.1, "closed during the execution of the function"; after
// C_Finalize, CKR_CRYPTOKI_NOT_INITIALIZED), the card is logged out once it is free,
// and no goroutine is left behind.
func TestCardOperationSurvivesCloseAndFinalize(t *testing.T) {
	sum := sha256.Sum256([]byte("closing"))
	for _, tc := range []struct {
		name string
		act  func(l *Library, s ck.ULong) ck.ULong
		want ck.ULong
	}{
		{"CloseSession", func(l *Library, s ck.ULong) ck.ULong { return l.CloseSession(s) }, ck.CKR_SESSION_CLOSED},
		{"CloseAllSessions", func(l *Library, s ck.ULong) ck.ULong { return l.CloseAllSessions(1) }, ck.CKR_SESSION_CLOSED},
		{"Finalize", func(l *Library, s ck.ULong) ck.ULong { return l.Finalize(false) }, ck.CKR_CRYPTOKI_NOT_INITIALIZED},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, g := twoCardLib(t)
			s1, k1 := loggedInOn(t, l, 1)
			d := &drivenToken{gatedToken: g}
			l.mu.Lock()
			l.tokens[1].card = card{l, d} // the session's card, with a driver's lock
			l.mu.Unlock()
			before := runtime.NumGoroutine()
			busy := startSign(t, l, s1, k1, sum[:])
			<-g.entered
			within(t, tc.name, func() { wantRV(t, tc.name, tc.act(l, s1), ck.CKR_OK) })
			g.open()
			select {
			case r := <-busy:
				wantRV(t, "the busy operation's answer", r.rv, tc.want)
			case <-time.After(5 * time.Second):
				t.Fatal("the operation never returned")
			}
			g.mu.Lock()
			in := g.loggedIn
			g.mu.Unlock()
			if in {
				t.Error("the card is still logged in after its operation ended")
			}
			deadline := time.Now().Add(2 * time.Second)
			for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			if n := runtime.NumGoroutine(); n > before {
				t.Errorf("%d goroutines after the operation, %d before it", n, before)
			}
			_, rv := l.GetSessionInfo(s1)
			if rv == ck.CKR_OK {
				t.Fatalf("session still exists after %s", tc.name)
			}
		})
	}
}

// A PIN typed on the reader's PIN pad takes seconds: meanwhile other threads and the
// other card go on, and the login is applied only to a session that still exists.
func TestPINPadEntryDoesNotBlockOthers(t *testing.T) {
	sum := sha256.Sum256([]byte("pin pad"))
	t.Run("completes", func(t *testing.T) {
		l, g := twoCardLib(t)
		g.protected = true
		s1, rv := l.OpenSession(1, ck.CKF_SERIAL_SESSION)
		wantRV(t, "OpenSession", rv, ck.CKR_OK)
		s0, k0 := loggedInOn(t, l, 0)
		done := make(chan ck.ULong, 1)
		go func() { done <- l.Login(s1, ck.CKU_USER, nil) }()
		<-g.entered
		within(t, "a signature on the other card during a PIN-pad entry", func() {
			wantRV(t, "Sign on slot 0", (<-startSign(t, l, s0, k0, sum[:])).rv, ck.CKR_OK)
		})
		within(t, "C_GetSessionInfo on the entering session", func() {
			info, rv := l.GetSessionInfo(s1)
			wantRV(t, "GetSessionInfo", rv, ck.CKR_OK)
			if info.State != ck.CKS_RO_PUBLIC_SESSION {
				t.Errorf("state %d during the entry, want public", info.State)
			}
		})
		g.open()
		wantRV(t, "PIN-pad Login", <-done, ck.CKR_OK)
		info, _ := l.GetSessionInfo(s1)
		if info.State != ck.CKS_RO_USER_FUNCTIONS {
			t.Errorf("state %d after the entry, want user functions", info.State)
		}
	})
	t.Run("session closed meanwhile", func(t *testing.T) {
		l, g := twoCardLib(t)
		g.protected = true
		s1, _ := l.OpenSession(1, ck.CKF_SERIAL_SESSION)
		done := make(chan ck.ULong, 1)
		go func() { done <- l.Login(s1, ck.CKU_USER, nil) }()
		<-g.entered
		within(t, "C_CloseSession during the entry", func() { wantRV(t, "CloseSession", l.CloseSession(s1), ck.CKR_OK) })
		g.open()
		wantRV(t, "PIN-pad Login of a closed session", <-done, ck.CKR_SESSION_CLOSED)
		s2, _ := l.OpenSession(1, ck.CKF_SERIAL_SESSION)
		if info, _ := l.GetSessionInfo(s2); info.State != ck.CKS_RO_PUBLIC_SESSION {
			t.Errorf("a new session inherited the abandoned login: state %d", info.State)
		}
	})
}

// panickingToken is a card whose driver panics in the middle of an operation.
type panickingToken struct{ *fakeToken }

func (p *panickingToken) PrivateKeyOp(string, slot.KeyOp, []byte) ([]byte, error) {
	panic("driver bug")
}

// A driver panicking while the library lock is released must leave the lock as the
// caller expects it: the C door recovers the panic, and the library goes on (an
// Unlock of an unlocked mutex would abort the host process instead).
func TestCardPanicKeepsTheLockConsistent(t *testing.T) {
	l, m, _ := newTestLib(t)
	m.mu.Lock()
	m.tokens[1], m.gens[1] = &panickingToken{newFakeToken(t)}, 1
	m.mu.Unlock()
	l.SlotList(false)
	s1, k1 := loggedInOn(t, l, 1)
	sum := sha256.Sum256([]byte("panic"))
	wantRV(t, "SignInit", l.SignInit(s1, Mechanism{Type: ck.CKM_ECDSA}, k1), ck.CKR_OK)
	func() {
		defer func() {
			if recover() == nil {
				t.Error("the driver's panic did not reach the caller")
			}
		}()
		l.Sign(s1, sum[:], OutBuf{Buf: make([]byte, 64)})
	}()
	within(t, "a call after the recovered panic", func() {
		_, rv := l.GetSessionInfo(s1)
		wantRV(t, "GetSessionInfo", rv, ck.CKR_OK)
	})
}

// drivenToken models a real driver: every card call takes the card's lock (as slot/piv
// does with Token.mu), and a private-key operation holds it while the card computes
// (a touch, a slow RSA key). The card answers when the test opens the gate.
type drivenToken struct {
	*gatedToken
	card sync.Mutex
}

func (d *drivenToken) PrivateKeyOp(key string, op slot.KeyOp, in []byte) ([]byte, error) {
	d.card.Lock()
	defer d.card.Unlock()
	return d.gatedToken.PrivateKeyOp(key, op, in)
}

func (d *drivenToken) Info() (slot.TokenInfo, error) {
	d.card.Lock()
	defer d.card.Unlock()
	return d.fakeToken.Info()
}

func (d *drivenToken) LoggedIn() (bool, error) {
	d.card.Lock()
	defer d.card.Unlock()
	return d.fakeToken.LoggedIn()
}

func (d *drivenToken) Login(userType ck.ULong, pin []byte) error {
	d.card.Lock()
	defer d.card.Unlock()
	return d.gatedToken.Login(userType, pin)
}

func (d *drivenToken) SetPIN(userType ck.ULong, oldPIN, newPIN []byte) error {
	d.card.Lock()
	defer d.card.Unlock()
	return d.fakeToken.SetPIN(userType, oldPIN, newPIN)
}

func (d *drivenToken) Logout() error {
	d.card.Lock()
	defer d.card.Unlock()
	return d.fakeToken.Logout()
}

// No caller waits for a card it does not need (DESIGN.md), measured: thread 1 signs on
// card A (slow), thread 2 asks C_GetTokenInfo of card A, thread 3 calls C_GetInfo.
// Nothing but a call that needs something new from card A may wait for it:
// C_GetTokenInfo answers the last known flags, C_GetSessionInfo the known login,
// searches and attributes of objects already read answer from what was read, and card B
// goes on.
func TestBusyCardBlocksNobodyElse(t *testing.T) {
	l, m, _ := newTestLib(t)
	g := &gatedToken{fakeToken: newFakeToken(t), entered: make(chan struct{}, 1), release: make(chan struct{})}
	d := &drivenToken{gatedToken: g}
	m.mu.Lock()
	m.tokens[1], m.gens[1] = d, 1
	m.mu.Unlock()
	t.Cleanup(g.open)
	l.SlotList(false)
	sum := sha256.Sum256([]byte("busy"))
	sA, kA := loggedInOn(t, l, 1)
	sB, kB := loggedInOn(t, l, 0)
	before, rv := l.GetTokenInfo(1)
	wantRV(t, "GetTokenInfo before", rv, ck.CKR_OK)

	busy := startSign(t, l, sA, kA, sum[:])
	<-g.entered
	// Thread 2: a call that does need card A (C_SetPIN in a second session) waits for
	// it in the background, as a host's second thread would.
	sA2, _ := l.OpenSession(1, ck.CKF_SERIAL_SESSION|ck.CKF_RW_SESSION)
	needs := make(chan ck.ULong, 1)
	go func() { needs <- l.SetPIN(sA2, []byte(testPIN), []byte(testPIN)) }()

	within(t, "C_GetInfo", func() { _, rv := l.GetInfo(); wantRV(t, "GetInfo", rv, ck.CKR_OK) })
	within(t, "C_GetSlotList", func() { _, rv := l.SlotList(true); wantRV(t, "SlotList", rv, ck.CKR_OK) })
	within(t, "C_GetSlotInfo of the busy card", func() { _, rv := l.GetSlotInfo(1); wantRV(t, "GetSlotInfo", rv, ck.CKR_OK) })
	within(t, "C_GetTokenInfo of the busy card", func() {
		ti, rv := l.GetTokenInfo(1)
		wantRV(t, "GetTokenInfo", rv, ck.CKR_OK)
		if ti.Flags != before.Flags || ti.Label != before.Label {
			t.Errorf("token info while busy %+v, want the last known %+v", ti.TokenInfo, before.TokenInfo)
		}
	})
	within(t, "C_GetSessionInfo on the busy card", func() {
		info, rv := l.GetSessionInfo(sA)
		wantRV(t, "GetSessionInfo", rv, ck.CKR_OK)
		if info.State != ck.CKS_RO_USER_FUNCTIONS {
			t.Errorf("state %d, want the known user login", info.State)
		}
	})
	within(t, "a search of objects already read on the busy card", func() {
		if keys := findAll(t, l, sA2, []Attr{{Type: ck.CKA_ID, Value: []byte{4}}}); len(keys) == 0 {
			t.Error("no objects found")
		}
	})
	within(t, "C_GetAttributeValue on the busy card", func() {
		reqs := []AttrReq{{Type: ck.CKA_CLASS}}
		wantRV(t, "GetAttributeValue", l.GetAttributeValue(sA2, kA, reqs), ck.CKR_OK)
	})
	within(t, "C_GetTokenInfo of the other card", func() { _, rv := l.GetTokenInfo(0); wantRV(t, "GetTokenInfo B", rv, ck.CKR_OK) })
	within(t, "C_GetSessionInfo on the other card", func() { _, rv := l.GetSessionInfo(sB); wantRV(t, "GetSessionInfo B", rv, ck.CKR_OK) })
	within(t, "a signature on the other card", func() {
		wantRV(t, "Sign B", (<-startSign(t, l, sB, kB, sum[:])).rv, ck.CKR_OK)
	})
	select {
	case rv := <-needs:
		t.Fatalf("C_SetPIN on the busy card returned %#x before the card was free", rv)
	default:
	}
	g.open()
	wantRV(t, "Sign A", (<-busy).rv, ck.CKR_OK)
	wantRV(t, "SetPIN after the card was free", <-needs, ck.CKR_OK)
}
