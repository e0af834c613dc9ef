package module

import (
	"sync"
	"testing"

	"github.com/pcsc11/pcsc11/ck"
)

func open(t *testing.T, l *Library, rw bool) ck.ULong {
	t.Helper()
	f := ck.CKF_SERIAL_SESSION
	if rw {
		f |= ck.CKF_RW_SESSION
	}
	h, rv := l.OpenSession(0, f)
	wantRV(t, "OpenSession", rv, ck.CKR_OK)
	return h
}

func state(t *testing.T, l *Library, h ck.ULong) ck.ULong {
	t.Helper()
	si, rv := l.GetSessionInfo(h)
	wantRV(t, "GetSessionInfo", rv, ck.CKR_OK)
	return si.State
}

// The v2.20 sessions example, as far as one application can play it.
func TestSessionsExample(t *testing.T) {
	l, _, tok := newTestLib(t)
	l.SlotList(false)
	_, rv := l.OpenSession(0, ck.CKF_RW_SESSION)
	wantRV(t, "parallel session", rv, ck.CKR_SESSION_PARALLEL_NOT_SUPPORTED)

	s7 := open(t, l, true)  // step 2
	s4 := open(t, l, false) // step 3
	if state(t, l, s7) != ck.CKS_RW_PUBLIC_SESSION || state(t, l, s4) != ck.CKS_RO_PUBLIC_SESSION {
		t.Fatal("public states")
	}
	wantRV(t, "step 4: SO with a R/O session", l.Login(s7, ck.CKU_SO, []byte(testPIN)), ck.CKR_SESSION_READ_ONLY_EXISTS)
	wantRV(t, "bad user type", l.Login(s7, 7, []byte(testPIN)), ck.CKR_USER_TYPE_INVALID)
	wantRV(t, "wrong PIN", l.Login(s7, ck.CKU_USER, []byte("000000")), ck.CKR_PIN_INCORRECT)
	wantRV(t, "step 5: user login", l.Login(s4, ck.CKU_USER, []byte(testPIN)), ck.CKR_OK)
	if state(t, l, s7) != ck.CKS_RW_USER_FUNCTIONS || state(t, l, s4) != ck.CKS_RO_USER_FUNCTIONS {
		t.Fatal("user states")
	}
	wantRV(t, "again", l.Login(s7, ck.CKU_USER, []byte(testPIN)), ck.CKR_USER_ALREADY_LOGGED_IN)
	wantRV(t, "SO while user", l.Login(s7, ck.CKU_SO, []byte(testPIN)), ck.CKR_USER_ANOTHER_ALREADY_LOGGED_IN)
	s9 := open(t, l, true) // step 6
	if state(t, l, s9) != ck.CKS_RW_USER_FUNCTIONS {
		t.Fatal("new session after login is not a user session")
	}
	wantRV(t, "step 7", l.CloseSession(s9), ck.CKR_OK)
	wantRV(t, "closed handle", l.CloseSession(s9), ck.CKR_SESSION_HANDLE_INVALID)
	wantRV(t, "unknown handle", l.Logout(12345), ck.CKR_SESSION_HANDLE_INVALID)

	// Step 17: a R/O session cannot modify a token object.
	hs := findAll(t, l, s4, nil)
	obj := hs[0]
	_, rv = l.CopyObject(s4, obj, nil)
	wantRV(t, "step 17", rv, ck.CKR_SESSION_READ_ONLY)

	wantRV(t, "step 23: logout", l.Logout(s4), ck.CKR_OK)
	if state(t, l, s7) != ck.CKS_RW_PUBLIC_SESSION || state(t, l, s4) != ck.CKS_RO_PUBLIC_SESSION {
		t.Fatal("states after logout")
	}
	wantRV(t, "logout twice", l.Logout(s4), ck.CKR_USER_NOT_LOGGED_IN)
	wantRV(t, "step 24", l.CloseSession(s7), ck.CKR_OK)
	wantRV(t, "step 26", l.CloseAllSessions(0), ck.CKR_OK)
	wantRV(t, "closed by CloseAllSessions", l.CloseSession(s4), ck.CKR_SESSION_HANDLE_INVALID)

	// SO side (steps 10-12): SO login needs R/W sessions only, then R/O opens fail.
	b7 := open(t, l, true)
	wantRV(t, "step 11: SO login", l.Login(b7, ck.CKU_SO, []byte(testPIN)), ck.CKR_OK)
	if state(t, l, b7) != ck.CKS_RW_SO_FUNCTIONS {
		t.Fatal("SO state")
	}
	_, rv = l.OpenSession(0, ck.CKF_SERIAL_SESSION)
	wantRV(t, "step 12", rv, ck.CKR_SESSION_READ_WRITE_SO_EXISTS)
	wantRV(t, "user while SO", l.Login(b7, ck.CKU_USER, []byte(testPIN)), ck.CKR_USER_ANOTHER_ALREADY_LOGGED_IN)
	wantRV(t, "step 27", l.CloseSession(b7), ck.CKR_OK)
	// Closing the last session logged the token out: a new session is public.
	n := open(t, l, false)
	if state(t, l, n) != ck.CKS_RO_PUBLIC_SESSION {
		t.Fatal("login survived closing every session")
	}
	if in, _ := tok.LoggedIn(); in {
		t.Fatal("card still logged in after the last session closed")
	}
}

func TestHandlesNeverReused(t *testing.T) {
	l, _, _ := newTestLib(t)
	l.SlotList(false)
	seen := map[ck.ULong]bool{}
	for i := 0; i < 3; i++ {
		h := open(t, l, false)
		if seen[h] {
			t.Fatalf("handle %d reused", h)
		}
		seen[h] = true
		l.CloseSession(h)
	}
	l.Finalize(false)
	l.Initialize(nil)
	l.SlotList(false)
	h := open(t, l, false)
	if seen[h] {
		t.Fatalf("handle %d reused after re-initialization", h)
	}
	for old := range seen {
		_, rv := l.GetSessionInfo(old)
		wantRV(t, "old handle", rv, ck.CKR_SESSION_HANDLE_INVALID)
	}
}

func TestCardChangeClosesSessions(t *testing.T) {
	l, m, _ := newTestLib(t)
	l.SlotList(false)
	s := open(t, l, false)
	wantRV(t, "login", l.Login(s, ck.CKU_USER, []byte(testPIN)), ck.CKR_OK)
	objs := findAll(t, l, s, nil)
	m.swap(0, newFakeToken(t))
	_, rv := l.GetSessionInfo(s)
	wantRV(t, "first call after swap", rv, ck.CKR_DEVICE_REMOVED)
	_, rv = l.GetSessionInfo(s)
	wantRV(t, "second call after swap", rv, ck.CKR_SESSION_HANDLE_INVALID)
	n := open(t, l, false)
	if state(t, l, n) != ck.CKS_RO_PUBLIC_SESSION {
		t.Fatal("login carried over to a new card")
	}
	reqs := []AttrReq{{Type: ck.CKA_CLASS}}
	wantRV(t, "old object handle", l.GetAttributeValue(n, objs[0], reqs), ck.CKR_OBJECT_HANDLE_INVALID)
	// Card removed: the slot's sessions go.
	m.swap(0, nil)
	_, rv = l.GetSessionInfo(n)
	wantRV(t, "after removal", rv, ck.CKR_DEVICE_REMOVED)
}

// Sessions of different goroutines used concurrently (run with -race).
func TestConcurrentSessions(t *testing.T) {
	l, _, _ := newTestLib(t)
	l.SlotList(false)
	s := open(t, l, false)
	wantRV(t, "login", l.Login(s, ck.CKU_USER, []byte(testPIN)), ck.CKR_OK)
	var wg sync.WaitGroup
	errs := make(chan string, 16)
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 10; j++ {
				h, rv := l.OpenSession(0, ck.CKF_SERIAL_SESSION)
				if rv != ck.CKR_OK {
					errs <- "open"
					return
				}
				if rv := l.FindObjectsInit(h, nil); rv != ck.CKR_OK {
					errs <- "find"
					return
				}
				if hs, rv := l.FindObjects(h, 100); rv != ck.CKR_OK || len(hs) == 0 {
					errs <- "find objects"
					return
				}
				l.FindObjectsFinal(h)
				if _, rv := l.GetSessionInfo(h); rv != ck.CKR_OK {
					errs <- "info"
					return
				}
				l.CloseSession(h)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatal(e)
	}
}
