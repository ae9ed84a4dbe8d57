/* libFuzzer target for buffer segments (core/segment.c: what the buffer's target side reads
 * back from a store anyone with access to the bucket could have changed): the input as a whole
 * segment, its footer read, then every record checked and decoded as core/buffer.c does, each
 * message's values read in full. See CMakeLists.txt (fuzz targets). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/segment.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile size_t sink;

static void touch(const sl_column *c)
{
	for (size_t i = 0; i < c->values.len; i++)
		sink += c->values.data[i];
	for (size_t i = 0; i < c->validity.len; i++)
		sink += c->validity.data[i];
	for (int64_t i = 0; i < c->length && c->offsets.len; i++) {
		int32_t len;
		const uint8_t *p = sl_col_bytes(c, i, &len);
		if (c->child == NULL && len > 0)
			sink += p[len - 1];
	}
	if (c->child)
		touch(c->child);
}

static sl_field fields[1];
static sl_table_def def;
static sl_catalog cat;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (cat.ntables == 0) {
		sl_field_init(&fields[0], "id", SL_TYPE_INT64);
		def.schema = "s";
		def.name = "t";
		def.qualified = "s.t";
		def.fields = fields;
		def.nfields = 1;
		cat.tables = &def;
		cat.ntables = 1;
	}
	/* a copy exactly as long as the input, so a read past it is an ASan report */
	uint8_t *buf = malloc(size ? size : 1);
	if (size)
		memcpy(buf, data, size);
	sl_error err;
	sl_seg_footer f;
	uint64_t need = 0;
	if (size >= 8 && memcmp(buf, SL_SEG_MAGIC, 8) == 0 &&
	    sl_seg_footer_read(buf, size, size, "fuzz", &f, &need, &err) == 0) {
		sl_seg_reader *r = sl_seg_reader_new(&cat);
		size_t at = 8;
		while (at + SL_SEG_RECORD_HEAD <= f.offset) {
			char kind;
			uint32_t len, crc;
			sl_seg_record_head(buf + at, &kind, &len, &crc);
			at += SL_SEG_RECORD_HEAD;
			/* the CRC is not checked: a record that matches its CRC by design or chance
			 * must decode safely too, and the fuzzer gets past it */
			(void)crc;
			if (len > f.offset - at)
				break;
			sl_msg *out[2];
			int n = 0;
			int rc = sl_seg_decode(r, kind, buf + at, len, "fuzz", out, &n, &err);
			at += len;
			for (int i = 0; i < n; i++) {
				if (out[i]->changes)
					for (int c = 0; c < out[i]->changes->rows->ncols; c++)
						touch(&out[i]->changes->rows->cols[c]);
				sl_msg_free(out[i]);
			}
			if (rc < 0)
				break;
		}
		sl_seg_reader_free(r);
		sl_seg_footer_free(&f);
	}
	free(buf);
	return 0;
}
