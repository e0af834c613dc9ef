package piv

import (
	"fmt"
	"testing"
)

func TestSlotTable(t *testing.T) {
	if len(slots) != 25 {
		t.Fatalf("%d slots", len(slots))
	}
	want := map[byte]byte{0x9A: 1, 0x9C: 2, 0x9D: 3, 0x9E: 4, 0x82: 5, 0x95: 0x18, 0xF9: 0x19}
	for ref, id := range want {
		s, ok := slotByRef(ref)
		if !ok || s.id != id {
			t.Errorf("slot %02X: id %02X, want %02X", ref, s.id, id)
		}
	}
	if s, _ := slotByRef(0x95); s.object != 0x5FC120 || s.name != "Retired Key 20" {
		t.Errorf("slot 95: %+v", s)
	}
	for k, want := range map[string]byte{"priv/9a": 0x9A, "priv/f9": 0xF9, "pub/82": 0x82, "cert/95": 0x95} {
		if kind, s, ok := objectRef(k); !ok || kind+"/"+fmt.Sprintf("%02x", s.ref) != k || s.ref != want {
			t.Errorf("%s: %q %02X %v", k, kind, s.ref, ok)
		}
	}
	for _, k := range []string{"priv/9A", "priv/9b", "key/9a", "priv/9a0", "priv/", "cert9a", "priv/zz", "pub/+9"} {
		if _, _, ok := objectRef(k); ok {
			t.Errorf("%s accepted", k)
		}
	}
}
