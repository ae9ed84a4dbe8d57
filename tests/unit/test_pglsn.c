/* PostgreSQL LSN text, as stored in the state store and on the target and then written into
 * START_REPLICATION: only "X/X" with 1 to 8 hexadecimal digits on each side is an LSN. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "formats/pgsql.h"

#include "sources/postgres/pg_source_int.h"

static void test_lsn_valid(void **state)
{
	(void)state;
	uint64_t v = 1;
	assert_int_equal(sl_pg_parse_lsn("0/0", &v), 0);
	assert_true(v == 0);
	assert_int_equal(sl_pg_parse_lsn("0/16B3748", &v), 0);
	assert_true(v == 0x16B3748);
	assert_int_equal(sl_pg_parse_lsn("1a/ff", &v), 0);
	assert_true(v == ((uint64_t)0x1a << 32 | 0xff));
	assert_int_equal(sl_pg_parse_lsn("FFFFFFFF/FFFFFFFF", &v), 0);
	assert_true(v == UINT64_MAX);
}

static void test_lsn_malformed(void **state)
{
	(void)state;
	static const char *bad[] = {
	        "",
	        "0",
	        "0/",
	        "/0",
	        "0/0 ",
	        " 0/0",
	        "+0/0",
	        "0/-1",
	        "0x0/0",
	        "0/0x10",
	        "0/1A2B3C4D) (proto_version '1')",
	        "0/0; DROP TABLE t",
	        "0/0\n",
	        "100000000/0",
	        "0/123456789",
	        "g/0",
	        "0//0",
	        "0/0/0",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		uint64_t v = 42;
		if (sl_pg_parse_lsn(bad[i], &v) == 0)
			fail_msg("'%s' was accepted as an LSN", bad[i]);
	}
	uint64_t v;
	assert_true(sl_pg_parse_lsn(NULL, &v) < 0);
}

/* A backfill slice's snapshot: what it did not see (core/backfill.h's race check) */
static void test_snapshot_unseen(void **state)
{
	(void)state;
	sl_unseen u;
	sl_pg_parse_snapshot("100:105:100,102", &u);
	assert_int_equal(u.n, 2);
	assert_true(sl_unseen_has(&u, 100));
	assert_true(sl_unseen_has(&u, 102));
	assert_false(sl_unseen_has(&u, 101)); /* completed before the snapshot */
	assert_false(sl_unseen_has(&u, 99));
	/* at or above xmax: running and not listed (the newest transaction still committing) */
	assert_true(sl_unseen_has(&u, 105));
	assert_true(sl_unseen_has(&u, 106));
	sl_unseen_free(&u);
	/* no running transaction listed: xmax still counts */
	sl_pg_parse_snapshot("105807:105807:", &u);
	assert_int_equal(u.n, 0);
	assert_true(sl_unseen_has(&u, 105807));
	assert_false(sl_unseen_has(&u, 105806));
	sl_unseen_free(&u);
	/* 64-bit xids with an epoch: compared as the 32-bit xids pgoutput carries, wrapping */
	sl_pg_parse_snapshot("8589934590:8589934593:8589934591",
	                     &u);                    /* epoch 2, xids 4294967294.. */
	assert_true(sl_unseen_has(&u, 4294967295u)); /* listed */
	assert_false(sl_unseen_has(&u, 4294967294u));
	assert_true(sl_unseen_has(&u, 1)); /* 8589934593 = epoch 2, xid 1: at xmax */
	assert_true(sl_unseen_has(&u, 2));
	assert_false(sl_unseen_has(&u, 4294967290u));
	sl_unseen_free(&u);
	sl_pg_parse_snapshot("garbage", &u);
	assert_int_equal(u.n, 0);
	assert_false(sl_unseen_has(&u, 1));
	/* sorted once, looked up by bisection: the same answers as the linear scan */
	sl_pg_parse_snapshot("1000:2000:1900,1003,1500,1001,1999", &u);
	bool before[1101];
	for (int i = 0; i < 1101; i++)
		before[i] = sl_unseen_has(&u, (uint64_t)(1000 + i));
	sl_unseen_sort(&u);
	assert_true(u.sorted);
	for (int i = 1; i < u.n; i++)
		assert_true(u.ids[i - 1] < u.ids[i]);
	for (int i = 0; i < 1101; i++)
		assert_int_equal(sl_unseen_has(&u, (uint64_t)(1000 + i)), before[i]);
	assert_true(sl_unseen_has(&u, 1003) && sl_unseen_has(&u, 2000));
	assert_false(sl_unseen_has(&u, 1002) || sl_unseen_has(&u, 999));
	sl_unseen_free(&u);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_lsn_valid),
	        cmocka_unit_test(test_lsn_malformed),
	        cmocka_unit_test(test_snapshot_unseen),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
