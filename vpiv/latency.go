package vpiv

import "time"

// The virtual card computes in microseconds what a real one takes tens of milliseconds
// for. Work tells a latency model what the last command made the card compute, so
// that the door (cmd/pcsc11-vpiv) can answer as late as a real card would; the
// engine itself never sleeps.

// WorkKind is the costly part of a command.
type WorkKind int

const (
	WorkNone       WorkKind = iota // nothing beyond moving bytes
	WorkPrivateKey                 // a GENERAL AUTHENTICATE with a private key: sign, decrypt, ECDH
	WorkKeygen                     // GENERATE ASYMMETRIC KEY PAIR
)

// Work is the costly part of one processed command and its PIV algorithm.
type Work struct {
	Kind WorkKind
	Alg  byte
}

// LastWork reports the costly part of the last command Process completed. A chained
// command's parts report WorkNone until the last one, which performs the operation;
// an operation the card refused reports WorkNone.
func (c *Card) LastWork() Work {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lastWork
}

// Latency is a model of a real card's timing (about a YubiKey 5 over USB).
type Latency struct {
	APDU   time.Duration // every answer, GET RESPONSE and each chained part included
	RSA    time.Duration // an RSA-2048 private-key operation; other sizes scale (RSAScale)
	EC     time.Duration // a P-256 private-key operation; other curves scale (ECScale)
	Keygen time.Duration // generating a P-256 key; other algorithms scale (KeygenScale)
}

// Scales relative to the reference operation of each kind: a rough model, for wall
// times of the right order, not a measurement. RSA private-key cost grows with about
// the cube of the modulus size (here 1/3, 1, 3 and 6 times RSA-2048 for 1024, 2048,
// 3072 and 4096 bits); P-384 is taken as 1.5 times P-256, Ed25519 and X25519 as P-256.
// RSA key generation searches primes and takes seconds on a card: 20, 60, 150 and 300
// times a P-256 generation.
var (
	RSAScale    = map[byte]float64{algRSA1024: 1.0 / 3, algRSA2048: 1, algRSA3072: 3, algRSA4096: 6}
	ECScale     = map[byte]float64{algECP256: 1, algECP384: 1.5, algEd25519: 1, algX25519: 1}
	KeygenScale = map[byte]float64{algECP256: 1, algECP384: 1.5, algEd25519: 1, algX25519: 1,
		algRSA1024: 20, algRSA2048: 60, algRSA3072: 150, algRSA4096: 300}
)

// Delay is how long after the command a real card would answer.
func (l Latency) Delay(w Work) time.Duration {
	d := l.APDU
	scaled := func(base time.Duration, scale map[byte]float64) time.Duration {
		if f, ok := scale[w.Alg]; ok {
			return time.Duration(float64(base) * f)
		}
		return 0
	}
	switch w.Kind {
	case WorkPrivateKey:
		if _, rsa := RSAScale[w.Alg]; rsa {
			d += scaled(l.RSA, RSAScale)
		} else {
			d += scaled(l.EC, ECScale)
		}
	case WorkKeygen:
		d += scaled(l.Keygen, KeygenScale)
	}
	return d
}
