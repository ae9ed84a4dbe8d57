/* Row hashing for verify: a 64-bit multiply-xorshift mix over each value's bytes. JSON values
 * (Utf8 with extension arrow.json) hash their canonical form (formats/json.h) instead, since
 * engines spell one JSON value differently (PostgreSQL jsonb reorders keys, drops duplicates,
 * respaces and de-escapes); Interval(DayTime) values hash their total milliseconds; a list
 * with a shape hashes it too; under the digest's rules, decimal NaN/Infinity hash as NULL, a
 * NULL list as an empty one and a list with a shape as its elements alone. */
#include "core/digest.h"

#include <string.h>

#include "core/columns.h"
#include "formats/decimal.h"
#include "formats/json.h"

/* Work space for one sl_digest_add_batch call: reused by every JSON value of the batch. */
struct sl_digest_scratch {
	sl_buf json, work;
	sl_digest *d; /* its rules, and where specials are counted */
};

#define SL_MIX_K 0x9E3779B97F4A7C15ull
#define SL_HASH_NULL 0x6E756C6C6E756C6Cull /* "nullnull" */

static inline uint64_t sl_mix(uint64_t h, uint64_t v)
{
	h ^= v + SL_MIX_K + (h << 6) + (h >> 2);
	h *= 0xBF58476D1CE4E5B9ull;
	h ^= h >> 31;
	return h;
}

static uint64_t sl_hash_bytes(const uint8_t *p, size_t n)
{
	uint64_t h = sl_mix(0x243F6A8885A308D3ull, n);
	while (n >= 8) {
		uint64_t v;
		memcpy(&v, p, 8);
		h = sl_mix(h, v);
		p += 8;
		n -= 8;
	}
	uint64_t tail = 0;
	if (n)
		memcpy(&tail, p, n);
	return sl_mix(h, tail ^ ((uint64_t)n << 56));
}

static bool sl_is_json(const sl_field *f)
{
	return f->ext_name && strcmp(f->ext_name, "arrow.json") == 0;
}

static uint64_t sl_hash_null(const sl_field *f, const struct sl_digest_scratch *s)
{
	if (f->type == SL_TYPE_LIST && s->d->null_list_is_empty)
		return sl_mix(0x4C495354ull, 0); /* as an empty list */
	return SL_HASH_NULL;
}

static uint64_t sl_hash_value(const sl_column *c, int64_t i, struct sl_digest_scratch *s)
{
	const sl_field *f = c->field;
	if (!sl_col_is_valid(c, i))
		return sl_hash_null(f, s);
	if (f->type == SL_TYPE_BOOL)
		return sl_col_bool(c, i) ? 0x1111 : 0x2222;
	if (f->type == SL_TYPE_LIST) {
		const int32_t *off = (const int32_t *)c->offsets.data;
		uint64_t h = sl_mix(0x4C495354ull, (uint64_t)(off[i + 1] - off[i]));
		sl_list_shape shape;
		if (c->shapes && sl_col_list_shape(c, i, &shape)) {
			if (s->d->arrays_are_flat) {
				s->d->flattened++;
			} else {
				h = sl_mix(h, 0x5348415045ull + (uint64_t)shape.ndim); /* "SHAPE" */
				for (int d = 0; d < shape.ndim; d++)
					h = sl_mix(h, (uint64_t)(uint32_t)shape.dims[d] << 32 |
					                      (uint32_t)shape.lbounds[d]);
			}
		}
		for (int32_t k = off[i]; k < off[i + 1]; k++)
			h = sl_mix(h, sl_hash_value(c->child, k, s));
		return h;
	}
	if (sl_type_is_var_width(f->type)) {
		int32_t n;
		const uint8_t *p = sl_col_bytes(c, i, &n);
		if (sl_is_json(f)) {
			/* invalid JSON (or too deep) falls back to its bytes: a valid canonical
			 * text never equals an invalid one */
			sl_buf_reset(&s->json);
			if (sl_json_canonical(p, (size_t)n, &s->json, &s->work) == 0)
				return sl_hash_bytes(s->json.data, s->json.len);
		}
		return sl_hash_bytes(p, (size_t)n);
	}
	if (f->type == SL_TYPE_INTERVAL_DT) {
		sl_interval_dt v;
		memcpy(&v, c->values.data + i * 8, 8);
		int64_t ms = sl_interval_dt_to_ms(v);
		return sl_hash_bytes((const uint8_t *)&ms, 8);
	}
	int w = sl_type_value_width(f);
	const uint8_t *v = c->values.data + i * w;
	if (f->specials && s->d->specials_are_null &&
	    sl_decimal_special_of(v, w) != SL_DECIMAL_FINITE) {
		s->d->specials++;
		return SL_HASH_NULL;
	}
	return sl_hash_bytes(v, (size_t)w);
}

void sl_digest_add_batch(sl_digest *d, const sl_batch *b)
{
	struct sl_digest_scratch s = {{0}, {0}, d};
	for (int64_t r = 0; r < b->length; r++) {
		uint64_t h = 0x9E3779B97F4A7C15ull;
		for (int i = 0; i < b->ncols; i++) {
			const sl_column *c = &b->cols[i];
			sl_mask m = d->masks ? d->masks[i] : SL_MASK_NONE;
			if (m == SL_MASK_NULL) {
				h = sl_mix(h, sl_hash_null(c->field, &s));
			} else if (m == SL_MASK_HASH && sl_col_is_valid(c, r)) {
				char hex[SL_MASK_HEX_LEN + 1];
				sl_mask_value_hex(c, r, d->mask_key, hex);
				h = sl_mix(h, sl_hash_bytes((const uint8_t *)hex, SL_MASK_HEX_LEN));
			} else {
				h = sl_mix(h, sl_hash_value(c, r, &s));
			}
		}
		d->sum += h;
		d->rows++;
	}
	sl_buf_free(&s.json);
	sl_buf_free(&s.work);
}
