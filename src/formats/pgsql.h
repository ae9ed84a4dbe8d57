/* PostgreSQL SQL text without a connection: quoting identifiers and literals, and the text of
 * txid_current_snapshot(). Pure functions. */
#ifndef SL_PGSQL_H
#define SL_PGSQL_H

#include "core/buf.h"
#include "core/change.h"

/* Append "ident" with embedded quotes doubled / 'literal' with quotes doubled. */
void sl_pg_quote_ident(sl_buf *b, const char *ident);
void sl_pg_quote_literal(sl_buf *b, const char *lit);
/* "schema"."name" */
void sl_pg_quote_qualified(sl_buf *b, const char *schema, const char *name);

/* A txid_current_snapshot() text ("xmin:xmax:xip,...") as what it did not see: the running
 * transactions listed, and every xid from xmax on (xmax is the newest completed xid + 1: a
 * transaction still committing at or above it is running but not listed); 32-bit xids, as
 * pgoutput's Begin carries them. Unparsable text leaves *out empty. */
void sl_pg_parse_snapshot(const char *snap, sl_unseen *out);

#endif
