/* MySQL / MariaDB source internals shared by discovery/snapshot (my_source.c) and the binlog
 * stream (my_stream.c). */
#ifndef SL_MY_SOURCE_INT_H
#define SL_MY_SOURCE_INT_H

#include <mysql.h>
#include <pthread.h>

#include "core/config.h"
#include "formats/binlog.h"
#include "sources/mysql/my_types.h"
#include "core/source.h"

/* The structs behind the contract's handles (core/source.h, core/handle.h). */
SL_HANDLE(my_source, sl_source)
SL_HANDLE(my_reader, sl_reader)
SL_HANDLE(my_stream, sl_stream)

/* A parsed mysql:// URL. */
typedef struct sl_my_url {
	char user[128];
	char host[256];
	unsigned port;
	char database[256]; /* "" = every database */
	char password[256]; /* from the URL or source.password */
} sl_my_url;

struct my_table {
	sl_my_coltype *types; /* per field (catalog order) */
	int ntypes;
	char *select_list; /* "`a`, `b`" */
	char *from;        /* "`db`.`t`" */
	char **partitions; /* physical partitions, NULL when none */
	int npartitions;
	int int_key; /* field index of the primary key's first column when an integer, or -1 */
};

struct my_source {
	const sl_config *cfg;
	sl_my_url url;
	MYSQL *meta;
	bool mariadb;
	unsigned long version; /* e.g. 101106 */
	sl_gtid_flavor flavor;
	uint32_t server_id;  /* the source server's */
	uint32_t replica_id; /* source.server_id: the one sluice presents; 0: derived */
	/* snapshot */
	bool locked_snapshot; /* readers share one consistent snapshot (FTWRL held briefly) */
	MYSQL **pre_readers;  /* connections that started their snapshot under the lock */
	int npre, npre_used;
	bool warned_zero_date;
	/* backfill (MariaDB): the connection that reads slices, and the watermarks waiting for
	 * the binlog stream to reach their slice's snapshot. marks_mu is held while a slice's
	 * snapshot is taken and its mark placed, and by the stream at each transaction's start
	 * and end, where it hands on the marks due and records how far it has gone:
	 * (passed_file, passed_pos) is past every event the stream has handed on or begun to
	 * (the start of the transaction it is in, plus one; the end of the last one). */
	MYSQL *bf;
	sl_buf bf_scratch;
	pthread_mutex_t marks_mu;
	struct sl_my_mark *marks;
	int nmarks;
	uint64_t passed_file, passed_pos;
};

/* A backfill watermark: handed on by the binlog stream before the first transaction at or
 * after (file, pos), the binlog position of the snapshot its slice was read in (MariaDB's
 * Binlog_snapshot_file/position: every transaction before it is in the snapshot, none after). */
typedef struct sl_my_mark {
	uint64_t file; /* the binlog file's number (its name's numeric extension) */
	uint64_t pos;
	char *mark;
} sl_my_mark;

/* The number a binlog file name ends with ("mariadb-bin.000042" -> 42); false when none. */
bool sl_my_binlog_file_no(const char *name, size_t len, uint64_t *out);

struct my_reader {
	my_source *src;
	MYSQL *conn;
	unsigned long thread_id;
	bool in_snapshot; /* its transaction is the shared consistent snapshot */
	sl_buf scratch;
};

/* my_source.c */
/* Connect as source.url says; reads time out after an hour (sl_my_connect) or read_timeout
 * seconds. */
int sl_my_connect(const my_source *s, const char *what, MYSQL **out, sl_error *err);
int sl_my_connect_timeout(const my_source *s, const char *what, unsigned read_timeout, MYSQL **out,
                          sl_error *err);
int sl_my_exec(MYSQL *c, const char *sql, sl_error *err);
/* Run a query and return its first row's first column (NULL-safe: "" when NULL); caller
 * frees. */
int sl_my_scalar(MYSQL *c, const char *sql, char **out, sl_error *err);
int sl_my_server_error(MYSQL *c, const char *what, sl_error *err);
/* The position now: the server's executed GTID set (MySQL @@gtid_executed, MariaDB
 * @@gtid_binlog_pos). */
int sl_my_current_position(my_source *s, MYSQL *c, char **out, sl_error *err);

/* Read one table's columns, key and select list into t (schema, name and qualified set; priv a
 * zeroed struct my_table with int_key -1, freed by sl_my_table_free). */
int sl_my_read_table(my_source *s, MYSQL *c, sl_table_def *t, sl_error *err);
/* Foreign-key actions InnoDB performs inside the storage engine (ON DELETE / ON UPDATE
 * CASCADE and SET NULL): the rows they change are not in the binlog, so no binlog reader sees
 * them. Every foreign key with such an action whose child table is in cat goes into cat->fks,
 * for the applier to do the actions on the target (core/fkeys.h). Read on connection c. */
int sl_my_read_fks(my_source *s, MYSQL *c, sl_catalog *cat, sl_error *err);
void sl_my_table_free(void *p);

/* my_stream.c */
/* Change versions (sl_msg.version) of this source: SL_MY_VERSION_BASE plus the count of the
 * executed GTID set after the transaction (sl_gtid_set_count: MySQL, its GTIDs; MariaDB, the
 * sum of every domain's seq). That count grows by at least one with each transaction, in
 * commit order, wherever it was logged: binlog coordinates (file number, offset) go back after
 * a failover or RESET MASTER and pass 4 GiB in one file, so they cannot order transactions
 * (ClickHouse keeps the highest version of a row). The base puts every version above those of
 * builds that used file number << 32 | offset (below 2^62 while file numbers stay below 2^30),
 * and the maximum keeps them within a signed 64-bit column (PostgreSQL's bigint). */
#define SL_MY_VERSION_BASE (UINT64_C(1) << 62)
#define SL_MY_VERSION_MAX ((UINT64_C(1) << 63) - 1)
/* The version of the set `executed` with the transactions of `plus` added (NULL: none): a
 * transaction's own, once (or before) its GTID is added. Fails (SL_ERR_STATE) when the count
 * passes SL_MY_VERSION_MAX - SL_MY_VERSION_BASE. */
int sl_my_version(const sl_gtid_set *executed, const sl_gtid_set *plus, uint64_t *out,
                  sl_error *err);
int sl_my_stream_open(sl_source *handle, const sl_catalog *cat, const char *from, bool once,
                      sl_stream **out, sl_error *err);
int sl_my_stream_run(sl_stream *handle, sl_emit_fn emit, void *ctx, volatile int *stop,
                     sl_error *err);
void sl_my_stream_ack(sl_stream *handle, uint64_t version);
void sl_my_stream_close(sl_stream *handle);
int sl_my_log_info(sl_source *handle, sl_log_info *out, sl_error *err);
int sl_my_heartbeat(sl_source *handle, sl_error *err);
/* Refuse a start position the server no longer has in its binlogs. */
int sl_my_check_purged(my_source *s, MYSQL *c, const char *from, sl_error *err);

#endif
