package main

import (
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/pcsc11/pcsc11/reader"
)

var readersCmd = &command{
	name:    "readers",
	summary: "list PC/SC readers: card present, ATR, PIN-pad capabilities",
	usage:   "readers [--json]",
	help: `Lists every reader pcscd knows, whether a card is in it and its ATR, and what the
reader says about itself through PC/SC v2 part 10 (SCardControl
CM_IOCTL_GET_FEATURE_REQUEST): whether it has a PIN pad (FEATURE_VERIFY_PIN_DIRECT,
FEATURE_MODIFY_PIN_DIRECT) and, when it answers FEATURE_GET_TLV_PROPERTIES or
FEATURE_IFD_PIN_PROPERTIES, the PIN sizes it accepts, its display and firmware.
A token in a PIN-pad reader gets CKF_PROTECTED_AUTHENTICATION_PATH: applications
then log in with C_Login(NULL PIN) and the PIN is typed on the reader.

flags:
  --json   one JSON object: {"readers": [...]} (fields in docs/cli.md)

Exits 3 when pcscd cannot be reached or no reader is attached.
`,
	run: runReaders,
}

// readerJSON is one reader in `readers --json`.
type readerJSON struct {
	Name          string          `json:"name"`
	CardPresent   bool            `json:"card_present"`
	CardMute      bool            `json:"card_mute,omitempty"`
	ATR           string          `json:"atr,omitempty"`
	PINPad        bool            `json:"pin_pad"`
	Features      *featuresJSON   `json:"features"`
	Properties    *propertiesJSON `json:"properties,omitempty"`
	FeaturesError string          `json:"features_error,omitempty"`
}

type featuresJSON struct {
	VerifyPINDirect  bool `json:"verify_pin_direct"`
	ModifyPINDirect  bool `json:"modify_pin_direct"`
	IFDPINProperties bool `json:"ifd_pin_properties"`
	GetTLVProperties bool `json:"get_tlv_properties"`
}

type propertiesJSON struct {
	LcdLayout        *uint16 `json:"lcd_layout,omitempty"`
	LcdLines         *int    `json:"lcd_lines,omitempty"`
	LcdColumns       *int    `json:"lcd_columns,omitempty"`
	EntryValidation  *uint8  `json:"entry_validation_condition,omitempty"`
	TimeOut2         *uint8  `json:"timeout2,omitempty"`
	LcdMaxCharacters *uint16 `json:"lcd_max_characters,omitempty"`
	LcdMaxLines      *uint16 `json:"lcd_max_lines,omitempty"`
	MinPINSize       *uint8  `json:"min_pin_size,omitempty"`
	MaxPINSize       *uint8  `json:"max_pin_size,omitempty"`
	FirmwareID       *string `json:"firmware_id,omitempty"`
	PPDUSupport      *uint8  `json:"ppdu_support,omitempty"`
	MaxAPDUDataSize  *uint32 `json:"max_apdu_data_size,omitempty"`
	VendorID         *uint16 `json:"vendor_id,omitempty"`
	ProductID        *uint16 `json:"product_id,omitempty"`
}

func runReaders(a *app, c *command, args []string) error {
	fs := a.flags(c)
	asJSON := jsonFlag(fs)
	if err := a.parseNoArgs(c, fs, args); err != nil {
		return err
	}
	b, err := a.connect()
	if err != nil {
		return err
	}
	defer b.Close()
	states, err := b.WaitChange(nil, 0)
	if err != nil {
		return noReaderErr(fmt.Errorf("reading reader states: %v", err))
	}
	out := make([]readerJSON, 0, len(states))
	for _, st := range states {
		out = append(out, a.describeReader(b, st))
	}
	return writeList(a, *asJSON, "readers", out, a.printReaders)
}

// describeReader reads one reader's features. A reader that refuses, or answers
// garbage, is a plain reader; the reason is kept in features_error.
func (a *app) describeReader(b reader.Backend, st reader.ReaderState) readerJSON {
	r := readerJSON{Name: st.Name, CardPresent: st.Present, CardMute: st.Mute, Features: &featuresJSON{}}
	if st.Present && len(st.ATR) > 0 {
		r.ATR = hex.EncodeToString(st.ATR)
	}
	card, err := a.controlConn(b, st)
	if err != nil {
		r.FeaturesError = err.Error()
		return r
	}
	defer card.Close()
	fset, err := reader.Features(card)
	if err != nil {
		r.FeaturesError = err.Error()
		return r
	}
	r.PINPad = fset.PINPad()
	r.Features = &featuresJSON{
		VerifyPINDirect:  fset.VerifyPINDirect != 0,
		ModifyPINDirect:  fset.ModifyPINDirect != 0,
		IFDPINProperties: fset.IFDPINProperties != 0,
		GetTLVProperties: fset.GetTLVProperties != 0,
	}
	var props reader.PINProperties
	var have bool
	var problems []string
	if fset.GetTLVProperties != 0 {
		raw, err := card.Control(fset.GetTLVProperties, nil)
		if err == nil {
			props, err = reader.ParseTLVProperties(raw)
		}
		if err == nil {
			have = true
		} else {
			problems = append(problems, "GET_TLV_PROPERTIES: "+err.Error())
		}
	}
	if fset.IFDPINProperties != 0 {
		raw, err := card.Control(fset.IFDPINProperties, nil)
		var p reader.PINProperties
		if err == nil {
			p, err = reader.ParseIFDPINProperties(raw)
		}
		if err == nil {
			props, have = fillFrom(props, p), true
		} else {
			problems = append(problems, "IFD_PIN_PROPERTIES: "+err.Error())
		}
	}
	if have {
		r.Properties = toPropertiesJSON(props)
	}
	r.FeaturesError = strings.Join(problems, "; ")
	return r
}

// controlConn opens a connection for SCardControl: the usual shared one when a card
// is in, a direct one (no card needed) otherwise.
func (a *app) controlConn(b reader.Backend, st reader.ReaderState) (reader.Card, error) {
	if st.Present && !st.Mute {
		if c, err := b.Connect(st.Name); err == nil {
			return c, nil
		} else if a.openDirect == nil {
			return nil, err
		}
	}
	if a.openDirect == nil {
		return nil, fmt.Errorf("features of an empty reader are not available")
	}
	return a.openDirect(st.Name)
}

// fillFrom fills what the TLV properties p did not tell from the older structure q
// (IFD_PIN_PROPERTIES tells the display, the entry condition and the timeout).
func fillFrom(p, q reader.PINProperties) reader.PINProperties {
	fill := func(tag byte, set func()) {
		if !p.HasProp(tag) && q.HasProp(tag) {
			set()
			p.Told |= 1 << tag
		}
	}
	fill(reader.PropLcdLayout, func() { p.LcdLayout = q.LcdLayout })
	fill(reader.PropEntryValidation, func() { p.EntryValidation = q.EntryValidation })
	fill(reader.PropTimeOut2, func() { p.TimeOut2 = q.TimeOut2 })
	return p
}

// told is &v when the reader told the property tag, else nil (left out of the JSON).
func told[T any](p reader.PINProperties, tag byte, v T) *T {
	if !p.HasProp(tag) {
		return nil
	}
	return &v
}

func toPropertiesJSON(p reader.PINProperties) *propertiesJSON {
	j := &propertiesJSON{
		LcdLayout:        told(p, reader.PropLcdLayout, p.LcdLayout),
		EntryValidation:  told(p, reader.PropEntryValidation, p.EntryValidation),
		TimeOut2:         told(p, reader.PropTimeOut2, p.TimeOut2),
		LcdMaxCharacters: told(p, reader.PropLcdMaxCharacters, p.LcdMaxCharacters),
		LcdMaxLines:      told(p, reader.PropLcdMaxLines, p.LcdMaxLines),
		MinPINSize:       told(p, reader.PropMinPINSize, p.MinPIN),
		MaxPINSize:       told(p, reader.PropMaxPINSize, p.MaxPIN),
		FirmwareID:       told(p, reader.PropFirmwareID, p.FirmwareID),
		PPDUSupport:      told(p, reader.PropPPDUSupport, p.PPDUSupport),
		MaxAPDUDataSize:  told(p, reader.PropMaxAPDUDataSize, p.MaxAPDUData),
		VendorID:         told(p, reader.PropIDVendor, p.VendorID),
		ProductID:        told(p, reader.PropIDProduct, p.ProductID),
	}
	if p.HasProp(reader.PropLcdLayout) {
		// wLcdLayout 0xLLCC: LL lines, CC characters per line (PC/SC v2 part 10 §2.5.3).
		lines, cols := int(p.LcdLayout>>8), int(p.LcdLayout&0xff)
		j.LcdLines, j.LcdColumns = &lines, &cols
	}
	return j
}

func (a *app) printReaders(rs []readerJSON) {
	if len(rs) == 0 {
		fmt.Fprintln(a.stdout, "no readers")
		return
	}
	w := a.stdout
	for _, r := range rs {
		fmt.Fprintln(w, oneLine(r.Name))
		switch {
		case r.CardMute:
			fmt.Fprintln(w, "  card:       present but mute (no ATR)")
		case r.CardPresent:
			fmt.Fprintf(w, "  card:       present, ATR %s\n", r.ATR)
		default:
			fmt.Fprintln(w, "  card:       none")
		}
		if r.PINPad {
			ops := []string{"verify"}
			if r.Features.ModifyPINDirect {
				ops = append(ops, "modify")
			}
			fmt.Fprintf(w, "  PIN pad:    yes (%s PIN on the reader)\n", strings.Join(ops, ", "))
		} else {
			fmt.Fprintln(w, "  PIN pad:    no")
		}
		if p := r.Properties; p != nil {
			if p.MinPINSize != nil || p.MaxPINSize != nil {
				fmt.Fprintf(w, "  PIN size:   %s to %s digits\n", optU8(p.MinPINSize), optU8(p.MaxPINSize))
			}
			if p.LcdLayout != nil {
				if *p.LcdLayout == 0 {
					fmt.Fprintln(w, "  display:    none")
				} else {
					fmt.Fprintf(w, "  display:    %d lines x %d characters\n", *p.LcdLines, *p.LcdColumns)
				}
			}
			if p.EntryValidation != nil {
				fmt.Fprintf(w, "  PIN entry:  ends on %s\n", entryValidation(*p.EntryValidation))
			}
			if p.TimeOut2 != nil {
				if *p.TimeOut2 == 0 {
					fmt.Fprintln(w, "  timeout:    reader default after the first key")
				} else {
					fmt.Fprintf(w, "  timeout:    %d s after the first key\n", *p.TimeOut2)
				}
			}
			var fw []string
			if p.FirmwareID != nil {
				fw = append(fw, *p.FirmwareID)
			}
			if p.VendorID != nil && p.ProductID != nil {
				fw = append(fw, fmt.Sprintf("USB %04x:%04x", *p.VendorID, *p.ProductID))
			}
			if p.MaxAPDUDataSize != nil {
				fw = append(fw, fmt.Sprintf("max APDU data %d bytes", *p.MaxAPDUDataSize))
			}
			if len(fw) > 0 {
				fmt.Fprintf(w, "  reader:     %s\n", strings.Join(fw, ", "))
			}
		}
		if r.FeaturesError != "" {
			fmt.Fprintf(w, "  features:   %s\n", oneLine(r.FeaturesError))
		}
	}
}

func optU8(p *uint8) string {
	if p == nil {
		return "?"
	}
	return fmt.Sprint(*p)
}

// entryValidation spells bEntryValidationCondition (bit 0 max size reached, bit 1
// validation key, bit 2 timeout).
func entryValidation(v uint8) string {
	var parts []string
	if v&1 != 0 {
		parts = append(parts, "max size reached")
	}
	if v&2 != 0 {
		parts = append(parts, "OK key")
	}
	if v&4 != 0 {
		parts = append(parts, "timeout")
	}
	if len(parts) == 0 {
		return fmt.Sprintf("condition 0x%02x", v)
	}
	return strings.Join(parts, " or ")
}
