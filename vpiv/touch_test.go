package vpiv

import (
	"crypto/sha256"
	"testing"
	"time"

	"github.com/pcsc11/pcsc11/apdu"
)

// touchCard is a card with a P-256 key in 9E (PIN never) of the given touch policy.
func touchCard(t *testing.T, opts Options, policy byte) *Card {
	t.Helper()
	c, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	selectPIV(t, c)
	mustSW(t, mgmtAuth(t, c, 0x0A, factoryMgmt), 0x9000, "management key")
	generate(t, c, 0x9E, algECP256, 0x01, policy)
	return c
}

// signAsync signs with 9E in a goroutine and delivers the status word.
func signAsync(t *testing.T, c *Card) <-chan uint16 {
	done := make(chan uint16, 1)
	h := sha256.Sum256([]byte("touch"))
	go func() {
		_, sw := genAuth(t, c, algECP256, 0x9E, 0x81, h[:])
		done <- sw
	}()
	return done
}

// waitWaiting polls until the card waits for a touch (bounded).
func waitWaiting(t *testing.T, c *Card) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !c.TouchWaiting() {
		if time.Now().After(deadline) {
			t.Fatal("the operation never waited for a touch")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestTouchAlwaysWaitsForEachTouch(t *testing.T) {
	c := touchCard(t, Options{TouchTimeout: 10 * time.Second}, touchAlways)
	if c.Touch() {
		t.Fatal("a touch with nothing waiting was taken")
	}
	for i := 0; i < 2; i++ {
		done := signAsync(t, c)
		waitWaiting(t, c)
		select {
		case sw := <-done:
			t.Fatalf("signature %d answered %04X before the touch", i, sw)
		case <-time.After(50 * time.Millisecond):
		}
		// The card's counters stay readable while it waits.
		if n, _, _ := c.APDUCount(); n == 0 {
			t.Fatal("no commands counted")
		}
		if !c.Touch() {
			t.Fatal("Touch found nothing waiting")
		}
		mustSW(t, <-done, 0x9000, "signature after the touch")
	}
}

func TestTouchTimeoutAnswers6982AndNextWorks(t *testing.T) {
	c := touchCard(t, Options{TouchTimeout: 100 * time.Millisecond}, touchAlways)
	start := time.Now()
	sw := <-signAsync(t, c)
	mustSW(t, sw, 0x6982, "untouched signature")
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Fatalf("answered after %v, before the touch timeout", d)
	}
	if c.TouchWaiting() {
		t.Fatal("still waiting after the timeout")
	}
	done := signAsync(t, c)
	waitWaiting(t, c)
	c.Touch()
	mustSW(t, <-done, 0x9000, "next signature, touched")
}

func TestTouchCachedCountsFor15Seconds(t *testing.T) {
	c := touchCard(t, Options{TouchTimeout: 10 * time.Second}, touchCached)
	done := signAsync(t, c)
	waitWaiting(t, c)
	c.Touch()
	mustSW(t, <-done, 0x9000, "first cached signature")
	// Within CachedTouch: no wait at all.
	select {
	case sw := <-signAsync(t, c):
		mustSW(t, sw, 0x9000, "second cached signature")
	case <-time.After(2 * time.Second):
		t.Fatal("the second signature within 15 s waited for a touch")
	}
	// After CachedTouch the touch is needed again.
	c.touch.mu.Lock()
	c.touch.last = time.Now().Add(-CachedTouch - time.Second)
	c.touch.mu.Unlock()
	done = signAsync(t, c)
	waitWaiting(t, c)
	c.Touch()
	mustSW(t, <-done, 0x9000, "signature after the cache expired")
}

func TestAutoTouch(t *testing.T) {
	c := touchCard(t, Options{TouchTimeout: 10 * time.Second, AutoTouch: 30 * time.Millisecond}, touchAlways)
	start := time.Now()
	mustSW(t, <-signAsync(t, c), 0x9000, "auto-touched signature")
	if d := time.Since(start); d < 30*time.Millisecond {
		t.Fatalf("signed after %v, before the automatic touch", d)
	}
}

func TestPowerOffEndsTouchWait(t *testing.T) {
	c := touchCard(t, Options{TouchTimeout: 10 * time.Second}, touchAlways)
	done := signAsync(t, c)
	waitWaiting(t, c)
	c.PowerOff()
	select {
	case sw := <-done:
		if sw == 0x9000 {
			t.Fatal("signed although the card lost power")
		}
	case <-time.After(2 * time.Second):
		t.Fatal("power-off did not end the touch wait")
	}
}

func TestTouchNeverAndPINFirst(t *testing.T) {
	c := touchCard(t, Options{TouchTimeout: 10 * time.Second}, touchNever)
	mustSW(t, <-signAsync(t, c), 0x9000, "touch never")
	// A PIN-once key with touch "always": without the PIN the card refuses at once.
	mustSW(t, mgmtAuth(t, c, 0x0A, factoryMgmt), 0x9000, "management key")
	generate(t, c, 0x9A, algECP256, 0x02, touchAlways)
	h := sha256.Sum256([]byte("x"))
	start := time.Now()
	_, sw := genAuth(t, c, algECP256, 0x9A, 0x81, h[:])
	mustSW(t, sw, 0x6982, "no PIN")
	if c.TouchWaiting() || time.Since(start) > time.Second {
		t.Fatal("waited for a touch although the PIN was missing")
	}
}

func TestProvisionTouchProfile(t *testing.T) {
	c := newCard(t)
	if err := c.Provision("demo+touch"); err != nil {
		t.Fatal(err)
	}
	want := map[byte]byte{0x9A: touchCached, 0x9C: touchNever, 0x9D: touchNever, 0x9E: touchAlways}
	selectPIV(t, c)
	for ref, tp := range want {
		md, sw := send(t, c, 0xF7, 0x00, ref, nil)
		mustSW(t, sw, 0x9000, "metadata")
		pol, ok, _ := apdu.Find(md, 0x02)
		if !ok || len(pol) != 2 || pol[1] != tp {
			t.Errorf("slot %02X policy %x, want touch %02X", ref, pol, tp)
		}
	}
}
