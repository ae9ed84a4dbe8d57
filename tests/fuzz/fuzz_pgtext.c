/* libFuzzer target for the PostgreSQL text-form decoder (formats/pgtypes.c, what the CDC path
 * reads from pgoutput 't' values): the first byte picks the column shape (pg_columns.h), the
 * second the text flags (inet, range forms), the rest is the value's text. See CMakeLists.txt
 * (fuzz targets) for how to build and run it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/batch.h"
#include "formats/pgtypes.h"
#include "pg_columns.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	sl_field f;
	sl_pg_codec c;
	fz_column(data[0], &f, &c);
	unsigned flags = data[1] & 31u;
	const char *s = (const char *)data + 2;
	size_t len = size - 2;
	sl_error err;
	sl_pg_text_buf tb = {0};
	sl_batch *b = sl_batch_create(&f, 1);
	sl_pg_decode_text(&c, &b->cols[0], s, len, flags, &tb, &err);
	sl_batch_destroy(b);
	sl_buf out = {0}, tmp = {0};
	sl_pg_text_to_binary(&c, s, len, flags, &out, &tmp, &err);
	sl_buf_free(&out);
	sl_buf_free(&tmp);
	sl_pg_text_buf_free(&tb);
	sl_field_reset(&f);
	return 0;
}
