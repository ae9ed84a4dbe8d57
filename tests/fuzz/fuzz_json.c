/* libFuzzer target for the JSON canonicaliser (formats/json.c, what verify and the digests
 * compare JSON with): the input as JSON text. Besides memory errors it checks one property:
 * canonical text is its own canonical form (a second pass gives the same bytes); a difference
 * aborts. The same input also goes through the reader (what the Snowflake client reads its
 * answers with): every member and element walked, every string decoded, spans inside the
 * input. See CMakeLists.txt (fuzz targets) for how to build and run it. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "formats/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Walk value v: an array's elements and, for objects, the members the Snowflake client reads. */
static void walk(sl_json_span v, sl_buf *s, int depth)
{
	static const char *const keys[] = {
	        "data", "code", "message", "statementHandle", "resultSetMetaData", "partitionInfo"};
	sl_json_span it = {0}, m;
	if (depth > 40)
		return;
	sl_json_string(v, s);
	while (sl_json_next(v, &it) == 0) {
		if (it.p < v.p || it.p + it.n > v.p + v.n)
			abort();
		walk(it, s, depth + 1);
	}
	for (size_t k = 0; k < sizeof keys / sizeof *keys; k++)
		if (sl_json_member(v, keys[k], &m) == 0) {
			if (m.p < v.p || m.p + m.n > v.p + v.n)
				abort();
			walk(m, s, depth + 1);
		}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sl_buf out = {0}, again = {0}, scratch = {0};
	if (sl_json_canonical(data, size, &out, &scratch) == 0) {
		if (sl_json_canonical(out.data, out.len, &again, &scratch) != 0 ||
		    again.len != out.len ||
		    (out.len && memcmp(again.data, out.data, out.len) != 0)) {
			fprintf(stderr, "canonical form not stable: %.*s -> %.*s\n", (int)out.len,
			        (const char *)out.data, (int)again.len, (const char *)again.data);
			abort();
		}
	}
	sl_json_span doc = {(const char *)data, size};
	walk(doc, &out, 0);
	sl_buf_free(&out);
	sl_buf_free(&again);
	sl_buf_free(&scratch);
	return 0;
}
