/*
 * p11bench_par.c — S4: parallel signatures.
 *
 * Variants:
 *   single   1 thread on the first card (the baseline for the ratios)
 *   threads  --threads T threads on the first card, each with its own session
 *   cards    --threads T threads on every card named with --reader (two readers)
 * Every thread opens its session, finds the key and signs once before the clock starts;
 * then all start together (a barrier) and sign --n times each. A card executes one
 * command at a time, so threads on one card can at best keep it busy; two cards should
 * give about twice the throughput of one.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "p11bench.h"

typedef struct {
	module *m;
	const options *o;
	const sigkey *k;
	CK_SLOT_ID slot;
	pthread_barrier_t *ready, *go;
	CK_RV rv;
	const char *what;
} worker;

static void *work(void *arg)
{
	worker *w = arg;
	CK_SESSION_HANDLE s = 0;
	CK_OBJECT_HANDLE key = 0;
	int aa = 0;
	w->what = "C_OpenSession";
	w->rv = w->m->f->C_OpenSession(w->slot, CKF_SERIAL_SESSION, NULL, NULL, &s);
	if (w->rv == CKR_OK) {
		w->what = "find private key";
		w->rv = find_key(w->m, s, CKO_PRIVATE_KEY, w->k->id, &key);
	}
	if (w->rv == CKR_OK) {
		aa = key_always_auth(w->m, s, key);
		w->what = "warm-up signature";
		w->rv = sign_once(w->m, s, key, w->k, aa, w->o->pin);
	}
	pthread_barrier_wait(w->ready);
	pthread_barrier_wait(w->go);
	for (int i = 0; w->rv == CKR_OK && i < w->o->n; i++) {
		w->what = "sign";
		w->rv = sign_once(w->m, s, key, w->k, aa, w->o->pin);
	}
	if (s)
		w->m->f->C_CloseSession(s);
	return NULL;
}

int scenario_parallel(const options *o)
{
	const char *variant = o->variant ? o->variant : "threads";
	int cards = 1, per = o->threads;
	if (!strcmp(variant, "single"))
		per = 1;
	else if (!strcmp(variant, "cards"))
		cards = o->ncards;
	else if (strcmp(variant, "threads")) {
		fprintf(stderr, "p11bench: S4 variant must be single, threads or cards\n");
		return 2;
	}
	if (!strcmp(variant, "cards") && cards < 2) {
		fprintf(stderr, "p11bench: S4 cards needs two --reader/--control pairs\n");
		return 2;
	}
	const sigkey *k = sigkey_by_name("ec");
	module m;
	CK_RV rv;
	if ((rv = module_load(&m, o->module)) != CKR_OK || (rv = module_init(&m)) != CKR_OK) {
		fail(o, "S4", "load/initialize", rv);
		return 1;
	}
	CK_SLOT_ID slots[MAX_CARDS];
	for (int c = 0; c < cards; c++) {
		CK_SESSION_HANDLE s;
		/* One login per token: it holds for every session of the application. */
		if ((rv = find_slot(&m, o->reader[c], 1, &slots[c])) != CKR_OK ||
		    (rv = m.f->C_OpenSession(slots[c], CKF_SERIAL_SESSION, NULL, NULL, &s)) != CKR_OK ||
		    (rv = login_user(&m, s, o->pin)) != CKR_OK) {
			fail(o, "S4", "setup", rv);
			return 1;
		}
	}
	int nt = cards * per;
	pthread_barrier_t ready, go;
	pthread_barrier_init(&ready, NULL, (unsigned)nt + 1);
	pthread_barrier_init(&go, NULL, (unsigned)nt + 1);
	worker w[MAX_CARDS * MAX_THREADS];
	pthread_t th[MAX_CARDS * MAX_THREADS];
	for (int i = 0; i < nt; i++) {
		w[i] = (worker){&m, o, k, slots[i / per], &ready, &go, CKR_OK, ""};
		pthread_create(&th[i], NULL, work, &w[i]);
	}
	pthread_barrier_wait(&ready);
	mark m0;
	mark_start(&m0, o);
	pthread_barrier_wait(&go);
	for (int i = 0; i < nt; i++)
		pthread_join(th[i], NULL);
	result r;
	result_begin(&r, o, "S4", variant);
	result_measure(&r, &m0, o, (unsigned long)nt * (unsigned long)o->n);
	for (int i = 0; i < nt; i++) {
		if (w[i].rv != CKR_OK) {
			fail(o, "S4", w[i].what, w[i].rv);
			return 1;
		}
	}
	result_num(&r, "threads", nt);
	result_num(&r, "cards", cards);
	result_end(&r, "ok");
	m.f->C_Finalize(NULL);
	return 0;
}
