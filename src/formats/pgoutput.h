/* pgoutput: PostgreSQL's logical replication protocol messages (the payload of each XLogData
 * message of a START_REPLICATION ... LOGICAL stream using the pgoutput plugin).
 *
 * The format is PostgreSQL's "Logical Replication Message Formats" (protocol versions 1 and 2):
 * a one-byte message type, then big-endian integers (Int8/16/32/64), NUL-terminated strings and
 * TupleData. TupleData is an Int16 column count followed per column by a kind byte: 'n' null,
 * 'u' unchanged TOASTed value (not sent), 't' text or 'b' binary, the last two followed by an
 * Int32 length and that many bytes. Inside a streamed transaction (protocol 2, between Stream
 * Start and Stream Stop) Relation, Type, Insert, Update, Delete, Truncate and Message carry the
 * transaction's Int32 xid right after the type byte.
 *
 * sl_pgo_decode is a pure function of bytes: no I/O, every length checked, never reads past
 * `len`. Strings and values point into the input buffer (zero-copy), so the message is valid only
 * while the buffer is; arrays (relation columns, tuple values, truncated relations) live in the
 * sl_pgo_msg and are reused from one call to the next. */
#ifndef SL_PGOUTPUT_H
#define SL_PGOUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

enum sl_pgo_type {
	SL_PGO_BEGIN = 'B',
	SL_PGO_COMMIT = 'C',
	SL_PGO_ORIGIN = 'O',
	SL_PGO_RELATION = 'R',
	SL_PGO_TYPE = 'Y',
	SL_PGO_INSERT = 'I',
	SL_PGO_UPDATE = 'U',
	SL_PGO_DELETE = 'D',
	SL_PGO_TRUNCATE = 'T',
	SL_PGO_MESSAGE = 'M',
	SL_PGO_STREAM_START = 'S',
	SL_PGO_STREAM_STOP = 'E',
	SL_PGO_STREAM_COMMIT = 'c',
	SL_PGO_STREAM_ABORT = 'A'
};

/* One column value of a TupleData. */
typedef struct sl_pgo_value {
	char kind;           /* 'n' null, 'u' unchanged toast, 't' text, 'b' binary */
	int32_t len;         /* 't'/'b' only */
	const uint8_t *data; /* 't'/'b' only; points into the input; not NUL-terminated */
} sl_pgo_value;

typedef struct sl_pgo_tuple {
	int ncols;
	sl_pgo_value *values; /* ncols entries, owned by the message */
	int cap;
} sl_pgo_tuple;

typedef struct sl_pgo_column {
	uint8_t flags; /* bit 1: part of the replica identity key */
	const char *name;
	uint32_t type_oid;
	int32_t typmod;
} sl_pgo_column;

#define SL_PGO_TRUNCATE_CASCADE 1
#define SL_PGO_TRUNCATE_RESTART_IDENTITY 2

typedef struct sl_pgo_msg {
	char type;       /* enum sl_pgo_type */
	uint32_t xid;    /* Begin, Stream Start/Commit/Abort, and messages inside a stream */
	bool has_xid;    /* the message carried an xid (streamed transaction); also true for
	                    Begin and Stream Start/Commit/Abort, whose xid is always present */
	uint64_t lsn;    /* Begin: final LSN of the transaction; Commit: commit LSN; Origin:
	                    origin commit LSN; Message: message LSN; Stream Abort: abort LSN */
	uint64_t end_lsn; /* Commit / Stream Commit: end LSN of the transaction */
	int64_t ts;       /* Begin/Commit/Stream Commit/Abort: microseconds since 2000-01-01 */
	uint8_t flags;    /* Commit / Message flags (Message: bit 1 = transactional) */

	/* Relation */
	uint32_t relid;
	const char *nspname; /* "" means pg_catalog */
	const char *relname;
	char replident; /* 'd' default, 'n' nothing, 'f' full, 'i' index */
	int ncolumns;
	sl_pgo_column *columns;
	int columns_cap;

	/* Type */
	uint32_t type_oid;
	const char *type_nsp;
	const char *type_name;

	/* Insert / Update / Delete: relid is set too */
	char old_kind; /* Update/Delete: 'K' old key, 'O' old full row, 0 when absent */
	sl_pgo_tuple old_tuple;
	sl_pgo_tuple new_tuple; /* Insert / Update */

	/* Truncate */
	uint8_t truncate_options; /* SL_PGO_TRUNCATE_* */
	int nrelids;
	uint32_t *relids;
	int relids_cap;

	/* Message */
	const char *prefix;
	const uint8_t *content;
	uint32_t content_len;

	/* Origin */
	const char *origin_name;

	/* Stream Start */
	bool first_segment;
	/* Stream Abort */
	uint32_t subxid;
} sl_pgo_msg;

/* Decode one message. `in_stream` says the message arrives between Stream Start and Stream Stop
 * (so data messages carry an xid); `proto_version` is the version asked for (1 or 2; version 2
 * adds nothing to non-stream messages except that streaming messages may appear). Returns 0, or
 * SL_ERR_DATA with a message naming the type and what was malformed. `m` starts zeroed
 * (`sl_pgo_msg m = {0};`) and is then reused across calls: fields that do not apply to the
 * decoded type are reset to 0/NULL, and on error m->type is 0. */
int sl_pgo_decode(const uint8_t *buf, size_t len, bool in_stream, sl_pgo_msg *m, sl_error *err);

/* Free the arrays held by a message (the struct itself is the caller's). */
void sl_pgo_msg_free(sl_pgo_msg *m);

#endif
