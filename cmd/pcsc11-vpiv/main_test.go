package main

import (
	"io"
	"strings"
	"testing"
	"time"
)

func TestParseFlags(t *testing.T) {
	c, err := parseFlags([]string{"--port", "35964", "--serial", "4242", "--provision", "demo",
		"--inject", "slow", "--inject-every", "3", "--remove-after", "2s"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.port != 35964 || c.serial != 4242 || c.provision != "demo" || c.inject != "slow" ||
		c.injectEvery != 3 || c.removeAfter != 2*time.Second || c.host != "127.0.0.1" {
		t.Fatalf("parsed %+v", c)
	}
	// The benchmark's latency model (bench/run.sh lat_args).
	c, err = parseFlags([]string{"--latency-apdu", "2ms", "--latency-rsa", "80ms", "--latency-ec", "30ms", "--latency-keygen", "50ms"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.latency.APDU != 2*time.Millisecond || c.latency.RSA != 80*time.Millisecond ||
		c.latency.EC != 30*time.Millisecond || c.latency.Keygen != 50*time.Millisecond {
		t.Fatalf("latency flags parsed as %+v", c.latency)
	}
	bad := map[string][]string{
		"latency":  {"--latency-ec", "-1ms"},
		"port":     {"--port", "0"},
		"serial":   {"--serial", "4294967296"},
		"argument": {"extra"},
		"remove":   {"--remove-after", "-1s"},
	}
	for name, args := range bad {
		if _, err := parseFlags(args, io.Discard); err == nil {
			t.Errorf("%s: %v accepted", name, args)
		}
	}
}

func TestHelpMentionsSignals(t *testing.T) {
	var b strings.Builder
	parseFlags([]string{"-h"}, &b)
	for _, want := range []string{"SIGUSR1", "SIGUSR2", "--control", "endless-61", "-latency-apdu", "-latency-rsa", "-latency-ec", "-latency-keygen"} {
		if !strings.Contains(b.String(), want) && !strings.Contains(b.String(), strings.TrimPrefix(want, "--")) {
			t.Errorf("help lacks %q", want)
		}
	}
}
