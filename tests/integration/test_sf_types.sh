#!/usr/bin/env bash
# The type corpora through the Snowflake target (against the SQL API emulator): PostgreSQL's
# (pg_type_corpus.sql: every type, edge values in every row, several schemas, mixed-case names)
# and MariaDB's (my_type_corpus.sh). Each is loaded (snapshot), changed (every row updated), and
# read back by `sluice verify` through the SQL API (jsonv2 text parsed back into the source's
# types, digests compared); independently, DuckDB on the emulator's side counts each column's
# non-NULL values, which must equal the source's. The corpora found: a timestamp's text
# overflowing at PostgreSQL's -infinity, a JSON null and a NULL alike inside an array, -0.0
# read back as 0 inside an array, and a change file with a NULL in a NOT NULL column (a delete
# holds the key alone) written malformed (now refused by the Parquet writer).
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname -- "${BASH_SOURCE[0]}")/my_type_corpus.sh"
sf_start

SDB=it_sf_types
fresh_db test-src "$SDB"
src_sql "$SDB" <"$(dirname -- "${BASH_SOURCE[0]}")/pg_type_corpus.sql" >/dev/null
PIPE=$TMP/types.yaml
mapfile -t TL < <(sf_target_lines)
pipeline_file "$PIPE" it_sf_types "$SDB" snowflake:analytics "${TL[@]}"
sluice_ok run --once "$PIPE"
assert_contains "$SL_ERR" "c_point of type point is skipped" "the skipped column is warned about"
sluice_ok verify "$PIPE"
assert_contains "$SL_OUT" "all tables equal" "the PostgreSQL corpus read back equals the source"

# every column's non-NULL count, on both sides
mismatch=()
while IFS=$'\t' read -r col; do
	want=$(src_sql "$SDB" "SELECT count($(qident "$col")) FROM all_types")
	up=$col
	[[ $col =~ ^[a-z_][a-z0-9_\$]*$ ]] && up=${col^^}
	got=$(sf_query "SELECT count(\"$up\") FROM ANALYTICS.PUBLIC.ALL_TYPES WHERE NOT \"_SLUICE_DELETED\"" 2>&1) ||
		{ mismatch+=("all_types.$col: $got"); continue; }
	ASSERTS=$((ASSERTS + 1))
	[[ $want == "$got" ]] || mismatch+=("all_types.$col: $want values on the source, $got in Snowflake")
done < <(src_sql "$SDB" "COPY (SELECT attname FROM pg_attribute WHERE attrelid = 'all_types'::regclass AND attnum > 0 AND NOT attisdropped AND format_type(atttypid, atttypmod) <> 'point' ORDER BY attnum) TO STDOUT")

# every row changed, then read back again
src_sql "$SDB" "UPDATE all_types SET id = id + 1000" >/dev/null
sluice_ok run --once "$PIPE"
sluice_ok verify "$PIPE"
assert_contains "$SL_OUT" "all tables equal" "the PostgreSQL corpus, every row changed, equals the source"

# ---- MariaDB
my_require
MDB=test_sf_mytypes
my_fresh_db "$MDB"
{ my_corpus_ddl; rows 0; } | my_sql "$MDB"
MPIPE=$TMP/mytypes.yaml
pipeline_file "$MPIPE" it_sf_mytypes "mysql:$MDB" snowflake:analytics "${TL[@]}"
sluice_ok run --once "$MPIPE"
sluice_ok verify "$MPIPE"
assert_contains "$SL_OUT" "all tables equal" "the MariaDB corpus read back equals the source"
my_sql "$MDB" -e "UPDATE t SET id = id + 1000"
sluice_ok run --once "$MPIPE"
sluice_ok verify "$MPIPE"
assert_contains "$SL_OUT" "all tables equal" "the MariaDB corpus, every row changed, equals the source"
TBL=ANALYTICS.$(printf '%s' "${MDB^^}").T
while IFS=$'\t' read -r col; do
	want=$(my_sql "$MDB" -N -e "SELECT count(\`$col\`) FROM t")
	got=$(sf_query "SELECT count(\"${col^^}\") FROM $TBL WHERE NOT \"_SLUICE_DELETED\"" 2>&1) ||
		{ mismatch+=("t.$col: $got"); continue; }
	ASSERTS=$((ASSERTS + 1))
	[[ $want == "$got" ]] || mismatch+=("t.$col: $want values on the source, $got in Snowflake")
done < <(my_sql "$MDB" -N -e "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = '$MDB' AND TABLE_NAME = 't' AND DATA_TYPE <> 'point' ORDER BY ORDINAL_POSITION")
printf '%s\n' "${mismatch[@]}" >&2
((${#mismatch[@]} == 0)) || fail "${#mismatch[@]} columns differ"
pass
