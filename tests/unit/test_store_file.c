/* The file:// store (stores/file.c) keeps the promises of core/store.h: whole objects or none,
 * replace on put, conditional create, listing by prefix without temporary files, missing objects
 * reported as such, aborted writes leaving nothing, bad keys and URLs refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/store.h"

struct seen {
	char keys[16][128];
	int64_t sizes[16];
	int n;
};

static int collect(void *ctx, const sl_store_object *o, sl_error *err)
{
	(void)err;
	struct seen *s = ctx;
	assert_true(s->n < 16);
	snprintf(s->keys[s->n], 128, "%s", o->key);
	s->sizes[s->n++] = o->size;
	return 0;
}

static bool has(const struct seen *s, const char *key)
{
	for (int i = 0; i < s->n; i++)
		if (strcmp(s->keys[i], key) == 0)
			return true;
	return false;
}

static void test_file_store(void **state)
{
	(void)state;
	char dir[] = "/tmp/sluice-store-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char url[256];
	snprintf(url, sizeof url, "file://%s/root/", dir); /* created on open; slash ignored */
	const sl_store_ops *ops;
	sl_store *s;
	sl_error err = {0};
	assert_int_equal(sl_store_open(url, "target", NULL, &ops, &s, &err), 0);
	assert_string_equal(ops->scheme, "file");
	assert_int_equal(ops->check(s, &err), 0);

	assert_int_equal(ops->put(s, "a/b/one.parquet", "hello", 5, &err), 0);
	assert_int_equal(ops->put(s, "a/b/one.parquet", "bye", 3, &err), 0); /* replaced whole */
	sl_buf b = {0};
	assert_int_equal(ops->get(s, "a/b/one.parquet", &b, &err), 0);
	assert_int_equal(b.len, 3);
	assert_memory_equal(b.data, "bye", 3);
	int64_t size = 0;
	assert_int_equal(ops->size(s, "a/b/one.parquet", &size, &err), 0);
	assert_int_equal(size, 3);
	char part[2];
	assert_int_equal(ops->get_range(s, "a/b/one.parquet", 1, part, 2, &err), 0);
	assert_memory_equal(part, "ye", 2);
	assert_true(ops->get_range(s, "a/b/one.parquet", 2, part, 2, &err) < 0); /* past the end */
	assert_int_equal(ops->get(s, "a/b/none", &b, &err), SL_STORE_MISSING);
	assert_int_equal(ops->size(s, "a/none", &size, &err), SL_STORE_MISSING);

	/* conditional create */
	assert_int_equal(ops->create_new(s, "a/lock", "1", 1, &err), 0);
	assert_int_equal(ops->create_new(s, "a/lock", "2", 1, &err), SL_STORE_EXISTS);
	assert_int_equal(ops->get(s, "a/lock", &b, &err), 0);
	assert_memory_equal(b.data, "1", 1);

	/* a streamed object appears at commit, and an aborted one never */
	sl_store_writer *w;
	assert_int_equal(ops->writer_open(s, "a/c/big", &w, &err), 0);
	assert_int_equal(ops->write(w, "12345", 5, &err), 0);
	assert_int_equal(ops->write(w, "678", 3, &err), 0);
	assert_int_equal(ops->size(s, "a/c/big", &size, &err), SL_STORE_MISSING);
	struct seen seen = {0};
	assert_int_equal(ops->list(s, "a/", collect, &seen, &err), 0);
	assert_false(has(&seen, "a/c/big")); /* the temporary file is not listed */
	assert_int_equal(ops->commit(w, &err), 0);
	assert_int_equal(ops->size(s, "a/c/big", &size, &err), 0);
	assert_int_equal(size, 8);
	assert_int_equal(ops->writer_open(s, "a/c/gone", &w, &err), 0);
	assert_int_equal(ops->write(w, "x", 1, &err), 0);
	ops->abort(w);
	assert_int_equal(ops->size(s, "a/c/gone", &size, &err), SL_STORE_MISSING);

	/* listing by prefix: every object under it, once; not others */
	assert_int_equal(ops->put(s, "ab/other", "z", 1, &err), 0);
	assert_int_equal(ops->put(s, "b/x", "z", 1, &err), 0);
	memset(&seen, 0, sizeof seen);
	assert_int_equal(ops->list(s, "a/", collect, &seen, &err), 0);
	assert_int_equal(seen.n, 3);
	assert_true(has(&seen, "a/b/one.parquet"));
	assert_true(has(&seen, "a/lock"));
	assert_true(has(&seen, "a/c/big"));
	memset(&seen, 0, sizeof seen);
	assert_int_equal(ops->list(s, "a", collect, &seen, &err), 0);
	assert_int_equal(seen.n, 4); /* "ab/other" too: a prefix, not a directory */
	memset(&seen, 0, sizeof seen);
	assert_int_equal(ops->list(s, "zzz/", collect, &seen, &err), 0);
	assert_int_equal(seen.n, 0);

	assert_int_equal(ops->del(s, "a/lock", &err), 0);
	assert_int_equal(ops->del(s, "a/lock", &err), 0); /* gone already: success */
	assert_int_equal(ops->size(s, "a/lock", &size, &err), SL_STORE_MISSING);

	/* keys that leave the store are refused */
	assert_true(ops->put(s, "../escape", "x", 1, &err) < 0);
	assert_true(ops->put(s, "/abs", "x", 1, &err) < 0);
	assert_true(ops->put(s, "a//b", "x", 1, &err) < 0);

	/* a temporary file of a writer that died is removed when the store is opened again */
	char stale[512];
	snprintf(stale, sizeof stale, "%s/root/a/.x.sluice-tmp-999999999-0", dir);
	FILE *f = fopen(stale, "w");
	assert_non_null(f);
	fclose(f);
	ops->close(s);
	assert_int_equal(sl_store_open(url, "target", NULL, &ops, &s, &err), 0);
	assert_int_not_equal(access(stale, F_OK), 0);
	ops->close(s);

	/* URLs */
	assert_true(sl_store_open("file://relative/dir", "target", NULL, &ops, &s, &err) < 0);
	assert_non_null(strstr(err.msg, "file:///path/to/dir"));
	assert_true(sl_store_open("gopher://x", "buffer", NULL, &ops, &s, &err) < 0);
	assert_non_null(strstr(err.msg, "scheme 'gopher' is not supported"));
	/* settings a store does not take are refused, naming them */
	sl_store_settings region = {NULL, "eu-west-1", -1}, ep = {"http://127.0.0.1:1", NULL, -1};
	sl_store_settings badep = {"ftp://x", NULL, -1};
	assert_true(sl_store_open(url, "target", &region, &ops, &s, &err) < 0);
	assert_non_null(strstr(err.msg, "region and path_style are settings of s3://"));
	assert_true(sl_store_open(url, "buffer", &ep, &ops, &s, &err) < 0);
	assert_non_null(strstr(err.msg, "endpoint is a setting of s3:// and azure://"));
	assert_true(sl_store_open("s3://b/p", "buffer", &badep, &ops, &s, &err) < 0);
	assert_non_null(strstr(err.msg, "buffer.endpoint 'ftp://x' is not an http://"));
	assert_true(sl_store_open("/just/a/path", "target", NULL, &ops, &s, &err) < 0);
	assert_non_null(strstr(err.msg, "no scheme"));
	char file_url[300];
	snprintf(file_url, sizeof file_url, "file://%s/root/a/b/one.parquet", dir);
	assert_true(sl_store_open(file_url, "target", NULL, &ops, &s, &err) <
	            0); /* not a directory */

	sl_buf_free(&b);
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_file_store),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
