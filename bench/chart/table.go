package main

import (
	"fmt"
	"math"
	"sort"
	"strings"
)

// module is one column: the label p11bench was run with and the name shown.
type module struct{ label, name string }

// row is one line of a scenario table.
type row struct {
	label string
	get   func(res *results, module string) cell
	lower bool   // lower is better (false: higher is better)
	ratio bool   // show ratios to the best
	floor string // the protocol floor, for APDU rows
	yesno bool   // 1/0 shown as yes/no
}

func med(lat, sc, cs string, m metric) func(*results, string) cell {
	return func(res *results, mod string) cell { return res.median(mod, lat, sc, cs, m) }
}

// s4Scaling is two-card throughput over one-card (4 threads) throughput.
func s4Scaling(lat string) func(*results, string) cell {
	return func(res *results, mod string) cell {
		two := res.median(mod, lat, "S4", "cards", mThroughput)
		one := res.median(mod, lat, "S4", "threads", mThroughput)
		if !two.ok || !one.ok || one.v == 0 {
			if !two.ok {
				return cell{why: two.why}
			}
			return cell{why: one.why}
		}
		return cell{v: two.v / one.v, ok: true}
	}
}

type table struct {
	title, note string
	rows        []row
}

// tables is the layout of docs/performance.md's generated part. Floors are argued in
// the hand-written part of that document ("Physical floor").
var tables = []table{
	{"S1 — cold start: C_Initialize → C_GetSlotList → C_GetTokenInfo", "", []row{
		{"APDUs", med("off", "S1", "cold", mAPDUs), true, true, "2", false},
		{"bytes on the wire (both ways)", med("off", "S1", "cold", mBytes), true, true, "", false},
		{"APDUs until C_Finalize + 200 ms", med("off", "S1", "cold", mAPDUsTotal), true, true, "", false},
		{"wall ms, latency off", med("off", "S1", "cold", mWall), true, true, "", false},
		{"wall ms, latency on", med("on", "S1", "cold", mWall), true, true, "", false},
		{"CPU ms, latency off", med("off", "S1", "cold", mCPU), true, true, "", false},
	}},
	{"S2 — cold start to first signature (find certificate and key by CKA_ID, read the certificate, login, RSA-2048 sign with 9A)", "", []row{
		{"APDUs", med("off", "S2", "rsa", mAPDUs), true, true, "5", false},
		{"bytes on the wire (both ways)", med("off", "S2", "rsa", mBytes), true, true, "", false},
		{"wall ms, latency off", med("off", "S2", "rsa", mWall), true, true, "", false},
		{"wall ms, latency on", med("on", "S2", "rsa", mWall), true, true, "", false},
		{"CPU ms, latency off", med("off", "S2", "rsa", mCPU), true, true, "", false},
	}},
	{"S3 — steady-state signature, per signature (one logged-in session)", "", []row{
		{"ECDSA P-256 (9E): APDUs", med("off", "S3", "ec", mAPDUsPerOp), true, true, "1", false},
		{"ECDSA P-256: bytes", med("off", "S3", "ec", mBytesPerOp), true, true, "", false},
		{"ECDSA P-256: wall ms, latency off", med("off", "S3", "ec", mWallPerOp), true, true, "", false},
		{"ECDSA P-256: wall ms, latency on", med("on", "S3", "ec", mWallPerOp), true, true, "", false},
		{"ECDSA P-256: CPU ms, latency on", med("on", "S3", "ec", mCPUPerOp), true, true, "", false},
		{"ECDSA P-256: CPU % of wall, latency on", med("on", "S3", "ec", mCPUPct), true, true, "", false},
		{"RSA-2048 (9A): APDUs", med("off", "S3", "rsa", mAPDUsPerOp), true, true, "1", false},
		{"RSA-2048: bytes", med("off", "S3", "rsa", mBytesPerOp), true, true, "", false},
		{"RSA-2048: wall ms, latency off", med("off", "S3", "rsa", mWallPerOp), true, true, "", false},
		{"RSA-2048: wall ms, latency on", med("on", "S3", "rsa", mWallPerOp), true, true, "", false},
		{"RSA-2048: CPU ms, latency on", med("on", "S3", "rsa", mCPUPerOp), true, true, "", false},
		{"RSA-2048: CPU % of wall, latency on", med("on", "S3", "rsa", mCPUPct), true, true, "", false},
	}},
	{"S4 — parallel ECDSA P-256 signatures (each thread its own session)", "", []row{
		{"APDUs per signature, 4 threads", med("off", "S4", "threads", mAPDUsPerOp), true, true, "1", false},
		{"signatures/s, 1 thread, latency off", med("off", "S4", "single", mThroughput), false, true, "", false},
		{"signatures/s, 4 threads, latency off", med("off", "S4", "threads", mThroughput), false, true, "", false},
		{"signatures/s, 2 cards × 4 threads, latency off", med("off", "S4", "cards", mThroughput), false, true, "", false},
		{"signatures/s, 1 thread, latency on", med("on", "S4", "single", mThroughput), false, true, "", false},
		{"signatures/s, 4 threads, latency on", med("on", "S4", "threads", mThroughput), false, true, "", false},
		{"signatures/s, 2 cards × 4 threads, latency on", med("on", "S4", "cards", mThroughput), false, true, "", false},
		{"2 cards ÷ 1 card throughput, latency on", s4Scaling("on"), false, false, "", false},
		{"2 cards ÷ 1 card throughput, latency off", s4Scaling("off"), false, false, "", false},
	}},
	{"S5 — slot event latency (ms after the card was removed/inserted; vpcd is polled by pcscd)", "", []row{
		{"removal: C_WaitForSlotEvent returns", med("off", "S5", "remove", mModuleMS), true, false, "", false},
		{"removal: SCardGetStatusChange returns", med("off", "S5", "remove", mPCSCMS), true, false, "", false},
		{"removal: module adds", med("off", "S5", "remove", mAddedMS), true, false, "", false},
		{"insertion: C_WaitForSlotEvent returns", med("off", "S5", "insert", mModuleMS), true, false, "", false},
		{"insertion: SCardGetStatusChange returns", med("off", "S5", "insert", mPCSCMS), true, false, "", false},
		{"insertion: module adds", med("off", "S5", "insert", mAddedMS), true, false, "", false},
		{"insertion: module adds, latency on", med("on", "S5", "insert", mAddedMS), true, false, "", false},
		{"APDUs sent on insertion", med("off", "S5", "insert", mAPDUs), true, true, "0", false},
		{"C_Finalize wakes a blocked C_WaitForSlotEvent", med("off", "S5", "finalize", mWakes), false, false, "", true},
	}},
	{"S6 — memory added to the process by loading and initialising the module", "", []row{
		{"resident KiB after load + C_Initialize + slot list + token info", med("off", "S6", "rss", mRSS), true, true, "", false},
	}},
	{"S7 — list every key and certificate: `ssh-keygen -D MODULE`, one process", economyNote, economyRows("S7")},
	{"S8 — NSS start: `certutil -L -h all` on a database with the module registered, one process", economyNote, economyRows("S8")},
	{"S9 — TLS client authentication as NSS calls the module (RSA-2048 key 9A, logged in)", "", []row{
		{"first handshake: APDUs", med("off", "S9", "hs1", mAPDUs), true, true, "", false},
		{"second full handshake, same process: APDUs", med("off", "S9", "hs2", mAPDUs), true, true, "1", false},
		{"per application record: APDUs", med("off", "S9", "record", mAPDUsPerOp), true, true, "0", false},
		{"one RSA-2048 signature (S3, for comparison): APDUs", med("off", "S3", "rsa", mAPDUsPerOp), true, true, "1", false},
	}},
	{"S10 — idle while logged in: C_GetSlotInfo, C_GetSessionInfo, C_GetTokenInfo polled as NSS does", "The bench polls once a second for 10 seconds instead of a minute (after one poll outside the interval) and scales: APDUs per minute = APDUs per poll × 60.", []row{
		{"APDUs per poll", med("off", "S10", "poll", mAPDUsPerOp), true, true, "0", false},
		{"APDUs per minute at one poll a second", func(res *results, mod string) cell {
			c := res.median(mod, "off", "S10", "poll", mAPDUsPerOp)
			c.v *= 60
			return c
		}, true, true, "0", false},
	}},
}

// The cards of S7 and S8: the demo card (4 keys), and the same with certificates in
// retired slots 82-84, without and with a Key History Object.
var economyCards = []struct{ suffix, name string }{
	{"", "demo card"},
	{"-retired", "+ retired 82-84, no Key History"},
	{"-retiredkh", "+ retired 82-84 and Key History"},
}

const economyNote = "cold: a fresh process, every disk cache off (pcsc11 `PCSC11_CACHE=0`, OpenSC as Debian ships it); " +
	"warm: a fresh process after another one filled the disk caches (pcsc11's default cache, OpenSC with `use_file_caching = yes`; ykcs11 has none). " +
	"APDUs of the whole process, counted by the card."

// profileTable is S7 to S10 on the other card profiles of the virtual card, found in
// the results (case "cold-PROFILE"): the demo keys and certificates on each.
func profileTable(res *results) (table, bool) {
	known := map[string]bool{}
	for _, c := range economyCards {
		known[c.suffix] = true
	}
	var profs []string
	seen := map[string]bool{}
	for k := range res.by {
		p := strings.TrimPrefix(k.cas, "cold-")
		if k.scenario == "S7" && p != k.cas && !known["-"+p] && !seen[p] {
			seen[p] = true
			profs = append(profs, p)
		}
	}
	if len(profs) == 0 {
		return table{}, false
	}
	sort.Strings(profs)
	t := table{title: "S7 to S10 on the other card profiles (`pcsc11-vpiv --profile`, demo keys and certificates)",
		note: economyNote + " “error”: the client found nothing through that module (in the run above: ykcs11 2.2 on the standard PIV card, where ssh-keygen exits 255 and certutil lists no certificate)."}
	for _, p := range profs {
		for _, sc := range []string{"S7", "S8"} {
			for _, mode := range []string{"cold", "warm"} {
				t.rows = append(t.rows, row{fmt.Sprintf("%s: %s %s, APDUs", p, sc, mode), med("off", sc, mode+"-"+p, mAPDUs), true, true, "", false})
			}
		}
		t.rows = append(t.rows,
			row{p + ": S9 second handshake, APDUs (an RSA-2048 signature: 1 with extended APDUs, 3 with short)", med("off", "S9", "hs2-"+p, mAPDUs), true, true, "", false},
			row{p + ": S9 per record, APDUs", med("off", "S9", "record-"+p, mAPDUsPerOp), true, true, "0", false},
			row{p + ": S10 APDUs per minute (5 polls a second apart, × 12)", func(res *results, mod string) cell {
				c := res.median(mod, "off", "S10", "poll-"+p, mAPDUsPerOp)
				c.v *= 60
				return c
			}, true, true, "0", false})
	}
	return t, true
}

func economyRows(sc string) []row {
	var rows []row
	for _, c := range economyCards {
		for _, mode := range []string{"cold", "warm"} {
			rows = append(rows, row{fmt.Sprintf("%s, %s: APDUs", c.name, mode), med("off", sc, mode+c.suffix, mAPDUs), true, true, "", false})
		}
	}
	rows = append(rows, row{"demo card, cold: wall ms (latency off)", med("off", sc, "cold", mWall), true, true, "", false})
	return rows
}

func fmtNum(v float64) string {
	a := math.Abs(v)
	switch {
	case v == math.Trunc(v) && a < 1e9:
		return fmt.Sprintf("%d", int64(v))
	case a >= 100:
		return fmt.Sprintf("%.0f", v)
	case a >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

// renderTable writes one scenario table: a column per module, ratios to the best.
func renderTable(b *strings.Builder, res *results, mods []module, t table) {
	fmt.Fprintf(b, "### %s\n\n", t.title)
	b.WriteString("| | floor |")
	for _, m := range mods {
		fmt.Fprintf(b, " %s |", m.name)
	}
	b.WriteString("\n|---|---:|")
	for range mods {
		b.WriteString("---:|")
	}
	b.WriteString("\n")
	for _, r := range t.rows {
		cells := make([]cell, len(mods))
		best, have := 0.0, false
		for i, m := range mods {
			cells[i] = r.get(res, m.label)
			if c := cells[i]; c.ok && (!have || (r.lower && c.v < best) || (!r.lower && c.v > best)) {
				best, have = c.v, true
			}
		}
		fmt.Fprintf(b, "| %s | %s |", r.label, r.floor)
		for _, c := range cells {
			b.WriteString(" " + cellText(c, best, r) + " |")
		}
		b.WriteString("\n")
	}
	b.WriteString("\n")
	if t.note != "" {
		b.WriteString(t.note + "\n\n")
	}
}

func cellText(c cell, best float64, r row) string {
	if !c.ok {
		return c.why
	}
	if r.yesno {
		if c.v >= 0.5 {
			return "yes"
		}
		return "**no**"
	}
	s := fmtNum(c.v)
	if !r.ratio {
		return s
	}
	if c.v == best {
		return "**" + s + "**"
	}
	var q float64
	switch {
	case r.lower && best > 0:
		q = c.v / best
	case !r.lower && c.v > 0:
		q = best / c.v
	default:
		return s
	}
	switch {
	case q < 2:
		return fmt.Sprintf("%s (×%.2f)", s, q)
	case q < 10:
		return fmt.Sprintf("%s (×%.1f)", s, q)
	}
	return fmt.Sprintf("%s (×%.0f)", s, q)
}
