package vpiv

import (
	"fmt"

	"github.com/pcsc11/pcsc11/apdu"
)

// retiredDemo is how many retired key management slots (82, 83, ...) the "retired"
// profile fills: a P-256 key generated on the card and a self-signed certificate in
// each, as a card that kept its old encryption keys has (SP 800-73-4 part 1, 3.3.2).
const retiredDemo = 3

// provisionRetired fills the first retiredDemo retired slots that are still empty.
// ykman and yubico-piv-tool write no Key History Object when they do this; the
// "keyhistory" profile adds one.
func (c *Card) provisionRetired() error {
	for i := 0; i < retiredDemo; i++ {
		ref := byte(0x82 + i)
		obj := uint32(0x5FC10D + i)
		if c.st.keys[ref] != nil {
			continue
		}
		if _, ok := c.st.objects[obj]; ok {
			continue
		}
		priv, err := c.generateKey(algECP256)
		if err != nil {
			return fmt.Errorf("vpiv: retired key %02X: %w", ref, err)
		}
		der, err := c.selfSigned(priv, fmt.Sprintf("pcsc11 demo Retired Key Management %d", i+1))
		if err != nil {
			return fmt.Errorf("vpiv: retired certificate %02X: %w", ref, err)
		}
		c.st.keys[ref] = &slotKey{alg: algECP256, pinPolicy: defaultPINPolicy(ref), touchPolicy: touchNever,
			origin: originGenerated, priv: priv}
		c.st.objects[obj] = certContainer(der)
	}
	return nil
}

// provisionKeyHistory writes a Key History Object (5FC10C) that tells the truth about
// the retired slots: keysWithOnCardCerts (C1) is the number of the highest retired
// slot holding a certificate, keysWithOffCardCerts (C2) is 0 (SP 800-73-4 part 1,
// 3.3.2: retired keys with on-card certificates fill the retired slots from the first).
func (c *Card) provisionKeyHistory() error {
	n := 0
	for i := 0; i < 20; i++ {
		if _, ok := c.st.objects[uint32(0x5FC10D+i)]; ok {
			n = i + 1
		}
	}
	b := apdu.EncodeTLV(0xC1, []byte{byte(n)})
	b = apdu.AppendTLV(b, 0xC2, []byte{0})
	c.st.objects[objKeyHistory] = apdu.AppendTLV(b, 0xFE, nil)
	return nil
}
