// Command pcsc11 inspects PC/SC readers and PIV tokens the way the module sees them,
// without going through PKCS#11: useful to tell a module problem from a card problem.
//
//	pcsc11 slots            readers as slots, with the token in each
//	pcsc11 objects [-slot N] the PKCS#11 objects a token exposes
//	pcsc11 watch            print slot events until interrupted
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/pcsc11/pcsc11/ck"
	"github.com/pcsc11/pcsc11/reader"
	"github.com/pcsc11/pcsc11/slot"
	"github.com/pcsc11/pcsc11/slot/piv"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "pcsc11:", err)
		os.Exit(1)
	}
}

const usage = `usage: pcsc11 <command> [flags]
commands:
  slots              list readers as slots and the token in each
  objects [-slot N]  list the objects of a token (default: every token)
  watch              print slot events (card inserted/removed, reader added) until Ctrl-C`

func run(args []string, out io.Writer) error {
	if len(args) == 0 {
		return errors.New(usage)
	}
	backend, err := reader.NewPCSC()
	if err != nil {
		return fmt.Errorf("PC/SC: %w (is pcscd running?)", err)
	}
	m := slot.NewManager(backend, func(c reader.Card, name string) (slot.Token, error) {
		return piv.Open(c, name, piv.Options{})
	})
	defer m.Close()

	switch args[0] {
	case "slots":
		return listSlots(m, out)
	case "objects":
		fs := flag.NewFlagSet("objects", flag.ContinueOnError)
		id := fs.Int("slot", -1, "slot ID (default: all slots with a token)")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		return listObjects(m, *id, out)
	case "watch":
		return watch(m, out)
	default:
		return errors.New(usage)
	}
}

func listSlots(m *slot.Manager, out io.Writer) error {
	ids, err := m.Slots(false)
	if err != nil {
		return err
	}
	if len(ids) == 0 {
		fmt.Fprintln(out, "no readers")
	}
	for _, id := range ids {
		si, err := m.SlotInfo(id)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "slot %d: %s\n", id, si.Description)
		if si.Flags&ck.CKF_TOKEN_PRESENT == 0 {
			fmt.Fprintln(out, "  (no card)")
			continue
		}
		tok, err := m.Token(id)
		if err != nil {
			fmt.Fprintf(out, "  card not usable: %v\n", err)
			continue
		}
		ti, err := tok.Info()
		if err != nil {
			fmt.Fprintf(out, "  token info: %v\n", err)
			continue
		}
		fmt.Fprintf(out, "  token: %s\n  manufacturer: %s, model: %s, serial: %s, firmware %d.%d\n",
			ti.Label, ti.Manufacturer, ti.Model, ti.Serial, ti.FirmwareMajor, ti.FirmwareMinor)
	}
	return nil
}

func listObjects(m *slot.Manager, only int, out io.Writer) error {
	ids, err := m.Slots(true)
	if err != nil {
		return err
	}
	for _, id := range ids {
		if only >= 0 && id != ck.ULong(only) {
			continue
		}
		tok, err := m.Token(id)
		if err != nil {
			fmt.Fprintf(out, "slot %d: %v\n", id, err)
			continue
		}
		objs, err := tok.Objects()
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "slot %d: %d objects\n", id, len(objs))
		for _, o := range objs {
			label, _ := o.Attrs[ck.CKA_LABEL].(string)
			cka, _ := o.Attrs[ck.CKA_ID].([]byte)
			fmt.Fprintf(out, "  %-12s id=%x  %s\n", o.Key, cka, label)
		}
	}
	return nil
}

func watch(m *slot.Manager, out io.Writer) error {
	if _, err := m.Slots(false); err != nil {
		return err
	}
	for {
		id, err := m.WaitForEvent(true)
		if err != nil {
			return err
		}
		si, err := m.SlotInfo(id)
		if err != nil {
			return err
		}
		state := "card removed"
		if si.Flags&ck.CKF_TOKEN_PRESENT != 0 {
			state = "card present"
		}
		fmt.Fprintf(out, "slot %d (%s): %s\n", id, si.Description, state)
	}
}
