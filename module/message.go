package module

import (
	"github.com/pcsc11/pcsc11/ck"
)

// Message-based signing and verification (v3.0 spec 5.14, 5.16): one Init fixes the
// mechanism and key, then any number of messages are signed (single-part, or
// Begin/Next...), until the Final call. The mechanisms pcsc11 supports take no
// per-message parameter, so pParameter must be empty.

type msgSignCtx struct {
	tmpl          *signOp      // prepared by C_MessageSignInit, copied per message
	cur           *signOp      // the message being signed in parts, or nil
	contextAuthed bool         // CKU_CONTEXT_SPECIFIC login for the next message
	ctxHold       *contextHold // the card kept for the next message by that login
}

type msgVerifyCtx struct {
	tmpl *verifyOp
	cur  *verifyOp
}

// MessageSignInit is C_MessageSignInit.
func (l *Library) MessageSignInit(h ck.ULong, mech Mechanism, key ck.ULong) ck.ULong {
	l.mu.Lock()
	defer l.mu.Unlock()
	s, ts, rv := l.lookup(h)
	if rv != ck.CKR_OK {
		return rv
	}
	if s.msgSign != nil {
		return ck.CKR_OPERATION_ACTIVE
	}
	obj, rv := l.object(ts, key)
	if rv == ck.CKR_OBJECT_HANDLE_INVALID {
		return ck.CKR_KEY_HANDLE_INVALID
	}
	if rv != ck.CKR_OK {
		return rv
	}
	tok, rv := l.tokenOf(ts)
	if rv != ck.CKR_OK {
		return rv
	}
	op, rv := newSignOp(tok, obj, mech)
	if rv != ck.CKR_OK {
		return rv
	}
	s.msgSign = &msgSignCtx{tmpl: op}
	return ck.CKR_OK
}

// SignMessage is C_SignMessage: one whole message, size-query convention; the
// message-based process stays active.
func (l *Library) SignMessage(h ck.ULong, param, data []byte, out OutBuf) (ck.ULong, ck.ULong) {
	l.mu.Lock()
	defer l.mu.Unlock()
	s, ts, rv := l.lookup(h)
	if rv != ck.CKR_OK {
		return 0, rv
	}
	ctx := s.msgSign
	if ctx == nil {
		return 0, ck.CKR_OPERATION_NOT_INITIALIZED
	}
	if len(param) != 0 {
		return 0, ck.CKR_ARGUMENTS_BAD
	}
	if ctx.cur != nil {
		return 0, ck.CKR_OPERATION_ACTIVE
	}
	n := ck.ULong(ctx.tmpl.sigLen)
	if out.Nil {
		return n, ck.CKR_OK
	}
	if len(out.Buf) < ctx.tmpl.sigLen {
		return n, ck.CKR_BUFFER_TOO_SMALL
	}
	op := ctx.tmpl.fresh()
	defer op.wipe()
	op.contextAuthed, ctx.contextAuthed = ctx.contextAuthed, false
	op.ctxHold, ctx.ctxHold = ctx.ctxHold, nil
	if rv := op.update(data); rv != ck.CKR_OK {
		return 0, rv
	}
	return l.complete(s, ts, op, out.Buf)
}

// SignMessageBegin is C_SignMessageBegin.
func (l *Library) SignMessageBegin(h ck.ULong, param []byte) ck.ULong {
	l.mu.Lock()
	defer l.mu.Unlock()
	s, _, rv := l.lookup(h)
	if rv != ck.CKR_OK {
		return rv
	}
	ctx := s.msgSign
	if ctx == nil {
		return ck.CKR_OPERATION_NOT_INITIALIZED
	}
	if len(param) != 0 {
		return ck.CKR_ARGUMENTS_BAD
	}
	if ctx.cur != nil {
		return ck.CKR_OPERATION_ACTIVE
	}
	ctx.cur = ctx.tmpl.fresh()
	return ck.CKR_OK
}

// SignMessageNext is C_SignMessageNext. out is nil for a part with more to follow
// (pulSignatureLen NULL). A length query or CKR_BUFFER_TOO_SMALL on the last part does
// not consume the part, so the application's retry with the same part is right.
func (l *Library) SignMessageNext(h ck.ULong, param, part []byte, out *OutBuf) (ck.ULong, ck.ULong) {
	l.mu.Lock()
	defer l.mu.Unlock()
	s, ts, rv := l.lookup(h)
	if rv != ck.CKR_OK {
		return 0, rv
	}
	ctx := s.msgSign
	if ctx == nil || ctx.cur == nil {
		return 0, ck.CKR_OPERATION_NOT_INITIALIZED
	}
	op := ctx.cur
	end := func(rv ck.ULong) (ck.ULong, ck.ULong) {
		op.wipe()
		ctx.cur = nil
		return 0, rv
	}
	if len(param) != 0 {
		return end(ck.CKR_ARGUMENTS_BAD)
	}
	if out == nil {
		if rv := op.update(part); rv != ck.CKR_OK {
			return end(rv)
		}
		return 0, ck.CKR_OK
	}
	n := ck.ULong(op.sigLen)
	if out.Nil {
		return n, ck.CKR_OK
	}
	if len(out.Buf) < op.sigLen {
		return n, ck.CKR_BUFFER_TOO_SMALL
	}
	if rv := op.update(part); rv != ck.CKR_OK {
		return end(rv)
	}
	op.contextAuthed, ctx.contextAuthed = ctx.contextAuthed, false
	op.ctxHold, ctx.ctxHold = ctx.ctxHold, nil
	ctx.cur = nil // off the session while the card works (privateKeyOp)
	defer op.wipe()
	return l.complete(s, ts, op, out.Buf)
}

// MessageSignFinal is C_MessageSignFinal.
func (l *Library) MessageSignFinal(h ck.ULong) ck.ULong {
	l.mu.Lock()
	defer l.mu.Unlock()
	s, _, rv := l.lookup(h)
	if rv != ck.CKR_OK {
		return rv
	}
	if s.msgSign == nil {
		return ck.CKR_OPERATION_NOT_INITIALIZED
	}
	s.msgSign.wipe()
	s.msgSign = nil
	return ck.CKR_OK
}

// MessageVerifyInit is C_MessageVerifyInit.
func (l *Library) MessageVerifyInit(h ck.ULong, mech Mechanism, key ck.ULong) ck.ULong {
	l.mu.Lock()
	defer l.mu.Unlock()
	s, ts, rv := l.lookup(h)
	if rv != ck.CKR_OK {
		return rv
	}
	if s.msgVerify != nil {
		return ck.CKR_OPERATION_ACTIVE
	}
	op, rv := l.newVerifyOp(ts, mech, key)
	if rv == ck.CKR_OK {
		s.msgVerify = &msgVerifyCtx{tmpl: op}
	}
	return rv
}

func (op *verifyOp) fresh() *verifyOp {
	return &verifyOp{signOp: *op.signOp.fresh(), pub: op.pub}
}

// VerifyMessage is C_VerifyMessage.
func (l *Library) VerifyMessage(h ck.ULong, param, data, sig []byte) ck.ULong {
	l.mu.Lock()
	defer l.mu.Unlock()
	s, _, rv := l.lookup(h)
	if rv != ck.CKR_OK {
		return rv
	}
	ctx := s.msgVerify
	if ctx == nil {
		return ck.CKR_OPERATION_NOT_INITIALIZED
	}
	if len(param) != 0 {
		return ck.CKR_ARGUMENTS_BAD
	}
	if ctx.cur != nil {
		return ck.CKR_OPERATION_ACTIVE
	}
	op := ctx.tmpl.fresh()
	if rv := op.update(data); rv != ck.CKR_OK {
		return rv
	}
	return checkSignature(op, sig)
}

// VerifyMessageBegin is C_VerifyMessageBegin.
func (l *Library) VerifyMessageBegin(h ck.ULong, param []byte) ck.ULong {
	l.mu.Lock()
	defer l.mu.Unlock()
	s, _, rv := l.lookup(h)
	if rv != ck.CKR_OK {
		return rv
	}
	ctx := s.msgVerify
	if ctx == nil {
		return ck.CKR_OPERATION_NOT_INITIALIZED
	}
	if len(param) != 0 {
		return ck.CKR_ARGUMENTS_BAD
	}
	if ctx.cur != nil {
		return ck.CKR_OPERATION_ACTIVE
	}
	ctx.cur = ctx.tmpl.fresh()
	return ck.CKR_OK
}

// VerifyMessageNext is C_VerifyMessageNext; sig is nil while more parts follow.
func (l *Library) VerifyMessageNext(h ck.ULong, param, part, sig []byte) ck.ULong {
	l.mu.Lock()
	defer l.mu.Unlock()
	s, _, rv := l.lookup(h)
	if rv != ck.CKR_OK {
		return rv
	}
	ctx := s.msgVerify
	if ctx == nil || ctx.cur == nil {
		return ck.CKR_OPERATION_NOT_INITIALIZED
	}
	op := ctx.cur
	if len(param) != 0 {
		ctx.cur = nil
		return ck.CKR_ARGUMENTS_BAD
	}
	if rv := op.update(part); rv != ck.CKR_OK || sig == nil {
		if rv != ck.CKR_OK {
			ctx.cur = nil
		}
		return rv
	}
	ctx.cur = nil
	return checkSignature(op, sig)
}

// MessageVerifyFinal is C_MessageVerifyFinal.
func (l *Library) MessageVerifyFinal(h ck.ULong) ck.ULong {
	l.mu.Lock()
	defer l.mu.Unlock()
	s, _, rv := l.lookup(h)
	if rv != ck.CKR_OK {
		return rv
	}
	if s.msgVerify == nil {
		return ck.CKR_OPERATION_NOT_INITIALIZED
	}
	s.msgVerify = nil
	return ck.CKR_OK
}

// wipe clears the message in progress and a context-specific PIN not yet used.
func (c *msgSignCtx) wipe() {
	if c.cur != nil {
		c.cur.wipe()
	}
	c.ctxHold.wipe()
	c.ctxHold = nil
}
