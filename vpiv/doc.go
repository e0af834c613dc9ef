// Package vpiv is a virtual PIV card: the engine of pcsc11's virtual smart card,
// behaving like a YubiKey 5 (firmware 5.7.1) PIV application with real cryptography,
// or, with Options.Profile, like an older YubiKey or a standard SP 800-73-4 PIV card
// (profile.go: each answers only the instructions that card has).
//
// It serves two doors: Memory (an in-process reader.Card for unit tests of the PIV
// driver and the module) and cmd/pcsc11-vpiv (the vsmartcard vpcd socket front end).
//
// Emulated (NIST SP 800-73-4 and Yubico's PIV extensions):
//   - SELECT of the PIV AID (full or truncated); any other AID answers 6A82 and drops
//     the PIV security status.
//   - GET DATA / PUT DATA for every PIV container (5FC101..5FC123), the Discovery Object
//     (7E, generated, read-only) and the Yubico objects 5FFF00..5FFF15; PIN-protected
//     reads for printed information and biometrics; objects are stored byte for byte,
//     so compressed certificates pass through untouched.
//   - VERIFY (PIN 80, empty VERIFY, P1=FF reset), CHANGE REFERENCE DATA (PIN, PUK),
//     RESET RETRY COUNTER, retry counters and blocking.
//   - GENERAL AUTHENTICATE: management key (3DES, AES-128/192/256; mutual witness
//     protocol and the single challenge/response variant), RSA 1024..4096 raw private
//     operation, ECDSA P-256/P-384 over a hash, Ed25519, ECDH P-256/P-384/X25519; PIN
//     policies never/once/always.
//   - GENERATE ASYMMETRIC KEY PAIR and the YubiKey commands GET VERSION, GET SERIAL,
//     SET MANAGEMENT KEY, IMPORT KEY, RESET, SET PIN RETRIES, ATTEST (certificates chain
//     to AttestationRoot), GET METADATA, MOVE/DELETE KEY.
//   - Transport: command chaining, extended length, 61xx + GET RESPONSE.
//   - Persistence of the whole card (keys as PKCS#8, objects, counters) in a JSON file
//     written atomically after every change. PIN and PUK are kept as salted hashes;
//     private keys and the management key are in clear: guard the file like a key.
//   - Provision profiles: "demo" (keys and self-signed certificates in 9A/9C/9D/9E),
//     "3des" (3DES default management key, for tools older than firmware 5.7),
//     "touch" (touch policies on the demo keys: 9A cached, 9E always).
//   - Touch policies always and cached: an operation waits for Card.Touch (or
//     Options.AutoTouch) up to Options.TouchTimeout and answers 6982 without one
//     (touch.go).
//
// Not emulated: biometric PIN policies and VERIFY UV, the management application (form factor),
// OTP/FIDO/OpenPGP applets, secure messaging (SCP03/SCP11), PIN complexity rules,
// the Global PIN, contactless behaviour. Private-key arithmetic is not hardened against
// timing side channels: the card is a test double, not a place for real secrets.
package vpiv
