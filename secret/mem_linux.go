package secret

import "syscall"

// Linux madvise flags (include/uapi/asm-generic/mman-common.h); the syscall package
// names MADV_DONTFORK but not MADV_DONTDUMP.
const (
	madvDontFork = 10
	madvDontDump = 16
)

// Alloc maps n bytes (rounded to pages) of anonymous memory outside the Go heap
// and locks them into RAM. Keeping them out of fork children and core dumps is best
// effort (older kernels refuse MADV_DONTDUMP); mlock failing (RLIMIT_MEMLOCK) fails the
// allocation, so no PIN is ever kept in swappable memory.
func Alloc(n int) ([]byte, error) {
	page := syscall.Getpagesize()
	size := (n + page - 1) / page * page
	mem, err := syscall.Mmap(-1, 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		return nil, err
	}
	if err := syscall.Mlock(mem); err != nil {
		syscall.Munmap(mem)
		return nil, err
	}
	_ = syscall.Madvise(mem, madvDontFork)
	_ = syscall.Madvise(mem, madvDontDump)
	return mem, nil
}

// Free releases memory from Alloc (already zeroed by the caller).
func Free(mem []byte) {
	_ = syscall.Munlock(mem)
	_ = syscall.Munmap(mem)
}
