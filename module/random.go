package module

import (
	"crypto/rand"

	"github.com/pcsc11/pcsc11/ck"
)

// GenerateRandom is C_GenerateRandom, from the operating system's CSPRNG.
func (l *Library) GenerateRandom(h ck.ULong, buf []byte) ck.ULong {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, _, rv := l.lookup(h); rv != ck.CKR_OK {
		return rv
	}
	if _, err := rand.Read(buf); err != nil {
		return ck.CKR_FUNCTION_FAILED
	}
	return ck.CKR_OK
}

// SeedRandom is C_SeedRandom: the OS generator takes no seed from applications.
func (l *Library) SeedRandom(h ck.ULong) ck.ULong {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, _, rv := l.lookup(h); rv != ck.CKR_OK {
		return rv
	}
	return ck.CKR_RANDOM_SEED_NOT_SUPPORTED
}
