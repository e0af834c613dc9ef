package hwtests

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ebfe/scard"

	"github.com/pcsc11/pcsc11/hwtests/internal/pcscwait"
)

// The fault injection modes of pcsc11-vpiv, observed through real pcscd: a second
// virtual card in the rig's second reader ("... 00 01", vpcd port 35964) answers
// wrongly on purpose, and a plain PC/SC client sees exactly that. pcsc11's own
// robustness tests rely on these answers reaching the host unchanged.

func startFaultyCard(t *testing.T, reader2 string, args ...string) {
	t.Helper()
	bin := os.Getenv("PCSC11_VPIV")
	if bin == "" {
		if b, err := os.ReadFile(filepath.Join(rigDir(), "vpiv.path")); err == nil {
			bin = strings.TrimSpace(string(b))
		}
	}
	if bin == "" {
		t.Skip("PCSC11_VPIV (the pcsc11-vpiv binary) is not known; run under hwtests/rig.sh")
	}
	cmd := exec.Command(bin, append([]string{"--port", "35964"}, args...)...)
	var logBuf bytes.Buffer
	cmd.Stderr = &logBuf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := pcscwait.Wait(ctx, pcscwait.Match{Exact: reader2}, false); err != nil {
			t.Errorf("second card did not leave: %v", err)
		}
		if t.Failed() {
			t.Logf("pcsc11-vpiv log:\n%s", logBuf.String())
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if _, err := pcscwait.Wait(ctx, pcscwait.Match{Exact: reader2}, true); err != nil {
		t.Fatalf("faulty card did not show up in %q: %v\n%s", reader2, err, logBuf.String())
	}
}

func connectShared(t *testing.T, reader string) *scard.Card {
	t.Helper()
	ctx, err := scard.EstablishContext()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ctx.Release() })
	c, err := ctx.Connect(reader, scard.ShareShared, scard.ProtocolAny)
	if err != nil {
		t.Fatalf("connect %q: %v", reader, err)
	}
	t.Cleanup(func() { c.Disconnect(scard.ResetCard) })
	return c
}

var (
	apduSelectPIV  = []byte{0x00, 0xA4, 0x04, 0x00, 0x05, 0xA0, 0x00, 0x00, 0x03, 0x08}
	apduGetVersion = []byte{0x00, 0xFD, 0x00, 0x00, 0x00}
	apduGetCHUID   = []byte{0x00, 0xCB, 0x3F, 0xFF, 0x05, 0x5C, 0x03, 0x5F, 0xC1, 0x02, 0x00}
)

// secondReader is the rig's second vpcd reader ("... 00 01"), where tests start cards
// of their own (startFaultyCard); it skips unless the rig's demo card is in "... 00 00".
func secondReader(t *testing.T) string {
	t.Helper()
	r := needCard(t)
	needDemo(t)
	if !strings.HasSuffix(r, " 00 00") {
		t.Skipf("reader %q is not a vpcd reader ... 00 00", r)
	}
	return strings.TrimSuffix(r, "00 00") + "00 01"
}

func TestFaultInjectionThroughPCSCD(t *testing.T) {
	r2 := secondReader(t)

	t.Run("truncate", func(t *testing.T) {
		startFaultyCard(t, r2, "--inject", "truncate", "--inject-every", "2")
		c := connectShared(t, r2)
		first, err := c.Transmit(apduSelectPIV)
		if err != nil || !bytes.HasSuffix(first, []byte{0x90, 0x00}) {
			t.Fatalf("1st answer % X, %v; want an intact SELECT answer", first, err)
		}
		second, err := c.Transmit(apduGetVersion)
		if err == nil && len(second) != 1 {
			t.Fatalf("2nd answer % X; want a single byte (or a transmit error)", second)
		}
		t.Logf("truncated answer through pcscd: % X, %v", second, err)
	})
	t.Run("endless-61", func(t *testing.T) {
		startFaultyCard(t, r2, "--inject", "endless-61")
		c := connectShared(t, r2)
		for i, apdu := range [][]byte{apduSelectPIV, {0x00, 0xC0, 0x00, 0x00, 0xFF}, {0x00, 0xC0, 0x00, 0x00, 0xFF}} {
			resp, err := c.Transmit(apdu)
			if err != nil || len(resp) < 2 || !bytes.Equal(resp[len(resp)-2:], []byte{0x61, 0xFF}) {
				t.Fatalf("answer %d: % X, %v; want SW 61FF", i, resp, err)
			}
		}
	})
	t.Run("garbage-tlv", func(t *testing.T) {
		startFaultyCard(t, r2, "--provision", "demo", "--inject", "garbage-tlv")
		c := connectShared(t, r2)
		if _, err := c.Transmit(apduSelectPIV); err != nil {
			t.Fatal(err)
		}
		resp, err := c.Transmit(apduGetCHUID)
		if err != nil || len(resp) < 4 || resp[0] != 0x53 {
			t.Fatalf("CHUID answer % X, %v", resp, err)
		}
		// The outer length now claims more than the answer holds.
		claimed := int(resp[1])
		if resp[1] == 0x81 {
			claimed = int(resp[2])
		}
		if claimed <= len(resp)-4 {
			t.Fatalf("CHUID answer % X is not corrupted", resp)
		}
	})
	t.Run("slow", func(t *testing.T) {
		startFaultyCard(t, r2, "--inject", "slow", "--inject-delay", "1500ms")
		c := connectShared(t, r2)
		start := time.Now()
		resp, err := c.Transmit(apduGetVersion)
		if err != nil && !errors.Is(err, scard.ErrTimeout) {
			t.Fatal(err)
		}
		if d := time.Since(start); d < 1400*time.Millisecond {
			t.Fatalf("answer % X after %v; want at least 1.5 s", resp, d)
		}
	})
}
