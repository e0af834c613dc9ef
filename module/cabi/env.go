package cabi

// #include <stdlib.h>
// #include <string.h>
//
// /* getenv for a name that is not NUL-terminated (a Go string's bytes), copied to the
//  * stack: no allocation, so nothing to free on another thread (see cGetenv). */
// static const char *pcsc11_getenv(const char *name, size_t n) {
// 	char buf[256];
// 	if (n >= sizeof buf) return NULL;
// 	memcpy(buf, name, n);
// 	buf[n] = 0;
// 	return getenv(buf);
// }
import "C"

import (
	"unsafe"

	"github.com/pcsc11/pcsc11/config"
)

// The module reads its PCSC11_* settings over the live C environment (see
// module.Getenv): the environment layer of package config is libc's getenv.
// Assigning a function is all this init does: it runs at dlopen.
func init() { config.Environ = cGetenv }

// cGetenv is getenv(3) in one C call. A C.CString and its C.free would be two calls,
// between which the goroutine may move to another OS thread: ThreadSanitizer (the C
// harness's TSan build) cannot see the Go scheduler's hand-over and reported the free
// as a race with the malloc.
func cGetenv(name string) string {
	if name == "" {
		return ""
	}
	b := []byte(name)
	v := C.pcsc11_getenv((*C.char)(unsafe.Pointer(&b[0])), C.size_t(len(b)))
	if v == nil {
		return ""
	}
	return C.GoString(v)
}
