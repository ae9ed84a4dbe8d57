/* Row hashing for verify: a 64-bit multiply-xorshift mix over each value's bytes. */
#include "core/digest.h"

#include <string.h>

#define SL_MIX_K 0x9E3779B97F4A7C15ull

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

static uint64_t sl_hash_value(const sl_column *c, int64_t i)
{
	if (!sl_col_is_valid(c, i))
		return 0x6E756C6C6E756C6Cull; /* "nullnull" */
	const sl_field *f = c->field;
	if (f->type == SL_TYPE_BOOL)
		return sl_col_bool(c, i) ? 0x1111 : 0x2222;
	if (f->type == SL_TYPE_LIST) {
		const int32_t *off = (const int32_t *)c->offsets.data;
		uint64_t h = sl_mix(0x4C495354ull, (uint64_t)(off[i + 1] - off[i]));
		for (int32_t k = off[i]; k < off[i + 1]; k++)
			h = sl_mix(h, sl_hash_value(c->child, k));
		return h;
	}
	if (sl_type_is_var_width(f->type)) {
		int32_t n;
		const uint8_t *p = sl_col_bytes(c, i, &n);
		return sl_hash_bytes(p, (size_t)n);
	}
	int w = sl_type_value_width(f);
	return sl_hash_bytes(c->values.data + i * w, (size_t)w);
}

void sl_digest_add_batch(sl_digest *d, const sl_batch *b)
{
	for (int64_t r = 0; r < b->length; r++) {
		uint64_t h = 0x9E3779B97F4A7C15ull;
		for (int i = 0; i < b->ncols; i++)
			h = sl_mix(h, sl_hash_value(&b->cols[i], r));
		d->sum += h;
		d->rows++;
	}
}
