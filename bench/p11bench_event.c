/*
 * p11bench_event.c — S5: slot event latency.
 *
 * Two waiters watch the same reader at once: the module, in a thread blocked in
 * C_WaitForSlotEvent(flags 0), and a plain PC/SC client, in a thread blocked in
 * SCardGetStatusChange. The main thread takes the card out ("remove" on the card's
 * control socket) and puts it back ("insert"), --n times, and for each event reports
 * how long after the command each waiter woke. vpcd's reader is polled by pcscd every
 * 400 ms, so both figures mostly measure pcscd; the module's own cost is the
 * difference (added_ms).
 *
 * A module without a blocking C_WaitForSlotEvent (CKR_FUNCTION_NOT_SUPPORTED) is
 * reported as such; we do not invent a polling loop for it. At the end C_Finalize is
 * called from another thread while the waiter is blocked: the spec (5.4 C_Finalize)
 * wants the waiter to return CKR_CRYPTOKI_NOT_INITIALIZED; finalize_wakes says whether
 * that happened within 3 s.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <winscard.h>

#include "p11bench.h"

enum { SRC_MODULE, SRC_PCSC };

typedef struct {
	double t;
	int src;
} event;

static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	event ev[512];
	int n;
	CK_RV module_rv; /* why the module waiter stopped */
	int module_done;
	double module_done_t;
} log_ = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, {{0, 0}}, 0, CKR_OK, 0, 0};

static void push(int src)
{
	double t = now_ms(CLOCK_MONOTONIC);
	pthread_mutex_lock(&log_.mu);
	if (log_.n < (int)(sizeof log_.ev / sizeof log_.ev[0]))
		log_.ev[log_.n++] = (event){t, src};
	pthread_cond_broadcast(&log_.cv);
	pthread_mutex_unlock(&log_.mu);
}

typedef struct {
	module *m;
	CK_SLOT_ID slot;
} mwait;

static void *module_waiter(void *arg)
{
	mwait *w = arg;
	for (;;) {
		CK_SLOT_ID slot = 0;
		CK_RV rv = w->m->f->C_WaitForSlotEvent(0, &slot, NULL);
		if (rv == CKR_OK) {
			if (slot == w->slot)
				push(SRC_MODULE);
			continue;
		}
		pthread_mutex_lock(&log_.mu);
		log_.module_rv = rv;
		log_.module_done = 1;
		log_.module_done_t = now_ms(CLOCK_MONOTONIC);
		pthread_cond_broadcast(&log_.cv);
		pthread_mutex_unlock(&log_.mu);
		return NULL;
	}
}

typedef struct {
	SCARDCONTEXT ctx;
	char reader[256];
} pwait;

static void *pcsc_waiter(void *arg)
{
	pwait *w = arg;
	SCARD_READERSTATE rs;
	memset(&rs, 0, sizeof rs);
	rs.szReader = w->reader;
	rs.dwCurrentState = SCARD_STATE_UNAWARE;
	if (SCardGetStatusChange(w->ctx, 0, &rs, 1) != SCARD_S_SUCCESS)
		return NULL;
	for (;;) {
		DWORD before = rs.dwEventState & SCARD_STATE_PRESENT;
		rs.dwCurrentState = rs.dwEventState & ~SCARD_STATE_CHANGED;
		LONG rc = SCardGetStatusChange(w->ctx, INFINITE, &rs, 1);
		if (rc == SCARD_E_CANCELLED || (rc != SCARD_S_SUCCESS && rc != SCARD_E_TIMEOUT))
			return NULL;
		if ((rs.dwEventState & SCARD_STATE_PRESENT) != before)
			push(SRC_PCSC);
	}
}

/* wait_both waits until each waiter logged an event after t0; times in ms from t0,
 * negative when that waiter saw nothing within the deadline. */
static void wait_both(double t0, double deadline_ms, double *mod, double *pcsc)
{
	*mod = *pcsc = -1;
	pthread_mutex_lock(&log_.mu);
	for (;;) {
		for (int i = 0; i < log_.n; i++) {
			if (log_.ev[i].t < t0)
				continue;
			double d = log_.ev[i].t - t0;
			if (log_.ev[i].src == SRC_MODULE && *mod < 0)
				*mod = d;
			if (log_.ev[i].src == SRC_PCSC && *pcsc < 0)
				*pcsc = d;
		}
		if ((*mod >= 0 || log_.module_done) && *pcsc >= 0)
			break;
		double now = now_ms(CLOCK_MONOTONIC);
		if (now - t0 > deadline_ms)
			break;
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += 20 * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&log_.cv, &log_.mu, &until);
	}
	pthread_mutex_unlock(&log_.mu);
}

static void *finalizer(void *arg)
{
	module *m = arg;
	m->f->C_Finalize(NULL);
	return NULL;
}

static int find_reader(SCARDCONTEXT ctx, const char *sub, char *out, size_t outlen)
{
	char buf[4096];
	DWORD len = sizeof buf;
	if (SCardListReaders(ctx, NULL, buf, &len) != SCARD_S_SUCCESS)
		return -1;
	for (char *p = buf; p < buf + len && *p; p += strlen(p) + 1) {
		if (strstr(p, sub) && strlen(p) < outlen) {
			strcpy(out, p);
			return 0;
		}
	}
	return -1;
}

int scenario_events(const options *o)
{
	if (!o->control[0]) {
		fprintf(stderr, "p11bench: S5 needs --control (it removes and inserts the card)\n");
		return 2;
	}
	module m;
	CK_RV rv;
	if ((rv = module_load(&m, o->module)) != CKR_OK || (rv = module_init(&m)) != CKR_OK) {
		fail(o, "S5", "load/initialize", rv);
		return 1;
	}
	mwait mw = {&m, 0};
	if ((rv = find_slot(&m, o->reader[0], 0, &mw.slot)) != CKR_OK) {
		fail(o, "S5", "find slot", rv);
		return 1;
	}
	pwait pw;
	memset(&pw, 0, sizeof pw);
	if (SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &pw.ctx) != SCARD_S_SUCCESS ||
	    find_reader(pw.ctx, o->reader[0], pw.reader, sizeof pw.reader) != 0) {
		fail(o, "S5", "PC/SC reader", CKR_GENERAL_ERROR);
		return 1;
	}
	pthread_t tm, tp;
	pthread_create(&tp, NULL, pcsc_waiter, &pw);
	pthread_create(&tm, NULL, module_waiter, &mw);
	usleep(800 * 1000); /* both waiters blocked, any start-up event delivered */

	int rc = 0;
	for (int i = 0; i < o->n && rc == 0; i++) {
		static const char *const actions[] = {"remove", "insert"};
		for (int a = 0; a < 2; a++) {
			mark m0;
			mark_start(&m0, o);
			double t0 = now_ms(CLOCK_MONOTONIC);
			if (card_command(o->control[0], actions[a]) != 0) {
				fail(o, "S5", "control socket", CKR_GENERAL_ERROR);
				rc = 1;
				break;
			}
			double dm, dp;
			wait_both(t0, 5000, &dm, &dp);
			result r;
			result_begin(&r, o, "S5", actions[a]);
			result_measure(&r, &m0, o, 1);
			pthread_mutex_lock(&log_.mu);
			int done = log_.module_done;
			CK_RV mrv = log_.module_rv;
			pthread_mutex_unlock(&log_.mu);
			if (dm >= 0)
				result_num(&r, "module_ms", dm);
			if (dp >= 0)
				result_num(&r, "pcsc_ms", dp);
			if (dm >= 0 && dp >= 0)
				result_num(&r, "added_ms", dm - dp);
			const char *st = "ok";
			if (dm < 0 && done) {
				char e[64];
				snprintf(e, sizeof e, "C_WaitForSlotEvent: rv 0x%lx", (unsigned long)mrv);
				result_str(&r, "error", e);
				st = mrv == CKR_FUNCTION_NOT_SUPPORTED ? "unsupported" : "error";
			} else if (dm < 0 || dp < 0) {
				st = "timeout";
			}
			result_end(&r, st);
			/* let pcscd's next poll and the module's reaction settle */
			usleep(700 * 1000);
		}
	}
	card_command(o->control[0], "insert"); /* leave the card in, whatever happened */

	/* Spec 5.4: C_Finalize with a thread blocked in C_WaitForSlotEvent. */
	pthread_mutex_lock(&log_.mu);
	int blocked = !log_.module_done;
	pthread_mutex_unlock(&log_.mu);
	if (blocked) {
		pthread_t tf;
		double t0 = now_ms(CLOCK_MONOTONIC);
		pthread_create(&tf, NULL, finalizer, &m);
		pthread_detach(tf);
		pthread_mutex_lock(&log_.mu);
		while (!log_.module_done && now_ms(CLOCK_MONOTONIC) - t0 < 3000) {
			struct timespec until;
			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_sec++;
			pthread_cond_timedwait(&log_.cv, &log_.mu, &until);
		}
		int woke = log_.module_done;
		CK_RV wrv = log_.module_rv;
		double dt = log_.module_done_t - t0;
		pthread_mutex_unlock(&log_.mu);
		result r;
		result_begin(&r, o, "S5", "finalize");
		result_str(&r, "finalize_wakes", woke ? "yes" : "no");
		if (woke) {
			result_num(&r, "wake_ms", dt);
			char e[32];
			snprintf(e, sizeof e, "0x%lx", (unsigned long)wrv);
			result_str(&r, "waiter_rv", e);
		}
		result_end(&r, woke ? "ok" : "hang");
	} else {
		result r;
		result_begin(&r, o, "S5", "finalize");
		result_end(&r, log_.module_rv == CKR_FUNCTION_NOT_SUPPORTED ? "unsupported" : "error");
	}
	SCardCancel(pw.ctx);
	fflush(stdout);
	/* A module whose waiter never returns would keep the process alive. */
	_exit(rc);
}
