/* libFuzzer target for the JSON canonicaliser (formats/json.c, what verify and the digests
 * compare JSON with): the input as JSON text. Besides memory errors it checks one property:
 * canonical text is its own canonical form (a second pass gives the same bytes); a difference
 * aborts. See CMakeLists.txt (fuzz targets) for how to build and run it. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "formats/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
	sl_buf_free(&out);
	sl_buf_free(&again);
	sl_buf_free(&scratch);
	return 0;
}
