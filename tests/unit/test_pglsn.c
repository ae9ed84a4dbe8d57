/* PostgreSQL LSN text, as stored in the state store and on the target and then written into
 * START_REPLICATION: only "X/X" with 1 to 8 hexadecimal digits on each side is an LSN. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

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

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_lsn_valid),
	        cmocka_unit_test(test_lsn_malformed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
