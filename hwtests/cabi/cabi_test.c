/*
 * cabi_test: loads libpcsc11.so the way applications do (dlopen + C_GetFunctionList /
 * C_GetInterfaceList) and checks the Cryptoki ABI: the function lists, the library
 * life cycle, argument checking, fork refusal, and - when a slot holds a token - the
 * session/object/login/sign path and 16 threads using sessions concurrently.
 *
 *   cabi-test build/libpcsc11.so
 *
 * Environment: PCSC11_TEST_PIN (user PIN of the token; without it the login and
 * signing checks are skipped), PCSC11_TEST_SO_PIN (the SO credential: for PIV the
 * management key in hex; without it the SO checks are skipped), PCSC11_TEST_REMOVAL=1
 * with PCSC11_VPIV_CONTROL (the virtual card's control socket, from hwtests/rig.sh env):
 * removes and re-inserts the card to check that its sessions die with it, and runs the
 * slot-event, card life-cycle, second-card, sharing and soak checks (events.inc,
 * sharing.inc, soak.inc; see README.md). Off by default: it disturbs anything else
 * using the card. Output: one "ok - name" / "not ok - name" line per
 * check, then "N passed, N failed". Exit status 1 when a check failed.
 *
 * This is C on purpose: the module is a Go c-shared library, and two Go runtimes in
 * one process are not supported (golang/go#18976), so no Go test may load it.
 */
#define _POSIX_C_SOURCE 200809L
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pcsc11_pkcs11.h"

static int passed, failed;

static void check(int ok, const char *name) {
	if (ok) {
		passed++;
		printf("ok - %s\n", name);
	} else {
		failed++;
		printf("not ok - %s\n", name);
	}
	fflush(stdout);
}

static void check_rv(CK_RV got, CK_RV want, const char *name) {
	if (got != want) {
		failed++;
		printf("not ok - %s (rv 0x%lx, want 0x%lx)\n", name, got, want);
	} else {
		passed++;
		printf("ok - %s\n", name);
	}
	fflush(stdout);
}

static const char *all_names[] = {
#include "names.inc"
};
#define N_NAMES (sizeof(all_names) / sizeof(all_names[0]))

static CK_FUNCTION_LIST_PTR f;     /* the 2.40 list */
static CK_FUNCTION_LIST_3_0_PTR f3; /* the 3.0 list */

/* all_set reports whether every function pointer after the version is non-NULL. */
static int all_set(const void *list, size_t size, size_t first_off, size_t *count) {
	const unsigned char *p = list;
	size_t n = 0;
	for (size_t off = first_off; off + sizeof(void (*)(void)) <= size; off += sizeof(void (*)(void))) {
		void (*fn)(void);
		memcpy(&fn, p + off, sizeof fn);
		if (fn == NULL) return 0;
		n++;
	}
	*count = n;
	return 1;
}

/* blank_padded: s[0..n) is text followed only by blanks, starting with want. */
static int blank_padded(const CK_UTF8CHAR *s, size_t n, const char *want) {
	size_t wl = strlen(want);
	if (wl > n || memcmp(s, want, wl) != 0) return 0;
	for (size_t i = wl; i < n; i++)
		if (s[i] != ' ') return 0;
	return 1;
}

static void test_lists(void *h) {
	CK_C_GetFunctionList gfl = (CK_C_GetFunctionList)dlsym(h, "C_GetFunctionList");
	CK_C_GetInterfaceList gil = (CK_C_GetInterfaceList)dlsym(h, "C_GetInterfaceList");
	CK_C_GetInterface gi = (CK_C_GetInterface)dlsym(h, "C_GetInterface");
	check(gfl && gil && gi, "C_GetFunctionList, C_GetInterfaceList, C_GetInterface exported");
	if (!gfl || !gil || !gi) exit(1);

	int missing = 0;
	for (size_t i = 0; i < N_NAMES; i++)
		if (dlsym(h, all_names[i]) == NULL) {
			printf("# missing symbol %s\n", all_names[i]);
			missing++;
		}
	check(missing == 0 && N_NAMES == 92, "all 92 Cryptoki functions exported by name");

	check_rv(gfl(NULL), CKR_ARGUMENTS_BAD, "C_GetFunctionList(NULL)");
	check_rv(gfl(&f), CKR_OK, "C_GetFunctionList");
	check(f->version.major == 2 && f->version.minor == 40, "CK_FUNCTION_LIST version 2.40");
	size_t n = 0;
	check(all_set(f, sizeof *f, offsetof(CK_FUNCTION_LIST, C_Initialize), &n) && n == 68,
		"every CK_FUNCTION_LIST entry non-NULL (68)");

	CK_ULONG count = 0;
	check_rv(gil(NULL, NULL), CKR_ARGUMENTS_BAD, "C_GetInterfaceList(NULL, NULL)");
	check_rv(gil(NULL, &count), CKR_OK, "C_GetInterfaceList size query");
	check(count == 2, "two interfaces");
	CK_INTERFACE ifs[4];
	CK_ULONG small = 1;
	check_rv(gil(ifs, &small), CKR_BUFFER_TOO_SMALL, "C_GetInterfaceList short buffer");
	check(small == 2, "C_GetInterfaceList short buffer reports the count");
	count = 4;
	check_rv(gil(ifs, &count), CKR_OK, "C_GetInterfaceList");
	int saw30 = 0, saw240 = 0;
	for (CK_ULONG i = 0; i < count; i++) {
		CK_VERSION *v = (CK_VERSION *)ifs[i].pFunctionList;
		if (strcmp((char *)ifs[i].pInterfaceName, "PKCS 11") != 0) continue;
		if (v->major == 3 && v->minor == 0) saw30 = 1;
		if (v->major == 2 && v->minor == 40 && ifs[i].pFunctionList == (void *)f) saw240 = 1;
	}
	check(saw30 && saw240, "interfaces \"PKCS 11\" 3.0 and 2.40");

	CK_INTERFACE_PTR it = NULL;
	check_rv(gi(NULL, NULL, &it, 0), CKR_OK, "C_GetInterface default");
	f3 = it ? (CK_FUNCTION_LIST_3_0_PTR)it->pFunctionList : NULL;
	check(f3 && f3->version.major == 3 && f3->version.minor == 0, "default interface is 3.0");
	check(f3 && all_set(f3, sizeof *f3, offsetof(CK_FUNCTION_LIST_3_0, C_Initialize), &n) && n == 92,
		"every CK_FUNCTION_LIST_3_0 entry non-NULL (92)");
	CK_VERSION v240 = {2, 40};
	check_rv(gi((CK_UTF8CHAR_PTR) "PKCS 11", &v240, &it, 0), CKR_OK, "C_GetInterface(\"PKCS 11\", 2.40)");
	check(it && it->pFunctionList == (void *)f, "2.40 interface is C_GetFunctionList's list");
	check(gi((CK_UTF8CHAR_PTR) "Vendor Nobody", NULL, &it, 0) != CKR_OK, "C_GetInterface unknown name fails");
	CK_VERSION v99 = {9, 9};
	check(gi(NULL, &v99, &it, 0) != CKR_OK, "C_GetInterface unknown version fails");
	check(gi(NULL, NULL, &it, CKF_INTERFACE_FORK_SAFE) != CKR_OK, "C_GetInterface fork-safe flag not offered");
	check_rv(gi(NULL, NULL, NULL, 0), CKR_ARGUMENTS_BAD, "C_GetInterface(NULL out)");
	if (!f3) exit(1);
}

static CK_RV dummy_mutex(CK_VOID_PTR p) { (void)p; return CKR_OK; }
static CK_RV dummy_create(CK_VOID_PTR_PTR p) { *p = NULL; return CKR_OK; }

static void test_lifecycle(void) {
	CK_INFO info;
	CK_ULONG n;
	CK_SESSION_HANDLE s;
	check_rv(f->C_GetInfo(&info), CKR_CRYPTOKI_NOT_INITIALIZED, "C_GetInfo before C_Initialize");
	check_rv(f->C_GetSlotList(CK_FALSE, NULL, &n), CKR_CRYPTOKI_NOT_INITIALIZED, "C_GetSlotList before C_Initialize");
	check_rv(f->C_OpenSession(0, CKF_SERIAL_SESSION, NULL, NULL, &s), CKR_CRYPTOKI_NOT_INITIALIZED, "C_OpenSession before C_Initialize");
	check_rv(f->C_Finalize(NULL), CKR_CRYPTOKI_NOT_INITIALIZED, "C_Finalize before C_Initialize");
	check_rv(f->C_GetInfo(NULL), CKR_CRYPTOKI_NOT_INITIALIZED, "C_GetInfo(NULL) before C_Initialize");
	check_rv(f->C_GenerateKeyPair(0, NULL, NULL, 0, NULL, 0, NULL, NULL), CKR_CRYPTOKI_NOT_INITIALIZED, "unsupported function before C_Initialize");
	check_rv(f3->C_SignMessage(0, NULL, 0, NULL, 0, NULL, NULL), CKR_CRYPTOKI_NOT_INITIALIZED, "3.0 function before C_Initialize");

	CK_C_INITIALIZE_ARGS a;
	memset(&a, 0, sizeof a);
	a.CreateMutex = dummy_create;
	a.LockMutex = dummy_mutex;
	check_rv(f->C_Initialize(&a), CKR_ARGUMENTS_BAD, "C_Initialize with some mutex functions");
	memset(&a, 0, sizeof a);
	a.pReserved = &a;
	check_rv(f->C_Initialize(&a), CKR_ARGUMENTS_BAD, "C_Initialize with pReserved");
	memset(&a, 0, sizeof a);
	a.pReserved = NULL;
	check_rv(f->C_GetInfo(&info), CKR_CRYPTOKI_NOT_INITIALIZED, "failed C_Initialize left it uninitialized");
	/* GnuTLS/p11-kit pass both flags; the module accepts them (see module.Initialize). */
	a.flags = CKF_LIBRARY_CANT_CREATE_OS_THREADS | CKF_OS_LOCKING_OK;
	check_rv(f->C_Initialize(&a), CKR_OK, "C_Initialize CANT_CREATE_OS_THREADS|OS_LOCKING_OK (GnuTLS)");
	check_rv(f->C_Finalize(NULL), CKR_OK, "C_Finalize");

	check_rv(f->C_Initialize(NULL), CKR_OK, "C_Initialize(NULL)");
	check_rv(f->C_Initialize(NULL), CKR_CRYPTOKI_ALREADY_INITIALIZED, "C_Initialize twice");
	check_rv(f->C_Finalize(&a), CKR_ARGUMENTS_BAD, "C_Finalize with pReserved");
	check_rv(f->C_Finalize(NULL), CKR_OK, "C_Finalize");
	check_rv(f->C_GetInfo(&info), CKR_CRYPTOKI_NOT_INITIALIZED, "C_GetInfo after C_Finalize");
	memset(&a, 0, sizeof a);
	a.CreateMutex = dummy_create;
	a.DestroyMutex = dummy_mutex;
	a.LockMutex = dummy_mutex;
	a.UnlockMutex = dummy_mutex;
	a.flags = CKF_OS_LOCKING_OK;
	check_rv(f->C_Initialize(&a), CKR_OK, "re-initialize after C_Finalize (all mutex functions + OS locking)");

	check_rv(f->C_GetInfo(NULL), CKR_ARGUMENTS_BAD, "C_GetInfo(NULL)");
	check_rv(f->C_GetInfo(&info), CKR_OK, "C_GetInfo");
	check(info.cryptokiVersion.major == 3 && info.cryptokiVersion.minor == 0, "cryptokiVersion 3.0");
	check(blank_padded(info.manufacturerID, 32, "pcsc11 project"), "manufacturerID blank padded");
	check(memcmp(info.libraryDescription, "pcsc11", 6) == 0 && memchr(info.libraryDescription, 0, 32) == NULL &&
		info.libraryDescription[31] == ' ', "libraryDescription blank padded");
	check(info.flags == 0, "CK_INFO flags 0");
}

static void test_args(void) {
	CK_ULONG n = 0;
	CK_SLOT_INFO si;
	CK_TOKEN_INFO ti;
	CK_SESSION_INFO ssi;
	CK_SESSION_HANDLE s;
	CK_SLOT_ID slot;
	check_rv(f->C_GetSlotList(CK_FALSE, NULL, NULL), CKR_ARGUMENTS_BAD, "C_GetSlotList(NULL count)");
	check_rv(f->C_GetSlotList(CK_FALSE, NULL, &n), CKR_OK, "C_GetSlotList size query");
	printf("# %lu slot(s)\n", n);
	if (n > 0) {
		CK_SLOT_ID ids[64];
		CK_ULONG zero = 0;
		check_rv(f->C_GetSlotList(CK_FALSE, ids, &zero), CKR_BUFFER_TOO_SMALL, "C_GetSlotList short buffer");
		check(zero == n, "C_GetSlotList short buffer reports the count");
	}
	check_rv(f->C_GetSlotInfo(999999, &si), CKR_SLOT_ID_INVALID, "C_GetSlotInfo invalid slot");
	check_rv(f->C_GetTokenInfo(999999, &ti), CKR_SLOT_ID_INVALID, "C_GetTokenInfo invalid slot");
	check_rv(f->C_OpenSession(999999, CKF_SERIAL_SESSION, NULL, NULL, &s), CKR_SLOT_ID_INVALID, "C_OpenSession invalid slot");
	check_rv(f->C_GetSlotInfo(0, NULL), CKR_ARGUMENTS_BAD, "C_GetSlotInfo(NULL)");
	check_rv(f->C_GetTokenInfo(0, NULL), CKR_ARGUMENTS_BAD, "C_GetTokenInfo(NULL)");
	check_rv(f->C_OpenSession(0, CKF_SERIAL_SESSION, NULL, NULL, NULL), CKR_ARGUMENTS_BAD, "C_OpenSession(NULL handle)");
	check_rv(f->C_CloseSession(0xdead), CKR_SESSION_HANDLE_INVALID, "C_CloseSession invalid handle");
	check_rv(f->C_GetSessionInfo(0xdead, &ssi), CKR_SESSION_HANDLE_INVALID, "C_GetSessionInfo invalid handle");
	check_rv(f->C_Login(0xdead, CKU_USER, (CK_UTF8CHAR_PTR) "123456", 6), CKR_SESSION_HANDLE_INVALID, "C_Login invalid handle");
	check_rv(f->C_Login(0xdead, CKU_USER, NULL, 6), CKR_ARGUMENTS_BAD, "C_Login NULL PIN with a length");
	check_rv(f->C_FindObjectsInit(0xdead, NULL, 0), CKR_SESSION_HANDLE_INVALID, "C_FindObjectsInit invalid handle");
	check_rv(f->C_FindObjectsInit(0xdead, NULL, 3), CKR_ARGUMENTS_BAD, "C_FindObjectsInit NULL template with count");
	check_rv(f->C_WaitForSlotEvent(CKF_DONT_BLOCK, NULL, NULL), CKR_ARGUMENTS_BAD, "C_WaitForSlotEvent(NULL slot)");
	check_rv(f->C_WaitForSlotEvent(CKF_DONT_BLOCK, &slot, &slot), CKR_ARGUMENTS_BAD, "C_WaitForSlotEvent(pReserved)");
	CK_RV rv = f->C_WaitForSlotEvent(CKF_DONT_BLOCK, &slot, NULL);
	check(rv == CKR_OK || rv == CKR_NO_EVENT, "C_WaitForSlotEvent(DONT_BLOCK)");
	check_rv(f->C_WrapKey(0xdead, NULL, 0, 0, NULL, NULL), CKR_FUNCTION_NOT_SUPPORTED, "C_WrapKey not supported");
	check_rv(f->C_GenerateKeyPair(0xdead, NULL, NULL, 0, NULL, 0, NULL, NULL), CKR_ARGUMENTS_BAD, "C_GenerateKeyPair(NULL mechanism)");
	check_rv(f3->C_MessageEncryptInit(0xdead, NULL, 0), CKR_FUNCTION_NOT_SUPPORTED, "C_MessageEncryptInit not supported");
	check_rv(f3->C_MessageSignInit(0xdead, NULL, 0), CKR_ARGUMENTS_BAD, "C_MessageSignInit(NULL mechanism)");
	check_rv(f->C_GetFunctionStatus(0xdead), CKR_SESSION_HANDLE_INVALID, "C_GetFunctionStatus invalid handle");
	CK_MECHANISM m = {CKM_SHA256, NULL, 0};
	check_rv(f->C_DigestInit(0xdead, &m), CKR_SESSION_HANDLE_INVALID, "C_DigestInit invalid handle");
	check_rv(f->C_SignInit(0xdead, NULL, 1), CKR_ARGUMENTS_BAD, "C_SignInit(NULL mechanism)");
}

/* The Go runtime does not survive fork(): a child must be refused before Go runs. */
static void test_fork(void) {
	pid_t pid = fork();
	if (pid == 0) {
		alarm(10);
		CK_INFO info;
		CK_FUNCTION_LIST_PTR l = NULL;
		CK_C_GetFunctionList gfl = f->C_GetFunctionList;
		int ok = f->C_GetInfo(&info) == CKR_CRYPTOKI_NOT_INITIALIZED &&
			f->C_Finalize(NULL) == CKR_CRYPTOKI_NOT_INITIALIZED &&
			f->C_Initialize(NULL) == CKR_GENERAL_ERROR &&
			f->C_GetSlotList(CK_FALSE, NULL, NULL) == CKR_CRYPTOKI_NOT_INITIALIZED &&
			f->C_WaitForSlotEvent(0, NULL, NULL) == CKR_CRYPTOKI_NOT_INITIALIZED &&
			f3->C_SignMessage(0, NULL, 0, NULL, 0, NULL, NULL) == CKR_CRYPTOKI_NOT_INITIALIZED &&
			gfl(&l) == CKR_OK && l == f;
		_exit(ok ? 0 : 3);
	}
	int st = 0;
	waitpid(pid, &st, 0);
	check(WIFEXITED(st) && WEXITSTATUS(st) == 0, "forked child is refused without entering Go");
	CK_INFO info;
	check_rv(f->C_GetInfo(&info), CKR_OK, "parent unaffected by the child");
}

static CK_SLOT_ID token_slot;
static const char *pin;

static CK_OBJECT_HANDLE find_one(CK_SESSION_HANDLE s, CK_ATTRIBUTE *t, CK_ULONG n) {
	CK_OBJECT_HANDLE o = CK_INVALID_HANDLE;
	CK_ULONG got = 0;
	if (f->C_FindObjectsInit(s, t, n) != CKR_OK) return CK_INVALID_HANDLE;
	if (f->C_FindObjects(s, &o, 1, &got) != CKR_OK || got != 1) o = CK_INVALID_HANDLE;
	f->C_FindObjectsFinal(s);
	return o;
}

#include "edgecases.inc"

static void test_token(void) {
	CK_TOKEN_INFO ti;
	CK_SESSION_INFO si;
	CK_SESSION_HANDLE s, rw;
	check_rv(f->C_GetTokenInfo(token_slot, &ti), CKR_OK, "C_GetTokenInfo");
	check(ti.label[31] != 0 && ti.serialNumber[15] != 0 && ti.ulMinPinLen <= ti.ulMaxPinLen, "token info strings padded, PIN lengths sane");
	CK_ULONG nm = 0;
	check_rv(f->C_GetMechanismList(token_slot, NULL, &nm), CKR_OK, "C_GetMechanismList size query");
	check(nm > 0, "token has mechanisms");
	CK_MECHANISM_INFO mi;
	check_rv(f->C_GetMechanismInfo(token_slot, CKM_ECDH1_DERIVE + 0x7000, &mi), CKR_MECHANISM_INVALID, "C_GetMechanismInfo unknown mechanism");

	check_rv(f->C_OpenSession(token_slot, 0, NULL, NULL, &s), CKR_SESSION_PARALLEL_NOT_SUPPORTED, "C_OpenSession without SERIAL");
	check_rv(f->C_OpenSession(token_slot, CKF_SERIAL_SESSION, NULL, NULL, &s), CKR_OK, "C_OpenSession R/O");
	check_rv(f->C_OpenSession(token_slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &rw), CKR_OK, "C_OpenSession R/W");
	check(s != rw, "distinct session handles");
	check_rv(f->C_GetSessionInfo(s, &si), CKR_OK, "C_GetSessionInfo");
	check(si.state == CKS_RO_PUBLIC_SESSION && si.slotID == token_slot && (si.flags & CKF_SERIAL_SESSION), "R/O public session");
	check_rv(f->C_Login(rw, CKU_SO, (CK_UTF8CHAR_PTR) "010203040506070801020304050607080102030405060708", 48),
		CKR_SESSION_READ_ONLY_EXISTS, "SO login with a R/O session open");
	check_rv(f->C_Login(s, 42, (CK_UTF8CHAR_PTR) "123456", 6), CKR_USER_TYPE_INVALID, "C_Login bad user type");

	CK_OBJECT_CLASS cls = CKO_CERTIFICATE;
	CK_ATTRIBUTE tc = {CKA_CLASS, &cls, sizeof cls};
	check_rv(f->C_FindObjectsInit(s, &tc, 1), CKR_OK, "C_FindObjectsInit certificates");
	check_rv(f->C_FindObjectsInit(s, &tc, 1), CKR_OPERATION_ACTIVE, "C_FindObjectsInit while active");
	CK_OBJECT_HANDLE objs[64];
	CK_ULONG got = 0;
	check_rv(f->C_FindObjects(s, objs, 64, NULL), CKR_ARGUMENTS_BAD, "C_FindObjects(NULL count)");
	check_rv(f->C_FindObjects(s, objs, 64, &got), CKR_OK, "C_FindObjects");
	check(got > 0, "token has certificates");
	check_rv(f->C_FindObjectsFinal(s), CKR_OK, "C_FindObjectsFinal");
	check_rv(f->C_FindObjectsFinal(s), CKR_OPERATION_NOT_INITIALIZED, "C_FindObjectsFinal twice");
	if (got > 0) {
		CK_ATTRIBUTE a[3] = {{CKA_VALUE, NULL, 0}, {CKA_CLASS, NULL, 0}, {CKA_MODULUS, NULL, 0}};
		check_rv(f->C_GetAttributeValue(s, objs[0], a, 3), CKR_ATTRIBUTE_TYPE_INVALID, "C_GetAttributeValue size query with an absent attribute");
		check(a[0].ulValueLen > 100 && a[1].ulValueLen == sizeof(CK_ULONG) && a[2].ulValueLen == CK_UNAVAILABLE_INFORMATION,
			"sizes and CK_UNAVAILABLE_INFORMATION");
		CK_ULONG len = a[0].ulValueLen;
		unsigned char *der = malloc(len);
		CK_ATTRIBUTE v = {CKA_VALUE, der, len};
		check_rv(f->C_GetAttributeValue(s, objs[0], &v, 1), CKR_OK, "read certificate CKA_VALUE");
		check(v.ulValueLen == len && der[0] == 0x30, "certificate is DER");
		unsigned char b1;
		CK_ATTRIBUTE sm = {CKA_VALUE, &b1, 1};
		check_rv(f->C_GetAttributeValue(s, objs[0], &sm, 1), CKR_BUFFER_TOO_SMALL, "C_GetAttributeValue short buffer");
		check(sm.ulValueLen == CK_UNAVAILABLE_INFORMATION, "short buffer → CK_UNAVAILABLE_INFORMATION");
		free(der);
		check_rv(f->C_GetAttributeValue(s, 0xdeadbeef, &v, 1), CKR_OBJECT_HANDLE_INVALID, "C_GetAttributeValue invalid object");
		CK_ULONG size = 0;
		check_rv(f->C_GetObjectSize(s, objs[0], &size), CKR_OK, "C_GetObjectSize");
		check_rv(f->C_DestroyObject(s, objs[0]), CKR_SESSION_READ_ONLY, "C_DestroyObject in a R/O session");
	}
	unsigned char rnd[32] = {0};
	check_rv(f->C_GenerateRandom(s, rnd, sizeof rnd), CKR_OK, "C_GenerateRandom");
	check_rv(f->C_SeedRandom(s, rnd, sizeof rnd), CKR_RANDOM_SEED_NOT_SUPPORTED, "C_SeedRandom");

	if (pin == NULL) {
		printf("# PCSC11_TEST_PIN not set: login and signing skipped\n");
	} else {
		check_rv(f->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)pin, strlen(pin)), CKR_OK, "C_Login user");
		check_rv(f->C_Login(rw, CKU_USER, (CK_UTF8CHAR_PTR)pin, strlen(pin)), CKR_USER_ALREADY_LOGGED_IN, "C_Login twice");
		check_rv(f->C_GetSessionInfo(s, &si), CKR_OK, "C_GetSessionInfo after login");
		check(si.state == CKS_RO_USER_FUNCTIONS, "R/O session is now a user session");
		check_rv(f->C_GetSessionInfo(rw, &si), CKR_OK, "C_GetSessionInfo R/W after login");
		check(si.state == CKS_RW_USER_FUNCTIONS, "R/W session is now a user session");
		/* Sessions example steps 6-7: a session opened after login is a user session. */
		CK_SESSION_HANDLE s9;
		check_rv(f->C_OpenSession(token_slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s9), CKR_OK, "step 6: open R/W after login");
		check_rv(f->C_GetSessionInfo(s9, &si), CKR_OK, "step 6: C_GetSessionInfo");
		check(si.state == CKS_RW_USER_FUNCTIONS, "step 6: new session is a user session");
		check_rv(f->C_CloseSession(s9), CKR_OK, "step 7: close it");

		CK_OBJECT_CLASS pk = CKO_PRIVATE_KEY;
		CK_KEY_TYPE kt;
		CK_BBOOL yes = CK_TRUE;
		CK_BYTE id;
		CK_ATTRIBUTE t[3] = {{CKA_CLASS, &pk, sizeof pk}, {CKA_KEY_TYPE, &kt, sizeof kt}, {CKA_ID, &id, 1}};
		(void)yes;
		/* ECDSA with the first EC key (9E on the demo card: CKA_ID 04). */
		kt = CKK_EC;
		id = 4;
		CK_OBJECT_HANDLE ec = find_one(s, t, 3);
		if (ec == CK_INVALID_HANDLE) ec = find_one(s, t, 2);
		check(ec != CK_INVALID_HANDLE, "found an EC private key");
		if (ec != CK_INVALID_HANDLE) {
			CK_MECHANISM m = {CKM_ECDSA_SHA256, NULL, 0};
			unsigned char data[] = "pcsc11 cabi test", sig[512];
			CK_ULONG sl = 0;
			check_rv(f->C_SignInit(s, &m, ec), CKR_OK, "C_SignInit ECDSA_SHA256");
			check_rv(f->C_SignInit(s, &m, ec), CKR_OPERATION_ACTIVE, "C_SignInit while active");
			check_rv(f->C_Sign(s, data, sizeof data - 1, NULL, &sl), CKR_OK, "C_Sign size query");
			check(sl == 64 || sl == 96, "ECDSA signature length");
			CK_ULONG one = 1;
			check_rv(f->C_Sign(s, data, sizeof data - 1, sig, &one), CKR_BUFFER_TOO_SMALL, "C_Sign short buffer");
			check(one == sl, "C_Sign short buffer reports the length");
			sl = sizeof sig;
			CK_RV rv = f->C_Sign(s, data, sizeof data - 1, sig, &sl);
			if (rv == CKR_USER_NOT_LOGGED_IN) {
				/* an always-authenticate key: log in for the operation, as pkcs11-tool does */
				check_rv(f->C_SignInit(s, &m, ec), CKR_OK, "C_SignInit again");
				check_rv(f->C_Login(s, CKU_CONTEXT_SPECIFIC, (CK_UTF8CHAR_PTR)pin, strlen(pin)), CKR_OK, "C_Login context specific");
				sl = sizeof sig;
				rv = f->C_Sign(s, data, sizeof data - 1, sig, &sl);
			}
			check_rv(rv, CKR_OK, "C_Sign ECDSA");
			CK_ULONG slen = sl;
			check_rv(f->C_Sign(s, data, sizeof data - 1, sig, &sl), CKR_OPERATION_NOT_INITIALIZED, "operation ended after C_Sign");
			check_rv(f->C_VerifyInit(s, &m, ec), CKR_OK, "C_VerifyInit ECDSA_SHA256");
			check_rv(f->C_Verify(s, data, sizeof data - 1, sig, slen), CKR_OK, "C_Verify ECDSA");
			sig[3] ^= 1;
			check_rv(f->C_VerifyInit(s, &m, ec), CKR_OK, "C_VerifyInit ECDSA_SHA256");
			check_rv(f->C_Verify(s, data, sizeof data - 1, sig, slen), CKR_SIGNATURE_INVALID, "C_Verify tampered ECDSA signature");
			/* 3.0 message-based signing with the same key. */
			check_rv(f3->C_MessageSignInit(s, &m, ec), CKR_OK, "C_MessageSignInit");
			check_rv(f3->C_MessageVerifyInit(s, &m, ec), CKR_OK, "C_MessageVerifyInit");
			for (int i = 0; i < 2; i++) {
				sl = sizeof sig;
				rv = f3->C_SignMessage(s, NULL, 0, data, sizeof data - 1 - i, sig, &sl);
				if (rv == CKR_USER_NOT_LOGGED_IN) {
					check_rv(f->C_Login(s, CKU_CONTEXT_SPECIFIC, (CK_UTF8CHAR_PTR)pin, strlen(pin)), CKR_OK, "C_Login context specific");
					sl = sizeof sig;
					rv = f3->C_SignMessage(s, NULL, 0, data, sizeof data - 1 - i, sig, &sl);
				}
				check_rv(rv, CKR_OK, "C_SignMessage");
				check_rv(f3->C_VerifyMessage(s, NULL, 0, data, sizeof data - 1 - i, sig, sl), CKR_OK, "C_VerifyMessage");
			}
			check_rv(f3->C_VerifyMessageBegin(s, NULL, 0), CKR_OK, "C_VerifyMessageBegin");
			check_rv(f3->C_VerifyMessageNext(s, NULL, 0, data, 4, NULL, 0), CKR_OK, "C_VerifyMessageNext");
			check_rv(f3->C_VerifyMessageNext(s, NULL, 0, data + 4, sizeof data - 6, sig, sl), CKR_OK, "C_VerifyMessageNext last");
			check_rv(f3->C_MessageSignFinal(s), CKR_OK, "C_MessageSignFinal");
			check_rv(f3->C_MessageVerifyFinal(s), CKR_OK, "C_MessageVerifyFinal");
			check_rv(f3->C_SignMessage(s, NULL, 0, data, 1, sig, &sl), CKR_OPERATION_NOT_INITIALIZED, "C_SignMessage after C_MessageSignFinal");
		}
		/* ECDH on the card with another EC public key of the token as the peer. */
		if (ec != CK_INVALID_HANDLE) {
			CK_OBJECT_CLASS pubc = CKO_PUBLIC_KEY;
			CK_KEY_TYPE ekt = CKK_EC;
			CK_ATTRIBUTE tp[2] = {{CKA_CLASS, &pubc, sizeof pubc}, {CKA_KEY_TYPE, &ekt, sizeof ekt}};
			CK_OBJECT_HANDLE peer = find_one(s, tp, 2);
			unsigned char point[256];
			CK_ATTRIBUTE pa = {CKA_EC_POINT, point, sizeof point};
			CK_BBOOL derive = CK_FALSE;
			CK_ATTRIBUTE da = {CKA_DERIVE, &derive, 1};
			f->C_GetAttributeValue(s, ec, &da, 1);
			if (peer != CK_INVALID_HANDLE && derive && f->C_GetAttributeValue(s, peer, &pa, 1) == CKR_OK) {
				CK_ECDH1_DERIVE_PARAMS ep = {CKD_NULL, 0, NULL, pa.ulValueLen, point};
				CK_MECHANISM dm = {CKM_ECDH1_DERIVE, &ep, sizeof ep};
				CK_OBJECT_CLASS sk = CKO_SECRET_KEY;
				CK_KEY_TYPE gk = CKK_GENERIC_SECRET;
				CK_BBOOL no = CK_FALSE;
				CK_ATTRIBUTE dt[3] = {{CKA_CLASS, &sk, sizeof sk}, {CKA_KEY_TYPE, &gk, sizeof gk}, {CKA_TOKEN, &no, 1}};
				CK_OBJECT_HANDLE dk = CK_INVALID_HANDLE;
				check_rv(f->C_DeriveKey(s, &dm, ec, dt, 3, &dk), CKR_OK, "C_DeriveKey ECDH1 (CKD_NULL)");
				unsigned char secret[128];
				CK_ATTRIBUTE sv = {CKA_VALUE, secret, sizeof secret};
				check_rv(f->C_GetAttributeValue(s, dk, &sv, 1), CKR_OK, "read the derived secret");
				check(sv.ulValueLen == 32 || sv.ulValueLen == 48, "shared secret length");
				check_rv(f->C_DestroyObject(s, dk), CKR_OK, "C_DestroyObject derived key");
				check_rv(f->C_GetAttributeValue(s, dk, &sv, 1), CKR_OBJECT_HANDLE_INVALID, "derived key gone");
				ep.kdf = 0x2; /* CKD_SHA1_KDF: not offered */
				check_rv(f->C_DeriveKey(s, &dm, ec, dt, 3, &dk), CKR_MECHANISM_PARAM_INVALID, "C_DeriveKey with a KDF");
			} else {
				printf("# no EC peer key or no CKA_DERIVE: ECDH skipped\n");
			}
		}
		/* RSA PKCS#1 v1.5 with SHA-256 (9A on the demo card: CKA_ID 01). */
		kt = CKK_RSA;
		id = 1;
		CK_OBJECT_HANDLE rsa = find_one(s, t, 3);
		if (rsa == CK_INVALID_HANDLE) rsa = find_one(s, t, 2);
		check(rsa != CK_INVALID_HANDLE, "found an RSA private key");
		if (rsa != CK_INVALID_HANDLE) {
			CK_MECHANISM m = {CKM_SHA256_RSA_PKCS, NULL, 0};
			unsigned char data[] = "pcsc11 cabi test", sig[1024];
			CK_ULONG sl = sizeof sig;
			check_rv(f->C_SignInit(s, &m, rsa), CKR_OK, "C_SignInit SHA256_RSA_PKCS");
			check_rv(f->C_SignUpdate(s, data, 6), CKR_OK, "C_SignUpdate");
			check_rv(f->C_SignUpdate(s, data + 6, sizeof data - 7), CKR_OK, "C_SignUpdate");
			CK_RV rv = f->C_SignFinal(s, sig, &sl);
			check_rv(rv, CKR_OK, "C_SignFinal RSA");
			check(sl >= 128, "RSA signature length");
			check_rv(f->C_VerifyInit(s, &m, rsa), CKR_OK, "C_VerifyInit SHA256_RSA_PKCS");
			check_rv(f->C_Verify(s, data, sizeof data - 1, sig, sl), CKR_OK, "C_Verify RSA");
			check_rv(f->C_VerifyInit(s, &m, rsa), CKR_OK, "C_VerifyInit SHA256_RSA_PKCS");
			check_rv(f->C_Verify(s, data, sizeof data - 1, sig, sl - 1), CKR_SIGNATURE_LEN_RANGE, "C_Verify short signature");
			CK_RSA_PKCS_PSS_PARAMS pp = {CKM_SHA256, CKG_MGF1_SHA256, 32};
			CK_MECHANISM pm = {CKM_SHA256_RSA_PKCS_PSS, &pp, sizeof pp};
			check_rv(f->C_SignInit(s, &pm, rsa), CKR_OK, "C_SignInit SHA256_RSA_PKCS_PSS");
			sl = sizeof sig;
			check_rv(f->C_Sign(s, data, sizeof data - 1, sig, &sl), CKR_OK, "C_Sign PSS");
			pp.sLen = 100000;
			check_rv(f->C_SignInit(s, &pm, rsa), CKR_MECHANISM_PARAM_INVALID, "PSS salt too long");
		}
		/* RSA decryption on the card of what the module encrypted in software. */
		for (CK_BYTE want_id = 1; want_id <= 4; want_id++) {
			CK_BBOOL tru = CK_TRUE;
			CK_ATTRIBUTE td[3] = {{CKA_CLASS, &pk, sizeof pk}, {CKA_DECRYPT, &tru, 1}, {CKA_ID, &want_id, 1}};
			kt = CKK_RSA;
			CK_OBJECT_HANDLE dk = find_one(s, td, 3);
			if (dk == CK_INVALID_HANDLE) continue;
			CK_MECHANISM m = {CKM_RSA_PKCS, NULL, 0};
			unsigned char msg[] = "decrypt me", ct[1024], pt[1024];
			CK_ULONG cl = sizeof ct, pl = 0;
			check_rv(f->C_EncryptInit(s, &m, dk), CKR_OK, "C_EncryptInit RSA_PKCS (public half)");
			check_rv(f->C_Encrypt(s, msg, sizeof msg - 1, ct, &cl), CKR_OK, "C_Encrypt");
			check_rv(f->C_DecryptInit(s, &m, dk), CKR_OK, "C_DecryptInit RSA_PKCS");
			check_rv(f->C_Decrypt(s, ct, cl, NULL, &pl), CKR_OK, "C_Decrypt size query");
			pl = 2;
			CK_RV rv = f->C_Decrypt(s, ct, cl, pt, &pl);
			if (rv == CKR_USER_NOT_LOGGED_IN) {
				check_rv(f->C_DecryptInit(s, &m, dk), CKR_OK, "C_DecryptInit again");
				check_rv(f->C_Login(s, CKU_CONTEXT_SPECIFIC, (CK_UTF8CHAR_PTR)pin, strlen(pin)), CKR_OK, "C_Login context specific");
				pl = 2;
				rv = f->C_Decrypt(s, ct, cl, pt, &pl);
			}
			check_rv(rv, CKR_BUFFER_TOO_SMALL, "C_Decrypt short buffer");
			check(pl == sizeof msg - 1, "C_Decrypt reports the exact length");
			pl = sizeof pt;
			check_rv(f->C_Decrypt(s, ct, cl, pt, &pl), CKR_OK, "C_Decrypt");
			check(pl == sizeof msg - 1 && memcmp(pt, msg, pl) == 0, "decrypted plaintext matches");
			CK_RSA_PKCS_OAEP_PARAMS op = {CKM_SHA256, CKG_MGF1_SHA256, CKZ_DATA_SPECIFIED, (CK_VOID_PTR) "lbl", 3};
			CK_MECHANISM om = {CKM_RSA_PKCS_OAEP, &op, sizeof op};
			cl = sizeof ct;
			check_rv(f->C_EncryptInit(s, &om, dk), CKR_OK, "C_EncryptInit OAEP");
			check_rv(f->C_Encrypt(s, msg, sizeof msg - 1, ct, &cl), CKR_OK, "C_Encrypt OAEP");
			check_rv(f->C_DecryptInit(s, &om, dk), CKR_OK, "C_DecryptInit OAEP");
			pl = sizeof pt;
			rv = f->C_Decrypt(s, ct, cl, pt, &pl);
			check_rv(rv, CKR_OK, "C_Decrypt OAEP");
			check(rv == CKR_OK && pl == sizeof msg - 1 && memcmp(pt, msg, pl) == 0, "OAEP plaintext matches");
			break;
		}
		test_edge_cases(s);
		check_rv(f->C_Logout(s), CKR_OK, "C_Logout");
		check_rv(f->C_Logout(s), CKR_USER_NOT_LOGGED_IN, "C_Logout twice");
		/* Step 23: logging out of one session makes every session public again. */
		check_rv(f->C_GetSessionInfo(rw, &si), CKR_OK, "step 23: C_GetSessionInfo");
		check(si.state == CKS_RW_PUBLIC_SESSION, "step 23: R/W session public after logout");
		check_rv(f->C_GetSessionInfo(s, &si), CKR_OK, "step 23: C_GetSessionInfo R/O");
		check(si.state == CKS_RO_PUBLIC_SESSION, "step 23: R/O session public after logout");
		CK_OBJECT_CLASS pkc = CKO_PRIVATE_KEY;
		CK_ATTRIBUTE tpk = {CKA_CLASS, &pkc, sizeof pkc};
		CK_OBJECT_HANDLE any[64];
		CK_ULONG nany = 0, npriv = 0;
		f->C_FindObjectsInit(s, &tpk, 1);
		f->C_FindObjects(s, any, 64, &nany);
		f->C_FindObjectsFinal(s);
		for (CK_ULONG i = 0; i < nany; i++) {
			CK_BBOOL priv = CK_FALSE;
			CK_ATTRIBUTE pa = {CKA_PRIVATE, &priv, 1};
			if (f->C_GetAttributeValue(s, any[i], &pa, 1) == CKR_OK && priv) npriv++;
		}
		check(npriv == 0, "private objects hidden after logout");
	}
	check_rv(f->C_CloseSession(s), CKR_OK, "C_CloseSession");
	check_rv(f->C_CloseSession(s), CKR_SESSION_HANDLE_INVALID, "C_CloseSession twice");

	/* Steps 10-12 of the v2.20 sessions example: the SO in a R/W session blocks R/O ones. */
	const char *so = getenv("PCSC11_TEST_SO_PIN");
	if (so == NULL) {
		printf("# PCSC11_TEST_SO_PIN not set: SO checks skipped\n");
	} else {
		CK_SESSION_HANDLE ro;
		check_rv(f->C_Login(rw, CKU_SO, (CK_UTF8CHAR_PTR)so, strlen(so)), CKR_OK, "C_Login SO (only R/W sessions open)");
		check_rv(f->C_GetSessionInfo(rw, &si), CKR_OK, "C_GetSessionInfo SO");
		check(si.state == CKS_RW_SO_FUNCTIONS, "R/W SO functions state");
		check_rv(f->C_OpenSession(token_slot, CKF_SERIAL_SESSION, NULL, NULL, &ro), CKR_SESSION_READ_WRITE_SO_EXISTS,
			"R/O session refused while the SO is logged in");
		if (pin != NULL)
			check_rv(f->C_Login(rw, CKU_USER, (CK_UTF8CHAR_PTR)pin, strlen(pin)), CKR_USER_ANOTHER_ALREADY_LOGGED_IN,
				"user login while the SO is logged in");
		check_rv(f->C_Logout(rw), CKR_OK, "C_Logout SO");
	}
	check_rv(f->C_CloseAllSessions(token_slot), CKR_OK, "C_CloseAllSessions");
	check_rv(f->C_GetSessionInfo(rw, &si), CKR_SESSION_HANDLE_INVALID, "session closed by C_CloseAllSessions");
}

/* 16 threads, each with its own sessions, at the same time. */
static int thread_fail;
static void *worker(void *arg) {
	(void)arg;
	for (int i = 0; i < 20; i++) {
		CK_SESSION_HANDLE s;
		CK_OBJECT_HANDLE o[32];
		CK_ULONG n = 0;
		if (f->C_OpenSession(token_slot, CKF_SERIAL_SESSION, NULL, NULL, &s) != CKR_OK) { __sync_fetch_and_add(&thread_fail, 1); return NULL; }
		if (f->C_FindObjectsInit(s, NULL, 0) != CKR_OK || f->C_FindObjects(s, o, 32, &n) != CKR_OK || n == 0) __sync_fetch_and_add(&thread_fail, 1);
		f->C_FindObjectsFinal(s);
		CK_OBJECT_CLASS c;
		CK_ATTRIBUTE a = {CKA_CLASS, &c, sizeof c};
		if (n > 0 && f->C_GetAttributeValue(s, o[0], &a, 1) != CKR_OK) __sync_fetch_and_add(&thread_fail, 1);
		if (f->C_CloseSession(s) != CKR_OK) __sync_fetch_and_add(&thread_fail, 1);
	}
	return NULL;
}

static void test_threads(void) {
	pthread_t th[16];
	for (int i = 0; i < 16; i++) pthread_create(&th[i], NULL, worker, NULL);
	for (int i = 0; i < 16; i++) pthread_join(th[i], NULL);
	check(thread_fail == 0, "16 threads with concurrent sessions");
}

/* vpiv_ask sends one line to the virtual card's control socket and reads its one-line
 * answer into answer (n bytes, NUL-terminated; may be NULL). */
static int vpiv_ask(const char *path, const char *cmd, char *answer, size_t n) {
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un a;
	memset(&a, 0, sizeof a);
	a.sun_family = AF_UNIX;
	strncpy(a.sun_path, path, sizeof a.sun_path - 1);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
		if (fd >= 0) close(fd);
		return -1;
	}
	char line[64], buf[256];
	snprintf(line, sizeof line, "%s\n", cmd);
	int ok = write(fd, line, strlen(line)) == (ssize_t)strlen(line);
	ssize_t got = ok ? read(fd, buf, sizeof buf - 1) : -1;
	close(fd);
	if (answer != NULL && n > 0) {
		size_t l = got > 0 ? (size_t)got : 0;
		if (l >= n) l = n - 1;
		memcpy(answer, buf, l);
		answer[l] = 0;
	}
	return ok ? 0 : -1;
}

/* vpiv_command sends one line to the virtual card's control socket. */
static int vpiv_command(const char *path, const char *cmd) { return vpiv_ask(path, cmd, NULL, 0); }

/* wait_slot_event waits (C_WaitForSlotEvent, polling with DONT_BLOCK for at most 10 s so
 * a missing event fails the check instead of hanging) for an event on slot. */
static int wait_slot_event(CK_SLOT_ID slot) {
	for (int i = 0; i < 200; i++) {
		CK_SLOT_ID got;
		CK_RV rv = f->C_WaitForSlotEvent(CKF_DONT_BLOCK, &got, NULL);
		if (rv == CKR_OK && got == slot) return 1;
		if (rv != CKR_OK && rv != CKR_NO_EVENT) return 0;
		struct timespec t = {0, 50 * 1000 * 1000};
		nanosleep(&t, NULL);
	}
	return 0;
}

static void test_removal(void) {
	const char *ctl = getenv("PCSC11_VPIV_CONTROL");
	const char *on = getenv("PCSC11_TEST_REMOVAL");
	if (ctl == NULL || on == NULL || strcmp(on, "1") != 0) {
		printf("# PCSC11_TEST_REMOVAL=1 and PCSC11_VPIV_CONTROL not set: removal checks skipped\n");
		return;
	}
	CK_SESSION_HANDLE s;
	CK_SESSION_INFO si;
	CK_TOKEN_INFO ti;
	CK_SLOT_ID drain;
	while (f->C_WaitForSlotEvent(CKF_DONT_BLOCK, &drain, NULL) == CKR_OK) {}
	check_rv(f->C_OpenSession(token_slot, CKF_SERIAL_SESSION, NULL, NULL, &s), CKR_OK, "removal: open a session");
	check(vpiv_command(ctl, "remove") == 0, "removal: card removed through the control socket");
	check(wait_slot_event(token_slot), "removal: slot event for the removal");
	CK_RV rv = f->C_GetSessionInfo(s, &si);
	check(rv == CKR_DEVICE_REMOVED || rv == CKR_SESSION_HANDLE_INVALID || rv == CKR_SESSION_CLOSED,
		"removal: the session died with the card");
	check_rv(f->C_GetSessionInfo(s, &si), CKR_SESSION_HANDLE_INVALID, "removal: the handle is invalid afterwards");
	check_rv(f->C_GetTokenInfo(token_slot, &ti), CKR_TOKEN_NOT_PRESENT, "removal: no token in the slot");
	CK_SLOT_ID all[64];
	CK_ULONG n = 64;
	check_rv(f->C_GetSlotList(CK_FALSE, all, &n), CKR_OK, "removal: slot list");
	int still = 0;
	for (CK_ULONG i = 0; i < n; i++) still |= all[i] == token_slot;
	check(still, "removal: the slot stays in the list");
	check(vpiv_command(ctl, "insert") == 0, "removal: card inserted again");
	check(wait_slot_event(token_slot), "removal: slot event for the insertion");
	rv = CKR_TOKEN_NOT_PRESENT;
	for (int i = 0; i < 100 && rv != CKR_OK; i++) {
		rv = f->C_GetTokenInfo(token_slot, &ti);
		struct timespec t = {0, 50 * 1000 * 1000};
		if (rv != CKR_OK) nanosleep(&t, NULL);
	}
	check_rv(rv, CKR_OK, "removal: token back");
	CK_SESSION_HANDLE s2;
	check_rv(f->C_OpenSession(token_slot, CKF_SERIAL_SESSION, NULL, NULL, &s2), CKR_OK, "removal: new session on the new card");
	check(s2 != s, "removal: new session handle");
	f->C_CloseSession(s2);
}

#include "pcsc_child.inc"
#include "events.inc"
#include "sharing.inc"
#include "soak.inc"
#include "restart.inc"
#include "faults.inc"
#include "touch.inc"
#include "nonblock.inc"

int main(int argc, char **argv) {
	if (argc >= 2 && strcmp(argv[1], "--pcsc") == 0) return pcsc_child(argc, argv);
	if (argc != 2) {
		fprintf(stderr, "usage: %s path/to/libpcsc11.so\n", argv[0]);
		return 2;
	}
	pin = getenv("PCSC11_TEST_PIN");
	void *h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
	if (h == NULL) {
		fprintf(stderr, "dlopen: %s\n", dlerror());
		return 2;
	}
	test_lists(h);
	test_lifecycle();
	test_args();
	test_fork();

	CK_SLOT_ID slots[64];
	CK_ULONG n = 64;
	CK_RV rv = f->C_GetSlotList(CK_TRUE, slots, &n);
	int have_token = 0;
	for (CK_ULONG i = 0; rv == CKR_OK && i < n && !have_token; i++) {
		CK_TOKEN_INFO ti;
		if (f->C_GetTokenInfo(slots[i], &ti) == CKR_OK) {
			token_slot = slots[i];
			have_token = 1;
		}
	}
	const char *only = getenv("PCSC11_TEST_ONLY"); /* "nonblock": that part alone (development) */
	if (have_token && only != NULL && strcmp(only, "nonblock") == 0) {
		test_nonblocking(getenv("PCSC11_VPIV_CONTROL"));
	} else if (have_token) {
		printf("# token in slot %lu\n", token_slot);
		test_token();
		test_threads();
		test_removal();
		const char *ctl = getenv("PCSC11_VPIV_CONTROL"), *on = getenv("PCSC11_TEST_REMOVAL");
		if (ctl != NULL && on != NULL && strcmp(on, "1") == 0) {
			test_events(ctl);
			test_card_lifecycle(ctl);
			test_other_cards(ctl);
			test_nonblocking(ctl);
			test_soak(ctl);
			if (pin != NULL) test_sharing();
			test_pcscd_restart();
			test_faulty_cards();
			/* Last: it finalizes and initializes the library again. */
			if (pin != NULL) test_touch();
		} else {
			printf("# private rig not signalled: event, lifecycle and sharing checks skipped\n");
		}
	} else {
		printf("# no slot with a usable token: token checks skipped\n");
	}
	test_finalize_wakes_waiters();
	check_rv(f->C_Initialize(NULL), CKR_OK, "C_Initialize after all that");
	check_rv(f->C_Finalize(NULL), CKR_OK, "final C_Finalize");

	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
