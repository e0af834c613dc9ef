package vpiv

import (
	"bytes"
	"errors"
	"testing"

	"github.com/pcsc11/pcsc11/reader"
)

func TestMemoryDoor(t *testing.T) {
	c := newCard(t)
	var m reader.Card = NewMemory(c)
	if !bytes.Equal(m.ATR(), c.ATR()) {
		t.Fatal("ATR")
	}
	if err := m.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	r, err := m.Transmit(hx("00A4040005A000000308"))
	if err != nil || !bytes.HasSuffix(r, []byte{0x90, 0x00}) {
		t.Fatalf("SELECT through Memory: %x %v", r, err)
	}
	if err := m.EndTransaction(); err != nil {
		t.Fatal(err)
	}
	c.Reset()
	if err := m.BeginTransaction(); !errors.Is(err, reader.ErrCardReset) {
		t.Fatalf("after reset: %v", err)
	}
	if err := m.BeginTransaction(); err != nil {
		t.Fatalf("reset reported twice: %v", err)
	}
	// A second door sees the same reset once too.
	m2 := NewMemory(c)
	c.PowerOff()
	c.PowerOn()
	if err := m2.BeginTransaction(); !errors.Is(err, reader.ErrCardReset) {
		t.Fatalf("second door after power cycle: %v", err)
	}
	if _, err := m.Control(0x42000D48, nil); err == nil {
		t.Fatal("Control should fail")
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Transmit(hx("00FD0000")); !errors.Is(err, reader.ErrCardRemoved) {
		t.Fatalf("Transmit after Close: %v", err)
	}
	if err := m.BeginTransaction(); err == nil {
		t.Fatal("BeginTransaction after Close")
	}
	if r, _ := m2.Transmit(hx("00A4040005A000000308")); !bytes.HasSuffix(r, []byte{0x90, 0x00}) {
		t.Fatal("closing one door must not affect another")
	}
}

func TestConcurrentDoors(t *testing.T) {
	c := newCard(t)
	done := make(chan error)
	for g := 0; g < 4; g++ {
		go func() {
			m := NewMemory(c)
			for i := 0; i < 200; i++ {
				r, err := m.Transmit(hx("00A4040005A000000308"))
				if err != nil || !bytes.HasSuffix(r, []byte{0x90, 0x00}) {
					done <- errors.New("SELECT failed")
					return
				}
				if r, _ := m.Transmit(hx("00FD000000")); !bytes.Equal(r, hx("0507019000")) {
					done <- errors.New("GET VERSION failed")
					return
				}
			}
			done <- nil
		}()
	}
	for g := 0; g < 4; g++ {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	if n, _, _ := c.APDUCount(); n != 4*200*2 {
		t.Fatalf("%d commands counted", n)
	}
}
