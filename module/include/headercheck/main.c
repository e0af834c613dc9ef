/*
 * The header check (make header-check, part of make test). pcsc11's hand-written
 * module/include/pcsc11_pkcs11.h must agree with the headers applications on Debian are
 * built against — p11-kit's pkcs11.h (GnuTLS, p11-kit clients) and NSS's (Firefox,
 * Chromium) — on every constant's value, every struct's size and alignment, and every
 * field's offset and size: an application compiled with either header must hand the
 * module the same bytes.
 *
 * Each name of ours is compared with every reference header that declares it. A
 * constant neither declares fails, unless it is vendor-defined (0x80000000 and up: ours
 * to define). A struct neither declares fails too. p11-kit 0.24 (Debian 12) predates
 * the v3.0 structures (CK_INTERFACE, CK_FUNCTION_LIST_3_0, CK_EDDSA_PARAMS); NSS has
 * them, so every name is checked against at least one header written by someone else.
 */
#include <stdio.h>
#include <string.h>
#include "layout.h"

#define NREF 2
static struct entry ours[MAX_ENTRIES], refs[NREF][MAX_ENTRIES];
static const char *ref_names[NREF] = {"p11-kit", "NSS"};

/*
 * Known, deliberate differences. NSS's CK_C_INITIALIZE_ARGS carries an extra field,
 * LibraryParameters, before pReserved (NSS passes a module's parameter string there);
 * our header follows the specification (§3.6), where pReserved follows flags. NSS
 * leaves LibraryParameters NULL for a module registered without parameters, which is
 * what pcsc11 register and docs/nss.md do (see docs/conformance.md).
 */
static const struct {
	const char *name, *ref;
} expected_differences[] = {
	{"CK_C_INITIALIZE_ARGS", "NSS"},
	{"CK_C_INITIALIZE_ARGS.pReserved", "NSS"},
};

static int expected_difference(const char *name, const char *ref)
{
	for (size_t i = 0; i < sizeof expected_differences / sizeof expected_differences[0]; i++)
		if (strcmp(name, expected_differences[i].name) == 0 && strcmp(ref, expected_differences[i].ref) == 0)
			return 1;
	return 0;
}

static int same(const struct entry *a, const struct entry *b)
{
	return a->value == b->value && a->size == b->size;
}

static void report(const struct entry *a, const struct entry *b, const char *who)
{
	if (a->kind == 'K')
		printf("FAIL %s: ours 0x%llx, %s 0x%llx\n", a->name, a->value, who, b->value);
	else if (a->kind == 'S')
		printf("FAIL %s: ours size %zu align %llu, %s size %zu align %llu\n",
		       a->name, a->size, a->value, who, b->size, b->value);
	else
		printf("FAIL %s: ours offset %llu size %zu, %s offset %llu size %zu\n",
		       a->name, a->value, a->size, who, b->value, b->size);
}

int main(void)
{
	size_t n = 0, nref[NREF] = {0, 0};
	fill_ours(ours, &n);
	fill_p11kit(refs[0], &nref[0]);
	fill_nss(refs[1], &nref[1]);
	for (int r = 0; r < NREF; r++)
		if (nref[r] != n || n == 0) {
			printf("header-check: tables differ in length (ours %zu, %s %zu)\n", n, ref_names[r], nref[r]);
			return 1;
		}

	size_t passed = 0, failed = 0, vendor = 0, checked_by[NREF] = {0, 0}, counts[3] = {0, 0, 0};
	for (size_t i = 0; i < n; i++) {
		const struct entry *a = &ours[i];
		counts[a->kind == 'K' ? 0 : a->kind == 'S' ? 1 : 2]++;
		int compared = 0, ok = 1;
		for (int r = 0; r < NREF; r++) {
			const struct entry *b = &refs[r][i];
			if (strcmp(a->name, b->name) != 0 || a->kind != b->kind) {
				printf("header-check: tables out of step at %s / %s\n", a->name, b->name);
				return 1;
			}
			if (!b->present)
				continue;
			compared++;
			checked_by[r]++;
			if (same(a, b))
				continue;
			if (expected_difference(a->name, ref_names[r])) {
				printf("note %s differs in %s's header, as expected (see expected_differences)\n", a->name, ref_names[r]);
				continue;
			}
			report(a, b, ref_names[r]);
			ok = 0;
		}
		if (compared == 0) {
			if (a->kind == 'K' && a->value >= 0x80000000ULL && a->value != ~0UL) {
				vendor++;
			} else if (a->kind != 'F') { /* a missing struct is reported once, not per field */
				printf("FAIL %s: declared by neither p11-kit's nor NSS's pkcs11.h\n", a->name);
				ok = 0;
			}
		}
		if (ok)
			passed++;
		else
			failed++;
	}
	printf("header-check: %zu constants (%zu vendor-defined), %zu structs, %zu fields; "
	       "%zu names compared with p11-kit's pkcs11.h, %zu with NSS's\n",
	       counts[0], vendor, counts[1], counts[2], checked_by[0], checked_by[1]);
	printf("%zu passed, %zu failed\n", passed, failed);
	return failed ? 1 : 0;
}
