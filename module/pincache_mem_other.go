//go:build !linux

package module

import "errors"

// lockedAlloc: locked memory is only implemented for Linux; elsewhere the PIN is not
// kept (the cache degrades to "off").
func lockedAlloc(n int) ([]byte, error) {
	return nil, errors.New("locked memory not implemented on this system")
}

func lockedFree([]byte) {}
