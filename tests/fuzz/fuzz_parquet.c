/* libFuzzer target for the Parquet reader (formats/parquet_read.c: the files of the files
 * target, verify and the buffer): the input as a whole file, opened, and every row group read
 * into a batch whose values are then read in full. See CMakeLists.txt (fuzz targets). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/batch.h"
#include "formats/parquet.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile size_t sink;

struct mem {
	const uint8_t *p;
	size_t n;
};

static int mem_read(void *ctx, int64_t off, void *dst, size_t n, sl_error *err)
{
	struct mem *m = ctx;
	if (off < 0 || (uint64_t)off > m->n || n > m->n - (size_t)off)
		return sl_error_set(err, SL_ERR_IO, "read past the end");
	memcpy(dst, m->p + off, n);
	return 0;
}

static void touch(const sl_column *c)
{
	for (size_t i = 0; i < c->values.len; i++)
		sink += c->values.data[i];
	for (size_t i = 0; i < c->validity.len; i++)
		sink += c->validity.data[i];
	if (c->child)
		touch(c->child);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* a copy exactly as long as the input, so a read past it is an ASan report */
	uint8_t *buf = malloc(size ? size : 1);
	if (size)
		memcpy(buf, data, size);
	struct mem m = {buf, size};
	sl_error err;
	sl_pq_reader *r;
	if (sl_pq_reader_open(mem_read, &m, (int64_t)size, &r, &err) == 0) {
		int n;
		const sl_field *f = sl_pq_reader_fields(r, &n);
		sl_batch *b = sl_batch_create(f, n);
		for (int g = 0; g < sl_pq_reader_row_groups(r); g++) {
			sl_batch_reset(b);
			if (sl_pq_read_row_group(r, g, b, &err) == 0)
				for (int i = 0; i < n; i++)
					touch(&b->cols[i]);
		}
		sl_batch_destroy(b);
		sl_pq_reader_free(r);
	}
	free(buf);
	return 0;
}
