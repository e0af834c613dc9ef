package hwtests

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/ebfe/scard"
)

// yubico-piv-tool 2.2 (Debian 12) knows only 3DES management keys, while a YubiKey 5.7
// ships with an AES-192 one (same default value). To let that tool write to the card,
// as it would to a real 5.7 key, the test switches the key's algorithm to 3DES and back
// with raw APDUs through pcsc-lite: GET METADATA on 9B for the algorithm, GENERAL
// AUTHENTICATE (witness + challenge, SP 800-73-4 and Yubico's docs), SET MANAGEMENT
// KEY (INS FF). This is test-side client code: nothing of pcsc11 is used.

const (
	alg3DES   byte = 0x03
	algAES192 byte = 0x0A
)

var defaultMgmtKey, _ = hex.DecodeString("010203040506070801020304050607080102030405060708")

type rawCard struct{ c *scard.Card }

// xfer sends one short APDU and collects 61xx continuations.
func (r rawCard) xfer(apdu []byte) ([]byte, error) {
	var data []byte
	for {
		resp, err := r.c.Transmit(apdu)
		if err != nil {
			return nil, err
		}
		if len(resp) < 2 {
			return nil, fmt.Errorf("response of %d bytes", len(resp))
		}
		sw1, sw2 := resp[len(resp)-2], resp[len(resp)-1]
		data = append(data, resp[:len(resp)-2]...)
		switch {
		case sw1 == 0x90 && sw2 == 0x00:
			return data, nil
		case sw1 == 0x61:
			apdu = []byte{0x00, 0xC0, 0x00, 0x00, sw2}
		default:
			return nil, fmt.Errorf("INS %02X: SW %02X%02X", apdu[1], sw1, sw2)
		}
	}
}

func openRaw(reader string) (*scard.Context, rawCard, error) {
	ctx, err := scard.EstablishContext()
	if err != nil {
		return nil, rawCard{}, err
	}
	var c *scard.Card
	deadline := time.Now().Add(15 * time.Second)
	for {
		// Exclusive, so that no other client sees the card between the management
		// key switch and its use; retried while another client holds a transaction.
		c, err = ctx.Connect(reader, scard.ShareExclusive, scard.ProtocolAny)
		if err == nil {
			break
		}
		if !errors.Is(err, scard.ErrSharingViolation) || time.Now().After(deadline) {
			ctx.Release()
			return nil, rawCard{}, err
		}
		time.Sleep(100 * time.Millisecond)
	}
	r := rawCard{c}
	if _, err := r.xfer([]byte{0x00, 0xA4, 0x04, 0x00, 0x05, 0xA0, 0x00, 0x00, 0x03, 0x08}); err != nil {
		c.Disconnect(scard.LeaveCard)
		ctx.Release()
		return nil, rawCard{}, fmt.Errorf("select PIV: %w", err)
	}
	return ctx, r, nil
}

func (r rawCard) mgmtAlgorithm() (byte, error) {
	md, err := r.xfer([]byte{0x00, 0xF7, 0x00, 0x9B, 0x00})
	if err != nil {
		return 0, err
	}
	if len(md) < 3 || md[0] != 0x01 || md[1] != 0x01 {
		return 0, fmt.Errorf("unexpected metadata % X", md)
	}
	return md[2], nil
}

func (r rawCard) mgmtAuthenticate(alg byte, key []byte) error {
	var blk cipher.Block
	var err error
	if alg == alg3DES {
		blk, err = des.NewTripleDESCipher(key)
	} else {
		blk, err = aes.NewCipher(key)
	}
	if err != nil {
		return err
	}
	n := blk.BlockSize()
	w, err := r.xfer([]byte{0x00, 0x87, alg, 0x9B, 0x04, 0x7C, 0x02, 0x80, 0x00})
	if err != nil {
		return fmt.Errorf("witness: %w", err)
	}
	if len(w) != 4+n || w[0] != 0x7C || w[2] != 0x80 || int(w[3]) != n {
		return fmt.Errorf("witness template % X", w)
	}
	plain := make([]byte, n)
	blk.Decrypt(plain, w[4:])
	chal := make([]byte, n)
	rand.Read(chal)
	body := append([]byte{0x7C, byte(2*n + 4), 0x80, byte(n)}, plain...)
	body = append(body, 0x81, byte(n))
	body = append(body, chal...)
	resp, err := r.xfer(append([]byte{0x00, 0x87, alg, 0x9B, byte(len(body))}, body...))
	if err != nil {
		return fmt.Errorf("mutual authentication: %w", err)
	}
	want := make([]byte, n)
	blk.Encrypt(want, chal)
	if len(resp) != 4+n || !bytes.Equal(resp[4:], want) {
		return fmt.Errorf("the card's answer to our challenge is wrong")
	}
	return nil
}

// setMgmtAlgorithm re-keys the management key to the default value under alg and
// returns the previous algorithm.
func setMgmtAlgorithm(t *testing.T, reader string, alg byte) byte {
	t.Helper()
	ctx, r, err := openRaw(reader)
	if err != nil {
		t.Fatal(err)
	}
	defer ctx.Release()
	defer r.c.Disconnect(scard.ResetCard)
	cur, err := r.mgmtAlgorithm()
	if err != nil {
		t.Fatalf("management key metadata: %v", err)
	}
	if cur == alg {
		return cur
	}
	if err := r.mgmtAuthenticate(cur, defaultMgmtKey); err != nil {
		t.Fatalf("management key (algorithm %02X) is not the default: %v", cur, err)
	}
	cmd := append([]byte{0x00, 0xFF, 0xFF, 0xFF, byte(3 + len(defaultMgmtKey)), alg, 0x9B, byte(len(defaultMgmtKey))}, defaultMgmtKey...)
	if _, err := r.xfer(cmd); err != nil {
		t.Fatalf("set management key algorithm %02X: %v", alg, err)
	}
	if got, err := r.mgmtAlgorithm(); err != nil || got != alg {
		t.Fatalf("after SET MANAGEMENT KEY the algorithm is %02X (%v), want %02X", got, err, alg)
	}
	return cur
}

// resetCard resets the card (SCardDisconnect with SCARD_RESET_CARD), clearing the PIN
// and management key security status that other clients may have left behind: PIV
// keeps it across connections, and piv-go disconnects with SCARD_LEAVE_CARD.
func resetCard(t *testing.T, reader string) {
	t.Helper()
	ctx, r, err := openRaw(reader)
	if err != nil {
		t.Fatal(err)
	}
	defer ctx.Release()
	if err := r.c.Disconnect(scard.ResetCard); err != nil {
		t.Fatalf("reset: %v", err)
	}
}
