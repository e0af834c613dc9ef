//go:build unix

package vpcd

import "syscall"

// umask sets the process umask and returns the previous one; used so the control
// socket is created 0600 with no window where others could connect.
func umask(mask int) int { return syscall.Umask(mask) }
