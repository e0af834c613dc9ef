// Package piv is pcsc11's token driver for PIV cards (NIST SP 800-73-4) with the YubiKey
// PIV extensions. It turns key slots and certificate containers into PKCS#11 objects and
// runs the private-key primitives on the card; everything else (hashing, padding,
// verification, public-key encryption) is done in software by the module.
//
// Cost on the card, which every application pays when it starts (measured in the
// tests against the virtual YubiKey 5.7):
//
//	Open     3 APDUs: SELECT PIV, GET VERSION, GET SERIAL (cached for the token's life)
//	Info     3 APDUs the first time: GET METADATA of the PIN, PUK and management key
//	         (5.3+), else an empty VERIFY; plus, once, GET DATA of the label object
//	         (YubiKey) or of the CHUID (cards without a YubiKey serial). Then 1 (the
//	         PIN counter), and none while our user login stands (info.go
//	         userPINFlags)
//	LoggedIn no APDU: our own record, ended by a reset PC/SC reports (login.go);
//	         ProbeLogin asks the card (an empty VERIFY) for a module without a PIN
//	         to verify again
//	Objects  25 GET METADATA + one GET DATA per slot holding a key on 5.3+, else
//	         GET DATA of every container (the retired ones only as far as a Key
//	         History Object counts them: keyhistory.go retiredUnused); minus the
//	         slots already read
//	ObjectsWithID, Object, PrivateKeyOp
//	         (a search by CKA_ID, a handle lookup, a key operation: slot.ObjectFinder)
//	         only the slot the CKA_ID or key names: GET METADATA, and GET DATA of its
//	         certificate when it holds a key (5.3+), else GET DATA; nothing for an ID
//	         or key no slot has, or a slot already read
//
// Every key slot is read at most once for the token's life, whichever call reads it;
// a write forgets the slot it changed, InitToken and Invalidate forget all of them.
//
// Across processes, certificate containers are kept on disk (certcache.go, package
// diskcache, docs/cache.md) for YubiKeys with a serial, unless PCSC11_CACHE=0. An
// entry is used only after one short GET DATA of the object (Le 256, its 61xx not
// followed) returned bytes the entry starts with: 1 APDU for a certificate that
// costs 1 + n GET RESPONSE with short APDUs, and 1 either way with extended ones
// (fewer bytes). A stale entry costs nothing more with short APDUs (the answer is
// continued) and one GET DATA more with extended ones. Every PUT DATA drops the
// object's entry, InitToken the card's file.
//
// Choices worth knowing:
//   - On YubiKey 5.3+ a certificate container is only read for a slot that holds a key
//     (GET METADATA says so): a certificate alone in an empty slot is not listed there
//     (unless this token wrote it).
//   - Personalization (creds.go, admin.go, inittoken.go, keygen.go, import.go,
//     destroy.go, attest.go;
//     docs/personalization.md): CKU_SO is the management key (hex) or the PUK; writes
//     need the management key, or a user login on a card whose management key is
//     PIN-protected the ykman way.
//   - CKA_EC_PARAMS of Ed25519/X25519 keys is the RFC 8410 OID (PKCS#11 v3.0 allows the
//     OID or the curve-name string; ykcs11 gives the OID).
//   - CKA_PRIVATE and CKA_ALWAYS_AUTHENTICATE follow the key's PIN policy from metadata,
//     else SP 800-73-4 (9E needs no PIN, 9C needs it before every use).
//   - LoggedIn sends nothing (NSS asks before every TLS record and every
//     second while idle). A login lost without a reset (another program selected
//     another application) is found by the next operation the card refuses, or by
//     ProbeLogin, which the module uses when it has no cached PIN. Nothing
//     may come between a CKU_CONTEXT_SPECIFIC login and the operation on a key with
//     PIN policy always: LoginForOperation first reads the operation key's slot if
//     it was not read yet.
//   - Every call runs in one PC/SC transaction. A reset reported by the reader, or a
//     PIV instruction answered 6D00 (another program selected another application),
//     selects PIV again and counts the login as lost.
package piv
