package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/pcsc11/pcsc11/ck"
	"github.com/pcsc11/pcsc11/reader"
	"github.com/pcsc11/pcsc11/slot"
)

var slotsCmd = &command{
	name:    "slots",
	summary: "list slots (readers) and the token (card) in each",
	usage:   "slots [--json]",
	help: `Lists the PKCS#11 slots pcsc11 makes of the PC/SC readers, in slot ID order (the IDs
a PKCS#11 application sees when it starts now), and for each card its token
information: label, manufacturer, model, serial number, firmware, flags
(CKF_ names without the prefix), PIN length range and the token's pkcs11: URI.

flags:
  --json   one JSON object: {"slots": [...]} (fields in docs/cli.md)

Exits 3 when pcscd cannot be reached or no reader is attached, 1 when a card is in
a reader but cannot be read (the listing is printed anyway).
`,
	run: runSlots,
}

type slotJSON struct {
	ID          uint64     `json:"id"`
	Reader      string     `json:"reader"`
	CardPresent bool       `json:"card_present"`
	Token       *tokenJSON `json:"token,omitempty"`
	Error       string     `json:"error,omitempty"`
}

type tokenJSON struct {
	Label        string   `json:"label"`
	Manufacturer string   `json:"manufacturer"`
	Model        string   `json:"model"`
	Serial       string   `json:"serial"`
	Firmware     string   `json:"firmware"`
	Hardware     string   `json:"hardware"`
	Flags        []string `json:"flags"`
	FlagsValue   uint64   `json:"flags_value"`
	MinPINLen    uint64   `json:"min_pin_len"`
	MaxPINLen    uint64   `json:"max_pin_len"`
	URI          string   `json:"uri"`
}

func runSlots(a *app, c *command, args []string) error {
	fs := a.flags(c)
	asJSON := jsonFlag(fs)
	if err := a.parseNoArgs(c, fs, args); err != nil {
		return err
	}
	return a.withManager(func(_ reader.Backend, m *slot.Manager) error {
		ids, err := m.Slots(false)
		if err != nil {
			return err
		}
		out := make([]slotJSON, 0, len(ids))
		failed := 0
		for _, id := range ids {
			s, recognized := describeSlot(m, id)
			if s.Error != "" && recognized {
				failed++
			}
			out = append(out, s)
		}
		if err := writeList(a, *asJSON, "slots", out, a.printSlots); err != nil {
			return err
		}
		if failed > 0 {
			return fmt.Errorf("%d card(s) could not be read", failed)
		}
		return nil
	})
}

// describeSlot reads one slot. recognized is false for a card that is not a PIV
// card (CKR_TOKEN_NOT_RECOGNIZED): a foreign card in a reader is not a failure.
func describeSlot(m *slot.Manager, id slot.ID) (_ slotJSON, recognized bool) {
	si, err := m.SlotInfo(id)
	if err != nil {
		return slotJSON{ID: uint64(id), Error: err.Error()}, true
	}
	s := slotJSON{ID: uint64(id), Reader: si.Description, CardPresent: si.Flags&ck.CKF_TOKEN_PRESENT != 0}
	if !s.CardPresent {
		return s, true
	}
	tok, err := m.Token(id)
	if err != nil {
		s.Error = tokenError(err)
		return s, !notRecognized(err)
	}
	ti, err := tok.Info()
	if err != nil {
		s.Error = tokenError(err)
		return s, !notRecognized(err)
	}
	s.Token = &tokenJSON{
		Label: ti.Label, Manufacturer: ti.Manufacturer, Model: ti.Model, Serial: ti.Serial,
		Firmware:   fmt.Sprintf("%d.%d", ti.FirmwareMajor, ti.FirmwareMinor),
		Hardware:   fmt.Sprintf("%d.%d", ti.HardwareMajor, ti.HardwareMinor),
		Flags:      flagNames(ti.Flags),
		FlagsValue: uint64(ti.Flags),
		MinPINLen:  uint64(ti.MinPINLen),
		MaxPINLen:  uint64(ti.MaxPINLen),
		URI:        tokenURI(ti.Label, ti.Manufacturer, ti.Model, ti.Serial),
	}
	return s, true
}

func notRecognized(err error) bool {
	var se *slot.Error
	return errors.As(err, &se) && se.RV == ck.CKR_TOKEN_NOT_RECOGNIZED
}

// tokenError words a driver error for people: the CKR_ name when there is one.
func tokenError(err error) string {
	var se *slot.Error
	if errors.As(err, &se) {
		switch se.RV {
		case ck.CKR_TOKEN_NOT_RECOGNIZED:
			return "card not recognized (no PIV application): " + err.Error()
		case ck.CKR_TOKEN_NOT_PRESENT:
			return "card removed: " + err.Error()
		}
	}
	return err.Error()
}

func (a *app) printSlots(ss []slotJSON) {
	w := a.stdout
	if len(ss) == 0 {
		fmt.Fprintln(w, "no readers")
		return
	}
	for _, s := range ss {
		fmt.Fprintf(w, "slot %d: %s\n", s.ID, oneLine(s.Reader))
		switch {
		case s.Error != "":
			fmt.Fprintf(w, "  error:        %s\n", oneLine(s.Error))
		case !s.CardPresent:
			fmt.Fprintln(w, "  (no card)")
		default:
			t := s.Token
			fmt.Fprintf(w, "  token:        %s\n", oneLine(t.Label))
			fmt.Fprintf(w, "  manufacturer: %s\n", oneLine(t.Manufacturer))
			fmt.Fprintf(w, "  model:        %s\n", oneLine(t.Model))
			fmt.Fprintf(w, "  serial:       %s\n", oneLine(t.Serial))
			fmt.Fprintf(w, "  firmware:     %s (hardware %s)\n", t.Firmware, t.Hardware)
			fmt.Fprintf(w, "  flags:        %s\n", strings.Join(t.Flags, " "))
			fmt.Fprintf(w, "  PIN length:   %d to %d\n", t.MinPINLen, t.MaxPINLen)
			fmt.Fprintf(w, "  URI:          %s\n", t.URI)
		}
	}
}
