/* Order-independent content digest of a table, computed from decoded batches.
 *
 * Each row hashes its columns' Arrow values (type-aware: the bytes of fixed-width values, the
 * bytes of var-width values, list elements, a marker for NULL) into 64 bits; a table's digest is
 * the row count plus the wrapping sum of its row hashes, so row order does not matter and the
 * same rows read from two engines compare equal when they decode to the same Arrow values.
 * JSON values (extension arrow.json) count by their canonical form (formats/json.h): key
 * order, duplicate keys, whitespace, escapes and number spelling do not matter. */
#ifndef SL_DIGEST_H
#define SL_DIGEST_H

#include <stdint.h>

#include "core/batch.h"

typedef struct sl_digest {
	int64_t rows;
	uint64_t sum;
} sl_digest;

/* Count a NULL list as an empty one (set once, before digests are computed, when the target
 * cannot store a NULL array: ClickHouse). */
extern bool sl_digest_null_list_is_empty;

/* Add every row of the batch to the digest. */
void sl_digest_add_batch(sl_digest *d, const sl_batch *b);

#endif
