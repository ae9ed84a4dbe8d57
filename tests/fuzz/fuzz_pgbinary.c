/* libFuzzer target for the PostgreSQL binary COPY decoder (formats/pgbinary.c): the first byte
 * gives the column count (1-4), the next bytes each column's shape (pg_columns.h), the rest is a
 * COPY stream (a header when it starts with the signature, then tuples) decoded to its end; the
 * decoded rows are then encoded again. Also the rest as one field of the first column's kind, and
 * as numeric. See CMakeLists.txt (fuzz targets) for how to build and run it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/batch.h"
#include "core/buf.h"
#include "formats/pgbinary.h"
#include "pg_columns.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	int n = data[0] % 4 + 1;
	if (size < (size_t)(1 + n))
		return 0;
	sl_field f[4];
	sl_pg_codec c[4];
	for (int i = 0; i < n; i++)
		fz_column(data[1 + i], &f[i], &c[i]);
	const uint8_t *p = data + 1 + n;
	size_t len = size - 1 - (size_t)n;
	sl_error err;

	/* one field */
	sl_batch *b = sl_batch_create(f, n);
	sl_pg_decode_field(&c[0], &b->cols[0], p, (int32_t)len, &err);
	sl_batch_destroy(b);
	sl_buf txt = {0};
	sl_pg_numeric_to_text(p, len, &txt, &err);
	sl_buf_free(&txt);

	/* a stream of tuples */
	b = sl_batch_create(f, n);
	size_t pos = 0;
	int h = sl_pgcopy_parse_header(p, len, &err);
	if (h > 0)
		pos = (size_t)h;
	int trailer = 0, ok = 1;
	while (pos < len && !trailer) {
		int used = sl_pgcopy_decode_tuple(c, p + pos, len - pos, b, &trailer, &err);
		if (used <= 0) {
			ok = used == 0;
			break;
		}
		pos += (size_t)used;
	}
	if (ok && sl_batch_is_consistent(b)) {
		sl_buf out = {0};
		sl_pgcopy_write_header(&out);
		sl_pgcopy_encode_rows(c, b, 0, b->length, &out, &err);
		sl_pgcopy_write_trailer(&out);
		sl_buf_free(&out);
	}
	sl_batch_destroy(b);
	for (int i = 0; i < n; i++)
		sl_field_reset(&f[i]);
	return 0;
}
