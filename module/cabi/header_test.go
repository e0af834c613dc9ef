package cabi

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The C header's constants are generated from ck/ck.go; a stale header would hand
// applications wrong codes.
func TestHeaderMatchesCK(t *testing.T) {
	goSrc, err := os.ReadFile("../../ck/ck.go")
	if err != nil {
		t.Fatal(err)
	}
	hdr, err := os.ReadFile("../include/pcsc11_pkcs11.h")
	if err != nil {
		t.Fatal(err)
	}
	goRe := regexp.MustCompile(`(?m)^\s*(CK[A-Z]_[A-Z0-9_]+)\s+ULong\s*=\s*(0x[0-9A-Fa-f]+|\d+)\s*$`)
	want := map[string]string{}
	for _, m := range goRe.FindAllStringSubmatch(string(goSrc), -1) {
		want[m[1]] = strings.ToLower(m[2])
	}
	if len(want) < 100 {
		t.Fatalf("only %d constants parsed from ck.go", len(want))
	}
	hRe := regexp.MustCompile(`(?m)^#define (CK[A-Z]_[A-Z0-9_]+) (0x[0-9A-Fa-f]+|\d+)UL$`)
	got := map[string]string{}
	for _, m := range hRe.FindAllStringSubmatch(string(hdr), -1) {
		got[m[1]] = strings.ToLower(m[2])
	}
	for name, v := range want {
		if got[name] != v {
			t.Errorf("%s: header %q, ck.go %q (rerun module/cabi/gen/gen.py)", name, got[name], v)
		}
	}
}

// Every function of functions.txt has a C entry point and a Go export (or is one of
// the three answered in C alone).
func TestEveryFunctionHasAnExport(t *testing.T) {
	list, err := os.ReadFile("gen/functions.txt")
	if err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadFile("entry_gen.c")
	var exports strings.Builder
	files, _ := filepath.Glob("*.go")
	for _, f := range files {
		b, _ := os.ReadFile(f)
		exports.Write(b)
	}
	cOnly := map[string]bool{"C_GetFunctionList": true, "C_GetInterfaceList": true, "C_GetInterface": true}
	n := 0
	for _, line := range strings.Split(string(list), "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		name := strings.Fields(strings.Split(line, "|")[0])[1]
		n++
		if cOnly[name] {
			continue
		}
		if !strings.Contains(exports.String(), "//export go"+name+"\n") {
			t.Errorf("%s: no Go export", name)
		}
		if !strings.Contains(string(entries), "CK_RV "+name+"(") {
			t.Errorf("%s: no C entry point", name)
		}
	}
	if n != 92 {
		t.Fatalf("%d functions listed, want 92 (68 of v2.40 + 24 of v3.0)", n)
	}
}
