package vpiv

import (
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
)

// persistent is the card's non-volatile memory.
type persistent struct {
	serial uint32
	salt   []byte // for the PIN/PUK hashes, so the state file holds no PIN in clear

	pinHash, pukHash       []byte
	pinDefault, pukDefault bool
	pinMax, pinLeft        int
	pukMax, pukLeft        int

	// The Global PIN (key reference 00) of a profile with one (standard PIV cards).
	globalHash            []byte
	globalMax, globalLeft int

	mgmtAlg     byte
	mgmtKey     []byte
	mgmtTouch   byte
	mgmtDefault bool

	keys    map[byte]*slotKey
	objects map[uint32][]byte
}

// factory makes a factory-fresh card: default credentials, no user keys, and the
// attestation key F9 with its certificate issued by AttestationRoot.
func (c *Card) factory() error {
	c.st = persistent{
		serial:  DefaultSerial,
		salt:    c.random(16),
		keys:    map[byte]*slotKey{},
		objects: map[uint32][]byte{},
	}
	c.factoryCredentials()
	if !c.prof.Attestation {
		return nil
	}
	return c.makeAttestationKey()
}

// factoryCredentials sets PIN, PUK and management key to their defaults.
func (c *Card) factoryCredentials() {
	c.st.pinHash, c.st.pinDefault = c.hashSecret(defaultPIN), true
	c.st.pukHash, c.st.pukDefault = c.hashSecret(defaultPUK), true
	c.st.pinMax, c.st.pinLeft = defaultTries, defaultTries
	c.st.pukMax, c.st.pukLeft = defaultTries, defaultTries
	c.st.mgmtAlg = c.defaultMgmtAlg()
	c.st.mgmtKey = factoryMgmtKey(c.st.mgmtAlg)
	c.st.mgmtTouch = touchNever
	c.st.mgmtDefault = true
	if c.prof.GlobalPIN {
		c.st.globalHash = c.hashSecret(defaultPIN)
		c.st.globalMax, c.st.globalLeft = defaultTries, defaultTries
	}
}

// stateFile is the JSON form of persistent ([]byte fields are base64).
type stateFile struct {
	Format      int                `json:"format"`
	Profile     string             `json:"profile,omitempty"` // "" = yubikey-5.7 (files written before profiles)
	Serial      uint32             `json:"serial"`
	Salt        []byte             `json:"salt"`
	PINHash     []byte             `json:"pin_hash"`
	PUKHash     []byte             `json:"puk_hash"`
	PINDefault  bool               `json:"pin_default"`
	PUKDefault  bool               `json:"puk_default"`
	PINMax      int                `json:"pin_max"`
	PINLeft     int                `json:"pin_left"`
	PUKMax      int                `json:"puk_max"`
	PUKLeft     int                `json:"puk_left"`
	MgmtAlg     byte               `json:"mgmt_alg"`
	MgmtKey     []byte             `json:"mgmt_key"`
	MgmtTouch   byte               `json:"mgmt_touch"`
	MgmtDefault bool               `json:"mgmt_default"`
	GlobalHash  []byte             `json:"global_pin_hash,omitempty"`
	GlobalMax   int                `json:"global_pin_max,omitempty"`
	GlobalLeft  int                `json:"global_pin_left,omitempty"`
	Keys        map[string]keyFile `json:"keys"`    // by key reference, hex ("9a")
	Objects     map[string][]byte  `json:"objects"` // by tag, hex ("5fc105")
}

type keyFile struct {
	Alg         byte   `json:"alg"`
	PINPolicy   byte   `json:"pin_policy"`
	TouchPolicy byte   `json:"touch_policy"`
	Origin      byte   `json:"origin"`
	PKCS8       []byte `json:"pkcs8"`
}

const stateFormat = 1

func (c *Card) marshalState() ([]byte, error) {
	s := c.st
	f := stateFile{
		Format: stateFormat, Profile: c.prof.Name, Serial: s.serial, Salt: s.salt,
		GlobalHash: s.globalHash, GlobalMax: s.globalMax, GlobalLeft: s.globalLeft,
		PINHash: s.pinHash, PUKHash: s.pukHash, PINDefault: s.pinDefault, PUKDefault: s.pukDefault,
		PINMax: s.pinMax, PINLeft: s.pinLeft, PUKMax: s.pukMax, PUKLeft: s.pukLeft,
		MgmtAlg: s.mgmtAlg, MgmtKey: s.mgmtKey, MgmtTouch: s.mgmtTouch, MgmtDefault: s.mgmtDefault,
		Keys:    map[string]keyFile{},
		Objects: map[string][]byte{},
	}
	for ref, k := range s.keys {
		der, err := x509.MarshalPKCS8PrivateKey(k.priv)
		if err != nil {
			return nil, err
		}
		f.Keys[fmt.Sprintf("%02x", ref)] = keyFile{Alg: k.alg, PINPolicy: k.pinPolicy,
			TouchPolicy: k.touchPolicy, Origin: k.origin, PKCS8: der}
	}
	for tag, v := range s.objects {
		f.Objects[fmt.Sprintf("%x", tag)] = v
	}
	return json.MarshalIndent(f, "", "  ")
}

// save writes the state file atomically: temporary file in the same directory, fsync,
// rename over the old file, fsync of the directory.
func (c *Card) save() error {
	b, err := c.marshalState()
	if err != nil {
		return fmt.Errorf("%w: %v", errPersist, err)
	}
	path := c.opts.StatePath
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, ".vpiv-state-*.tmp")
	if err != nil {
		return fmt.Errorf("%w: %v", errPersist, err)
	}
	name := tmp.Name()
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			os.Remove(name)
		}
	}()
	if err := tmp.Chmod(0o600); err != nil {
		return fmt.Errorf("%w: %v", errPersist, err)
	}
	if _, err := tmp.Write(b); err != nil {
		return fmt.Errorf("%w: %v", errPersist, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("%w: %v", errPersist, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("%w: %v", errPersist, err)
	}
	if err := os.Rename(name, path); err != nil {
		return fmt.Errorf("%w: %v", errPersist, err)
	}
	ok = true
	if d, err := os.Open(dir); err == nil {
		d.Sync() // best effort: the rename is durable once the directory is
		d.Close()
	}
	return nil
}

// load reads the state file; (false, nil) when it does not exist.
func (c *Card) load(path string) (bool, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("vpiv: reading state: %w", err)
	}
	st, err := c.unmarshalState(b)
	if err != nil {
		return false, fmt.Errorf("vpiv: state file %s: %w", path, err)
	}
	c.st = st
	return true, nil
}

func (c *Card) unmarshalState(b []byte) (persistent, error) {
	var f stateFile
	if err := json.Unmarshal(b, &f); err != nil {
		return persistent{}, err
	}
	if f.Format != stateFormat {
		return persistent{}, fmt.Errorf("unknown format %d", f.Format)
	}
	if prof := f.Profile; prof != c.prof.Name && (prof != "" || c.prof.Name != DefaultProfile) {
		if prof == "" {
			prof = DefaultProfile
		}
		return persistent{}, fmt.Errorf("the card is a %s, not a %s (--profile)", prof, c.prof.Name)
	}
	tries := func(max, left int) bool { return max >= 1 && max <= 255 && left >= 0 && left <= max }
	if len(f.Salt) == 0 || len(f.PINHash) != 32 || len(f.PUKHash) != 32 ||
		!tries(f.PINMax, f.PINLeft) || !tries(f.PUKMax, f.PUKLeft) ||
		mgmtKeyLen(f.MgmtAlg) == 0 || len(f.MgmtKey) != mgmtKeyLen(f.MgmtAlg) ||
		c.prof.GlobalPIN != (len(f.GlobalHash) == 32) ||
		(c.prof.GlobalPIN && !tries(f.GlobalMax, f.GlobalLeft)) {
		return persistent{}, errors.New("invalid credentials")
	}
	s := persistent{
		serial: f.Serial, salt: f.Salt,
		pinHash: f.PINHash, pukHash: f.PUKHash, pinDefault: f.PINDefault, pukDefault: f.PUKDefault,
		pinMax: f.PINMax, pinLeft: f.PINLeft, pukMax: f.PUKMax, pukLeft: f.PUKLeft,
		mgmtAlg: f.MgmtAlg, mgmtKey: f.MgmtKey, mgmtTouch: f.MgmtTouch, mgmtDefault: f.MgmtDefault,
		globalHash: f.GlobalHash, globalMax: f.GlobalMax, globalLeft: f.GlobalLeft,
		keys:    map[byte]*slotKey{},
		objects: map[uint32][]byte{},
	}
	for name, kf := range f.Keys {
		ref, err := strconv.ParseUint(name, 16, 8)
		if err != nil || !c.keyRef(byte(ref)) {
			return persistent{}, fmt.Errorf("bad key reference %q", name)
		}
		priv, err := x509.ParsePKCS8PrivateKey(kf.PKCS8)
		if err != nil {
			return persistent{}, fmt.Errorf("key %s: %v", name, err)
		}
		if algOf(priv) != kf.Alg {
			return persistent{}, fmt.Errorf("key %s: algorithm mismatch", name)
		}
		s.keys[byte(ref)] = &slotKey{alg: kf.Alg, pinPolicy: kf.PINPolicy,
			touchPolicy: kf.TouchPolicy, origin: kf.Origin, priv: priv}
	}
	for name, v := range f.Objects {
		tag, err := strconv.ParseUint(name, 16, 32)
		if err != nil || !c.validObject(uint32(tag)) || len(v) == 0 || len(v) > maxObjectSize {
			return persistent{}, fmt.Errorf("bad object %q", name)
		}
		s.objects[uint32(tag)] = v
	}
	return s, nil
}
