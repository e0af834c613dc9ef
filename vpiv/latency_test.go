package vpiv

import (
	"crypto/sha256"
	"testing"
	"time"

	"github.com/pcsc11/pcsc11/apdu"
)

// works sends cmd like send (chaining, GET RESPONSE) and returns LastWork after each
// command the card processed.
func works(t *testing.T, c *Card, ins, p1, p2 byte, data []byte) ([]Work, uint16) {
	t.Helper()
	var seen []Work
	step := func(cmd []byte) uint16 {
		_, sw := raw(t, c, cmd)
		seen = append(seen, c.LastWork())
		return sw
	}
	for len(data) > 255 {
		cmd, _ := apdu.Command{CLA: 0x10, INS: ins, P1: p1, P2: p2, Data: data[:255]}.Encode(false)
		if sw := step(cmd); sw != 0x9000 {
			return seen, sw
		}
		data = data[255:]
	}
	cmd, _ := apdu.Command{INS: ins, P1: p1, P2: p2, Data: data, Ne: 256}.Encode(false)
	sw := step(cmd)
	for sw>>8 == 0x61 {
		sw = step([]byte{0x00, 0xC0, 0x00, 0x00, byte(sw)})
	}
	return seen, sw
}

func genAuthBody(tag byte, in []byte) []byte {
	return tlv([]byte{0x7C}, append([]byte{0x82, 0x00}, tlv([]byte{tag}, in)...))
}

func TestLastWork(t *testing.T) {
	c := admin(t)
	// RSA-2048 generation: its answer comes in GET RESPONSE parts, which are not work.
	gen := tlv([]byte{0xAC}, append(tlv([]byte{0x80}, []byte{algRSA2048}), tlv([]byte{0xAA}, []byte{0x01})...))
	seen, sw := works(t, c, 0x47, 0x00, 0x9A, gen)
	mustSW(t, sw, 0x9000, "GENERATE RSA-2048")
	if len(seen) < 2 || seen[0] != (Work{WorkKeygen, algRSA2048}) || seen[len(seen)-1] != (Work{}) {
		t.Errorf("GENERATE RSA-2048 then GET RESPONSE: %+v", seen)
	}
	generate(t, c, 0x9E, algECP256, 0x01, 0x01)
	if w := c.LastWork(); w != (Work{WorkKeygen, algECP256}) {
		t.Errorf("after GENERATE P-256: %+v", w)
	}

	// RSA-2048 with short APDUs: two chained parts, then GET RESPONSE for the answer.
	// Only the part that runs the operation reports it, once.
	block := make([]byte, 256)
	block[1] = 1
	seen, sw = works(t, c, 0x87, algRSA2048, 0x9A, genAuthBody(0x81, block))
	mustSW(t, sw, 0x9000, "RSA GENERAL AUTHENTICATE")
	ops := 0
	for i, w := range seen {
		switch w {
		case Work{WorkPrivateKey, algRSA2048}:
			ops++
			if i == 0 {
				t.Error("the first chained part reported the operation")
			}
		case Work{}:
		default:
			t.Errorf("command %d: %+v", i, w)
		}
	}
	if ops != 1 || len(seen) < 3 {
		t.Errorf("RSA-2048 over %d commands reported %d operations, want 1 (%+v)", len(seen), ops, seen)
	}

	h := sha256.Sum256([]byte("latency"))
	seen, sw = works(t, c, 0x87, algECP256, 0x9E, genAuthBody(0x81, h[:]))
	mustSW(t, sw, 0x9000, "EC GENERAL AUTHENTICATE")
	if seen[0] != (Work{WorkPrivateKey, algECP256}) {
		t.Errorf("P-256 signature: %+v", seen)
	}

	// Not private-key work: reading data, the management key's own authentication,
	// and an operation the card refuses.
	seen, _ = works(t, c, 0xCB, 0x3F, 0xFF, []byte{0x5C, 0x03, 0x5F, 0xC1, 0x02})
	for _, w := range seen {
		if w != (Work{}) {
			t.Errorf("GET DATA: %+v", w)
		}
	}
	mustSW(t, mgmtAuth(t, c, 0x0A, factoryMgmt), 0x9000, "management key")
	if w := c.LastWork(); w != (Work{}) {
		t.Errorf("management key authentication: %+v", w)
	}
	_, sw = works(t, c, 0x87, algECP256, 0x9C, genAuthBody(0x81, h[:])) // no key in 9C
	if sw == 0x9000 {
		t.Fatal("9C signed without a key")
	}
	if w := c.LastWork(); w != (Work{}) {
		t.Errorf("refused operation: %+v", w)
	}
}

func TestLatencyDelay(t *testing.T) {
	l := Latency{APDU: 2 * time.Millisecond, RSA: 90 * time.Millisecond, EC: 30 * time.Millisecond, Keygen: 50 * time.Millisecond}
	ms := time.Millisecond
	for _, tc := range []struct {
		w    Work
		want time.Duration
	}{
		{Work{}, 2 * ms},
		{Work{WorkPrivateKey, algRSA2048}, 92 * ms},
		{Work{WorkPrivateKey, algRSA1024}, 32 * ms},
		{Work{WorkPrivateKey, algRSA4096}, 542 * ms},
		{Work{WorkPrivateKey, algECP256}, 32 * ms},
		{Work{WorkPrivateKey, algECP384}, 47 * ms},
		{Work{WorkPrivateKey, algEd25519}, 32 * ms},
		{Work{WorkKeygen, algECP256}, 52 * ms},
		{Work{WorkKeygen, algRSA2048}, 3002 * ms},
		{Work{WorkPrivateKey, 0x42}, 2 * ms}, // unknown algorithm: no extra time
	} {
		if got := l.Delay(tc.w); got != tc.want {
			t.Errorf("%+v: %v, want %v", tc.w, got, tc.want)
		}
	}
	if d := (Latency{}).Delay(Work{WorkPrivateKey, algRSA4096}); d != 0 {
		t.Errorf("no model: %v", d)
	}
}
