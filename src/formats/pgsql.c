/* PostgreSQL SQL text: quoting, snapshot text (see pgsql.h). */
#include "formats/pgsql.h"

#include <stdlib.h>
#include <string.h>

#include "core/mem.h"

void sl_pg_quote_ident(sl_buf *b, const char *ident)
{
	sl_buf_put_quoted(b, ident, '"');
}

void sl_pg_quote_literal(sl_buf *b, const char *lit)
{
	sl_buf_put_quoted(b, lit, '\'');
}

void sl_pg_quote_qualified(sl_buf *b, const char *schema, const char *name)
{
	sl_pg_quote_ident(b, schema);
	sl_buf_putc(b, '.');
	sl_pg_quote_ident(b, name);
}

/* "xmin:xmax:xip,xip,...": what the snapshot did not see, as 32-bit xids (what pgoutput's
 * Begin carries): the running transactions listed, and every one from xmax on (xmax is the
 * newest completed xid + 1: a transaction still committing at or above it is running but not
 * listed) */
void sl_pg_parse_snapshot(const char *snap, sl_unseen *out)
{
	memset(out, 0, sizeof *out);
	const char *p = strchr(snap, ':');
	if (p == NULL)
		return;
	char *end;
	unsigned long long xmax = strtoull(p + 1, &end, 10);
	if (end == p + 1 || *end != ':')
		return;
	out->from_set = true;
	out->from = (uint32_t)(xmax & 0xffffffffu);
	for (p = end + 1; *p;) {
		unsigned long long x = strtoull(p, &end, 10);
		if (end == p)
			break;
		out->ids = sl_realloc(out->ids, sizeof *out->ids * (size_t)(out->n + 1));
		out->ids[out->n++] = x & 0xffffffffu;
		p = *end == ',' ? end + 1 : end;
	}
}
