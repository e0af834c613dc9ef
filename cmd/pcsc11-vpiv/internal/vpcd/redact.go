package vpcd

import (
	"encoding/hex"
	"fmt"
)

// publicINS lists the instructions whose command data carries no secret, so a trace
// may show it. Everything else (VERIFY 20, CHANGE REFERENCE DATA 24, RESET RETRY
// COUNTER 2C, GENERAL AUTHENTICATE 87 with the management key, SET MANAGEMENT KEY FF,
// IMPORT KEY FE, PUT DATA DB which may hold a PIN-protected management key, and
// anything unknown) is shown as a length only. An allow list fails safe when the
// engine learns a new command.
var publicINS = map[byte]bool{
	0xA4: true, // SELECT
	0xCB: true, // GET DATA (the tag list only)
	0xC0: true, // GET RESPONSE
	0xFD: true, // GET VERSION
	0xF8: true, // GET SERIAL
	0xF7: true, // GET METADATA
	0xF9: true, // ATTEST
	0x47: true, // GENERATE ASYMMETRIC KEY PAIR (algorithm and policies)
}

// DescribeCommand renders a command APDU for a trace line: the header always, the
// data only for public instructions.
func DescribeCommand(cmd []byte) string {
	if len(cmd) < 4 {
		return fmt.Sprintf("short command (%d bytes)", len(cmd))
	}
	head := fmt.Sprintf("%02X %02X %02X %02X", cmd[0], cmd[1], cmd[2], cmd[3])
	body := cmd[4:]
	if len(body) == 0 {
		return head
	}
	if len(body) == 1 {
		return fmt.Sprintf("%s Le=%02X", head, body[0]) // case 2: no data to hide
	}
	if !publicINS[cmd[1]] {
		// Show the short-form Lc when it is consistent, so that a trace still tells
		// a PIN of the wrong length from a right one, without the PIN.
		if lc := int(body[0]); lc > 0 && (len(body) == 1+lc || len(body) == 2+lc) {
			return fmt.Sprintf("%s %02X [%d bytes redacted]", head, body[0], lc)
		}
		return fmt.Sprintf("%s [%d bytes redacted]", head, len(body))
	}
	return head + " " + hex.EncodeToString(body)
}

// DescribeResponse renders a response APDU for a trace line: its length and status
// word. Response data is never shown, because some of it is secret (a PIN-protected
// management key read back from the printed-information object).
func DescribeResponse(resp []byte) string {
	if len(resp) < 2 {
		return fmt.Sprintf("malformed response (%d bytes)", len(resp))
	}
	return fmt.Sprintf("%d data bytes, SW %02X%02X", len(resp)-2, resp[len(resp)-2], resp[len(resp)-1])
}
