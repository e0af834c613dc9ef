package module

import (
	"crypto/rand"

	"github.com/pcsc11/pcsc11/ck"
)

// GenerateRandom is C_GenerateRandom, from the operating system's CSPRNG (getrandom(2)
// through crypto/rand), not the card's: PIV (SP 800-73-4) gives applications no GET
// CHALLENGE, and a card round trip per call would buy nothing over the kernel's
// generator. The module is the token's software half, as for hashing and padding, so
// every token sets CKF_RNG (GetTokenInfo) and C_SeedRandom answers
// CKR_RANDOM_SEED_NOT_SUPPORTED, not CKR_RANDOM_NO_RNG (spec 5.19, 3.2 CK_TOKEN_INFO).
// The decision and its reasons: docs/conformance.md.
func (l *Library) GenerateRandom(h ck.ULong, buf []byte) ck.ULong {
	return l.withSession(h, func(*session, *tokenState) ck.ULong {
		if _, err := rand.Read(buf); err != nil {
			return ck.CKR_FUNCTION_FAILED
		}
		return ck.CKR_OK
	})
}

// SeedRandom is C_SeedRandom: a generator exists (CKF_RNG) but, being the OS's, takes no
// seed from applications.
func (l *Library) SeedRandom(h ck.ULong) ck.ULong {
	return l.withSession(h, func(*session, *tokenState) ck.ULong { return ck.CKR_RANDOM_SEED_NOT_SUPPORTED })
}
