/* Column selection and masking (source.tables.columns): which columns of a table leave the
 * agent, and which travel masked, whatever the source and target engines.
 *
 * After discovery, sl_columns_apply checks each rule against the table the source found and
 * rewrites the catalog: excluded columns leave t->fields (the source is asked to stop reading
 * them), masked ones get their target type (hash: Utf8 "text"; null: nullable), t->masks
 * says which, and t->read_fields keeps the source's own layout when a type changed. From then
 * on values are masked in core: snapshot batches by sl_columns_mask_batch, change messages by
 * an sl_colview, verify's source digest by sl_digest (core/digest.h) reading t->masks.
 *
 * Hash masking: HMAC-SHA256 keyed with mask_key over the value's canonical bytes, written as
 * 64 lowercase hex digits. Canonical bytes: text and binary values their bytes; integers their
 * decimal digits ("-42"); booleans "true"/"false"; decimals their plain text with the scale's
 * digits ("12.50"); every other type its Arrow value bytes (little-endian). NULL stays NULL.
 * Equal values give equal hashes, so a hashed key keeps rows apart and joins still work. */
#ifndef SL_COLUMNS_H
#define SL_COLUMNS_H

#include <stddef.h>
#include <stdint.h>

#include "core/batch.h"
#include "core/catalog.h"
#include "core/change.h"
#include "core/config.h"
#include "core/error.h"

#define SL_MASK_HEX_LEN 64

/* Called once per table with rules that leave columns out: keep[0..nkeep) are the ascending
 * indexes (into t->fields as discovered) of the columns to keep; the source reads only those
 * from now on. */
typedef int (*sl_columns_project_fn)(void *ctx, sl_catalog *cat, int t, const int *keep, int nkeep,
                                     sl_error *err);

/* Apply cfg's source.tables.columns to the discovered catalog (see above). Errors
 * (SL_ERR_CONFIG) name the table and column and say how to fix the pipeline file: a rule for
 * a table that is not replicated, an unknown column, a key column excluded or masked with
 * null, a list column masked with hash, a table left without columns. */
int sl_columns_apply(const sl_config *cfg, sl_catalog *cat, sl_columns_project_fn project,
                     void *ctx, sl_error *err);

/* Is column `name` replicated under `rule` (NULL: every column is)? For columns the stream
 * shows that discovery did not see (added later). */
bool sl_columns_keeps(const sl_column_rule *rule, const char *name);

/* HMAC-SHA256 of data[0..n) keyed with key, as 64 lowercase hex digits and a NUL. */
void sl_mask_hmac_hex(const char *key, const void *data, size_t n, char out[SL_MASK_HEX_LEN + 1]);

/* What decides the rows a table's target holds under source.tables.columns, as one line to
 * compare across runs: its include/exclude lists and masks (names sorted), and, when it hashes,
 * a fingerprint of mask_key (an HMAC of a fixed text: the key itself never appears). "" for a
 * table without rules. The caller frees it. */
char *sl_columns_fingerprint(const sl_table_def *t, const char *mask_key);

/* The hex hash of value i of column c (which must be valid: not NULL), as described above. */
void sl_mask_value_hex(const sl_column *c, int64_t i, const char *key,
                       char out[SL_MASK_HEX_LEN + 1]);

/* Append value i of `in` masked with `mask` to `out` (NONE: copied as is). */
void sl_mask_append(sl_column *out, const sl_column *in, int64_t i, sl_mask mask, const char *key);

/* Turn a snapshot batch of table t read in its read layout (sl_table_read_fields) into `out`,
 * an empty batch over t->fields, masking as t->masks says. Unmasked columns move without
 * copying; `in` is left empty and reusable. */
void sl_columns_mask_batch(const sl_table_def *t, const char *key, sl_batch *in, sl_batch *out);

/* The change stream's view: rewrites the SCHEMA and ROWS messages of tables with rules so
 * they carry only replicated columns, masked. One per CDC run, used by one thread. */
typedef struct sl_colview sl_colview;

/* NULL when no table of the catalog has rules (nothing to rewrite). The catalog must outlive
 * the view; key may be NULL when no column is hashed. */
sl_colview *sl_colview_create(const sl_catalog *cat, const char *key);
void sl_colview_destroy(sl_colview *v);
/* Rewrite m in place when it is a SCHEMA or ROWS message of a table with rules. */
int sl_colview_apply(sl_colview *v, sl_msg *m, sl_error *err);

#endif
