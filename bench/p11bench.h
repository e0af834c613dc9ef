/*
 * p11bench.h — shared declarations of the PKCS#11 measurement harness.
 *
 * The harness is C on purpose: a Go program cannot dlopen libpcsc11.so (one Go runtime
 * per process), and a C host is what Firefox, ssh and p11-kit are. PKCS#11 types come
 * from pcsc11's own header (module/include/pcsc11_pkcs11.h, written from the v3.0 spec),
 * so the harness uses no vendor header.
 */
#ifndef P11BENCH_H
#define P11BENCH_H

#include <stdint.h>
#include <time.h>

#include "pcsc11_pkcs11.h"

#define MAX_CARDS 2
#define MAX_THREADS 16

/* Card-side counters, read from the virtual card's control socket ("status"). */
typedef struct {
	int ok; /* 0: no socket or no answer: counts unknown */
	uint64_t cmds, in, out;
} card_stats;

/* Options of one harness run (see usage() in p11bench.c). */
typedef struct {
	const char *module, *label, *lat, *scenario, *variant;
	const char *reader[MAX_CARDS];  /* substring of the slot description / reader name */
	const char *control[MAX_CARDS]; /* control sockets of the cards */
	int ncards;                     /* readers named with --reader */
	int run;                        /* run number, echoed in the output */
	int n;                          /* repeats (S3 signatures, S4 per thread, S5 cycles) */
	int threads;                    /* S4 threads per card */
	int interval_ms;                /* S10 pause between polls */
	const char *pin;                /* never printed */
} options;

/* A loaded and initialised module. */
typedef struct {
	void *dl;
	CK_FUNCTION_LIST_PTR f;
} module;

/* A measurement interval: clocks and card counters at its start. */
typedef struct {
	struct timespec wall, cpu;
	card_stats card;
} mark;

/* The result line being built (JSON object, one line on stdout). */
typedef struct {
	char buf[4096];
	size_t len;
} result;

/* cardctl.c */
card_stats card_read(const options *o);
int card_command(const char *sock, const char *cmd);

/* p11bench.c: measurement and output helpers */
double now_ms(clockid_t clk);
void mark_start(mark *m, const options *o);
void result_begin(result *r, const options *o, const char *scenario, const char *cas);
void result_measure(result *r, const mark *m, const options *o, unsigned long ops);
void result_num(result *r, const char *key, double v);
void result_str(result *r, const char *key, const char *v);
void result_end(result *r, const char *status);
void fail(const options *o, const char *scenario, const char *what, CK_RV rv);

/* p11bench.c: PKCS#11 helpers */
CK_RV module_load(module *m, const char *path);
CK_RV module_init(module *m);
CK_RV find_slot(module *m, const char *reader, int need_token, CK_SLOT_ID *slot);
CK_RV find_key(module *m, CK_SESSION_HANDLE s, CK_OBJECT_CLASS cls, unsigned char id,
	CK_OBJECT_HANDLE *h);
CK_RV login_user(module *m, CK_SESSION_HANDLE s, const char *pin);

/* A signing key of the demo card and how to sign with it. */
typedef struct {
	const char *name;   /* "ec" or "rsa" */
	unsigned char id;   /* CKA_ID (PIV slot: 9A=01, 9E=04) */
	CK_MECHANISM_TYPE mech;
	const unsigned char *input;
	CK_ULONG input_len;
} sigkey;
const sigkey *sigkey_by_name(const char *name);
CK_RV sign_once(module *m, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE key, const sigkey *k,
	int always_auth, const char *pin);
int key_always_auth(module *m, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE key);

/* scenarios */
int scenario_parallel(const options *o);   /* S4: p11bench_par.c */
int scenario_events(const options *o);     /* S5: p11bench_event.c */
int scenario_tls(const options *o);        /* S9: p11bench_idle.c */
int scenario_idle(const options *o);       /* S10: p11bench_idle.c */

#endif
