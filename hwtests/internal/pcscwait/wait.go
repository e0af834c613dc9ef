// Package pcscwait waits, through pcsc-lite directly (github.com/ebfe/scard, no pcsc11
// code), until a reader shows a card present or absent. The rig uses it to know when
// the virtual card is ready; the hwtests use it to follow removal and insertion.
//
// It blocks in SCardGetStatusChange rather than sleeping a fixed time: vpcd readers are
// polled by pcscd every 400 ms, so events arrive within about that.
package pcscwait

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ebfe/scard"
)

const pnp = `\\?PnP?\Notification`

// Match selects a reader by name: the exact name, or else any reader containing one of
// Substrs (the first reader listed wins).
type Match struct {
	Exact   string
	Substrs []string
}

func (m Match) ok(name string) bool {
	if m.Exact != "" {
		return name == m.Exact
	}
	for _, s := range m.Substrs {
		if strings.Contains(name, s) {
			return true
		}
	}
	return false
}

func (m Match) String() string {
	if m.Exact != "" {
		return fmt.Sprintf("reader %q", m.Exact)
	}
	return fmt.Sprintf("a reader containing one of %q", m.Substrs)
}

// Wait returns the name of the first matching reader whose card is present (present =
// true) or absent (present = false), or an error when ctx ends first. It survives
// pcscd not running yet and readers appearing late.
func Wait(ctx context.Context, m Match, present bool) (string, error) {
	var lastErr error
	for {
		name, err := waitOnce(ctx, m, present)
		if err == nil {
			return name, nil
		}
		if ctx.Err() != nil {
			if lastErr == nil {
				lastErr = err
			}
			want := "a card"
			if !present {
				want = "no card"
			}
			return "", fmt.Errorf("timed out waiting for %s with %s (last: %v)", m, want, lastErr)
		}
		lastErr = err
		// pcscd not up yet, or the reader went away mid-wait: short pause, retry.
		select {
		case <-ctx.Done():
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// Probe tells whether pcscd answers on its socket (in this mount namespace).
func Probe() error {
	sc, err := scard.EstablishContext()
	if err != nil {
		return fmt.Errorf("pcscd: %w", err)
	}
	return sc.Release()
}

// slice bounds one blocking call so that ctx is honoured within a second.
func slice(ctx context.Context) time.Duration {
	d := time.Second
	if dl, ok := ctx.Deadline(); ok {
		if r := time.Until(dl); r < d {
			d = r
		}
	}
	if d < 10*time.Millisecond {
		d = 10 * time.Millisecond
	}
	return d
}

func waitOnce(ctx context.Context, m Match, present bool) (string, error) {
	sc, err := scard.EstablishContext()
	if err != nil {
		return "", fmt.Errorf("pcscd: %w", err)
	}
	defer sc.Release()
	for ctx.Err() == nil {
		readers, err := sc.ListReaders()
		if err != nil && !errors.Is(err, scard.ErrNoReadersAvailable) {
			return "", fmt.Errorf("list readers: %w", err)
		}
		name := ""
		for _, r := range readers {
			if m.ok(r) {
				name = r
				break
			}
		}
		if name == "" {
			if err := waitReaderChange(ctx, sc); err != nil {
				return "", err
			}
			continue
		}
		st := []scard.ReaderState{{Reader: name, CurrentState: scard.StateUnaware}}
		for ctx.Err() == nil {
			err := sc.GetStatusChange(st, 0)
			if err == nil {
				err = sc.GetStatusChange(st, 0) // settle: the first call reports "changed"
			}
			if err != nil && !errors.Is(err, scard.ErrTimeout) {
				return "", fmt.Errorf("status of %q: %w", name, err)
			}
			ev := st[0].EventState
			if present && ev&scard.StatePresent != 0 && ev&scard.StateMute == 0 {
				return name, nil
			}
			if !present && ev&scard.StateEmpty != 0 {
				return name, nil
			}
			if ev&scard.StateUnknown != 0 {
				break // reader gone: list again
			}
			st[0].CurrentState = ev &^ scard.StateChanged
			err = sc.GetStatusChange(st, slice(ctx))
			if err != nil && !errors.Is(err, scard.ErrTimeout) {
				return "", fmt.Errorf("status of %q: %w", name, err)
			}
			st[0].CurrentState = scard.StateUnaware
		}
	}
	return "", ctx.Err()
}

// waitReaderChange blocks until the reader list changes (or about a second passes).
func waitReaderChange(ctx context.Context, sc *scard.Context) error {
	st := []scard.ReaderState{{Reader: pnp, CurrentState: scard.StateUnaware}}
	if err := sc.GetStatusChange(st, 0); err != nil && !errors.Is(err, scard.ErrTimeout) {
		// No PnP support: fall back to a short pause.
		select {
		case <-ctx.Done():
		case <-time.After(200 * time.Millisecond):
		}
		return nil
	}
	st[0].CurrentState = st[0].EventState &^ scard.StateChanged
	err := sc.GetStatusChange(st, slice(ctx))
	if err != nil && !errors.Is(err, scard.ErrTimeout) {
		return fmt.Errorf("reader list: %w", err)
	}
	return nil
}
