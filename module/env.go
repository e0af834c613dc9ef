package module

import "os"

// Getenv reads the module's settings (PCSC11_*). The Go runtime copies the process
// environment once, when the library is loaded; a host that sets a variable after
// dlopen and before C_Initialize (a test harness, a wrapper) would not be heard. The C
// door therefore replaces this with the C library's getenv, which sees the live
// environment.
var Getenv = os.Getenv
