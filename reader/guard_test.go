package reader

import (
	"testing"

	"github.com/pcsc11/pcsc11/guard"
)

func panicInTransmit(t *testing.T) {
	guard.SetTestHook(func(name string) {
		if name == guard.CardTransmit {
			panic("injected into the card transmit goroutine")
		}
	})
	t.Cleanup(func() { guard.SetTestHook(nil) })
}
