// The C-only half of the ABI: fork detection and the three functions an application
// may call before C_Initialize (spec 5.4.3-5.4.5). They only hand out pointers to the
// static function lists, so they never enter Go and work even in a forked child.
#include <string.h>
#include <unistd.h>
#include "entry.h"

static pid_t pcsc11_load_pid;

// Runs at dlopen, in the loading process, before any Cryptoki call.
__attribute__((constructor)) static void pcsc11_record_pid(void) {
	pcsc11_load_pid = getpid();
}

int pcsc11_in_child(void) {
	return pcsc11_load_pid != 0 && getpid() != pcsc11_load_pid;
}

static CK_UTF8CHAR pcsc11_iface_name[] = "PKCS 11";

// Index 0 is the default interface (3.0); the 2.40 list follows for older callers.
static CK_INTERFACE pcsc11_interfaces[] = {
	{pcsc11_iface_name, (CK_VOID_PTR)&pcsc11_list_30, 0},
	{pcsc11_iface_name, (CK_VOID_PTR)&pcsc11_list_240, 0},
};
#define PCSC11_N_INTERFACES (sizeof(pcsc11_interfaces) / sizeof(pcsc11_interfaces[0]))

CK_RV C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR ppFunctionList) {
	if (ppFunctionList == NULL_PTR) return CKR_ARGUMENTS_BAD;
	*ppFunctionList = (CK_FUNCTION_LIST_PTR)&pcsc11_list_240;
	return CKR_OK;
}

// Spec 5.4.4: size query with a NULL list, CKR_BUFFER_TOO_SMALL with the count.
CK_RV C_GetInterfaceList(CK_INTERFACE_PTR pInterfacesList, CK_ULONG_PTR pulCount) {
	if (pulCount == NULL_PTR) return CKR_ARGUMENTS_BAD;
	if (pInterfacesList == NULL_PTR) {
		*pulCount = PCSC11_N_INTERFACES;
		return CKR_OK;
	}
	if (*pulCount < PCSC11_N_INTERFACES) {
		*pulCount = PCSC11_N_INTERFACES;
		return CKR_BUFFER_TOO_SMALL;
	}
	memcpy(pInterfacesList, pcsc11_interfaces, sizeof(pcsc11_interfaces));
	*pulCount = PCSC11_N_INTERFACES;
	return CKR_OK;
}

// Spec 5.4.5: name, version and flags each narrow the choice when given; the first
// match in pcsc11_interfaces wins, so a NULL name and version give the 3.0 list.
CK_RV C_GetInterface(CK_UTF8CHAR_PTR pInterfaceName, CK_VERSION_PTR pVersion,
		CK_INTERFACE_PTR_PTR ppInterface, CK_FLAGS flags) {
	if (ppInterface == NULL_PTR) return CKR_ARGUMENTS_BAD;
	for (size_t i = 0; i < PCSC11_N_INTERFACES; i++) {
		CK_INTERFACE *it = &pcsc11_interfaces[i];
		if (pInterfaceName != NULL_PTR &&
				strcmp((const char *)pInterfaceName, (const char *)it->pInterfaceName) != 0)
			continue;
		const CK_VERSION *v = (const CK_VERSION *)it->pFunctionList;
		if (pVersion != NULL_PTR && (pVersion->major != v->major || pVersion->minor != v->minor))
			continue;
		if ((it->flags & flags) != flags)
			continue;
		*ppInterface = it;
		return CKR_OK;
	}
	*ppInterface = NULL_PTR;
	return CKR_ARGUMENTS_BAD;
}
