package piv

import "github.com/pcsc11/pcsc11/apdu"

// The Discovery Object (tag 7E, SP 800-73-4 part 1, 3.3.2) carries the card's PIN
// usage policy (5F2F, two bytes). First byte: 40 the PIV Card Application PIN
// satisfies the PIV access rules, 20 the Global PIN does. Second byte, when both do:
// 10 the PIV PIN is primary, 20 the Global PIN is. A card whose policy is 60 20 wants
// its holder's Global PIN (reference 00), and a user login verifies that one, as
// OpenSC's card-piv.c does on the same test. YubiKeys answer 40 00 and are not asked.
const objDiscovery = 0x7E

// readDiscovery reads the Discovery Object once, at Open, on a card that is not a
// YubiKey. A card without one (many older cards) or with a policy we cannot read keeps
// the PIV PIN; only a transport failure is an error.
func (t *Token) readDiscovery() error {
	out, err := t.exchange(getDataCmd(objDiscovery, 256))
	if err != nil {
		if isTransport(err) {
			return err
		}
		return nil
	}
	if globalPINPrimary(out) {
		t.userRef = refGlobal
	}
	return nil
}

// globalPINPrimary reports a Discovery Object (the GET DATA answer, 7E {...}) whose
// PIN usage policy makes the Global PIN primary.
func globalPINPrimary(answer []byte) bool {
	policy, ok, err := apdu.FindPath(answer, objDiscovery, 0x5F2F)
	if err != nil || !ok || len(policy) != 2 {
		return false
	}
	return policy[0]&0x60 == 0x60 && policy[1] == 0x20
}
