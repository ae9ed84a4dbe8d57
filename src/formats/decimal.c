/* Wide decimal arithmetic: schoolbook multiply/divide by small numbers on 64-bit limbs. */
#include "formats/decimal.h"

#include <string.h>

int sl_u256_mul_add(sl_u256 *v, uint32_t mul, uint32_t add)
{
	unsigned __int128 carry = add;
	for (int i = 0; i < 4; i++) {
		unsigned __int128 t = (unsigned __int128)v->w[i] * mul + carry;
		v->w[i] = (uint64_t)t;
		carry = t >> 64;
	}
	return carry ? -1 : 0;
}

uint32_t sl_u256_divmod(sl_u256 *v, uint32_t d)
{
	unsigned __int128 rem = 0;
	for (int i = 3; i >= 0; i--) {
		unsigned __int128 cur = (rem << 64) | v->w[i];
		v->w[i] = (uint64_t)(cur / d);
		rem = cur % d;
	}
	return (uint32_t)rem;
}

static void sl_u256_negate(sl_u256 *v)
{
	unsigned __int128 carry = 1;
	for (int i = 0; i < 4; i++) {
		unsigned __int128 t = (unsigned __int128)(~v->w[i]) + carry;
		v->w[i] = (uint64_t)t;
		carry = t >> 64;
	}
}

void sl_decimal_load(const uint8_t *bytes, int width, bool *neg, sl_u256 *mag)
{
	int limbs = width / 8;
	memset(mag, 0, sizeof *mag);
	memcpy(mag->w, bytes, (size_t)width);
	*neg = (mag->w[limbs - 1] >> 63) != 0;
	if (*neg) {
		for (int i = limbs; i < 4; i++)
			mag->w[i] = ~(uint64_t)0;
		sl_u256_negate(mag);
	}
}

int sl_decimal_store(bool neg, const sl_u256 *mag, int width, uint8_t *out)
{
	int limbs = width / 8;
	for (int i = limbs; i < 4; i++)
		if (mag->w[i] != 0)
			return -1;
	uint64_t top = mag->w[limbs - 1];
	bool all_lower_zero = true;
	for (int i = 0; i < limbs - 1; i++)
		all_lower_zero = all_lower_zero && mag->w[i] == 0;
	/* magnitude must be < 2^(bits-1), or == 2^(bits-1) for a negative value */
	if ((top >> 63) && !(neg && top == (1ull << 63) && all_lower_zero))
		return -1;
	sl_u256 v = *mag;
	if (neg)
		sl_u256_negate(&v);
	memcpy(out, v.w, (size_t)width);
	return 0;
}

void sl_decimal_special_store(sl_decimal_special s, int width, uint8_t *out)
{
	bool pos = s == SL_DECIMAL_POS_INF;
	memset(out, pos ? 0xFF : 0x00, (size_t)width);
	out[width - 1] = pos ? 0x7F : 0x80;
	if (s == SL_DECIMAL_NEG_INF)
		out[0] = 0x01;
}

const char *sl_decimal_special_name(sl_decimal_special s)
{
	switch (s) {
	case SL_DECIMAL_NAN:
		return "NaN";
	case SL_DECIMAL_POS_INF:
		return "Infinity";
	case SL_DECIMAL_NEG_INF:
		return "-Infinity";
	default:
		return NULL;
	}
}

int sl_decimal_to_text(const uint8_t *bytes, int width, int scale, char *out)
{
	bool neg;
	sl_u256 mag;
	sl_decimal_load(bytes, width, &neg, &mag);
	char digits[100];
	int n = 0;
	do {
		digits[n++] = (char)('0' + sl_u256_divmod(&mag, 10));
	} while (!sl_u256_is_zero(&mag));
	while (n <= scale)
		digits[n++] = '0';
	int len = 0;
	if (neg)
		out[len++] = '-';
	for (int i = n - 1; i >= 0; i--) {
		out[len++] = digits[i];
		if (i == scale && scale > 0)
			out[len++] = '.';
	}
	out[len] = '\0';
	return len;
}

int sl_decimal_from_text(const char *s, size_t len, int width, int scale, uint8_t *out)
{
	size_t i = 0;
	bool neg = false;
	if (i < len && (s[i] == '-' || s[i] == '+'))
		neg = s[i++] == '-';
	sl_u256 mag = {{0, 0, 0, 0}};
	int frac = -1, ndigits = 0;
	for (; i < len; i++) {
		char c = s[i];
		if (c == '.' && frac < 0) {
			frac = 0;
			continue;
		}
		if (c < '0' || c > '9')
			return -1;
		ndigits++;
		if (frac >= 0) {
			if (frac >= scale) {
				if (c != '0')
					return -1;
				continue;
			}
			frac++;
		}
		if (sl_u256_mul_add(&mag, 10, (uint32_t)(c - '0')) < 0)
			return -1;
	}
	if (ndigits == 0)
		return -1;
	for (int f = frac < 0 ? 0 : frac; f < scale; f++)
		if (sl_u256_mul_add(&mag, 10, 0) < 0)
			return -1;
	return sl_decimal_store(neg && !sl_u256_is_zero(&mag), &mag, width, out);
}
