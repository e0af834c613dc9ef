package main

import (
	"bytes"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"os"

	pivgo "github.com/go-piv/piv-go/v2/piv"

	"github.com/pcsc11/pcsc11/ck"
	"github.com/pcsc11/pcsc11/reader"
	"github.com/pcsc11/pcsc11/slot"
	"github.com/pcsc11/pcsc11/slot/piv"
)

// Personalization commands: the same driver calls the module makes for
// C_InitToken, C_InitPIN, C_SetPIN, C_GenerateKeyPair, C_CreateObject and
// C_DestroyObject, so what the CLI does a PKCS#11 application could do too
// (docs/personalization.md has the credentials and APDUs of each).

const secretsHelp = `
Secrets are never taken from arguments. Each comes from its environment variable,
else from the file named by its flag, else from a prompt on the terminal (no echo):
  PIN          PCSC11_PIN       --pin-file
  new PIN/PUK  PCSC11_NEW_PIN   --new-pin-file
  PUK          PCSC11_PUK       --puk-file
  SO           PCSC11_SO_PIN    --so-pin-file   (management key as hex, or the PUK)
`

var initTokenCmd = &command{
	name:    "init-token",
	summary: "reset a YubiKey's PIV application: new CHUID, label, SO credential (C_InitToken)",
	usage:   "init-token [--slot N] --label LABEL [--so-pin-file F]",
	help: `Resets the PIV application of the card in slot N (default: the only card) the
way C_InitToken does: the SO credential (the current management key as hex, or the
PUK) is checked first; a wrong one changes nothing. Then PIN and PUK are blocked,
the application reset, the SO credential set again, a fresh CHUID and CCC written
and LABEL stored (data object 5FFF0F). Every key and certificate is gone; the PIN
is 123456 again (and the PUK 12345678 when the SO credential is a management key).
YubiKeys only.
` + secretsHelp,
	run: runInitToken,
}

var setPINCmd = &command{
	name:    "set-pin",
	summary: "change the PIN, the PUK (--puk) or the management key (--mgmt-key) (C_SetPIN)",
	usage:   "set-pin [--slot N] [--puk | --mgmt-key] [--pin-file F] [--new-pin-file F]",
	help: `Changes the user PIN (old PIN = PCSC11_PIN, new = PCSC11_NEW_PIN); with --puk the
PUK (old PUK = PCSC11_PUK); with --mgmt-key the management key (old key =
PCSC11_SO_PIN, new = PCSC11_NEW_PIN, both hex). PINs and PUKs are 6 to 8
characters: a wrong length is refused before anything reaches the card.
` + secretsHelp,
	run: runSetPIN,
}

var unblockPINCmd = &command{
	name:    "unblock-pin",
	summary: "set a new PIN with the PUK, also when the PIN is blocked (C_InitPIN)",
	usage:   "unblock-pin [--slot N] [--puk-file F] [--new-pin-file F]",
	help:    "Sets a new PIN (PCSC11_NEW_PIN) with the PUK (PCSC11_PUK): RESET RETRY COUNTER.\n" + secretsHelp,
	run:     runUnblockPIN,
}

var keygenCmd = &command{
	name:    "keygen",
	summary: "generate a key pair on the card (C_GenerateKeyPair)",
	usage:   "keygen [--slot N] --id HEX --type T [--pin-policy P] [--touch-policy P] [--so-pin-file F]",
	help: `Generates a key pair in the PIV slot of CKA_ID HEX (01=9A, 02=9C, 03=9D, 04=9E,
05..18 = retired 82..95) and prints its public key (PEM). Types: rsa1024 rsa2048
rsa3072 rsa4096 p256 p384 ed25519 x25519 (what the card supports). Policies (YubiKey):
--pin-policy never|once|always, --touch-policy never|always|cached; default: the
slot's. Needs the management key (PCSC11_SO_PIN, hex). A certificate already in the
slot is deleted, as it no longer matches.
` + secretsHelp,
	run: runKeygen,
}

var importCmd = &command{
	name:    "import",
	summary: "write a certificate (PEM or DER) into a key slot (C_CreateObject)",
	usage:   "import [--slot N] --id HEX [--so-pin-file F] CERT-FILE",
	help:    "Writes the certificate in CERT-FILE into the container of CKA_ID HEX (compressed when too big).\nNeeds the management key (PCSC11_SO_PIN, hex).\n" + secretsHelp,
	run:     runImport,
}

var deleteCmd = &command{
	name:    "delete",
	summary: "delete the certificate and/or key of a key slot (C_DestroyObject)",
	usage:   "delete [--slot N] --id HEX [--cert | --key] [--so-pin-file F]",
	help:    "Deletes the certificate (--cert), the key (--key; YubiKey 5.7+) or both (default) of CKA_ID HEX.\nNeeds the management key (PCSC11_SO_PIN, hex).\n" + secretsHelp,
	run:     runDelete,
}

var attestCmd = &command{
	name:    "attest",
	summary: "attest a generated key and verify the attestation with piv-go",
	usage:   "attest [--slot N] --id HEX [--roots PEM-FILE]",
	help: `Asks the card to attest the key of CKA_ID HEX (YubiKey ATTEST), verifies the
attestation certificate against the card's attestation certificate (slot F9) and
its root with piv-go's verifier, and prints the attestation (PEM) with what it
proves: firmware, serial, PIN and touch policy. --roots: the root CA certificates
to trust (default: Yubico's, as piv-go knows them; the virtual card's root is
'pcsc11-vpiv --print-attestation-root'). Exits 1 when the attestation does not
verify. Needs no credential.
`,
	run: runAttest,
}

// persoFlags are the flags every personalization command shares.
type persoFlags struct {
	slot                                 slotFlag
	pinFile, newPINFile, pukFile, soFile string
	id                                   string
	keyID                                []byte // --id decoded (by parsePerso, withID)
}

func (p *persoFlags) register(fs *flag.FlagSet, withID bool) {
	fs.Var(&p.slot, "slot", "slot ID (default: the only card)")
	fs.StringVar(&p.pinFile, "pin-file", "", "file holding the PIN")
	fs.StringVar(&p.newPINFile, "new-pin-file", "", "file holding the new PIN, PUK or key")
	fs.StringVar(&p.pukFile, "puk-file", "", "file holding the PUK")
	fs.StringVar(&p.soFile, "so-pin-file", "", "file holding the SO credential")
	if withID {
		fs.StringVar(&p.id, "id", "", "CKA_ID of the key slot, hex (01 = 9A)")
	}
}

func (p *persoFlags) cardID() ([]byte, error) {
	if p.id == "" {
		return nil, usageErr("--id is required (01=9A, 02=9C, 03=9D, 04=9E)")
	}
	b, err := hex.DecodeString(p.id)
	if err != nil || len(b) != 1 {
		return nil, usageErr("--id %q: one byte in hex, e.g. 01", p.id)
	}
	return b, nil
}

// withToken runs f on the token of the chosen slot (--slot, or the only card).
func (a *app) withToken(p *persoFlags, f func(tok slot.Token) error) error {
	return a.withManager(func(_ reader.Backend, m *slot.Manager) error {
		ids, err := m.Slots(true)
		if err != nil {
			return err
		}
		var id slot.ID
		switch {
		case p.slot.set:
			id = slot.ID(p.slot.id)
			if len(filterSlot(ids, id)) == 0 {
				return fmt.Errorf("no card in slot %d (see 'pcsc11 slots')", p.slot.id)
			}
		case len(ids) == 0:
			return errors.New("no card in any reader")
		case len(ids) > 1:
			return usageErr("%d cards present: choose one with --slot (see 'pcsc11 slots')", len(ids))
		default:
			id = ids[0]
		}
		tok, err := m.Token(id)
		if err != nil {
			return err
		}
		return f(tok)
	})
}

// withPersonalizer runs f on the token of the chosen slot (withToken) when pcsc11 can
// personalize it; with soLogin, after a login as SO with the credential of soSource
// (cleared after).
func (a *app) withPersonalizer(p *persoFlags, soLogin bool, f func(tok slot.Token, pz slot.Personalizer) error) error {
	return a.withToken(p, func(tok slot.Token) error {
		pz, ok := tok.(slot.Personalizer)
		if !ok {
			return errors.New("this token cannot be personalized through pcsc11")
		}
		if soLogin {
			so, err := a.readSecret(p.soSource())
			if err != nil {
				return err
			}
			err = tok.Login(ck.CKU_SO, so)
			clear(so)
			if err != nil {
				return fmt.Errorf("login: %s", tokenError(err))
			}
		}
		return f(tok, pz)
	})
}

func (p *persoFlags) soSource() secretSource {
	return secretSource{env: "PCSC11_SO_PIN", file: p.soFile, prompt: "SO credential (management key in hex, or PUK)"}
}

func (a *app) parsePerso(c *command, args []string, withID bool, extra func(fs *flag.FlagSet)) (*persoFlags, *flag.FlagSet, error) {
	fs := a.flags(c)
	p := &persoFlags{}
	p.register(fs, withID)
	if extra != nil {
		extra(fs)
	}
	if err := a.parse(c, fs, args); err != nil {
		return nil, nil, err
	}
	if withID {
		var err error
		if p.keyID, err = p.cardID(); err != nil {
			return nil, nil, err
		}
	}
	return p, fs, nil
}

func runInitToken(a *app, c *command, args []string) error {
	var label string
	p, fs, err := a.parsePerso(c, args, false, func(fs *flag.FlagSet) { fs.StringVar(&label, "label", "", "token label (at most 32 bytes)") })
	if err != nil {
		return err
	}
	if fs.NArg() > 0 || label == "" {
		return usageErr("usage: pcsc11 %s", c.usage)
	}
	return a.withPersonalizer(p, false, func(tok slot.Token, pz slot.Personalizer) error {
		so, err := a.readSecret(p.soSource())
		if err != nil {
			return err
		}
		defer clear(so)
		if err := pz.InitToken(so, label); err != nil {
			return fmt.Errorf("init-token: %s", tokenError(err))
		}
		fmt.Fprintf(a.stdout, "token initialized: label %q; PIN is the factory PIN 123456: change it with 'pcsc11 unblock-pin' or 'pcsc11 set-pin'\n", label)
		return nil
	})
}

func runSetPIN(a *app, c *command, args []string) error {
	var puk, mgmt bool
	p, fs, err := a.parsePerso(c, args, false, func(fs *flag.FlagSet) {
		fs.BoolVar(&puk, "puk", false, "change the PUK")
		fs.BoolVar(&mgmt, "mgmt-key", false, "change the management key (hex)")
	})
	if err != nil {
		return err
	}
	if fs.NArg() > 0 || (puk && mgmt) {
		return usageErr("usage: pcsc11 %s", c.usage)
	}
	return a.withPersonalizer(p, false, func(tok slot.Token, pz slot.Personalizer) error {
		userType, what := ck.ULong(ck.CKU_USER), "PIN"
		old := secretSource{env: "PCSC11_PIN", file: p.pinFile, prompt: "current PIN"}
		switch {
		case puk:
			userType, what = ck.CKU_SO, "PUK"
			old = secretSource{env: "PCSC11_PUK", file: p.pukFile, prompt: "current PUK"}
		case mgmt:
			userType, what = ck.CKU_SO, "management key"
			old = p.soSource()
			old.prompt = "current management key (hex)"
		}
		o, err := a.readSecret(old)
		if err != nil {
			return err
		}
		defer clear(o)
		n, err := a.readSecret(secretSource{env: "PCSC11_NEW_PIN", file: p.newPINFile, prompt: "new " + what})
		if err != nil {
			return err
		}
		defer clear(n)
		if userType == ck.CKU_SO {
			// C_SetPIN in an SO session: log in with the old value first, as the module
			// requires of an application.
			if err := tok.Login(ck.CKU_SO, o); err != nil {
				return fmt.Errorf("login: %s", tokenError(err))
			}
		}
		if err := pz.SetPIN(userType, o, n); err != nil {
			return fmt.Errorf("set-pin: %s", tokenError(err))
		}
		fmt.Fprintf(a.stdout, "%s changed\n", what)
		return nil
	})
}

func runUnblockPIN(a *app, c *command, args []string) error {
	p, fs, err := a.parsePerso(c, args, false, nil)
	if err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErr("usage: pcsc11 %s", c.usage)
	}
	return a.withPersonalizer(p, false, func(tok slot.Token, pz slot.Personalizer) error {
		puk, err := a.readSecret(secretSource{env: "PCSC11_PUK", file: p.pukFile, prompt: "PUK"})
		if err != nil {
			return err
		}
		defer clear(puk)
		if len(puk) > 8 {
			return errors.New("a PUK is 6 to 8 characters")
		}
		if err := tok.Login(ck.CKU_SO, puk); err != nil {
			return fmt.Errorf("PUK: %s", tokenError(err))
		}
		n, err := a.readSecret(secretSource{env: "PCSC11_NEW_PIN", file: p.newPINFile, prompt: "new PIN"})
		if err != nil {
			return err
		}
		defer clear(n)
		if err := pz.InitPIN(n); err != nil {
			return fmt.Errorf("unblock-pin: %s", tokenError(err))
		}
		fmt.Fprintln(a.stdout, "PIN set")
		return nil
	})
}

// keyTypes maps --type to the mechanism and the template attributes of each half.
var keyTypes = map[string]struct {
	mech   ck.ULong
	bits   ck.ULong
	params []byte
}{
	"rsa1024": {ck.CKM_RSA_PKCS_KEY_PAIR_GEN, 1024, nil},
	"rsa2048": {ck.CKM_RSA_PKCS_KEY_PAIR_GEN, 2048, nil},
	"rsa3072": {ck.CKM_RSA_PKCS_KEY_PAIR_GEN, 3072, nil},
	"rsa4096": {ck.CKM_RSA_PKCS_KEY_PAIR_GEN, 4096, nil},
	"p256":    {ck.CKM_EC_KEY_PAIR_GEN, 0, piv.ECParams(piv.CurveP256)},
	"p384":    {ck.CKM_EC_KEY_PAIR_GEN, 0, piv.ECParams(piv.CurveP384)},
	"ed25519": {ck.CKM_EC_EDWARDS_KEY_PAIR_GEN, 0, piv.ECParams(piv.CurveEd25519)},
	"x25519":  {ck.CKM_EC_MONTGOMERY_KEY_PAIR_GEN, 0, piv.ECParams(piv.CurveX25519)},
}

// Policy names by number. YubiKeys, ykcs11's vendor attributes (CKA_YUBICO_*_POLICY)
// and piv-go's PINPolicy/TouchPolicy all number them alike: 1 never, then 2 and 3.
var (
	pinPolicyNames   = []string{1: "never", 2: "once", 3: "always"}
	touchPolicyNames = []string{1: "never", 2: "always", 3: "cached"}
)

// policyValue maps a policy name to its number; set is false for "" (the slot's
// default).
func policyValue(name string, names []string) (v ck.ULong, set bool, err error) {
	if name == "" {
		return 0, false, nil
	}
	for i, n := range names {
		if n != "" && n == name {
			return ck.ULong(i), true, nil
		}
	}
	return 0, false, usageErr("unknown policy %q", name)
}

// policyName is the name of policy number v, or the number when it has none (the
// biometric policies of a YubiKey Bio, say).
func policyName(v int, names []string) string {
	if v > 0 && v < len(names) {
		return names[v]
	}
	return fmt.Sprint(v)
}

func runKeygen(a *app, c *command, args []string) error {
	var typ, pinPol, touchPol string
	p, fs, err := a.parsePerso(c, args, true, func(fs *flag.FlagSet) {
		fs.StringVar(&typ, "type", "", "key type")
		fs.StringVar(&pinPol, "pin-policy", "", "never|once|always")
		fs.StringVar(&touchPol, "touch-policy", "", "never|always|cached")
	})
	if err != nil {
		return err
	}
	id := p.keyID
	kt, ok := keyTypes[typ]
	if !ok || fs.NArg() > 0 {
		return usageErr("--type must be one of rsa1024 rsa2048 rsa3072 rsa4096 p256 p384 ed25519 x25519")
	}
	pub := slot.Attributes{ck.CKA_ID: id, ck.CKA_TOKEN: true}
	priv := slot.Attributes{ck.CKA_ID: id, ck.CKA_TOKEN: true}
	if kt.bits != 0 {
		pub[ck.CKA_MODULUS_BITS] = kt.bits
	} else {
		pub[ck.CKA_EC_PARAMS] = kt.params
	}
	if v, set, err := policyValue(pinPol, pinPolicyNames); err != nil {
		return err
	} else if set {
		priv[ck.CKA_YUBICO_PIN_POLICY] = v
	}
	if v, set, err := policyValue(touchPol, touchPolicyNames); err != nil {
		return err
	} else if set {
		priv[ck.CKA_YUBICO_TOUCH_POLICY] = v
	}
	return a.withPersonalizer(p, true, func(tok slot.Token, pz slot.Personalizer) error {
		pubKey, _, err := pz.GenerateKeyPair(kt.mech, pub, priv)
		if err != nil {
			return fmt.Errorf("keygen: %s", tokenError(err))
		}
		objs, err := tok.Objects()
		if err != nil {
			return err
		}
		for _, o := range objs {
			if o.Key != pubKey {
				continue
			}
			if info, ok, _ := o.Attrs.Bytes(ck.CKA_PUBLIC_KEY_INFO); ok && len(info) > 0 {
				return pem.Encode(a.stdout, &pem.Block{Type: "PUBLIC KEY", Bytes: info})
			}
		}
		fmt.Fprintf(a.stdout, "key generated (CKA_ID %x)\n", id)
		return nil
	})
}

// readCert reads a certificate file, PEM or DER.
func readCert(path string) ([]byte, *x509.Certificate, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	if blk, _ := pem.Decode(b); blk != nil {
		b = blk.Bytes
	}
	cert, err := x509.ParseCertificate(b)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: not an X.509 certificate: %v", path, err)
	}
	return b, cert, nil
}

func runImport(a *app, c *command, args []string) error {
	p, fs, err := a.parsePerso(c, args, true, nil)
	if err != nil {
		return err
	}
	id := p.keyID
	if fs.NArg() != 1 {
		return usageErr("usage: pcsc11 %s", c.usage)
	}
	der, cert, err := readCert(fs.Arg(0))
	if err != nil {
		return err
	}
	return a.withPersonalizer(p, true, func(tok slot.Token, pz slot.Personalizer) error {
		tmpl := slot.Attributes{ck.CKA_CLASS: ck.ULong(ck.CKO_CERTIFICATE), ck.CKA_CERTIFICATE_TYPE: ck.ULong(ck.CKC_X_509),
			ck.CKA_TOKEN: true, ck.CKA_ID: id, ck.CKA_VALUE: der, ck.CKA_SUBJECT: cert.RawSubject}
		if _, err := pz.CreateObject(tmpl); err != nil {
			return fmt.Errorf("import: %s", tokenError(err))
		}
		fmt.Fprintf(a.stdout, "certificate %q written (CKA_ID %x)\n", cert.Subject.String(), id)
		return nil
	})
}

// objectsWithID returns the objects of tok with CKA_ID id and one of the classes.
func objectsWithID(tok slot.Token, id []byte, classes ...ck.ULong) ([]slot.Object, error) {
	objs, err := tok.Objects()
	if err != nil {
		return nil, err
	}
	var out []slot.Object
	for _, o := range objs {
		oid, _, _ := o.Attrs.Bytes(ck.CKA_ID)
		class, _, _ := o.Attrs.ULong(ck.CKA_CLASS)
		if !bytes.Equal(oid, id) {
			continue
		}
		for _, c := range classes {
			if class == c {
				out = append(out, o)
			}
		}
	}
	return out, nil
}

func runDelete(a *app, c *command, args []string) error {
	var onlyCert, onlyKey bool
	p, fs, err := a.parsePerso(c, args, true, func(fs *flag.FlagSet) {
		fs.BoolVar(&onlyCert, "cert", false, "only the certificate")
		fs.BoolVar(&onlyKey, "key", false, "only the key")
	})
	if err != nil {
		return err
	}
	id := p.keyID
	if fs.NArg() > 0 || (onlyCert && onlyKey) {
		return usageErr("usage: pcsc11 %s", c.usage)
	}
	var classes []ck.ULong
	if !onlyKey {
		classes = append(classes, ck.CKO_CERTIFICATE)
	}
	if !onlyCert {
		classes = append(classes, ck.CKO_PRIVATE_KEY) // its public key goes with it
	}
	return a.withPersonalizer(p, true, func(tok slot.Token, pz slot.Personalizer) error {
		objs, err := objectsWithID(tok, id, classes...)
		if err != nil {
			return err
		}
		if len(objs) == 0 {
			return fmt.Errorf("nothing to delete with CKA_ID %x", id)
		}
		for _, o := range objs {
			if err := pz.DestroyObject(o.Key); err != nil {
				return fmt.Errorf("delete %s: %s", o.Key, tokenError(err))
			}
			fmt.Fprintf(a.stdout, "deleted %s\n", o.Key)
		}
		return nil
	})
}

func runAttest(a *app, c *command, args []string) error {
	var rootsFile string
	p, fs, err := a.parsePerso(c, args, true, func(fs *flag.FlagSet) { fs.StringVar(&rootsFile, "roots", "", "PEM file of trusted roots") })
	if err != nil {
		return err
	}
	id := p.keyID
	if fs.NArg() > 0 {
		return usageErr("usage: pcsc11 %s", c.usage)
	}
	var roots *x509.CertPool
	if rootsFile != "" {
		b, err := os.ReadFile(rootsFile)
		if err != nil {
			return err
		}
		roots = x509.NewCertPool()
		if !roots.AppendCertsFromPEM(b) {
			return fmt.Errorf("%s: no PEM certificate", rootsFile)
		}
	}
	return a.withToken(p, func(tok slot.Token) error {
		at, ok := tok.(slot.Attester)
		if !ok {
			return errors.New("this token cannot attest keys")
		}
		keys, err := objectsWithID(tok, id, ck.CKO_PUBLIC_KEY)
		if err != nil {
			return err
		}
		if len(keys) == 0 {
			return fmt.Errorf("no key with CKA_ID %x", id)
		}
		der, err := at.Attest(keys[0].Key)
		if err != nil {
			return fmt.Errorf("attest: %s", tokenError(err))
		}
		attCert, err := x509.ParseCertificate(der)
		if err != nil {
			return fmt.Errorf("attestation: %v", err)
		}
		// The card's attestation certificate (F9, CKA_ID 0x19) signs the attestation;
		// the driver lists it as a data object (no key a user authenticates with).
		f9, err := objectsWithID(tok, []byte{0x19}, ck.CKO_DATA, ck.CKO_CERTIFICATE)
		if err != nil {
			return err
		}
		if len(f9) == 0 {
			return errors.New("the card has no attestation certificate (slot F9)")
		}
		f9der, _, _ := f9[0].Attrs.Bytes(ck.CKA_VALUE)
		f9Cert, err := x509.ParseCertificate(f9der)
		if err != nil {
			return fmt.Errorf("F9 certificate: %v", err)
		}
		var att *pivgo.Attestation
		if roots != nil {
			att, err = (&pivgo.Verifier{Roots: roots}).Verify(f9Cert, attCert)
		} else {
			att, err = pivgo.Verify(f9Cert, attCert)
		}
		if err != nil {
			return fmt.Errorf("the attestation does not verify: %v", err)
		}
		fmt.Fprintf(a.stdout, "attestation verified: key in slot %s generated on the card; firmware %d.%d.%d, serial %d, PIN policy %s, touch policy %s\n",
			att.Slot.String(), att.Version.Major, att.Version.Minor, att.Version.Patch, att.Serial,
			policyName(int(att.PINPolicy), pinPolicyNames), policyName(int(att.TouchPolicy), touchPolicyNames))
		return pem.Encode(a.stdout, &pem.Block{Type: "CERTIFICATE", Bytes: der})
	})
}
