package apdu

import (
	"errors"
	"fmt"
)

// ---- BER-TLV (ISO 7816-4 §5.2 / X.690 §8.1 subset as used by PIV), strict and bounded ----

// ErrMalformedTLV is wrapped by every TLV decoding error.
var ErrMalformedTLV = errors.New("apdu: malformed BER-TLV")

// TLV is one decoded element. Tag is the full tag bytes as a number (e.g. 0x5FC102,
// 0x7F49, 0x53). Value aliases the input buffer.
type TLV struct {
	Tag   uint32
	Value []byte
}

// MaxDepth bounds nesting for ParseTree-like helpers.
const MaxDepth = 16

// maxTagBytes: PIV uses up to 3 (5FC1xx); 4 covers every uint32 tag number.
const maxTagBytes = 4

// ParseTLV reads one TLV at the start of b; returns it and the rest. Errors on
// truncation, lengths beyond the buffer, tags longer than 4 bytes, length fields
// longer than 4 bytes (0x84), indefinite length (0x80).
func ParseTLV(b []byte) (TLV, []byte, error) {
	tag, n, err := parseTag(b)
	if err != nil {
		return TLV{}, nil, err
	}
	b = b[n:]
	l, n, err := parseLength(b)
	if err != nil {
		return TLV{}, nil, fmt.Errorf("%w (tag %X)", err, tag)
	}
	b = b[n:]
	if l > uint64(len(b)) {
		return TLV{}, nil, fmt.Errorf("%w: tag %X length %d exceeds the %d bytes left", ErrMalformedTLV, tag, l, len(b))
	}
	// Full slice expression: appending to Value must never overwrite the next element.
	return TLV{Tag: tag, Value: b[:l:l]}, b[l:], nil
}

// parseTag reads a tag: one byte, or when its low five bits are all set, further bytes
// while bit 8 is set (X.690 §8.1.2.4).
func parseTag(b []byte) (uint32, int, error) {
	if len(b) == 0 {
		return 0, 0, fmt.Errorf("%w: empty input", ErrMalformedTLV)
	}
	tag := uint32(b[0])
	if b[0]&0x1F != 0x1F {
		return tag, 1, nil
	}
	for i := 1; ; i++ {
		if i >= maxTagBytes {
			return 0, 0, fmt.Errorf("%w: tag longer than %d bytes", ErrMalformedTLV, maxTagBytes)
		}
		if i >= len(b) {
			return 0, 0, fmt.Errorf("%w: truncated tag", ErrMalformedTLV)
		}
		tag = tag<<8 | uint32(b[i])
		if b[i]&0x80 == 0 {
			return tag, i + 1, nil
		}
	}
}

// parseLength reads a definite length: short form 00..7F or long form 81..84 followed
// by that many big-endian bytes (X.690 §8.1.3). 80 (indefinite) and 85..FF are refused.
func parseLength(b []byte) (uint64, int, error) {
	if len(b) == 0 {
		return 0, 0, fmt.Errorf("%w: missing length", ErrMalformedTLV)
	}
	first := b[0]
	if first < 0x80 {
		return uint64(first), 1, nil
	}
	if first == 0x80 {
		return 0, 0, fmt.Errorf("%w: indefinite length", ErrMalformedTLV)
	}
	k := int(first & 0x7F)
	if k > 4 {
		return 0, 0, fmt.Errorf("%w: length field of %d bytes", ErrMalformedTLV, k)
	}
	if len(b) < 1+k {
		return 0, 0, fmt.Errorf("%w: truncated length", ErrMalformedTLV)
	}
	var l uint64
	for _, c := range b[1 : 1+k] {
		l = l<<8 | uint64(c)
	}
	return l, 1 + k, nil
}

// ParseAll reads a sequence of TLVs that must exactly fill b.
func ParseAll(b []byte) ([]TLV, error) {
	var out []TLV
	for len(b) > 0 {
		t, rest, err := ParseTLV(b)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
		b = rest
	}
	return out, nil
}

// Find returns the value of the first TLV with tag in a sequence that exactly fills b.
// The whole sequence is validated even when the tag comes first.
func Find(b []byte, tag uint32) ([]byte, bool, error) {
	all, err := ParseAll(b)
	if err != nil {
		return nil, false, err
	}
	for _, t := range all {
		if t.Tag == tag {
			return t.Value, true, nil
		}
	}
	return nil, false, nil
}

// EncodeTLV encodes tag (minimal bytes for the number given) and value with a
// definite, minimal-length encoding (81/82/83 forms).
func EncodeTLV(tag uint32, value []byte) []byte {
	return AppendTLV(make([]byte, 0, 4+5+len(value)), tag, value)
}

// AppendTLV appends EncodeTLV(tag, value) to dst.
func AppendTLV(dst []byte, tag uint32, value []byte) []byte {
	dst = appendTag(dst, tag)
	dst = appendLength(dst, len(value))
	return append(dst, value...)
}

func appendTag(dst []byte, tag uint32) []byte {
	switch {
	case tag > 0xFFFFFF:
		return append(dst, byte(tag>>24), byte(tag>>16), byte(tag>>8), byte(tag))
	case tag > 0xFFFF:
		return append(dst, byte(tag>>16), byte(tag>>8), byte(tag))
	case tag > 0xFF:
		return append(dst, byte(tag>>8), byte(tag))
	}
	return append(dst, byte(tag))
}

func appendLength(dst []byte, n int) []byte {
	u := uint64(n)
	switch {
	case u < 0x80:
		return append(dst, byte(u))
	case u <= 0xFF:
		return append(dst, 0x81, byte(u))
	case u <= 0xFFFF:
		return append(dst, 0x82, byte(u>>8), byte(u))
	case u <= 0xFFFFFF:
		return append(dst, 0x83, byte(u>>16), byte(u>>8), byte(u))
	}
	return append(dst, 0x84, byte(u>>24), byte(u>>16), byte(u>>8), byte(u))
}

// Constructed reports whether a tag's first byte has the constructed bit (b6) set, i.e.
// its value is itself a TLV sequence.
func Constructed(tag uint32) bool {
	first := tag
	for first > 0xFF {
		first >>= 8
	}
	return first&0x20 != 0
}

// Node is a TLV with its children decoded when the tag is constructed.
type Node struct {
	TLV
	Children []Node
}

// ParseTree decodes b (exactly filled) into nodes, recursing into constructed tags up
// to MaxDepth levels; deeper nesting is an error rather than unbounded recursion.
func ParseTree(b []byte) ([]Node, error) {
	return parseTree(b, 1)
}

func parseTree(b []byte, depth int) ([]Node, error) {
	if depth > MaxDepth {
		return nil, fmt.Errorf("%w: nesting deeper than %d", ErrMalformedTLV, MaxDepth)
	}
	all, err := ParseAll(b)
	if err != nil {
		return nil, err
	}
	nodes := make([]Node, len(all))
	for i, t := range all {
		nodes[i].TLV = t
		if Constructed(t.Tag) {
			if nodes[i].Children, err = parseTree(t.Value, depth+1); err != nil {
				return nil, err
			}
		}
	}
	return nodes, nil
}

// FindPath follows tags through nested constructed TLVs, e.g. FindPath(b, 0x7C, 0x82)
// for the response of GENERAL AUTHENTICATE. Each level must be exactly filled. The path
// is at most MaxDepth long.
func FindPath(b []byte, path ...uint32) ([]byte, bool, error) {
	if len(path) == 0 || len(path) > MaxDepth {
		return nil, false, fmt.Errorf("%w: path of %d tags", ErrMalformedTLV, len(path))
	}
	for _, tag := range path {
		v, ok, err := Find(b, tag)
		if err != nil || !ok {
			return nil, ok, err
		}
		b = v
	}
	return b, true, nil
}
