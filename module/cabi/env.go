package cabi

// #include <stdlib.h>
import "C"

import (
	"unsafe"

	"github.com/pcsc11/pcsc11/module"
)

// The module reads its PCSC11_* settings from the live C environment (see
// module.Getenv). Assigning a function is all this init does: it runs at dlopen.
func init() { module.Getenv = cGetenv }

func cGetenv(name string) string {
	cs := C.CString(name)
	defer C.free(unsafe.Pointer(cs))
	v := C.getenv(cs)
	if v == nil {
		return ""
	}
	return C.GoString(v)
}
