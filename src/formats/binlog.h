/* MySQL / MariaDB binary log events (the payload of each packet of a COM_BINLOG_DUMP or
 * COM_BINLOG_DUMP_GTID stream, after the leading 0x00 OK byte; also the records of a binlog file
 * after its 4-byte magic).
 *
 * The format (MySQL's "Binary Log" internals and MariaDB's "Replication Protocol" pages): every
 * event opens with a 19-byte little-endian header (timestamp u32, type u8, server_id u32,
 * event_length u32 including the header and any checksum, next_position u32, flags u16), then a
 * post-header whose length the FORMAT_DESCRIPTION event gives per type, then the body. When the
 * FORMAT_DESCRIPTION event says so (checksum algorithm byte 1 = CRC32), every event ends with a
 * 4-byte CRC32 of everything before it. Integers are little-endian; "packed" integers use the
 * length-encoded form (< 251: one byte; 252: 2 bytes; 253: 3 bytes; 254: 8 bytes).
 *
 * Row events carry row images column by column in the server's storage encoding (TABLE_MAP's
 * per-column type + metadata decide the width: e.g. DECIMAL as packed binary decimal, DATETIME2
 * as a 5-byte big-endian bit field plus fractional bytes, VARCHAR as 1- or 2-byte length + bytes).
 *
 * Everything here is a pure function of bytes: no I/O, every length checked, never reads past
 * `len`. Strings and byte values point into the input buffer (zero-copy) unless said otherwise,
 * so results are valid only while the buffer is. */
#ifndef SL_BINLOG_H
#define SL_BINLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/error.h"

/* Event types (the ones sluice reads; others are skipped by type). */
enum sl_binlog_event_type {
	SL_BINLOG_QUERY = 2,
	SL_BINLOG_STOP = 3,
	SL_BINLOG_ROTATE = 4,
	SL_BINLOG_FORMAT_DESCRIPTION = 15,
	SL_BINLOG_XID = 16,
	SL_BINLOG_TABLE_MAP = 19,
	SL_BINLOG_WRITE_ROWS_V1 = 23,
	SL_BINLOG_UPDATE_ROWS_V1 = 24,
	SL_BINLOG_DELETE_ROWS_V1 = 25,
	SL_BINLOG_HEARTBEAT = 27,
	SL_BINLOG_WRITE_ROWS = 30, /* v2 */
	SL_BINLOG_UPDATE_ROWS = 31,
	SL_BINLOG_DELETE_ROWS = 32,
	SL_BINLOG_MYSQL_GTID = 33,
	SL_BINLOG_MYSQL_ANONYMOUS_GTID = 34,
	SL_BINLOG_MYSQL_PREVIOUS_GTIDS = 35,
	SL_BINLOG_MYSQL_PARTIAL_UPDATE_ROWS = 39,
	SL_BINLOG_MARIADB_ANNOTATE_ROWS = 160,
	SL_BINLOG_MARIADB_BINLOG_CHECKPOINT = 161,
	SL_BINLOG_MARIADB_GTID = 162,
	SL_BINLOG_MARIADB_GTID_LIST = 163,
	SL_BINLOG_MARIADB_START_ENCRYPTION = 164,
	SL_BINLOG_MARIADB_QUERY_COMPRESSED = 165,
	SL_BINLOG_MARIADB_WRITE_ROWS_COMPRESSED_V1 = 169,
	SL_BINLOG_MARIADB_UPDATE_ROWS_COMPRESSED_V1 = 170,
	SL_BINLOG_MARIADB_DELETE_ROWS_COMPRESSED_V1 = 171,
	SL_BINLOG_MARIADB_WRITE_ROWS_COMPRESSED = 166,
	SL_BINLOG_MARIADB_UPDATE_ROWS_COMPRESSED = 167,
	SL_BINLOG_MARIADB_DELETE_ROWS_COMPRESSED = 168,
};

/* Column types as TABLE_MAP and the client protocol number them (MYSQL_TYPE_*). */
enum sl_my_type {
	SL_MY_DECIMAL = 0, /* old pre-5.0 decimal: not supported */
	SL_MY_TINY = 1,
	SL_MY_SHORT = 2,
	SL_MY_LONG = 3,
	SL_MY_FLOAT = 4,
	SL_MY_DOUBLE = 5,
	SL_MY_NULL = 6,
	SL_MY_TIMESTAMP = 7,
	SL_MY_LONGLONG = 8,
	SL_MY_INT24 = 9,
	SL_MY_DATE = 10,
	SL_MY_TIME = 11,
	SL_MY_DATETIME = 12,
	SL_MY_YEAR = 13,
	SL_MY_NEWDATE = 14,
	SL_MY_VARCHAR = 15,
	SL_MY_BIT = 16,
	SL_MY_TIMESTAMP2 = 17,
	SL_MY_DATETIME2 = 18,
	SL_MY_TIME2 = 19,
	SL_MY_VECTOR = 242,
	SL_MY_JSON = 245,
	SL_MY_NEWDECIMAL = 246,
	SL_MY_ENUM = 247,
	SL_MY_SET = 248,
	SL_MY_TINY_BLOB = 249,
	SL_MY_MEDIUM_BLOB = 250,
	SL_MY_LONG_BLOB = 251,
	SL_MY_BLOB = 252,
	SL_MY_VAR_STRING = 253,
	SL_MY_STRING = 254,
	SL_MY_GEOMETRY = 255
};

/* The binlog's format, from its FORMAT_DESCRIPTION event. */
typedef struct sl_binlog_format {
	uint16_t binlog_version;      /* 4 */
	char server_version[51];      /* NUL-terminated, e.g. "10.11.6-MariaDB-log" */
	uint8_t header_len;           /* 19 */
	bool checksum;                /* events end with a CRC32 */
	uint8_t post_header_len[256]; /* by event type; 0 when the FDE does not list the type */
} sl_binlog_format;

/* The format assumed before any FORMAT_DESCRIPTION event has been seen (binlog v4 defaults,
 * no checksum). */
void sl_binlog_format_default(sl_binlog_format *fmt);

typedef struct sl_binlog_header {
	uint32_t timestamp; /* seconds since the epoch when the statement started */
	uint8_t type;       /* enum sl_binlog_event_type */
	uint32_t server_id;
	uint32_t event_len; /* the whole event, header and checksum included */
	uint32_t next_pos;  /* position of the next event in the binlog file (0 for artificial) */
	uint16_t flags;     /* 0x20 LOG_EVENT_ARTIFICIAL_F, ... */
} sl_binlog_header;

/* Decode the common header and locate the body: *body and *body_len cover what follows the 19-byte
 * header, without the trailing checksum when fmt->checksum (the CRC32 is verified: mismatch is
 * SL_ERR_DATA). A FORMAT_DESCRIPTION event decides its own checksum (its last 5 bytes carry the
 * algorithm byte + CRC) regardless of fmt. Errors when len < 19 or event_len != len. */
int sl_binlog_event(const sl_binlog_format *fmt, const uint8_t *ev, size_t len,
                    sl_binlog_header *hdr, const uint8_t **body, size_t *body_len, sl_error *err);

/* FORMAT_DESCRIPTION: fills *fmt from the whole event (header included). */
int sl_binlog_parse_fde(const uint8_t *ev, size_t len, sl_binlog_format *fmt, sl_error *err);

/* ROTATE body: the next binlog file and position. name points into the body (not terminated). */
typedef struct sl_binlog_rotate {
	uint64_t pos;
	const char *name;
	size_t name_len;
} sl_binlog_rotate;
int sl_binlog_parse_rotate(const uint8_t *body, size_t len, sl_binlog_rotate *out, sl_error *err);

/* MariaDB GTID event body: domain-server-seq (server_id comes from the event header) and
 * whether the transaction is a standalone statement (no XID/COMMIT follows: flag 0x01). */
typedef struct sl_binlog_mariadb_gtid {
	uint64_t seq;
	uint32_t domain;
	uint8_t flags; /* 0x01 FL_STANDALONE, 0x02 FL_GROUP_COMMIT_ID, ... */
	bool standalone;
} sl_binlog_mariadb_gtid;
int sl_binlog_parse_mariadb_gtid(const uint8_t *body, size_t len, sl_binlog_mariadb_gtid *out,
                                 sl_error *err);

/* MySQL GTID event body: source uuid (16 raw bytes) and transaction number. */
typedef struct sl_binlog_mysql_gtid {
	uint8_t uuid[16];
	int64_t gno;
} sl_binlog_mysql_gtid;
int sl_binlog_parse_mysql_gtid(const uint8_t *body, size_t len, sl_binlog_mysql_gtid *out,
                               sl_error *err);

/* XID event body: the transaction's commit. */
int sl_binlog_parse_xid(const uint8_t *body, size_t len, uint64_t *xid, sl_error *err);

/* QUERY event: default database and statement text (both point into the body, not
 * terminated). "BEGIN", "COMMIT", "XA ..." and DDL travel as QUERY events. */
typedef struct sl_binlog_query {
	uint32_t thread_id;
	uint16_t error_code;
	const char *db;
	size_t db_len;
	const char *sql;
	size_t sql_len;
} sl_binlog_query;
int sl_binlog_parse_query(const sl_binlog_format *fmt, const uint8_t *body, size_t len,
                          sl_binlog_query *out, sl_error *err);

/* One column of a TABLE_MAP. ENUM and SET arrive with type STRING and the real type in the
 * metadata; they are reported here as SL_MY_ENUM / SL_MY_SET. */
typedef struct sl_binlog_column {
	uint8_t type; /* enum sl_my_type (real type) */
	/* type metadata, normalised: NEWDECIMAL precision << 8 | scale; TIME2/DATETIME2/
	 * TIMESTAMP2 fsp; BIT total bits; FLOAT/DOUBLE byte size; VARCHAR/VAR_STRING/STRING max
	 * byte length; ENUM/SET pack length (1..8); BLOB/TEXT/JSON/GEOMETRY length-prefix bytes */
	uint16_t meta;
	bool nullable;
	bool is_unsigned; /* from optional metadata SIGNEDNESS (numeric columns) */
	bool has_signedness;
	int charset;  /* collation id from optional metadata, -1 unknown; 63 = binary */
	char *name;   /* from optional metadata COLUMN_NAME, or NULL; owned */
	char **elems; /* ENUM/SET values from optional metadata, owned; NULL unknown */
	int nelems;
	bool pk;    /* part of the primary key (optional metadata) */
	int pk_pos; /* its 1-based position in that key (the metadata lists the key in order) */
	uint8_t geometry_type;
} sl_binlog_column;

typedef struct sl_binlog_table {
	uint64_t table_id;
	char *db;    /* owned, NUL-terminated */
	char *table; /* owned, NUL-terminated */
	int ncols;
	sl_binlog_column *cols; /* owned */
	bool has_names; /* optional metadata carried column names (binlog_row_metadata=FULL) */
} sl_binlog_table;

/* TABLE_MAP body, including the optional metadata block (MySQL 8 / MariaDB 10.5+: SIGNEDNESS,
 * DEFAULT_CHARSET, COLUMN_CHARSET, COLUMN_NAME, SET_STR_VALUE, ENUM_STR_VALUE, GEOMETRY_TYPE,
 * SIMPLE_PRIMARY_KEY, PRIMARY_KEY_WITH_PREFIX, ENUM_AND_SET_DEFAULT_CHARSET,
 * ENUM_AND_SET_COLUMN_CHARSET; unknown fields are skipped). *out is filled with owned copies;
 * free with sl_binlog_table_reset. On error *out is left empty. */
int sl_binlog_parse_table_map(const sl_binlog_format *fmt, const uint8_t *body, size_t len,
                              sl_binlog_table *out, sl_error *err);
void sl_binlog_table_reset(sl_binlog_table *t);

/* A rows event: which table, which columns each image carries, and the images. */
typedef struct sl_binlog_rows {
	char kind; /* 'I' write, 'U' update, 'D' delete */
	uint64_t table_id;
	uint16_t flags; /* 0x0001 STMT_END_F: the last rows event of the statement */
	int ncols;
	const uint8_t *present;       /* columns in the (before) image, bitmap of ncols bits */
	const uint8_t *present_after; /* updates: columns in the after image */
	const uint8_t *rows;          /* the row images */
	size_t rows_len;
} sl_binlog_rows;
/* Rows events v1 (23..25) and v2 (30..32, with their extra-data block). Compressed MariaDB rows
 * events and MySQL PARTIAL_UPDATE_ROWS are refused with SL_ERR_DATA naming the setting to change
 * (log_bin_compress=OFF, binlog_row_value_options=''). */
int sl_binlog_parse_rows(const sl_binlog_format *fmt, uint8_t type, const uint8_t *body, size_t len,
                         sl_binlog_rows *out, sl_error *err);

/* One decoded column value of a row image (or of a text-protocol row, see the MySQL source). */
typedef enum sl_my_value_kind {
	SL_MYV_ABSENT = 0, /* the image does not carry this column */
	SL_MYV_NULL,
	SL_MYV_INT,     /* i: TINY..LONGLONG, INT24 (signed interpretation) */
	SL_MYV_UINT,    /* u: the same types when the column is unsigned */
	SL_MYV_FLOAT,   /* f */
	SL_MYV_DOUBLE,  /* d */
	SL_MYV_DECIMAL, /* text: canonical decimal text "-123.4500" with exactly `scale` digits
	                   after the point (none and no point when scale = 0), in the value's buffer
	                 */
	SL_MYV_BYTES, /* bytes/len: CHAR/VARCHAR/BLOB/TEXT/BINARY/JSON(MariaDB)/GEOMETRY payload */
	SL_MYV_JSON_BIN,  /* bytes/len: MySQL 8 binary JSON (needs sl_my_json_to_text) */
	SL_MYV_DATE,      /* year, month, day (zero parts allowed: "0000-00-00") */
	SL_MYV_TIME,      /* neg, hour (0..838), minute, second, usec */
	SL_MYV_DATETIME,  /* year..second, usec */
	SL_MYV_TIMESTAMP, /* sec since the epoch (UTC), usec */
	SL_MYV_YEAR,      /* u: 0 or 1901..2155 */
	SL_MYV_BIT,       /* u: the bits, nbits = the column's width */
	SL_MYV_ENUM,      /* u: 1-based index into the column's elements, 0 = the '' error value */
	SL_MYV_SET        /* u: bit i set = element i present */
} sl_my_value_kind;

typedef struct sl_my_value {
	sl_my_value_kind kind;
	int64_t i;
	uint64_t u;
	double d;
	float f;
	const uint8_t *bytes;
	size_t len;
	bool neg;
	int year, month, day, hour, minute, second, usec;
	int64_t sec;
	int nbits;
	char text[80]; /* DECIMAL text, NUL-terminated */
} sl_my_value;

/* Decode one row image starting at p (n bytes left): a null bitmap over the present columns, then
 * each present non-NULL value. vals[0..t->ncols) are filled (absent columns SL_MYV_ABSENT).
 * Returns the bytes consumed (> 0) or a negative error naming the table and column. Byte values
 * point into p. `present` is read for t->ncols bits: check rows.ncols == t->ncols first. CHAR and
 * BINARY values come as the server logs them, without trailing pad spaces / 0x00 bytes. */
int sl_binlog_decode_row(const sl_binlog_table *t, const uint8_t *present, const uint8_t *p,
                         size_t n, sl_my_value *vals, sl_error *err);

/* MySQL 8 binary JSON (the JSON column's row-image payload) -> JSON text appended to out.
 * Returns 0 or SL_ERR_DATA. */
int sl_my_json_to_text(const uint8_t *p, size_t len, sl_buf *out, sl_error *err);

/* GTID sets, both flavours, as text and as values.
 *
 * MySQL: "uuid:1-5:7,uuid2:1-100" (a set of intervals per source uuid; text form lower-case,
 * intervals sorted and merged). MariaDB: "0-1-100,1-2-7" (per replication domain, the last
 * server-seq seen; at most one entry per domain). */
typedef struct sl_gtid_set sl_gtid_set;

typedef enum sl_gtid_flavor { SL_GTID_MYSQL = 1, SL_GTID_MARIADB = 2 } sl_gtid_flavor;

/* Parse text ("" is the empty set). Returns NULL with err set on malformed text. Free with
 * sl_gtid_set_free. */
sl_gtid_set *sl_gtid_set_parse(sl_gtid_flavor flavor, const char *text, sl_error *err);
void sl_gtid_set_free(sl_gtid_set *s);
sl_gtid_flavor sl_gtid_set_flavor(const sl_gtid_set *s);
/* Add one transaction: MySQL (uuid, gno); MariaDB (domain, server_id, seq: replaces the domain's
 * entry). */
void sl_gtid_set_add_mysql(sl_gtid_set *s, const uint8_t uuid[16], int64_t gno);
void sl_gtid_set_add_mariadb(sl_gtid_set *s, uint32_t domain, uint32_t server_id, uint64_t seq);
/* Canonical text into buf (truncated to n - 1 bytes; returns the full length it needed). */
size_t sl_gtid_set_format(const sl_gtid_set *s, char *buf, size_t n);
/* Is every transaction in `sub` also in `super`? (MariaDB: per domain, sub's seq <= super's
 * seq; a domain missing from super means not contained unless sub's seq is 0.) */
bool sl_gtid_set_contains(const sl_gtid_set *super, const sl_gtid_set *sub);
/* How many transactions the union of `s` and `plus` (NULL: none; another flavour: ignored)
 * stands for. MySQL: the number of GTIDs. MariaDB: the sum of every domain's seq, which each
 * transaction logged in a domain raises (by one when seq numbers have no gaps). Either way a
 * transaction the set does not contain (sl_gtid_set_contains) raises it by at least one, so it
 * grows in commit order whatever the binlog files are named or numbered. Saturates at
 * UINT64_MAX. */
uint64_t sl_gtid_set_count(const sl_gtid_set *s, const sl_gtid_set *plus);
/* MySQL: is any transaction of `a` also in `b`? (Purged-position check: the transactions we
 * still need = executed minus ours must not intersect purged.) */
bool sl_gtid_set_intersects(const sl_gtid_set *a, const sl_gtid_set *b);
/* MySQL: a := a minus b. */
void sl_gtid_set_subtract(sl_gtid_set *a, const sl_gtid_set *b);
/* MySQL COM_BINLOG_DUMP_GTID wants the set in its binary SID-block encoding: n_sids u64, then
 * per uuid 16 bytes + n_intervals u64 + (start, end-exclusive) i64 pairs. Appended to out. */
void sl_gtid_set_encode_mysql(const sl_gtid_set *s, sl_buf *out);
/* MySQL PREVIOUS_GTIDS event body (same encoding) -> set. */
sl_gtid_set *sl_gtid_set_decode_mysql(const uint8_t *p, size_t len, sl_error *err);
/* MariaDB GTID_LIST event body -> set (count u32 with flags in the top 4 bits, then per entry
 * domain u32, server_id u32, seq u64). */
sl_gtid_set *sl_gtid_set_decode_mariadb_list(const uint8_t *p, size_t len, sl_error *err);

#endif
