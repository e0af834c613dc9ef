package nssdb

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// FirefoxPolicies is where Firefox and Firefox ESR on Linux read enterprise policies.
const FirefoxPolicies = "/etc/firefox/policies/policies.json"

// The SecurityDevices policy loads a PKCS#11 module into every profile at start
// (https://mozilla.github.io/policy-templates/#securitydevices):
//
//	{"policies": {"SecurityDevices": {"Add": {"pcsc11": "/usr/lib/…/libpcsc11.so"}}}}
//
// Other policies in the file are kept as they are.

// PolicyState reads what the policy file says about our module: the path under Add
// (or the older flat form, {"SecurityDevices": {"name": "path"}}), "" when absent.
func PolicyState(path, name string) (lib string, exists bool, err error) {
	doc, exists, err := readPolicy(path)
	if err != nil || !exists {
		return "", exists, err
	}
	sd, _ := policies(doc)["SecurityDevices"].(map[string]any)
	if add, ok := sd["Add"].(map[string]any); ok {
		lib, _ = add[name].(string)
		return lib, true, nil
	}
	lib, _ = sd[name].(string)
	return lib, true, nil
}

func readPolicy(path string) (map[string]any, bool, error) {
	data, err := readBounded(path)
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]any{}, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil || doc == nil {
		return nil, true, fmt.Errorf("%s: not a JSON object (%v); fix or move it first", path, err)
	}
	return doc, true, nil
}

func policies(doc map[string]any) map[string]any {
	p, ok := doc["policies"].(map[string]any)
	if !ok {
		p = map[string]any{}
		doc["policies"] = p
	}
	return p
}

// RegisterPolicy adds (name, lib) to SecurityDevices.Add in the policy file, creating
// the file and its directory when missing.
func RegisterPolicy(path, name, lib string, dry bool) (Change, error) {
	doc, _, err := readPolicy(path)
	if err != nil {
		return "", err
	}
	p := policies(doc)
	sd, ok := p["SecurityDevices"].(map[string]any)
	if !ok {
		sd = map[string]any{}
		p["SecurityDevices"] = sd
	}
	change := Added
	if _, ok := sd[name].(string); ok { // the older flat form: move it under Add
		delete(sd, name)
		change = Updated
	}
	add, ok := sd["Add"].(map[string]any)
	if !ok {
		add = map[string]any{}
		sd["Add"] = add
	}
	if old, ok := add[name].(string); ok {
		if old == lib && change == Added {
			return Unchanged, nil
		}
		change = Updated
	}
	add[name] = lib
	if dry {
		return change, nil
	}
	return change, writePolicy(path, doc)
}

// UnregisterPolicy removes name from SecurityDevices (both forms).
func UnregisterPolicy(path, name string, dry bool) (Change, error) {
	doc, exists, err := readPolicy(path)
	if err != nil {
		return "", err
	}
	if !exists {
		return NotPresent, nil
	}
	sd, _ := policies(doc)["SecurityDevices"].(map[string]any)
	add, _ := sd["Add"].(map[string]any)
	_, inAdd := add[name]
	_, inFlat := sd[name].(string)
	if !inAdd && !inFlat {
		return NotPresent, nil
	}
	delete(add, name)
	delete(sd, name)
	if len(add) == 0 {
		delete(sd, "Add")
	}
	if len(sd) == 0 {
		delete(policies(doc), "SecurityDevices")
	}
	if dry {
		return Removed, nil
	}
	return Removed, writePolicy(path, doc)
}

func writePolicy(path string, doc map[string]any) error {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		// Firefox must be able to read it: world-readable, as the directory.
		if err := os.WriteFile(path, nil, 0o644); err != nil {
			return err
		}
	}
	return writeAtomic(path, b.Bytes())
}
