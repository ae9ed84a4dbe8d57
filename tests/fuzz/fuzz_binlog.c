/* libFuzzer target for the binlog decoder (formats/binlog.c): arbitrary bytes as a whole event,
 * as a TABLE_MAP body followed by the rows body decoded against it, as MySQL binary JSON, and as
 * GTID set text of both flavours. Build: cmake -S . -B build-fuzz -DSLUICE_FUZZ=ON
 * -DCMAKE_C_COMPILER=clang && cmake --build build-fuzz --target fuzz_binlog, then
 * ./build-fuzz/fuzz_binlog -max_total_time=300. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "formats/binlog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sl_error err;
	sl_binlog_format fmt;
	sl_binlog_format_default(&fmt);
	if (size > 0 && (data[0] & 1))
		fmt.checksum = true;

	/* a whole event */
	sl_binlog_header h;
	const uint8_t *body;
	size_t blen;
	if (sl_binlog_event(&fmt, data, size, &h, &body, &blen, &err) == 0) {
		sl_binlog_query q;
		sl_binlog_rotate r;
		sl_binlog_mariadb_gtid g;
		sl_binlog_parse_query(&fmt, body, blen, &q, &err);
		sl_binlog_parse_rotate(body, blen, &r, &err);
		sl_binlog_parse_mariadb_gtid(body, blen, &g, &err);
	}
	sl_binlog_format f2;
	sl_binlog_parse_fde(data, size, &f2, &err);

	/* TABLE_MAP body (length in the first two bytes), then a rows event against it */
	if (size >= 3) {
		size_t tl = ((size_t)data[1] << 8 | data[2]) % (size - 2);
		const uint8_t *tm = data + 3, *rows = data + 3 + tl;
		size_t rl = size - 3 - tl;
		sl_binlog_table t;
		if (sl_binlog_parse_table_map(&fmt, tm, tl, &t, &err) == 0) {
			sl_binlog_rows rw;
			uint8_t type = (data[0] >> 1) % 3 + SL_BINLOG_WRITE_ROWS;
			if (sl_binlog_parse_rows(&fmt, type, rows, rl, &rw, &err) == 0 &&
			    rw.ncols == t.ncols) {
				sl_my_value *v = calloc((size_t)(t.ncols ? t.ncols : 1), sizeof *v);
				const uint8_t *p = rw.rows, *end = rw.rows + rw.rows_len;
				while (p < end) {
					int n = sl_binlog_decode_row(&t, rw.present, p,
					                             (size_t)(end - p), v, &err);
					if (n <= 0)
						break;
					p += n;
				}
				free(v);
			}
			sl_binlog_table_reset(&t);
		}
	}

	/* binary JSON and GTID text */
	sl_buf out = {0};
	sl_my_json_to_text(data, size, &out, &err);
	sl_buf_free(&out);
	char *text = malloc(size + 1);
	memcpy(text, data, size);
	text[size] = '\0';
	sl_gtid_set *a = sl_gtid_set_parse(SL_GTID_MYSQL, text, &err);
	sl_gtid_set *b = sl_gtid_set_parse(SL_GTID_MARIADB, text, &err);
	if (a) {
		char buf[256];
		sl_gtid_set_format(a, buf, sizeof buf);
		sl_gtid_set_contains(a, a);
	}
	sl_gtid_set_free(a);
	sl_gtid_set_free(b);
	free(text);
	return 0;
}
