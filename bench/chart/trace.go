package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// APDU traces: run.sh runs S1, S2 and one S3 signature of every module once more
// against a card started with --trace and keeps the command lines of the measured
// interval in trace-LABEL-CASE.txt, e.g.
//
//	00 A4 04 00 0ba00000030800001000010000
//	00 CB 3F FF 0000055c035fc1050000
//	10 87 07 9A FF [255 bytes redacted]
//
// (the card redacts PINs and key material). This turns them into a short sequence of
// command names, so that the document says what each module spends its APDUs on.

var tagRE = regexp.MustCompile(`5c0([1-3])([0-9a-f]+)`)

// describe names one command line: the command and its parameter (slot, tag...).
func describe(line string) (name, param string) {
	f := strings.Fields(line)
	// The card's trace since the one redactor (7fdaf5b) writes the command as one hex
	// string ("00a40400 0b..." or "00200080 08 [8 bytes redacted]"): split its header
	// into CLA INS P1 P2 and keep the rest.
	if len(f) > 0 && len(f[0]) >= 8 && isHex(f[0]) {
		h := f[0]
		rest := f[1:]
		if len(h) > 8 {
			rest = append([]string{h[8:]}, rest...)
		}
		f = append([]string{h[0:2], h[2:4], h[4:6], h[6:8]}, rest...)
	}
	if len(f) < 4 {
		return "?", ""
	}
	cla, ins, p1, p2 := f[0], strings.ToUpper(f[1]), strings.ToUpper(f[2]), strings.ToUpper(f[3])
	rest := strings.ToLower(strings.Join(f[4:], " "))
	switch ins {
	case "A4":
		return "SELECT", ""
	case "CB":
		if m := tagRE.FindStringSubmatch(rest); m != nil {
			n := int(m[1][0]-'0') * 2
			if len(m[2]) >= n {
				return "GET DATA", strings.ToUpper(m[2][:n])
			}
		}
		return "GET DATA", ""
	case "CA":
		return "GET DATA (ISO)", p1 + p2
	case "C0":
		return "GET RESPONSE", ""
	case "20":
		switch {
		case p1 == "FF":
			return "VERIFY", "logout"
		case strings.Contains(rest, "redacted"):
			return "VERIFY", "PIN"
		}
		return "VERIFY", "status"
	case "87":
		if cla == "10" {
			return "GENERAL AUTH", p2 + " chained"
		}
		return "GENERAL AUTH", p2
	case "FD":
		return "GET VERSION", ""
	case "F8":
		return "GET SERIAL", ""
	case "F7":
		return "GET METADATA", p2
	case "F9":
		return "ATTEST", p1
	}
	return "INS " + ins, ""
}

func isHex(s string) bool {
	for _, c := range s {
		if !strings.ContainsRune("0123456789abcdefABCDEF", c) {
			return false
		}
	}
	return true
}

type cmd struct{ name, param string }

func (c cmd) String() string {
	if c.param == "" {
		return c.name
	}
	return c.name + " " + c.param
}

// summarize writes the commands in order, folding a run of one command, or of a
// short repeating group of commands, repeated three times or more into "(...) ×N".
func summarize(cmds []cmd) string {
	var parts []string
	for i := 0; i < len(cmds); {
		bestK, bestR := 0, 0
		for k := 1; k <= 4 && i+k <= len(cmds); k++ {
			r := 1
			for i+(r+1)*k <= len(cmds) && sameNames(cmds[i:i+k], cmds[i+r*k:i+(r+1)*k]) {
				r++
			}
			if r >= 3 && r*k > bestR*bestK {
				bestK, bestR = k, r
			}
		}
		if bestK == 0 {
			parts = append(parts, cmds[i].String())
			i++
			continue
		}
		names := make([]string, bestK)
		for j := range names {
			names[j] = cmds[i+j].name
		}
		g := strings.Join(names, " · ")
		if bestK > 1 {
			g = "(" + g + ")"
		}
		parts = append(parts, fmt.Sprintf("%s ×%d", g, bestR))
		i += bestK * bestR
	}
	return strings.Join(parts, " → ")
}

func sameNames(a, b []cmd) bool {
	for i := range a {
		if a[i].name != b[i].name {
			return false
		}
	}
	return true
}

func readTrace(r io.Reader) []cmd {
	var out []cmd
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			n, p := describe(l)
			out = append(out, cmd{n, p})
		}
	}
	return out
}

var traceCases = []struct{ file, title string }{
	{"S1", "S1 cold start"},
	{"S2", "S2 first signature"},
	{"S3-ec", "S3 one ECDSA signature"},
	{"S3-rsa", "S3 one RSA signature"},
	{"S7", "S7 ssh-keygen -D, demo card, cold"},
	{"S7-retiredkh", "S7 ssh-keygen -D, retired certificates and Key History, cold"},
}

// renderTraces writes the traced sequences found in dir (nothing if there are none).
func renderTraces(b *strings.Builder, dir string, mods []module) {
	var sb strings.Builder
	for _, tc := range traceCases {
		first := true
		for _, m := range mods {
			f, err := os.Open(filepath.Join(dir, "trace-"+m.label+"-"+tc.file+".txt"))
			if err != nil {
				continue
			}
			cmds := readTrace(f)
			f.Close()
			if first {
				fmt.Fprintf(&sb, "**%s**\n\n", tc.title)
				first = false
			}
			fmt.Fprintf(&sb, "- %s (%d): %s\n", m.name, len(cmds), summarize(cmds))
		}
		if !first {
			sb.WriteString("\n")
		}
	}
	if sb.Len() == 0 {
		return
	}
	b.WriteString("### What the APDUs are (one traced run, latency off)\n\n")
	b.WriteString("Commands as the card logged them, in order; “×N” folds repeats. GET DATA shows the object tag, GET METADATA/ATTEST/GENERAL AUTH the key slot.\n\n")
	b.WriteString(sb.String())
}
