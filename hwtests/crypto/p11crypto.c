/*
 * p11crypto: drives libpcsc11.so (dlopen) through every signature, decryption,
 * derivation and digest mechanism the token advertises, on every key of the virtual
 * card, and leaves the results in files that independent verifiers (OpenSSL, Go's
 * crypto: see run.sh) check, so that no mechanism is only checked by ourselves.
 *
 *   p11crypto MODULE DIR gen      SO login; one key pair per type in retired slots
 *   p11crypto MODULE DIR sign     signatures + digests  -> DIR/sigs.txt, DIR/digests.txt
 *   p11crypto MODULE DIR decrypt  decrypts DIR/enc.txt (made by OpenSSL), compares
 *   p11crypto MODULE DIR derive   ECDH with the peers of DIR/peers.txt, compares
 *
 * Every mode writes DIR/<id>.pub (the public keys, for the verifiers) and prints
 * "ok - ..." / "not ok - ..." lines; the exit status is 1 when a check failed.
 * Environment: PCSC11_TEST_PIN (user PIN), PCSC11_TEST_SO_PIN (gen only: the
 * management key in hex). Both are public test values of the virtual card and are
 * never printed.
 */
#define _POSIX_C_SOURCE 200809L
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pcsc11_pkcs11.h"

static int passed, failed;
static CK_FUNCTION_LIST_PTR f;
static CK_SESSION_HANDLE s;
static const char *dir, *pin;

static void check(int ok, const char *fmt, const char *what, CK_RV rv) {
	printf("%s - ", ok ? "ok" : "not ok");
	printf(fmt, what);
	if (!ok && rv != CKR_OK) printf(" (rv 0x%lx)", rv);
	printf("\n");
	fflush(stdout);
	if (ok)
		passed++;
	else
		failed++;
}

static void die(const char *what, CK_RV rv) {
	printf("not ok - %s (rv 0x%lx)\nBail out!\n", what, rv);
	exit(1);
}

/* ---- files ---- */

static void path(char *out, size_t n, const char *name) { snprintf(out, n, "%s/%s", dir, name); }

static void write_file(const char *name, const unsigned char *b, size_t n) {
	char p[512];
	path(p, sizeof p, name);
	FILE *fp = fopen(p, "wb");
	if (!fp || fwrite(b, 1, n, fp) != n || fclose(fp) != 0) {
		perror(p);
		exit(1);
	}
}

/* read_file reads DIR/name (or an absolute name) into a malloc'd buffer. */
static unsigned char *read_file(const char *name, size_t *n) {
	char p[512];
	if (name[0] == '/')
		snprintf(p, sizeof p, "%s", name);
	else
		path(p, sizeof p, name);
	FILE *fp = fopen(p, "rb");
	if (!fp) {
		perror(p);
		exit(1);
	}
	size_t cap = 4096, len = 0;
	unsigned char *b = malloc(cap);
	size_t r;
	while (b && (r = fread(b + len, 1, cap - len, fp)) > 0) {
		len += r;
		if (len == cap) b = realloc(b, cap *= 2);
	}
	fclose(fp);
	if (!b) exit(1);
	*n = len;
	return b;
}

static void put_hex(FILE *fp, const char *label, const unsigned char *b, size_t n) {
	fprintf(fp, "%s ", label);
	for (size_t i = 0; i < n; i++) fprintf(fp, "%02x", b[i]);
	fprintf(fp, "\n");
}

static size_t from_hex(const char *h, unsigned char *out, size_t cap) {
	size_t n = 0;
	if (strcmp(h, "-") == 0) return 0;
	while (h[0] && h[1] && n < cap) {
		unsigned v;
		if (sscanf(h, "%2x", &v) != 1) break;
		out[n++] = (unsigned char)v;
		h += 2;
	}
	return n;
}

/* ---- the token ---- */

static void open_session(void) {
	CK_RV rv = f->C_Initialize(NULL);
	if (rv != CKR_OK) die("C_Initialize", rv);
	CK_SLOT_ID slots[16];
	CK_ULONG n = 16;
	rv = f->C_GetSlotList(CK_TRUE, slots, &n);
	if (rv != CKR_OK || n == 0) die("a slot with a token", rv);
	rv = f->C_OpenSession(slots[0], CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s);
	if (rv != CKR_OK) die("C_OpenSession", rv);
}

static void login_user(void) {
	CK_RV rv = f->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)pin, strlen(pin));
	if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN) die("C_Login user", rv);
}

static CK_OBJECT_HANDLE find_key(CK_OBJECT_CLASS cls, unsigned char id) {
	CK_ATTRIBUTE t[2] = {{CKA_CLASS, &cls, sizeof cls}, {CKA_ID, &id, 1}};
	CK_OBJECT_HANDLE h = CK_INVALID_HANDLE;
	CK_ULONG n = 0;
	if (f->C_FindObjectsInit(s, t, 2) != CKR_OK) return CK_INVALID_HANDLE;
	if (f->C_FindObjects(s, &h, 1, &n) != CKR_OK || n != 1) h = CK_INVALID_HANDLE;
	f->C_FindObjectsFinal(s);
	return h;
}

/* The keys: the demo card's (01 RSA-2048, 02 P-256 with PIN always, 03 RSA-2048, 04
 * P-256; hwtests that ran earlier may have replaced them, so the type is read from the
 * object) and one generated key of every type the card makes (05..0c). */
static const unsigned char key_ids[] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c};

struct key {
	unsigned char id;
	CK_OBJECT_HANDLE priv, pub;
	CK_KEY_TYPE type;
	CK_ULONG bits; /* RSA modulus bits; EC: 256/384; Edwards/Montgomery: 255 */
	CK_BBOOL always;
};

static const unsigned char oid_p256[] = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
static const unsigned char oid_p384[] = {0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22};
static const unsigned char oid_ed25519[] = {0x06, 0x03, 0x2b, 0x65, 0x70};
static const unsigned char oid_x25519[] = {0x06, 0x03, 0x2b, 0x65, 0x6e};

/* load_key fills k from the token and writes DIR/<id>.pub for the verifiers. */
static int load_key(unsigned char id, struct key *k) {
	memset(k, 0, sizeof *k);
	k->id = id;
	k->priv = find_key(CKO_PRIVATE_KEY, id);
	k->pub = find_key(CKO_PUBLIC_KEY, id);
	if (k->priv == CK_INVALID_HANDLE || k->pub == CK_INVALID_HANDLE) return 0;
	CK_ATTRIBUTE ta[2] = {{CKA_KEY_TYPE, &k->type, sizeof k->type}, {CKA_ALWAYS_AUTHENTICATE, &k->always, 1}};
	if (f->C_GetAttributeValue(s, k->priv, ta, 2) != CKR_OK) return 0;
	unsigned char a[1024], b[1024];
	char name[32];
	snprintf(name, sizeof name, "%02x.pub", id);
	char p[512];
	path(p, sizeof p, name);
	FILE *fp = fopen(p, "w");
	if (!fp) return 0;
	if (k->type == CKK_RSA) {
		CK_ATTRIBUTE ra[2] = {{CKA_MODULUS, a, sizeof a}, {CKA_PUBLIC_EXPONENT, b, sizeof b}};
		if (f->C_GetAttributeValue(s, k->pub, ra, 2) != CKR_OK) {
			fclose(fp);
			return 0;
		}
		size_t i = 0;
		while (i < ra[0].ulValueLen && a[i] == 0) i++;
		k->bits = (ra[0].ulValueLen - i) * 8;
		for (unsigned c = a[i]; c < 0x80 && k->bits > 0; c <<= 1) k->bits--;
		fprintf(fp, "type rsa\n");
		put_hex(fp, "n", a, ra[0].ulValueLen);
		put_hex(fp, "e", b, ra[1].ulValueLen);
	} else {
		CK_ATTRIBUTE ea[2] = {{CKA_EC_PARAMS, a, sizeof a}, {CKA_EC_POINT, b, sizeof b}};
		if (f->C_GetAttributeValue(s, k->pub, ea, 2) != CKR_OK) {
			fclose(fp);
			return 0;
		}
		const char *t = k->type == CKK_EC ? "ec" : k->type == CKK_EC_EDWARDS ? "ed25519" : "x25519";
		if (k->type == CKK_EC) k->bits = (ea[0].ulValueLen == sizeof oid_p384 && memcmp(a, oid_p384, sizeof oid_p384) == 0) ? 384 : 256;
		else k->bits = 255;
		fprintf(fp, "type %s\n", t);
		put_hex(fp, "params", a, ea[0].ulValueLen);
		put_hex(fp, "point", b, ea[1].ulValueLen);
	}
	fclose(fp);
	return 1;
}

/* ---- gen ---- */

static CK_ULONG key_size(CK_ULONG bits, const unsigned char *oid, size_t oidlen, CK_MECHANISM_TYPE mt) {
	if (!oid) return bits;
	if (oidlen == sizeof oid_p384 && memcmp(oid, oid_p384, oidlen) == 0) return 384;
	return mt == CKM_EC_KEY_PAIR_GEN ? 256 : 255;
}

/* can_make: the token's mechanism info offers mt for a key of this size. */
static int can_make(CK_MECHANISM_TYPE mt, CK_ULONG bits, const unsigned char *oid, size_t oidlen) {
	CK_SESSION_INFO si;
	CK_MECHANISM_INFO mi;
	if (f->C_GetSessionInfo(s, &si) != CKR_OK || f->C_GetMechanismInfo(si.slotID, mt, &mi) != CKR_OK) return 0;
	CK_ULONG size = key_size(bits, oid, oidlen, mt);
	return size >= mi.ulMinKeySize && size <= mi.ulMaxKeySize;
}

static void gen_one(unsigned char id, CK_MECHANISM_TYPE mt, CK_ULONG bits, const unsigned char *oid, size_t oidlen) {
	CK_MECHANISM m = {mt, NULL, 0};
	CK_BBOOL yes = CK_TRUE;
	CK_ATTRIBUTE pub[3] = {{CKA_ID, &id, 1}, {CKA_TOKEN, &yes, 1}, {0, NULL, 0}};
	CK_ATTRIBUTE priv[2] = {{CKA_ID, &id, 1}, {CKA_TOKEN, &yes, 1}};
	if (oid) {
		pub[2].type = CKA_EC_PARAMS;
		pub[2].pValue = (void *)oid;
		pub[2].ulValueLen = oidlen;
	} else {
		pub[2].type = CKA_MODULUS_BITS;
		pub[2].pValue = &bits;
		pub[2].ulValueLen = sizeof bits;
	}
	CK_OBJECT_HANDLE hp, hk;
	char what[96];
	/* The card profile decides what exists (docs/virtual-card.md): the token's
	   mechanism info says it, and a key it says the card cannot make must be refused,
	   not made (the firmware gates are tested, not assumed). */
	int can = can_make(mt, bits, oid, oidlen);
	CK_ULONG size = key_size(bits, oid, oidlen, mt);
	CK_RV rv = f->C_GenerateKeyPair(s, &m, pub, 3, priv, 2, &hp, &hk);
	if (can) {
		snprintf(what, sizeof what, "C_GenerateKeyPair id %02x (%lu bits)", id, size);
		check(rv == CKR_OK, "%s", what, rv);
	} else {
		snprintf(what, sizeof what, "C_GenerateKeyPair id %02x (%lu bits) refused: not in the token's mechanism info", id, size);
		check(rv != CKR_OK, "%s", what, rv);
	}
}

/* The generated keys, one of every type a PIV card may make. */
static const struct genspec {
	unsigned char id;
	CK_MECHANISM_TYPE mt;
	CK_ULONG bits;
	const unsigned char *oid;
	size_t oidlen;
} gens[] = {
	{0x05, CKM_RSA_PKCS_KEY_PAIR_GEN, 1024, NULL, 0},
	{0x06, CKM_RSA_PKCS_KEY_PAIR_GEN, 2048, NULL, 0},
	{0x07, CKM_RSA_PKCS_KEY_PAIR_GEN, 3072, NULL, 0},
	{0x08, CKM_RSA_PKCS_KEY_PAIR_GEN, 4096, NULL, 0},
	{0x09, CKM_EC_KEY_PAIR_GEN, 0, oid_p256, sizeof oid_p256},
	{0x0a, CKM_EC_KEY_PAIR_GEN, 0, oid_p384, sizeof oid_p384},
	{0x0b, CKM_EC_EDWARDS_KEY_PAIR_GEN, 0, oid_ed25519, sizeof oid_ed25519},
	{0x0c, CKM_EC_MONTGOMERY_KEY_PAIR_GEN, 0, oid_x25519, sizeof oid_x25519},
};

/* held[id]: the card can hold key id (the demo keys always; a generated one when the
   token's mechanism info covers its type and size: the card profile decides). */
static int held[256];

static void init_held(void) {
	for (int id = 1; id <= 4; id++) held[id] = 1;
	for (size_t i = 0; i < sizeof gens / sizeof gens[0]; i++) {
		const struct genspec *g = &gens[i];
		held[g->id] = can_make(g->mt, g->bits, g->oid, g->oidlen);
	}
}

static void do_gen(void) {
	const char *so = getenv("PCSC11_TEST_SO_PIN");
	if (!so) die("PCSC11_TEST_SO_PIN is not set", 0);
	CK_RV rv = f->C_Login(s, CKU_SO, (CK_UTF8CHAR_PTR)so, strlen(so));
	if (rv != CKR_OK) die("C_Login SO", rv);
	for (size_t i = 0; i < sizeof gens / sizeof gens[0]; i++)
		gen_one(gens[i].id, gens[i].mt, gens[i].bits, gens[i].oid, gens[i].oidlen);
	f->C_Logout(s);
}

/* do_putcerts writes DIR/<id>.der (cryptocheck certs) as the certificate of each
   generated key: a card without GET METADATA finds a key only by its certificate, so
   the other modes (new processes) see the keys 05..0c only with one. */
static void do_putcerts(void) {
	const char *so = getenv("PCSC11_TEST_SO_PIN");
	if (!so) die("PCSC11_TEST_SO_PIN is not set", 0);
	CK_RV rv = f->C_Login(s, CKU_SO, (CK_UTF8CHAR_PTR)so, strlen(so));
	if (rv != CKR_OK) die("C_Login SO", rv);
	for (size_t i = 0; i < sizeof gens / sizeof gens[0]; i++) {
		unsigned char id = gens[i].id;
		if (!held[id]) continue;
		char name[32], p[512];
		snprintf(name, sizeof name, "%02x.der", id);
		path(p, sizeof p, name);
		FILE *fp = fopen(p, "rb");
		if (!fp) {
			check(0, "certificate %s was made", name, CKR_OK);
			continue;
		}
		static unsigned char der[8192];
		size_t n = fread(der, 1, sizeof der, fp);
		fclose(fp);
		CK_OBJECT_CLASS cls = CKO_CERTIFICATE;
		CK_CERTIFICATE_TYPE ct = CKC_X_509;
		CK_BBOOL yes = CK_TRUE;
		CK_ATTRIBUTE t[5] = {{CKA_CLASS, &cls, sizeof cls}, {CKA_CERTIFICATE_TYPE, &ct, sizeof ct},
			{CKA_TOKEN, &yes, 1}, {CKA_ID, &id, 1}, {CKA_VALUE, der, n}};
		CK_OBJECT_HANDLE h;
		rv = f->C_CreateObject(s, t, 5, &h);
		check(rv == CKR_OK, "C_CreateObject certificate %s", name, rv);
	}
	f->C_Logout(s);
}

/* ---- sign ---- */

static const struct hashdef {
	const char *name;
	CK_MECHANISM_TYPE digest, rsa, pss, ecdsa;
	CK_RSA_PKCS_MGF_TYPE mgf;
	CK_ULONG len;
	unsigned char di[19]; /* DigestInfo prefix (RFC 8017 9.2 note 1) */
	size_t dilen;
} hashes[] = {
    {"sha1", CKM_SHA_1, CKM_SHA1_RSA_PKCS, CKM_SHA1_RSA_PKCS_PSS, CKM_ECDSA_SHA1, CKG_MGF1_SHA1, 20,
     {0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14}, 15},
    {"sha224", CKM_SHA224, CKM_SHA224_RSA_PKCS, CKM_SHA224_RSA_PKCS_PSS, CKM_ECDSA_SHA224, CKG_MGF1_SHA224, 28,
     {0x30, 0x2d, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x04, 0x05, 0x00, 0x04, 0x1c}, 19},
    {"sha256", CKM_SHA256, CKM_SHA256_RSA_PKCS, CKM_SHA256_RSA_PKCS_PSS, CKM_ECDSA_SHA256, CKG_MGF1_SHA256, 32,
     {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20}, 19},
    {"sha384", CKM_SHA384, CKM_SHA384_RSA_PKCS, CKM_SHA384_RSA_PKCS_PSS, CKM_ECDSA_SHA384, CKG_MGF1_SHA384, 48,
     {0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00, 0x04, 0x30}, 19},
    {"sha512", CKM_SHA512, CKM_SHA512_RSA_PKCS, CKM_SHA512_RSA_PKCS_PSS, CKM_ECDSA_SHA512, CKG_MGF1_SHA512, 64,
     {0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04, 0x40}, 19},
};
#define NHASH (sizeof hashes / sizeof hashes[0])

static const unsigned char msg[] = "pcsc11: every mechanism, every key, checked by OpenSSL and Go";
#define MSGLEN (sizeof msg - 1)
static unsigned char digest_of[NHASH][64];
static FILE *sigs;
static int nsig;

/* sign_once signs tbs with the key, logging in for the context first when the key
 * wants it (CKA_ALWAYS_AUTHENTICATE). multi: in three C_SignUpdate parts. The size
 * query (NULL buffer) comes first, then a too small buffer, which must keep the
 * operation alive. Returns the signature length, 0 on failure. */
static CK_ULONG sign_once(struct key *k, CK_MECHANISM *m, const unsigned char *tbs, size_t n, int multi,
                          unsigned char *sig, const char *what) {
	CK_RV rv = f->C_SignInit(s, m, k->priv);
	if (rv != CKR_OK) {
		check(0, "%s: C_SignInit", what, rv);
		return 0;
	}
	if (k->always) {
		rv = f->C_Login(s, CKU_CONTEXT_SPECIFIC, (CK_UTF8CHAR_PTR)pin, strlen(pin));
		if (rv != CKR_OK) {
			check(0, "%s: C_Login(CKU_CONTEXT_SPECIFIC)", what, rv);
			return 0;
		}
	}
	CK_ULONG sl = 0;
	if (multi) {
		size_t a = n / 3, b = n / 3;
		if ((rv = f->C_SignUpdate(s, (CK_BYTE_PTR)tbs, a)) == CKR_OK &&
		    (rv = f->C_SignUpdate(s, (CK_BYTE_PTR)tbs + a, 0)) == CKR_OK &&
		    (rv = f->C_SignUpdate(s, (CK_BYTE_PTR)tbs + a, b)) == CKR_OK &&
		    (rv = f->C_SignUpdate(s, (CK_BYTE_PTR)tbs + a + b, n - a - b)) == CKR_OK)
			rv = f->C_SignFinal(s, NULL, &sl);
		if (rv == CKR_OK) {
			CK_ULONG small = 1;
			rv = f->C_SignFinal(s, sig, &small);
			if (rv == CKR_BUFFER_TOO_SMALL && small == sl) rv = f->C_SignFinal(s, sig, &sl);
			else if (rv == CKR_OK) rv = CKR_GENERAL_ERROR; /* 1 byte cannot hold a signature */
		}
	} else {
		rv = f->C_Sign(s, (CK_BYTE_PTR)tbs, n, NULL, &sl);
		if (rv == CKR_OK) {
			CK_ULONG small = 1;
			rv = f->C_Sign(s, (CK_BYTE_PTR)tbs, n, sig, &small);
			if (rv == CKR_BUFFER_TOO_SMALL && small == sl) rv = f->C_Sign(s, (CK_BYTE_PTR)tbs, n, sig, &sl);
			else if (rv == CKR_OK) rv = CKR_GENERAL_ERROR; /* 1 byte cannot hold a signature */
		}
	}
	check(rv == CKR_OK, "%s", what, rv);
	if (rv != CKR_OK) {
		/* End whatever is left of the operation for the next test. */
		unsigned char junk[1024];
		CK_ULONG jl = sizeof junk;
		f->C_Sign(s, (CK_BYTE_PTR)tbs, n, junk, &jl);
		return 0;
	}
	/* The module's own software verification must accept it too. */
	rv = f->C_VerifyInit(s, m, k->pub);
	if (rv == CKR_OK && multi) {
		rv = f->C_VerifyUpdate(s, (CK_BYTE_PTR)tbs, n / 2);
		if (rv == CKR_OK) rv = f->C_VerifyUpdate(s, (CK_BYTE_PTR)tbs + n / 2, n - n / 2);
		if (rv == CKR_OK) rv = f->C_VerifyFinal(s, sig, sl);
	} else if (rv == CKR_OK)
		rv = f->C_Verify(s, (CK_BYTE_PTR)tbs, n, sig, sl);
	check(rv == CKR_OK, multi ? "%s: C_VerifyUpdate/Final accepts it" : "%s: C_Verify accepts it", what, rv);
	if (sl > 1) {
		unsigned char bad[1024];
		memcpy(bad, sig, sl);
		bad[sl / 2] ^= 1;
		rv = f->C_VerifyInit(s, m, k->pub);
		if (rv == CKR_OK) rv = f->C_Verify(s, (CK_BYTE_PTR)tbs, n, bad, sl);
		check(rv == CKR_SIGNATURE_INVALID, "%s: C_Verify refuses a changed signature", what, rv);
		rv = f->C_VerifyInit(s, m, k->pub);
		if (rv == CKR_OK) rv = f->C_Verify(s, (CK_BYTE_PTR)tbs, n, bad, sl - 1);
		check(rv == CKR_SIGNATURE_LEN_RANGE, "%s: C_Verify: short signature is CKR_SIGNATURE_LEN_RANGE", what, rv);
	}
	return sl;
}

/* record writes tbs and sig to files and a line to DIR/sigs.txt:
 * id scheme hash mgf-hash salt tbs-file sig-file */
static void record(struct key *k, const char *scheme, const char *h, const char *mgf, long salt,
                   const unsigned char *tbs, size_t n, const unsigned char *sig, CK_ULONG sl) {
	char tn[64], sn[64];
	nsig++;
	snprintf(tn, sizeof tn, "tbs-%04d", nsig);
	snprintf(sn, sizeof sn, "sig-%04d", nsig);
	write_file(tn, tbs, n);
	write_file(sn, sig, sl);
	fprintf(sigs, "%02x %s %s %s %ld %s %s\n", k->id, scheme, h, mgf, salt, tn, sn);
	fflush(sigs);
}

static void sign_rsa(struct key *k) {
	unsigned char sig[1024], tbs[1024];
	char what[160];
	CK_ULONG kbytes = (k->bits + 7) / 8, sl;
	CK_ULONG emlen = (k->bits - 1 + 7) / 8;
	/* CKM_RSA_PKCS with a DigestInfo built by the caller. */
	for (size_t i = 0; i < NHASH; i++) {
		const struct hashdef *hd = &hashes[i];
		memcpy(tbs, hd->di, hd->dilen);
		memcpy(tbs + hd->dilen, digest_of[i], hd->len);
		CK_MECHANISM m = {CKM_RSA_PKCS, NULL, 0};
		snprintf(what, sizeof what, "key %02x RSA-%lu CKM_RSA_PKCS DigestInfo %s", k->id, k->bits, hd->name);
		if ((sl = sign_once(k, &m, tbs, hd->dilen + hd->len, 0, sig, what)))
			record(k, "pkcs1raw", "-", "-", 0, tbs, hd->dilen + hd->len, sig, sl);
	}
	/* CKM_RSA_X_509: a modulus-sized block below the modulus. */
	{
		memset(tbs, 0x5a, kbytes);
		tbs[0] = 0;
		CK_MECHANISM m = {CKM_RSA_X_509, NULL, 0};
		snprintf(what, sizeof what, "key %02x RSA-%lu CKM_RSA_X_509", k->id, k->bits);
		if ((sl = sign_once(k, &m, tbs, kbytes, 0, sig, what))) record(k, "x509", "-", "-", 0, tbs, kbytes, sig, sl);
	}
	/* CKM_SHAx_RSA_PKCS, single- and multi-part. */
	for (size_t i = 0; i < NHASH; i++) {
		for (int multi = 0; multi < 2; multi++) {
			CK_MECHANISM m = {hashes[i].rsa, NULL, 0};
			snprintf(what, sizeof what, "key %02x RSA-%lu %s-RSA-PKCS%s", k->id, k->bits, hashes[i].name, multi ? " multi-part" : "");
			if ((sl = sign_once(k, &m, msg, MSGLEN, multi, sig, what)))
				record(k, "pkcs1", hashes[i].name, "-", 0, msg, MSGLEN, sig, sl);
		}
	}
	/* PSS: every hash x every MGF1 hash x salt 0, hLen and the largest the key allows,
	 * for the raw mechanism (the caller hashes) and the hashing ones. The full matrix
	 * on 2048-bit keys; elsewhere MGF1 = the hash, to keep the run short. */
	for (size_t i = 0; i < NHASH; i++) {
		const struct hashdef *hd = &hashes[i];
		if (emlen < hd->len + 2) continue;
		long maxsalt = (long)emlen - (long)hd->len - 2;
		for (size_t j = 0; j < NHASH; j++) {
			if (j != i && k->bits != 2048) continue;
			long salts[3] = {0, (long)hd->len, maxsalt};
			for (int si = 0; si < 3; si++) {
				if (salts[si] > maxsalt) continue;
				for (int raw = 0; raw < 2; raw++) {
					CK_RSA_PKCS_PSS_PARAMS pp = {hd->digest, hashes[j].mgf, (CK_ULONG)salts[si]};
					CK_MECHANISM m = {raw ? CKM_RSA_PKCS_PSS : hd->pss, &pp, sizeof pp};
					snprintf(what, sizeof what, "key %02x RSA-%lu %s hash %s mgf1 %s salt %ld", k->id, k->bits,
					         raw ? "RSA-PKCS-PSS" : "SHAx-RSA-PKCS-PSS", hd->name, hashes[j].name, salts[si]);
					const unsigned char *in = raw ? digest_of[i] : msg;
					size_t inl = raw ? hd->len : MSGLEN;
					if ((sl = sign_once(k, &m, in, inl, !raw && si == 1, sig, what)))
						record(k, raw ? "pssraw" : "pss", hd->name, hashes[j].name, salts[si], in, inl, sig, sl);
				}
			}
		}
		/* A salt one byte too long for the key is refused (salt lengths checked). */
		CK_RSA_PKCS_PSS_PARAMS pp = {hd->digest, hd->mgf, (CK_ULONG)maxsalt + 1};
		CK_MECHANISM m = {hd->pss, &pp, sizeof pp};
		CK_RV rv = f->C_SignInit(s, &m, k->priv);
		if (rv == CKR_OK) {
			sl = sizeof sig;
			rv = f->C_Sign(s, (CK_BYTE_PTR)msg, MSGLEN, sig, &sl);
		}
		snprintf(what, sizeof what, "key %02x RSA-%lu PSS %s salt %ld (too long) is refused", k->id, k->bits, hd->name, maxsalt + 1);
		check(rv == CKR_MECHANISM_PARAM_INVALID, "%s", what, rv);
		/* A hashing PSS mechanism with another hash in its parameters is refused. */
		pp.sLen = 0;
		pp.hashAlg = hashes[(i + 1) % NHASH].digest;
		rv = f->C_SignInit(s, &m, k->priv);
		snprintf(what, sizeof what, "key %02x %s-RSA-PKCS-PSS with hashAlg of another hash is refused", k->id, hd->name);
		check(rv == CKR_MECHANISM_PARAM_INVALID, "%s", what, rv);
	}
	/* Mechanism and key that do not match. */
	CK_MECHANISM em = {CKM_ECDSA, NULL, 0};
	CK_RV rv = f->C_SignInit(s, &em, k->priv);
	snprintf(what, sizeof what, "key %02x CKM_ECDSA on an RSA key: CKR_KEY_TYPE_INCONSISTENT", k->id);
	check(rv == CKR_KEY_TYPE_INCONSISTENT, "%s", what, rv);
}

static void sign_ec(struct key *k) {
	unsigned char sig[256];
	char what[160];
	CK_ULONG sl;
	/* CKM_ECDSA on hashes of every length (shorter and longer than the order). */
	for (size_t i = 0; i < NHASH; i++) {
		CK_MECHANISM m = {CKM_ECDSA, NULL, 0};
		snprintf(what, sizeof what, "key %02x P-%lu CKM_ECDSA on a %lu-byte hash", k->id, k->bits, hashes[i].len);
		if ((sl = sign_once(k, &m, digest_of[i], hashes[i].len, 0, sig, what))) {
			check(sl == 2 * ((k->bits + 7) / 8), "%s: r||s of fixed length", what, CKR_OK);
			record(k, "ecdsaraw", "-", "-", 0, digest_of[i], hashes[i].len, sig, sl);
		}
	}
	for (size_t i = 0; i < NHASH; i++) {
		for (int multi = 0; multi < 2; multi++) {
			CK_MECHANISM m = {hashes[i].ecdsa, NULL, 0};
			snprintf(what, sizeof what, "key %02x P-%lu ECDSA-%s%s", k->id, k->bits, hashes[i].name, multi ? " multi-part" : "");
			if ((sl = sign_once(k, &m, msg, MSGLEN, multi, sig, what))) record(k, "ecdsa", hashes[i].name, "-", 0, msg, MSGLEN, sig, sl);
		}
	}
	CK_RV rv;
	if (k->always) {
		/* Without the context-specific login the card refuses, and the module says so. */
		CK_MECHANISM m = {CKM_ECDSA_SHA256, NULL, 0};
		CK_ULONG l = sizeof sig;
		rv = f->C_SignInit(s, &m, k->priv);
		if (rv == CKR_OK) rv = f->C_Sign(s, (CK_BYTE_PTR)msg, MSGLEN, sig, &l);
		snprintf(what, sizeof what, "key %02x (PIN always): C_Sign without C_Login(CKU_CONTEXT_SPECIFIC): CKR_USER_NOT_LOGGED_IN", k->id);
		check(rv == CKR_USER_NOT_LOGGED_IN, "%s", what, rv);
	}
	CK_MECHANISM rm = {CKM_SHA256_RSA_PKCS, NULL, 0};
	rv = f->C_SignInit(s, &rm, k->priv);
	snprintf(what, sizeof what, "key %02x SHA256-RSA-PKCS on an EC key: CKR_KEY_TYPE_INCONSISTENT", k->id);
	check(rv == CKR_KEY_TYPE_INCONSISTENT, "%s", what, rv);
}

static void sign_ed(struct key *k) {
	unsigned char sig[256];
	char what[160];
	CK_ULONG sl;
	for (int multi = 0; multi < 2; multi++) {
		CK_MECHANISM m = {CKM_EDDSA, NULL, 0};
		snprintf(what, sizeof what, "key %02x Ed25519 CKM_EDDSA%s", k->id, multi ? " multi-part" : "");
		if ((sl = sign_once(k, &m, msg, MSGLEN, multi, sig, what))) record(k, "eddsa", "-", "-", 0, msg, MSGLEN, sig, sl);
	}
}

/* apdu_count is the number of APDUs the virtual card has answered (its control socket,
 * PCSC11_VPIV_CONTROL, from the rig), or -1 outside the rig. */
static long apdu_count(void) {
	const char *bin = getenv("PCSC11_VPIV"), *sock = getenv("PCSC11_VPIV_CONTROL");
	if (!bin || !sock || strchr(bin, '\'') || strchr(sock, '\'')) return -1;
	char cmd[1024], line[256];
	snprintf(cmd, sizeof cmd, "'%s' --control '%s' --send status", bin, sock);
	FILE *p = popen(cmd, "r");
	if (!p) return -1;
	long n = -1;
	if (fgets(line, sizeof line, p)) {
		char *c = strstr(line, "commands=");
		if (c) n = strtol(c + 9, NULL, 10);
	}
	pclose(p);
	return n;
}

/* check_apdus: a signature with a key whose objects are cached costs the card one
 * command (GENERAL AUTHENTICATE): no SELECT, no GET DATA, no login probe. */
static void check_apdus(struct key *k, CK_MECHANISM_TYPE mt, const char *name) {
	unsigned char sig[1024];
	CK_ULONG sl = sizeof sig;
	CK_MECHANISM m = {mt, NULL, 0};
	CK_RV rv = f->C_SignInit(s, &m, k->priv);
	long before = apdu_count();
	if (before < 0) {
		printf("# APDU counts skipped: not in the rig\n");
		if (rv == CKR_OK) f->C_Sign(s, (CK_BYTE_PTR)msg, MSGLEN, sig, &sl);
		return;
	}
	long login = 0;
	if (rv == CKR_OK && k->always) {
		rv = f->C_Login(s, CKU_CONTEXT_SPECIFIC, (CK_UTF8CHAR_PTR)pin, strlen(pin));
		login = 1; /* the VERIFY */
	}
	if (rv == CKR_OK) rv = f->C_Sign(s, (CK_BYTE_PTR)msg, MSGLEN, sig, &sl);
	long used = apdu_count() - before;
	char what[160];
	/* Cards the driver talks to with short APDUs (no extended length below firmware
	   4: the NEO; standard PIV cards) chain an RSA-2048+ input (2 commands) and fetch
	   its signature with GET RESPONSE. */
	const char *card = getenv("PCSC11_RIG_CARD");
	int shortapdu = card && (strcmp(card, "yubikey-neo") == 0 || strcmp(card, "piv") == 0);
	long want = 1 + login + (shortapdu && k->type == CKK_RSA && k->bits >= 2048 ? 2 : 0);
	snprintf(what, sizeof what, "key %02x %s: C_Sign costs %ld APDU(s) on the card", k->id, name, used);
	check(rv == CKR_OK && used == want, "%s", what, rv);
}

static CK_C_SessionCancel session_cancel;

/* check_rules: the operation-state rules (spec 5.2, 5.11-5.13) on one RSA key. */
static void check_rules(struct key *k) {
	unsigned char buf[1024];
	CK_ULONG bl = sizeof buf;
	CK_MECHANISM sha = {CKM_SHA256_RSA_PKCS, NULL, 0}, raw = {CKM_RSA_PKCS, NULL, 0};
	CK_MECHANISM hmac = {0x251 /* CKM_SHA256_HMAC */, NULL, 0}, pss = {CKM_SHA256_RSA_PKCS_PSS, NULL, 0};
	CK_MECHANISM oaep = {CKM_RSA_PKCS_OAEP, NULL, 0};
	CK_RV rv = f->C_Sign(s, (CK_BYTE_PTR)msg, MSGLEN, buf, &bl);
	check(rv == CKR_OPERATION_NOT_INITIALIZED, "%s", "C_Sign without C_SignInit: CKR_OPERATION_NOT_INITIALIZED", rv);
	rv = f->C_SignInit(s, &sha, k->priv);
	if (rv == CKR_OK) rv = f->C_SignInit(s, &sha, k->priv) == CKR_OPERATION_ACTIVE ? CKR_OK : CKR_GENERAL_ERROR;
	check(rv == CKR_OK, "%s", "a second C_SignInit: CKR_OPERATION_ACTIVE", rv);
	if (session_cancel) {
		rv = session_cancel(s, CKF_SIGN);
		bl = sizeof buf;
		if (rv == CKR_OK) rv = f->C_Sign(s, (CK_BYTE_PTR)msg, MSGLEN, buf, &bl) == CKR_OPERATION_NOT_INITIALIZED ? CKR_OK : CKR_GENERAL_ERROR;
		check(rv == CKR_OK, "%s", "C_SessionCancel(CKF_SIGN) ends the signature", rv);
	}
	f->C_Sign(s, (CK_BYTE_PTR)msg, MSGLEN, buf, &bl); /* whatever is left */
	rv = f->C_SignInit(s, &hmac, k->priv);
	check(rv == CKR_MECHANISM_INVALID, "%s", "C_SignInit with a mechanism the token lacks: CKR_MECHANISM_INVALID", rv);
	rv = f->C_SignInit(s, &pss, k->priv);
	check(rv == CKR_MECHANISM_PARAM_INVALID, "%s", "PSS without parameters: CKR_MECHANISM_PARAM_INVALID", rv);
	rv = f->C_DecryptInit(s, &oaep, k->priv);
	check(rv == CKR_MECHANISM_PARAM_INVALID, "%s", "OAEP without parameters: CKR_MECHANISM_PARAM_INVALID", rv);
	rv = f->C_SignInit(s, &raw, k->priv);
	bl = sizeof buf;
	memset(buf + 512, 1, 512);
	if (rv == CKR_OK) rv = f->C_Sign(s, buf + 512, (k->bits + 7) / 8 - 10, buf, &bl);
	check(rv == CKR_DATA_LEN_RANGE, "%s", "CKM_RSA_PKCS input longer than k-11: CKR_DATA_LEN_RANGE", rv);
	bl = sizeof buf;
	rv = f->C_Sign(s, (CK_BYTE_PTR)msg, 10, buf, &bl);
	check(rv == CKR_OPERATION_NOT_INITIALIZED, "%s", "the error ended the operation", rv);
	rv = f->C_DecryptInit(s, &raw, k->priv);
	bl = sizeof buf;
	if (rv == CKR_OK) rv = f->C_Decrypt(s, buf + 512, 17, buf, &bl);
	check(rv == CKR_ENCRYPTED_DATA_LEN_RANGE, "%s", "a ciphertext of the wrong length: CKR_ENCRYPTED_DATA_LEN_RANGE", rv);
	rv = f->C_SignInit(s, &sha, k->pub);
	check(rv == CKR_KEY_TYPE_INCONSISTENT || rv == CKR_KEY_FUNCTION_NOT_PERMITTED, "%s", "C_SignInit with a public key is refused", rv);
	/* Random numbers from the OS; no seeding. */
	unsigned char r1[32] = {0}, r2[32] = {0};
	rv = f->C_GenerateRandom(s, r1, sizeof r1);
	if (rv == CKR_OK) rv = f->C_GenerateRandom(s, r2, sizeof r2);
	check(rv == CKR_OK && memcmp(r1, r2, sizeof r1) != 0, "%s", "C_GenerateRandom gives fresh bytes", rv);
	rv = f->C_SeedRandom(s, r1, sizeof r1);
	check(rv == CKR_RANDOM_SEED_NOT_SUPPORTED, "%s", "C_SeedRandom: CKR_RANDOM_SEED_NOT_SUPPORTED", rv);
	/* Dual-function operations: not offered, and not advertised. */
	CK_SESSION_INFO si;
	CK_TOKEN_INFO ti;
	rv = f->C_GetSessionInfo(s, &si);
	if (rv == CKR_OK) rv = f->C_GetTokenInfo(si.slotID, &ti);
	check(rv == CKR_OK && !(ti.flags & CKF_DUAL_CRYPTO_OPERATIONS), "%s", "the token does not claim CKF_DUAL_CRYPTO_OPERATIONS", rv);
	bl = sizeof buf;
	rv = f->C_SignEncryptUpdate(s, (CK_BYTE_PTR)msg, 4, buf, &bl);
	check(rv == CKR_FUNCTION_NOT_SUPPORTED, "%s", "C_SignEncryptUpdate: CKR_FUNCTION_NOT_SUPPORTED", rv);
}

/* mech_covers checks C_GetMechanismInfo: the key's size is inside the advertised range
 * and the flag for the use is set; CKF_HW only on mechanisms where the card works. */
static void mech_covers(struct key *k, CK_MECHANISM_TYPE mt, CK_FLAGS use, const char *name) {
	CK_MECHANISM_INFO mi;
	CK_SLOT_ID slot;
	CK_SESSION_INFO si;
	CK_RV rv = f->C_GetSessionInfo(s, &si);
	slot = si.slotID;
	if (rv == CKR_OK) rv = f->C_GetMechanismInfo(slot, mt, &mi);
	char what[160];
	snprintf(what, sizeof what, "key %02x (%lu bits): C_GetMechanismInfo %s covers it", k->id, k->bits, name);
	check(rv == CKR_OK && mi.ulMinKeySize <= k->bits && k->bits <= mi.ulMaxKeySize && (mi.flags & use) == use &&
	          (mi.flags & CKF_HW),
	      "%s", what, rv);
}

static void check_mech_list(void) {
	CK_SESSION_INFO si;
	CK_MECHANISM_TYPE list[128];
	CK_ULONG n = 128;
	CK_RV rv = f->C_GetSessionInfo(s, &si);
	if (rv == CKR_OK) rv = f->C_GetMechanismList(si.slotID, list, &n);
	check(rv == CKR_OK && n > 0, "%s", "C_GetMechanismList", rv);
	char p[512];
	path(p, sizeof p, "mechs.txt");
	FILE *fp = fopen(p, "w");
	for (CK_ULONG i = 0; fp && rv == CKR_OK && i < n; i++) {
		CK_MECHANISM_INFO mi;
		if (f->C_GetMechanismInfo(si.slotID, list[i], &mi) != CKR_OK) {
			check(0, "%s", "C_GetMechanismInfo of a listed mechanism", CKR_OK);
			continue;
		}
		fprintf(fp, "0x%lx %lu %lu 0x%lx\n", list[i], mi.ulMinKeySize, mi.ulMaxKeySize, mi.flags);
		int digest = 0;
		for (size_t j = 0; j < NHASH; j++) digest |= list[i] == hashes[j].digest;
		if (digest) check(mi.flags == CKF_DIGEST, "%s", "digest mechanisms: CKF_DIGEST only, no CKF_HW", CKR_OK);
		/* No dual-function or recovery operations are offered. */
		if (mi.flags & (CKF_SIGN_RECOVER | CKF_VERIFY_RECOVER | CKF_WRAP | CKF_UNWRAP))
			check(0, "%s", "no mechanism claims recover/wrap/unwrap", CKR_OK);
	}
	if (fp) fclose(fp);
}

static void do_sign(void) {
	char p[512];
	/* Digests, for the verifiers and for the raw mechanisms. */
	path(p, sizeof p, "digests.txt");
	FILE *dg = fopen(p, "w");
	if (!dg) die("digests.txt", 0);
	write_file("msg", msg, MSGLEN);
	for (size_t i = 0; i < NHASH; i++) {
		CK_MECHANISM m = {hashes[i].digest, NULL, 0};
		CK_ULONG n = 0;
		CK_RV rv = f->C_DigestInit(s, &m);
		if (rv == CKR_OK) rv = f->C_Digest(s, (CK_BYTE_PTR)msg, MSGLEN, NULL, &n);
		if (rv == CKR_OK && n == hashes[i].len) rv = f->C_Digest(s, (CK_BYTE_PTR)msg, MSGLEN, digest_of[i], &n);
		check(rv == CKR_OK && n == hashes[i].len, "C_Digest %s", hashes[i].name, rv);
		put_hex(dg, hashes[i].name, digest_of[i], hashes[i].len);
		unsigned char d2[64];
		CK_ULONG n2 = sizeof d2;
		rv = f->C_DigestInit(s, &m);
		if (rv == CKR_OK) rv = f->C_DigestUpdate(s, (CK_BYTE_PTR)msg, 7);
		if (rv == CKR_OK) rv = f->C_DigestUpdate(s, (CK_BYTE_PTR)msg + 7, MSGLEN - 7);
		if (rv == CKR_OK) rv = f->C_DigestFinal(s, d2, &n2);
		check(rv == CKR_OK && n2 == n && memcmp(d2, digest_of[i], n) == 0, "C_DigestUpdate/Final %s agrees", hashes[i].name, rv);
	}
	fclose(dg);
	check_mech_list();
	path(p, sizeof p, "sigs.txt");
	sigs = fopen(p, "w");
	if (!sigs) die("sigs.txt", 0);
	for (size_t i = 0; i < sizeof key_ids; i++) {
		struct key k;
		char what[64];
		snprintf(what, sizeof what, "%02x", key_ids[i]);
		if (!held[key_ids[i]]) continue; /* the gen mode said why */
		if (!load_key(key_ids[i], &k)) {
			check(0, "key %s is on the token", what, CKR_OK);
			continue;
		}
		if (k.type == CKK_RSA) {
			mech_covers(&k, CKM_RSA_PKCS, CKF_SIGN | CKF_DECRYPT, "CKM_RSA_PKCS");
			mech_covers(&k, CKM_RSA_PKCS_OAEP, CKF_DECRYPT, "CKM_RSA_PKCS_OAEP");
			mech_covers(&k, CKM_SHA256_RSA_PKCS_PSS, CKF_SIGN, "CKM_SHA256_RSA_PKCS_PSS");
			mech_covers(&k, CKM_RSA_PKCS_KEY_PAIR_GEN, CKF_GENERATE_KEY_PAIR, "CKM_RSA_PKCS_KEY_PAIR_GEN");
			sign_rsa(&k);
			check_apdus(&k, CKM_SHA256_RSA_PKCS, "SHA256-RSA-PKCS");
			if (k.id == 0x06) check_rules(&k);
		} else if (k.type == CKK_EC) {
			mech_covers(&k, CKM_ECDSA, CKF_SIGN, "CKM_ECDSA");
			mech_covers(&k, CKM_ECDH1_DERIVE, CKF_DERIVE, "CKM_ECDH1_DERIVE");
			mech_covers(&k, CKM_EC_KEY_PAIR_GEN, CKF_GENERATE_KEY_PAIR, "CKM_EC_KEY_PAIR_GEN");
			sign_ec(&k);
			check_apdus(&k, CKM_ECDSA_SHA256, "ECDSA-SHA256");
		} else if (k.type == CKK_EC_EDWARDS) {
			mech_covers(&k, CKM_EDDSA, CKF_SIGN, "CKM_EDDSA");
			sign_ed(&k);
		}
		else if (k.type == CKK_EC_MONTGOMERY) {
			mech_covers(&k, CKM_ECDH1_DERIVE, CKF_DERIVE, "CKM_ECDH1_DERIVE");
			CK_MECHANISM m = {CKM_EDDSA, NULL, 0};
			CK_RV rv = f->C_SignInit(s, &m, k.priv);
			check(rv == CKR_KEY_FUNCTION_NOT_PERMITTED || rv == CKR_KEY_TYPE_INCONSISTENT, "key %s X25519 cannot sign", what, rv);
		}
	}
	fclose(sigs);
}

/* ---- decrypt ---- */

static CK_MECHANISM_TYPE hash_mech(const char *name, CK_RSA_PKCS_MGF_TYPE *mgf) {
	for (size_t i = 0; i < NHASH; i++)
		if (strcmp(hashes[i].name, name) == 0) {
			if (mgf) *mgf = hashes[i].mgf;
			return hashes[i].digest;
		}
	return 0;
}

/* DIR/enc.txt: id scheme(pkcs1|oaep|x509) hash mgf-hash label-hex ct-file pt-file */
static void do_decrypt(void) {
	char p[512], line[1024];
	path(p, sizeof p, "enc.txt");
	FILE *fp = fopen(p, "r");
	if (!fp) die("enc.txt", 0);
	int n = 0;
	while (fgets(line, sizeof line, fp)) {
		char id[8], scheme[16], h[16], mg[16], lbl[256], ctf[128], ptf[128];
		if (sscanf(line, "%7s %15s %15s %15s %255s %127s %127s", id, scheme, h, mg, lbl, ctf, ptf) != 7) continue;
		struct key k;
		if (!held[(unsigned char)strtoul(id, NULL, 16)]) continue;
		if (!load_key((unsigned char)strtoul(id, NULL, 16), &k)) {
			check(0, "key %s is on the token", id, CKR_OK);
			continue;
		}
		unsigned char label[128];
		CK_RSA_PKCS_OAEP_PARAMS op = {0};
		CK_MECHANISM m = {CKM_RSA_PKCS, NULL, 0};
		if (strcmp(scheme, "oaep") == 0) {
			CK_ULONG ll = from_hex(lbl, label, sizeof label);
			op.hashAlg = hash_mech(h, NULL);
			hash_mech(mg, &op.mgf);
			op.source = CKZ_DATA_SPECIFIED;
			op.pSourceData = ll ? label : NULL;
			op.ulSourceDataLen = ll;
			m.mechanism = CKM_RSA_PKCS_OAEP;
			m.pParameter = &op;
			m.ulParameterLen = sizeof op;
		} else if (strcmp(scheme, "x509") == 0)
			m.mechanism = CKM_RSA_X_509;
		size_t cl, pl;
		unsigned char *ct = read_file(ctf, &cl), *pt = read_file(ptf, &pl);
		unsigned char out[1024];
		CK_ULONG ol = 0;
		char what[512];
		snprintf(what, sizeof what, "key %s RSA-%lu decrypt %s %s mgf1 %s label %s of OpenSSL's ciphertext", id, k.bits, scheme, h, mg, lbl);
		CK_RV rv = f->C_DecryptInit(s, &m, k.priv);
		if (rv == CKR_OK && k.always) rv = f->C_Login(s, CKU_CONTEXT_SPECIFIC, (CK_UTF8CHAR_PTR)pin, strlen(pin));
		if (rv == CKR_OK) {
			if (n++ % 2 == 0) {
				/* single part: the size query, a buffer too small (the operation
				 * lives on), then the real call */
				rv = f->C_Decrypt(s, ct, cl, NULL, &ol);
				CK_ULONG one = 1;
				if (rv == CKR_OK && pl > 1) {
					rv = f->C_Decrypt(s, ct, cl, out, &one);
					rv = rv == CKR_BUFFER_TOO_SMALL && one == pl ? CKR_OK : (rv == CKR_OK ? CKR_GENERAL_ERROR : rv);
				}
				if (rv == CKR_OK) rv = f->C_Decrypt(s, ct, cl, out, &ol);
			} else {
				/* multi-part */
				CK_ULONG fl = sizeof out;
				rv = f->C_DecryptUpdate(s, ct, cl / 2, out, &ol);
				if (rv == CKR_OK && ol == 0) rv = f->C_DecryptUpdate(s, ct + cl / 2, cl - cl / 2, out, &ol);
				if (rv == CKR_OK && ol == 0) rv = f->C_DecryptFinal(s, out, &fl);
				ol = fl;
			}
		}
		/* Raw RSA keeps the leading zeros of the block; OpenSSL's input had them too. */
		check(rv == CKR_OK && ol == pl && memcmp(out, pt, pl) == 0, "%s", what, rv);
		/* The module's public-key encryption, decrypted on the card (whose decryption
		 * OpenSSL's ciphertext has just vouched for). */
		unsigned char ct2[1024];
		CK_ULONG c2 = 0;
		rv = f->C_EncryptInit(s, &m, k.pub);
		if (rv == CKR_OK) rv = f->C_Encrypt(s, pt, pl, NULL, &c2);
		if (rv == CKR_OK && c2 <= sizeof ct2) rv = f->C_Encrypt(s, pt, pl, ct2, &c2);
		ol = sizeof out;
		if (rv == CKR_OK) rv = f->C_DecryptInit(s, &m, k.priv);
		if (rv == CKR_OK && k.always) rv = f->C_Login(s, CKU_CONTEXT_SPECIFIC, (CK_UTF8CHAR_PTR)pin, strlen(pin));
		if (rv == CKR_OK) rv = f->C_Decrypt(s, ct2, c2, out, &ol);
		snprintf(what, sizeof what, "key %s RSA-%lu C_Encrypt %s %s mgf1 %s label %s, then C_Decrypt", id, k.bits, scheme, h, mg, lbl);
		check(rv == CKR_OK && c2 == (k.bits + 7) / 8 && ol == pl && memcmp(out, pt, pl) == 0, "%s", what, rv);
		free(ct);
		free(pt);
	}
	fclose(fp);
}

/* ---- derive ---- */

/* DIR/peers.txt: id peer-public-file(raw point or u) expected-secret-file */
static void do_derive(void) {
	char p[512], line[512];
	path(p, sizeof p, "peers.txt");
	FILE *fp = fopen(p, "r");
	if (!fp) die("peers.txt", 0);
	while (fgets(line, sizeof line, fp)) {
		char id[8], pf[128], ef[128];
		if (sscanf(line, "%7s %127s %127s", id, pf, ef) != 3) continue;
		struct key k;
		if (!load_key((unsigned char)strtoul(id, NULL, 16), &k)) {
			check(0, "key %s is on the token", id, CKR_OK);
			continue;
		}
		size_t ql, el;
		unsigned char *q = read_file(pf, &ql), *want = read_file(ef, &el);
		CK_ECDH1_DERIVE_PARAMS ep = {CKD_NULL, 0, NULL, ql, q};
		CK_MECHANISM m = {CKM_ECDH1_DERIVE, &ep, sizeof ep};
		CK_OBJECT_CLASS sk = CKO_SECRET_KEY;
		CK_KEY_TYPE gk = CKK_GENERIC_SECRET;
		CK_BBOOL no = CK_FALSE, yes = CK_TRUE;
		CK_ATTRIBUTE dt[5] = {{CKA_CLASS, &sk, sizeof sk}, {CKA_KEY_TYPE, &gk, sizeof gk}, {CKA_TOKEN, &no, 1},
		                      {CKA_SENSITIVE, &no, 1}, {CKA_EXTRACTABLE, &yes, 1}};
		CK_OBJECT_HANDLE dk = CK_INVALID_HANDLE;
		char what[160];
		const char *kind = k.type == CKK_EC_MONTGOMERY ? "X25519" : k.bits == 384 ? "P-384" : "P-256";
		snprintf(what, sizeof what, "key %s %s ECDH1-DERIVE agrees with OpenSSL's peer", id, kind);
		CK_RV rv = f->C_DeriveKey(s, &m, k.priv, dt, 5, &dk);
		if (k.always) {
			/* C_DeriveKey has no Init after which C_Login(CKU_CONTEXT_SPECIFIC) could
			 * come (spec 4.9): a PIN-always key refuses, and the login is refused too. */
			snprintf(what, sizeof what, "key %s %s (PIN always) ECDH1-DERIVE: CKR_USER_NOT_LOGGED_IN", id, kind);
			check(rv == CKR_USER_NOT_LOGGED_IN, "%s", what, rv);
			rv = f->C_Login(s, CKU_CONTEXT_SPECIFIC, (CK_UTF8CHAR_PTR)pin, strlen(pin));
			check(rv == CKR_OPERATION_NOT_INITIALIZED, "key %s: C_Login(CKU_CONTEXT_SPECIFIC) without an operation", id, rv);
			free(q);
			free(want);
			continue;
		}
		unsigned char secret[128];
		CK_ATTRIBUTE sv = {CKA_VALUE, secret, sizeof secret};
		if (rv == CKR_OK) rv = f->C_GetAttributeValue(s, dk, &sv, 1);
		check(rv == CKR_OK && sv.ulValueLen == el && memcmp(secret, want, el) == 0, "%s", what, rv);
		if (rv == CKR_OK) {
			/* C_DigestKey on the derived key = SHA-256 of OpenSSL's secret. */
			CK_MECHANISM sm = {CKM_SHA256, NULL, 0};
			unsigned char d1[32], d2[32];
			CK_ULONG l1 = sizeof d1, l2 = sizeof d2;
			rv = f->C_DigestInit(s, &sm);
			if (rv == CKR_OK) rv = f->C_DigestKey(s, dk);
			if (rv == CKR_OK) rv = f->C_DigestFinal(s, d1, &l1);
			if (rv == CKR_OK) rv = f->C_DigestInit(s, &sm);
			if (rv == CKR_OK) rv = f->C_Digest(s, want, el, d2, &l2);
			check(rv == CKR_OK && memcmp(d1, d2, 32) == 0, "key %s: C_DigestKey of the derived key", id, rv);
		}
		if (dk != CK_INVALID_HANDLE) f->C_DestroyObject(s, dk);
		/* A point not on the curve must be refused, never "agreed". */
		if (k.type == CKK_EC && ql > 2) {
			q[ql - 1] ^= 1;
			rv = f->C_DeriveKey(s, &m, k.priv, dt, 5, &dk);
			snprintf(what, sizeof what, "key %s %s ECDH1-DERIVE refuses a point off the curve", id, kind);
			check(rv != CKR_OK, "%s", what, rv);
			if (rv == CKR_OK) f->C_DestroyObject(s, dk);
		}
		free(q);
		free(want);
	}
	fclose(fp);
}

int main(int argc, char **argv) {
	if (argc != 4) {
		fprintf(stderr, "usage: p11crypto MODULE DIR gen|putcerts|sign|decrypt|derive\n");
		return 2;
	}
	dir = argv[2];
	pin = getenv("PCSC11_TEST_PIN");
	if (!pin) pin = "123456";
	void *lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
	if (!lib) {
		fprintf(stderr, "dlopen: %s\n", dlerror());
		return 1;
	}
	CK_C_GetFunctionList gfl;
	*(void **)&gfl = dlsym(lib, "C_GetFunctionList");
	if (!gfl || gfl(&f) != CKR_OK) die("C_GetFunctionList", 0);
	*(void **)&session_cancel = dlsym(lib, "C_SessionCancel");
	open_session();
	init_held();
	if (strcmp(argv[3], "gen") == 0) {
		do_gen();
	} else if (strcmp(argv[3], "putcerts") == 0) {
		do_putcerts();
	} else {
		login_user();
		if (strcmp(argv[3], "sign") == 0) do_sign();
		else if (strcmp(argv[3], "decrypt") == 0) do_decrypt();
		else if (strcmp(argv[3], "derive") == 0) do_derive();
		else die("unknown mode", 0);
	}
	/* Public keys for the verifiers, whatever the mode. */
	if (strcmp(argv[3], "gen") == 0) {
		login_user();
		for (size_t i = 0; i < sizeof key_ids; i++) {
			struct key k;
			char what[8];
			snprintf(what, sizeof what, "%02x", key_ids[i]);
			if (!held[key_ids[i]]) {
				printf("# key %s: this card cannot hold its type\n", what);
				continue;
			}
			check(load_key(key_ids[i], &k), "key %s is on the token", what, CKR_OK);
		}
	}
	f->C_CloseSession(s);
	f->C_Finalize(NULL);
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
