package main

import (
	"encoding/hex"
	"errors"
	"flag"
	"fmt"

	"github.com/pcsc11/pcsc11/ck"
	"github.com/pcsc11/pcsc11/reader"
	"github.com/pcsc11/pcsc11/slot"
)

var objectsCmd = &command{
	name:    "objects",
	summary: "list the objects of tokens, with pkcs11: URIs",
	usage:   "objects [--slot N] [--json]",
	help: `Lists the PKCS#11 objects of the token in every slot with a card (or only slot N):
class, CKA_ID, CKA_LABEL and an RFC 7512 pkcs11: URI that names the object for
OpenSSL, p11tool, ssh-keygen -D and friends, e.g.

  pkcs11:token=...;manufacturer=Yubico;model=YubiKey%205.7;serial=12345678;id=%01;object=...;type=cert

Private keys are listed too (a PKCS#11 application sees them only after C_Login);
no PIN is asked for or sent.

flags:
  --slot N   only slot N (IDs as in 'pcsc11 slots')
  --json     one JSON object: {"objects": [...], "errors": [...]} (docs/cli.md)

Exits 3 when pcscd cannot be reached or no reader is attached, 1 when no card is
present (or slot N has none) or a token cannot be read.
`,
	run: runObjects,
}

type objectJSON struct {
	Slot    uint64 `json:"slot"`
	Key     string `json:"key"`
	Class   string `json:"class"`
	KeyType string `json:"key_type,omitempty"`
	ID      string `json:"id"`
	Label   string `json:"label"`
	Private bool   `json:"private"`
	URI     string `json:"uri"`
}

type slotErrorJSON struct {
	Slot   uint64 `json:"slot"`
	Reader string `json:"reader"`
	Error  string `json:"error"`
}

// slotFlag is --slot: unset, or a slot ID.
type slotFlag struct {
	set bool
	id  uint64
}

func (s *slotFlag) String() string { return fmt.Sprint(s.id) }
func (s *slotFlag) Set(v string) error {
	var id uint64
	if _, err := fmt.Sscan(v, &id); err != nil || fmt.Sprint(id) != v {
		return fmt.Errorf("slot ID %q is not a number", v)
	}
	s.set, s.id = true, id
	return nil
}

var _ flag.Value = (*slotFlag)(nil)

func runObjects(a *app, c *command, args []string) error {
	fs := a.flags(c)
	asJSON := jsonFlag(fs)
	var only slotFlag
	fs.Var(&only, "slot", "slot ID")
	if err := a.parse(c, fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErr("objects takes no arguments (did you mean --slot %s?)", fs.Arg(0))
	}
	return a.withManager(func(_ reader.Backend, m *slot.Manager) error {
		all, err := m.Slots(false)
		if err != nil {
			return err
		}
		if len(all) == 0 {
			return errNoReaders()
		}
		ids, err := m.Slots(true)
		if err != nil {
			return err
		}
		if only.set {
			if only.id >= uint64(len(all)) {
				return fmt.Errorf("no slot %d (slots are 0 to %d; see 'pcsc11 slots')", only.id, len(all)-1)
			}
			ids = filterSlot(ids, slot.ID(only.id))
			if len(ids) == 0 {
				si, _ := m.SlotInfo(slot.ID(only.id))
				return fmt.Errorf("no card in slot %d (%s)", only.id, si.Description)
			}
		}
		if len(ids) == 0 {
			return errors.New("no card in any reader")
		}
		objs := []objectJSON{}
		errs := []slotErrorJSON{}
		read, failed := 0, 0
		for _, id := range ids {
			o, err := slotObjects(m, id)
			if err != nil {
				si, _ := m.SlotInfo(id)
				errs = append(errs, slotErrorJSON{Slot: uint64(id), Reader: si.Description, Error: tokenError(err)})
				// A foreign (non-PIV) card beside a token is not a failure; alone, or
				// asked for with --slot, it is.
				if !notRecognized(err) || only.set {
					failed++
				}
				continue
			}
			read++
			objs = append(objs, o...)
		}
		if *asJSON {
			if err := a.writeJSON(struct {
				Objects []objectJSON    `json:"objects"`
				Errors  []slotErrorJSON `json:"errors"`
			}{objs, errs}); err != nil {
				return err
			}
		} else {
			a.printObjects(m, ids, objs, errs)
		}
		if failed > 0 {
			return fmt.Errorf("%d token(s) could not be read", failed)
		}
		if read == 0 {
			return errors.New("no card with a token this module knows (PIV)")
		}
		return nil
	})
}

func filterSlot(ids []slot.ID, want slot.ID) []slot.ID {
	for _, id := range ids {
		if id == want {
			return []slot.ID{id}
		}
	}
	return nil
}

// slotObjects lists the objects of the token in slot id with their URIs.
func slotObjects(m *slot.Manager, id slot.ID) ([]objectJSON, error) {
	tok, err := m.Token(id)
	if err != nil {
		return nil, err
	}
	ti, err := tok.Info()
	if err != nil {
		return nil, err
	}
	list, err := tok.Objects()
	if err != nil {
		return nil, err
	}
	tattrs := tokenAttrs(ti.Label, ti.Manufacturer, ti.Model, ti.Serial)
	out := make([]objectJSON, 0, len(list))
	for _, o := range list {
		class, _, _ := o.Attrs.ULong(ck.CKA_CLASS)
		cid, _, _ := o.Attrs.Bytes(ck.CKA_ID)
		label, _ := o.Attrs[ck.CKA_LABEL].(string)
		if b, ok := o.Attrs[ck.CKA_LABEL].([]byte); ok {
			label = string(b)
		}
		priv, _, _ := o.Attrs.Bool(ck.CKA_PRIVATE)
		typ := className(class)
		j := objectJSON{
			Slot: uint64(id), Key: o.Key, Class: typ, ID: hex.EncodeToString(cid),
			Label: label, Private: priv,
			URI: objectURI(tattrs, cid, label, typ),
		}
		if j.Class == "" {
			j.Class = fmt.Sprintf("0x%x", uint64(class))
		}
		if kt, ok, _ := o.Attrs.ULong(ck.CKA_KEY_TYPE); ok {
			j.KeyType = keyTypeName(kt)
		}
		out = append(out, j)
	}
	return out, nil
}

func (a *app) printObjects(m *slot.Manager, ids []slot.ID, objs []objectJSON, errs []slotErrorJSON) {
	w := a.stdout
	for _, id := range ids {
		si, _ := m.SlotInfo(id)
		n := 0
		for _, o := range objs {
			if o.Slot == uint64(id) {
				n++
			}
		}
		fmt.Fprintf(w, "slot %d: %s: %d objects\n", id, oneLine(si.Description), n)
		for _, e := range errs {
			if e.Slot == uint64(id) {
				fmt.Fprintf(w, "  error: %s\n", oneLine(e.Error))
			}
		}
		for _, o := range objs {
			if o.Slot != uint64(id) {
				continue
			}
			kind := o.Class
			if o.KeyType != "" {
				kind += "/" + o.KeyType
			}
			fmt.Fprintf(w, "  %-18s id=%-4s %s\n", kind, o.ID, oneLine(o.Label))
			fmt.Fprintf(w, "    %s\n", o.URI)
		}
	}
}
