package reader

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// PC/SC v2 part 10 feature discovery (PIN-pad readers).

// IOCTLGetFeatureRequest is CM_IOCTL_GET_FEATURE_REQUEST = SCARD_CTL_CODE(3400) as
// pcsc-lite computes it (0x42000000 + 3400).
const IOCTLGetFeatureRequest uint32 = 0x42000000 + 3400

// Feature tags of PC/SC v2 part 10 that pcsc11 uses.
const (
	FeatureVerifyPINDirect  byte = 0x06
	FeatureModifyPINDirect  byte = 0x07
	FeatureIFDPINProperties byte = 0x0A
	FeatureGetTLVProperties byte = 0x12
)

// FeatureSet holds the control codes a reader announced; 0 means absent.
type FeatureSet struct {
	VerifyPINDirect  uint32
	ModifyPINDirect  uint32
	IFDPINProperties uint32
	GetTLVProperties uint32
}

// PINPad reports whether the reader can take a PIN on its own keypad.
func (f FeatureSet) PINPad() bool { return f.VerifyPINDirect != 0 }

// ErrBadFeatures: the reader's feature list is malformed.
var ErrBadFeatures = errors.New("reader: malformed part 10 feature list")

// ParseFeatures decodes the answer to CM_IOCTL_GET_FEATURE_REQUEST: records of
// tag(1) length(1)=4 control-code(4, big-endian). Anything else (a length other than 4,
// a truncated record, a zero code, a tag twice) rejects the whole answer: a reader that
// cannot describe itself is treated as a plain reader. Unknown tags are skipped.
func ParseFeatures(b []byte) (FeatureSet, error) {
	var fs FeatureSet
	var seen [256]bool
	for off := 0; off < len(b); off += 6 {
		if len(b)-off < 6 {
			return FeatureSet{}, fmt.Errorf("%w: %d trailing bytes", ErrBadFeatures, len(b)-off)
		}
		tag, l := b[off], b[off+1]
		if l != 4 {
			return FeatureSet{}, fmt.Errorf("%w: tag %02x has length %d", ErrBadFeatures, tag, l)
		}
		code := binary.BigEndian.Uint32(b[off+2 : off+6])
		if code == 0 {
			return FeatureSet{}, fmt.Errorf("%w: tag %02x has code 0", ErrBadFeatures, tag)
		}
		if seen[tag] {
			return FeatureSet{}, fmt.Errorf("%w: tag %02x twice", ErrBadFeatures, tag)
		}
		seen[tag] = true
		switch tag {
		case FeatureVerifyPINDirect:
			fs.VerifyPINDirect = code
		case FeatureModifyPINDirect:
			fs.ModifyPINDirect = code
		case FeatureIFDPINProperties:
			fs.IFDPINProperties = code
		case FeatureGetTLVProperties:
			fs.GetTLVProperties = code
		}
	}
	return fs, nil
}

// Features asks the reader behind card for its part 10 features. Transport failures
// (card removed, reader gone, reset, cancelled) are returned; a reader that rejects the
// request or answers garbage is a plain reader: an empty set and no error.
func Features(card Card) (FeatureSet, error) {
	out, err := card.Control(IOCTLGetFeatureRequest, nil)
	if err != nil {
		for _, s := range []error{ErrCardRemoved, ErrReaderGone, ErrCardReset, ErrCancelled, ErrNoCard} {
			if errors.Is(err, s) {
				return FeatureSet{}, err
			}
		}
		return FeatureSet{}, nil
	}
	fs, err := ParseFeatures(out)
	if err != nil {
		traceLine("features: %v; treating the reader as a plain reader", err)
		return FeatureSet{}, nil
	}
	return fs, nil
}
