package main

import (
	"errors"

	"github.com/ebfe/scard"
	"github.com/pcsc11/pcsc11/reader"
	"github.com/pcsc11/pcsc11/slot"
	"github.com/pcsc11/pcsc11/slot/piv"
)

// The real PC/SC door of the CLI. Everything else in this package works on the
// reader.Backend interface so tests can run it on fakes.

func openPCSC() (reader.Backend, error) { return reader.NewPCSC() }

// pivDriver opens the PIV token as the module does; Open itself asks the reader
// for a PIN pad (FEATURE_VERIFY_PIN_DIRECT gives CKF_PROTECTED_AUTHENTICATION_PATH).
func pivDriver(c reader.Card, name string) (slot.Token, error) {
	return piv.Open(c, name, piv.Options{})
}

// directCard is an SCARD_SHARE_DIRECT connection: it reaches a reader's SCardControl
// whether or not a card is in it (the shared connections of package reader need a
// card), and leaves any card alone. Only Control and Close work.
type directCard struct {
	ctx *scard.Context
	h   *scard.Card
}

var errDirectOnly = errors.New("direct connection: control only")

// openDirect connects to reader name for control codes only.
func openDirect(name string) (reader.Card, error) {
	ctx, err := scard.EstablishContext()
	if err != nil {
		return nil, err
	}
	h, err := ctx.Connect(name, scard.ShareDirect, scard.ProtocolUndefined)
	if err != nil {
		ctx.Release()
		return nil, err
	}
	return &directCard{ctx: ctx, h: h}, nil
}

func (d *directCard) Transmit([]byte) ([]byte, error) { return nil, errDirectOnly }
func (d *directCard) BeginTransaction() error         { return errDirectOnly }
func (d *directCard) EndTransaction() error           { return errDirectOnly }
func (d *directCard) ATR() []byte                     { return nil }

// Control guards ebfe/scard, which indexes its output buffer: never let a panic out.
func (d *directCard) Control(code uint32, in []byte) (out []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, errors.New("scard: control failed")
		}
	}()
	return d.h.Control(code, in)
}

func (d *directCard) Close() error {
	err := d.h.Disconnect(scard.LeaveCard)
	d.ctx.Release()
	return err
}
