package pinpad

import (
	"bytes"
	"strings"
	"testing"
)

// recorder is a card that remembers the commands it ran and answers sw.
type recorder struct {
	cmds [][]byte
	sw   []byte
}

func (r *recorder) process(cmd []byte) []byte {
	r.cmds = append(r.cmds, append([]byte(nil), cmd...))
	if r.sw == nil {
		return []byte{0x90, 0x00}
	}
	return r.sw
}

func verifyMsg(v *Verify) []byte { return append([]byte{MsgVerify}, v.Marshal()...) }
func modifyMsg(m *Modify) []byte { return append([]byte{MsgModify}, m.Marshal()...) }
func pivFormat() Format {
	return Format{TimerOut: 30, FormatString: 0x82, PINBlockString: 0x08, MinPIN: 6, MaxPIN: 8, EntryValidation: 2}
}
func pivVerify() *Verify { return &Verify{Format: pivFormat(), APDU: h("0020008008ffffffffffffffff")} }
func pivChange(confirm byte) *Modify {
	return &Modify{Format: pivFormat(), InsertionOffsetNew: 8, ConfirmPIN: confirm,
		APDU: h("0024008010ffffffffffffffffffffffffffffffff")}
}

func handle(t *testing.T, k *Keypad, msg []byte, r *recorder) []byte {
	t.Helper()
	resp, ok := k.Handle(msg, r.process)
	if !ok {
		t.Fatalf("message % x not handled", msg[:1])
	}
	return resp
}

func TestVerifyInsertsPIVPIN(t *testing.T) {
	var k Keypad
	r := &recorder{}
	if err := k.Type("123456"); err != nil {
		t.Fatal(err)
	}
	resp := handle(t, &k, append([]byte{MsgVerify}, h(pivVerifyHex)...), r)
	if !bytes.Equal(resp, []byte{0x90, 0x00}) {
		t.Fatalf("resp % x", resp)
	}
	want := h("0020008008" + "313233343536ffff")
	if len(r.cmds) != 1 || !bytes.Equal(r.cmds[0], want) {
		t.Fatalf("card got % x, want % x", r.cmds, want)
	}
	if k.Pending() != 0 {
		t.Fatalf("queue not consumed")
	}
}

func TestVerifyPassesCardAnswer(t *testing.T) {
	var k Keypad
	r := &recorder{sw: []byte{0x63, 0xC2}}
	k.Type("87654321")
	if resp := handle(t, &k, verifyMsg(pivVerify()), r); !bytes.Equal(resp, []byte{0x63, 0xC2}) {
		t.Fatalf("resp % x", resp)
	}
	if !bytes.Equal(r.cmds[0], h("00200080083837363534333231")) {
		t.Fatalf("cmd % x", r.cmds[0])
	}
	// A card that answers nothing usable becomes 6F00, never an empty answer.
	r.sw = []byte{}
	k.Type("123456")
	if resp := handle(t, &k, verifyMsg(pivVerify()), r); !bytes.Equal(resp, []byte{0x6F, 0x00}) {
		t.Fatalf("resp % x", resp)
	}
}

func TestUserActions(t *testing.T) {
	var k Keypad
	r := &recorder{}
	msg := verifyMsg(pivVerify())
	// Nothing queued: immediate timeout, the card is not involved.
	if resp := handle(t, &k, msg, r); !bytes.Equal(resp, []byte{0x64, 0x00}) {
		t.Fatalf("empty queue: % x", resp)
	}
	k.Cancel()
	k.Timeout()
	k.Type("12345")     // below min 6
	k.Type("123456789") // above max 8
	k.Type("654321")
	for i, want := range []string{"6401", "6400", "6403", "6403", "9000"} {
		if resp := handle(t, &k, msg, r); !bytes.Equal(resp, h(want)) {
			t.Fatalf("action %d: % x, want %s", i, resp, want)
		}
	}
	if len(r.cmds) != 1 {
		t.Fatalf("card ran %d commands, want 1", len(r.cmds))
	}
}

func TestBadStructureKeepsQueue(t *testing.T) {
	var k Keypad
	r := &recorder{}
	k.Type("123456")
	bad := pivVerify()
	bad.MaxPIN = 9 // 9 ASCII digits do not fit an 8-byte block
	if resp := handle(t, &k, verifyMsg(bad), r); !bytes.Equal(resp, h("6b80")) {
		t.Fatalf("resp % x", resp)
	}
	if k.Pending() != 1 || len(r.cmds) != 0 {
		t.Fatalf("a rejected structure consumed the entry or reached the card")
	}
}

func TestLayoutRejections(t *testing.T) {
	cases := map[string]func(v *Verify){
		"case 2 APDU":           func(v *Verify) { v.APDU = h("0020008008") },
		"Lc beyond APDU":        func(v *Verify) { v.APDU = h("0020008009ffffffffffffffff") },
		"Lc short of APDU":      func(v *Verify) { v.APDU = h("0020008007ffffffffffffffff") },
		"block beyond data":     func(v *Verify) { v.APDU = h("0020008004ffffffff") },
		"position beyond block": func(v *Verify) { v.FormatString = 0x82 | 1<<3 },
		"block size 0 w/ data":  func(v *Verify) { v.PINBlockString = 0 },
		"unaligned bit pos":     func(v *Verify) { v.FormatString = 0x02 | 4<<3 },
		"len field too small":   func(v *Verify) { v.PINBlockString = 0x28; v.PINLengthFormat = 0 },
		"len field outside":     func(v *Verify) { v.PINBlockString = 0x48; v.PINLengthFormat = 0x1F },
		"case 1 with block":     func(v *Verify) { v.APDU = h("00200080") },
		"extended Lc mismatch":  func(v *Verify) { v.APDU = h("002000800000090102030405060708") },
	}
	for name, mod := range cases {
		var k Keypad
		k.Type("123456")
		v := pivVerify()
		mod(v)
		r := &recorder{}
		if resp := handle(t, &k, verifyMsg(v), r); !bytes.Equal(resp, h("6b80")) || len(r.cmds) != 0 {
			t.Errorf("%s: resp % x, card ran %d", name, resp, len(r.cmds))
		}
	}
}

func TestOtherLayouts(t *testing.T) {
	cases := []struct {
		name string
		v    *Verify
		pin  string
		want string
	}{
		{"ISO 9564 format 2 (BCD, bit units, 4-bit length)",
			&Verify{Format: Format{FormatString: 0x01 | 8<<3, PINBlockString: 0x48, PINLengthFormat: 0x04,
				MinPIN: 4, MaxPIN: 12, EntryValidation: 2}, APDU: h("00200081082fffffffffffffff")},
			"12345", "0020008108" + "2512345fffffffff"},
		{"ASCII right justified, byte length field at byte 0",
			&Verify{Format: Format{FormatString: 0x86 | 1<<3, PINBlockString: 0x86, PINLengthFormat: 0x10,
				MinPIN: 4, MaxPIN: 5, EntryValidation: 2}, APDU: h("0020000106000000000000")},
			"1234", "0020000106" + "040031323334"},
		{"ASCII at byte 2 with Le",
			&Verify{Format: Format{FormatString: 0x82 | 2<<3, PINBlockString: 0x0A,
				MinPIN: 4, MaxPIN: 8, EntryValidation: 1}, APDU: h("002000800a" + "aabb0000000000000000" + "00")},
			"1234", "002000800a" + "aabb3132333400000000" + "00"},
		{"case 1 APDU, ASCII",
			&Verify{Format: Format{FormatString: 0x02, MinPIN: 6, MaxPIN: 32, EntryValidation: 2}, APDU: h("00200081")},
			"123456", "0020008106313233343536"},
		{"case 1 APDU, BCD odd",
			&Verify{Format: Format{FormatString: 0x81, MinPIN: 4, MaxPIN: 12, EntryValidation: 2}, APDU: h("00200081")},
			"12345", "0020008103" + "12345f"},
		{"extended template",
			&Verify{Format: Format{FormatString: 0x82, PINBlockString: 0x08, MinPIN: 6, MaxPIN: 8, EntryValidation: 2},
				APDU: h("0020008000" + "0008" + "ffffffffffffffff" + "0000")},
			"123456", "0020008000" + "0008" + "313233343536ffff" + "0000"},
	}
	for _, c := range cases {
		var k Keypad
		r := &recorder{}
		if err := k.Type(c.pin); err != nil {
			t.Fatal(err)
		}
		resp := handle(t, &k, verifyMsg(c.v), r)
		if !bytes.Equal(resp, h("9000")) || len(r.cmds) != 1 || !bytes.Equal(r.cmds[0], h(c.want)) {
			t.Errorf("%s: resp % x cmds % x, want %s", c.name, resp, r.cmds, c.want)
		}
	}
}

func TestModifyPIV(t *testing.T) {
	var k Keypad
	r := &recorder{}
	k.Type("123456")
	k.Type("24681357")
	k.Type("24681357")
	resp := handle(t, &k, modifyMsg(pivChange(0x03)), r)
	want := h("0024008010" + "313233343536ffff" + "3234363831333537")
	if !bytes.Equal(resp, h("9000")) || len(r.cmds) != 1 || !bytes.Equal(r.cmds[0], want) {
		t.Fatalf("resp % x cmd % x", resp, r.cmds)
	}

	// No current PIN asked for: only new + confirmation are consumed, the old block
	// keeps the template's bytes.
	r = &recorder{}
	m := pivChange(0x01)
	k.Type("111111")
	k.Type("111111")
	handle(t, &k, modifyMsg(m), r)
	if len(r.cmds) != 1 || !bytes.Equal(r.cmds[0], h("0024008010"+"ffffffffffffffff"+"313131313131ffff")) {
		t.Fatalf("cmd % x", r.cmds)
	}

	// No confirmation asked for: two entries.
	r = &recorder{}
	k.Type("123456")
	k.Type("654321")
	handle(t, &k, modifyMsg(pivChange(0x02)), r)
	if len(r.cmds) != 1 || !bytes.Equal(r.cmds[0], h("0024008010"+"313233343536ffff"+"363534333231ffff")) {
		t.Fatalf("cmd % x", r.cmds)
	}
}

func TestModifyUserActions(t *testing.T) {
	r := &recorder{}
	msg := modifyMsg(pivChange(0x03))
	steps := []struct {
		script func(k *Keypad)
		want   string
	}{
		{func(k *Keypad) { k.Type("123456"); k.Type("222222"); k.Type("333333") }, "6402"},
		{func(k *Keypad) { k.Type("123456"); k.Cancel() }, "6401"},
		{func(k *Keypad) { k.Type("123456"); k.Type("222222") }, "6400"}, // confirmation never typed
		{func(k *Keypad) { k.Type("123456"); k.Type("22222") }, "6403"},
		{func(k *Keypad) { k.Timeout() }, "6400"},
	}
	for i, s := range steps {
		var k Keypad
		s.script(&k)
		if resp := handle(t, &k, msg, r); !bytes.Equal(resp, h(s.want)) {
			t.Errorf("step %d: % x, want %s", i, resp, s.want)
		}
	}
	if len(r.cmds) != 0 {
		t.Fatalf("the card ran %d commands", len(r.cmds))
	}

	bad := []func(m *Modify){
		func(m *Modify) { m.InsertionOffsetNew = 4 },                               // overlaps old block
		func(m *Modify) { m.InsertionOffsetNew = 9 },                               // beyond data
		func(m *Modify) { m.InsertionOffsetOld = 200 },                             // beyond data
		func(m *Modify) { m.APDU = h("00240080"); m.PINBlockString = 0 },           // bare, offset 8
		func(m *Modify) { m.APDU = h("0024008010ffffffffffffffffffffffffffffff") }, // Lc mismatch
	}
	for i, mod := range bad {
		var k Keypad
		k.Type("123456")
		k.Type("222222")
		k.Type("222222")
		m := pivChange(0x03)
		mod(m)
		if resp := handle(t, &k, modifyMsg(m), r); !bytes.Equal(resp, h("6b80")) || k.Pending() != 3 {
			t.Errorf("bad modify %d: % x pending %d", i, resp, k.Pending())
		}
	}

	// Case 1 modify: the reader builds old || new.
	var k Keypad
	k.Type("1234")
	k.Type("56789")
	k.Type("56789")
	m := &Modify{Format: Format{FormatString: 0x02, MinPIN: 4, MaxPIN: 8, EntryValidation: 2}, ConfirmPIN: 3,
		APDU: h("00240081")}
	r = &recorder{}
	handle(t, &k, modifyMsg(m), r)
	if len(r.cmds) != 1 || !bytes.Equal(r.cmds[0], h("0024008109313233343536373839")) {
		t.Fatalf("cmd % x", r.cmds)
	}
}

func TestNotAPINRequest(t *testing.T) {
	var k Keypad
	k.Type("123456")
	for _, msg := range [][]byte{nil, {}, {0x04}, {MsgVerify}, h("00a4040005a000000308"), {0xF3, 0x00}} {
		if resp, ok := k.Handle(msg, func([]byte) []byte { t.Fatal("process called"); return nil }); ok || resp != nil {
			t.Errorf("% x handled", msg)
		}
	}
	if k.Pending() != 1 {
		t.Fatal("queue touched")
	}
}

func TestTypeRejectsNonDigits(t *testing.T) {
	var k Keypad
	for _, p := range []string{"", "12a456", "12 456", strings.Repeat("1", MaxDigits+1), "١٢٣٤٥٦"} {
		if k.Type(p) == nil {
			t.Errorf("%q accepted", p)
		}
	}
	if k.Type(strings.Repeat("9", MaxDigits)) != nil || k.Pending() != 1 {
		t.Fatal("32 digits refused")
	}
}

func TestExec(t *testing.T) {
	var k Keypad
	for _, c := range []struct{ in, want string }{
		{"type 123456", "ok pinpad pending=1"},
		{" cancel ", "ok pinpad pending=2"},
		{"timeout", "ok pinpad pending=3"},
		{"status", "ok pinpad pending=3"},
		{"clear", "ok pinpad pending=0"},
		{"", "error: usage"},
		{"type", "error: usage"},
		{"type 1234 5678", "error: usage"},
		{"type 98x7", "error: pinpad: a typed PIN"},
		{"dance", "error: usage"},
	} {
		got := k.Exec(c.in)
		if !strings.HasPrefix(got, c.want) {
			t.Errorf("Exec(%q) = %q, want prefix %q", c.in, got, c.want)
		}
		// Answers never repeat what was typed.
		for _, secret := range []string{"123456", "98x7", "5678"} {
			if strings.Contains(got, secret) {
				t.Errorf("Exec(%q) answer %q leaks the PIN", c.in, got)
			}
		}
	}
}

func FuzzHandle(f *testing.F) {
	f.Add(append([]byte{MsgVerify}, h(pivVerifyHex)...))
	f.Add(modifyMsg(pivChange(3)))
	f.Add([]byte{MsgModify, 0, 0})
	f.Fuzz(func(t *testing.T, msg []byte) {
		var k Keypad
		k.Type("123456")
		k.Type("654321")
		k.Type("654321")
		resp, ok := k.Handle(msg, func(cmd []byte) []byte {
			if len(cmd) < 4 {
				t.Fatalf("short command % x", cmd)
			}
			return []byte{0x90, 0x00}
		})
		if ok && len(resp) < 2 {
			t.Fatalf("answer % x", resp)
		}
	})
}
