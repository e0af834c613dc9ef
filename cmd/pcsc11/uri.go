package main

import (
	"strings"
)

// RFC 7512 (The PKCS #11 URI Scheme) encoding of tokens and objects.
//
// §2.3: a path attribute value is *pk11-pchar, where
//
//	pk11-pchar          = unreserved / pk11-path-res-avail / pct-encoded
//	pk11-path-res-avail = ":" / "[" / "]" / "@" / "!" / "$" / "'" / "(" / ")" /
//	                      "*" / "+" / "," / "="
//
// We percent-encode every byte that is not "unreserved" (ALPHA / DIGIT / "-" / "." /
// "_" / "~", RFC 3986 §2.3): always valid, since pct-encoded is allowed anywhere, and
// it keeps ";" (the attribute separator), "/", "?", "%", spaces and UTF-8 unambiguous
// for every consumer (p11-kit, OpenSSL's pkcs11-provider, libp11, NSS). The "id"
// attribute is a byte string, so every byte of it is percent-encoded (RFC 7512 §2.3
// recommends it; "id=%01" is also what p11tool and pkcs11-tool users expect).

// uriAttr is one path attribute, in output order.
type uriAttr struct {
	name  string
	value string
	raw   bool // value is a byte string: percent-encode every byte
}

// pkcs11URI builds "pkcs11:" followed by the attributes with non-empty values,
// separated by ";". Empty values are left out: an absent attribute matches anything,
// an empty one would match only an empty field.
func pkcs11URI(attrs ...uriAttr) string {
	var b strings.Builder
	b.WriteString("pkcs11:")
	first := true
	for _, a := range attrs {
		if a.value == "" {
			continue
		}
		if !first {
			b.WriteByte(';')
		}
		first = false
		b.WriteString(a.name)
		b.WriteByte('=')
		if a.raw {
			pctEncodeAll(&b, a.value)
		} else {
			pctEncode(&b, a.value)
		}
	}
	return b.String()
}

const hexUpper = "0123456789ABCDEF"

// unreserved is RFC 3986's unreserved set.
func unreserved(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}

// pctEncode writes s with every byte outside the unreserved set as %XX.
func pctEncode(b *strings.Builder, s string) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if unreserved(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexUpper[c>>4])
		b.WriteByte(hexUpper[c&15])
	}
}

// pctEncodeAll writes every byte of s as %XX.
func pctEncodeAll(b *strings.Builder, s string) {
	for i := 0; i < len(s); i++ {
		b.WriteByte('%')
		b.WriteByte(hexUpper[s[i]>>4])
		b.WriteByte(hexUpper[s[i]&15])
	}
}

// tokenAttrs are the attributes that name a token (RFC 7512 §2.3: token, manufacturer,
// model, serial are CK_TOKEN_INFO's label, manufacturerID, model, serialNumber with
// the blank padding removed).
func tokenAttrs(label, manufacturer, model, serial string) []uriAttr {
	return []uriAttr{
		{name: "token", value: unpad(label)},
		{name: "manufacturer", value: unpad(manufacturer)},
		{name: "model", value: unpad(model)},
		{name: "serial", value: unpad(serial)},
	}
}

// unpad drops the blank padding of a CK_TOKEN_INFO field (the drivers give unpadded
// strings, but a padded one must not end up as "%20%20%20" in a URI).
func unpad(s string) string { return strings.TrimRight(s, " ") }

// tokenURI names a token.
func tokenURI(label, manufacturer, model, serial string) string {
	return pkcs11URI(tokenAttrs(label, manufacturer, model, serial)...)
}

// objectURI names one object of a token: its CKA_ID, CKA_LABEL and class.
func objectURI(tok []uriAttr, id []byte, label, typ string) string {
	attrs := append(append([]uriAttr(nil), tok...),
		uriAttr{name: "id", value: string(id), raw: true},
		uriAttr{name: "object", value: label},
		uriAttr{name: "type", value: typ},
	)
	return pkcs11URI(attrs...)
}
