package cabi

// #include <stdlib.h>
import "C"

import (
	"unsafe"

	"github.com/pcsc11/pcsc11/config"
)

// The module reads its PCSC11_* settings over the live C environment (see
// module.Getenv): the environment layer of package config is libc's getenv.
// Assigning a function is all this init does: it runs at dlopen.
func init() { config.Environ = cGetenv }

func cGetenv(name string) string {
	cs := C.CString(name)
	defer C.free(unsafe.Pointer(cs))
	v := C.getenv(cs)
	if v == nil {
		return ""
	}
	return C.GoString(v)
}
