package apdu

import (
	"errors"
	"fmt"
)

// Common status words (ISO 7816-4 §5.6).
const (
	SWOK                     uint16 = 0x9000
	SWWrongLength            uint16 = 0x6700
	SWSecurityNotSatisfied   uint16 = 0x6982
	SWAuthBlocked            uint16 = 0x6983
	SWConditionsNotSatisfied uint16 = 0x6985
	SWIncorrectData          uint16 = 0x6A80
	SWFuncNotSupported       uint16 = 0x6A81
	SWFileNotFound           uint16 = 0x6A82
	SWNotEnoughMemory        uint16 = 0x6A84
	SWIncorrectP1P2          uint16 = 0x6A86
	SWRefDataNotFound        uint16 = 0x6A88
	SWWrongP1P2              uint16 = 0x6B00
	SWInsNotSupported        uint16 = 0x6D00
	SWClaNotSupported        uint16 = 0x6E00
	SWUnknown                uint16 = 0x6F00

	// Added beyond the contract.
	SWVerifyFailed        uint16 = 0x6300 // 63Cx carries the retry counter
	SWRefDataNotUsable    uint16 = 0x6984
	SWCommandNotAllowed   uint16 = 0x6986
	SWLastOfChainExpected uint16 = 0x6883
	SWChainNotSupported   uint16 = 0x6884
	SWMemoryFailure       uint16 = 0x6581
)

// StatusError is a non-9000 final status word, as a typed error.
type StatusError struct {
	SW  uint16
	INS byte // the instruction that failed, for messages
}

// Error reads like "apdu: INS 20: 63C2 (verification failed, 2 retries left)".
func (e *StatusError) Error() string {
	return fmt.Sprintf("apdu: INS %02X: %04X (%s)", e.INS, e.SW, StatusText(e.SW))
}

// statusText holds the fixed meanings of ISO 7816-4 §5.6 tables 5/6 that cards we talk
// to actually return; families with a variable SW2 are handled in StatusText.
var statusText = map[uint16]string{
	0x9000:                   "success",
	0x6200:                   "warning, non-volatile memory unchanged",
	0x6281:                   "part of returned data may be corrupted",
	0x6282:                   "end of file reached before reading Ne bytes",
	0x6283:                   "selected file deactivated",
	0x6300:                   "verification failed",
	0x6400:                   "execution error, non-volatile memory unchanged",
	0x6500:                   "execution error, non-volatile memory changed",
	SWMemoryFailure:          "memory failure",
	SWWrongLength:            "wrong length",
	0x6800:                   "function in CLA not supported",
	0x6881:                   "logical channel not supported",
	0x6882:                   "secure messaging not supported",
	SWLastOfChainExpected:    "last command of the chain expected",
	SWChainNotSupported:      "command chaining not supported",
	0x6900:                   "command not allowed",
	0x6981:                   "command incompatible with file structure",
	SWSecurityNotSatisfied:   "security status not satisfied",
	SWAuthBlocked:            "authentication method blocked",
	SWRefDataNotUsable:       "reference data not usable",
	SWConditionsNotSatisfied: "conditions of use not satisfied",
	SWCommandNotAllowed:      "command not allowed, no current EF",
	0x6987:                   "expected secure messaging data objects missing",
	0x6988:                   "incorrect secure messaging data objects",
	0x6A00:                   "wrong parameters P1-P2",
	SWIncorrectData:          "incorrect parameters in the data field",
	SWFuncNotSupported:       "function not supported",
	SWFileNotFound:           "file or application not found",
	0x6A83:                   "record not found",
	SWNotEnoughMemory:        "not enough memory space in the file",
	0x6A85:                   "Nc inconsistent with TLV structure",
	SWIncorrectP1P2:          "incorrect parameters P1-P2",
	0x6A87:                   "Nc inconsistent with parameters P1-P2",
	SWRefDataNotFound:        "referenced data or reference data not found",
	0x6A89:                   "file already exists",
	0x6A8A:                   "DF name already exists",
	SWWrongP1P2:              "wrong parameters P1-P2",
	SWInsNotSupported:        "instruction code not supported or invalid",
	SWClaNotSupported:        "class not supported",
	SWUnknown:                "no precise diagnosis",
}

// StatusText is a short human-readable meaning of sw ("unknown status" when none).
func StatusText(sw uint16) string {
	if s, ok := statusText[sw]; ok {
		return s
	}
	sw1, sw2 := byte(sw>>8), byte(sw)
	switch {
	case sw1 == 0x61:
		return fmt.Sprintf("%d more bytes available", lenByte(sw2))
	case sw1 == 0x6C:
		return fmt.Sprintf("wrong Le, %d bytes available", lenByte(sw2))
	case sw&0xFFF0 == 0x63C0:
		switch n := sw2 & 0x0F; n {
		case 0:
			return "verification failed, no retries left"
		case 1:
			return "verification failed, 1 retry left"
		default:
			return fmt.Sprintf("verification failed, %d retries left", n)
		}
	case sw1 == 0x62 || sw1 == 0x63:
		return "warning"
	case sw1 == 0x64 || sw1 == 0x65 || sw1 == 0x66:
		return "execution error"
	case sw1 >= 0x67 && sw1 <= 0x6F:
		return "checking error"
	}
	return "unknown status"
}

// lenByte reads an SW2 length where 00 means 256 (61xx, 6Cxx).
func lenByte(b byte) int {
	if b == 0 {
		return 256
	}
	return int(b)
}

// SW returns the status word of a *StatusError anywhere in err's chain.
func SW(err error) (uint16, bool) {
	var se *StatusError
	if errors.As(err, &se) && se != nil {
		return se.SW, true
	}
	return 0, false
}

// IsSecurityStatusNotSatisfied reports SW 6982 (e.g. PIN not verified).
func IsSecurityStatusNotSatisfied(err error) bool {
	sw, ok := SW(err)
	return ok && sw == SWSecurityNotSatisfied
}

// IsAuthBlocked reports SW 6983 (PIN/PUK/key blocked).
func IsAuthBlocked(err error) bool {
	sw, ok := SW(err)
	return ok && sw == SWAuthBlocked
}

// IsNotFound reports SW 6A82 (file/application) or 6A88 (referenced data, e.g. an empty
// PIV data object or key slot).
func IsNotFound(err error) bool {
	sw, ok := SW(err)
	return ok && (sw == SWFileNotFound || sw == SWRefDataNotFound)
}

// RetriesLeft reports x for 63Cx (true), else (0,false).
func RetriesLeft(err error) (int, bool) {
	sw, ok := SW(err)
	if !ok || sw&0xFFF0 != 0x63C0 {
		return 0, false
	}
	return int(sw & 0x000F), true
}
