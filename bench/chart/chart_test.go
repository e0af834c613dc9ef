package main

import (
	"bytes"
	"image/png"
	"strings"
	"testing"
)

const sample = `{"v":1,"module":"a","lat":"off","run":1,"scenario":"S1","case":"cold","apdus":7,"bytes_in":60,"bytes_out":100,"wall_ms":7,"cpu_ms":4,"ops":1,"status":"ok"}
{"v":1,"module":"a","lat":"off","run":2,"scenario":"S1","case":"cold","apdus":9,"bytes_in":60,"bytes_out":100,"wall_ms":5,"cpu_ms":4,"ops":1,"status":"ok"}
{"v":1,"module":"a","lat":"off","run":3,"scenario":"S1","case":"cold","apdus":8,"bytes_in":60,"bytes_out":100,"wall_ms":6,"cpu_ms":4,"ops":1,"status":"ok"}

{"v":1,"module":"b","lat":"off","run":1,"scenario":"S1","case":"cold","apdus":35,"bytes_in":300,"bytes_out":2800,"wall_ms":27,"cpu_ms":17,"ops":1,"status":"ok"}
{"v":1,"module":"a","lat":"off","run":1,"scenario":"S3","case":"ec","apdus":20,"bytes_in":470,"bytes_out":770,"wall_ms":4,"cpu_ms":2,"ops":10,"status":"ok"}
{"v":1,"module":"b","lat":"off","run":1,"scenario":"S3","case":"ec","apdus":10,"bytes_in":470,"bytes_out":770,"wall_ms":4,"cpu_ms":2,"ops":10,"status":"ok"}
{"v":1,"module":"b","lat":"off","run":1,"scenario":"S5","case":"remove","apdus":0,"bytes_in":0,"bytes_out":0,"wall_ms":100,"cpu_ms":1,"ops":1,"error":"x","status":"unsupported"}
{"v":1,"module":"a","lat":"on","run":1,"scenario":"S4","case":"threads","apdus":40,"bytes_in":1,"bytes_out":1,"wall_ms":100,"cpu_ms":1,"ops":40,"status":"ok"}
{"v":1,"module":"a","lat":"on","run":1,"scenario":"S4","case":"cards","apdus":80,"bytes_in":1,"bytes_out":1,"wall_ms":125,"cpu_ms":1,"ops":80,"status":"ok"}
{"v":1,"module":"a","lat":"off","run":1,"scenario":"S7","case":"cold","apdus":20,"bytes_in":1,"bytes_out":1,"wall_ms":1,"cpu_ms":0,"ops":1,"status":"ok"}
{"v":1,"module":"opensc","lat":"off","run":1,"scenario":"S7","case":"cold","apdus":35,"bytes_in":1,"bytes_out":1,"wall_ms":1,"cpu_ms":0,"ops":1,"status":"ok"}
{"v":1,"module":"a","lat":"off","run":1,"scenario":"S7","case":"cold-retired","apdus":40,"bytes_in":1,"bytes_out":1,"wall_ms":1,"cpu_ms":0,"ops":1,"status":"ok"}
{"v":1,"module":"opensc","lat":"off","run":1,"scenario":"S7","case":"cold-retired","apdus":35,"bytes_in":1,"bytes_out":1,"wall_ms":1,"cpu_ms":0,"ops":1,"status":"ok"}
{"v":1,"module":"a","lat":"off","run":1,"scenario":"S7","case":"warm","apdus":12,"bytes_in":1,"bytes_out":1,"wall_ms":1,"cpu_ms":0,"ops":1,"status":"ok"}
{"v":1,"module":"a","lat":"off","run":1,"scenario":"S10","case":"poll","apdus":0,"bytes_in":0,"bytes_out":0,"wall_ms":900,"cpu_ms":1,"ops":10,"status":"ok"}
{"v":1,"module":"a","lat":"off","run":1,"scenario":"S9","case":"record","apdus":10,"bytes_in":0,"bytes_out":0,"wall_ms":9,"cpu_ms":1,"ops":10,"status":"ok"}
`

var mods = []module{{"a", "Mod A"}, {"b", "Mod B"}}

func load(t *testing.T) *results {
	t.Helper()
	res, err := readResults(strings.NewReader(sample))
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestMedian(t *testing.T) {
	if m := median([]float64{3, 1, 2}); m != 2 {
		t.Errorf("odd median %v", m)
	}
	if m := median([]float64{4, 1, 2, 3}); m != 2.5 {
		t.Errorf("even median %v", m)
	}
	res := load(t)
	c := res.median("a", "off", "S1", "cold", mAPDUs)
	if !c.ok || c.v != 8 || c.n != 3 {
		t.Errorf("S1 APDUs median %+v, want 8 over 3 runs", c)
	}
	if c := res.median("a", "off", "S3", "ec", mAPDUsPerOp); !c.ok || c.v != 2 {
		t.Errorf("per-signature APDUs %+v, want 2", c)
	}
	if c := res.median("b", "off", "S5", "remove", mAddedMS); c.ok || c.why != "unsupported" {
		t.Errorf("unsupported result %+v", c)
	}
	if c := res.median("b", "on", "S1", "cold", mWall); c.ok || c.why != "not run" {
		t.Errorf("missing result %+v", c)
	}
}

func TestReadResultsRejectsGarbage(t *testing.T) {
	for _, in := range []string{"not json\n", `{"v":1}` + "\n", `{"module":"a","scenario":"S1"` + "\n"} {
		if _, err := readResults(strings.NewReader(in)); err == nil {
			t.Errorf("%q accepted", in)
		}
	}
}

func TestTableRatios(t *testing.T) {
	res := load(t)
	var b strings.Builder
	renderTable(&b, res, mods, tables[0])
	out := b.String()
	if !strings.Contains(out, "| APDUs | 2 | **8** | 35 (×4.4) |") {
		t.Errorf("APDU row wrong:\n%s", out)
	}
	if !strings.Contains(out, "| wall ms, latency on |  | not run | not run |") {
		t.Errorf("missing data not shown:\n%s", out)
	}
}

func TestGoals(t *testing.T) {
	res := load(t)
	vs := checkGoals(res, "a", mods)
	find := func(prefix string) verdict {
		for _, v := range vs {
			if strings.HasPrefix(v.goal, prefix) {
				return v
			}
		}
		t.Fatalf("no goal %q", prefix)
		return verdict{}
	}
	for _, v := range vs {
		if strings.HasPrefix(v.goal, "S1 ") {
			t.Errorf("S1 has no goal (it pays for the label and SO flags): %+v", v)
		}
	}
	if v := find("S7 cold ≤ 0.6× OpenSC, demo card"); v.result != "met" || v.measured != "20 vs 35 (0.57×)" {
		t.Errorf("S7 cold goal %+v", v)
	}
	if v := find("S7 cold ≤ 0.6× OpenSC, + retired 82-84, no"); v.result != "**not met**" {
		t.Errorf("S7 cold retired goal should fail (40 vs 35): %+v", v)
	}
	if v := find("S7 cold ≤ 0.6× OpenSC, + retired 82-84 and"); v.result != "not measured" {
		t.Errorf("S7 cold goal without data %+v", v)
	}
	if v := find("S7 warm"); v.result != "**not met**" || v.measured != "12" {
		t.Errorf("S7 warm goal %+v", v)
	}
	if v := find("S10"); v.result != "met" || v.measured != "0" {
		t.Errorf("S10 goal %+v", v)
	}
	if v := find("S9 APDUs per application record"); v.result != "**not met**" || v.measured != "1" {
		t.Errorf("S9 record goal %+v", v)
	}
	if v := find("S3 ECDSA/sig APDUs"); v.result != "**not met**" {
		t.Errorf("S3 goal should fail (2 vs 1): %+v", v)
	}
	if v := find("S4 two cards"); v.result != "**not met**" || v.measured != "1.60×" {
		t.Errorf("S4 scaling %+v", v)
	}
	if v := find("S2 APDUs"); v.result != "not measured" {
		t.Errorf("S2 without data %+v", v)
	}
}

func TestSplice(t *testing.T) {
	doc := "# Perf\n\nintro\n" + beginMark + "\nold\n" + endMark + "\ntail\n"
	out, err := splice(doc, "new\n")
	if err != nil {
		t.Fatal(err)
	}
	if out != "# Perf\n\nintro\n"+beginMark+"\nnew\n"+endMark+"\ntail\n" {
		t.Errorf("splice:\n%s", out)
	}
	out, err = splice("# Perf", "new\n")
	if err != nil || !strings.HasSuffix(out, beginMark+"\nnew\n"+endMark+"\n") || !strings.HasPrefix(out, "# Perf\n") {
		t.Errorf("append: %q %v", out, err)
	}
	if _, err := splice(endMark+beginMark, "x"); err == nil {
		t.Error("markers out of order accepted")
	}
}

func TestPNG(t *testing.T) {
	var buf bytes.Buffer
	if err := renderPNG(&buf, load(t), mods, "TEST"); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != chartW || b.Dy() != top+len(panels)*panelH+20 {
		t.Errorf("size %v", b)
	}
	// A bar of module A (blue) must have been drawn somewhere.
	found := false
	for y := 0; y < img.Bounds().Dy() && !found; y++ {
		for x := 0; x < chartW; x++ {
			r, g, b, _ := img.At(x, y).RGBA()
			if r>>8 == 0x1f && g>>8 == 0x77 && b>>8 == 0xb4 {
				found = true
				break
			}
		}
	}
	if !found {
		t.Error("no bar drawn")
	}
}

func TestGlyphs(t *testing.T) {
	for r, g := range glyphs {
		for _, row := range g {
			if len(row) != 5 || strings.Trim(row, "01") != "" {
				t.Errorf("glyph %q row %q", r, row)
			}
		}
	}
}

func TestDescribe(t *testing.T) {
	cases := []struct{ line, want string }{
		{"00 A4 04 00 0ba00000030800001000010000", "SELECT"},
		{"00 CB 3F FF 0000055c035fc1050000", "GET DATA 5FC105"},
		{"00 CB 3F FF 035c017e00", "GET DATA 7E"},
		{"10 87 07 9A FF [255 bytes redacted]", "GENERAL AUTH 9A chained"},
		{"00 20 00 80 08 [8 bytes redacted]", "VERIFY PIN"},
		{"00 20 00 80 Le=00", "VERIFY status"},
		{"00 20 FF 80", "VERIFY logout"},
		{"00 F7 00 9B 000000", "GET METADATA 9B"},
		{"00 F9 9A 00 Le=00", "ATTEST 9A"},
		{"00 C0 00 00 Le=08", "GET RESPONSE"},
		{"00 42 00 00", "INS 42"},
		// the card's trace since the one redactor: the command as one hex string
		{"00a404000ba00000030800001000010000", "SELECT"},
		{"00cb3fff0000055c035fc1050000", "GET DATA 5FC105"},
		{"00200080 08 [8 bytes redacted]", "VERIFY PIN"},
		{"0020008000", "VERIFY status"},
		{"00f7009a000000", "GET METADATA 9A"},
		{"1087079aff7c820106820081820100", "GENERAL AUTH 9A chained"},
		{"0087079a 0b [11 bytes redacted] le=00", "GENERAL AUTH 9A"},
		{"00c0000000", "GET RESPONSE"},
		{"garbage", "?"},
	}
	for _, c := range cases {
		n, p := describe(c.line)
		if got := (cmd{n, p}).String(); got != c.want {
			t.Errorf("%q: %q, want %q", c.line, got, c.want)
		}
	}
}

func TestSummarize(t *testing.T) {
	var cmds []cmd
	cmds = append(cmds, cmd{"SELECT", ""})
	for i := 0; i < 5; i++ {
		cmds = append(cmds, cmd{"ATTEST", "8" + string(rune('0'+i))}, cmd{"GET METADATA", "x"})
	}
	cmds = append(cmds, cmd{"GET DATA", "7E"}, cmd{"GET DATA", "5FC105"}, cmd{"VERIFY", "PIN"})
	got := summarize(cmds)
	want := "SELECT → (ATTEST · GET METADATA) ×5 → GET DATA 7E → GET DATA 5FC105 → VERIFY PIN"
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if s := summarize(nil); s != "" {
		t.Errorf("empty: %q", s)
	}
}
