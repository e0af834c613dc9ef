package config

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// SystemFile is the machine's configuration file (a variable for tests).
var SystemFile = "/etc/pcsc11/pcsc11.conf"

// UserFile is the user's configuration file: $XDG_CONFIG_HOME/pcsc11/pcsc11.conf, with
// XDG_CONFIG_HOME defaulting to ~/.config (XDG Base Directory Specification). "" when
// neither variable gives a directory.
func UserFile(env func(string) string) string {
	dir := env("XDG_CONFIG_HOME")
	if !filepath.IsAbs(dir) { // the spec: a relative path is invalid and ignored
		home := env("HOME")
		if !filepath.IsAbs(home) {
			return ""
		}
		dir = filepath.Join(home, ".config")
	}
	return filepath.Join(dir, "pcsc11", "pcsc11.conf")
}

// Source says which layer gave a value.
type Source struct {
	Kind string // "default", "file" or "env"
	Path string // the file (Kind "file")
	Line int    // its line (Kind "file")
}

func (s Source) String() string {
	switch s.Kind {
	case "file":
		return s.Path + ":" + strconv.Itoa(s.Line)
	case "env":
		return "environment"
	}
	return "default"
}

// Settings are the files as read once, over the defaults; the environment is asked on
// every Lookup (it is the live one in the host: see module.Getenv).
type Settings struct {
	env    func(string) string
	files  map[string]Entry  // by environment variable
	paths  map[string]string // environment variable -> file it came from
	Files  []string          // the files looked for, in order
	Errors []error           // files that were not applied, and why
}

// Load reads the system file, then the user file, with env for the user file's place
// and the environment layer. A missing file is no error; an unreadable or wrong one is
// one entry of Errors and contributes nothing.
func Load(env func(string) string) *Settings {
	s := &Settings{env: env, files: map[string]Entry{}, paths: map[string]string{}}
	for _, p := range []string{SystemFile, UserFile(env)} {
		if p == "" {
			continue
		}
		s.Files = append(s.Files, p)
		entries, err := readFile(p)
		if err != nil {
			s.Errors = append(s.Errors, err)
			continue
		}
		for _, e := range entries {
			s.files[e.Key.Env] = e
			s.paths[e.Key.Env] = p
		}
	}
	return s
}

// readFile reads and parses one file; (nil, nil) when it does not exist.
func readFile(path string) ([]Entry, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, &ParseError{Path: path, Msg: "cannot read: " + errText(err)}
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && !st.Mode().IsRegular() {
		return nil, &ParseError{Path: path, Msg: "not a regular file"}
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, &ParseError{Path: path, Msg: "cannot read: " + errText(err)}
	}
	return Parse(path, data)
}

func errText(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// Lookup answers the value of a setting by its environment variable name, and where it
// came from: the environment when set there (not empty), else the last file that sets
// it, else "" from the defaults. A name that is not a key (HOME, XDG_CACHE_HOME…) is
// the environment's.
func (s *Settings) Lookup(name string) (string, Source) {
	if v := s.env(name); v != "" {
		return v, Source{Kind: "env"}
	}
	if e, ok := s.files[name]; ok {
		return e.Value, Source{Kind: "file", Path: s.paths[name], Line: e.Line}
	}
	return "", Source{Kind: "default"}
}

// The process-wide settings: what module.Getenv, piv.Getenv and the reader's trace
// read.
var (
	// Environ is the environment layer. The C door replaces it with libc's getenv: Go's
	// copy of the environment is taken at dlopen, and a host may set variables between
	// dlopen and C_Initialize.
	Environ = os.Getenv

	mu      sync.Mutex
	current *Settings
)

// Reload reads the files again (the library calls it at C_Initialize) and returns the
// errors of files that were not applied, for the caller to log.
func Reload() []error {
	s := Load(func(n string) string { return Environ(n) })
	mu.Lock()
	current = s
	mu.Unlock()
	return s.Errors
}

// Current is the process's settings; the first call before any Reload reads the files.
func Current() *Settings {
	mu.Lock()
	defer mu.Unlock()
	if current == nil {
		current = Load(func(n string) string { return Environ(n) })
	}
	return current
}

// Get is Lookup on the process's settings, without the source: the function every
// setting is read through.
func Get(name string) string {
	v, _ := Current().Lookup(name)
	return v
}

// Flag reads the value of an on/off setting: 1, true, yes and on (in any case) are
// true; 0, false, no and off are false; anything else, the empty value included, is
// def. Every on/off setting is read through it, so that each accepts the same words.
func Flag(value string, def bool) bool {
	switch strings.ToLower(strings.TrimSpace(value)) {
	case "1", "true", "yes", "on":
		return true
	case "0", "false", "no", "off":
		return false
	}
	return def
}
