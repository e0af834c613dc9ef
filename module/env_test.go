package module

import (
	"testing"
	"time"
)

func TestCardBudgetFromEnv(t *testing.T) {
	for v, want := range map[string]time.Duration{"": 0, "off": -1, "0": -1, "20s": 20 * time.Second,
		"90": 90 * time.Second, "1m": time.Minute, "soon": 0, "-5s": 0} {
		t.Setenv("PCSC11_CARD_TIMEOUT", v)
		if got := CardBudget(); got != want {
			t.Errorf("PCSC11_CARD_TIMEOUT=%q: %v, want %v", v, got, want)
		}
	}
}
