/* pqgen: writes a Parquet file of every Arrow type sluice produces, and beside it the values as
 * text (one JSON object per row), for tests/oracles/check_parquet.mjs to read the file with
 * independent readers and compare value by value.
 *
 * Usage: pqgen OUT.parquet OUT.jsonl ROWS CODEC(none|snappy|zstd) PAGE_VERSION(1|2)
 *        [DICTIONARY_BYTES]
 *
 * The values are generated from the row number; their text is written from the same numbers by
 * plain C formatting, not from anything the Parquet writer produced. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/batch.h"
#include "formats/decimal.h"
#include "formats/parquet.h"
#include "json_text.h"

enum {
	C_RID,
	C_B,
	C_I8,
	C_I16,
	C_I32,
	C_I64,
	C_U8,
	C_U16,
	C_U32,
	C_U64,
	C_F32,
	C_F64,
	C_D5,
	C_D15,
	C_D30,
	C_D50,
	C_DT,
	C_T,
	C_TS,
	C_TSTZ,
	C_TSMS,
	C_TSNS,
	C_IV,
	C_S,
	C_J,
	C_BIN,
	C_FX,
	C_LI,
	C_LS,
	NCOLS
};

static const char *names[NCOLS] = {"rid", "b",   "i8",  "i16",  "i32",  "i64",  "u8",  "u16",
                                   "u32", "u64", "f32", "f64",  "d5",   "d15",  "d30", "d50",
                                   "dt",  "t",   "ts",  "tstz", "tsms", "tsns", "iv",  "s",
                                   "j",   "bin", "fx",  "li",   "ls"};

static int write_file(void *ctx, const void *p, size_t n, sl_error *err)
{
	if (fwrite(p, 1, n, ctx) != n)
		return sl_error_set(err, SL_ERR_IO, "write failed");
	return 0;
}

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	return x;
}

/* A decimal of `width` bytes from a signed 64-bit unscaled value times 10^k. */
static void dec_store(int64_t unscaled, int mul_pow10, int width, uint8_t *out, char *text,
                      int scale)
{
	char digits[128];
	int n = snprintf(digits, sizeof digits, "%" PRId64, unscaled);
	for (int k = 0; k < mul_pow10; k++)
		digits[n++] = '0';
	digits[n] = 0;
	/* the text: digits with the point `scale` from the right */
	const char *mag = digits[0] == '-' ? digits + 1 : digits;
	int len = (int)strlen(mag);
	char buf[160];
	int o = 0;
	if (digits[0] == '-')
		buf[o++] = '-';
	if (len <= scale) {
		buf[o++] = '0';
		buf[o++] = '.';
		for (int k = 0; k < scale - len; k++)
			buf[o++] = '0';
		memcpy(buf + o, mag, (size_t)len);
		o += len;
	} else {
		memcpy(buf + o, mag, (size_t)(len - scale));
		o += len - scale;
		if (scale) {
			buf[o++] = '.';
			memcpy(buf + o, mag + len - scale, (size_t)scale);
			o += scale;
		}
	}
	buf[o] = 0;
	strcpy(text, buf);
	if (sl_decimal_from_text(buf, (size_t)o, width, scale, out) != 0) {
		fprintf(stderr, "pqgen: decimal %s does not fit\n", buf);
		exit(1);
	}
}

int main(int argc, char **argv)
{
	if (argc < 6) {
		fprintf(stderr, "usage: pqgen OUT.parquet OUT.jsonl ROWS CODEC PAGE_VERSION "
		                "[DICT_BYTES]\n");
		return 2;
	}
	int64_t rows = atoll(argv[3]);
	sl_pq_options o = {0};
	o.codec = strcmp(argv[4], "snappy") == 0 ? SL_PQ_SNAPPY
	          : strcmp(argv[4], "zstd") == 0 ? SL_PQ_ZSTD
	                                         : SL_PQ_UNCOMPRESSED;
	o.page_version = atoi(argv[5]);
	o.page_bytes = 8192; /* many pages and row groups even in a small file */
	o.row_group_bytes = 200000;
	if (argc > 6)
		o.dictionary_bytes = (size_t)atoll(argv[6]);

	sl_field f[NCOLS];
	static const sl_type_id types[NCOLS] = {
	        SL_TYPE_INT64,      SL_TYPE_BOOL,       SL_TYPE_INT8,         SL_TYPE_INT16,
	        SL_TYPE_INT32,      SL_TYPE_INT64,      SL_TYPE_UINT8,        SL_TYPE_UINT16,
	        SL_TYPE_UINT32,     SL_TYPE_UINT64,     SL_TYPE_FLOAT32,      SL_TYPE_FLOAT64,
	        SL_TYPE_DECIMAL128, SL_TYPE_DECIMAL128, SL_TYPE_DECIMAL128,   SL_TYPE_DECIMAL256,
	        SL_TYPE_DATE32,     SL_TYPE_TIME64,     SL_TYPE_TIMESTAMP,    SL_TYPE_TIMESTAMP,
	        SL_TYPE_TIMESTAMP,  SL_TYPE_TIMESTAMP,  SL_TYPE_INTERVAL_DT,  SL_TYPE_UTF8,
	        SL_TYPE_UTF8,       SL_TYPE_BINARY,     SL_TYPE_FIXED_BINARY, SL_TYPE_LIST,
	        SL_TYPE_LIST};
	for (int i = 0; i < NCOLS; i++) {
		sl_field_init(&f[i], names[i], types[i]);
		f[i].nullable = i != C_RID;
	}
	f[C_D5].precision = 5, f[C_D5].scale = 2;
	f[C_D15].precision = 15, f[C_D15].scale = 3;
	f[C_D30].precision = 30, f[C_D30].scale = 10, f[C_D30].specials = true;
	f[C_D50].precision = 50, f[C_D50].scale = 5;
	f[C_T].unit = SL_UNIT_US;
	f[C_TS].unit = SL_UNIT_US;
	f[C_TSTZ].unit = SL_UNIT_US;
	f[C_TSTZ].tz = strdup("UTC");
	f[C_TSMS].unit = SL_UNIT_MS;
	f[C_TSNS].unit = SL_UNIT_NS;
	f[C_J].ext_name = strdup("arrow.json");
	f[C_FX].byte_width = 4;
	for (int i = C_LI; i <= C_LS; i++) {
		sl_field *el = calloc(1, sizeof *el);
		sl_field_init(el, "element", i == C_LI ? SL_TYPE_INT32 : SL_TYPE_UTF8);
		el->nullable = true;
		sl_field_set_child(&f[i], el);
	}

	FILE *pf = fopen(argv[1], "wb"), *jf = fopen(argv[2], "w");
	if (!pf || !jf) {
		perror("pqgen");
		return 1;
	}
	sl_error err = {0};
	sl_pq_writer *w;
	if (sl_pq_writer_new(f, NCOLS, &o, write_file, pf, &w, &err) < 0) {
		fprintf(stderr, "pqgen: %s\n", err.msg);
		return 1;
	}
	sl_batch *b = sl_batch_create(f, NCOLS);
	for (int64_t r = 0; r < rows; r++) {
		uint64_t h = mix((uint64_t)r + 1);
		int64_t k = (int64_t)(h % 2001) - 1000; /* a small signed number */
		char text[NCOLS][256];
		bool null[NCOLS] = {0};
		for (int i = 1; i < NCOLS; i++)
			null[i] = (mix(h + (uint64_t)i) % 11) == 0;
		sl_col_append_i64(&b->cols[C_RID], r);
		snprintf(text[C_RID], 256, "%" PRId64, r);
#define FIXED(col, ctype, val, fmt)                                                                \
	do {                                                                                       \
		if (null[col]) {                                                                   \
			sl_col_append_null(&b->cols[col]);                                         \
		} else {                                                                           \
			ctype v_ = (ctype)(val);                                                   \
			sl_col_append_fixed(&b->cols[col], &v_, sizeof v_);                        \
			snprintf(text[col], 256, fmt, v_);                                         \
		}                                                                                  \
	} while (0)
		if (null[C_B]) {
			sl_col_append_null(&b->cols[C_B]);
		} else {
			sl_col_append_bool(&b->cols[C_B], h & 1);
			strcpy(text[C_B], h & 1 ? "true" : "false");
		}
		/* extremes every so often */
		bool ext = r % 97 == 3;
		FIXED(C_I8, int8_t, ext ? INT8_MIN : k % 128, "%d");
		FIXED(C_I16, int16_t, ext ? INT16_MAX : k * 30, "%d");
		FIXED(C_I32, int32_t, ext ? INT32_MIN : k * 100000, "%d");
		FIXED(C_I64, int64_t, ext ? INT64_MAX : (int64_t)h >> 3, "%" PRId64);
		FIXED(C_U8, uint8_t, ext ? 255 : h % 200, "%u");
		FIXED(C_U16, uint16_t, ext ? 65535 : h % 60000, "%u");
		FIXED(C_U32, uint32_t, ext ? UINT32_MAX : (uint32_t)(h >> 7), "%" PRIu32);
		FIXED(C_U64, uint64_t, ext ? UINT64_MAX : h, "%" PRIu64);
		FIXED(C_F32, float, (float)k + 0.5f, "%.1f");
		FIXED(C_F64, double, (double)k * 2.0 - 0.25, "%.2f");
		if (!null[C_F64] && r % 101 == 5) { /* the specials */
			double sp[] = {INFINITY, -INFINITY, NAN};
			const char *spt[] = {"inf", "-inf", "nan"};
			int which = (int)(r / 101 % 3);
			memcpy(b->cols[C_F64].values.data + (b->cols[C_F64].length - 1) * 8,
			       &sp[which], 8);
			strcpy(text[C_F64], spt[which]);
		}
		uint8_t dec[32];
		if (null[C_D5]) {
			sl_col_append_null(&b->cols[C_D5]);
		} else {
			dec_store(ext ? 99999 : k * 7, 0, 16, dec, text[C_D5], 2);
			sl_col_append_fixed(&b->cols[C_D5], dec, 16);
		}
		if (null[C_D15]) {
			sl_col_append_null(&b->cols[C_D15]);
		} else {
			dec_store(ext ? -999999999999999LL : (int64_t)(h % 1000000000000LL) - 5, 0,
			          16, dec, text[C_D15], 3);
			sl_col_append_fixed(&b->cols[C_D15], dec, 16);
		}
		if (null[C_D30]) {
			sl_col_append_null(&b->cols[C_D30]);
		} else if (r % 89 == 7) { /* NaN lands as NULL */
			sl_decimal_special_store(SL_DECIMAL_NAN, 16, dec);
			sl_col_append_fixed(&b->cols[C_D30], dec, 16);
			null[C_D30] = true;
		} else {
			dec_store((int64_t)(h >> 2) * (k < 0 ? -1 : 1), ext ? 11 : 4, 16, dec,
			          text[C_D30], 10);
			sl_col_append_fixed(&b->cols[C_D30], dec, 16);
		}
		if (null[C_D50]) {
			sl_col_append_null(&b->cols[C_D50]);
		} else {
			dec_store((int64_t)(h >> 1) * (k < 0 ? -1 : 1), ext ? 26 : 3, 32, dec,
			          text[C_D50], 5);
			sl_col_append_fixed(&b->cols[C_D50], dec, 32);
		}
		FIXED(C_DT, int32_t, ext ? -719162 : k * 40, "%d"); /* 0001-01-01 */
		FIXED(C_T, int64_t, (int64_t)(h % 86400000000ULL), "%" PRId64);
		FIXED(C_TS, int64_t, (int64_t)(h % 4000000000000000ULL) - 1000000000000000LL,
		      "%" PRId64);
		FIXED(C_TSTZ, int64_t, (int64_t)(h % 3000000000000000ULL), "%" PRId64);
		FIXED(C_TSMS, int64_t, (int64_t)(h % 3000000000000ULL) - 1000000000000LL,
		      "%" PRId64);
		FIXED(C_TSNS, int64_t, (int64_t)(h >> 2), "%" PRId64);
		if (null[C_IV]) {
			sl_col_append_null(&b->cols[C_IV]);
		} else {
			sl_interval_dt iv;
			sl_interval_dt_from_ms(k * 90061001LL, &iv); /* 1 day 1:01:01.001 steps */
			sl_col_append_fixed(&b->cols[C_IV], &iv, 8);
			snprintf(text[C_IV], 256, "%lld", (long long)(k * 90061001LL));
		}
		static const char *words[] = {
		        "",
		        "a",
		        "héllo ☃",
		        "quote\"back\\slash",
		        "tab\tnl\n",
		        "long-long-long-long-long-long-long-long-long-long-long-"
		        "long-long-long-long-long-long-long-long-long"};
		const char *s = words[h % 6];
		char sbuf[200];
		if (r % 3 == 0) { /* many distinct values: the dictionary falls back */
			snprintf(sbuf, sizeof sbuf, "%s-%" PRIu64, s, h);
			s = sbuf;
		}
		if (null[C_S]) {
			sl_col_append_null(&b->cols[C_S]);
		} else {
			sl_col_append_bytes(&b->cols[C_S], s, strlen(s));
			snprintf(text[C_S], 256, "%s", s);
		}
		if (null[C_J]) {
			sl_col_append_null(&b->cols[C_J]);
		} else {
			char js[64];
			int n = snprintf(js, sizeof js, "{\"k\":%lld}", (long long)k);
			sl_col_append_bytes(&b->cols[C_J], js, (size_t)n);
			strcpy(text[C_J], js);
		}
		uint8_t raw[8];
		for (int q = 0; q < 8; q++)
			raw[q] = (uint8_t)(h >> (8 * q));
		if (null[C_BIN]) {
			sl_col_append_null(&b->cols[C_BIN]);
		} else {
			int n = (int)(h % 9);
			sl_col_append_bytes(&b->cols[C_BIN], raw, (size_t)n);
			for (int q = 0; q < n; q++)
				sprintf(text[C_BIN] + 2 * q, "%02X", raw[q]);
			text[C_BIN][2 * n] = 0;
		}
		if (null[C_FX]) {
			sl_col_append_null(&b->cols[C_FX]);
		} else {
			sl_col_append_fixed(&b->cols[C_FX], raw, 4);
			for (int q = 0; q < 4; q++)
				sprintf(text[C_FX] + 2 * q, "%02X", raw[q]);
		}
		/* lists: NULL, empty, or up to 4 elements some of them NULL */
		for (int c = C_LI; c <= C_LS; c++) {
			if (null[c]) {
				sl_col_append_null(&b->cols[c]);
				continue;
			}
			int n = (int)(mix(h + (uint64_t)c * 7) % 5);
			int o2 = snprintf(text[c], 256, "[");
			for (int e = 0; e < n; e++) {
				bool en = mix(h + (uint64_t)e * 13 + (uint64_t)c) % 6 == 0;
				o2 += snprintf(text[c] + o2, (size_t)(256 - o2), "%s",
				               e ? ", " : "");
				if (en) {
					sl_col_append_null(b->cols[c].child);
					o2 += snprintf(text[c] + o2, (size_t)(256 - o2), "NULL");
				} else if (c == C_LI) {
					int32_t v = (int32_t)(k * 3 + e);
					sl_col_append_i32(b->cols[c].child, v);
					o2 += snprintf(text[c] + o2, (size_t)(256 - o2), "%d", v);
				} else {
					char ev[32];
					int en2 = snprintf(ev, sizeof ev, "e%d-%lld", e,
					                   (long long)(k % 5));
					sl_col_append_bytes(b->cols[c].child, ev, (size_t)en2);
					o2 += snprintf(text[c] + o2, (size_t)(256 - o2), "%s", ev);
				}
			}
			snprintf(text[c] + o2, (size_t)(256 - o2), "]");
			sl_col_end_list(&b->cols[c]);
		}
		sl_batch_end_row(b);
		fputc('{', jf);
		for (int i = 0; i < NCOLS; i++) {
			fprintf(jf, "%s\"%s\":", i ? "," : "", names[i]);
			if (null[i])
				fputs("null", jf);
			else
				json_str(jf, text[i], strlen(text[i]));
		}
		fputs("}\n", jf);
		if (b->length == 1000 || r == rows - 1) {
			if (sl_pq_write(w, b, &err) < 0) {
				fprintf(stderr, "pqgen: %s\n", err.msg);
				return 1;
			}
			sl_batch_reset(b);
		}
	}
	if (sl_pq_finish(w, &err) < 0) {
		fprintf(stderr, "pqgen: %s\n", err.msg);
		return 1;
	}
	sl_pq_writer_free(w);
	sl_batch_destroy(b);
	for (int i = 0; i < NCOLS; i++)
		sl_field_reset(&f[i]);
	fclose(pf);
	fclose(jf);
	return 0;
}
