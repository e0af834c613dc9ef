package main

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/pcsc11/pcsc11/ck"
	"github.com/pcsc11/pcsc11/reader"
	"github.com/pcsc11/pcsc11/slot"
)

var watchCmd = &command{
	name:    "watch",
	summary: "print slot events (card inserted/removed, reader added/removed) as they happen",
	usage:   "watch [--count N] [--timeout D] [--json]",
	help: `Prints the current state of every slot, then one line per slot event as it happens,
the way C_WaitForSlotEvent reports them to a PKCS#11 application (driven by
SCardGetStatusChange, no polling). Events:

  reader-added    a reader was attached (a new slot, or a known one that came back)
  reader-removed  a reader was detached
  card-inserted   a card went into a reader
  card-removed    a card left a reader
  card-changed    the card was swapped (removed and another inserted between two looks)
  changed         something happened and was undone before it could be looked at

The first lines, one per slot, have the event "state". Runs until Ctrl-C, or:

flags:
  --count N     stop after N events (the "state" lines do not count)
  --timeout D   stop after duration D (e.g. 10s, 2m)
  --json        one JSON object per line (JSON Lines): {"time", "slot", "reader",
                "event", "card_present"}

Exits 0 when stopped by Ctrl-C, --count or --timeout; 1 when --count N was given and
fewer than N events came before the timeout; 3 when pcscd cannot be reached.
`,
	run: runWatch,
}

type eventJSON struct {
	Time        string `json:"time"`
	Slot        uint64 `json:"slot"`
	Reader      string `json:"reader"`
	Event       string `json:"event"`
	CardPresent bool   `json:"card_present"`
}

// slotSeen is what watch last reported about a slot.
type slotSeen struct {
	attached, present bool
	gen               uint64
}

func runWatch(a *app, c *command, args []string) error {
	fs := a.flags(c)
	asJSON := jsonFlag(fs)
	count := fs.Int("count", 0, "stop after N events")
	timeout := fs.Duration("timeout", 0, "stop after D")
	if err := a.parseNoArgs(c, fs, args); err != nil {
		return err
	}
	if *count < 0 || *timeout < 0 {
		return usageErr("watch: --count and --timeout must not be negative")
	}
	return a.withManager(func(b reader.Backend, m *slot.Manager) error {
		emit := func(id slot.ID, event string, present bool) {
			si, _ := m.SlotInfo(id)
			e := eventJSON{Time: time.Now().UTC().Format(time.RFC3339Nano), Slot: uint64(id),
				Reader: si.Description, Event: event, CardPresent: present}
			if *asJSON {
				a.writeJSONLine(e)
			} else {
				card := "no card"
				if present {
					card = "card present"
				}
				fmt.Fprintf(a.stdout, "%s slot %d %q: %s (%s)\n", e.Time, e.Slot, oneLine(e.Reader), e.Event, card)
			}
		}
		seen := map[slot.ID]slotSeen{}
		ids, err := m.Slots(false)
		if err != nil {
			return err
		}
		names, _ := b.ListReaders()
		for _, id := range ids {
			s := a.lookSlot(m, names, id)
			seen[id] = s
			emit(id, "state", s.present)
		}

		// Stop conditions: Ctrl-C, --timeout; closing the manager wakes WaitForEvent.
		stop := make(chan string, 1)
		sig, unsig := a.interrupt()
		defer unsig()
		var deadline <-chan time.Time
		if *timeout > 0 {
			t := time.NewTimer(*timeout)
			defer t.Stop()
			deadline = t.C
		}
		done := make(chan struct{})
		defer close(done)
		go func() {
			select {
			case <-sig:
				stop <- "interrupted"
			case <-deadline:
				stop <- "timeout"
			case <-done:
				return
			}
			m.Close()
		}()

		n := 0
		for *count == 0 || n < *count {
			id, err := m.WaitForEvent(true)
			if err != nil {
				select {
				case why := <-stop:
					if why == "timeout" && *count > 0 {
						return fmt.Errorf("timed out after %s with %d of %d events", *timeout, n, *count)
					}
					return nil
				default:
				}
				if slot.RV(err) == ck.CKR_CRYPTOKI_NOT_INITIALIZED {
					return errors.New("slot monitor stopped")
				}
				return err
			}
			names, _ := b.ListReaders()
			now := a.lookSlot(m, names, id)
			before, known := seen[id]
			seen[id] = now
			for _, ev := range slotEvents(before, known, now) {
				emit(id, ev, now.present)
				n++
				if *count > 0 && n >= *count {
					break
				}
			}
		}
		return nil
	})
}

func (a *app) writeJSONLine(v any) {
	// json.Encoder without indent: one object per line.
	enc := jsonLineEncoder(a.stdout)
	enc.Encode(v)
}

// lookSlot reads a slot's state now: attached (named by PC/SC), card present, and
// the generation (which moves whenever the card changes).
func (a *app) lookSlot(m *slot.Manager, names []string, id slot.ID) slotSeen {
	si, err := m.SlotInfo(id)
	if err != nil {
		return slotSeen{}
	}
	return slotSeen{
		attached: slices.Contains(names, si.Description),
		present:  si.Flags&ck.CKF_TOKEN_PRESENT != 0,
		gen:      m.Generation(id),
	}
}

// slotEvents names what happened between two looks at a slot. Several changes can
// fold into one slot event (the event flag is set once until read), so a removal
// and an insertion seen together are "card-changed".
func slotEvents(before slotSeen, known bool, now slotSeen) []string {
	var evs []string
	if !known || before.attached != now.attached {
		if now.attached {
			evs = append(evs, "reader-added")
		} else {
			evs = append(evs, "reader-removed")
		}
	}
	switch {
	case !before.present && now.present:
		evs = append(evs, "card-inserted")
	case before.present && !now.present:
		evs = append(evs, "card-removed")
	case before.present && now.present && before.gen != now.gen:
		evs = append(evs, "card-changed")
	}
	if len(evs) == 0 {
		// The monitor saw a change we cannot name (it came and went): still report it.
		evs = append(evs, "changed")
	}
	return evs
}
