/* JSON text (RFC 8259) -> a canonical JSON text, so two engines' spellings of one value compare
 * equal byte for byte.
 *
 * The canonical form follows PostgreSQL jsonb's notion of equality: object members sorted by
 * their canonical key bytes, and of duplicate keys only the last one kept; arrays in order;
 * strings with every escape decoded and re-encoded one way (only '"', '\' and control characters
 * escaped, as \" \\ and \u00xx; everything else as raw UTF-8), so "\u00e9" and "é" agree;
 * numbers by their exact decimal value, written as an optional '-', the significant digits
 * (no leading or trailing zeros) and, when not zero, an exponent: 1.0, 1.00, 10E-1 and 1e0 are
 * all "1", 1.50 is "15e-1", 100 is "1e2", -0.0 is "0" (any number of digits, no rounding);
 * true, false, null; no whitespace.
 *
 * A pure function of bytes: every length checked, recursion bounded by SL_JSON_MAX_DEPTH. */
#ifndef SL_JSON_H
#define SL_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

/* Deepest nesting of arrays and objects accepted (MySQL allows 100; PostgreSQL about as much
 * as its stack allows). */
#define SL_JSON_MAX_DEPTH 1000

/* Append the canonical form of the JSON text buf[0..len) to out. `scratch` is work space (the
 * member tables of the objects being sorted); its contents are overwritten and both buffers
 * keep their capacity, so one pair serves many values. Returns 0, or -1 (out left as it was)
 * when the text is not one valid JSON value with optional surrounding whitespace, is not valid
 * UTF-8, has an unpaired surrogate escape, nests deeper than SL_JSON_MAX_DEPTH, or has a number
 * whose exponent has more than 15 significant digits. The caller owns both buffers. */
int sl_json_canonical(const uint8_t *buf, size_t len, sl_buf *out, sl_buf *scratch);

/* Append bytes p[0..n) as a JSON string: quotes, '"' and '\\' escaped, control characters as
 * \u00xx, everything else as it is. */
void sl_json_put_string(sl_buf *out, const void *p, size_t n);
/* The same for text that may not be UTF-8 (names, messages): what is not becomes U+FFFD, so the
 * JSON stays valid. */
void sl_json_put_text(sl_buf *out, const char *s);

/* ---- reading ----
 * Parts of a JSON text as spans of it, without copying: an object's member, an array's
 * elements, a string's decoded bytes. For the small documents HTTP APIs answer with; values
 * are delimited (nesting bounded by SL_JSON_MAX_DEPTH), strings validated when decoded. */
typedef struct sl_json_span {
	const char *p;
	size_t n;
} sl_json_span;

/* The value of member `key` (a name without escapes) of the object obj: 0 with *out set, 1 when
 * absent, -1 when obj is not a well-formed object. */
int sl_json_member(sl_json_span obj, const char *key, sl_json_span *out);
/* The element of array arr after *it (it->p NULL: the first): 0 with *it set, 1 past the last,
 * -1 when arr is malformed. */
int sl_json_next(sl_json_span arr, sl_json_span *it);
bool sl_json_is_null(sl_json_span v);
/* The array of rows `rows` (each an array of the same length) as its cells, row after row,
 * into *cells (grown as needed; *cap its capacity): 0 with *nrows and *ncols set, -1 when
 * rows is not such an array. */
int sl_json_grid(sl_json_span rows, sl_json_span **cells, size_t *cap, int64_t *nrows, int *ncols);
/* The string v decoded into out (reset first, NUL-terminated): 0; 1 when v is null; -1 when v
 * is not a valid string. */
int sl_json_string(sl_json_span v, sl_buf *out);

#endif
