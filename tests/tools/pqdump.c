/* pqdump: reads a Parquet file with formats/parquet's reader and prints its rows, one JSON
 * object per row, each value as text in the forms tests/tools/pqgen.c and
 * tests/oracles/check_parquet.mjs use (integers and decimals as digits, floats shortest, dates
 * as days, times and timestamps as integers of their unit, intervals as milliseconds, bytes as
 * upper-case hex, lists as "[a, NULL]").
 *
 * Usage: pqdump FILE.parquet */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/batch.h"
#include "formats/decimal.h"
#include "formats/parquet.h"
#include "json_text.h"

static int read_at(void *ctx, int64_t off, void *dst, size_t n, sl_error *err)
{
	FILE *f = ctx;
	if (fseeko(f, off, SEEK_SET) != 0 || fread(dst, 1, n, f) != n)
		return sl_error_set(err, SL_ERR_IO, "short read at %" PRId64, off);
	return 0;
}

static void put_double(sl_buf *o, double d)
{
	if (isnan(d)) {
		sl_buf_puts(o, signbit(d) ? "-nan" : "nan");
		return;
	}
	if (isinf(d)) {
		sl_buf_puts(o, d < 0 ? "-inf" : "inf");
		return;
	}
	char s[64];
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(s, sizeof s, "%.*g", prec, d);
		/* shortest, in plain notation where DuckDB prints it so */
		if (strtod(s, NULL) == d && (!strchr(s, 'e') || fabs(d) >= 1e16 || fabs(d) < 1e-4))
			break;
	}
	if (!strpbrk(s, ".en"))
		strcat(s, ".0");
	sl_buf_puts(o, s);
}

static void put_float(sl_buf *o, float d)
{
	if (isnan(d) || isinf(d)) {
		put_double(o, d);
		return;
	}
	char s[64];
	for (int prec = 1; prec <= 9; prec++) {
		snprintf(s, sizeof s, "%.*g", prec, (double)d);
		if (strtof(s, NULL) == d &&
		    (!strchr(s, 'e') || fabsf(d) >= 1e16f || fabsf(d) < 1e-4f))
			break;
	}
	if (!strpbrk(s, ".en"))
		strcat(s, ".0");
	sl_buf_puts(o, s);
}

static void put_value(sl_buf *o, const sl_field *f, const sl_column *c, int64_t i)
{
	const uint8_t *v = c->values.data;
	switch (f->type) {
	case SL_TYPE_BOOL:
		sl_buf_puts(o, (v[i >> 3] >> (i & 7)) & 1 ? "true" : "false");
		return;
	case SL_TYPE_INT8:
		sl_buf_printf(o, "%d", (int8_t)v[i]);
		return;
	case SL_TYPE_UINT8:
		sl_buf_printf(o, "%u", v[i]);
		return;
	case SL_TYPE_INT16: {
		int16_t x;
		memcpy(&x, v + i * 2, 2);
		sl_buf_printf(o, "%d", x);
		return;
	}
	case SL_TYPE_UINT16: {
		uint16_t x;
		memcpy(&x, v + i * 2, 2);
		sl_buf_printf(o, "%u", x);
		return;
	}
	case SL_TYPE_INT32:
	case SL_TYPE_DATE32:
	case SL_TYPE_TIME32: {
		int32_t x;
		memcpy(&x, v + i * 4, 4);
		sl_buf_printf(o, "%d", x);
		return;
	}
	case SL_TYPE_UINT32: {
		uint32_t x;
		memcpy(&x, v + i * 4, 4);
		sl_buf_printf(o, "%" PRIu32, x);
		return;
	}
	case SL_TYPE_INT64:
	case SL_TYPE_TIME64:
	case SL_TYPE_TIMESTAMP:
	case SL_TYPE_DATE64: {
		int64_t x;
		memcpy(&x, v + i * 8, 8);
		sl_buf_printf(o, "%" PRId64, x);
		return;
	}
	case SL_TYPE_UINT64: {
		uint64_t x;
		memcpy(&x, v + i * 8, 8);
		sl_buf_printf(o, "%" PRIu64, x);
		return;
	}
	case SL_TYPE_FLOAT32: {
		float x;
		memcpy(&x, v + i * 4, 4);
		put_float(o, x);
		return;
	}
	case SL_TYPE_FLOAT64: {
		double x;
		memcpy(&x, v + i * 8, 8);
		put_double(o, x);
		return;
	}
	case SL_TYPE_DECIMAL128:
	case SL_TYPE_DECIMAL256: {
		int w = f->type == SL_TYPE_DECIMAL128 ? 16 : 32;
		char s[96];
		int n = sl_decimal_to_text(v + i * w, w, f->scale, s);
		sl_buf_append(o, s, (size_t)n);
		return;
	}
	case SL_TYPE_INTERVAL_DT: {
		sl_interval_dt iv;
		memcpy(&iv, v + i * 8, 8);
		sl_buf_printf(o, "%" PRId64, sl_interval_dt_to_ms(iv));
		return;
	}
	case SL_TYPE_UTF8:
	case SL_TYPE_LARGE_UTF8: {
		int32_t n;
		const uint8_t *p = sl_col_bytes(c, i, &n);
		sl_buf_append(o, p, (size_t)n);
		return;
	}
	case SL_TYPE_BINARY:
	case SL_TYPE_LARGE_BINARY:
	case SL_TYPE_FIXED_BINARY: {
		int32_t n = f->byte_width;
		const uint8_t *p =
		        f->type == SL_TYPE_FIXED_BINARY ? v + i * n : sl_col_bytes(c, i, &n);
		for (int32_t k = 0; k < n; k++)
			sl_buf_printf(o, "%02X", p[k]);
		return;
	}
	case SL_TYPE_LIST: {
		const int32_t *off = (const int32_t *)c->offsets.data;
		sl_buf_putc(o, '[');
		for (int32_t k = off[i]; k < off[i + 1]; k++) {
			if (k > off[i])
				sl_buf_puts(o, ", ");
			if (!sl_col_is_valid(c->child, k))
				sl_buf_puts(o, "NULL");
			else
				put_value(o, f->child, c->child, k);
		}
		sl_buf_putc(o, ']');
		return;
	}
	default:
		sl_buf_puts(o, "?");
	}
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: pqdump FILE.parquet\n");
		return 2;
	}
	FILE *f = fopen(argv[1], "rb");
	if (!f) {
		perror(argv[1]);
		return 1;
	}
	fseeko(f, 0, SEEK_END);
	int64_t size = ftello(f);
	sl_error err = {0};
	sl_pq_reader *r;
	if (sl_pq_reader_open(read_at, f, size, &r, &err) < 0) {
		fprintf(stderr, "pqdump: %s\n", err.msg);
		return 1;
	}
	int n;
	const sl_field *fields = sl_pq_reader_fields(r, &n);
	sl_batch *b = sl_batch_create(fields, n);
	sl_buf o = {0};
	for (int g = 0; g < sl_pq_reader_row_groups(r); g++) {
		sl_batch_reset(b);
		if (sl_pq_read_row_group(r, g, b, &err) < 0) {
			fprintf(stderr, "pqdump: %s\n", err.msg);
			return 1;
		}
		for (int64_t i = 0; i < b->length; i++) {
			putchar('{');
			for (int k = 0; k < n; k++) {
				printf("%s\"%s\":", k ? "," : "", fields[k].name);
				if (!sl_col_is_valid(&b->cols[k], i)) {
					fputs("null", stdout);
					continue;
				}
				sl_buf_reset(&o);
				put_value(&o, &fields[k], &b->cols[k], i);
				json_str(stdout, (const char *)o.data, o.len);
			}
			puts("}");
		}
	}
	sl_buf_free(&o);
	sl_batch_destroy(b);
	sl_pq_reader_free(r);
	fclose(f);
	return 0;
}
