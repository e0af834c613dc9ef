//go:build !unix

package vpcd

// umask is a no-op where there is no umask (see umask_unix.go).
func umask(int) int { return 0 }
