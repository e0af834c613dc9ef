// Shared declarations of the C side of libpcsc11.so.
#ifndef PCSC11_ENTRY_H
#define PCSC11_ENTRY_H
#include "pcsc11_pkcs11.h"
#include "_cgo_export.h"

// pcsc11_in_child reports whether this process is a fork() child of the process that
// loaded the library. The Go runtime (its threads, its locks) did not come along, so a
// child must never enter Go: every entry point answers without calling it.
int pcsc11_in_child(void);

extern const CK_FUNCTION_LIST pcsc11_list_240;
extern const CK_FUNCTION_LIST_3_0 pcsc11_list_30;
#endif
