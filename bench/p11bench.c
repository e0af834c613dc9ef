/*
 * p11bench — measures a PKCS#11 module against the virtual PIV card (docs/performance.md).
 *
 *   p11bench --module SO --scenario S1|S2|S3|S4|S5|S6|S9|S10 [--variant V] --reader SUBSTR
 *            --control SOCK [--reader SUBSTR2 --control SOCK2] [--n N] [--threads T]
 *            [--interval-ms MS] [--label NAME] [--lat TAG] [--run K]
 *
 * S7 (ssh-keygen -D) and S8 (NSS certutil) are measured with the real programs by
 * run.sh; S9 and S10 are in p11bench_idle.c.
 *
 * Each result is one JSON line on stdout:
 *   {"module":..,"lat":..,"run":..,"scenario":..,"case":..,"status":"ok",
 *    "apdus":..,"bytes_in":..,"bytes_out":..,"wall_ms":..,"cpu_ms":..,"ops":.., ...}
 * apdus/bytes are totals over the measured interval as counted by the card(s); wall_ms
 * is CLOCK_MONOTONIC, cpu_ms is CLOCK_PROCESS_CPUTIME_ID (every thread of the process:
 * the module, its runtime, libpcsclite; the harness itself idles while measuring).
 * The PIN comes from $P11BENCH_PIN (default: the PIV factory PIN 123456) and is never
 * printed.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "p11bench.h"

/* ---- measurement and output ---- */

double now_ms(clockid_t clk)
{
	struct timespec t;
	clock_gettime(clk, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static double ts_ms(const struct timespec *t)
{
	return (double)t->tv_sec * 1e3 + (double)t->tv_nsec / 1e6;
}

void mark_start(mark *m, const options *o)
{
	/* Card counters first: the socket round trip must not fall inside the interval. */
	m->card = card_read(o);
	clock_gettime(CLOCK_MONOTONIC, &m->wall);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &m->cpu);
}

static void append(result *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void append(result *r, const char *fmt, ...)
{
	if (r->len >= sizeof r->buf)
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(r->buf + r->len, sizeof r->buf - r->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		r->len += (size_t)n;
	if (r->len >= sizeof r->buf)
		r->len = sizeof r->buf - 1;
}

void result_str(result *r, const char *key, const char *v)
{
	append(r, ",\"%s\":\"", key);
	for (const unsigned char *p = (const unsigned char *)(v ? v : ""); *p; p++) {
		if (*p == '"' || *p == '\\')
			append(r, "\\%c", *p);
		else if (*p < 0x20)
			append(r, "\\u%04x", *p);
		else
			append(r, "%c", *p);
	}
	append(r, "\"");
}

void result_num(result *r, const char *key, double v)
{
	append(r, ",\"%s\":%.3f", key, v);
}

void result_begin(result *r, const options *o, const char *scenario, const char *cas)
{
	r->len = 0;
	append(r, "{\"v\":1");
	result_str(r, "module", o->label);
	result_str(r, "lat", o->lat);
	append(r, ",\"run\":%d", o->run);
	result_str(r, "scenario", scenario);
	result_str(r, "case", cas);
}

/* result_measure closes the interval opened by mark_start. */
void result_measure(result *r, const mark *m, const options *o, unsigned long ops)
{
	struct timespec w, c;
	clock_gettime(CLOCK_MONOTONIC, &w);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c);
	card_stats after = card_read(o);
	if (m->card.ok && after.ok) {
		append(r, ",\"apdus\":%llu,\"bytes_in\":%llu,\"bytes_out\":%llu",
			(unsigned long long)(after.cmds - m->card.cmds),
			(unsigned long long)(after.in - m->card.in),
			(unsigned long long)(after.out - m->card.out));
	} else {
		append(r, ",\"apdus\":null,\"bytes_in\":null,\"bytes_out\":null");
	}
	result_num(r, "wall_ms", ts_ms(&w) - ts_ms(&m->wall));
	result_num(r, "cpu_ms", ts_ms(&c) - ts_ms(&m->cpu));
	append(r, ",\"ops\":%lu", ops);
}

void result_end(result *r, const char *status)
{
	result_str(r, "status", status);
	append(r, "}\n");
	fwrite(r->buf, 1, r->len, stdout);
	fflush(stdout);
}

void fail(const options *o, const char *scenario, const char *what, CK_RV rv)
{
	result r;
	result_begin(&r, o, scenario, o->variant ? o->variant : "");
	char msg[160];
	snprintf(msg, sizeof msg, "%s: rv 0x%lx", what, (unsigned long)rv);
	result_str(&r, "error", msg);
	result_end(&r, rv == CKR_FUNCTION_NOT_SUPPORTED ? "unsupported" : "error");
	fprintf(stderr, "p11bench %s %s: %s\n", o->label, scenario, msg);
}

/* ---- PKCS#11 helpers ---- */

CK_RV module_load(module *m, const char *path)
{
	m->dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!m->dl) {
		fprintf(stderr, "p11bench: dlopen %s: %s\n", path, dlerror());
		return CKR_GENERAL_ERROR;
	}
	CK_C_GetFunctionList gfl = (CK_C_GetFunctionList)dlsym(m->dl, "C_GetFunctionList");
	if (!gfl)
		return CKR_GENERAL_ERROR;
	return gfl(&m->f);
}

CK_RV module_init(module *m)
{
	/* OS locking: S4 calls from several threads, as Firefox does. */
	CK_C_INITIALIZE_ARGS args;
	memset(&args, 0, sizeof args);
	args.flags = CKF_OS_LOCKING_OK;
	return m->f->C_Initialize(&args);
}

/* find_slot picks the first slot whose description contains the reader substring. */
CK_RV find_slot(module *m, const char *reader, int need_token, CK_SLOT_ID *slot)
{
	CK_SLOT_ID list[64];
	CK_ULONG n = 64;
	CK_RV rv = m->f->C_GetSlotList(need_token ? CK_TRUE : CK_FALSE, list, &n);
	if (rv != CKR_OK)
		return rv;
	for (CK_ULONG i = 0; i < n; i++) {
		CK_SLOT_INFO si;
		if (m->f->C_GetSlotInfo(list[i], &si) != CKR_OK)
			continue;
		char d[sizeof si.slotDescription + 1];
		memcpy(d, si.slotDescription, sizeof si.slotDescription);
		d[sizeof si.slotDescription] = 0;
		if (strstr(d, reader)) {
			*slot = list[i];
			return CKR_OK;
		}
	}
	return CKR_SLOT_ID_INVALID;
}

CK_RV find_key(module *m, CK_SESSION_HANDLE s, CK_OBJECT_CLASS cls, unsigned char id,
	CK_OBJECT_HANDLE *h)
{
	CK_ATTRIBUTE tmpl[2] = {
		{CKA_CLASS, &cls, sizeof cls},
		{CKA_ID, &id, 1},
	};
	CK_RV rv = m->f->C_FindObjectsInit(s, tmpl, 2);
	if (rv != CKR_OK)
		return rv;
	CK_ULONG n = 0;
	rv = m->f->C_FindObjects(s, h, 1, &n);
	CK_RV rv2 = m->f->C_FindObjectsFinal(s);
	if (rv != CKR_OK)
		return rv;
	if (rv2 != CKR_OK)
		return rv2;
	return n == 1 ? CKR_OK : CKR_OBJECT_HANDLE_INVALID;
}

CK_RV login_user(module *m, CK_SESSION_HANDLE s, const char *pin)
{
	CK_RV rv = m->f->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)pin, strlen(pin));
	return rv == CKR_USER_ALREADY_LOGGED_IN ? CKR_OK : rv;
}

int key_always_auth(module *m, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE key)
{
	CK_BBOOL v = CK_FALSE;
	CK_ATTRIBUTE a = {CKA_ALWAYS_AUTHENTICATE, &v, sizeof v};
	return m->f->C_GetAttributeValue(s, key, &a, 1) == CKR_OK && v == CK_TRUE;
}

/* The signed inputs: a SHA-256 value for raw ECDSA, and the same value inside a
 * DigestInfo for CKM_RSA_PKCS (what ssh-agent and TLS libraries hand a module). */
static const unsigned char hash32[32] = {
	0x9f, 0x86, 0xd0, 0x81, 0x88, 0x4c, 0x7d, 0x65, 0x9a, 0x2f, 0xea, 0xa0, 0xc5, 0x5a,
	0xd0, 0x15, 0xa3, 0xbf, 0x4f, 0x1b, 0x2b, 0x0b, 0x82, 0x2c, 0xd1, 0x5d, 0x6c, 0x15,
	0xb0, 0xf0, 0x0a, 0x08};
static unsigned char digestinfo[19 + 32] = {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60,
	0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20};

static const sigkey keys[] = {
	/* 9E Card Authentication, P-256, PIN policy never: one GENERAL AUTHENTICATE. */
	{"ec", 0x04, CKM_ECDSA, hash32, sizeof hash32},
	/* 9A PIV Authentication, RSA-2048, PIN once per session (ssh's key). */
	{"rsa", 0x01, CKM_RSA_PKCS, digestinfo, sizeof digestinfo},
};

const sigkey *sigkey_by_name(const char *name)
{
	memcpy(digestinfo + 19, hash32, 32);
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
		if (strcmp(keys[i].name, name) == 0)
			return &keys[i];
	return NULL;
}

CK_RV sign_once(module *m, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE key, const sigkey *k,
	int always_auth, const char *pin)
{
	CK_MECHANISM mech = {k->mech, NULL, 0};
	CK_RV rv = m->f->C_SignInit(s, &mech, key);
	if (rv != CKR_OK)
		return rv;
	if (always_auth) {
		/* Spec 5.2 C_Login: CKU_CONTEXT_SPECIFIC after C_SignInit for such keys. */
		rv = m->f->C_Login(s, CKU_CONTEXT_SPECIFIC, (CK_UTF8CHAR_PTR)pin, strlen(pin));
		if (rv != CKR_OK)
			return rv;
	}
	unsigned char sig[512];
	CK_ULONG siglen = sizeof sig;
	return m->f->C_Sign(s, (CK_BYTE_PTR)k->input, k->input_len, sig, &siglen);
}

/* ---- scenarios S1, S2, S3, S6 ---- */

/* launch does what an application does at start: load, initialise, list the slots with
 * a token and read every token's information. */
static CK_RV launch(module *m, const options *o, const char **what)
{
	CK_RV rv;
	*what = "load";
	if ((rv = module_load(m, o->module)) != CKR_OK)
		return rv;
	*what = "C_Initialize";
	if ((rv = module_init(m)) != CKR_OK)
		return rv;
	CK_SLOT_ID list[64];
	CK_ULONG n = 0;
	*what = "C_GetSlotList";
	if ((rv = m->f->C_GetSlotList(CK_TRUE, NULL, &n)) != CKR_OK)
		return rv;
	if (n > 64)
		n = 64;
	if ((rv = m->f->C_GetSlotList(CK_TRUE, list, &n)) != CKR_OK)
		return rv;
	*what = "C_GetTokenInfo";
	for (CK_ULONG i = 0; i < n; i++) {
		CK_TOKEN_INFO ti;
		if ((rv = m->f->C_GetTokenInfo(list[i], &ti)) != CKR_OK)
			return rv;
	}
	return n > 0 ? CKR_OK : CKR_TOKEN_NOT_PRESENT;
}

/* finalize ends the module and reports, after a short settle, the APDUs the whole
 * process sent since m0 (catches work a module does after the measured interval, in
 * background threads or in C_Finalize). */
static void finalize_and_count(module *m, const options *o, const mark *m0, result *r)
{
	m->f->C_Finalize(NULL);
	usleep(200 * 1000);
	card_stats st = card_read(o);
	if (st.ok && m0->card.ok)
		append(r, ",\"apdus_total\":%llu", (unsigned long long)(st.cmds - m0->card.cmds));
}

static long rss_kb(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	long size = 0, res = 0;
	if (!f)
		return -1;
	if (fscanf(f, "%ld %ld", &size, &res) != 2)
		res = -1;
	fclose(f);
	return res < 0 ? -1 : res * (sysconf(_SC_PAGESIZE) / 1024);
}

static int scenario_cold(const options *o, int with_rss)
{
	const char *sc = with_rss ? "S6" : "S1";
	module m;
	mark m0;
	const char *what;
	long rss0 = rss_kb();
	mark_start(&m0, o);
	CK_RV rv = launch(&m, o, &what);
	if (rv != CKR_OK) {
		fail(o, sc, what, rv);
		return 1;
	}
	result r;
	result_begin(&r, o, sc, with_rss ? "rss" : "cold");
	result_measure(&r, &m0, o, 1);
	if (with_rss) {
		long rss1 = rss_kb();
		append(&r, ",\"rss_before_kb\":%ld,\"rss_added_kb\":%ld", rss0, rss1 - rss0);
	}
	finalize_and_count(&m, o, &m0, &r);
	result_end(&r, "ok");
	return 0;
}

/* S2: launch, then what ssh or a TLS client does for its first signature. */
static int scenario_first_sig(const options *o)
{
	const sigkey *k = sigkey_by_name(o->variant ? o->variant : "rsa");
	if (!k) {
		fprintf(stderr, "p11bench: S2 variant must be ec or rsa\n");
		return 2;
	}
	module m;
	mark m0;
	const char *what;
	mark_start(&m0, o);
	CK_RV rv = launch(&m, o, &what);
	if (rv != CKR_OK) {
		fail(o, "S2", what, rv);
		return 1;
	}
	double t_launch = now_ms(CLOCK_MONOTONIC) - ts_ms(&m0.wall);
	CK_SLOT_ID slot;
	CK_SESSION_HANDLE s;
	CK_OBJECT_HANDLE cert, key;
	if ((rv = find_slot(&m, o->reader[0], 1, &slot)) != CKR_OK) {
		fail(o, "S2", "find slot", rv);
		return 1;
	}
	if ((rv = m.f->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &s)) != CKR_OK) {
		fail(o, "S2", "C_OpenSession", rv);
		return 1;
	}
	if ((rv = find_key(&m, s, CKO_CERTIFICATE, k->id, &cert)) != CKR_OK) {
		fail(o, "S2", "find certificate", rv);
		return 1;
	}
	unsigned char der[8192];
	CK_ATTRIBUTE val = {CKA_VALUE, NULL, 0};
	if ((rv = m.f->C_GetAttributeValue(s, cert, &val, 1)) != CKR_OK ||
	    val.ulValueLen > sizeof der) {
		fail(o, "S2", "certificate length", rv);
		return 1;
	}
	val.pValue = der;
	if ((rv = m.f->C_GetAttributeValue(s, cert, &val, 1)) != CKR_OK) {
		fail(o, "S2", "certificate value", rv);
		return 1;
	}
	/* Some modules show private keys only after login; an application retries. */
	int key_before_login = find_key(&m, s, CKO_PRIVATE_KEY, k->id, &key) == CKR_OK;
	if ((rv = login_user(&m, s, o->pin)) != CKR_OK) {
		fail(o, "S2", "C_Login", rv);
		return 1;
	}
	if (!key_before_login && (rv = find_key(&m, s, CKO_PRIVATE_KEY, k->id, &key)) != CKR_OK) {
		fail(o, "S2", "find private key", rv);
		return 1;
	}
	int aa = key_always_auth(&m, s, key);
	if ((rv = sign_once(&m, s, key, k, aa, o->pin)) != CKR_OK) {
		fail(o, "S2", "sign", rv);
		return 1;
	}
	result r;
	result_begin(&r, o, "S2", k->name);
	result_measure(&r, &m0, o, 1);
	result_num(&r, "launch_ms", t_launch);
	append(&r, ",\"cert_bytes\":%lu,\"key_before_login\":%s", (unsigned long)val.ulValueLen,
		key_before_login ? "true" : "false");
	m.f->C_CloseSession(s);
	finalize_and_count(&m, o, &m0, &r);
	result_end(&r, "ok");
	return 0;
}

/* S3: N signatures in one logged-in session, after one warm-up signature. */
static int scenario_steady(const options *o)
{
	const sigkey *k = sigkey_by_name(o->variant ? o->variant : "ec");
	if (!k) {
		fprintf(stderr, "p11bench: S3 variant must be ec or rsa\n");
		return 2;
	}
	module m;
	CK_RV rv;
	CK_SLOT_ID slot;
	CK_SESSION_HANDLE s;
	CK_OBJECT_HANDLE key;
	if ((rv = module_load(&m, o->module)) != CKR_OK || (rv = module_init(&m)) != CKR_OK) {
		fail(o, "S3", "load/initialize", rv);
		return 1;
	}
	if ((rv = find_slot(&m, o->reader[0], 1, &slot)) != CKR_OK ||
	    (rv = m.f->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &s)) != CKR_OK ||
	    (rv = login_user(&m, s, o->pin)) != CKR_OK ||
	    (rv = find_key(&m, s, CKO_PRIVATE_KEY, k->id, &key)) != CKR_OK) {
		fail(o, "S3", "setup", rv);
		return 1;
	}
	int aa = key_always_auth(&m, s, key);
	if ((rv = sign_once(&m, s, key, k, aa, o->pin)) != CKR_OK) {
		fail(o, "S3", "warm-up signature", rv);
		return 1;
	}
	mark m0;
	mark_start(&m0, o);
	for (int i = 0; i < o->n; i++) {
		if ((rv = sign_once(&m, s, key, k, aa, o->pin)) != CKR_OK) {
			fail(o, "S3", "sign", rv);
			return 1;
		}
	}
	result r;
	result_begin(&r, o, "S3", k->name);
	result_measure(&r, &m0, o, (unsigned long)o->n);
	append(&r, ",\"always_auth\":%s", aa ? "true" : "false");
	m.f->C_CloseSession(s);
	finalize_and_count(&m, o, &m0, &r);
	result_end(&r, "ok");
	return 0;
}

/* ---- command line ---- */

static void usage(void)
{
	fprintf(stderr,
		"usage: p11bench --module SO --scenario S1..S6|S9|S10 --reader SUBSTR --control SOCK\n"
		"                [--reader SUBSTR2 --control SOCK2] [--variant ec|rsa|threads|cards]\n"
		"                [--n N] [--threads T] [--interval-ms MS] [--label NAME] [--lat TAG]\n"
		"                [--run K]\n"
		"PIN: $P11BENCH_PIN (default 123456). Output: one JSON line per result.\n");
}

int main(int argc, char **argv)
{
	options o;
	memset(&o, 0, sizeof o);
	o.label = "module";
	o.lat = "off";
	o.n = 20;
	o.threads = 4;
	o.interval_ms = 1000;
	o.run = 1;
	o.pin = getenv("P11BENCH_PIN");
	if (!o.pin || !*o.pin)
		o.pin = "123456";
	int nctl = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!v) {
			usage();
			return 2;
		}
		i++;
		if (!strcmp(a, "--module"))
			o.module = v;
		else if (!strcmp(a, "--scenario"))
			o.scenario = v;
		else if (!strcmp(a, "--variant"))
			o.variant = v;
		else if (!strcmp(a, "--label"))
			o.label = v;
		else if (!strcmp(a, "--lat"))
			o.lat = v;
		else if (!strcmp(a, "--run"))
			o.run = atoi(v);
		else if (!strcmp(a, "--n"))
			o.n = atoi(v);
		else if (!strcmp(a, "--threads"))
			o.threads = atoi(v);
		else if (!strcmp(a, "--interval-ms"))
			o.interval_ms = atoi(v);
		else if (!strcmp(a, "--reader") && o.ncards < MAX_CARDS)
			o.reader[o.ncards++] = v;
		else if (!strcmp(a, "--control") && nctl < MAX_CARDS)
			o.control[nctl++] = v;
		else {
			usage();
			return 2;
		}
	}
	if (!o.module || !o.scenario || o.ncards < 1 || o.n < 1 || o.threads < 1 ||
	    o.threads > MAX_THREADS || o.interval_ms < 0) {
		usage();
		return 2;
	}
	if (!strcmp(o.scenario, "S1"))
		return scenario_cold(&o, 0);
	if (!strcmp(o.scenario, "S2"))
		return scenario_first_sig(&o);
	if (!strcmp(o.scenario, "S3"))
		return scenario_steady(&o);
	if (!strcmp(o.scenario, "S4"))
		return scenario_parallel(&o);
	if (!strcmp(o.scenario, "S5"))
		return scenario_events(&o);
	if (!strcmp(o.scenario, "S6"))
		return scenario_cold(&o, 1);
	if (!strcmp(o.scenario, "S9"))
		return scenario_tls(&o);
	if (!strcmp(o.scenario, "S10"))
		return scenario_idle(&o);
	usage();
	return 2;
}
