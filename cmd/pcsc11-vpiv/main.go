// Command pcsc11-vpiv is the virtual PIV card (package vpiv, a YubiKey 5.7-like PIV
// applet) plugged into vsmartcard's virtual reader driver vpcd, so that pcscd and every
// PC/SC client see a card in "Virtual PCD 00 00" (or 00 01 with --port 35964).
//
// It connects to vpcd as the card side and reconnects with backoff when pcscd
// restarts. The card can be removed and inserted at run time through a unix control
// socket (--control) or signals (SIGUSR1 remove, SIGUSR2 insert); SIGTERM/SIGINT stop
// it cleanly. See docs/virtual-card.md.
package main

import (
	"context"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/pcsc11/pcsc11/cmd/pcsc11-vpiv/internal/vpcd"
	"github.com/pcsc11/pcsc11/logging"
	"github.com/pcsc11/pcsc11/pinpad"
	"github.com/pcsc11/pcsc11/vpiv"
)

type config struct {
	host, state, provision, control, inject string
	profile, mgmtAlg, pinPolicy             string
	send, injectObject                      string
	port, pinpadPort                        int
	serial                                  uint64
	removeAfter, injectDelay                time.Duration
	touchTimeout, autoTouch                 time.Duration
	injectEvery                             int
	latency                                 vpiv.Latency
	trace                                   bool
	printRoot                               bool
}

func parseFlags(args []string, errOut io.Writer) (*config, error) {
	fs := flag.NewFlagSet("pcsc11-vpiv", flag.ContinueOnError)
	fs.SetOutput(errOut)
	c := &config{}
	fs.StringVar(&c.host, "host", "127.0.0.1", "host where vpcd (pcscd's vpcd driver) listens")
	fs.IntVar(&c.port, "port", 35963, "vpcd port: 35963 is reader \"... 00 00\", 35964 is \"... 00 01\"")
	fs.IntVar(&c.pinpadPort, "pinpad-port", 0, "connect to pcsc11's test PIN-pad reader on this port (35965; docs/pinpad.md) instead of vpcd's --port; script its keypad through --control (pinpad type DIGITS|cancel|timeout)")
	fs.StringVar(&c.state, "state", "", "file keeping the card's state (keys, objects, PIN) across runs; empty = in memory only")
	fs.Uint64Var(&c.serial, "serial", 0, "YubiKey serial number (0 = the engine's default)")
	fs.StringVar(&c.profile, "profile", vpiv.DefaultProfile, "the card to be: "+strings.Join(vpiv.ProfileNames(), ", ")+" (docs/virtual-card.md: what each answers); a --state file keeps its profile")
	fs.StringVar(&c.mgmtAlg, "mgmt-alg", "", "factory management key algorithm of a new card: 3des, aes128, aes192 or aes256 (default: the profile's; only those the profile accepts)")
	fs.StringVar(&c.pinPolicy, "pin-policy", "", "piv profile: the Discovery Object's PIN usage policy, piv (PIV PIN primary, 60 10; the default) or global (Global PIN primary, 60 20)")
	fs.StringVar(&c.provision, "provision", "", "provision profiles joined with + (the engine checks them): demo (keys and certificates in 9A, 9C, 9D, 9E; skipped when the card has any), retired (P-256 keys and certificates in 82-84), keyhistory (a Key History Object counting them), touch (after demo: touch policy cached on 9A, always on 9E), 3des (3DES default management key, for yubico-piv-tool/ykcs11 2.2), factory")
	fs.StringVar(&c.control, "control", "", "unix socket accepting line commands: remove, insert, status, touch, quit")
	fs.DurationVar(&c.removeAfter, "remove-after", 0, "remove the card after this long (0 = never)")
	fs.StringVar(&c.inject, "inject", "", "fault injection for robustness tests: "+vpcd.InjectModes())
	fs.IntVar(&c.injectEvery, "inject-every", 1, "apply --inject to every Nth eligible response")
	fs.DurationVar(&c.injectDelay, "inject-delay", 2*time.Second, "delay for --inject slow")
	fs.StringVar(&c.injectObject, "inject-object", "5FC10B", "the certificate container (hex tag) a cert-* --inject mode corrupts at start; 5FC10B is 9D's")
	fs.DurationVar(&c.latency.APDU, "latency-apdu", 0, "latency model: answer every APDU this late (e.g. 2ms, about a YubiKey over USB; GET RESPONSE and chained parts included)")
	fs.DurationVar(&c.latency.RSA, "latency-rsa", 0, "latency model: extra time for an RSA-2048 private-key operation (e.g. 80ms); RSA-1024/3072/4096 take 1/3, 3 and 6 times that")
	fs.DurationVar(&c.latency.EC, "latency-ec", 0, "latency model: extra time for a P-256 private-key operation, signature or ECDH (e.g. 30ms); P-384 1.5 times, Ed25519/X25519 the same")
	fs.DurationVar(&c.latency.Keygen, "latency-keygen", 0, "latency model: extra time for generating a P-256 key (e.g. 50ms); P-384 1.5 times, RSA-1024/2048/3072/4096 20, 60, 150, 300 times")
	fs.DurationVar(&c.touchTimeout, "touch-timeout", vpiv.DefaultTouchTimeout, "how long an operation with a touch-policy key waits for a touch before it fails with 6982 (a YubiKey waits about 15s)")
	fs.DurationVar(&c.autoTouch, "auto-touch", 0, "touch the card automatically this long after an operation starts waiting for a touch (0 = only --send touch / the control socket's touch)")
	fs.StringVar(&c.send, "send", "", "client mode: send this command (remove, insert, status, touch, quit) to the running card's --control socket, print the answer and exit")
	fs.BoolVar(&c.printRoot, "print-attestation-root", false, "print the virtual attestation root CA certificate (PEM: what verifiers such as 'pcsc11 attest --roots' trust) and exit")
	fs.BoolVar(&c.trace, "trace", false, "log every APDU, redacted as the module's trace (no PIN, PUK, key or secret answer)")
	fs.Usage = func() {
		fmt.Fprintf(errOut, "usage: pcsc11-vpiv [flags]\n\nA virtual PIV card (a YubiKey 5.7 unless --profile says otherwise) for vsmartcard's vpcd reader.\nSignals: SIGUSR1 removes the card, SIGUSR2 inserts it, SIGTERM/SIGINT stop.\n\nflags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if _, err := vpiv.LookupProfile(c.profile); err != nil {
		return nil, err
	}
	if _, err := vpiv.MgmtAlgByName(c.mgmtAlg); err != nil {
		return nil, err
	}
	switch c.pinPolicy {
	case "", "piv", "global":
	default:
		return nil, fmt.Errorf("--pin-policy %q: want piv or global", c.pinPolicy)
	}
	if c.port < 1 || c.port > 65535 {
		return nil, fmt.Errorf("--port %d out of range", c.port)
	}
	if c.pinpadPort < 0 || c.pinpadPort > 65535 {
		return nil, fmt.Errorf("--pinpad-port %d out of range", c.pinpadPort)
	}
	if c.serial > 0xFFFFFFFF {
		return nil, fmt.Errorf("--serial %d does not fit in 32 bits", c.serial)
	}
	if c.send != "" && c.control == "" {
		return nil, errors.New("--send needs --control PATH")
	}
	if c.removeAfter < 0 {
		return nil, errors.New("--remove-after must not be negative")
	}
	for name, d := range map[string]time.Duration{"latency-apdu": c.latency.APDU, "latency-rsa": c.latency.RSA,
		"latency-ec": c.latency.EC, "latency-keygen": c.latency.Keygen, "auto-touch": c.autoTouch} {
		if d < 0 {
			return nil, fmt.Errorf("--%s %v must not be negative", name, d)
		}
	}
	if c.touchTimeout <= 0 {
		return nil, fmt.Errorf("--touch-timeout %v must be positive", c.touchTimeout)
	}
	return c, nil
}

func main() {
	// Every line goes through pcsc11's one log handler. PCSC11_DEBUG is heard;
	// PCSC11_LOG is not: it names the module's log, and the card's own lines belong on
	// its stderr (the rig and the e2e scripts keep them apart).
	logging.SetProgram("pcsc11-vpiv")
	logging.Configure(func(k string) string {
		if k == "PCSC11_LOG" {
			return ""
		}
		return os.Getenv(k)
	})
	cfg, err := parseFlags(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		logging.Errorf("%v", err)
		os.Exit(2)
	}
	if cfg.printRoot {
		if err := pem.Encode(os.Stdout, &pem.Block{Type: "CERTIFICATE", Bytes: vpiv.AttestationRoot().Raw}); err != nil {
			logging.Errorf("%v", err)
			os.Exit(1)
		}
		return
	}
	if cfg.send != "" {
		if err := send(cfg.control, cfg.send, os.Stdout); err != nil {
			logging.Errorf("%v", err)
			os.Exit(1)
		}
		return
	}
	if err := run(cfg); err != nil {
		logging.Errorf("%v", err)
		os.Exit(1)
	}
}

func run(cfg *config) error {
	inj, err := vpcd.NewInjector(cfg.inject, cfg.injectEvery, cfg.injectDelay)
	if err != nil {
		return err
	}
	card, fresh, err := openCard(cfg)
	if err != nil {
		return err
	}
	if vpcd.ObjectMode(cfg.inject) {
		tag, err := strconv.ParseUint(cfg.injectObject, 16, 24)
		if err != nil {
			return fmt.Errorf("--inject-object %q: want a hex tag such as 5FC10B", cfg.injectObject)
		}
		if err := card.CorruptObject(uint32(tag), cfg.inject); err != nil {
			return err
		}
		logging.Infof("--inject %s: container %06X corrupted", cfg.inject, tag)
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	ctx, quit := context.WithCancel(ctx)
	defer quit()

	client := &vpcd.Client{
		Addr:   net.JoinHostPort(cfg.host, strconv.Itoa(cfg.port)),
		Card:   card,
		Inject: inj,
		Logf:   logging.Infof,
		Trace:  cfg.trace,
	}
	if lat := cfg.latency; lat != (vpiv.Latency{}) {
		client.Latency = func() time.Duration { return lat.Delay(card.LastWork()) }
		logging.Infof("latency model: %v per APDU, RSA-2048 %v, P-256 %v, P-256 keygen %v", lat.APDU, lat.RSA, lat.EC, lat.Keygen)
	}
	if cfg.pinpadPort != 0 {
		client.Addr = net.JoinHostPort(cfg.host, strconv.Itoa(cfg.pinpadPort))
		client.PINPad = &pinpad.Keypad{}
	}
	logging.Infof("virtual PIV card ready (profile=%s, new=%t, state=%q, provision=%q, inject=%q); connecting to vpcd at %s",
		card.Profile().Name, fresh, cfg.state, cfg.provision, cfg.inject, client.Addr)

	if cfg.control != "" {
		ct := &vpcd.Controller{Client: client, Quit: quit, Stats: func(c vpcd.Card) (uint64, uint64, uint64) {
			return c.(*vpiv.Card).APDUCount()
		}, Touch: card.Touch, TouchWaiting: card.TouchWaiting}
		wait, err := vpcd.ListenControl(ctx, cfg.control, ct, logging.Infof)
		if err != nil {
			return err
		}
		defer wait()
	}

	usr := make(chan os.Signal, 4)
	signal.Notify(usr, syscall.SIGUSR1, syscall.SIGUSR2)
	defer signal.Stop(usr)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case s := <-usr:
				if s == syscall.SIGUSR1 {
					logging.Infof("SIGUSR1: removing the card")
					client.Remove()
				} else {
					logging.Infof("SIGUSR2: inserting the card")
					client.Insert()
				}
			}
		}
	}()
	if cfg.removeAfter > 0 {
		t := time.AfterFunc(cfg.removeAfter, func() {
			logging.Infof("--remove-after %v: removing the card", cfg.removeAfter)
			client.Remove()
		})
		defer t.Stop()
	}

	err = client.Run(ctx)
	if errors.Is(err, context.Canceled) {
		n, in, out := card.APDUCount()
		logging.Infof("stopped after %d APDUs (%d bytes in, %d bytes out)", n, in, out)
		return nil
	}
	return err
}

// openCard builds the engine and applies --provision. The engine leaves a card that
// already holds any demo key or certificate alone, so a restart with the same --state
// keeps what tests wrote to the card.
func openCard(cfg *config) (card *vpiv.Card, fresh bool, err error) {
	fresh = true
	if cfg.state != "" {
		if _, err := os.Stat(cfg.state); err == nil {
			fresh = false
		} else if !errors.Is(err, os.ErrNotExist) {
			return nil, false, fmt.Errorf("state file: %w", err)
		}
	}
	mgmtAlg, _ := vpiv.MgmtAlgByName(cfg.mgmtAlg) // checked by parseFlags
	card, err = vpiv.New(vpiv.Options{Serial: uint32(cfg.serial), StatePath: cfg.state, Profile: cfg.profile,
		MgmtAlg: mgmtAlg, GlobalPINPrimary: cfg.pinPolicy == "global",
		TouchTimeout: cfg.touchTimeout, AutoTouch: cfg.autoTouch})
	if err != nil {
		return nil, false, fmt.Errorf("virtual card: %w", err)
	}
	if cfg.provision != "" {
		if err := card.Provision(cfg.provision); err != nil {
			return nil, false, fmt.Errorf("provision %s: %w", cfg.provision, err)
		}
	}
	return card, fresh, nil
}
