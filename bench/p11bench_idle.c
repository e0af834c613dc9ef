/*
 * p11bench_idle.c — the scenarios of a long-lived NSS host:
 *
 * S9  a TLS client-certificate session as NSS runs it. What NSS calls was recorded
 *     with pcsc11's per-call log (PCSC11_DEBUG=1) under tstclnt; per handshake it
 *     checks the token (ssl3_ClientAuthTokenPresent: C_GetSlotInfo, C_GetSessionInfo),
 *     finds the client key by CKA_ID and signs (C_SignInit, C_Sign); before every
 *     application record it checks the token again. The harness replays that sequence
 *     so that each phase can be counted on its own, which tstclnt cannot do:
 *       case "hs1":    the first handshake after login (key found, certificate read)
 *       case "hs2":    a second full handshake in the same process
 *       case "record": one application record (--n records, per record)
 * S10 idle while logged in: a host polling C_GetSlotInfo, C_GetTokenInfo and
 *     C_GetSessionInfo as NSS does, --n polls --interval-ms apart (the bench shortens
 *     NSS's one second; APDUs per minute = APDUs per poll × 60).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "p11bench.h"

/* session_up: load, initialise, open a session on the card's slot and log in; a
 * failure is reported for scenario sc. */
static int session_up(module *m, const options *o, const char *sc, CK_SLOT_ID *slot,
	CK_SESSION_HANDLE *s)
{
	CK_RV rv;
	const char *what = "load/initialize";
	if ((rv = module_load(m, o->module)) != CKR_OK || (rv = module_init(m)) != CKR_OK)
		goto out;
	what = "find slot";
	if ((rv = find_slot(m, o->reader[0], 1, slot)) != CKR_OK)
		goto out;
	what = "C_OpenSession";
	if ((rv = m->f->C_OpenSession(*slot, CKF_SERIAL_SESSION, NULL, NULL, s)) != CKR_OK)
		goto out;
	what = "C_Login";
	rv = login_user(m, *s, o->pin);
out:
	if (rv != CKR_OK)
		fail(o, sc, what, rv);
	return rv == CKR_OK;
}

/* token_check is NSS's token-present and logged-in check. */
static CK_RV token_check(module *m, CK_SLOT_ID slot, CK_SESSION_HANDLE s)
{
	CK_SLOT_INFO si;
	CK_SESSION_INFO ss;
	CK_RV rv = m->f->C_GetSlotInfo(slot, &si);
	if (rv != CKR_OK)
		return rv;
	if (!(si.flags & CKF_TOKEN_PRESENT))
		return CKR_TOKEN_NOT_PRESENT;
	if ((rv = m->f->C_GetSessionInfo(s, &ss)) != CKR_OK)
		return rv;
	return ss.state == CKS_RO_USER_FUNCTIONS || ss.state == CKS_RW_USER_FUNCTIONS ?
		CKR_OK : CKR_USER_NOT_LOGGED_IN;
}

/* handshake: the client side of one full handshake with client authentication. */
static CK_RV handshake(module *m, const options *o, CK_SLOT_ID slot, CK_SESSION_HANDLE s,
	const sigkey *k)
{
	CK_OBJECT_HANDLE cert, key;
	CK_RV rv;
	if ((rv = token_check(m, slot, s)) != CKR_OK)
		return rv;
	if ((rv = find_key(m, s, CKO_CERTIFICATE, k->id, &cert)) != CKR_OK)
		return rv;
	unsigned char der[8192];
	CK_ATTRIBUTE val = {CKA_VALUE, der, sizeof der};
	if ((rv = m->f->C_GetAttributeValue(s, cert, &val, 1)) != CKR_OK)
		return rv;
	if ((rv = find_key(m, s, CKO_PRIVATE_KEY, k->id, &key)) != CKR_OK)
		return rv;
	return sign_once(m, s, key, k, key_always_auth(m, s, key), o->pin);
}

int scenario_tls(const options *o)
{
	const sigkey *k = sigkey_by_name("rsa");
	module m;
	CK_SLOT_ID slot;
	CK_SESSION_HANDLE s;
	CK_RV rv;
	if (!session_up(&m, o, "S9", &slot, &s))
		return 1;
	static const char *phase[] = {"hs1", "hs2", "record"};
	for (int p = 0; p < 3; p++) {
		mark m0;
		mark_start(&m0, o);
		int ops = p < 2 ? 1 : o->n;
		for (int i = 0; i < ops; i++) {
			rv = p < 2 ? handshake(&m, o, slot, s, k) : token_check(&m, slot, s);
			if (rv != CKR_OK) {
				fail(o, "S9", phase[p], rv);
				return 1;
			}
		}
		/* --variant PROFILE names the card: case "hs2-PROFILE" (the demo card: "hs2"). */
		char cas[64];
		if (o->variant && strcmp(o->variant, "tls") != 0)
			snprintf(cas, sizeof cas, "%s-%s", phase[p], o->variant);
		else
			snprintf(cas, sizeof cas, "%s", phase[p]);
		result r;
		result_begin(&r, o, "S9", cas);
		result_measure(&r, &m0, o, (unsigned long)ops);
		result_end(&r, "ok");
	}
	m.f->C_CloseSession(s);
	m.f->C_Finalize(NULL);
	return 0;
}

int scenario_idle(const options *o)
{
	module m;
	CK_SLOT_ID slot;
	CK_SESSION_HANDLE s;
	CK_RV rv;
	if (!session_up(&m, o, "S10", &slot, &s))
		return 1;
	/* One poll before measuring: the first C_GetTokenInfo of a host is S1's. */
	CK_TOKEN_INFO ti;
	if ((rv = m.f->C_GetTokenInfo(slot, &ti)) != CKR_OK) {
		fail(o, "S10", "C_GetTokenInfo", rv);
		return 1;
	}
	mark m0;
	mark_start(&m0, o);
	for (int i = 0; i < o->n; i++) {
		if (i > 0)
			usleep((useconds_t)o->interval_ms * 1000);
		if ((rv = token_check(&m, slot, s)) != CKR_OK ||
		    (rv = m.f->C_GetTokenInfo(slot, &ti)) != CKR_OK) {
			fail(o, "S10", "poll", rv);
			return 1;
		}
	}
	result r;
	result_begin(&r, o, "S10", o->variant ? o->variant : "poll");
	result_measure(&r, &m0, o, (unsigned long)o->n);
	result_num(&r, "interval_ms", o->interval_ms);
	result_end(&r, "ok");
	m.f->C_CloseSession(s);
	m.f->C_Finalize(NULL);
	return 0;
}
