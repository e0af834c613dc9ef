package vpiv

import (
	"bytes"
	"fmt"

	"github.com/pcsc11/pcsc11/apdu"
)

// Malformed certificate containers, as hosts meet them on real cards (one
// such container must not hide the rest of the token). CorruptObject writes one into
// a container of the card; pcsc11-vpiv offers them as --inject modes.
const (
	BadCertTrailing    = "cert-trailing"     // a valid certificate followed by one extra byte
	BadCertLength      = "cert-bad-length"   // the certificate TLV claims more bytes than the container holds
	BadCertNotX509     = "cert-not-x509"     // a well-formed container whose 70 holds no certificate
	BadCertGzipGarbage = "cert-gzip-garbage" // CertInfo says gzip; the data is not gzip
)

// BadObjectModes lists the CorruptObject modes with what each does, for --help.
var BadObjectModes = map[string]string{
	BadCertTrailing:    "the certificate container of --inject-object holds its certificate plus one extra byte",
	BadCertLength:      "the certificate TLV of --inject-object claims more bytes than the container holds",
	BadCertNotX509:     "the certificate container of --inject-object holds DER that is no certificate",
	BadCertGzipGarbage: "the certificate container of --inject-object says gzip (CertInfo 01) and holds garbage",
}

// CorruptObject replaces the certificate container tag (e.g. 0x5FC10B, the 9D
// certificate) with a malformed one built from what it holds (how: one of the Bad*
// modes). The container must hold a certificate already (provision the card first).
func (c *Card) CorruptObject(tag uint32, how string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	old, ok := c.st.objects[tag]
	if !ok {
		return fmt.Errorf("vpiv: object %06X is empty; nothing to corrupt", tag)
	}
	t, _, err := apdu.ParseTLV(old)
	if err != nil || t.Tag != 0x70 {
		return fmt.Errorf("vpiv: object %06X is not a certificate container", tag)
	}
	der := t.Value
	var bad []byte
	switch how {
	case BadCertTrailing:
		bad = certContainer(append(append([]byte(nil), der...), 0x00))
	case BadCertLength:
		// 70 82 LL LL with LLLL = the certificate's length + 16: the TLV runs past the end.
		n := len(der) + 16
		bad = append([]byte{0x70, 0x82, byte(n >> 8), byte(n)}, der...)
		bad = apdu.AppendTLV(bad, 0x71, []byte{0x00})
	case BadCertNotX509:
		bad = certContainer([]byte{0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x02})
	case BadCertGzipGarbage:
		bad = apdu.EncodeTLV(0x70, bytes.Repeat([]byte{0x1F, 0x8B, 0xEE}, 40))
		bad = apdu.AppendTLV(bad, 0x71, []byte{0x01})
		bad = apdu.AppendTLV(bad, 0xFE, nil)
	default:
		return fmt.Errorf("vpiv: unknown bad object mode %q", how)
	}
	c.st.objects[tag] = bad
	return nil
}
