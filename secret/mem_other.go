//go:build !linux

package secret

import "errors"

// Alloc: locked memory is only implemented for Linux; elsewhere the PIN cache keeps
// nothing and Hold falls back to ordinary (wiped) buffers.
func Alloc(n int) ([]byte, error) {
	return nil, errors.New("locked memory not implemented on this system")
}

// Free releases memory from Alloc.
func Free([]byte) {}
