package piv

import (
	"bytes"

	"github.com/pcsc11/pcsc11/apdu"
	"github.com/pcsc11/pcsc11/slot/piv/diskcache"
)

// The disk cache of certificate containers (docs/cache.md). Only a YubiKey with a
// serial gets one, keyed by serial, firmware and ATR (diskcache.Identity), and only
// the certificate containers of key slots go in (5FC101..5FC123 and the attestation
// certificate 5FFF01): objects every program may read without a PIN, exactly as the
// card answered GET DATA (53 <content>).
//
// An entry is never used without asking the card: one short GET DATA of the object
// (Le = 256, no GET RESPONSE) returns its first bytes, which hold the BER-TLV lengths
// of the whole object and of the certificate, the certificate's serial number, its
// signature algorithm and the start of its issuer (often more). The entry is used
// only when those bytes start it; the object's total length is then the same too. A
// certificate re-issued for the same key has another serial number (RFC 5280 4.1.2.2:
// unique per issuer), so it is read again. On short-APDU cards that is 1 APDU instead
// of 1 + ceil(size/256) - 1 (9 for a 2 KB certificate); on extended-APDU cards 1
// either way, with about 260 bytes on the wire instead of the whole object.
//
// On a mismatch the object is read in full and the entry replaced: on short-APDU
// cards by continuing the same answer with GET RESPONSE (no APDU more than without a
// cache), on extended-APDU cards with one extended GET DATA (one APDU more). An
// object that fits the first answer is simply used (and stored if it changed). An
// error answer is handled as without a cache; "not found" also drops the entry.

// minProbe is the fewest bytes a first answer must carry to vouch for an entry: a
// card answering in tiny pieces would leave too little to compare, and is read in
// full instead.
const minProbe = 128

// openDiskCache gives the token its disk cache once the static facts are known.
func (t *Token) openDiskCache() {
	if !t.hasSer || !t.yubikey {
		return
	}
	t.disk = diskcache.Open(diskcache.Identity{Serial: t.serial, Firmware: t.version, ATR: t.card.ATR()}, Getenv)
}

// cacheable: certificate containers only (the disk cache holds nothing else).
func cacheable(tag uint32) bool {
	return (tag >= 0x5FC101 && tag <= 0x5FC123) || tag == 0x5FFF01
}

// getCertData is getData for a certificate container, through the disk cache.
func (t *Token) getCertData(tag uint32) ([]byte, error) {
	if t.disk == nil || !cacheable(tag) {
		return t.getData(tag)
	}
	cached := t.disk.Get(tag)
	if !wellFormed(cached) {
		cached = nil
	}
	var raw []byte
	var err error
	if cached == nil {
		raw, err = t.exchange(getDataCmd(tag, apdu.MaxExtendNe))
	} else {
		raw, err = t.probe(tag, cached)
	}
	if err != nil {
		if apdu.IsNotFound(err) {
			t.disk.Delete(tag)
		}
		return nil, err
	}
	if !bytes.Equal(raw, cached) {
		if wellFormed(raw) {
			t.disk.Put(tag, raw)
		} else {
			t.disk.Delete(tag)
		}
	}
	return unwrapData(tag, raw)
}

// probe reads the first answer of GET DATA tag and returns cached if it matches, else
// the object read in full.
func (t *Token) probe(tag uint32, cached []byte) ([]byte, error) {
	first, more, err := t.exchangeFirst(getDataCmd(tag, apdu.MaxShortNe))
	if err != nil || more == nil {
		return first, err // an error, or the whole object in one answer
	}
	if len(first) >= minProbe && len(first) < len(cached) && bytes.HasPrefix(cached, first) {
		return cached, nil
	}
	if t.extended {
		return t.exchange(getDataCmd(tag, apdu.MaxExtendNe))
	}
	rest, err := more.Rest()
	if err != nil {
		return nil, err
	}
	return append(first, rest...), nil
}

// wellFormed: exactly one 53 object, nothing after it (so that its length, which the
// probe compares, is the length of the whole entry).
func wellFormed(raw []byte) bool {
	if len(raw) == 0 {
		return false
	}
	tlv, rest, err := apdu.ParseTLV(raw)
	return err == nil && len(rest) == 0 && tlv.Tag == 0x53
}
