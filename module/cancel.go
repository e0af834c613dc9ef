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
	return l.withSession(h, func(s *session, _ *tokenState) ck.ULong {
		result := ck.CKR_OK
		for _, op := range l.detached(h) {
			if op.flags&flags != 0 {
				result = ck.CKR_OPERATION_CANCEL_FAILED
			}
		}
		for k, flag := range cancelFlag {
			if flag != 0 && flags&flag != 0 {
				s.endProcess(Op(k))
			}
		}
		if flags&ckfFindObjects != 0 {
			s.find = nil
		}
		return result
	})
}

// CKF_FIND_OBJECTS, the C_SessionCancel flag for an object search (spec 3.5, table of
// CK_MECHANISM_INFO flags: 0x00000040).
const ckfFindObjects ck.ULong = 0x40
