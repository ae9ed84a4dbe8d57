/* Unit tests for the pipeline file parser (src/core/config.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/config.h"
#include "core/pipeline.h"
#include "core/log.h"

#define MIB ((int64_t)1024 * 1024)

static const char full_yaml[] =
        "name: shop\n"
        "log_level: debug\n"
        "source:\n"
        "  type: postgres\n"
        "  url: postgres://sluice@127.0.0.1:5432/shop\n"
        "  password: src-pw-full-1\n"
        "  publication: pub_shop\n"
        "  slot: slot_shop\n"
        "  tables:\n"
        "    include: [public.*, sales.orders]\n"
        "    exclude: [public.audit_log]\n"
        "target:\n"
        "  type: postgres\n"
        "  url: postgres://sluice@127.0.0.1:5433/warehouse\n"
        "  password: tgt-pw-full-2\n"
        "  schema: shop\n"
        "  database: analytics\n"
        "snapshot: { parallelism: 4, chunk_size: 32MiB, queue_size: 16 MB }\n"
        "apply:    { max_group_bytes: 8KiB, max_delay: 250ms }\n"
        "state:    { url: sqlite:///var/lib/sluice/state.db }\n";

static sl_config *parse_ok(const char *yaml)
{
	sl_config *cfg = NULL;
	sl_error err = {0};
	int rc = sl_config_parse(yaml, strlen(yaml), "test.yaml", &cfg, &err);
	if (rc != 0)
		fail_msg("unexpected error: %s", err.msg);
	assert_non_null(cfg);
	return cfg;
}

/* Parse expecting SL_ERR_CONFIG, from the file or from the connectors' check of their
 * sections (as every command does first); err->msg holds the message. */
static void parse_fail(const char *yaml, sl_error *err)
{
	sl_config *cfg = (sl_config *)(uintptr_t)1;
	memset(err, 0, sizeof *err);
	int rc = sl_config_parse(yaml, strlen(yaml), "test.yaml", &cfg, err);
	if (rc == 0) {
		assert_non_null(cfg);
		const sl_source_ops *sops;
		const sl_target_ops *tops;
		rc = sl_pipeline_connectors(cfg, &sops, &tops, err);
		sl_config_free(cfg);
		cfg = NULL;
	}
	assert_int_equal(rc, SL_ERR_CONFIG);
	assert_int_equal(err->code, SL_ERR_CONFIG);
	assert_null(cfg);
	assert_true(strlen(err->msg) > 0);
}

/* A connector's own string key, as the connector reads it. */
static char *opt(const sl_config *cfg, const char *section, const char *key)
{
	char *s = NULL;
	sl_error err = {0};
	if (sl_config_opt_string(cfg, section, key, &s, &err) < 0)
		fail_msg("unexpected error: %s", err.msg);
	return s;
}

static void assert_opt(const sl_config *cfg, const char *section, const char *key, const char *want)
{
	char *s = opt(cfg, section, key);
	if (want == NULL)
		assert_null(s);
	else
		assert_string_equal(s, want);
	free(s);
}

static void assert_contains(const char *haystack, const char *needle)
{
	if (strstr(haystack, needle) == NULL)
		fail_msg("expected \"%s\" in \"%s\"", needle, haystack);
}

static void test_full_example(void **state)
{
	(void)state;
	sl_config *cfg = parse_ok(full_yaml);
	assert_null(cfg->path);
	assert_string_equal(cfg->name, "shop");
	assert_string_equal(cfg->log_level, "debug");
	assert_string_equal(cfg->source.type, "postgres");
	assert_string_equal(cfg->source.url, "postgres://sluice@127.0.0.1:5432/shop");
	assert_string_equal(cfg->source.password, "src-pw-full-1");
	assert_opt(cfg, "source", "publication", "pub_shop");
	assert_opt(cfg, "source", "slot", "slot_shop");
	assert_int_equal(cfg->source.include.count, 2);
	assert_string_equal(cfg->source.include.items[0], "public.*");
	assert_string_equal(cfg->source.include.items[1], "sales.orders");
	assert_int_equal(cfg->source.exclude.count, 1);
	assert_string_equal(cfg->source.exclude.items[0], "public.audit_log");
	assert_opt(cfg, "source", "schema", NULL);
	assert_opt(cfg, "source", "database", NULL);
	assert_string_equal(cfg->target.type, "postgres");
	assert_string_equal(cfg->target.url, "postgres://sluice@127.0.0.1:5433/warehouse");
	assert_string_equal(cfg->target.password, "tgt-pw-full-2");
	assert_opt(cfg, "target", "schema", "shop");
	assert_opt(cfg, "target", "database", "analytics");
	assert_int_equal(cfg->target.include.count, 0);
	assert_int_equal(cfg->snapshot_parallelism, 4);
	assert_int_equal(cfg->snapshot_chunk_bytes, 32 * MIB);
	assert_int_equal(cfg->queue_bytes, 16000000);
	assert_int_equal(cfg->apply_max_group_bytes, 8192);
	assert_int_equal(cfg->apply_max_delay_ms, 250);
	assert_string_equal(cfg->state_url, "sqlite:///var/lib/sluice/state.db");
	sl_config_free(cfg);
}

static const char minimal_yaml[] = "name: shop\n"
                                   "source:\n"
                                   "  type: postgres\n"
                                   "  url: postgres://a@h/shop\n"
                                   "target:\n"
                                   "  type: postgres\n"
                                   "  url: postgres://a@h/wh\n";

static void test_defaults(void **state)
{
	(void)state;
	sl_config *cfg = parse_ok(minimal_yaml);
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	if (cpus < 1)
		cpus = 1;
	if (cpus > 256)
		cpus = 256;
	assert_int_equal(cfg->snapshot_parallelism, cpus);
	assert_true(cfg->snapshot_parallelism >= 1);
	assert_int_equal(cfg->snapshot_chunk_bytes, 1024 * MIB);
	assert_int_equal(cfg->queue_bytes, 64 * MIB);
	assert_int_equal(cfg->apply_max_group_bytes, 64 * MIB);
	assert_int_equal(cfg->apply_max_delay_ms, 1000);
	assert_string_equal(cfg->state_url, "sqlite://./sluice-state.db");
	assert_opt(cfg, "source", "publication", NULL); /* the connector's default */
	assert_null(cfg->source.password);
	assert_null(cfg->target.password);
	assert_opt(cfg, "target", "schema", NULL);
	assert_null(cfg->log_level);
	assert_int_equal(cfg->source.include.count, 0);
	assert_int_equal(cfg->source.exclude.count, 0);
	sl_config_free(cfg);

	/* empty sections and null values count as absent */
	cfg = parse_ok("name: x\n"
	               "source: {type: postgres, url: 'u://a', password: , publication: ~}\n"
	               "target: {type: postgres, url: 'u://b'}\n"
	               "snapshot:\n"
	               "apply: {}\n");
	assert_null(cfg->source.password);
	assert_opt(cfg, "source", "publication", NULL);
	assert_int_equal(cfg->apply_max_delay_ms, 1000);
	sl_config_free(cfg);
}

static void test_flow_and_block_sequences(void **state)
{
	(void)state;
	sl_config *cfg = parse_ok("name: shop\n"
	                          "source:\n"
	                          "  type: postgres\n"
	                          "  url: postgres://a@h/shop\n"
	                          "  tables:\n"
	                          "    include:\n"
	                          "      - public.*\n"
	                          "      - \"sales.order?\"\n"
	                          "    exclude: [public.audit_log, 'public.tmp_*']\n"
	                          "target: {type: postgres, url: postgres://a@h/wh}\n");
	assert_int_equal(cfg->source.include.count, 2);
	assert_string_equal(cfg->source.include.items[0], "public.*");
	assert_string_equal(cfg->source.include.items[1], "sales.order?");
	assert_int_equal(cfg->source.exclude.count, 2);
	assert_string_equal(cfg->source.exclude.items[0], "public.audit_log");
	assert_string_equal(cfg->source.exclude.items[1], "public.tmp_*");
	sl_config_free(cfg);

	/* a single string is a one-element list; an empty flow list is empty */
	cfg = parse_ok("name: shop\n"
	               "source:\n"
	               "  type: postgres\n"
	               "  url: postgres://a@h/shop\n"
	               "  tables: {include: public.orders, exclude: []}\n"
	               "target: {type: postgres, url: postgres://a@h/wh}\n");
	assert_int_equal(cfg->source.include.count, 1);
	assert_string_equal(cfg->source.include.items[0], "public.orders");
	assert_int_equal(cfg->source.exclude.count, 0);
	sl_config_free(cfg);
}

static void test_env_substitution(void **state)
{
	(void)state;
	setenv("SL_TEST_PG_PASSWORD", "env-secret-pw-77", 1);
	setenv("SL_TEST_HOST", "db.example", 1);
	setenv("SL_TEST_PORT", "6543", 1);
	setenv("SL_TEST_CHUNK", "2MiB", 1);
	sl_config *cfg = parse_ok("name: shop\n"
	                          "source:\n"
	                          "  type: postgres\n"
	                          "  url: postgres://sluice@${SL_TEST_HOST}:${SL_TEST_PORT}/shop\n"
	                          "  password: ${SL_TEST_PG_PASSWORD}\n"
	                          "target: {type: postgres, url: 'x://$notavar/${SL_TEST_HOST}'}\n"
	                          "snapshot: {chunk_size: '${SL_TEST_CHUNK}'}\n");
	assert_string_equal(cfg->source.url, "postgres://sluice@db.example:6543/shop");
	assert_string_equal(cfg->source.password, "env-secret-pw-77");
	assert_string_equal(cfg->target.url, "x://$notavar/db.example");
	assert_int_equal(cfg->snapshot_chunk_bytes, 2 * MIB);
	sl_config_free(cfg);

	/* the password was registered as a secret */
	char line[128] = "connecting with env-secret-pw-77 now";
	sl_redact_secrets(line, sizeof line);
	assert_string_equal(line, "connecting with *** now");
}

static void test_env_unset(void **state)
{
	(void)state;
	sl_error err;
	unsetenv("SL_TEST_NOT_SET_PW");
	parse_fail("name: shop\n"
	           "source:\n"
	           "  type: postgres\n"
	           "  url: postgres://a@h/shop\n"
	           "  password: ${SL_TEST_NOT_SET_PW}\n"
	           "target: {type: postgres, url: postgres://a@h/wh}\n",
	           &err);
	assert_contains(err.msg, "test.yaml:5:");
	assert_contains(err.msg, "environment variable SL_TEST_NOT_SET_PW is not set");
	assert_contains(err.msg, "${SL_TEST_NOT_SET_PW}");

	parse_fail("name: shop\n"
	           "source:\n"
	           "  type: postgres\n"
	           "  url: postgres://a@h/${SL_TEST_HOST\n"
	           "target: {type: postgres, url: postgres://a@h/wh}\n",
	           &err);
	assert_contains(err.msg, "test.yaml:4:");
	assert_contains(err.msg, "unterminated ${");

	parse_fail("name: shop\n"
	           "source:\n"
	           "  type: postgres\n"
	           "  url: postgres://a@h/${9bad}\n"
	           "target: {type: postgres, url: postgres://a@h/wh}\n",
	           &err);
	assert_contains(err.msg, "test.yaml:4:");
	assert_contains(err.msg, "source.url");
}

static void test_unknown_key(void **state)
{
	(void)state;
	sl_error err;
	parse_fail("name: shop\n"
	           "source:\n"
	           "  type: postgres\n"
	           "  url: postgres://a@h/shop\n"
	           "  tabels:\n"
	           "    include: [public.*]\n"
	           "target: {type: postgres, url: postgres://a@h/wh}\n",
	           &err);
	assert_contains(err.msg, "test.yaml:5:");
	assert_contains(err.msg, "unknown key 'tabels' in source");
	assert_contains(err.msg,
	                "the postgres source takes: type, url, password, password_file, tables, "
	                "heartbeat, max_retained_wal, tls, auth, aws_region, publication, slot)");

	parse_fail("name: shop\n"
	           "sorce: {}\n",
	           &err);
	assert_contains(err.msg, "test.yaml:2:");
	assert_contains(err.msg, "unknown key 'sorce' at the top level");

	parse_fail("name: shop\n"
	           "source: {type: postgres, url: u}\n"
	           "target: {type: postgres, url: u}\n"
	           "snapshot:\n"
	           "  parallelism: 2\n"
	           "  chunksize: 1MiB\n",
	           &err);
	assert_contains(err.msg, "test.yaml:6:");
	assert_contains(err.msg, "'chunksize' in snapshot");
}

static void test_source_only_and_target_only_keys(void **state)
{
	(void)state;
	sl_error err;
	parse_fail("name: shop\n"
	           "source: {type: postgres, url: u}\n"
	           "target:\n"
	           "  type: postgres\n"
	           "  url: u\n"
	           "  tables: {include: [public.*]}\n",
	           &err);
	assert_contains(err.msg, "test.yaml:6:");
	assert_contains(err.msg, "unknown key 'tables' in target");
	assert_contains(err.msg, "the postgres target takes: type, url, password, password_file, "
	                         "tls, auth, aws_region, schema)");

	parse_fail("name: shop\n"
	           "source:\n"
	           "  type: postgres\n"
	           "  url: u\n"
	           "  schema: shop\n"
	           "target: {type: postgres, url: u}\n",
	           &err);
	assert_contains(err.msg, "test.yaml:5:");
	assert_contains(err.msg, "unknown key 'schema' in source");

	parse_fail("name: shop\n"
	           "source: {type: postgres, url: u}\n"
	           "target: {type: postgres, url: u, slot: s}\n",
	           &err);
	assert_contains(err.msg, "test.yaml:3:");
	assert_contains(err.msg, "unknown key 'slot' in target");
}

static void test_duplicate_key(void **state)
{
	(void)state;
	sl_error err;
	parse_fail("name: shop\n"
	           "source:\n"
	           "  type: postgres\n"
	           "  url: a\n"
	           "  url: b\n"
	           "target: {type: postgres, url: u}\n",
	           &err);
	assert_contains(err.msg, "test.yaml:5:");
	assert_contains(err.msg, "duplicate key 'url' in source");
	assert_contains(err.msg, "line 4");
}

static void test_wrong_node_kind(void **state)
{
	(void)state;
	sl_error err;
	parse_fail("name: shop\n"
	           "source:\n"
	           "  type: postgres\n"
	           "  url: u\n"
	           "  tables:\n"
	           "    include: {public: yes}\n"
	           "target: {type: postgres, url: u}\n",
	           &err);
	assert_contains(err.msg, "test.yaml:6:");
	assert_contains(err.msg, "source.tables.include must be a list");

	parse_fail("name: shop\n"
	           "source:\n"
	           "  type: postgres\n"
	           "  url:\n"
	           "    host: x\n"
	           "target: {type: postgres, url: u}\n",
	           &err);
	assert_contains(err.msg, "test.yaml:5:");
	assert_contains(err.msg, "source.url must be a single value, not a mapping");

	parse_fail("name: shop\n"
	           "source:\n"
	           "  - type: postgres\n",
	           &err);
	assert_contains(err.msg, "test.yaml:3:");
	assert_contains(err.msg, "source must be a mapping");

	parse_fail("name: shop\n"
	           "source:\n"
	           "  type: postgres\n"
	           "  url: u\n"
	           "  tables:\n"
	           "    include:\n"
	           "      - public.a\n"
	           "      - [nested]\n"
	           "target: {type: postgres, url: u}\n",
	           &err);
	assert_contains(err.msg, "test.yaml:8:");
	assert_contains(err.msg, "item 2 is a list");

	parse_fail("name: shop\n"
	           "source: {type: postgres, url: u, tables: [public.*]}\n"
	           "target: {type: postgres, url: u}\n",
	           &err);
	assert_contains(err.msg, "test.yaml:2:");
	assert_contains(err.msg, "source.tables must be a mapping");
}

static void test_malformed_yaml(void **state)
{
	(void)state;
	sl_error err;
	parse_fail("name: shop\n"
	           "source:\n"
	           "  type: postgres\n"
	           "  url: [unclosed\n"
	           "target:\n"
	           "  type: postgres\n",
	           &err);
	assert_contains(err.msg, "test.yaml:");
	assert_contains(err.msg, "(fix the YAML syntax)");

	parse_fail("name: shop\n"
	           "source:\n"
	           "  type: postgres\n"
	           " url: bad-indent\n",
	           &err);
	assert_contains(err.msg, "test.yaml:4:");
	assert_contains(err.msg, "(fix the YAML syntax)");

	parse_fail("name: shop\n"
	           "source: {type: x, url: *nowhere}\n",
	           &err);
	assert_contains(err.msg, "test.yaml:2:");
	assert_contains(err.msg, "(fix the YAML syntax)");
}

static void test_empty_and_non_mapping(void **state)
{
	(void)state;
	sl_error err;
	parse_fail("", &err);
	assert_contains(err.msg, "test.yaml: the pipeline file is empty");
	parse_fail("# just a comment\n---\n", &err);
	assert_contains(err.msg, "empty");
	parse_fail("- name: shop\n", &err);
	assert_contains(err.msg, "test.yaml:1: the top level must be a mapping");
	parse_fail("just a string\n", &err);
	assert_contains(err.msg, "top level must be a mapping");
	parse_fail("name: a\n---\nname: b\n", &err);
	assert_contains(err.msg, "more than one YAML document");
}

static void test_missing_required_key(void **state)
{
	(void)state;
	sl_error err;
	parse_fail("name: shop\n"
	           "source:\n"
	           "  type: postgres\n"
	           "target: {type: postgres, url: u}\n",
	           &err);
	assert_string_equal(err.msg, "test.yaml: missing required key 'source.url'");

	parse_fail("source: {type: postgres, url: u}\n"
	           "target: {type: postgres, url: u}\n",
	           &err);
	assert_string_equal(err.msg, "test.yaml: missing required key 'name'");

	parse_fail("name: shop\n"
	           "source: {type: postgres, url: u}\n",
	           &err);
	assert_string_equal(err.msg, "test.yaml: missing required key 'target'");

	parse_fail("name: shop\n"
	           "source: {type: postgres, url: u}\n"
	           "target: {url: u}\n",
	           &err);
	assert_string_equal(err.msg, "test.yaml: missing required key 'target.type'");

	parse_fail("name: shop\n"
	           "source: {type: postgres, url: ''}\n"
	           "target: {type: postgres, url: u}\n",
	           &err);
	assert_contains(err.msg, "test.yaml:2: source.url is empty");
}

static void test_server_id(void **state)
{
	(void)state;
	sl_config *cfg = parse_ok("name: x\n"
	                          "source: {type: mysql, url: u, server_id: 4294967295}\n"
	                          "target: {type: postgres, url: u}\n");
	sl_error err = {0};
	uint64_t id = 0;
	assert_int_equal(sl_config_opt_uint(cfg, "source", "server_id", 1, UINT32_MAX, &id, &err),
	                 0);
	assert_int_equal(id, 4294967295u);
	sl_config_free(cfg);
	cfg = parse_ok(
	        "name: x\nsource: {type: mysql, url: u}\ntarget: {type: postgres, url: u}\n");
	id = 0;
	assert_int_equal(sl_config_opt_uint(cfg, "source", "server_id", 1, UINT32_MAX, &id, &err),
	                 0);
	assert_int_equal(id, 0);
	sl_config_free(cfg);
	const char *bad[] = {"0", "4294967296", "-1", "12x", "1.5"};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		char yaml[256];
		snprintf(yaml, sizeof yaml,
		         "name: x\nsource: {type: mysql, url: u, server_id: %s}\n"
		         "target: {type: postgres, url: u}\n",
		         bad[i]);
		cfg = parse_ok(yaml);
		assert_true(sl_config_opt_uint(cfg, "source", "server_id", 1, UINT32_MAX, &id,
		                               &err) < 0);
		assert_contains(err.msg, "test.yaml:2: source.server_id");
		assert_contains(err.msg, "must be a whole number from 1 to 4294967295");
		sl_config_free(cfg);
	}
}

static void test_bad_name(void **state)
{
	(void)state;
	sl_error err;
	parse_fail("name: shop-prod\n"
	           "source: {type: postgres, url: u}\n"
	           "target: {type: postgres, url: u}\n",
	           &err);
	assert_contains(err.msg, "test.yaml:1:");
	assert_contains(err.msg, "name 'shop-prod'");

	parse_fail("# header\n"
	           "name: \"shop db\"\n"
	           "source: {type: postgres, url: u}\n"
	           "target: {type: postgres, url: u}\n",
	           &err);
	assert_contains(err.msg, "test.yaml:2:");

	sl_config *cfg = parse_ok("name: Shop_2\n"
	                          "source: {type: postgres, url: u}\n"
	                          "target: {type: postgres, url: u}\n");
	assert_string_equal(cfg->name, "Shop_2");
	sl_config_free(cfg);
}

static void test_bad_values(void **state)
{
	(void)state;
	sl_error err;
	const char *head = "name: shop\n"
	                   "source: {type: postgres, url: u}\n"
	                   "target: {type: postgres, url: u}\n";
	char yaml[512];

	snprintf(yaml, sizeof yaml, "%ssnapshot: {parallelism: 0}\n", head);
	parse_fail(yaml, &err);
	assert_contains(err.msg, "test.yaml:4: snapshot.parallelism '0'");
	assert_contains(err.msg, "1 to 256");
	snprintf(yaml, sizeof yaml, "%ssnapshot: {parallelism: 257}\n", head);
	parse_fail(yaml, &err);
	assert_contains(err.msg, "test.yaml:4:");
	snprintf(yaml, sizeof yaml, "%ssnapshot: {parallelism: four}\n", head);
	parse_fail(yaml, &err);
	assert_contains(err.msg, "'four'");
	snprintf(yaml, sizeof yaml, "%ssnapshot: {parallelism: 256}\n", head);
	sl_config *cfg = parse_ok(yaml);
	assert_int_equal(cfg->snapshot_parallelism, 256);
	sl_config_free(cfg);

	snprintf(yaml, sizeof yaml, "%ssnapshot:\n  chunk_size: 64 MiBs\n", head);
	parse_fail(yaml, &err);
	assert_contains(err.msg, "test.yaml:5: snapshot.chunk_size '64 MiBs' is not a valid size");
	assert_contains(err.msg, "KiB, MiB or GiB");
	snprintf(yaml, sizeof yaml, "%sapply: {max_group_bytes: 0}\n", head);
	parse_fail(yaml, &err);
	assert_contains(err.msg, "apply.max_group_bytes must be greater than zero");
	/* a table's pending changes are one batch with 32-bit offsets: 2GiB would wrap them */
	snprintf(yaml, sizeof yaml, "%sapply: {max_group_bytes: 2GiB}\n", head);
	parse_fail(yaml, &err);
	assert_int_equal(err.code, SL_ERR_CONFIG);
	assert_contains(err.msg, "test.yaml:4: apply.max_group_bytes '2GiB' is too large: at most "
	                         "2147483647 bytes (2GiB - 1");
	snprintf(yaml, sizeof yaml, "%sapply: {max_group_bytes: 8GiB}\n", head);
	parse_fail(yaml, &err);
	assert_contains(err.msg, "apply.max_group_bytes '8GiB' is too large");
	snprintf(yaml, sizeof yaml, "%sapply: {max_group_bytes: 2047MiB}\n", head);
	cfg = parse_ok(yaml);
	assert_int_equal(cfg->apply_max_group_bytes, 2047 * MIB);
	sl_config_free(cfg);
	snprintf(yaml, sizeof yaml, "%sapply: {max_delay: 1d}\n", head);
	parse_fail(yaml, &err);
	assert_contains(err.msg, "test.yaml:4: apply.max_delay '1d' is not a valid duration");
	assert_contains(err.msg, "ms, s, m or h");
	snprintf(yaml, sizeof yaml, "log_level: verbose\n%s", head);
	parse_fail(yaml, &err);
	assert_contains(err.msg, "test.yaml:1: log_level 'verbose'");
	snprintf(yaml, sizeof yaml, "%sstate: sqlite://x.db\n", head);
	parse_fail(yaml, &err);
	assert_contains(err.msg, "test.yaml:4: state must be a mapping");
}

static void test_parse_size(void **state)
{
	(void)state;
	assert_int_equal(sl_parse_size("0"), 0);
	assert_int_equal(sl_parse_size("123"), 123);
	assert_int_equal(sl_parse_size("123B"), 123);
	assert_int_equal(sl_parse_size("1KB"), 1000);
	assert_int_equal(sl_parse_size("2MB"), 2000000);
	assert_int_equal(sl_parse_size("3GB"), 3000000000LL);
	assert_int_equal(sl_parse_size("1KiB"), 1024);
	assert_int_equal(sl_parse_size("64MiB"), 64 * MIB);
	assert_int_equal(sl_parse_size("64 MiB"), 64 * MIB);
	assert_int_equal(sl_parse_size("2GiB"), 2LL * 1024 * MIB);
	assert_int_equal(sl_parse_size("9223372036854775807"), INT64_MAX);
	assert_int_equal(sl_parse_size("9223372036854775808"), -1);
	assert_int_equal(sl_parse_size("9223372036854775807KiB"), -1);
	assert_int_equal(sl_parse_size("8589934592GiB"), -1);
	assert_int_equal(sl_parse_size("-1"), -1);
	assert_int_equal(sl_parse_size("-1MiB"), -1);
	assert_int_equal(sl_parse_size(""), -1);
	assert_int_equal(sl_parse_size("MiB"), -1);
	assert_int_equal(sl_parse_size("1.5MiB"), -1);
	assert_int_equal(sl_parse_size("1mib"), -1);
	assert_int_equal(sl_parse_size("1TB"), -1);
	assert_int_equal(sl_parse_size("1MiBx"), -1);
	assert_int_equal(sl_parse_size(" 1"), -1);
	assert_int_equal(sl_parse_size("0x10"), -1);
	assert_int_equal(sl_parse_size(NULL), -1);
}

static void test_parse_duration(void **state)
{
	(void)state;
	assert_int_equal(sl_parse_duration_ms("1"), 1000);
	assert_int_equal(sl_parse_duration_ms("0"), 0);
	assert_int_equal(sl_parse_duration_ms("250ms"), 250);
	assert_int_equal(sl_parse_duration_ms("1s"), 1000);
	assert_int_equal(sl_parse_duration_ms("5m"), 300000);
	assert_int_equal(sl_parse_duration_ms("2h"), 7200000);
	assert_int_equal(sl_parse_duration_ms("10 s"), 10000);
	assert_int_equal(sl_parse_duration_ms(""), -1);
	assert_int_equal(sl_parse_duration_ms("s"), -1);
	assert_int_equal(sl_parse_duration_ms("-1s"), -1);
	assert_int_equal(sl_parse_duration_ms("1.5s"), -1);
	assert_int_equal(sl_parse_duration_ms("1d"), -1);
	assert_int_equal(sl_parse_duration_ms("1sec"), -1);
	assert_int_equal(sl_parse_duration_ms("9223372036854775807h"), -1);
	assert_int_equal(sl_parse_duration_ms(NULL), -1);
}

/* observability: listen's form, a token required off loopback, the token a secret. */
static void test_observability(void **state)
{
	(void)state;
	char yaml[512];
	snprintf(yaml, sizeof yaml, "%sobservability: { listen: \"127.0.0.1:9464\" }\n",
	         minimal_yaml);
	sl_config *cfg = parse_ok(yaml);
	assert_string_equal(cfg->observe_listen, "127.0.0.1:9464");
	assert_null(cfg->observe_token);
	sl_config_free(cfg);
	snprintf(yaml, sizeof yaml, "%sobservability: { listen: \"[::1]:0\" }\n", minimal_yaml);
	sl_config_free(parse_ok(yaml));
	snprintf(yaml, sizeof yaml,
	         "%sobservability: { listen: \"0.0.0.0:9464\", token: s3cr3t-t0ken }\n",
	         minimal_yaml);
	cfg = parse_ok(yaml);
	assert_string_equal(cfg->observe_token, "s3cr3t-t0ken");
	sl_config_free(cfg);
	sl_error err;
	snprintf(yaml, sizeof yaml, "%sobservability: { listen: \"0.0.0.0:9464\" }\n",
	         minimal_yaml);
	parse_fail(yaml, &err);
	assert_contains(err.msg,
	                "0.0.0.0:9464 is not a loopback address, so observability.token is "
	                "required");
	snprintf(yaml, sizeof yaml, "%sobservability: { listen: \"9464\" }\n", minimal_yaml);
	parse_fail(yaml, &err);
	assert_contains(err.msg, "observability.listen: '9464' is not HOST:PORT");
	snprintf(yaml, sizeof yaml, "%sobservability: { listen: \"h:70000\" }\n", minimal_yaml);
	parse_fail(yaml, &err);
	snprintf(yaml, sizeof yaml, "%sobservability: { listen: \"127.0.0.1:+80\" }\n",
	         minimal_yaml);
	parse_fail(yaml, &err);
	snprintf(yaml, sizeof yaml,
	         "%sobservability: { listen: \"127.0.0.1:1\", token: a, token_file: /x }\n",
	         minimal_yaml);
	parse_fail(yaml, &err);
	snprintf(yaml, sizeof yaml, "%sobservability: { port: 1 }\n", minimal_yaml);
	parse_fail(yaml, &err);
	assert_contains(err.msg, "port");
	/* metrics off: no listener needed, and none allowed */
	snprintf(yaml, sizeof yaml, "%sobservability: { metrics: false }\n", minimal_yaml);
	sl_config *off = parse_ok(yaml);
	assert_true(off->observe_no_metrics);
	assert_null(off->observe_listen);
	sl_config_free(off);
	snprintf(yaml, sizeof yaml, "%sobservability: { metrics: true }\n", minimal_yaml);
	parse_fail(yaml, &err);
	assert_contains(err.msg, "observability.listen");
	snprintf(yaml, sizeof yaml,
	         "%sobservability: { metrics: false, listen: \"127.0.0.1:1\" }\n", minimal_yaml);
	parse_fail(yaml, &err);
	assert_contains(err.msg, "observability.metrics: false turns off");
	snprintf(yaml, sizeof yaml, "%sobservability: { metrics: no }\n", minimal_yaml);
	parse_fail(yaml, &err);
	assert_contains(err.msg, "observability.metrics");
	snprintf(yaml, sizeof yaml, "%slog: { format: json }\n", minimal_yaml);
	cfg = parse_ok(yaml);
	assert_true(cfg->log_json);
	sl_config_free(cfg);
	snprintf(yaml, sizeof yaml, "%slog: { format: xml }\n", minimal_yaml);
	parse_fail(yaml, &err);
	assert_contains(err.msg, "log.format 'xml' must be one of: text, json");
	assert_true(sl_cfg_listen_loopback("127.0.0.1:1") && sl_cfg_listen_loopback("[::1]:1") &&
	            sl_cfg_listen_loopback("localhost:1"));
	assert_false(sl_cfg_listen_loopback("10.0.0.1:1") || sl_cfg_listen_loopback("[::]:1") ||
	             sl_cfg_listen_loopback("127x.example:1") ||
	             sl_cfg_listen_loopback("127.evil.example:1"));
}

static void test_glob_match(void **state)
{
	(void)state;
	assert_true(sl_glob_match("public.*", "public.orders"));
	assert_true(sl_glob_match("public.*", "public."));
	assert_false(sl_glob_match("public.*", "sales.orders"));
	assert_false(sl_glob_match("public.*", "public"));
	assert_true(sl_glob_match("*.orders", "public.orders"));
	assert_true(sl_glob_match("*.orders", "a.b.orders"));
	assert_false(sl_glob_match("*.orders", "public.orders_old"));
	assert_true(sl_glob_match("*", ""));
	assert_true(sl_glob_match("*", "a.b"));
	assert_true(sl_glob_match("public.order?", "public.orders"));
	assert_false(sl_glob_match("public.order?", "public.order"));
	assert_false(sl_glob_match("public.order?", "public.orders2"));
	assert_true(sl_glob_match("p?blic.*s", "public.items"));
	assert_true(sl_glob_match("public.orders", "public.orders"));
	assert_false(sl_glob_match("public.orders", "Public.orders"));
	assert_false(sl_glob_match("public.orders", "public.order"));
	assert_false(sl_glob_match("", "x"));
	assert_true(sl_glob_match("", ""));
	assert_true(sl_glob_match("*a*b*c", "xxaxxbxxc"));
	assert_false(sl_glob_match("*a*b*c", "xxaxxcxxb"));
	assert_true(sl_glob_match("**.x", ".x"));
	/* pathological pattern: must finish quickly (no exponential backtracking) */
	char text[4001];
	memset(text, 'a', sizeof text - 1);
	text[sizeof text - 1] = '\0';
	assert_false(sl_glob_match("*a*a*a*a*a*a*a*a*a*a*b", text));
	assert_false(sl_glob_match(NULL, "x"));
	assert_false(sl_glob_match("x", NULL));
}

static void test_globs_select(void **state)
{
	(void)state;
	char *inc_items[] = {"public.*", "sales.orders"};
	char *exc_items[] = {"public.audit_log", "*.tmp_?"};
	sl_globs inc = {inc_items, 2}, exc = {exc_items, 2}, none = {NULL, 0};

	assert_true(sl_globs_select(&inc, &exc, "public.orders"));
	assert_true(sl_globs_select(&inc, &exc, "sales.orders"));
	assert_false(sl_globs_select(&inc, &exc, "sales.items"));
	assert_false(sl_globs_select(&inc, &exc, "public.audit_log"));
	assert_false(sl_globs_select(&inc, &exc, "public.tmp_1"));
	assert_true(sl_globs_select(&inc, &exc, "public.tmp_12"));
	/* empty include selects everything not excluded */
	assert_true(sl_globs_select(&none, &exc, "anything.at_all"));
	assert_false(sl_globs_select(&none, &exc, "public.audit_log"));
	assert_true(sl_globs_select(&none, &none, "x.y"));
	assert_true(sl_globs_select(NULL, NULL, "x.y"));
	assert_false(sl_globs_select(&inc, &none, "other.t"));
}

/* Every kind of error after (or on) a password line must keep the password out of the text. */

/* source.tables.columns and mask_key (core/columns.h checks them against tables later) */
static const char columns_yaml[] =
        "name: shop\n"
        "mask_key: ${SL_TEST_MASK_KEY}\n"
        "source:\n"
        "  type: postgres\n"
        "  url: postgres://a@h/shop\n"
        "  tables:\n"
        "    include: [public.*]\n"
        "    columns:\n"
        "      public.users: { exclude: [password_hash], mask: { email: hash, phone: null } }\n"
        "      public.orders: { include: [id, total, created_at] }\n"
        "      public.one: { exclude: secret }\n"
        "target: {type: postgres, url: postgres://a@h/wh}\n";

static void test_columns(void **state)
{
	(void)state;
	setenv("SL_TEST_MASK_KEY", "k3y-for-masking-0123456789", 1);
	sl_config *cfg = parse_ok(columns_yaml);
	assert_string_equal(cfg->mask_key, "k3y-for-masking-0123456789");
	assert_int_equal(cfg->source.ncolumns, 3);
	const sl_column_rule *u = sl_config_column_rule(cfg, "public.users");
	assert_non_null(u);
	assert_int_equal(u->line, 9);
	assert_int_equal(u->ninclude, 0);
	assert_int_equal(u->nexclude, 1);
	assert_string_equal(u->exclude[0], "password_hash");
	assert_int_equal(u->nmasks, 2);
	assert_string_equal(u->masks[0].column, "email");
	assert_int_equal(u->masks[0].mask, SL_MASK_HASH);
	assert_string_equal(u->masks[1].column, "phone");
	assert_int_equal(u->masks[1].mask, SL_MASK_NULL);
	const sl_column_rule *o = sl_config_column_rule(cfg, "public.orders");
	assert_non_null(o);
	assert_int_equal(o->ninclude, 3);
	assert_string_equal(o->include[2], "created_at");
	assert_int_equal(o->nmasks, 0);
	const sl_column_rule *one = sl_config_column_rule(cfg, "public.one");
	assert_non_null(one);
	assert_int_equal(one->nexclude, 1);
	assert_string_equal(one->exclude[0], "secret");
	assert_null(sl_config_column_rule(cfg, "public.other"));
	sl_config_free(cfg);
	/* the key is a secret from the moment it is read */
	char line[128] = "key k3y-for-masking-0123456789 here";
	sl_redact_secrets(line, sizeof line);
	assert_string_equal(line, "key *** here");
}

static void test_columns_errors(void **state)
{
	(void)state;
	static const struct {
		const char *columns;
		const char *expect;
	} cases[] = {
	        {"      public.u: { exclude: [a], include: [b] }\n",
	         "gives both include and exclude"},
	        {"      public.u: { exclude: [a], mask: { a: hash } }\n",
	         "masks column a, which is not replicated (remove it from exclude"},
	        {"      public.u: { include: [a], mask: { b: null } }\n",
	         "masks column b, which is not replicated (add it to include"},
	        {"      public.u: { mask: { a: sha1 } }\n", "mask.a must be hash or null"},
	        {"      public.u: { mask: { a: } }\n", "mask.a must be hash or null"},
	        {"      public.u: { mask: [a] }\n", "must be a mapping of column: hash or null"},
	        {"      public.u: { exclude: [a, a] }\n", "lists column 'a' twice"},
	        {"      public.u: { exclude: {a: b} }\n", "must be a list of column names"},
	        {"      public.u: { excludes: [a] }\n", "unknown key 'excludes'"},
	        {"      public.u: [a]\n", "must be a mapping with include or exclude"},
	        {"      public.u: { exclude: [a] }\n      public.u: { exclude: [b] }\n",
	         "gives table public.u twice"},
	        {"      public.u: { mask: { a: hash } }\n",
	         "source.tables.columns.public.u masks column a with hash, which needs mask_key"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char yaml[1024];
		snprintf(
		        yaml, sizeof yaml,
		        "name: shop\nsource:\n  type: postgres\n  url: u\n  tables:\n    columns:\n"
		        "%starget: {type: postgres, url: u}\n",
		        cases[i].columns);
		sl_error err;
		parse_fail(yaml, &err);
		assert_contains(err.msg, cases[i].expect);
	}
	/* a short key, and a key never echoed */
	sl_error err;
	parse_fail("name: shop\nmask_key: short-key\nsource: {type: postgres, url: u}\n"
	           "target: {type: postgres, url: u}\n",
	           &err);
	assert_contains(err.msg, "mask_key is shorter than 16 characters");
	assert_null(strstr(err.msg, "short-key"));
	parse_fail("name: shop\nmask_key: a-long-enough-mask-key-zz9\nsource: {type: postgres, "
	           "url: u, tables: {columns: {public.u: {mask: {a-long-enough-mask-key-zz9: "
	           "md5}}}}}\ntarget: {type: postgres, url: u}\n",
	           &err);
	assert_contains(err.msg, "must be hash or null");
	assert_null(strstr(err.msg, "a-long-enough-mask-key-zz9"));
}

/* KEY_file: the secret read from a file (one trailing newline dropped), read again by
 * sl_endpoint_password; not with KEY too; a missing, empty or oversized file is an error with
 * its line; the value never appears in an error. */
static void write_file(const char *path, const char *text, size_t n)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, n, f), n);
	fclose(f);
}

static void test_secret_files(void **state)
{
	(void)state;
	char dir[] = "/tmp/sl-secret-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char pwf[64], keyf[64], empty[64], big[64], yaml[2048];
	snprintf(pwf, sizeof pwf, "%s/pw", dir);
	snprintf(keyf, sizeof keyf, "%s/key", dir);
	snprintf(empty, sizeof empty, "%s/empty", dir);
	snprintf(big, sizeof big, "%s/big", dir);
	write_file(pwf, "s3cret-from-file\n", 17);
	write_file(keyf, "a-mask-key-of-enough-length-0123456789\r\n", 40);
	write_file(empty, "\n", 1);
	char *huge = calloc(1, SL_SECRET_MAX + 10);
	memset(huge, 'x', SL_SECRET_MAX + 9);
	write_file(big, huge, SL_SECRET_MAX + 9);
	free(huge);

	snprintf(yaml, sizeof yaml,
	         "name: shop\nsource: {type: postgres, url: u, password_file: %s}\n"
	         "target: {type: postgres, url: u, password: plain}\nmask_key_file: %s\n",
	         pwf, keyf);
	sl_config *cfg = parse_ok(yaml);
	assert_string_equal(cfg->source.password, "s3cret-from-file");
	assert_string_equal(cfg->source.password_file, pwf);
	assert_string_equal(cfg->mask_key, "a-mask-key-of-enough-length-0123456789");
	assert_null(cfg->target.password_file);
	char *pw = NULL;
	sl_error err = {0};
	/* rotated: the next connection reads the new one */
	write_file(pwf, "rotated", 7);
	assert_int_equal(sl_endpoint_password(&cfg->source, "source", &pw, &err), 0);
	assert_string_equal(pw, "rotated");
	sl_free_secret(pw);
	assert_int_equal(sl_endpoint_password(&cfg->target, "target", &pw, &err), 0);
	assert_string_equal(pw, "plain");
	sl_free_secret(pw);
	unlink(pwf);
	assert_true(sl_endpoint_password(&cfg->source, "source", &pw, &err) < 0);
	assert_contains(err.msg, "source.password_file: cannot read");
	assert_null(pw);
	sl_config_free(cfg);

	static const struct {
		const char *line, *expect;
	} bad[] = {
	        {"  password: x\n  password_file: %s/big\n",
	         "test.yaml:6: source.password_file and password both set"},
	        {"  password_file: %s/none\n", "test.yaml:5: source.password_file: cannot read"},
	        {"  password_file: %s/empty\n", "test.yaml:5: source.password_file: "},
	        {"  password_file: %s/big\n", "is longer than a secret can be"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		char line[256];
		snprintf(line, sizeof line, bad[i].line, dir);
		snprintf(yaml, sizeof yaml,
		         "name: shop\nsource:\n  type: postgres\n  url: u\n%s"
		         "target: {type: postgres, url: u}\n",
		         line);
		parse_fail(yaml, &err);
		assert_contains(err.msg, bad[i].expect);
		assert_null(strstr(err.msg, "xxxxxxxx"));
	}
	snprintf(yaml, sizeof yaml,
	         "name: shop\nsource:\n  type: postgres\n  url: u\n  password_file: %s\n"
	         "target: {type: postgres, url: u}\n",
	         empty);
	parse_fail(yaml, &err);
	assert_contains(err.msg, "is empty");
	unlink(keyf);
	unlink(empty);
	unlink(big);
	rmdir(dir);
}

/* auth: aws-iam needs verified TLS and no password; aws_region goes with it only. */
static void test_auth_aws_iam(void **state)
{
	(void)state;
	static const char base[] = "name: shop\nsource:\n  type: postgres\n  url: u\n%s"
	                           "target: {type: postgres, url: u}\n";
	static const struct {
		const char *lines, *expect;
	} cases[] = {
	        {"  auth: aws-iam\n  password: x\n", "source.auth is aws-iam, whose token is the "
	                                             "password: remove source.password"},
	        {"  auth: aws-iam\n", "set source.tls.mode verify-full"},
	        {"  auth: aws-iam\n  tls: {mode: require}\n", "set source.tls.mode verify-full"},
	        {"  aws_region: eu-west-1\n",
	         "test.yaml:5: source.aws_region is for auth: aws-iam only"},
	        {"  auth: kerberos\n", "source.auth"},
	};
	char yaml[512];
	sl_error err;
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		snprintf(yaml, sizeof yaml, base, cases[i].lines);
		parse_fail(yaml, &err);
		assert_contains(err.msg, cases[i].expect);
	}
	snprintf(yaml, sizeof yaml, base,
	         "  auth: aws-iam\n  aws_region: eu-west-1\n  tls: {mode: verify-full}\n");
	sl_config *cfg = parse_ok(yaml);
	assert_true(cfg->source.aws_iam);
	assert_string_equal(cfg->source.aws_region, "eu-west-1");
	assert_false(cfg->target.aws_iam);
	sl_config_free(cfg);
}

static void test_password_not_in_errors(void **state)
{
	(void)state;
	static const char pw[] = "Tr0ub4dor-pw-xyzzy";
	setenv("SL_TEST_SECRET_PW", pw, 1);
	static const char *const tails[] = {
	        "  tabels: {include: [x]}\ntarget: {type: postgres, url: u}\n",
	        "  tables: {include: {a: b}}\ntarget: {type: postgres, url: u}\n",
	        "  url: again\ntarget: {type: postgres, url: u}\n",
	        "target:\n  type: postgres\n  url: u\n  password: ${SL_TEST_UNSET_VAR_Q}\n",
	        "target: {type: postgres, url: u}\nsnapshot: {chunk_size: lots}\n",
	        "target: {type: postgres, url: u}\nsnapshot: {parallelism: many}\n",
	        "target: {type: postgres}\n",
	        "target: [unclosed\n",
	        "target:\n  type: postgres\n bad: indent\n",
	        "target: {type: postgres, url: u}\napply:\n  max_delay: ${SL_TEST_SECRET_PW}\n",
	};
	static const char *const expect[] = {
	        "unknown key 'tabels'",
	        "source.tables.include must be a list",
	        "duplicate key 'url'",
	        "SL_TEST_UNSET_VAR_Q is not set",
	        "snapshot.chunk_size",
	        "snapshot.parallelism",
	        "missing required key 'target.url'",
	        "fix the YAML syntax",
	        "fix the YAML syntax",
	        "apply.max_delay '***' is not a valid duration",
	};
	static const char *const pw_lines[] = {
	        "  password: Tr0ub4dor-pw-xyzzy\n",
	        "  password: \"Tr0ub4dor-pw-xyzzy\"\n",
	        "  password: ${SL_TEST_SECRET_PW}\n",
	};
	unsetenv("SL_TEST_UNSET_VAR_Q");
	for (size_t i = 0; i < sizeof pw_lines / sizeof pw_lines[0]; i++) {
		for (size_t j = 0; j < sizeof tails / sizeof tails[0]; j++) {
			char yaml[1024];
			snprintf(yaml, sizeof yaml,
			         "name: shop\nsource:\n  type: postgres\n  url: u\n%s%s",
			         pw_lines[i], tails[j]);
			sl_error err;
			parse_fail(yaml, &err);
			if (strstr(err.msg, pw) != NULL)
				fail_msg("password leaked (case %zu/%zu): %s", i, j, err.msg);
			assert_contains(err.msg, expect[j]);
		}
	}

	/* errors on the password value itself do not echo it either */
	static const char *const bad_pw[] = {
	        "  password: Tr0ub4dor-pw-xyzzy${\n",
	        "  password: Tr0ub4dor-pw-xyzzy${-}\n",
	        "  password: {x: Tr0ub4dor-pw-xyzzy}\n",
	        "  password: [Tr0ub4dor-pw-xyzzy]\n",
	};
	for (size_t i = 0; i < sizeof bad_pw / sizeof bad_pw[0]; i++) {
		char yaml[1024];
		snprintf(yaml, sizeof yaml,
		         "name: shop\nsource:\n  type: postgres\n  url: u\n%s"
		         "target: {type: postgres, url: u}\n",
		         bad_pw[i]);
		sl_error err;
		parse_fail(yaml, &err);
		assert_contains(err.msg, "test.yaml:5:");
		if (strstr(err.msg, pw) != NULL)
			fail_msg("password leaked (bad value %zu): %s", i, err.msg);
	}
}

static void test_load_file(void **state)
{
	(void)state;
	char path[] = "/tmp/sluice-test-config-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	FILE *f = fdopen(fd, "w");
	assert_non_null(f);
	fputs(full_yaml, f);
	assert_int_equal(fclose(f), 0);

	sl_config *cfg = NULL;
	sl_error err = {0};
	assert_int_equal(sl_config_load(path, &cfg, &err), 0);
	assert_non_null(cfg);
	assert_string_equal(cfg->path, path);
	assert_string_equal(cfg->name, "shop");
	assert_opt(cfg, "target", "database", "analytics");
	sl_config_free(cfg);

	/* errors name the file path */
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("name: shop\nbogus: 1\n", f);
	assert_int_equal(fclose(f), 0);
	cfg = (sl_config *)(uintptr_t)1;
	assert_int_equal(sl_config_load(path, &cfg, &err), SL_ERR_CONFIG);
	assert_null(cfg);
	char want[128];
	snprintf(want, sizeof want, "%s:2: unknown key 'bogus'", path);
	assert_contains(err.msg, want);
	unlink(path);

	assert_int_equal(sl_config_load(path, &cfg, &err), SL_ERR_CONFIG);
	assert_null(cfg);
	assert_contains(err.msg, "cannot read pipeline file /tmp/sluice-test-config-");
	assert_contains(err.msg, "No such file or directory (check the path)");

	sl_config_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_full_example),
	        cmocka_unit_test(test_defaults),
	        cmocka_unit_test(test_flow_and_block_sequences),
	        cmocka_unit_test(test_env_substitution),
	        cmocka_unit_test(test_env_unset),
	        cmocka_unit_test(test_unknown_key),
	        cmocka_unit_test(test_source_only_and_target_only_keys),
	        cmocka_unit_test(test_duplicate_key),
	        cmocka_unit_test(test_wrong_node_kind),
	        cmocka_unit_test(test_malformed_yaml),
	        cmocka_unit_test(test_empty_and_non_mapping),
	        cmocka_unit_test(test_missing_required_key),
	        cmocka_unit_test(test_bad_name),
	        cmocka_unit_test(test_bad_values),
	        cmocka_unit_test(test_parse_size),
	        cmocka_unit_test(test_parse_duration),
	        cmocka_unit_test(test_glob_match),
	        cmocka_unit_test(test_observability),
	        cmocka_unit_test(test_globs_select),
	        cmocka_unit_test(test_password_not_in_errors),
	        cmocka_unit_test(test_secret_files),
	        cmocka_unit_test(test_auth_aws_iam),
	        cmocka_unit_test(test_load_file),
	        cmocka_unit_test(test_server_id),
	        cmocka_unit_test(test_columns),
	        cmocka_unit_test(test_columns_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
