/* MySQL / MariaDB change versions (sl_my_version over sl_gtid_set_count): a transaction's version
 * is a function of the executed GTID set with its GTID, grows with every transaction in commit
 * order whatever the binlog coordinates do (failover to a server with another uuid or server
 * id, a new domain), is the same when the transactions are read again from any saved position,
 * and lies above every version of the old file number << 32 | offset scheme. */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "sources/mysql/my_source_int.h"

#define UA "3e11fa47-71ca-11e1-9e33-c80aa9429562"
#define UB "4f22ab58-82db-22f2-af44-d91bba53a673"

static sl_gtid_set *parse(sl_gtid_flavor f, const char *text)
{
	sl_error err = {0};
	sl_gtid_set *s = sl_gtid_set_parse(f, text, &err);
	if (s == NULL)
		fail_msg("'%s': %s", text, err.msg);
	return s;
}

/* count(a ∪ b) */
static uint64_t count2(sl_gtid_flavor f, const char *a, const char *b)
{
	sl_gtid_set *x = parse(f, a), *y = b ? parse(f, b) : NULL;
	uint64_t n = sl_gtid_set_count(x, y);
	sl_gtid_set_free(x);
	sl_gtid_set_free(y);
	return n;
}

static void test_count_mysql(void **state)
{
	(void)state;
	assert_true(count2(SL_GTID_MYSQL, "", NULL) == 0);
	assert_true(count2(SL_GTID_MYSQL, UA ":1-5:7," UB ":1-100", NULL) == 106);
	/* the union: new transactions count, ones already in the set do not */
	assert_true(count2(SL_GTID_MYSQL, UA ":1-5:7," UB ":1-100", UA ":6") == 107);
	assert_true(count2(SL_GTID_MYSQL, UA ":1-5:7," UB ":1-100", UA ":3") == 106);
	assert_true(count2(SL_GTID_MYSQL, UA ":1-5:7," UB ":1-100", UA ":4-10") == 110);
	assert_true(count2(SL_GTID_MYSQL, UA ":1-5:7," UB ":1-100", UA ":1-2:6:9-9") == 108);
	assert_true(count2(SL_GTID_MYSQL, UA ":1-5", UB ":1") == 6);
	assert_true(count2(SL_GTID_MYSQL, "", UA ":1-5") == 5);
	/* another flavour's set is ignored */
	sl_gtid_set *a = parse(SL_GTID_MYSQL, UA ":1-5"), *m = parse(SL_GTID_MARIADB, "0-1-9");
	assert_true(sl_gtid_set_count(a, m) == 5);
	sl_gtid_set_free(a);
	sl_gtid_set_free(m);
	/* the largest transaction numbers: exact, then saturated */
	assert_true(count2(SL_GTID_MYSQL, UA ":1-9223372036854775806", NULL) ==
	            UINT64_C(9223372036854775806));
	assert_true(count2(SL_GTID_MYSQL, UA ":1-9223372036854775806," UB ":1-9223372036854775806",
	                   "00000000-0000-0000-0000-000000000001:1-5") == UINT64_MAX);
}

static void test_count_mariadb(void **state)
{
	(void)state;
	assert_true(count2(SL_GTID_MARIADB, "", NULL) == 0);
	assert_true(count2(SL_GTID_MARIADB, "0-1-100,1-2-7", NULL) == 107);
	/* a failover: the new primary (server 3) continues domain 0 */
	assert_true(count2(SL_GTID_MARIADB, "0-1-100,1-2-7", "0-3-101") == 108);
	/* a new domain */
	assert_true(count2(SL_GTID_MARIADB, "0-1-100,1-2-7", "2-1-5") == 112);
	/* a gap in the seq numbers still raises it */
	assert_true(count2(SL_GTID_MARIADB, "0-1-100,1-2-7", "1-2-9") == 109);
	/* already contained: unchanged */
	assert_true(count2(SL_GTID_MARIADB, "0-1-100,1-2-7", "0-1-50") == 107);
	assert_true(count2(SL_GTID_MARIADB, "", "0-1-4") == 4);
	assert_true(count2(SL_GTID_MARIADB, "0-1-18446744073709551615,1-1-1", NULL) == UINT64_MAX);
}

/* One MariaDB transaction of a stream. */
struct txn {
	const char *gtid;
	uint32_t domain, server;
	uint64_t seq;
};

/* Read the transactions from `from` as the stream does: skip the contained ones, BEGIN's
 * version from the set plus the GTID, COMMIT's from the set after adding it; they must agree,
 * grow strictly, and equal want[i] (0: skipped; UINT64_MAX: not known yet, filled in). The
 * position after each is saved in pos[i]. */
static void replay(const char *from, const struct txn *t, int n, uint64_t *want, char pos[][256])
{
	sl_error err = {0};
	sl_gtid_set *s = parse(SL_GTID_MARIADB, from);
	uint64_t last;
	assert_int_equal(sl_my_version(s, NULL, &last, &err), 0);
	for (int i = 0; i < n; i++) {
		sl_gtid_set *x = parse(SL_GTID_MARIADB, t[i].gtid);
		uint64_t begin = 0, commit = 0;
		if (!sl_gtid_set_contains(s, x)) {
			assert_int_equal(sl_my_version(s, x, &begin, &err), 0);
			sl_gtid_set_add_mariadb(s, t[i].domain, t[i].server, t[i].seq);
			assert_int_equal(sl_my_version(s, NULL, &commit, &err), 0);
			assert_true(begin == commit);
			assert_true(begin > last);
			last = begin;
		}
		if (want[i] == UINT64_MAX)
			want[i] = begin;
		else if (want[i] != begin)
			fail_msg("transaction %d (%s) from '%s': version %" PRIu64
			         ", first read %" PRIu64,
			         i, t[i].gtid, from, begin, want[i]);
		sl_gtid_set_format(s, pos[i], 256);
		sl_gtid_set_free(x);
	}
	sl_gtid_set_free(s);
}

static void test_versions_mariadb(void **state)
{
	(void)state;
	/* domain 0 on server 1, a failover to server 2 (binlog coordinates start over there),
	 * then RESET MASTER with the GTID state carried over, a second domain, a seq gap */
	static const struct txn t[] = {
	        {"0-1-101", 0, 1, 101}, {"0-1-102", 0, 1, 102}, {"0-2-103", 0, 2, 103},
	        {"0-2-104", 0, 2, 104}, {"5-2-1", 5, 2, 1},     {"0-2-110", 0, 2, 110},
	        {"5-2-2", 5, 2, 2},
	};
	enum { N = sizeof t / sizeof *t };
	uint64_t want[N];
	char pos[N][256];
	for (int i = 0; i < N; i++)
		want[i] = UINT64_MAX;
	replay("0-1-100", t, N, want, pos);
	assert_true(want[0] == SL_MY_VERSION_BASE + 101);
	assert_true(want[5] == SL_MY_VERSION_BASE + 111);
	assert_string_equal(pos[N - 1], "0-2-110,5-2-2");
	/* resumed from each saved position (a crash, a restart): the rest get the same versions
	 * (the transactions up to the position are skipped: version 0 expected for them) */
	for (int k = 0; k < N; k++) {
		uint64_t again[N];
		char p2[N][256];
		for (int i = 0; i < N; i++)
			again[i] = i <= k ? 0 : want[i];
		replay(pos[k], t, N, again, p2);
		assert_string_equal(p2[N - 1], pos[N - 1]);
	}
}

static void test_versions_mysql(void **state)
{
	(void)state;
	/* MySQL: the GTID of each transaction, added as the stream adds it */
	static const char *const g[] = {UA ":6", UA ":7", UB ":1", UB ":2", UA ":5", UB ":3"};
	enum { N = sizeof g / sizeof *g };
	static const uint8_t ua[16] = {0x3e, 0x11, 0xfa, 0x47, 0x71, 0xca, 0x11, 0xe1,
	                               0x9e, 0x33, 0xc8, 0x0a, 0xa9, 0x42, 0x95, 0x62};
	static const uint8_t ub[16] = {0x4f, 0x22, 0xab, 0x58, 0x82, 0xdb, 0x22, 0xf2,
	                               0xaf, 0x44, 0xd9, 0x1b, 0xba, 0x53, 0xa6, 0x73};
	static const int64_t gno[] = {6, 7, 1, 2, 5, 3};
	static const int who[] = {0, 0, 1, 1, 0, 1};
	sl_error err = {0};
	uint64_t first[N];
	char pos[N][512];
	for (int from = -1; from < N; from++) {
		/* from -1: the start position; else resumed from what transaction `from` saved */
		sl_gtid_set *s = parse(SL_GTID_MYSQL, from < 0 ? UA ":1-4" : pos[from]);
		uint64_t last = 0;
		for (int i = from + 1; i < N; i++) {
			sl_gtid_set *x = parse(SL_GTID_MYSQL, g[i]);
			assert_false(sl_gtid_set_contains(s, x));
			uint64_t begin, commit;
			assert_int_equal(sl_my_version(s, x, &begin, &err), 0);
			sl_gtid_set_add_mysql(s, who[i] ? ub : ua, gno[i]);
			assert_int_equal(sl_my_version(s, NULL, &commit, &err), 0);
			assert_true(begin == commit);
			assert_true(begin > last);
			last = begin;
			if (from < 0) {
				first[i] = begin;
				sl_gtid_set_format(s, pos[i], sizeof pos[i]);
			} else {
				assert_true(begin == first[i]);
			}
			sl_gtid_set_free(x);
		}
		sl_gtid_set_free(s);
	}
	assert_true(first[0] == SL_MY_VERSION_BASE + 5);
	assert_true(first[N - 1] == SL_MY_VERSION_BASE + 10);
	assert_string_equal(pos[N - 1], UA ":1-7," UB ":1-3");
}

static void test_version_range(void **state)
{
	(void)state;
	sl_error err = {0};
	uint64_t v = 1;
	/* above the old scheme (binlog file number << 32 | offset) for any file below 2^30 */
	uint64_t old_max = (UINT64_C(1) << 30) - 1;
	old_max = old_max << 32 | UINT32_MAX;
	sl_gtid_set *s = parse(SL_GTID_MARIADB, "");
	assert_int_equal(sl_my_version(s, NULL, &v, &err), 0);
	assert_true(v == SL_MY_VERSION_BASE);
	assert_true(v > old_max);
	sl_gtid_set_free(s);
	/* the largest count that fits a signed 64-bit column, and one more */
	s = parse(SL_GTID_MARIADB, "0-1-4611686018427387903");
	assert_int_equal(sl_my_version(s, NULL, &v, &err), 0);
	assert_true(v == (uint64_t)INT64_MAX);
	sl_gtid_set_free(s);
	s = parse(SL_GTID_MARIADB, "0-1-4611686018427387904");
	assert_int_equal(sl_my_version(s, NULL, &v, &err), SL_ERR_STATE);
	assert_non_null(strstr(err.msg, "4611686018427387904 transactions"));
	sl_gtid_set_free(s);
	s = parse(SL_GTID_MARIADB, "0-1-18446744073709551615");
	assert_int_equal(sl_my_version(s, NULL, &v, &err), SL_ERR_STATE);
	sl_gtid_set_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_count_mysql),      cmocka_unit_test(test_count_mariadb),
	        cmocka_unit_test(test_versions_mariadb), cmocka_unit_test(test_versions_mysql),
	        cmocka_unit_test(test_version_range),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
