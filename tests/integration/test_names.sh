#!/usr/bin/env bash
# Names: a pipeline name with upper-case letters (the slot name must be lower-cased, as
# documented), a target.schema that needs quoting, and two tables whose unquoted
# "schema.table" spellings are the same (a."b.c" and "a.b".c), which must stay two tables
# everywhere (target, verify, and the state store behind status and resume).
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

SDB=it_names_src
fresh_db test-src "$SDB"
src_sql "$SDB" <<'SQL'
SET ROLE sluice;
CREATE SCHEMA a;
CREATE SCHEMA "a.b";
CREATE TABLE a."b.c" (id integer PRIMARY KEY, v text);
CREATE TABLE "a.b".c (id integer PRIMARY KEY, w integer);
INSERT INTO a."b.c" VALUES (1, 'one');
INSERT INTO "a.b".c VALUES (1, 10), (2, 20);
CREATE TABLE "Upper" (id integer PRIMARY KEY, "Val" text);
INSERT INTO "Upper" VALUES (7, 'seven');
SQL

# The pipeline name may contain upper case ([A-Za-z0-9_]+); the default slot is the
# lower-cased sluice_<name>.
case_mixed_case_pipeline_name() {
	local tdb=it_names_dst_mixed
	fresh_db test-dst "$tdb"
	pipeline_file "$TMP/mixed.yaml" It_Names_Mixed "$SDB" "$tdb" "source.tables: { include: [public.*] }"
	cleanup_slot test-src sluice_It_Names_Mixed
	sluice run --once "$TMP/mixed.yaml"
	((SL_RC == 0)) || { sluice_dump; fail "run with pipeline name It_Names_Mixed exited $SL_RC"; }
	assert_eq 1 "$(src_sql postgres "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'sluice_it_names_mixed'")" \
		"slot sluice_it_names_mixed exists"
	sluice_ok verify "$TMP/mixed.yaml"
	assert_contains "$SL_OUT" "all tables equal" "verify"
	sluice_ok reset "$TMP/mixed.yaml"
	assert_eq 0 "$(src_sql postgres "SELECT count(*) FROM pg_replication_slots WHERE slot_name LIKE 'sluice_it_names_mixed'")" \
		"reset drops the slot"
}

# target.schema with a space and a double quote; a mixed-case table and column.
case_quoted_target_schema() {
	local tdb=it_names_dst_schema
	fresh_db test-dst "$tdb"
	pipeline_file "$TMP/schema.yaml" it_names_schema "$SDB" "$tdb" \
		"source.tables: { include: [public.*] }" 'target.schema: "My \"Schema\""'
	sluice_ok run --once "$TMP/schema.yaml"
	sluice_ok verify "$TMP/schema.yaml"
	assert_contains "$SL_OUT" "all tables equal" "verify"
	compare_table test-src "$SDB" test-dst "$tdb" public Upper 'My "Schema"'
	sluice_ok reset "$TMP/schema.yaml"
}

# a."b.c" and "a.b".c: two tables, each with its own target table, verify line and state.
case_dotted_names() {
	local tdb=it_names_dst_dots
	fresh_db test-dst "$tdb"
	pipeline_file "$TMP/dots.yaml" it_names_dots "$SDB" "$tdb" "source.tables: { exclude: [public.*] }"
	sluice_ok run --once "$TMP/dots.yaml"
	compare_table test-src "$SDB" test-dst "$tdb" a b.c
	compare_table test-src "$SDB" test-dst "$tdb" a.b c
	sluice_ok verify "$TMP/dots.yaml"
	assert_contains "$SL_OUT" ": 1 rows" "verify: the 1-row table"
	assert_contains "$SL_OUT" ": 2 rows" "verify: the 2-row table"
	sluice_ok status "$TMP/dots.yaml"
	local st=$SL_OUT
	# Each table's own row count: 1 for a."b.c", 2 for "a.b".c; names with dots are quoted so
	# the state store (and every message) tells them apart.
	assert_eq "1 2" "$(printf '%s\n' "$st" | grep -E '^  (a\."b\.c"|"a\.b"\.c) +done' | awk '{print $3}' | sort | xargs)" \
		"status: the two tables' row counts (state store keys must tell them apart)"
	sluice_ok reset "$TMP/dots.yaml"
}

run_case case_mixed_case_pipeline_name
run_case case_quoted_target_schema
run_case case_dotted_names
cases_done
