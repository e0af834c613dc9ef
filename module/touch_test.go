package module_test

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/pcsc11/pcsc11/ck"
	"github.com/pcsc11/pcsc11/module"
	"github.com/pcsc11/pcsc11/module/touchprompt"
	"github.com/pcsc11/pcsc11/module/touchprompt/touchprompttest"
	"github.com/pcsc11/pcsc11/reader"
	"github.com/pcsc11/pcsc11/vpiv"
)

// Touch through the module, on a virtual card provisioned "demo+touch": 9A (RSA-2048,
// PIN once) has touch policy "cached", 9E (P-256, PIN never) "always".

const touchTimeout = 1500 * time.Millisecond

// touchLibrary is an initialized library over such a card, in slot 0, with a session
// logged in as the user; the card's commands are traced.
func touchLibrary(t *testing.T, opts vpiv.Options) (*module.Library, *vpiv.Card, *tracingCard, ck.ULong) {
	t.Helper()
	return loggedInLibrary(t, opts, "demo+touch")
}

// privKey finds the private key with CKA_ID id.
func privKey(t *testing.T, l *module.Library, h ck.ULong, id byte) ck.ULong {
	t.Helper()
	must(t, "C_FindObjectsInit", l.FindObjectsInit(h, []module.Attr{attr(ck.CKA_CLASS, ck.CKO_PRIVATE_KEY), attr(ck.CKA_ID, []byte{id})}))
	found, rv := l.FindObjects(h, 2)
	must(t, "C_FindObjects", rv)
	l.FindObjectsFinal(h)
	if len(found) != 1 {
		t.Fatalf("private key %02x: %d found", id, len(found))
	}
	return found[0]
}

// sign signs with key through C_SignInit/C_Sign and returns the rv and the time taken.
func sign(l *module.Library, h, key, mech ck.ULong) (ck.ULong, time.Duration) {
	start := time.Now()
	if rv := l.SignInit(h, module.Mechanism{Type: mech}, key); rv != ck.CKR_OK {
		return rv, time.Since(start)
	}
	_, rv := l.Sign(h, []byte("touch me"), module.OutBuf{Buf: make([]byte, 512)})
	return rv, time.Since(start)
}

// touchWhenWaiting touches the card as soon as an operation waits, once.
func touchWhenWaiting(t *testing.T, c *vpiv.Card) <-chan time.Duration {
	done := make(chan time.Duration, 1)
	start := time.Now()
	go func() {
		for time.Since(start) < 10*time.Second {
			if c.TouchWaiting() {
				at := time.Since(start)
				c.Touch()
				done <- at
				return
			}
			time.Sleep(time.Millisecond)
		}
		done <- -1
	}()
	return done
}

func verifies(tc *tracingCard) int {
	n := 0
	for _, cmd := range tc.cmds {
		if len(cmd) > 1 && cmd[1] == 0x20 {
			n++
		}
	}
	return n
}

func TestTouchPolicyAttribute(t *testing.T) {
	l, _, _, h := touchLibrary(t, vpiv.Options{TouchTimeout: touchTimeout})
	for id, want := range map[byte]ck.ULong{0x01: 3, 0x02: 1, 0x04: 2} {
		reqs := []module.AttrReq{{Type: ck.CKA_YUBICO_TOUCH_POLICY, Buf: make([]byte, 8)}}
		must(t, "C_GetAttributeValue", l.GetAttributeValue(h, privKey(t, l, h, id), reqs))
		var got ck.ULong
		if reqs[0].Len == 8 {
			got = ck.ULong(binary.NativeEndian.Uint64(reqs[0].Buf))
		} else {
			got = ck.ULong(binary.NativeEndian.Uint32(reqs[0].Buf))
		}
		if got != want {
			t.Errorf("CKA_ID %02x: CKA_YUBICO_TOUCH_POLICY %d, want %d", id, got, want)
		}
	}
}

func TestTouchAlwaysThroughModule(t *testing.T) {
	l, c, _, h := touchLibrary(t, vpiv.Options{TouchTimeout: 10 * time.Second})
	key := privKey(t, l, h, 0x04)
	for i := 0; i < 2; i++ {
		start := time.Now()
		touched := touchWhenWaiting(t, c)
		rv, _ := sign(l, h, key, ck.CKM_ECDSA_SHA256)
		took := time.Since(start)
		must(t, "C_Sign, touched", rv)
		if at := <-touched; at < 0 || took < at {
			t.Fatalf("signature %d: touched at %v, signed after %v: it did not wait for the touch", i, at, took)
		}
	}
}

func TestTouchCachedOneTouchForTwoSignatures(t *testing.T) {
	l, c, _, h := touchLibrary(t, vpiv.Options{TouchTimeout: 10 * time.Second})
	key := privKey(t, l, h, 0x01)
	touched := touchWhenWaiting(t, c)
	must(t, "first C_Sign", func() ck.ULong { rv, _ := sign(l, h, key, ck.CKM_SHA256_RSA_PKCS); return rv }())
	if at := <-touched; at < 0 {
		t.Fatal("the first signature with a cached key did not wait for a touch")
	}
	// Within 15 s of the touch: no wait (an untouched wait would time out after 10 s).
	rv, took := sign(l, h, key, ck.CKM_SHA256_RSA_PKCS)
	must(t, "second C_Sign", rv)
	if took > 2*time.Second || c.TouchWaiting() {
		t.Fatalf("the second signature took %v: it waited for a touch", took)
	}
}

// A touch not given in time: CKR_FUNCTION_CANCELED after the card's timeout, no PIN
// sent again (the module must not take 6982 for a lost login), and the next
// operation works.
func TestTouchTimeoutThroughModule(t *testing.T) {
	l, c, tc, h := touchLibrary(t, vpiv.Options{TouchTimeout: touchTimeout})
	for _, tcase := range []struct {
		id   byte
		mech ck.ULong
	}{{0x01, ck.CKM_SHA256_RSA_PKCS}, {0x04, ck.CKM_ECDSA_SHA256}} { // cached first: any touch counts for it
		key := privKey(t, l, h, tcase.id)
		before := verifies(tc)
		rv, took := sign(l, h, key, tcase.mech)
		if rv != ck.CKR_FUNCTION_CANCELED {
			t.Fatalf("CKA_ID %02x untouched: rv %#x, want CKR_FUNCTION_CANCELED", tcase.id, rv)
		}
		if took < touchTimeout {
			t.Fatalf("answered after %v, before the card's %v timeout", took, touchTimeout)
		}
		if n := verifies(tc) - before; n != 0 {
			t.Fatalf("%d VERIFY sent after a touch timeout: a PIN was retried", n)
		}
		touched := touchWhenWaiting(t, c)
		must(t, "C_Sign after the timeout, touched", func() ck.ULong { rv, _ := sign(l, h, key, tcase.mech); return rv }())
		<-touched
	}
}

// The desktop prompt, observed on a private session bus by a fake notification
// service: shown while the card waits, withdrawn when the signature returns.
func TestTouchPromptThroughModule(t *testing.T) {
	addr := touchprompttest.Bus(t)
	svc := touchprompttest.Listen(t, addr)
	old := module.Getenv
	module.Getenv = func(k string) string {
		switch k {
		case "PCSC11_TOUCH_NOTIFY":
			return "1"
		case "DBUS_SESSION_BUS_ADDRESS":
			return addr
		}
		return ""
	}
	t.Cleanup(func() { module.Getenv = old })

	l, c, _, h := touchLibrary(t, vpiv.Options{TouchTimeout: 10 * time.Second, Serial: 7654321})
	key := privKey(t, l, h, 0x04)
	done := make(chan ck.ULong, 1)
	go func() { rv, _ := sign(l, h, key, ck.CKM_ECDSA_SHA256); done <- rv }()
	shown := svc.Next(t, 5*time.Second)
	if shown.Method != "Notify" || shown.Summary != "Touch your YubiKey (serial 7654321) to sign" {
		t.Fatalf("got %s %q", shown.Method, shown.Summary)
	}
	if !c.TouchWaiting() {
		t.Fatal("prompt shown while the card was not waiting")
	}
	c.Touch()
	must(t, "C_Sign", <-done)
	if w := svc.Next(t, 5*time.Second); w.Method != "CloseNotification" || w.ID != shown.ID {
		t.Fatalf("withdrawal: %s %d", w.Method, w.ID)
	}
	// A key without a touch policy, and a quick one, are never announced.
	rv, _ := sign(l, h, privKey(t, l, h, 0x02), ck.CKM_ECDSA_SHA256)
	if rv != ck.CKR_USER_NOT_LOGGED_IN { // 9C is PIN-always: refused at once
		t.Fatalf("9C without context login: %#x", rv)
	}
	svc.Nothing(t, 2*touchprompt.Delay)
}

// The prompt is off by default: the same wait shows nothing.
func TestTouchPromptOffByDefault(t *testing.T) {
	addr := touchprompttest.Bus(t)
	svc := touchprompttest.Listen(t, addr)
	old := module.Getenv
	module.Getenv = func(k string) string {
		if k == "DBUS_SESSION_BUS_ADDRESS" {
			return addr
		}
		return ""
	}
	t.Cleanup(func() { module.Getenv = old })
	l, c, _, h := touchLibrary(t, vpiv.Options{TouchTimeout: 10 * time.Second})
	key := privKey(t, l, h, 0x04)
	touched := make(chan struct{})
	go func() {
		time.Sleep(2 * touchprompt.Delay)
		for !c.TouchWaiting() {
			time.Sleep(time.Millisecond)
		}
		c.Touch()
		close(touched)
	}()
	rv, _ := sign(l, h, key, ck.CKM_ECDSA_SHA256)
	must(t, "C_Sign", rv)
	<-touched
	svc.Nothing(t, 100*time.Millisecond)
}

var _ reader.Card = (*tracingCard)(nil)
