package module

import (
	"github.com/pcsc11/pcsc11/ck"
)

// SessionCancel is C_SessionCancel (3.0): ends the flagged operations of the session.
func (l *Library) SessionCancel(h, flags ck.ULong) ck.ULong {
	l.mu.Lock()
	defer l.mu.Unlock()
	s, _, rv := l.lookup(h)
	if rv != ck.CKR_OK {
		return rv
	}
	if flags&ck.CKF_SIGN != 0 && s.sign != nil {
		s.sign.wipe()
		s.sign = nil
	}
	if flags&ck.CKF_VERIFY != 0 {
		s.verify = nil
	}
	if flags&ck.CKF_DECRYPT != 0 && s.decrypt != nil {
		s.decrypt.wipe()
		s.decrypt = nil
	}
	if flags&ck.CKF_ENCRYPT != 0 {
		s.encrypt = nil
	}
	if flags&ck.CKF_DIGEST != 0 {
		s.digest = nil
	}
	if flags&ckfFindObjects != 0 {
		s.find = nil
	}
	return ck.CKR_OK
}

// CKF_FIND_OBJECTS, the C_SessionCancel flag for an object search (spec 3.5, table of
// CK_MECHANISM_INFO flags: 0x00000040).
const ckfFindObjects ck.ULong = 0x40
