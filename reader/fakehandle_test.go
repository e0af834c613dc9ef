package reader

import (
	"github.com/ebfe/scard"
)

// fakeHandle scripts a pcsc-lite card handle.
type fakeHandle struct {
	proto scard.Protocol
	atr   []byte

	// Queued results: the next call of each kind pops its first entry (nil: success).
	beginErrs    []error
	endErrs      []error
	transmitErrs []error
	reconnErrs   []error

	transmit     func(cmd []byte) ([]byte, error) // nil: answer 90 00
	panicOnSend  bool
	inTx         int // transactions held
	reconnects   []scard.Disposition
	disconnected int
	sent         [][]byte
}

func pop(q *[]error) error {
	if len(*q) == 0 {
		return nil
	}
	e := (*q)[0]
	*q = (*q)[1:]
	return e
}

func (f *fakeHandle) Transmit(cmd []byte) ([]byte, error) {
	if f.panicOnSend {
		panic("unknown protocol")
	}
	f.sent = append(f.sent, append([]byte(nil), cmd...))
	if err := pop(&f.transmitErrs); err != nil {
		return nil, err
	}
	if f.transmit != nil {
		return f.transmit(cmd)
	}
	return []byte{0x90, 0x00}, nil
}

func (f *fakeHandle) BeginTransaction() error {
	if err := pop(&f.beginErrs); err != nil {
		return err
	}
	f.inTx++
	return nil
}

func (f *fakeHandle) EndTransaction(scard.Disposition) error {
	if err := pop(&f.endErrs); err != nil {
		return err
	}
	f.inTx--
	return nil
}

func (f *fakeHandle) Reconnect(_ scard.ShareMode, _ scard.Protocol, d scard.Disposition) error {
	f.reconnects = append(f.reconnects, d)
	return pop(&f.reconnErrs)
}

func (f *fakeHandle) Status() (*scard.CardStatus, error) {
	return &scard.CardStatus{Atr: append([]byte(nil), f.atr...), ActiveProtocol: f.proto}, nil
}

func (f *fakeHandle) Control(code uint32, in []byte) ([]byte, error) {
	return nil, scard.ErrUnsupportedFeature
}

func (f *fakeHandle) Disconnect(scard.Disposition) error {
	f.disconnected++
	return nil
}

func (f *fakeHandle) ActiveProtocol() scard.Protocol { return f.proto }
