// Command holdcard connects to the card in a reader with SCARD_SHARE_EXCLUSIVE and
// keeps it until it is stopped (SIGTERM or SIGINT): the "another program
// holds the card" situation, as scdaemon creates it, for tests of pcsc11 doctor and the
// module.
//
//	holdcard -reader "Yubico YubiKey (pcsc11 virtual) 00 00"
//
// It prints "held" once the connection is made. Exit status 0 when stopped, 1 when the
// card cannot be held.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/ebfe/scard"
)

func main() {
	name := flag.String("reader", "", "exact reader name")
	flag.Parse()
	if *name == "" || flag.NArg() != 0 {
		fmt.Fprintln(os.Stderr, "holdcard: -reader NAME")
		os.Exit(2)
	}
	ctx, err := scard.EstablishContext()
	if err != nil {
		fmt.Fprintln(os.Stderr, "holdcard:", err)
		os.Exit(1)
	}
	defer ctx.Release()
	card, err := ctx.Connect(*name, scard.ShareExclusive, scard.ProtocolAny)
	if err != nil {
		fmt.Fprintln(os.Stderr, "holdcard:", err)
		os.Exit(1)
	}
	defer card.Disconnect(scard.LeaveCard)
	fmt.Println("held")
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	<-stop
}
