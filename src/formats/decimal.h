/* Wide decimal arithmetic for Arrow Decimal128 / Decimal256 values.
 *
 * A decimal is an integer N with a scale s, value = N / 10^s, stored as a little-endian two's
 * complement integer of 16 or 32 bytes. Internally we work on sign + 256-bit magnitude. */
#ifndef SL_DECIMAL_H
#define SL_DECIMAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct sl_u256 {
	uint64_t w[4]; /* little-endian limbs */
} sl_u256;

static inline bool sl_u256_is_zero(const sl_u256 *v)
{
	return (v->w[0] | v->w[1] | v->w[2] | v->w[3]) == 0;
}

/* v = v * mul + add; returns -1 when the result does not fit in 256 bits. */
int sl_u256_mul_add(sl_u256 *v, uint32_t mul, uint32_t add);
/* v = v / d; returns the remainder. */
uint32_t sl_u256_divmod(sl_u256 *v, uint32_t d);

/* Load a stored decimal of `width` bytes (16 or 32) into sign + magnitude. */
void sl_decimal_load(const uint8_t *bytes, int width, bool *neg, sl_u256 *mag);
/* Store sign + magnitude; returns -1 when the magnitude does not fit the width. */
int sl_decimal_store(bool neg, const sl_u256 *mag, int width, uint8_t *out);

/* The NaN/Infinity sentinels of core/types.h. */
typedef enum sl_decimal_special {
	SL_DECIMAL_FINITE = 0,
	SL_DECIMAL_NAN,
	SL_DECIMAL_POS_INF,
	SL_DECIMAL_NEG_INF,
} sl_decimal_special;

/* Which sentinel the stored decimal of `width` bytes (16 or 32) is, if any. */
static inline sl_decimal_special sl_decimal_special_of(const uint8_t *v, int width)
{
	uint8_t top = v[width - 1];
	if (top != 0x80 && top != 0x7F)
		return SL_DECIMAL_FINITE; /* the common case: one byte compared */
	uint8_t low = v[0], fill = top == 0x80 ? 0x00 : 0xFF;
	for (int i = 1; i < width - 1; i++)
		if (v[i] != fill)
			return SL_DECIMAL_FINITE;
	if (top == 0x7F)
		return low == 0xFF ? SL_DECIMAL_POS_INF : SL_DECIMAL_FINITE;
	return low == 0x00 ? SL_DECIMAL_NAN : low == 0x01 ? SL_DECIMAL_NEG_INF : SL_DECIMAL_FINITE;
}

/* Store sentinel s (not SL_DECIMAL_FINITE) as a decimal of `width` bytes. */
void sl_decimal_special_store(sl_decimal_special s, int width, uint8_t *out);
/* "NaN", "Infinity", "-Infinity" (PostgreSQL's spelling), or NULL for a finite value. */
const char *sl_decimal_special_name(sl_decimal_special s);

/* Format a stored decimal as plain text ("-12.50"); returns the length written (out needs
 * 82 bytes for Decimal256). */
int sl_decimal_to_text(const uint8_t *bytes, int width, int scale, char *out);
/* Parse "-12.5" into a stored decimal of the given width and scale. Returns 0, or -1 when the
 * text is not a plain decimal, has more fractional digits than `scale` (non-zero ones), or
 * does not fit. */
int sl_decimal_from_text(const char *s, size_t len, int width, int scale, uint8_t *out);

#endif
