/* The table each side of the header check fills (layout.c, compared by main.c). */
#include <stddef.h>

struct entry {
	char kind;                /* K constant, S struct, F field */
	const char *name;
	int present;              /* the header declares it */
	unsigned long long value; /* K: value; S: alignment; F: offset */
	size_t size;              /* S: sizeof; F: sizeof the field */
};

#define MAX_ENTRIES 4096
void fill_ours(struct entry *e, size_t *n);
void fill_p11kit(struct entry *e, size_t *n);
void fill_nss(struct entry *e, size_t *n);
