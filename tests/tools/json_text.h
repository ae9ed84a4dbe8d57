/* A string as a JSON string literal, for the test tools' row dumps. */
#ifndef SL_TEST_JSON_TEXT_H
#define SL_TEST_JSON_TEXT_H

#include <stdio.h>

static inline void json_str(FILE *f, const char *s, size_t n)
{
	fputc('"', f);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

#endif
