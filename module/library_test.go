package module

import (
	"testing"
	"time"

	"github.com/pcsc11/pcsc11/ck"
)

func TestInitializeArgs(t *testing.T) {
	l := New(func() (Manager, error) { return newFakeManager(newFakeToken(t)), nil })
	cases := []struct {
		name string
		args InitArgs
		want ck.ULong
	}{
		{"some mutex functions", InitArgs{CreateMutex: true, LockMutex: true}, ck.CKR_ARGUMENTS_BAD},
		{"reserved", InitArgs{Reserved: true}, ck.CKR_ARGUMENTS_BAD},
	}
	for _, c := range cases {
		a := c.args
		wantRV(t, c.name, l.Initialize(&a), c.want)
		wantRV(t, c.name+": still uninitialized", l.Ready(), ck.CKR_CRYPTOKI_NOT_INITIALIZED)
	}
	RefuseCantCreateThreads = true
	a := InitArgs{Flags: ck.CKF_LIBRARY_CANT_CREATE_OS_THREADS}
	wantRV(t, "cannot create threads, strict", l.Initialize(&a), ck.CKR_NEED_TO_CREATE_THREADS)
	RefuseCantCreateThreads = false
	// What GnuTLS passes: accepted.
	a = InitArgs{Flags: ck.CKF_LIBRARY_CANT_CREATE_OS_THREADS | ck.CKF_OS_LOCKING_OK}
	wantRV(t, "GnuTLS flags", l.Initialize(&a), ck.CKR_OK)
	wantRV(t, "finalize", l.Finalize(false), ck.CKR_OK)
	all := InitArgs{CreateMutex: true, DestroyMutex: true, LockMutex: true, UnlockMutex: true, Flags: ck.CKF_OS_LOCKING_OK}
	wantRV(t, "all mutex functions + OS locking", l.Initialize(&all), ck.CKR_OK)
	wantRV(t, "again", l.Initialize(nil), ck.CKR_CRYPTOKI_ALREADY_INITIALIZED)
	wantRV(t, "finalize reserved", l.Finalize(true), ck.CKR_ARGUMENTS_BAD)
	wantRV(t, "finalize", l.Finalize(false), ck.CKR_OK)
	wantRV(t, "finalize twice", l.Finalize(false), ck.CKR_CRYPTOKI_NOT_INITIALIZED)
	wantRV(t, "re-initialize", l.Initialize(nil), ck.CKR_OK)
	wantRV(t, "final finalize", l.Finalize(false), ck.CKR_OK)
}

func TestNotInitializedEverywhere(t *testing.T) {
	l := New(func() (Manager, error) { return newFakeManager(newFakeToken(t)), nil })
	checks := map[string]func() ck.ULong{
		"GetInfo":          func() ck.ULong { _, rv := l.GetInfo(); return rv },
		"SlotList":         func() ck.ULong { _, rv := l.SlotList(false); return rv },
		"GetSlotInfo":      func() ck.ULong { _, rv := l.GetSlotInfo(0); return rv },
		"GetTokenInfo":     func() ck.ULong { _, rv := l.GetTokenInfo(0); return rv },
		"MechanismList":    func() ck.ULong { _, rv := l.MechanismList(0); return rv },
		"OpenSession":      func() ck.ULong { _, rv := l.OpenSession(0, ck.CKF_SERIAL_SESSION); return rv },
		"CloseSession":     func() ck.ULong { return l.CloseSession(1) },
		"CloseAllSessions": func() ck.ULong { return l.CloseAllSessions(0) },
		"Login":            func() ck.ULong { return l.Login(1, ck.CKU_USER, []byte(testPIN)) },
		"FindObjectsInit":  func() ck.ULong { return l.FindObjectsInit(1, nil) },
		"SignInit":         func() ck.ULong { return l.SignInit(1, Mechanism{Type: ck.CKM_ECDSA}, 2) },
		"WaitForSlotEvent": func() ck.ULong { _, rv := l.WaitForSlotEvent(ck.CKF_DONT_BLOCK); return rv },
		"NotSupported":     func() ck.ULong { return l.NotSupported("C_GenerateKey") },
	}
	for name, f := range checks {
		wantRV(t, name+" before init", f(), ck.CKR_CRYPTOKI_NOT_INITIALIZED)
	}
	wantRV(t, "init", l.Initialize(nil), ck.CKR_OK)
	wantRV(t, "NotSupported after init", l.NotSupported("C_GenerateKey"), ck.CKR_FUNCTION_NOT_SUPPORTED)
	wantRV(t, "finalize", l.Finalize(false), ck.CKR_OK)
	for name, f := range checks {
		wantRV(t, name+" after finalize", f(), ck.CKR_CRYPTOKI_NOT_INITIALIZED)
	}
}

func TestGetInfo(t *testing.T) {
	l, _, _ := newTestLib(t)
	old := Version
	defer func() { Version = old }()
	Version = "v1.7.3-2-gabcdef-dirty"
	info, rv := l.GetInfo()
	wantRV(t, "GetInfo", rv, ck.CKR_OK)
	if info.CryptokiMajor != 3 || info.CryptokiMinor != 0 || info.Manufacturer != "pcsc11 project" ||
		info.LibraryMajor != 1 || info.LibraryMinor != 7 || info.Description == "" {
		t.Fatalf("GetInfo: %+v", info)
	}
	for v, want := range map[string][2]byte{"dev": {0, 0}, "0.3": {0, 3}, "v2.10.0": {2, 10}, "v300.1": {0, 0}, "abc1234": {0, 0}} {
		maj, min := libraryVersion(v)
		if maj != want[0] || min != want[1] {
			t.Errorf("libraryVersion(%q) = %d.%d, want %d.%d", v, maj, min, want[0], want[1])
		}
	}
}

func TestSlots(t *testing.T) {
	l, _, _ := newTestLib(t)
	all, rv := l.SlotList(false)
	wantRV(t, "SlotList(false)", rv, ck.CKR_OK)
	if len(all) != 2 {
		t.Fatalf("slots: %v", all)
	}
	present, _ := l.SlotList(true)
	if len(present) != 1 || present[0] != 0 {
		t.Fatalf("slots with token: %v", present)
	}
	si, rv := l.GetSlotInfo(1)
	wantRV(t, "GetSlotInfo(1)", rv, ck.CKR_OK)
	if si.Flags&ck.CKF_TOKEN_PRESENT != 0 || si.Flags&ck.CKF_HW_SLOT == 0 {
		t.Fatalf("slot 1 flags %#x", si.Flags)
	}
	_, rv = l.GetSlotInfo(99)
	wantRV(t, "GetSlotInfo(99)", rv, ck.CKR_SLOT_ID_INVALID)
	_, rv = l.GetTokenInfo(1)
	wantRV(t, "GetTokenInfo(empty slot)", rv, ck.CKR_TOKEN_NOT_PRESENT)
	_, rv = l.GetTokenInfo(99)
	wantRV(t, "GetTokenInfo(99)", rv, ck.CKR_SLOT_ID_INVALID)
	_, rv = l.OpenSession(1, ck.CKF_SERIAL_SESSION)
	wantRV(t, "OpenSession(empty slot)", rv, ck.CKR_TOKEN_NOT_PRESENT)

	h1, _ := l.OpenSession(0, ck.CKF_SERIAL_SESSION)
	l.OpenSession(0, ck.CKF_SERIAL_SESSION|ck.CKF_RW_SESSION)
	ti, rv := l.GetTokenInfo(0)
	wantRV(t, "GetTokenInfo(0)", rv, ck.CKR_OK)
	if ti.Label != "fake" || ti.SessionCount != 2 || ti.RWSessionCount != 1 {
		t.Fatalf("token info %+v", ti)
	}
	l.CloseSession(h1)
	ti, _ = l.GetTokenInfo(0)
	if ti.SessionCount != 1 {
		t.Fatalf("session count after close: %d", ti.SessionCount)
	}
}

func TestMechanisms(t *testing.T) {
	l, _, _ := newTestLib(t)
	l.SlotList(false)
	list, rv := l.MechanismList(0)
	wantRV(t, "MechanismList", rv, ck.CKR_OK)
	have := map[ck.ULong]bool{}
	for i, m := range list {
		if have[m] {
			t.Fatalf("mechanism %#x listed twice", m)
		}
		if i > 0 && list[i-1] > m {
			t.Fatalf("list not sorted: %v", list)
		}
		have[m] = true
	}
	for _, m := range []ck.ULong{ck.CKM_RSA_X_509, ck.CKM_RSA_PKCS, ck.CKM_SHA256_RSA_PKCS, ck.CKM_RSA_PKCS_PSS,
		ck.CKM_SHA384_RSA_PKCS_PSS, ck.CKM_ECDSA, ck.CKM_ECDSA_SHA256, ck.CKM_EDDSA, ck.CKM_SHA256} {
		if !have[m] {
			t.Errorf("mechanism %#x missing", m)
		}
	}
	info, rv := l.MechanismInfo(0, ck.CKM_SHA256_RSA_PKCS)
	wantRV(t, "MechanismInfo", rv, ck.CKR_OK)
	if info.MinKeySize != 1024 || info.MaxKeySize != 4096 || info.Flags&ck.CKF_SIGN == 0 || info.Flags&ck.CKF_DECRYPT != 0 {
		t.Fatalf("SHA256_RSA_PKCS info %+v", info)
	}
	_, rv = l.MechanismInfo(0, ck.CKM_EC_KEY_PAIR_GEN)
	wantRV(t, "MechanismInfo(unlisted)", rv, ck.CKR_MECHANISM_INVALID)
}

func TestWaitForSlotEvent(t *testing.T) {
	l, m, _ := newTestLib(t)
	_, rv := l.WaitForSlotEvent(ck.CKF_DONT_BLOCK)
	wantRV(t, "no event", rv, ck.CKR_NO_EVENT)
	m.swap(1, newFakeToken(t))
	id, rv := l.WaitForSlotEvent(ck.CKF_DONT_BLOCK)
	wantRV(t, "event", rv, ck.CKR_OK)
	if id != 1 {
		t.Fatalf("event on slot %d", id)
	}
	// C_Finalize wakes a blocked call, which answers CKR_CRYPTOKI_NOT_INITIALIZED.
	done := make(chan ck.ULong)
	go func() {
		_, rv := l.WaitForSlotEvent(0)
		done <- rv
	}()
	time.Sleep(20 * time.Millisecond) // let it block; the test does not depend on it
	wantRV(t, "finalize", l.Finalize(false), ck.CKR_OK)
	select {
	case rv := <-done:
		wantRV(t, "woken wait", rv, ck.CKR_CRYPTOKI_NOT_INITIALIZED)
	case <-time.After(5 * time.Second):
		t.Fatal("C_WaitForSlotEvent not woken by C_Finalize")
	}
}
