package main

import (
	"fmt"
	"strings"
)

// The goals of issues 10 and 17, checked against the measurements. A goal without data (the
// module did not build, a scenario failed) is "not measured", never a pass.

type verdict struct{ goal, measured, result string }

func pass(ok bool) string {
	if ok {
		return "met"
	}
	return "**not met**"
}

// apduScenarios are the rows compared for "no more APDUs than the better of the others".
// S1 has no such goal: pcsc11 reports the label C_InitToken wrote
// and the SO flags, which ykcs11 does not, and that costs three APDUs.
var apduScenarios = []struct {
	name, sc, cs string
	m            metric
	strict       bool
}{
	{"S2", "S2", "rsa", mAPDUs, true},
	{"S3 ECDSA/sig", "S3", "ec", mAPDUsPerOp, false},
	{"S3 RSA/sig", "S3", "rsa", mAPDUsPerOp, false},
	{"S4/sig", "S4", "threads", mAPDUsPerOp, false},
	{"S5 insertion", "S5", "insert", mAPDUs, false},
}

func checkGoals(res *results, self string, mods []module) []verdict {
	var out []verdict
	for _, s := range apduScenarios {
		own := res.median(self, "off", s.sc, s.cs, s.m)
		best, have := 0.0, false
		for _, m := range mods {
			if m.label == self {
				continue
			}
			if c := res.median(m.label, "off", s.sc, s.cs, s.m); c.ok && (!have || c.v < best) {
				best, have = c.v, true
			}
		}
		rel := "≤"
		if s.strict {
			rel = "<"
		}
		g := fmt.Sprintf("%s APDUs %s the better of the others", s.name, rel)
		if !own.ok || !have {
			out = append(out, verdict{g, "", "not measured"})
			continue
		}
		ok := own.v <= best
		if s.strict {
			ok = own.v < best
		}
		out = append(out, verdict{g, fmt.Sprintf("%s vs %s", fmtNum(own.v), fmtNum(best)), pass(ok)})
	}
	for _, cs := range []string{"ec", "rsa"} {
		g := fmt.Sprintf("S3 %s within one APDU of the floor (1)", strings.ToUpper(cs))
		c := res.median(self, "off", "S3", cs, mAPDUsPerOp)
		if !c.ok {
			out = append(out, verdict{g, "", "not measured"})
			continue
		}
		out = append(out, verdict{g, fmtNum(c.v), pass(c.v <= 2)})
	}
	if c := s4Scaling("on")(res, self); c.ok {
		out = append(out, verdict{"S4 two cards ≥ 1.8× one card (latency on)", fmt.Sprintf("%.2f×", c.v), pass(c.v >= 1.8)})
	} else {
		out = append(out, verdict{"S4 two cards ≥ 1.8× one card (latency on)", "", "not measured"})
	}
	for _, cs := range []string{"remove", "insert"} {
		g := fmt.Sprintf("S5 %s: adds < 10 ms to SCardGetStatusChange", cs)
		c := res.median(self, "off", "S5", cs, mAddedMS)
		if !c.ok {
			out = append(out, verdict{g, c.why, "not measured"})
			continue
		}
		out = append(out, verdict{g, fmtNum(c.v) + " ms", pass(c.v < 10)})
	}
	out = append(out, economyGoals(res, self)...)
	for _, cs := range []string{"ec", "rsa"} {
		g := fmt.Sprintf("S3 %s: module CPU < 5%% of wall (latency on)", strings.ToUpper(cs))
		c := res.median(self, "on", "S3", cs, mCPUPct)
		if !c.ok {
			out = append(out, verdict{g, "", "not measured"})
			continue
		}
		out = append(out, verdict{g, fmt.Sprintf("%.1f%%", c.v), pass(c.v < 5)})
	}
	return out
}

// economyGoals: listing everything (S7, S8) cold at most 0.6× OpenSC's
// APDUs on every card and warm at most 10 on the demo card; a second TLS handshake
// costs only its signature and a record nothing (S9); an idle logged-in host costs
// nothing (S10).
func economyGoals(res *results, self string) []verdict {
	var out []verdict
	add := func(g string, c cell, measured string, ok bool) {
		if !c.ok {
			out = append(out, verdict{g, c.why, "not measured"})
			return
		}
		out = append(out, verdict{g, measured, pass(ok)})
	}
	for _, sc := range []string{"S7", "S8"} {
		for _, card := range economyCards {
			g := fmt.Sprintf("%s cold ≤ 0.6× OpenSC, %s", sc, card.name)
			own := res.median(self, "off", sc, "cold"+card.suffix, mAPDUs)
			ref := res.median("opensc", "off", sc, "cold"+card.suffix, mAPDUs)
			if !ref.ok {
				own = ref
			}
			add(g, own, fmt.Sprintf("%s vs %s (%.2f×)", fmtNum(own.v), fmtNum(ref.v), own.v/max(ref.v, 1)), own.v <= 0.6*ref.v)
		}
		c := res.median(self, "off", sc, "warm", mAPDUs)
		add(sc+" warm ≤ 10 APDUs, demo card", c, fmtNum(c.v), c.v <= 10)
	}
	hs2 := res.median(self, "off", "S9", "hs2", mAPDUs)
	sig := res.median(self, "off", "S3", "rsa", mAPDUsPerOp)
	if !sig.ok {
		hs2 = sig
	}
	add("S9 second handshake = the signature's APDUs (S3)", hs2, fmt.Sprintf("%s vs %s", fmtNum(hs2.v), fmtNum(sig.v)), hs2.v <= sig.v)
	rec := res.median(self, "off", "S9", "record", mAPDUsPerOp)
	add("S9 APDUs per application record = 0", rec, fmtNum(rec.v), rec.v == 0)
	idle := res.median(self, "off", "S10", "poll", mAPDUsPerOp)
	add("S10 APDUs per minute idle, logged in = 0", idle, fmtNum(idle.v*60), idle.v == 0)
	return out
}

func renderGoals(b *strings.Builder, vs []verdict, self string) {
	fmt.Fprintf(b, "### Goals of issues 10 and 17 for %s\n\n| goal | measured | |\n|---|---:|---|\n", self)
	for _, v := range vs {
		fmt.Fprintf(b, "| %s | %s | %s |\n", v.goal, v.measured, v.result)
	}
	b.WriteString("\n")
}
