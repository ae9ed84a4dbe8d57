/* PostgreSQL source internals shared by discovery/snapshot (pg_source.c) and the change stream
 * (pg_stream.c). */
#ifndef SL_PG_SOURCE_INT_H
#define SL_PG_SOURCE_INT_H

#include <libpq-fe.h>

#include "core/config.h"
#include "formats/pgtypes.h"
#include "core/source.h"

/* The structs behind the contract's handles (core/source.h, core/handle.h). */
SL_HANDLE(pg_source, sl_source)
SL_HANDLE(pg_reader, sl_reader)
SL_HANDLE(pg_stream, sl_stream)

struct pg_leaf {
	char *qualified;     /* quoted "schema"."name" */
	int64_t bytes;       /* main fork: what ctid ranges divide */
	int64_t total_bytes; /* with TOAST: what the chunks carry */
	int64_t rows;
};

struct pg_table {
	uint32_t oid;
	char relkind;
	sl_pg_codec *codecs;
	sl_pg_select *how; /* per field: how the select list reads it */
	char *select_list;
	struct pg_leaf *leaves; /* partitioned tables: their leaf partitions */
	int nleaves;
};

struct pg_source {
	const sl_config *cfg;
	PGconn *meta;
	PGconn *repl;           /* replication connection holding the exported snapshot */
	char snapshot_name[64]; /* "" when readers take a fresh snapshot (resumed snapshot) */
	char publication[128];
	char slot[128];
	int server_version;
	int block_size;
	bool stream_text; /* a column needs the text protocol (set by the stream, kept) */
	PGconn *bf;       /* backfill reads (pg_backfill_read), connected on first use */
	/* during a discovery: each column type's catalog row, read once however many tables
	 * use the type */
	struct pg_type_memo {
		uint32_t oid;
		PGresult *res;
	} * types;
	int ntypes;
};

struct pg_reader {
	pg_source *src;
	PGconn *conn;
	PGcancel *cancel; /* for reader_cancel from another thread */
	int reads;        /* chunks read in the open transaction */
};

/* Wait up to `seconds` while another session holds replication slot `slot` (a previous run
 * still going away), saying so once; *still_active tells whether it is held after that. */
int sl_pg_wait_slot_free(PGconn *conn, const char *slot, int seconds, bool *still_active,
                         sl_error *err);

/* pg_stream.c */
int sl_pg_stream_open(sl_source *handle, const sl_catalog *cat, const char *from, bool once,
                      sl_stream **out, sl_error *err);
int sl_pg_stream_run(sl_stream *handle, sl_emit_fn emit, void *ctx, volatile int *stop,
                     sl_error *err);
void sl_pg_stream_ack(sl_stream *handle, uint64_t version);
void sl_pg_stream_close(sl_stream *handle);
int sl_pg_log_info(sl_source *handle, sl_log_info *out, sl_error *err);
int sl_pg_heartbeat(sl_source *handle, sl_error *err);
/* the prefix of the logical decoding messages that carry a backfill's watermarks */
#define ST_WATERMARK_PREFIX "sluice_watermark"
int sl_pg_watermark(pg_source *src, const char *mark, sl_error *err);
int sl_pg_parse_lsn(const char *s, uint64_t *out);

#endif
