package module

import (
	"github.com/pcsc11/pcsc11/ck"
)

// SessionCancel is C_SessionCancel (3.0, 5.6 "C_SessionCancel"): ends the flagged
// operations of the session.
//
// An operation whose card exchange is running (a signature waiting for a YubiKey
// touch, a slow RSA decryption) cannot be stopped: PC/SC has no way to abort an
// SCardTransmit in progress (SCardCancel only ends SCardGetStatusChange; pcscd holds
// the reader for the whole exchange, so a reset from another handle waits behind it).
// Such an operation answers CKR_OPERATION_CANCEL_FAILED, as the specification
// requires when an operation "cannot be cancelled"; the others flagged are cancelled.
// docs/conformance.md says more.
func (l *Library) SessionCancel(h, flags ck.ULong) ck.ULong {
	l.mu.Lock()
	defer l.mu.Unlock()
	s, _, rv := l.lookup(h)
	if rv != ck.CKR_OK {
		return rv
	}
	result := ck.CKR_OK
	for _, op := range l.detached(h) {
		if op.flags&flags != 0 {
			result = ck.CKR_OPERATION_CANCEL_FAILED
		}
	}
	for _, c := range []struct {
		flag ck.ULong
		op   Op
	}{{ck.CKF_SIGN, OpSign}, {ck.CKF_VERIFY, OpVerify}, {ck.CKF_DECRYPT, OpDecrypt},
		{ck.CKF_ENCRYPT, OpEncrypt}, {ck.CKF_DIGEST, OpDigest}} {
		if flags&c.flag != 0 {
			s.endOp(c.op)
		}
	}
	// The 3.0 message-based operations (C_MessageSignInit, C_MessageVerifyInit) have
	// flags of their own (spec 5.6 C_SessionCancel, CK_MECHANISM_INFO flags).
	if flags&ckfMessageSign != 0 && s.msgSign != nil {
		s.msgSign.wipe()
		s.msgSign = nil
	}
	if flags&ckfMessageVerify != 0 {
		s.msgVerify = nil
	}
	if flags&ckfFindObjects != 0 {
		s.find = nil
	}
	return result
}

// CKF_FIND_OBJECTS, the C_SessionCancel flag for an object search (spec 3.5, table of
// CK_MECHANISM_INFO flags: 0x00000040).
const ckfFindObjects ck.ULong = 0x40

// CKF_MESSAGE_SIGN and CKF_MESSAGE_VERIFY (spec 3.5, CK_MECHANISM_INFO flags).
const (
	ckfMessageSign   ck.ULong = 0x08
	ckfMessageVerify ck.ULong = 0x10
)
