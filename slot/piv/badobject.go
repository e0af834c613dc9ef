package piv

import (
	"errors"
	"log/slog"

	"github.com/pcsc11/pcsc11/logging"
)

// errMalformedObject marks a data object the card answered but that does not parse
// (a GET DATA answer without its 53 wrapper); certificate containers that do not parse
// are treated alike. Such an object is skipped, never an error of the whole token.
var errMalformedObject = errors.New("piv: malformed data object")

// skipBad records that object (a container tag, or a key reference for its
// metadata) was malformed and left out of the token's objects, and logs it once per
// token. The log names the object and the parse error, never the object's bytes.
// Caller holds t.mu.
func (t *Token) skipBad(object uint32, what string, err error) {
	if t.badLogged[object] {
		return
	}
	if t.badLogged == nil {
		t.badLogged = map[uint32]bool{}
	}
	t.badLogged[object] = true
	logging.Logger().Warn("skipping a malformed object; the rest of the token is listed",
		"reader", t.reader, "object", what, "tag", slog.StringValue(hexTag(object)), "error", err.Error())
}

func hexTag(tag uint32) string {
	const digits = "0123456789ABCDEF"
	var b []byte
	for shift := 20; shift >= 0; shift -= 4 {
		if tag>>uint(shift) != 0 || shift < 8 {
			b = append(b, digits[(tag>>uint(shift))&0xF])
		}
	}
	return string(b)
}
