// Command waitcard waits until a PC/SC reader shows a card (or, with -absent, no card)
// and prints the reader's name. hwtests/rig.sh uses it to know the virtual card is up.
//
//	waitcard -reader "Virtual PCD 00 00" -timeout 20s
//	waitcard -match "(pcsc11 virtual) 00 00" -match "Virtual PCD 00 00" -absent
//	waitcard -probe       (exit 0 when pcscd answers)
//
// Exit status 0 when the state was reached, 1 on timeout, 2 on bad usage.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/pcsc11/pcsc11/hwtests/internal/pcscwait"
)

func main() {
	reader := flag.String("reader", "", "exact reader name")
	var match []string
	flag.Func("match", "wait for any reader whose name contains this (repeatable)", func(s string) error {
		match = append(match, s)
		return nil
	})
	absent := flag.Bool("absent", false, "wait for the card to be absent instead of present")
	timeout := flag.Duration("timeout", 20*time.Second, "give up after this long")
	probe := flag.Bool("probe", false, "only check that pcscd answers (exit 0) or not (exit 1)")
	flag.Parse()
	if *probe {
		if err := pcscwait.Probe(); err != nil {
			fmt.Fprintln(os.Stderr, "waitcard:", err)
			os.Exit(1)
		}
		return
	}
	if (*reader == "") == (len(match) == 0) || flag.NArg() != 0 {
		fmt.Fprintln(os.Stderr, "waitcard: give exactly one of -reader NAME or -match SUBSTRING")
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	name, err := pcscwait.Wait(ctx, pcscwait.Match{Exact: *reader, Substrs: match}, !*absent)
	if err != nil {
		fmt.Fprintln(os.Stderr, "waitcard:", err)
		os.Exit(1)
	}
	fmt.Println(name)
}
