package config

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// The file format (docs/configuration.md):
//
//	# a comment, on a line of its own
//	pin_cache = 15m
//	reader_deny = *Windows Hello*, *Virtual*
//
// One "name = value" per line; blank lines and lines starting with # are skipped;
// spaces around the name and the value do not count; a value in double quotes keeps
// its inner spaces (no escapes). Names are the Name column of Keys. An unknown name, a
// name given twice, a line without "=", bytes that are not UTF-8 or a file larger than
// MaxFileSize are errors.

// MaxFileSize bounds what is read of a configuration file: it is a few lines.
const MaxFileSize = 64 << 10

// Entry is one setting read from a file.
type Entry struct {
	Key   Key
	Value string
	Line  int
}

// ParseError says where a file is wrong. Its text never holds the value (a user may
// have put something secret where it does not belong).
type ParseError struct {
	Path string
	Line int // 0: the file as a whole
	Msg  string
}

func (e *ParseError) Error() string {
	if e.Line == 0 {
		return fmt.Sprintf("%s: %s", e.Path, e.Msg)
	}
	return fmt.Sprintf("%s:%d: %s", e.Path, e.Line, e.Msg)
}

// Parse reads a whole file's content. On the first error it returns that error and no
// entries: a file is applied whole or not at all.
func Parse(path string, data []byte) ([]Entry, error) {
	if len(data) > MaxFileSize {
		return nil, &ParseError{Path: path, Msg: fmt.Sprintf("larger than %d bytes", MaxFileSize)}
	}
	var entries []Entry
	seen := map[string]int{}
	for i, line := range strings.Split(string(data), "\n") {
		n := i + 1
		fail := func(format string, args ...any) ([]Entry, error) {
			return nil, &ParseError{Path: path, Line: n, Msg: fmt.Sprintf(format, args...)}
		}
		if !utf8.ValidString(line) || strings.ContainsRune(line, 0) {
			return fail("not UTF-8 text")
		}
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		name, value, ok := strings.Cut(line, "=")
		if !ok {
			return fail(`expected "name = value"`)
		}
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		k, known := ByName(name)
		if !known {
			return fail("unknown setting %q (known: %s)", shortened(name), names())
		}
		if prev, dup := seen[name]; dup {
			return fail("%s already set on line %d", name, prev)
		}
		if len(value) >= 2 && value[0] == '"' && value[len(value)-1] == '"' {
			value = value[1 : len(value)-1]
		} else if strings.ContainsRune(value, '"') {
			return fail("%s: unbalanced double quote", name)
		}
		seen[name] = n
		entries = append(entries, Entry{Key: k, Value: value, Line: n})
	}
	return entries, nil
}

// shortened cuts a name to 40 bytes for an error message (which quotes it with %q).
func shortened(s string) string {
	if len(s) > 40 {
		s = s[:40] + "…"
	}
	return s
}

func names() string {
	var b strings.Builder
	for i, k := range Keys {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(k.Name)
	}
	return b.String()
}
