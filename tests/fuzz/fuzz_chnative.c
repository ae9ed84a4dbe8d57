/* libFuzzer target for the ClickHouse Native decoder (formats/chnative.c, what verify reads back
 * from a ClickHouse target): the first byte picks the Arrow field (and so the ClickHouse type
 * and codec), the second whether it is nullable and the server's capabilities (18.16 or 24.3);
 * the rest is a Native stream whose blocks' columns are decoded (or skipped, every second one)
 * until it ends or fails. See CMakeLists.txt (fuzz targets) for how to build and run it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/batch.h"
#include "formats/chnative.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct {
	sl_type_id t;
	sl_time_unit unit;
	int precision, scale;
	sl_type_id elem;
} fields[] = {
        {SL_TYPE_INT32, 0, 0, 0, 0},
        {SL_TYPE_INT64, 0, 0, 0, 0},
        {SL_TYPE_UINT8, 0, 0, 0, 0},
        {SL_TYPE_UINT64, 0, 0, 0, 0},
        {SL_TYPE_FLOAT16, 0, 0, 0, 0},
        {SL_TYPE_FLOAT32, 0, 0, 0, 0},
        {SL_TYPE_FLOAT64, 0, 0, 0, 0},
        {SL_TYPE_BOOL, 0, 0, 0, 0},
        {SL_TYPE_DATE32, 0, 0, 0, 0},
        {SL_TYPE_TIMESTAMP, SL_UNIT_US, 0, 0, 0},
        {SL_TYPE_TIMESTAMP, SL_UNIT_NS, 0, 0, 0},
        {SL_TYPE_TIMESTAMP, SL_UNIT_S, 0, 0, 0},
        {SL_TYPE_TIME64, SL_UNIT_US, 0, 0, 0},
        {SL_TYPE_DECIMAL128, 0, 9, 2, 0},
        {SL_TYPE_DECIMAL128, 0, 18, 4, 0},
        {SL_TYPE_DECIMAL128, 0, 38, 10, 0},
        {SL_TYPE_DECIMAL256, 0, 76, 20, 0},
        {SL_TYPE_UTF8, 0, 0, 0, 0},
        {SL_TYPE_BINARY, 0, 0, 0, 0},
        {SL_TYPE_INTERVAL_DT, 0, 0, 0, 0},
        {SL_TYPE_LIST, 0, 0, 0, SL_TYPE_INT32},
        {SL_TYPE_LIST, 0, 0, 0, SL_TYPE_UTF8},
        {SL_TYPE_LIST, 0, 0, 0, SL_TYPE_DECIMAL128},
};
#define NFIELDS ((int)(sizeof fields / sizeof *fields))

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	int pick = data[0] % NFIELDS;
	sl_field f;
	sl_field_init(&f, "c", fields[pick].t);
	f.unit = fields[pick].unit;
	f.precision = fields[pick].precision;
	f.scale = fields[pick].scale;
	f.nullable = data[1] & 1;
	if (f.type == SL_TYPE_TIMESTAMP)
		f.tz = strdup("UTC");
	if (f.type == SL_TYPE_LIST) {
		sl_field *e = malloc(sizeof *e);
		sl_field_init(e, "item", fields[pick].elem);
		e->precision = 20;
		e->scale = 5;
		e->nullable = data[1] & 4;
		sl_field_set_child(&f, e);
	}
	sl_ch_caps caps;
	sl_ch_caps_for_version(data[1] & 2 ? "24.3" : "18.16.1", &caps);
	char type[128];
	sl_ch_codec codec = {0};
	if (sl_ch_type_for_field(&f, &caps, type, sizeof type, &codec)) {
		/* a copy exactly as long as the input, so a read past it is an ASan report */
		size_t len = size - 2;
		uint8_t *buf = malloc(len ? len : 1);
		if (len)
			memcpy(buf, data + 2, len);
		sl_ch_reader r = {buf, buf + len};
		sl_batch *b = sl_batch_create(&f, 1);
		sl_error err;
		int ncols, rc = 0;
		int64_t nrows;
		while (rc == 0 && sl_ch_block_next(&r, &ncols, &nrows, &err) == 1) {
			for (int i = 0; i < ncols && rc == 0; i++)
				rc = i % 2 ? sl_ch_skip_column(&r, nrows, &err)
				           : sl_ch_decode_column(&r, &codec, "c", type, nrows,
				                                 &b->cols[0], &err);
		}
		sl_batch_destroy(b);
		free(buf);
	}
	sl_ch_codec_reset(&codec);
	sl_field_reset(&f);
	return 0;
}
