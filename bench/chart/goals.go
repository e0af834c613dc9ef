package main

import (
	"fmt"
	"strings"
)

// The goals of issue 10, checked against the measurements. A goal without data (the
// module did not build, a scenario failed) is "not measured", never a pass.

type verdict struct{ goal, measured, result string }

func pass(ok bool) string {
	if ok {
		return "met"
	}
	return "**not met**"
}

// apduScenarios are the rows compared for "no more APDUs than the better of the others".
var apduScenarios = []struct {
	name, sc, cs string
	m            metric
	strict       bool
}{
	{"S1", "S1", "cold", mAPDUs, true},
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

func renderGoals(b *strings.Builder, vs []verdict, self string) {
	fmt.Fprintf(b, "### Goals of issue 10 for %s\n\n| goal | measured | |\n|---|---:|---|\n", self)
	for _, v := range vs {
		fmt.Fprintf(b, "| %s | %s | %s |\n", v.goal, v.measured, v.result)
	}
	b.WriteString("\n")
}
