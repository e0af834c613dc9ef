// Package module is Cryptoki itself, in plain Go: library and session state, login
// rules, object handles, attribute conventions and the software halves of mechanisms.
// The C door (package module/cabi) converts C arguments to the Go types used here and
// back; everything in this package is tested with `go test`, without loading the .so.
package module

import (
	"strconv"
	"strings"

	"github.com/pcsc11/pcsc11/ck"
	"github.com/pcsc11/pcsc11/config"
	"github.com/pcsc11/pcsc11/module/touchprompt"
	"github.com/pcsc11/pcsc11/slot"
)

// Version is the library version, set at build time with
// -ldflags '-X github.com/pcsc11/pcsc11/module.Version=v1.2.3'.
var Version = "dev"

const (
	manufacturerID     = "pcsc11 project"
	libraryDescription = "pcsc11 PC/SC smart cards"
)

// RefuseCantCreateThreads makes C_Initialize answer CKR_NEED_TO_CREATE_THREADS to an
// application that forbids the library to create threads (see Initialize). The
// environment variable PCSC11_STRICT_THREADS=1 sets it for one C_Initialize.
var RefuseCantCreateThreads = false

// strictThreads reports whether CKF_LIBRARY_CANT_CREATE_OS_THREADS is refused
// (strict_threads, an on/off setting: "off", the documented default, is off).
func strictThreads() bool {
	return RefuseCantCreateThreads || config.Flag(Getenv("PCSC11_STRICT_THREADS"), false)
}

// Library is one Cryptoki library instance. The C door uses a single one (Default);
// tests build their own with a fake Manager.
//
// Its state is guarded by the library lock mu, which is never held across card I/O:
// conversations with a card run in that card's turn (gate.go), and the lock order is
// written once, in locks.go. A call that needs nothing new from a busy card answers
// from what is known at once; a call that needs the card waits for that card only.
type Library struct {
	mu      libLock // the library lock (locks.go)
	factory ManagerFactory

	initialized bool
	epoch       uint64 // bumped at each C_Initialize and C_Finalize
	mgr         Manager
	known       map[slot.ID]bool // slot IDs handed out by C_GetSlotList

	sessions   map[ck.ULong]*session
	tokens     map[slot.ID]*tokenState
	gates      map[slot.ID]*cardGate // the module's door to each card (gate.go)
	objects    map[ck.ULong]objRef
	sessObjs   map[ck.ULong]*sessObject
	nextHandle ck.ULong  // shared by sessions and objects; never reset, never reused
	pinPolicy  pinPolicy // PCSC11_PIN_CACHE, read at C_Initialize
	// stop is closed when C_Finalize starts: blocked C_WaitForSlotEvent calls return
	// at once, before C_Finalize does any slower work (logouts, closing readers).
	stop chan struct{}
	// touch shows desktop touch prompts (PCSC11_TOUCH_NOTIFY; touch.go); nil until
	// the first private-key operation with the prompt enabled.
	touch *touchprompt.Notifier
}

// New returns an uninitialized library that builds its slot manager with factory.
func New(factory ManagerFactory) *Library {
	return &Library{factory: factory}
}

// Default is the library behind the exported C functions; main sets its factory.
var Default = New(nil)

// SetManagerFactory chooses how C_Initialize builds the slot manager.
func (l *Library) SetManagerFactory(f ManagerFactory) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.factory = f
}

// InitArgs is CK_C_INITIALIZE_ARGS as the door saw it (spec 5.4.1).
type InitArgs struct {
	CreateMutex, DestroyMutex, LockMutex, UnlockMutex bool // non-NULL function pointers
	Flags                                             ck.ULong
	Reserved                                          bool // pReserved non-NULL
}

// Initialize is C_Initialize. args is nil when pInitArgs is NULL.
func (l *Library) Initialize(args *InitArgs) ck.ULong {
	cfgErrs := loadConfig() // before the first setting is read (strictThreads)
	if args != nil {
		n := 0
		for _, b := range []bool{args.CreateMutex, args.DestroyMutex, args.LockMutex, args.UnlockMutex} {
			if b {
				n++
			}
		}
		// Spec 5.4.1: some but not all mutex functions, or a non-NULL pReserved.
		if (n != 0 && n != 4) || args.Reserved {
			return ck.CKR_ARGUMENTS_BAD
		}
		// Spec 5.4.1: a library that cannot work without creating threads answers
		// CKR_NEED_TO_CREATE_THREADS. The Go runtime's threads exist from dlopen on,
		// before this call, but its scheduler may add more. GnuTLS (p11tool and every
		// GnuTLS application, through p11-kit) always passes this flag together with
		// CKF_OS_LOCKING_OK, so refusing would make the module unusable there: the
		// flag is accepted unless RefuseCantCreateThreads is set.
		if args.Flags&ck.CKF_LIBRARY_CANT_CREATE_OS_THREADS != 0 {
			if strictThreads() {
				return ck.CKR_NEED_TO_CREATE_THREADS
			}
			Logf("C_Initialize: CKF_LIBRARY_CANT_CREATE_OS_THREADS accepted (the Go runtime manages its own threads)")
		}
		// With or without CKF_OS_LOCKING_OK, and with or without the application's
		// mutex functions, the library locks with Go's own (OS-backed) primitives; the
		// application's functions are never called, which is safe in all four cases.
	}
	setupLog()
	logConfigErrors(cfgErrs)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.initialized {
		return ck.CKR_CRYPTOKI_ALREADY_INITIALIZED
	}
	l.initialized = true
	l.epoch++
	l.mgr = nil
	l.known = map[slot.ID]bool{}
	l.sessions = map[ck.ULong]*session{}
	l.tokens = map[slot.ID]*tokenState{}
	l.gates = map[slot.ID]*cardGate{}
	l.objects = map[ck.ULong]objRef{}
	l.sessObjs = map[ck.ULong]*sessObject{}
	l.pinPolicy = pinPolicyFromEnv()
	l.stop = make(chan struct{})
	// The slot manager starts watching now, so slot events that happen between
	// C_Initialize and the first C_WaitForSlotEvent are kept (spec 5.5.6). Without
	// pcscd this fails quietly and is retried at the next call that needs it.
	if l.factory != nil {
		l.manager()
	}
	Logf("C_Initialize ok (version %s)", Version)
	return ck.CKR_OK
}

// Finalize is C_Finalize (spec 5.4.2): it closes every session, releases the slot
// manager (which wakes a blocked C_WaitForSlotEvent) and returns to the uninitialized
// state, from which C_Initialize works again.
func (l *Library) Finalize(reservedNonNil bool) ck.ULong {
	if reservedNonNil {
		return ck.CKR_ARGUMENTS_BAD
	}
	l.mu.Lock()
	if !l.initialized {
		l.mu.Unlock()
		return ck.CKR_CRYPTOKI_NOT_INITIALIZED
	}
	close(l.stop) // wake every C_WaitForSlotEvent first (spec 5.4.2, 5.5.6)
	// Logged-in cards are logged out: a free card now (settle), a busy one by the
	// thread whose operation it runs, when that ends; C_Finalize never waits for a
	// card. That thread's call then answers CKR_CRYPTOKI_NOT_INITIALIZED.
	var gates []*cardGate
	for _, ts := range l.tokens {
		if ts.login != loginNone {
			l.wantLogout(ts)
			gates = append(gates, l.gate(ts.slot))
		}
		ts.forgetPIN()
	}
	mgr := l.mgr
	l.initialized = false
	l.epoch++
	l.mgr = nil
	l.dropSessionObjects(func(*sessObject) bool { return true })
	l.sessions, l.tokens, l.objects, l.known, l.sessObjs, l.gates = nil, nil, nil, nil, nil, nil
	prompts := l.touch
	l.touch = nil
	l.mu.Unlock()
	closeTouchPrompt(prompts)
	l.settle(gates...)
	// The slot manager closes the tokens; a driver busy with a card call releases its
	// card when that call ends (slot.Token.Close never waits).
	if mgr != nil {
		if err := mgr.Close(); err != nil {
			Logf("C_Finalize: closing slot manager: %v", err)
		}
	}
	Logf("C_Finalize ok")
	return ck.CKR_OK
}

// Info is CK_INFO with unpadded strings.
type Info struct {
	CryptokiMajor, CryptokiMinor byte
	Manufacturer                 string
	Flags                        ck.ULong
	Description                  string
	LibraryMajor, LibraryMinor   byte
}

// GetInfo is C_GetInfo.
func (l *Library) GetInfo() (Info, ck.ULong) {
	if rv := l.Ready(); rv != ck.CKR_OK {
		return Info{}, rv
	}
	maj, min := libraryVersion(Version)
	return Info{
		CryptokiMajor: 3, CryptokiMinor: 0,
		Manufacturer: manufacturerID,
		Description:  libraryDescription,
		LibraryMajor: maj, LibraryMinor: min,
	}, ck.CKR_OK
}

// libraryVersion reads "v1.2.3", "1.2", "v0.3.0-4-gabc-dirty" as major.minor; anything
// else (a bare commit, "dev") is 0.0.
func libraryVersion(v string) (byte, byte) {
	v = strings.TrimPrefix(v, "v")
	if i := strings.IndexAny(v, "-+"); i >= 0 {
		v = v[:i]
	}
	parts := strings.Split(v, ".")
	if len(parts) < 2 {
		return 0, 0
	}
	maj, err1 := strconv.ParseUint(parts[0], 10, 8)
	min, err2 := strconv.ParseUint(parts[1], 10, 8)
	if err1 != nil || err2 != nil {
		return 0, 0
	}
	return byte(maj), byte(min)
}

// NotSupported answers a function pcsc11 does not implement: CKR_FUNCTION_NOT_SUPPORTED
// once initialized (spec 3.6: every entry exists, stubs answer that code).
func (l *Library) NotSupported(name string) ck.ULong {
	if rv := l.Ready(); rv != ck.CKR_OK {
		return rv
	}
	Logf("%s: not supported", name)
	return ck.CKR_FUNCTION_NOT_SUPPORTED
}

// manager returns the slot manager, building it on first use (l.mu held). A failure
// (pcscd not running) is retried at the next call.
func (l *Library) manager() (Manager, ck.ULong) {
	if l.mgr != nil {
		return l.mgr, ck.CKR_OK
	}
	if l.factory == nil {
		return nil, ck.CKR_GENERAL_ERROR
	}
	m, err := l.factory()
	if err != nil {
		Logf("slot manager: %v", err)
		return nil, ck.CKR_FUNCTION_FAILED
	}
	l.mgr = m
	return m, ck.CKR_OK
}

// Ready answers CKR_CRYPTOKI_NOT_INITIALIZED before C_Initialize and after C_Finalize.
// The door asks it first so that an uninitialized library answers that code even for
// calls with bad arguments.
func (l *Library) Ready() ck.ULong {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.initialized {
		return ck.CKR_CRYPTOKI_NOT_INITIALIZED
	}
	return ck.CKR_OK
}

// FunctionNotParallel answers the legacy C_GetFunctionStatus and C_CancelFunction
// (spec 5.20: they must return CKR_FUNCTION_NOT_PARALLEL) for a valid session.
func (l *Library) FunctionNotParallel(h ck.ULong) ck.ULong {
	return l.withSession(h, func(*session, *tokenState) ck.ULong { return ck.CKR_FUNCTION_NOT_PARALLEL })
}
