/* Order-independent content digest of a table, computed from decoded batches.
 *
 * Each row hashes its columns' Arrow values (type-aware: the bytes of fixed-width values, the
 * bytes of var-width values, list elements, a marker for NULL) into 64 bits; a table's digest is
 * the row count plus the wrapping sum of its row hashes, so row order does not matter and the
 * same rows read from two engines compare equal when they decode to the same Arrow values. A
 * list hashes its shape (core/batch.h) with its elements when it is not plain.
 * JSON values (extension arrow.json) count by their canonical form (formats/json.h): key
 * order, duplicate keys, whitespace, escapes and number spelling do not matter. */
#ifndef SL_DIGEST_H
#define SL_DIGEST_H

#include <stdint.h>

#include "core/batch.h"
#include "core/config.h"

typedef struct sl_digest {
	int64_t rows;
	uint64_t sum;
	/* Rules, set by the caller before the first batch, the same for both sides compared: */
	bool null_list_is_empty; /* count a NULL list as an empty one (the target cannot store
	                          * a NULL array: ClickHouse) */
	bool specials_are_null;  /* hash a decimal NaN/Infinity as NULL (the target stores
	                          * them as NULL: ClickHouse) and count it in `specials` */
	int64_t specials;
	bool arrays_are_flat; /* hash a list value with a shape (more than one dimension, or
	                       * a lower bound other than 1) as its elements alone (the target
	                       * stores arrays flattened: ClickHouse) and count it in `flattened`;
	                       * without this rule the shape is hashed with the elements */
	int64_t flattened;
	/* Source side only: per column, the masking the pipeline applies (core/columns.h), or
	 * NULL; a hashed value counts as its hex text, a nulled one as NULL. */
	const sl_mask *masks;
	const char *mask_key;
} sl_digest;

/* Add every row of the batch to the digest. */
void sl_digest_add_batch(sl_digest *d, const sl_batch *b);

#endif
