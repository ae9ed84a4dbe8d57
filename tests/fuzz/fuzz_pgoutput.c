/* libFuzzer target for the pgoutput decoder (formats/pgoutput.c, the messages of the PostgreSQL
 * source's replication stream): the input as one message, outside and inside a streamed
 * transaction, with one sl_pgo_msg reused across the calls as the source reuses it; every string
 * and value the decoder hands back is read in full (they point into the input). See
 * CMakeLists.txt (fuzz targets) for how to build and run it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "formats/pgoutput.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile size_t sink;

static void touch_str(const char *s)
{
	if (s)
		sink += strlen(s);
}

static void touch_tuple(const sl_pgo_tuple *t)
{
	for (int i = 0; i < t->ncols; i++) {
		const sl_pgo_value *v = &t->values[i];
		if (v->kind == 't' || v->kind == 'b')
			for (int32_t k = 0; k < v->len; k++)
				sink += v->data[k];
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* a copy exactly as long as the input, so a read past it is an ASan report */
	uint8_t *buf = malloc(size ? size : 1);
	if (size)
		memcpy(buf, data, size);
	sl_pgo_msg m = {0};
	sl_error err;
	for (int in_stream = 0; in_stream < 2; in_stream++) {
		if (sl_pgo_decode(buf, size, in_stream, &m, &err) != 0)
			continue;
		touch_str(m.nspname);
		touch_str(m.relname);
		for (int i = 0; i < m.ncolumns; i++)
			touch_str(m.columns[i].name);
		touch_str(m.type_nsp);
		touch_str(m.type_name);
		touch_str(m.prefix);
		touch_str(m.origin_name);
		for (uint32_t k = 0; k < m.content_len; k++)
			sink += m.content[k];
		for (int i = 0; i < m.nrelids; i++)
			sink += m.relids[i];
		touch_tuple(&m.old_tuple);
		touch_tuple(&m.new_tuple);
	}
	sl_pgo_msg_free(&m);
	free(buf);
	return 0;
}
