/* pgoutput decoder: messages captured from PostgreSQL 15 (pg_logical_slot_peek_binary_changes
 * on a pgoutput slot), reuse of the message across calls, every truncation point of the captured
 * messages, and hand-built malformed input.
 *
 * Capture setup (PostgreSQL 15.x, wal_level=logical):
 *   CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
 *   CREATE TABLE t_pk (id int PRIMARY KEY, note text, big text);          -- relid 16393
 *   ALTER TABLE t_pk ALTER big SET STORAGE EXTERNAL;
 *   CREATE TABLE t_full (a int, b text); ... REPLICA IDENTITY FULL;        -- relid 16400
 *   CREATE TABLE t_types (id int8 PRIMARY KEY, n numeric(10,2), flag bool, ts timestamptz,
 *     arr int4[], m mood, by bytea, vc varchar(20), nul text);            -- relid 16405
 *   CREATE PUBLICATION p FOR TABLE t_pk, t_full, t_types;
 *   INSERT INTO t_pk VALUES (42, 'hello', NULL);
 *   UPDATE t_pk SET big = repeat('x', 3000) WHERE id = 42;   -- stored out of line
 *   UPDATE t_pk SET note = 'world' WHERE id = 42;            -- big is sent as 'u'
 *   UPDATE t_pk SET id = 43 WHERE id = 42;                   -- 'K' old key
 *   INSERT INTO t_full VALUES (1, 'x'); UPDATE t_full SET b = 'y'; DELETE FROM t_full;  -- 'O'
 *   DELETE FROM t_pk WHERE id = 43;
 *   INSERT INTO t_types VALUES (7, 12.5, true, '2024-01-02 03:04:05.678901+00', '{1,NULL,3}',
 *     'happy', '\x00ff', 'abc', NULL);
 *   TRUNCATE t_full, t_types RESTART IDENTITY CASCADE; TRUNCATE t_full;
 *   SELECT pg_logical_emit_message(true, 'pfx', 'hello');
 *   SELECT pg_logical_emit_message(false, 'nt', 'bye');
 *   -- with pg_replication_origin_session_setup('src1') and
 *   -- pg_replication_origin_xact_setup('0/ABCDEF', '2024-01-01 00:00:00+00'):
 *   INSERT INTO t_full VALUES (3, 'orig');
 * peeked with 'proto_version','2','publication_names','p','messages','true' and 'binary' true or
 * false (proto_version 1 gave the same bytes as 2 with binary false).
 *
 * Streaming (SET logical_decoding_work_mem = '64kB'; 'streaming','on'), t_stream (id int PRIMARY
 * KEY, pad text), relid 16427:
 *   BEGIN; SELECT pg_logical_emit_message(true, 'sp', 'in stream');
 *     INSERT INTO t_stream SELECT g, repeat('s', 100) FROM generate_series(1, 2000) g; COMMIT;
 *   BEGIN; INSERT INTO t_stream VALUES (100000, 'keep'); SAVEPOINT s1; <2000 rows>;
 *     ROLLBACK TO SAVEPOINT s1; INSERT INTO t_stream VALUES (100001, 'keep2'); COMMIT;
 *   BEGIN; <2000 rows>; ROLLBACK; */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "formats/pgoutput.h"

/* ---------------------------------------------------------------- captured messages ---- */

/* INSERT INTO t_pk (42, 'hello', NULL): Begin, Relation, Insert, Commit */
static const char h_begin[] = "42000000000154d258000303f816a6c39a000002df";
static const char h_rel_pk[] =
        "52000040097075626c696300745f706b006400030169640000000017ffffffff006e"
        "6f74650000000019ffffffff006269670000000019ffffffff";
static const char h_ins_pk_bin[] = "49000040094e000362000000040000002a620000000568656c6c6f6e";
static const char h_ins_pk_text[] = "49000040094e000374000000023432740000000568656c6c6f6e";
static const char h_commit[] = "4300000000000154d258000000000154d288000303f816a6c39a";

/* UPDATE t_pk SET note = 'world' (big is TOASTed out of line and unchanged) */
static const char h_upd_toast[] = "55000040094e000362000000040000002a6200000005776f726c6475";
/* UPDATE t_pk SET id = 43: old key, then the new row */
static const char h_upd_key_bin[] = "55000040094b000362000000040000002a6e6e4e000362000000040000002b"
                                    "6200000005776f726c6475";
static const char h_upd_key_text[] = "55000040094b0003740000000234326e6e4e0003740000000234337400000"
                                     "005776f726c6475";

/* t_full (REPLICA IDENTITY FULL) */
static const char h_rel_full[] =
        "52000040107075626c696300745f66756c6c0066000201610000000017ffffffff"
        "01620000000019ffffffff";
static const char h_upd_full[] = "55000040104f00026200000004000000016200000001784e00026200000004000"
                                 "00001620000000179";
static const char h_del_full[] = "44000040104f0002620000000400000001620000000179";
static const char h_del_key[] = "44000040094b000362000000040000002b6e6e";

/* t_types: Type (enum mood), Relation, Insert binary and text */
static const char h_type_mood[] = "59000040037075626c6963006d6f6f6400";
static const char h_rel_types[] =
        "52000040157075626c696300745f7479706573006400090169640000000014ffffffff006e00000006a4000a0"
        "00600666c61670000000010ffffffff00747300000004a0ffffffff0061727200000003efffffffff006d0000"
        "004003ffffffff0062790000000011ffffffff007663000000041300000018006e756c0000000019ffffffff";
static const char h_ins_types_bin[] =
        "49000040154e000962000000080000000000000007620000000c0002000000000002000c13886200000001016"
        "2000000080002b0ec85204f3562000000280000000100000001000000170000000300000001000000040000000"
        "1ffffffff0000000400000003620000000568617070796200000002"
        "00ff62000000036162636e";
static const char h_ins_types_text[] =
        "49000040154e0009740000000137740000000531322e3530740000000174740000001d323032342d30312d303"
        "22030333a30343a30352e3637383930312b3030740000000a7b312c4e554c4c2c337d74000000056861707079"
        "74000000065c783030666674000000036162636e";

/* TRUNCATE t_full, t_types RESTART IDENTITY CASCADE; TRUNCATE t_full */
static const char h_trunc2[] = "5400000002030000401000004015";
static const char h_trunc1[] = "54000000010000004010";

/* pg_logical_emit_message: transactional, then not */
static const char h_msg_tx[] = "4d0100000000015505c8706678000000000568656c6c6f";
static const char h_msg_nontx[] = "4d0000000000015506306e740000000003627965";

/* transaction replayed with origin 'src1' at 0/ABCDEF, committed at 2024-01-01 00:00:00+00 */
static const char h_begin_origin[] = "4200000000015509c00002b0d5d4e94000000002ed";
static const char h_origin[] = "4f0000000000abcdef7372633100";

/* streamed transactions */
static const char h_sstart_first[] = "53000002f001";
static const char h_sstart_next[] = "53000002f000";
static const char h_smsg[] = "4d000002f00100000000015580d873700000000009696e2073747265616d";
static const char h_srel[] = "52000002f00000402b7075626c696300745f73747265616d006400020169640000"
                             "000017ffffffff007061640000000019ffffffff";
static const char h_sins_top[] = "49000002f10000402b4e00026200000004000186a062000000046b656570";
static const char h_sins_sub[] = "49000002f30000402b4e00026200000004000186a162000000056b65657032";
static const char h_sstop[] = "45";
static const char h_scommit[] = "63000002f00000000000015c6b7000000000015c6ba0000303f817372c29";
static const char h_sabort_sub[] = "41000002f1000002f2";
static const char h_sabort_top[] = "41000002f4000002f4";

/* ---------------------------------------------------------------- helpers ---- */

/* A malloc'd copy of exactly the decoded bytes, so AddressSanitizer sees any over-read. */
static uint8_t *unhex(const char *hex, size_t *len)
{
	size_t n = strlen(hex) / 2;
	uint8_t *out = malloc(n ? n : 1);
	assert_non_null(out);
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
	*len = n;
	return out;
}

/* Decoded messages point into their input: keep every buffer until the test ends. */
#define MAX_BUFS 32
static uint8_t *bufs[MAX_BUFS];
static int nbufs;

static void decode_ok(const char *hex, bool in_stream, sl_pgo_msg *m)
{
	size_t len;
	sl_error err = {0};
	uint8_t *b = unhex(hex, &len);
	assert_true(nbufs < MAX_BUFS);
	bufs[nbufs++] = b;
	if (sl_pgo_decode(b, len, in_stream, m, &err) != 0)
		fail_msg("decode of %s failed: %s", hex, err.msg);
}

static int decode_err(const char *hex, bool in_stream, sl_pgo_msg *m, sl_error *err)
{
	size_t len;
	uint8_t *b = unhex(hex, &len);
	int rc = sl_pgo_decode(b, len, in_stream, m, err);
	free(b);
	if (rc == 0)
		fail_msg("decode of %s succeeded", hex);
	assert_int_equal(rc, SL_ERR_DATA);
	assert_int_equal(err->code, SL_ERR_DATA);
	assert_int_equal(m->type, 0);
	assert_non_null(strstr(err->msg, "pgoutput: "));
	return rc;
}

static int teardown_bufs(void **state)
{
	(void)state;
	for (int i = 0; i < nbufs; i++)
		free(bufs[i]);
	nbufs = 0;
	return 0;
}

static void assert_val(const sl_pgo_tuple *t, int i, char kind, const void *data, int32_t len)
{
	assert_true(i < t->ncols);
	assert_int_equal(t->values[i].kind, kind);
	if (kind == 't' || kind == 'b') {
		assert_int_equal(t->values[i].len, len);
		assert_memory_equal(t->values[i].data, data, (size_t)len);
	} else {
		assert_int_equal(t->values[i].len, 0);
		assert_null(t->values[i].data);
	}
}

static void assert_text(const sl_pgo_tuple *t, int i, const char *s)
{
	assert_val(t, i, 't', s, (int32_t)strlen(s));
}

static void assert_col(const sl_pgo_msg *m, int i, uint8_t flags, const char *name, uint32_t oid,
                       int32_t typmod)
{
	assert_true(i < m->ncolumns);
	assert_int_equal(m->columns[i].flags, flags);
	assert_string_equal(m->columns[i].name, name);
	assert_int_equal(m->columns[i].type_oid, oid);
	assert_int_equal(m->columns[i].typmod, typmod);
}

static const uint8_t be42[] = {0, 0, 0, 42}, be43[] = {0, 0, 0, 43};

/* ---------------------------------------------------------------- tests ---- */

static void test_begin_commit(void **state)
{
	(void)state;
	sl_pgo_msg m = {0};
	decode_ok(h_begin, false, &m);
	assert_int_equal(m.type, SL_PGO_BEGIN);
	assert_int_equal(m.lsn, 0x154d258);
	assert_int_equal(m.xid, 0x2df);
	assert_true(m.has_xid);
	int64_t begin_ts = m.ts;
	assert_int_equal(begin_ts, 0x000303f816a6c39a);
	uint64_t final_lsn = m.lsn;

	decode_ok(h_commit, false, &m);
	assert_int_equal(m.type, SL_PGO_COMMIT);
	assert_int_equal(m.flags, 0);
	assert_int_equal(m.lsn, final_lsn); /* Begin's final LSN is the commit LSN */
	assert_int_equal(m.end_lsn, 0x154d288);
	assert_true(m.end_lsn > m.lsn);
	assert_int_equal(m.ts, begin_ts);
	assert_false(m.has_xid);
	assert_int_equal(m.xid, 0);

	/* replayed transaction: Begin carries the origin's commit time, then an Origin message */
	decode_ok(h_begin_origin, false, &m);
	assert_int_equal(m.ts, INT64_C(757382400000000)); /* 2024-01-01 00:00:00+00 */
	assert_int_equal(m.xid, 0x2ed);
	decode_ok(h_origin, false, &m);
	assert_int_equal(m.type, SL_PGO_ORIGIN);
	assert_int_equal(m.lsn, 0xabcdef);
	assert_string_equal(m.origin_name, "src1");
	assert_int_equal(m.ts, 0);
	sl_pgo_msg_free(&m);
}

static void test_relation_and_type(void **state)
{
	(void)state;
	sl_pgo_msg m = {0};
	decode_ok(h_rel_pk, false, &m);
	assert_int_equal(m.type, SL_PGO_RELATION);
	assert_false(m.has_xid);
	assert_int_equal(m.relid, 16393);
	assert_string_equal(m.nspname, "public");
	assert_string_equal(m.relname, "t_pk");
	assert_int_equal(m.replident, 'd');
	assert_int_equal(m.ncolumns, 3);
	assert_col(&m, 0, 1, "id", 23, -1);
	assert_col(&m, 1, 0, "note", 25, -1);
	assert_col(&m, 2, 0, "big", 25, -1);

	decode_ok(h_rel_full, false, &m);
	assert_int_equal(m.relid, 16400);
	assert_string_equal(m.relname, "t_full");
	assert_int_equal(m.replident, 'f');
	assert_int_equal(m.ncolumns, 2);
	assert_col(&m, 0, 1, "a", 23, -1); /* FULL: every column is in the identity */
	assert_col(&m, 1, 1, "b", 25, -1);

	decode_ok(h_type_mood, false, &m);
	assert_int_equal(m.type, SL_PGO_TYPE);
	assert_int_equal(m.type_oid, 16387);
	assert_string_equal(m.type_nsp, "public");
	assert_string_equal(m.type_name, "mood");
	assert_int_equal(m.ncolumns, 0);
	assert_null(m.relname);

	decode_ok(h_rel_types, false, &m);
	assert_int_equal(m.relid, 16405);
	assert_string_equal(m.relname, "t_types");
	assert_int_equal(m.ncolumns, 9);
	assert_col(&m, 0, 1, "id", 20, -1);
	assert_col(&m, 1, 0, "n", 1700, (10 << 16 | 2) + 4);
	assert_col(&m, 2, 0, "flag", 16, -1);
	assert_col(&m, 3, 0, "ts", 1184, -1);
	assert_col(&m, 4, 0, "arr", 1007, -1);
	assert_col(&m, 5, 0, "m", 16387, -1); /* the Type message's oid */
	assert_col(&m, 6, 0, "by", 17, -1);
	assert_col(&m, 7, 0, "vc", 1043, 20 + 4);
	assert_col(&m, 8, 0, "nul", 25, -1);
	assert_null(m.type_name);
	sl_pgo_msg_free(&m);
}

static void test_insert(void **state)
{
	(void)state;
	sl_pgo_msg m = {0};
	decode_ok(h_ins_pk_bin, false, &m);
	assert_int_equal(m.type, SL_PGO_INSERT);
	assert_int_equal(m.relid, 16393);
	assert_int_equal(m.old_kind, 0);
	assert_int_equal(m.old_tuple.ncols, 0);
	assert_int_equal(m.new_tuple.ncols, 3);
	assert_val(&m.new_tuple, 0, 'b', be42, 4);
	assert_val(&m.new_tuple, 1, 'b', "hello", 5);
	assert_val(&m.new_tuple, 2, 'n', NULL, 0);

	decode_ok(h_ins_pk_text, false, &m);
	assert_int_equal(m.new_tuple.ncols, 3);
	assert_text(&m.new_tuple, 0, "42");
	assert_text(&m.new_tuple, 1, "hello");
	assert_val(&m.new_tuple, 2, 'n', NULL, 0);

	decode_ok(h_ins_types_bin, false, &m);
	assert_int_equal(m.relid, 16405);
	const sl_pgo_tuple *t = &m.new_tuple;
	assert_int_equal(t->ncols, 9);
	static const uint8_t id7[] = {0, 0, 0, 0, 0, 0, 0, 7};
	static const uint8_t num[] = {0, 2, 0, 0, 0, 0, 0, 2, 0, 12, 0x13, 0x88}; /* 12 5000 */
	static const uint8_t ts[] = {0x00, 0x02, 0xb0, 0xec, 0x85, 0x20, 0x4f, 0x35};
	static const uint8_t arr[] = {0,    0,    0,    1,    0, 0, 0, 1, 0, 0, 0, 23, 0, 0,
	                              0,    3,    0,    0,    0, 1, 0, 0, 0, 4, 0, 0,  0, 1,
	                              0xff, 0xff, 0xff, 0xff, 0, 0, 0, 4, 0, 0, 0, 3};
	static const uint8_t by[] = {0x00, 0xff};
	assert_val(t, 0, 'b', id7, 8);
	assert_val(t, 1, 'b', num, sizeof num);
	assert_val(t, 2, 'b', "\1", 1);
	/* 2024-01-02 03:04:05.678901+00 in microseconds since 2000-01-01 */
	assert_val(t, 3, 'b', ts, 8);
	assert_val(t, 4, 'b', arr, sizeof arr);
	assert_val(t, 5, 'b', "happy", 5);
	assert_val(t, 6, 'b', by, 2);
	assert_val(t, 7, 'b', "abc", 3);
	assert_val(t, 8, 'n', NULL, 0);

	decode_ok(h_ins_types_text, false, &m);
	t = &m.new_tuple;
	assert_int_equal(t->ncols, 9);
	assert_text(t, 0, "7");
	assert_text(t, 1, "12.50");
	assert_text(t, 2, "t");
	assert_text(t, 3, "2024-01-02 03:04:05.678901+00");
	assert_text(t, 4, "{1,NULL,3}");
	assert_text(t, 5, "happy");
	assert_text(t, 6, "\\x00ff");
	assert_text(t, 7, "abc");
	assert_val(t, 8, 'n', NULL, 0);
	sl_pgo_msg_free(&m);
}

static void test_update_delete(void **state)
{
	(void)state;
	sl_pgo_msg m = {0};
	/* key change: 'K' carries the key columns, the rest as null */
	decode_ok(h_upd_key_bin, false, &m);
	assert_int_equal(m.type, SL_PGO_UPDATE);
	assert_int_equal(m.relid, 16393);
	assert_int_equal(m.old_kind, 'K');
	assert_int_equal(m.old_tuple.ncols, 3);
	assert_val(&m.old_tuple, 0, 'b', be42, 4);
	assert_val(&m.old_tuple, 1, 'n', NULL, 0);
	assert_val(&m.old_tuple, 2, 'n', NULL, 0);
	assert_int_equal(m.new_tuple.ncols, 3);
	assert_val(&m.new_tuple, 0, 'b', be43, 4);
	assert_val(&m.new_tuple, 1, 'b', "world", 5);
	assert_val(&m.new_tuple, 2, 'u', NULL, 0);

	/* no old tuple: the previous message's 'K' must not leak */
	decode_ok(h_upd_toast, false, &m);
	assert_int_equal(m.type, SL_PGO_UPDATE);
	assert_int_equal(m.relid, 16393);
	assert_int_equal(m.old_kind, 0);
	assert_int_equal(m.old_tuple.ncols, 0);
	assert_int_equal(m.new_tuple.ncols, 3);
	assert_val(&m.new_tuple, 0, 'b', be42, 4);
	assert_val(&m.new_tuple, 1, 'b', "world", 5);
	assert_val(&m.new_tuple, 2, 'u', NULL, 0); /* unchanged TOASTed value, not sent */

	decode_ok(h_upd_key_text, false, &m);
	assert_int_equal(m.old_kind, 'K');
	assert_text(&m.old_tuple, 0, "42");
	assert_val(&m.old_tuple, 1, 'n', NULL, 0);
	assert_text(&m.new_tuple, 0, "43");
	assert_text(&m.new_tuple, 1, "world");
	assert_val(&m.new_tuple, 2, 'u', NULL, 0);

	decode_ok(h_upd_full, false, &m);
	assert_int_equal(m.relid, 16400);
	assert_int_equal(m.old_kind, 'O');
	assert_int_equal(m.old_tuple.ncols, 2);
	assert_val(&m.old_tuple, 0, 'b', "\0\0\0\1", 4);
	assert_val(&m.old_tuple, 1, 'b', "x", 1);
	assert_int_equal(m.new_tuple.ncols, 2);
	assert_val(&m.new_tuple, 0, 'b', "\0\0\0\1", 4);
	assert_val(&m.new_tuple, 1, 'b', "y", 1);

	decode_ok(h_del_full, false, &m);
	assert_int_equal(m.type, SL_PGO_DELETE);
	assert_int_equal(m.relid, 16400);
	assert_int_equal(m.old_kind, 'O');
	assert_int_equal(m.old_tuple.ncols, 2);
	assert_val(&m.old_tuple, 1, 'b', "y", 1);
	assert_int_equal(m.new_tuple.ncols, 0); /* Update's new tuple does not leak */

	decode_ok(h_del_key, false, &m);
	assert_int_equal(m.relid, 16393);
	assert_int_equal(m.old_kind, 'K');
	assert_int_equal(m.old_tuple.ncols, 3);
	assert_val(&m.old_tuple, 0, 'b', be43, 4);
	assert_val(&m.old_tuple, 1, 'n', NULL, 0);
	assert_val(&m.old_tuple, 2, 'n', NULL, 0);
	sl_pgo_msg_free(&m);
}

static void test_truncate_and_message(void **state)
{
	(void)state;
	sl_pgo_msg m = {0};
	decode_ok(h_trunc2, false, &m);
	assert_int_equal(m.type, SL_PGO_TRUNCATE);
	assert_int_equal(m.truncate_options,
	                 SL_PGO_TRUNCATE_CASCADE | SL_PGO_TRUNCATE_RESTART_IDENTITY);
	assert_int_equal(m.nrelids, 2);
	assert_int_equal(m.relids[0], 16400);
	assert_int_equal(m.relids[1], 16405);
	uint32_t *relids = m.relids;

	decode_ok(h_trunc1, false, &m);
	assert_int_equal(m.truncate_options, 0);
	assert_int_equal(m.nrelids, 1);
	assert_int_equal(m.relids[0], 16400);
	assert_ptr_equal(m.relids, relids); /* array reused */

	decode_ok(h_msg_tx, false, &m);
	assert_int_equal(m.type, SL_PGO_MESSAGE);
	assert_int_equal(m.nrelids, 0);
	assert_int_equal(m.truncate_options, 0);
	assert_false(m.has_xid);
	assert_int_equal(m.flags, 1);
	assert_int_equal(m.lsn, 0x15505c8);
	assert_string_equal(m.prefix, "pfx");
	assert_int_equal(m.content_len, 5);
	assert_memory_equal(m.content, "hello", 5);

	decode_ok(h_msg_nontx, false, &m);
	assert_int_equal(m.flags, 0);
	assert_int_equal(m.lsn, 0x1550630);
	assert_string_equal(m.prefix, "nt");
	assert_int_equal(m.content_len, 3);
	assert_memory_equal(m.content, "bye", 3);
	sl_pgo_msg_free(&m);
}

static void test_stream(void **state)
{
	(void)state;
	sl_pgo_msg m = {0};
	decode_ok(h_sstart_first, false, &m);
	assert_int_equal(m.type, SL_PGO_STREAM_START);
	assert_int_equal(m.xid, 0x2f0);
	assert_true(m.first_segment);

	decode_ok(h_smsg, true, &m);
	assert_int_equal(m.type, SL_PGO_MESSAGE);
	assert_false(m.first_segment);
	assert_true(m.has_xid);
	assert_int_equal(m.xid, 0x2f0);
	assert_int_equal(m.flags, 1);
	assert_int_equal(m.lsn, 0x15580d8);
	assert_string_equal(m.prefix, "sp");
	assert_int_equal(m.content_len, 9);
	assert_memory_equal(m.content, "in stream", 9);

	decode_ok(h_srel, true, &m);
	assert_int_equal(m.type, SL_PGO_RELATION);
	assert_true(m.has_xid);
	assert_int_equal(m.xid, 0x2f0);
	assert_int_equal(m.relid, 16427);
	assert_string_equal(m.relname, "t_stream");
	assert_int_equal(m.ncolumns, 2);
	assert_col(&m, 0, 1, "id", 23, -1);
	assert_col(&m, 1, 0, "pad", 25, -1);

	decode_ok(h_sstop, false, &m);
	assert_int_equal(m.type, SL_PGO_STREAM_STOP);
	assert_false(m.has_xid);
	assert_int_equal(m.xid, 0);
	assert_int_equal(m.ncolumns, 0);

	decode_ok(h_sstart_next, false, &m);
	assert_int_equal(m.xid, 0x2f0);
	assert_false(m.first_segment);

	decode_ok(h_scommit, false, &m);
	assert_int_equal(m.type, SL_PGO_STREAM_COMMIT);
	assert_int_equal(m.xid, 0x2f0);
	assert_int_equal(m.flags, 0);
	assert_int_equal(m.lsn, 0x15c6b70);
	assert_int_equal(m.end_lsn, 0x15c6ba0);
	assert_true(m.end_lsn > m.lsn);
	assert_int_equal(m.ts, 0x000303f817372c29);

	/* second transaction: top-level insert, then one in a subtransaction after the abort of
	 * another: data messages carry the (sub)transaction's xid */
	decode_ok(h_sins_top, true, &m);
	assert_int_equal(m.type, SL_PGO_INSERT);
	assert_true(m.has_xid);
	assert_int_equal(m.xid, 0x2f1);
	assert_int_equal(m.relid, 16427);
	assert_int_equal(m.new_tuple.ncols, 2);
	assert_val(&m.new_tuple, 0, 'b', "\0\1\x86\xa0", 4); /* 100000 */
	assert_val(&m.new_tuple, 1, 'b', "keep", 4);

	decode_ok(h_sabort_sub, false, &m);
	assert_int_equal(m.type, SL_PGO_STREAM_ABORT);
	assert_int_equal(m.xid, 0x2f1);
	assert_int_equal(m.subxid, 0x2f2);
	assert_int_equal(m.lsn, 0);
	assert_int_equal(m.ts, 0);

	decode_ok(h_sins_sub, true, &m);
	assert_int_equal(m.xid, 0x2f3);
	assert_val(&m.new_tuple, 0, 'b', "\0\1\x86\xa1", 4);
	assert_val(&m.new_tuple, 1, 'b', "keep2", 5);

	/* whole transaction rolled back: subxid == xid */
	decode_ok(h_sabort_top, false, &m);
	assert_int_equal(m.xid, 0x2f4);
	assert_int_equal(m.subxid, 0x2f4);

	/* PostgreSQL 16+ (protocol 4) appends the abort LSN and timestamp */
	decode_ok("41000002f4000002f4"
	          "00000000016a4448"
	          "000303f817372c29",
	          false, &m);
	assert_int_equal(m.xid, 0x2f4);
	assert_int_equal(m.subxid, 0x2f4);
	assert_int_equal(m.lsn, 0x16a4448);
	assert_int_equal(m.ts, 0x000303f817372c29);

	/* the xid leaves no trace in the next non-stream message */
	decode_ok(h_sins_top, true, &m);
	decode_ok(h_ins_pk_bin, false, &m);
	assert_false(m.has_xid);
	assert_int_equal(m.xid, 0);
	assert_int_equal(m.relid, 16393);
	sl_pgo_msg_free(&m);
}

static void test_stream_flag_mismatch(void **state)
{
	(void)state;
	sl_pgo_msg m = {0};
	sl_error err = {0};
	/* a streamed insert read as if outside a stream: its xid is taken for the relid and the
	 * relid's bytes for the 'N' marker */
	decode_err(h_sins_top, false, &m, &err);
	assert_non_null(strstr(err.msg, "Insert message"));
	/* a streamed relation read without the xid ends up misaligned */
	decode_err(h_srel, false, &m, &err);
	/* Stream Abort with a partial PostgreSQL 16 tail */
	decode_err("41000002f4000002f400000000016a4448", false, &m, &err);
	assert_non_null(strstr(err.msg, "Stream Abort message truncated in abort timestamp"));
	sl_pgo_msg_free(&m);
}

/* Every captured message, with whether it was inside a stream. */
static const struct captured {
	const char *hex;
	bool in_stream;
} all[] = {
        {h_begin, false},         {h_rel_pk, false},
        {h_ins_pk_bin, false},    {h_ins_pk_text, false},
        {h_commit, false},        {h_upd_toast, false},
        {h_upd_key_bin, false},   {h_upd_key_text, false},
        {h_rel_full, false},      {h_upd_full, false},
        {h_del_full, false},      {h_del_key, false},
        {h_type_mood, false},     {h_rel_types, false},
        {h_ins_types_bin, false}, {h_ins_types_text, false},
        {h_trunc2, false},        {h_trunc1, false},
        {h_msg_tx, false},        {h_msg_nontx, false},
        {h_begin_origin, false},  {h_origin, false},
        {h_sstart_first, false},  {h_smsg, true},
        {h_srel, true},           {h_sins_top, true},
        {h_sins_sub, true},       {h_sstop, false},
        {h_scommit, false},       {h_sabort_sub, false},
        {h_sabort_top, false},    {h_sstart_next, false},
};

#define NALL (sizeof all / sizeof all[0])

/* Every strict prefix of every captured message fails cleanly (under ASan: without reading
 * outside the exactly-sized buffer). */
static void test_truncation_points(void **state)
{
	(void)state;
	sl_pgo_msg m = {0};
	for (size_t k = 0; k < NALL; k++) {
		size_t full;
		uint8_t *b = unhex(all[k].hex, &full);
		sl_error err = {0};
		assert_int_equal(sl_pgo_decode(b, full, all[k].in_stream, &m, &err), 0);
		for (size_t len = 0; len < full; len++) {
			uint8_t *p = malloc(len ? len : 1);
			memcpy(p, b, len);
			err = (sl_error){0};
			int rc = sl_pgo_decode(len ? p : NULL, len, all[k].in_stream, &m, &err);
			if (rc != SL_ERR_DATA)
				fail_msg("message %zu cut at %zu of %zu: rc %d", k, len, full, rc);
			assert_int_equal(m.type, 0);
			assert_true(strncmp(err.msg, "pgoutput: ", 10) == 0);
			free(p);
		}
		/* one byte too many: trailing garbage (for Stream Abort, a truncated PostgreSQL 16
		 * tail) */
		uint8_t *p = malloc(full + 1);
		memcpy(p, b, full);
		p[full] = 0;
		err = (sl_error){0};
		assert_int_equal(sl_pgo_decode(p, full + 1, all[k].in_stream, &m, &err),
		                 SL_ERR_DATA);
		assert_int_equal(m.type, 0);
		free(p);
		free(b);
	}

	/* the error says where the Update was cut */
	size_t full;
	uint8_t *b = unhex(h_upd_key_bin, &full);
	sl_error err = {0};
	assert_int_equal(sl_pgo_decode(b, full - 1, false, &m, &err), SL_ERR_DATA);
	assert_non_null(
	        strstr(err.msg, "pgoutput: Update message truncated in new tuple column 3"));
	assert_int_equal(sl_pgo_decode(b, full - 3, false, &m, &err), SL_ERR_DATA);
	assert_non_null(strstr(err.msg, "Update message truncated in new tuple column 2"));
	assert_int_equal(sl_pgo_decode(b, 9, false, &m, &err), SL_ERR_DATA);
	assert_non_null(strstr(err.msg, "Update message truncated in key tuple column 1"));
	assert_int_equal(sl_pgo_decode(b, 3, false, &m, &err), SL_ERR_DATA);
	assert_non_null(strstr(err.msg, "Update message truncated in relation id"));
	free(b);
	sl_pgo_msg_free(&m);
}

/* Single-byte corruptions of every captured message: each decode either fails with SL_ERR_DATA
 * or yields values that lie inside the buffer (AddressSanitizer checks the reads). */
static void test_corruptions(void **state)
{
	(void)state;
	static const uint8_t subst[] = {0x00, 0x01, 0x7f, 0x80, 0xff, 'n', 't', 'b', 'u', 'N', 'K'};
	sl_pgo_msg m = {0};
	for (size_t k = 0; k < NALL; k++) {
		size_t len;
		uint8_t *b = unhex(all[k].hex, &len);
		for (size_t i = 0; i < len; i++) {
			uint8_t orig = b[i];
			for (size_t s = 0; s < sizeof subst; s++) {
				for (int st = 0; st < 2; st++) {
					sl_error err = {0};
					b[i] = subst[s];
					int rc = sl_pgo_decode(b, len, st, &m, &err);
					if (rc != 0) {
						assert_int_equal(rc, SL_ERR_DATA);
						continue;
					}
					const sl_pgo_tuple *ts[2] = {&m.old_tuple, &m.new_tuple};
					for (int t = 0; t < 2; t++)
						for (int c = 0; c < ts[t]->ncols; c++) {
							const sl_pgo_value *v = &ts[t]->values[c];
							if (v->data == NULL)
								continue;
							assert_true(v->data >= b);
							assert_true(v->data + v->len <= b + len);
						}
				}
			}
			b[i] = orig;
		}
		free(b);
	}
	sl_pgo_msg_free(&m);
}

static void test_malformed(void **state)
{
	(void)state;
	sl_pgo_msg m = {0};
	sl_error err = {0};

	assert_int_equal(sl_pgo_decode(NULL, 0, false, &m, &err), SL_ERR_DATA);
	assert_non_null(strstr(err.msg, "empty"));

	/* unknown types, including the two-phase messages this decoder does not handle */
	decode_err("5a00", false, &m, &err);
	assert_non_null(strstr(err.msg, "unknown message type 'Z'"));
	decode_err("62", false, &m, &err);
	decode_err("ff", false, &m, &err);
	assert_non_null(strstr(err.msg, "0xff"));

	/* negative value length */
	decode_err("49000040094e000174ffffffff", false, &m, &err);
	assert_non_null(strstr(err.msg, "negative length (-1) in new tuple column 1"));
	/* value length past the end */
	decode_err("49000040094e0001740000000561626364", false, &m, &err);
	assert_non_null(strstr(err.msg, "truncated in new tuple column 1"));
	/* unknown value kind */
	decode_err("49000040094e0002"
	           "6e"
	           "78",
	           false, &m, &err);
	assert_non_null(strstr(err.msg, "unknown value kind 0x78 in new tuple column 2"));
	/* negative column count */
	decode_err("49000040094e"
	           "ffff",
	           false, &m, &err);
	assert_non_null(strstr(err.msg, "negative count"));
	/* a column count the buffer cannot hold is refused before allocating */
	decode_err("49000040094e"
	           "7fff"
	           "6e6e",
	           false, &m, &err);
	/* wrong tuple markers */
	decode_err("49000040094b00016e", false, &m, &err);
	assert_non_null(strstr(err.msg, "Insert message has tuple marker 0x4b"));
	decode_err("44000040094e00016e", false, &m, &err);
	decode_err("55000040094b00016e4b00016e", false, &m, &err);
	decode_err("5500004009"
	           "58"
	           "00016e",
	           false, &m, &err);

	/* strings without terminator */
	decode_err("4f0000000000abcdef73726331", false, &m, &err);
	assert_non_null(strstr(err.msg, "Origin message truncated (string without terminator) in "
	                                "origin name"));
	decode_err("52000040097075626c6963", false, &m, &err);
	assert_non_null(strstr(err.msg, "in namespace"));
	decode_err("59000040037075626c6963006d6f6f64", false, &m, &err);
	decode_err("4d010000000000000001706678", false, &m, &err);
	assert_non_null(strstr(err.msg, "in prefix"));
	/* relation with a column name missing its terminator */
	decode_err("5200004009"
	           "7400"
	           "7400"
	           "64"
	           "0001"
	           "00"
	           "6964"
	           "41414141414141414141",
	           false, &m, &err);
	assert_non_null(strstr(err.msg, "Relation message truncated (string without terminator) in "
	                                "column 1"));
	/* relation announcing more columns than fit */
	decode_err("5200004009"
	           "7400"
	           "7400"
	           "64"
	           "0002"
	           "01"
	           "696400"
	           "00000017"
	           "ffffffff",
	           false, &m, &err);
	assert_non_null(strstr(err.msg, "Relation message truncated in column 2"));

	/* message content: negative and over-long lengths */
	decode_err("4d000000000000000001707800ffffff00", false, &m, &err);
	assert_non_null(strstr(err.msg, "negative length"));
	decode_err("4d00000000000000000170780000000004616263", false, &m, &err);
	assert_non_null(strstr(err.msg, "Message message truncated in content"));

	/* truncate: negative count, and more relations than bytes */
	decode_err("54ffffffff00", false, &m, &err);
	decode_err("547fffffff000000400a", false, &m, &err);
	assert_non_null(strstr(err.msg, "Truncate message truncated in relation id 2"));
	assert_null(m.relids); /* nothing allocated for the announced count */

	/* trailing garbage */
	decode_err("4300000000000154d258000000000154d288000303f816a6c39a00", false, &m, &err);
	assert_non_null(strstr(err.msg, "Commit message has 1 trailing bytes"));
	decode_err("4500", false, &m, &err);
	decode_err("49000040094e00016e6e", false, &m, &err);

	/* after all these failures the arrays are still usable */
	decode_ok(h_rel_types, false, &m);
	assert_int_equal(m.ncolumns, 9);
	sl_pgo_msg_free(&m);
	sl_pgo_msg_free(&m); /* freeing twice is harmless */
}

static void test_reuse(void **state)
{
	(void)state;
	sl_pgo_msg m = {0};
	decode_ok(h_rel_types, false, &m);
	sl_pgo_column *cols = m.columns;
	int cap = m.columns_cap;
	assert_true(cap >= 9);
	decode_ok(h_rel_pk, false, &m);
	assert_int_equal(m.ncolumns, 3);
	assert_ptr_equal(m.columns, cols);
	assert_int_equal(m.columns_cap, cap);
	assert_string_equal(m.columns[2].name, "big");

	/* tuples grow, then shrink without reallocating */
	decode_ok(h_ins_types_bin, false, &m);
	sl_pgo_value *vals = m.new_tuple.values;
	decode_ok(h_ins_pk_bin, false, &m);
	assert_ptr_equal(m.new_tuple.values, vals);
	assert_int_equal(m.new_tuple.ncols, 3);
	/* fields of other types are cleared */
	assert_int_equal(m.ncolumns, 0);
	assert_null(m.relname);
	assert_null(m.nspname);
	assert_int_equal(m.replident, 0);
	assert_ptr_equal(m.columns, cols); /* but the array is kept */

	decode_ok(h_begin, false, &m);
	assert_int_equal(m.relid, 0);
	assert_int_equal(m.new_tuple.ncols, 0);
	assert_int_equal(m.old_kind, 0);
	sl_pgo_msg_free(&m);
	assert_null(m.columns);
	assert_null(m.new_tuple.values);
	assert_int_equal(m.columns_cap, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_teardown(test_begin_commit, teardown_bufs),
	        cmocka_unit_test_teardown(test_relation_and_type, teardown_bufs),
	        cmocka_unit_test_teardown(test_insert, teardown_bufs),
	        cmocka_unit_test_teardown(test_update_delete, teardown_bufs),
	        cmocka_unit_test_teardown(test_truncate_and_message, teardown_bufs),
	        cmocka_unit_test_teardown(test_stream, teardown_bufs),
	        cmocka_unit_test_teardown(test_stream_flag_mismatch, teardown_bufs),
	        cmocka_unit_test_teardown(test_truncation_points, teardown_bufs),
	        cmocka_unit_test_teardown(test_corruptions, teardown_bufs),
	        cmocka_unit_test_teardown(test_malformed, teardown_bufs),
	        cmocka_unit_test_teardown(test_reuse, teardown_bufs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
