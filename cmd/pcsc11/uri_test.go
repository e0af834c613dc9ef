package main

import (
	"math/rand"
	"net/url"
	"strings"
	"testing"
)

func TestObjectURIExact(t *testing.T) {
	tok := tokenAttrs("PIV #12345678", "Yubico (virtual)", "YubiKey 5", "12345678")
	got := objectURI(tok, []byte{0x01}, "X.509 Certificate for PIV Authentication", "cert")
	want := "pkcs11:token=PIV%20%2312345678;manufacturer=Yubico%20%28virtual%29;model=YubiKey%205;serial=12345678;" +
		"id=%01;object=X.509%20Certificate%20for%20PIV%20Authentication;type=cert"
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}

func TestURIEncodesSeparatorsAndUTF8(t *testing.T) {
	got := pkcs11URI(uriAttr{name: "token", value: "a;b=c/d?e%f g"}, uriAttr{name: "object", value: "é"})
	want := "pkcs11:token=a%3Bb%3Dc%2Fd%3Fe%25f%20g;object=%C3%A9"
	if got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}

func TestURIIDEncodesEveryByte(t *testing.T) {
	got := pkcs11URI(uriAttr{name: "id", value: "A\x00\xff", raw: true})
	if got != "pkcs11:id=%41%00%FF" {
		t.Fatalf("got %s", got)
	}
}

func TestURISkipsEmptyAndUnpads(t *testing.T) {
	got := tokenURI("label   ", "", "", "0001  ")
	if got != "pkcs11:token=label;serial=0001" {
		t.Fatalf("got %s", got)
	}
	if got := pkcs11URI(); got != "pkcs11:" {
		t.Fatalf("empty URI: %s", got)
	}
}

// Every value survives a round trip through a standard percent-decoder, and the
// encoded text holds only characters RFC 7512's path grammar allows without escaping
// meaning (no ";" inside a value, no raw "/", "?", "#", space or non-ASCII).
func TestURIRoundTripRandom(t *testing.T) {
	r := rand.New(rand.NewSource(7512))
	for i := 0; i < 2000; i++ {
		b := make([]byte, r.Intn(40))
		r.Read(b)
		for _, raw := range []bool{false, true} {
			u := pkcs11URI(uriAttr{name: "object", value: string(b), raw: raw})
			if len(b) == 0 {
				if u != "pkcs11:" {
					t.Fatalf("empty value not skipped: %s", u)
				}
				continue
			}
			enc := strings.TrimPrefix(u, "pkcs11:object=")
			for j := 0; j < len(enc); j++ {
				if c := enc[j]; !unreserved(c) && c != '%' {
					t.Fatalf("unescaped %q in %s", c, u)
				}
			}
			dec, err := url.PathUnescape(enc)
			if err != nil || dec != string(b) {
				t.Fatalf("round trip of %x: %q, %v", b, dec, err)
			}
		}
	}
}
