package module

import (
	"github.com/pcsc11/pcsc11/ck"
)

// Message-based signing and verification (v3.0 spec 5.14, 5.16): one Init fixes the
// mechanism and key, then any number of messages are signed (single-part, or
// Begin/Next...), until the Final call. Each message is an operation of the engine
// (operation.go) at OpMessageSign or OpMessageVerify. The mechanisms pcsc11 supports
// take no per-message parameter, so pParameter must be empty.

// MessageSignInit is C_MessageSignInit (spec 5.14.1).
func (l *Library) MessageSignInit(h ck.ULong, mech Mechanism, key ck.ULong) ck.ULong {
	return l.initOp(h, OpMessageSign, func(ts *tokenState) (family, *contextAuth, ck.ULong) { return l.newSignOp(ts, mech, key) })
}

// SignMessage is C_SignMessage: one whole message, size-query convention; the
// message-based process stays active.
func (l *Library) SignMessage(h ck.ULong, param, data []byte, out OutBuf) (ck.ULong, ck.ULong) {
	return l.oneMessage(h, OpMessageSign, param, data, out, nil)
}

// SignMessageBegin is C_SignMessageBegin.
func (l *Library) SignMessageBegin(h ck.ULong, param []byte) ck.ULong {
	return l.beginMessage(h, OpMessageSign, param)
}

// SignMessageNext is C_SignMessageNext. out is nil for a part with more to follow
// (pulSignatureLen NULL). A length query or CKR_BUFFER_TOO_SMALL on the last part does
// not consume the part, so the application's retry with the same part is right.
func (l *Library) SignMessageNext(h ck.ULong, param, part []byte, out *OutBuf) (ck.ULong, ck.ULong) {
	if out == nil {
		return l.nextMessage(h, OpMessageSign, param, part, false, OutBuf{}, nil)
	}
	return l.nextMessage(h, OpMessageSign, param, part, true, *out, nil)
}

// MessageSignFinal is C_MessageSignFinal.
func (l *Library) MessageSignFinal(h ck.ULong) ck.ULong {
	return l.endMessages(h, OpMessageSign)
}

// MessageVerifyInit is C_MessageVerifyInit (spec 5.16.1).
func (l *Library) MessageVerifyInit(h ck.ULong, mech Mechanism, key ck.ULong) ck.ULong {
	return l.initOp(h, OpMessageVerify, func(ts *tokenState) (family, *contextAuth, ck.ULong) { return l.newVerifyOp(ts, mech, key) })
}

// VerifyMessage is C_VerifyMessage.
func (l *Library) VerifyMessage(h ck.ULong, param, data, sig []byte) ck.ULong {
	_, rv := l.oneMessage(h, OpMessageVerify, param, data, OutBuf{}, sig)
	return rv
}

// VerifyMessageBegin is C_VerifyMessageBegin.
func (l *Library) VerifyMessageBegin(h ck.ULong, param []byte) ck.ULong {
	return l.beginMessage(h, OpMessageVerify, param)
}

// VerifyMessageNext is C_VerifyMessageNext; sig is nil while more parts follow.
func (l *Library) VerifyMessageNext(h ck.ULong, param, part, sig []byte) ck.ULong {
	_, rv := l.nextMessage(h, OpMessageVerify, param, part, sig != nil, OutBuf{}, sig)
	return rv
}

// MessageVerifyFinal is C_MessageVerifyFinal.
func (l *Library) MessageVerifyFinal(h ck.ULong) ck.ULong {
	return l.endMessages(h, OpMessageVerify)
}

// withMessages runs do for the message-based process of kind on session h (l.mu held
// for do). A non-empty parameter is refused: no mechanism of ours takes one.
func (l *Library) withMessages(h ck.ULong, kind Op, param []byte, do func(s *session, ts *tokenState, m *messages) (ck.ULong, ck.ULong)) (ck.ULong, ck.ULong) {
	return withSessionValue(l, h, func(s *session, ts *tokenState) (ck.ULong, ck.ULong) {
		switch {
		case s.msgs[kind] == nil:
			return 0, ck.CKR_OPERATION_NOT_INITIALIZED
		case len(param) != 0:
			s.endOp(kind) // for a part of a message, the failure ends the message (5.14.4)
			return 0, ck.CKR_ARGUMENTS_BAD
		}
		return do(s, ts, s.msgs[kind])
	})
}

// oneMessage is C_SignMessage and C_VerifyMessage: a message in a single part (spec
// 5.14.2: not in the middle of a message in parts).
func (l *Library) oneMessage(h ck.ULong, kind Op, param, data []byte, out OutBuf, sig []byte) (ck.ULong, ck.ULong) {
	return l.withMessages(h, kind, param, func(s *session, ts *tokenState, m *messages) (ck.ULong, ck.ULong) {
		if s.ops[kind] != nil {
			return 0, ck.CKR_OPERATION_ACTIVE
		}
		msg := m.next()
		return l.finish(s, ts, &msg, data, true, out, sig)
	})
}

// beginMessage is C_SignMessageBegin and C_VerifyMessageBegin.
func (l *Library) beginMessage(h ck.ULong, kind Op, param []byte) ck.ULong {
	_, rv := l.withMessages(h, kind, param, func(s *session, _ *tokenState, m *messages) (ck.ULong, ck.ULong) {
		if s.ops[kind] != nil {
			return 0, ck.CKR_OPERATION_ACTIVE
		}
		s.ops[kind] = m.next()
		return 0, ck.CKR_OK
	})
	return rv
}

// nextMessage is C_SignMessageNext and C_VerifyMessageNext: a part, and with the last
// one the result. An error ends the message (spec 5.14.4), not the process.
func (l *Library) nextMessage(h ck.ULong, kind Op, param, part []byte, last bool, out OutBuf, sig []byte) (ck.ULong, ck.ULong) {
	return l.withMessages(h, kind, param, func(s *session, ts *tokenState, _ *messages) (ck.ULong, ck.ULong) {
		switch {
		case s.ops[kind] == nil:
			return 0, ck.CKR_OPERATION_NOT_INITIALIZED
		case !last:
			return 0, s.update(kind, part)
		}
		return l.finish(s, ts, &s.ops[kind], part, true, out, sig)
	})
}

// endMessages is C_MessageSignFinal and C_MessageVerifyFinal.
func (l *Library) endMessages(h ck.ULong, kind Op) ck.ULong {
	_, rv := l.withMessages(h, kind, nil, func(s *session, _ *tokenState, _ *messages) (ck.ULong, ck.ULong) {
		s.endProcess(kind)
		return 0, ck.CKR_OK
	})
	return rv
}
