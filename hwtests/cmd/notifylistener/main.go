// Command notifylistener is a fake desktop notification service for the C ABI harness
// (hwtests/cabi/touch.inc): it owns org.freedesktop.Notifications on the session bus
// named by its argument and prints one line per call it receives:
//
//	Notify <id> <summary>
//	CloseNotification <id>
//
// It stops on SIGTERM or SIGINT.
package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/pcsc11/pcsc11/module/touchprompt/touchprompttest"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: notifylistener BUS-ADDRESS")
		os.Exit(2)
	}
	svc, leave, err := touchprompttest.Serve(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "notifylistener:", err)
		os.Exit(1)
	}
	defer leave()
	fmt.Println("ready")
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	for {
		select {
		case c := <-svc.Calls:
			if c.Method == "Notify" {
				fmt.Printf("Notify %d %s\n", c.ID, c.Summary)
			} else {
				fmt.Printf("%s %d\n", c.Method, c.ID)
			}
		case <-stop:
			return
		}
	}
}
