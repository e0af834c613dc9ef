package apdu

// THIS FILE IS THE API CONTRACT other packages are written against (vpiv, slot/piv,
// reader). The apdu implementer replaces these stubs with real code in proper files
// (command.go, response.go, status.go, exchange.go, tlv.go) and deletes this file, but
// keeps every exported name and signature below.

// Command is an ISO 7816-4 command APDU.
type Command struct {
	CLA, INS, P1, P2 byte
	Data             []byte
	// Ne is the expected response length: 0 = no Le field; 1..256 short (256 encodes as
	// Le=00); up to 65536 extended (65536 encodes as 0000).
	Ne int
}

// Encode serializes c. Short form when Data ≤ 255 bytes and Ne ≤ 256 and !extended;
// extended form otherwise (or when extended is true). Errors on Data > 65535 or bad Ne.
func (c Command) Encode(extended bool) ([]byte, error) { panic("todo") }

// ParseCommand decodes a raw command APDU (cases 1, 2S, 3S, 4S, 2E, 3E, 4E) strictly.
// Used by the virtual card. Malformed input is an error (never a panic).
func ParseCommand(raw []byte) (Command, error) { panic("todo") }

// Response is a response APDU.
type Response struct {
	Data []byte
	SW   uint16
}

// ParseResponse splits raw into data and SW1SW2; error when len(raw) < 2.
func ParseResponse(raw []byte) (Response, error) { panic("todo") }

// Bytes serializes r (data || SW1 SW2).
func (r Response) Bytes() []byte { panic("todo") }

// Common status words.
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
)

// StatusError is a non-9000 final status word, as a typed error.
type StatusError struct {
	SW  uint16
	INS byte // the instruction that failed, for messages
}

func (e *StatusError) Error() string { panic("todo") }

// Helpers that look through wrapped errors (errors.As):
func IsSecurityStatusNotSatisfied(err error) bool { panic("todo") } // 6982
func IsAuthBlocked(err error) bool                { panic("todo") } // 6983
func IsNotFound(err error) bool                   { panic("todo") } // 6A82 / 6A88
func SW(err error) (uint16, bool)                 { panic("todo") } // the SW of a StatusError
// RetriesLeft reports x for 63Cx (true), else (0,false).
func RetriesLeft(err error) (int, bool) { panic("todo") }

// Transmitter sends one raw APDU and returns the raw response (reader.Card satisfies it).
type Transmitter interface {
	Transmit(cmd []byte) ([]byte, error)
}

// Options for Exchange.
type Options struct {
	// Extended: send data over 255 bytes in one extended APDU instead of chaining.
	Extended bool
	// MaxResponse bounds the total collected response (61xx chain); default 64 KiB.
	MaxResponse int
}

// Exchange sends cmd with command chaining (CLA|0x10 on all but the last block of 255)
// when Data > 255 and !opts.Extended, follows 61xx with GET RESPONSE (00 C0 00 00 xx)
// collecting the data, re-sends once with Le=xx on 6Cxx, and returns the data for 9000
// or a *StatusError for any other final SW (63Cx included). Transport errors pass
// through unchanged. Bounded: no infinite 61xx loop, no response over MaxResponse.
func Exchange(t Transmitter, cmd Command, opts Options) ([]byte, error) { panic("todo") }

// ---- BER-TLV (ISO 7816-4 / X.690 subset as used by PIV), strict and bounded ----

// TLV is one decoded element. Tag is the full tag bytes as a number (e.g. 0x5FC102,
// 0x7F49, 0x53). Value aliases the input buffer.
type TLV struct {
	Tag   uint32
	Value []byte
}

// MaxDepth bounds nesting for ParseTree-like helpers.
const MaxDepth = 16

// ParseTLV reads one TLV at the start of b; returns it and the rest. Errors on
// truncation, lengths beyond the buffer, tags longer than 4 bytes, length fields
// longer than 4 bytes (0x84), indefinite length (0x80).
func ParseTLV(b []byte) (TLV, []byte, error) { panic("todo") }

// ParseAll reads a sequence of TLVs that must exactly fill b.
func ParseAll(b []byte) ([]TLV, error) { panic("todo") }

// Find returns the value of the first TLV with tag in a sequence that exactly fills b.
func Find(b []byte, tag uint32) ([]byte, bool, error) { panic("todo") }

// EncodeTLV encodes tag (minimal bytes for the number given) and value with a
// definite, minimal-length encoding (81/82/83 forms).
func EncodeTLV(tag uint32, value []byte) []byte { panic("todo") }

// AppendTLV appends EncodeTLV(tag, value) to dst.
func AppendTLV(dst []byte, tag uint32, value []byte) []byte { panic("todo") }
