#!/usr/bin/env bash
# Names: a pipeline name with upper-case letters (the slot name must be lower-cased, as
# documented), a target.schema that needs quoting, and two tables whose unquoted
# "schema.table" spellings are the same (a."b.c" and "a.b".c), which must stay two tables
# everywhere (target, verify, and the state store behind status and resume); odd schema, table
# and column names (double and single quotes, backslash, case twins, unicode, spaces, dots,
# reserved words, a leading digit, percent, a 63-byte name) through the snapshot and CDC, into
# PostgreSQL and into ClickHouse. Each case is checked by the servers' own catalogs and SQL, not
# only by `sluice verify`: every schema, table and column exists on the target under exactly
# the source's name (the catalog lists compared as a whole, so nothing extra is there either),
# and the content is equal (compare_table: format_type, primary key, md5 of the rows' text; in
# ClickHouse, FINAL live rows rendered by both servers).
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

# catalog INSTANCE DB [SCHEMA]: every user column as "schema<TAB>table<TAB>column", by the
# catalog (exact names), of SCHEMA or of every schema but the system ones, _sluice and chk.
catalog() {
	local where="n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast', '_sluice', 'chk')"
	[[ -z ${3:-} ]] || where="n.nspname = $(sql_lit "$3")"
	inst_sql "$1" "$2" "COPY (SELECT n.nspname, c.relname, a.attname FROM pg_attribute a
	  JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
	 WHERE c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped AND $where
	 ORDER BY n.nspname::text COLLATE \"C\", c.relname::text COLLATE \"C\", a.attnum) TO STDOUT"
}
# same_catalog SRC-DB DST-DB MSG [SRC-FILTER-SCHEMAS-REGEX] [DST-SCHEMA]: the target's catalog
# equals the source's (optionally the source's rows whose schema matches the regex, with the
# schema column replaced by DST-SCHEMA).
same_catalog() {
	local want have
	want=$(catalog test-src "$1")
	[[ -z ${4:-} ]] || want=$(awk -F'\t' -v re="$4" '$1 ~ re' <<<"$want")
	[[ -z ${5:-} ]] || want=$(awk -F'\t' -v OFS='\t' -v s="$5" '{ $1 = s; print }' <<<"$want")
	have=$(catalog test-dst "$2")
	assert_eq "$want" "$have" "$3"
}

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
	same_catalog "$SDB" "$tdb" "the target holds public.\"Upper\" (\"Val\") under its exact names, nothing else" '^public$'
	compare_table test-src "$SDB" test-dst "$tdb" public Upper
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
	same_catalog "$SDB" "$tdb" "the target schema is exactly 'My \"Schema\"', holding \"Upper\" (\"Val\")" \
		'^public$' 'My "Schema"'
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
	same_catalog "$SDB" "$tdb" "the target holds a.\"b.c\" and \"a.b\".c under their exact names, nothing else" '^a(\\.b)?$'
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

# ------------------------------------------------------------- odd names ---
# Schema, table and column names that need quoting in every way, in a database of their own:
# a double quote, a single quote, a backslash, case twins ("MiXeD" and mixed; "MiXeD" in two
# schemas), unicode, spaces (leading, trailing, inside), dots, percent, reserved words, a leading
# digit, 63-byte (the longest) names; a keyless table.
ODB=it_names_odd
N63=$(printf 'L%.0s' {1..63})
C63=$(printf 'c%.0s' {1..63})
fresh_db test-src "$ODB"
src_sql "$ODB" <<SQL
SET ROLE sluice;
CREATE SCHEMA "Sch ëma";
CREATE TABLE public."we""ird" (id int PRIMARY KEY, "co""l" text, "it's" int);
CREATE TABLE public."MiXeD" (id int PRIMARY KEY, v text);
CREATE TABLE public.mixed (id int PRIMARY KEY, v text);
CREATE TABLE public."ünïcødé 表" (id int PRIMARY KEY, "列 ✓" text, "Ñ" int);
CREATE TABLE public."select" ("from" int PRIMARY KEY, "order" text, "user" text, "group" int);
CREATE TABLE public."1st" (id int PRIMARY KEY, "2nd col" text);
CREATE TABLE public."back\\slash" (id int PRIMARY KEY, "100%" text, "a.b" text);
CREATE TABLE public."$N63" (id int PRIMARY KEY, "$C63" text);
CREATE TABLE "Sch ëma"."with space" (id int PRIMARY KEY, " lead" text, "trail " text, "CamelCase" int);
CREATE TABLE "Sch ëma"."MiXeD" (n int, v text);
ALTER TABLE "Sch ëma"."MiXeD" REPLICA IDENTITY FULL;
INSERT INTO public."we""ird" VALUES (1, 'a "q"', 1), (2, 'it''s', NULL);
INSERT INTO public."MiXeD" VALUES (1, 'upper'), (2, 'Upper 2');
INSERT INTO public.mixed VALUES (1, 'lower'), (3, 'lower 3');
INSERT INTO public."ünïcødé 表" VALUES (1, '値 ✓', 1), (2, NULL, 2);
INSERT INTO public."select" VALUES (1, 'o', 'u', 1), (2, NULL, 'u2', NULL);
INSERT INTO public."1st" VALUES (1, 'first'), (2, 'second');
INSERT INTO public."back\\slash" VALUES (1, '50%', E'back\\\\slash'), (2, '_', 'x.y');
INSERT INTO public."$N63" VALUES (1, 'long'), (2, 'longer');
INSERT INTO "Sch ëma"."with space" VALUES (1, ' l', 't ', 1), (2, E'tab\\there', E'new\\nline', 2);
INSERT INTO "Sch ëma"."MiXeD" VALUES (1, 'dup'), (1, 'dup'), (2, NULL);
SQL
# every table of the odd database: "schema<TAB>table"
ODD_TABLES=$(src_sql "$ODB" "COPY (SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind = 'r' AND n.nspname IN ('public', 'Sch ëma') ORDER BY 1, 2) TO STDOUT")
[[ $(wc -l <<<"$ODD_TABLES") == 10 ]] || fail "the odd-names corpus should have 10 tables: $ODD_TABLES"
odd_changes() { # KEY: the key of the rows it inserts (each case its own)
	local k=$1
	src_sql "$ODB" <<SQL
INSERT INTO public."we""ird" VALUES ($k, E'new\\t"q"\\\\', 3); UPDATE public."we""ird" SET "co""l" = 'upd''s', "it's" = 9 WHERE id = 1;
DELETE FROM public."we""ird" WHERE id = 2;
UPDATE public."MiXeD" SET v = 'UPPER' WHERE id = 1; INSERT INTO public.mixed VALUES ($((k + 10)), 'lower 2'); DELETE FROM public.mixed WHERE id = 3;
UPDATE public."ünïcødé 表" SET "列 ✓" = 'ü', "Ñ" = NULL WHERE id = 2; INSERT INTO public."ünïcødé 表" VALUES ($k, '三', 3);
UPDATE public."select" SET "from" = 10, "order" = 'moved' WHERE "from" = 2; INSERT INTO public."select" VALUES ($k, 'o3', NULL, 3);
DELETE FROM public."1st" WHERE id = 1; UPDATE public."1st" SET "2nd col" = 'still second' WHERE id = 2;
UPDATE public."back\\slash" SET "100%" = '100%', "a.b" = 'a.b' WHERE id = 2;
INSERT INTO public."$N63" VALUES ($k, 'longest'); UPDATE public."$N63" SET "$C63" = NULL WHERE id = 1;
UPDATE "Sch ëma"."with space" SET " lead" = NULL, "trail " = 'trail', "CamelCase" = -1 WHERE id = 2;
INSERT INTO "Sch ëma"."MiXeD" VALUES (3, 'new'); DELETE FROM "Sch ëma"."MiXeD" WHERE n = 2;
UPDATE "Sch ëma"."MiXeD" SET v = 'one' WHERE ctid = (SELECT min(ctid) FROM "Sch ëma"."MiXeD" WHERE n = 1);
SQL
}

# PostgreSQL target: the same schemas, tables and columns under their exact names (nothing
# else), each table equal, after the snapshot and after changes to every table.
case_odd_names_pg() {
	local tdb=it_names_dst_odd s t
	fresh_db test-dst "$tdb"
	pipeline_file "$TMP/odd.yaml" it_names_odd "$ODB" "$tdb"
	local round
	for round in snapshot CDC; do
		[[ $round == snapshot ]] || odd_changes 3
		sluice_ok run --once "$TMP/odd.yaml"
		same_catalog "$ODB" "$tdb" "$round: the target's schemas, tables and columns are the source's, by exact name"
		while IFS=$'\t' read -r s t; do
			t=${t//\\\\/\\} # COPY escapes a backslash
			compare_table test-src "$ODB" test-dst "$tdb" "$s" "$t"
		done <<<"$ODD_TABLES"
		sluice_ok verify "$TMP/odd.yaml"
		assert_contains "$SL_OUT" "all tables equal" "$round: verify"
	done
	sluice_ok reset "$TMP/odd.yaml"
}

# chid NAME: NAME as a ClickHouse identifier (backslash and backquote escaped)
# shellcheck disable=SC2016 # the backquotes are literal
chid() { local s=${1//\\/\\\\}; printf '`%s`' "${s//\`/\\\`}"; }

# ClickHouse target: each table under its source name, the two "MiXeD" tables as
# <schema>_<name> (README: tables sharing a name), every column under its exact name, and the
# live rows (FINAL, _sluice_deleted = 0) equal to the source's: every value rendered as text by
# each server, md5 compared row by row.
case_odd_names_ch() {
	ch_require
	local cdb=it_names_odd_ch s t ct cols ch_cols pg_sel ch_sel c want have want_rows have_rows
	ch_fresh_db "$cdb"
	pipeline_file "$TMP/oddch.yaml" it_names_oddch "$ODB" "clickhouse:$cdb"
	# the expected ClickHouse names, written out from the README's rule
	want=$(printf '%s\n' '1st' 'Sch ëma_MiXeD' 'back\slash' "$N63" 'mixed' 'public_MiXeD' 'select' 'we"ird' \
		'with space' 'ünïcødé 表' | LC_ALL=C sort)
	local round
	for round in snapshot CDC; do
		[[ $round == snapshot ]] || odd_changes 5
		sluice_ok run --once "$TMP/oddch.yaml"
		have=$(ch_sql "SELECT name FROM system.tables WHERE database = '$cdb' FORMAT TabSeparatedRaw" | LC_ALL=C sort)
		assert_eq "$want" "$have" "$round: ClickHouse holds every table under its exact name (shared names as <schema>_<name>)"
		while IFS=$'\t' read -r s t; do
			t=${t//\\\\/\\}
			ct=$t
			[[ $t != MiXeD ]] || ct="${s}_$t"
			cols=$(src_sql "$ODB" "SELECT attname FROM pg_attribute WHERE attrelid = (quote_ident($(sql_lit "$s")) || '.' || quote_ident($(sql_lit "$t")))::regclass
			  AND attnum > 0 AND NOT attisdropped ORDER BY attnum")
			ch_cols=$(ch_sql "SELECT name FROM system.columns WHERE database = '$cdb' AND table = '${ct//\\/\\\\}'
			  AND substring(name, 1, 8) != '_sluice_' FORMAT TabSeparatedRaw")
			assert_eq "$cols" "$ch_cols" "$round: ClickHouse table $ct has the source's columns under their exact names"
			pg_sel= ch_sel=
			while IFS= read -r c; do
				pg_sel+="${pg_sel:+, }coalesce(md5($(qident "$c")::text), 'NULL')"
				ch_sel+="${ch_sel:+, }ifNull(lower(hex(MD5(toString($(chid "$c"))))), 'NULL')"
			done <<<"$cols"
			want_rows=$(src_sql "$ODB" "COPY (SELECT $pg_sel FROM $(qident "$s").$(qident "$t")) TO STDOUT" | LC_ALL=C sort)
			have_rows=$(ch_sql "SELECT $ch_sel FROM \`$cdb\`.$(chid "$ct") FINAL WHERE _sluice_deleted = 0" | LC_ALL=C sort)
			assert_eq "$want_rows" "$have_rows" "$round: ClickHouse table $ct holds the source's rows"
		done <<<"$ODD_TABLES"
	done
	sluice_ok reset "$TMP/oddch.yaml"
}

run_case case_mixed_case_pipeline_name
run_case case_quoted_target_schema
run_case case_dotted_names
run_case case_odd_names_pg
run_case case_odd_names_ch
cases_done
