package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/pcsc11/pcsc11/config"
)

// The Debian package's pcsc11(1) and /etc/pcsc11/pcsc11.conf are generated from the
// program's own help and key table (`pcsc11 help --man`, `pcsc11 help --conf`), so
// that they cannot drift from what the program does.

// writeManPage writes pcsc11(1) in man(7) roff.
func (a *app) writeManPage(w io.Writer) {
	date := time.Now().UTC().Format("2006-01-02")
	fmt.Fprintf(w, ".TH PCSC11 1 %s \"pcsc11 %s\" \"User Commands\"\n", date, roffEscape(a.version))
	fmt.Fprintln(w, ".SH NAME\npcsc11 \\- PC/SC readers and smart-card tokens as pcsc11's PKCS#11 module sees them")
	fmt.Fprintln(w, ".SH SYNOPSIS\n.B pcsc11\n[\\fB\\-\\-json\\fR] \\fIcommand\\fR [\\fIflags\\fR]")
	fmt.Fprintln(w, ".SH DESCRIPTION")
	fmt.Fprintln(w, "pcsc11 shows PC/SC readers, slots, tokens and objects the way libpcsc11.so, pcsc11's PKCS#11 module, sees them; personalizes PIV cards; registers the module in the NSS databases of Firefox, Thunderbird and Chromium; and checks a setup with \\fBdoctor\\fR.")
	fmt.Fprintln(w, ".SH COMMANDS")
	for _, c := range commands {
		fmt.Fprintf(w, ".SS %s\n%s\n.PP\n.B pcsc11 %s\n.PP\n.nf\n", c.name, roffEscape(c.summary), roffEscape(c.usage))
		for _, l := range strings.Split(strings.TrimRight(c.help, "\n"), "\n") {
			fmt.Fprintln(w, roffLine(l))
		}
		fmt.Fprintln(w, ".fi")
	}
	fmt.Fprintln(w, ".SH EXIT STATUS\n0 ok, 1 error, 2 usage error, 3 pcscd unreachable or no reader.")
	fmt.Fprintln(w, ".SH FILES\n.TP\n.I /etc/pcsc11/pcsc11.conf\nthe machine's configuration\n.TP\n.I $XDG_CONFIG_HOME/pcsc11/pcsc11.conf\nthe user's configuration (~/.config/pcsc11/pcsc11.conf); it overrides the machine's, the environment overrides both")
	fmt.Fprintln(w, ".SH ENVIRONMENT")
	for _, k := range config.Keys {
		fmt.Fprintf(w, ".TP\n.B %s\n(key \\fB%s\\fR, default %s) %s\n", k.Env, k.Name, roffEscape(k.Default), roffEscape(k.Meaning))
	}
	fmt.Fprintln(w, ".SH SEE ALSO\n.BR pkcs11-tool (1),\n.BR p11-kit (8),\n.BR modutil (1),\n.BR pcscd (8);\n/usr/share/doc/pcsc11/")
}

// writeConfTemplate writes a configuration file with every key commented out at its
// default: the package's /etc/pcsc11/pcsc11.conf.
func writeConfTemplate(w io.Writer) {
	fmt.Fprintln(w, "# pcsc11 configuration (docs/configuration.md, pcsc11(1)).")
	fmt.Fprintln(w, "# The user's ~/.config/pcsc11/pcsc11.conf overrides this file key by key, and the")
	fmt.Fprintln(w, "# PCSC11_* environment variables override both. One \"name = value\" per line.")
	fmt.Fprintln(w, "# A file with an error is ignored as a whole (pcsc11 doctor names the line).")
	for _, k := range config.Keys {
		fmt.Fprintf(w, "\n# %s\n%s\n", k.Meaning, strings.TrimSpace("# "+k.Name+" = "+confDefault(k.Default)))
	}
}

// confDefault is a default as it would be written in the file ("" for the
// descriptions of a default that is no value).
func confDefault(d string) string {
	if strings.HasPrefix(d, "(") || strings.HasPrefix(d, "$") {
		return ""
	}
	return d
}

func roffEscape(s string) string {
	return strings.ReplaceAll(s, `\`, `\e`)
}

// roffLine escapes one line of preformatted text: a leading . or ' would be a request.
func roffLine(l string) string {
	l = roffEscape(l)
	if strings.HasPrefix(l, ".") || strings.HasPrefix(l, "'") {
		l = `\&` + l
	}
	return l
}
