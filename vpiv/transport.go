package vpiv

import (
	"errors"

	"github.com/pcsc11/pcsc11/apdu"
)

// Transport limits.
const (
	// maxChain bounds the data collected by command chaining (the largest legitimate
	// chained command is PUT DATA of a full object or IMPORT KEY of RSA-4096).
	maxChain = 16 * 1024
	// shortChunk is what one short response carries (Le = 00 means 256, ISO 7816-4 §5.1).
	shortChunk = 256
	extChunk   = 65536
)

const (
	insSelect      = 0xA4
	insGetResponse = 0xC0
	insVerify      = 0x20
	insChangeRef   = 0x24
	insResetRetry  = 0x2C
	insGenAuth     = 0x87
	insGenerate    = 0x47
	insGetData     = 0xCB
	insPutData     = 0xDB
	insGetVersion  = 0xFD
	insGetSerial   = 0xF8
	insSetMgmtKey  = 0xFF
	insImportKey   = 0xFE
	insReset       = 0xFB
	insSetRetries  = 0xFA
	insAttest      = 0xF9
	insGetMetadata = 0xF7
	insMoveKey     = 0xF6
)

// errPersist marks a state file write failure (answered 6581, memory failure).
var errPersist = errors.New("vpiv: state not saved")

// Process executes one raw command APDU and returns the raw response APDU (data
// followed by SW1 SW2). It never panics: an internal failure answers 6F00.
func (c *Card) Process(raw []byte) (resp []byte) {
	c.opMu.Lock()
	defer c.opMu.Unlock()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cmds++
	c.bytesIn += uint64(len(raw))
	c.lastWork = Work{}
	defer func() {
		if r := recover(); r != nil {
			c.chain, c.chaining, c.pending = nil, false, nil
			resp = swBytes(apdu.SWUnknown)
		}
		c.bytesOut += uint64(len(resp))
	}()
	c.poweredOn = true
	return c.process(raw)
}

func (c *Card) process(raw []byte) []byte {
	cmd, err := apdu.ParseCommand(raw)
	if err != nil {
		c.chain, c.chaining, c.pending = nil, false, nil
		return swBytes(apdu.SWWrongLength)
	}
	ext := apdu.Extended(raw)
	// Only the interindustry class without secure messaging or logical channels, with
	// or without the chaining bit (ISO 7816-4 §5.4.1).
	if cmd.CLA&^0x10 != 0 {
		return swBytes(apdu.SWClaNotSupported)
	}

	if cmd.INS == insGetResponse && !c.chaining {
		return c.getResponse(cmd, ext)
	}
	c.pending = nil // any other command drops an unread response

	hdr := [3]byte{cmd.INS, cmd.P1, cmd.P2}
	if cmd.CLA&0x10 != 0 {
		// One link of a chain: collect, answer 9000. A chain for a different command
		// replaces an abandoned one.
		if !c.chaining || c.chainHdr != hdr {
			c.chain, c.chainHdr, c.chaining = nil, hdr, true
		}
		if len(c.chain)+len(cmd.Data) > maxChain {
			c.chain, c.chaining = nil, false
			return swBytes(apdu.SWWrongLength)
		}
		c.chain = append(c.chain, cmd.Data...)
		return swBytes(apdu.SWOK)
	}
	if c.chaining {
		if c.chainHdr != hdr {
			// The last link must repeat the chain's header (ISO 7816-4 §5.3.3).
			c.chain, c.chaining = nil, false
			return swBytes(apdu.SWLastOfChainExpected)
		}
		cmd.Data = append(c.chain, cmd.Data...)
		c.chain, c.chaining = nil, false
	}

	c.dirty = false
	data, sw := c.dispatch(cmd)
	if c.dirty && c.opts.StatePath != "" {
		c.dirty = false
		if err := c.save(); err != nil {
			return swBytes(apdu.SWMemoryFailure)
		}
	}
	return c.shape(data, sw, cmd.Ne, ext)
}

// dispatch runs a complete command.
func (c *Card) dispatch(cmd apdu.Command) ([]byte, uint16) {
	if cmd.INS == insSelect {
		c.pinJust = false
		return c.selectApp(cmd)
	}
	if c.otpSelected {
		return c.otpCommand(cmd)
	}
	if !c.selected {
		// No application selected: the card knows no instruction but SELECT.
		return nil, apdu.SWInsNotSupported
	}
	if !c.prof.knowsINS(cmd.INS) {
		return nil, apdu.SWInsNotSupported // as the real card: this one has no such command
	}
	// PIN policy "always": only the command right after a successful VERIFY may use
	// the key. Take the flag now so every other command clears it.
	justVerified := c.pinJust
	if cmd.INS != insVerify {
		c.pinJust = false
	}
	switch cmd.INS {
	case insVerify:
		return c.verify(cmd)
	case insChangeRef:
		return c.changeReference(cmd)
	case insResetRetry:
		return c.resetRetry(cmd)
	case insGetData:
		return c.getData(cmd)
	case insPutData:
		return c.putData(cmd)
	case insGenAuth:
		return c.generalAuthenticate(cmd, justVerified)
	case insGenerate:
		return c.generate(cmd)
	case insGetVersion:
		return c.getVersion(cmd)
	case insGetSerial:
		return c.getSerial(cmd)
	case insSetMgmtKey:
		return c.setManagementKey(cmd)
	case insImportKey:
		return c.importKey(cmd)
	case insReset:
		return c.resetApplet(cmd)
	case insSetRetries:
		return c.setRetries(cmd)
	case insAttest:
		return c.attest(cmd)
	case insGetMetadata:
		return c.getMetadata(cmd)
	case insMoveKey:
		return c.moveKey(cmd)
	}
	return nil, apdu.SWInsNotSupported
}

// shape sends at most one chunk (Ne bytes, else 256 for a short and 65536 for an
// extended command) and keeps the rest for GET RESPONSE, announced by 61xx.
func (c *Card) shape(data []byte, sw uint16, ne int, ext bool) []byte {
	if sw != apdu.SWOK {
		data = nil
	}
	limit := shortChunk
	if ext {
		limit = extChunk
	}
	if ne > 0 && ne < limit {
		limit = ne
	}
	if len(data) <= limit {
		return appendSW(append([]byte(nil), data...), sw)
	}
	c.pending = append([]byte(nil), data[limit:]...)
	return appendSW(append([]byte(nil), data[:limit]...), moreSW(len(c.pending)))
}

// getResponse hands out the next chunk of a pending response (ISO 7816-4 §7.6.1).
func (c *Card) getResponse(cmd apdu.Command, ext bool) []byte {
	if c.pending == nil {
		return swBytes(apdu.SWConditionsNotSatisfied)
	}
	if cmd.P1 != 0 || cmd.P2 != 0 || len(cmd.Data) != 0 {
		c.pending = nil
		return swBytes(apdu.SWIncorrectP1P2)
	}
	data := c.pending
	c.pending = nil
	return c.shape(data, apdu.SWOK, cmd.Ne, ext)
}

// moreSW is 61xx with xx = bytes left, 00 standing for 256 or more.
func moreSW(left int) uint16 {
	if left >= 256 {
		return 0x6100
	}
	return 0x6100 | uint16(left)
}

func appendSW(b []byte, sw uint16) []byte { return append(b, byte(sw>>8), byte(sw)) }

func swBytes(sw uint16) []byte { return []byte{byte(sw >> 8), byte(sw)} }
