/* Allocation wrappers: small allocations abort on out-of-memory (there is nothing sensible
 * to do), so callers need not check. Large buffers whose size comes from data use the
 * plain allocator and check. */
#ifndef SL_MEM_H
#define SL_MEM_H

#include <stddef.h>

void *sl_malloc(size_t n);
void *sl_calloc(size_t count, size_t size);
void *sl_realloc(void *p, size_t n);
char *sl_strdup(const char *s);
char *sl_strndup(const char *s, size_t n);
/* printf into a new string; the caller frees it. */
char *sl_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
