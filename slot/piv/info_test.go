package piv

import (
	"testing"

	"github.com/pcsc11/pcsc11/ck"
	"github.com/pcsc11/pcsc11/slot"
)

func TestInfo(t *testing.T) {
	m := newCard(t)
	tok := openToken(t, m)
	info, err := tok.Info()
	if err != nil {
		t.Fatal(err)
	}
	if info.Label != "YubiKey PIV #12345678" || info.Manufacturer != "Yubico" || info.Model != "YubiKey 5.7" ||
		info.Serial != "12345678" || info.FirmwareMajor != 5 || info.FirmwareMinor != 7 ||
		info.MinPINLen != 6 || info.MaxPINLen != 8 {
		t.Errorf("Info = %+v", info)
	}
	// A factory card: PIN, PUK and management key all have their default values.
	want := ck.CKF_LOGIN_REQUIRED | ck.CKF_USER_PIN_INITIALIZED | ck.CKF_TOKEN_INITIALIZED |
		ck.CKF_USER_PIN_TO_BE_CHANGED | ck.CKF_SO_PIN_TO_BE_CHANGED
	if info.Flags != want {
		t.Errorf("flags %x, want %x", info.Flags, want)
	}
	if info.Flags&ck.CKF_RNG != 0 {
		t.Error("CKF_RNG set")
	}
	tok2, _ := Open(newPadCard(m), "r", Options{})
	if info, _ := tok2.Info(); info.Flags&ck.CKF_PROTECTED_AUTHENTICATION_PATH == 0 {
		t.Error("no CKF_PROTECTED_AUTHENTICATION_PATH with a PIN pad")
	}
}

func TestPINCounterFlags(t *testing.T) {
	m := newCard(t)
	tok := openToken(t, m)
	flags := func() ck.ULong {
		info, err := tok.Info()
		if err != nil {
			t.Fatal(err)
		}
		return info.Flags & (ck.CKF_USER_PIN_COUNT_LOW | ck.CKF_USER_PIN_FINAL_TRY | ck.CKF_USER_PIN_LOCKED)
	}
	steps := []ck.ULong{ck.CKF_USER_PIN_COUNT_LOW, ck.CKF_USER_PIN_COUNT_LOW | ck.CKF_USER_PIN_FINAL_TRY, ck.CKF_USER_PIN_LOCKED}
	for i, want := range steps {
		err := tok.Login(ck.CKU_USER, []byte("654321"))
		wantRV := ck.CKR_PIN_INCORRECT
		if i == 2 {
			wantRV = ck.CKR_PIN_LOCKED
		}
		if slot.RV(err) != wantRV {
			t.Fatalf("wrong PIN %d: %v", i+1, err)
		}
		if got := flags(); got != want {
			t.Errorf("after %d wrong PINs: flags %x, want %x", i+1, got, want)
		}
	}
	if err := tok.Login(ck.CKU_USER, []byte(testPIN)); slot.RV(err) != ck.CKR_PIN_LOCKED {
		t.Errorf("right PIN on a blocked card: %v", err)
	}
}

func TestPINCounterFlagsWithoutMetadata(t *testing.T) {
	m := newCard(t)
	tok := openToken(t, m)
	tok.version = [3]byte{4, 3, 5} // pretend an older YubiKey: empty VERIFY path
	tok.Login(ck.CKU_USER, []byte("654321"))
	info, err := tok.Info()
	if err != nil {
		t.Fatal(err)
	}
	if info.Flags&ck.CKF_USER_PIN_COUNT_LOW == 0 || info.Flags&ck.CKF_USER_PIN_FINAL_TRY != 0 {
		t.Errorf("flags %x after one wrong PIN", info.Flags)
	}
}

func TestRetryFlags(t *testing.T) {
	cases := []struct {
		left, max int
		want      ck.ULong
	}{
		{3, 3, 0},
		{2, 3, ck.CKF_USER_PIN_COUNT_LOW},
		{1, 3, ck.CKF_USER_PIN_COUNT_LOW | ck.CKF_USER_PIN_FINAL_TRY},
		{0, 3, ck.CKF_USER_PIN_LOCKED},
		{1, 1, ck.CKF_USER_PIN_FINAL_TRY},
	}
	for _, c := range cases {
		if got := retryFlags(c.left, c.max); got != c.want {
			t.Errorf("retryFlags(%d,%d) = %x, want %x", c.left, c.max, got, c.want)
		}
	}
}
