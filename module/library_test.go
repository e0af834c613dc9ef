package module

import (
	"testing"

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

func TestStrictThreadsEnv(t *testing.T) {
	l := New(nil)
	args := &InitArgs{Flags: ck.CKF_LIBRARY_CANT_CREATE_OS_THREADS | ck.CKF_OS_LOCKING_OK}
	t.Setenv("PCSC11_STRICT_THREADS", "1")
	wantRV(t, "strict", l.Initialize(args), ck.CKR_NEED_TO_CREATE_THREADS)
	t.Setenv("PCSC11_STRICT_THREADS", "")
	wantRV(t, "default", l.Initialize(args), ck.CKR_OK)
	l.Finalize(false)
	// "off" is the documented default (docs/configuration.md), not a value that turns
	// it on.
	t.Setenv("PCSC11_STRICT_THREADS", "off")
	wantRV(t, "off", l.Initialize(args), ck.CKR_OK)
	l.Finalize(false)
}
