#!/usr/bin/env bash
# The type corpora through the Databricks target (against the emulator): PostgreSQL's
# (pg_type_corpus.sql: every type, edge values in every row, several schemas, mixed-case names)
# and MariaDB's (my_type_corpus.sh). Each is loaded (snapshot), changed (every row's key
# changed), and read back by `sluice verify` through the Statement Execution API (JSON_ARRAY
# strings parsed back into the source's types, digests compared); independently, DuckDB on the
# emulator's side counts each column's non-NULL values, which must equal the source's.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname -- "${BASH_SOURCE[0]}")/my_type_corpus.sh"
db_start

SDB=it_db_types
fresh_db test-src "$SDB"
src_sql "$SDB" <"$(dirname -- "${BASH_SOURCE[0]}")/pg_type_corpus.sql" >/dev/null
PIPE=$TMP/types.yaml
mapfile -t TL < <(db_target_lines)
pipeline_file "$PIPE" it_db_types "$SDB" databricks:x "${TL[@]}"
sluice_ok run --once "$PIPE"
assert_contains "$SL_ERR" "c_point of type point is skipped" "the skipped column is warned about"
# the default snapshot.chunk_size (1 GiB) is more than this target holds in memory per chunk
assert_contains "$SL_ERR" "snapshot: chunks of at most 64 MiB, the target's limit (snapshot.chunk_size is 1024 MiB)" "the target caps the chunk size"
sluice_ok verify "$PIPE"
assert_contains "$SL_OUT" "all tables equal" "the PostgreSQL corpus read back equals the source"

# every column's non-NULL count, on both sides (Unity Catalog: column names keep their case)
mismatch=()
count_cols() { # TABLE COLUMN... on the emulator: count(col) for each
	local t=$1 q="" c
	shift
	for c in "$@"; do q+="${q:+, }count(\"${c//\"/\"\"}\")"; done
	db_query "SELECT $q FROM $t WHERE NOT _sluice_deleted"
}
mapfile -t cols < <(src_sql "$SDB" "COPY (SELECT attname FROM pg_attribute WHERE attrelid = 'all_types'::regclass AND attnum > 0 AND NOT attisdropped AND format_type(atttypid, atttypmod) <> 'point' ORDER BY attnum) TO STDOUT")
want=$(src_sql "$SDB" "COPY (SELECT $(for c in "${cols[@]}"; do printf 'count(%s), ' "$(qident "$c")"; done | sed 's/, $//') FROM all_types) TO STDOUT")
got=$(count_cols uc_main.public.all_types "${cols[@]}")
IFS=$'\t' read -r -a w <<<"$want"
IFS=$'\t' read -r -a g <<<"$got"
for i in "${!cols[@]}"; do
	ASSERTS=$((ASSERTS + 1))
	[[ ${w[$i]} == "${g[$i]:-}" ]] || mismatch+=("all_types.${cols[$i]}: ${w[$i]} values on the source, ${g[$i]:-none} in Databricks")
done
((${#cols[@]} > 20)) || fail "only ${#cols[@]} corpus columns"

# every row's key changed, then read back again
src_sql "$SDB" "UPDATE all_types SET id = id + 1000" >/dev/null
sluice_ok run --once "$PIPE"
sluice_ok verify "$PIPE"
assert_contains "$SL_OUT" "all tables equal" "the PostgreSQL corpus, every row changed, equals the source"

# ---- MariaDB
my_require
MDB=test_db_mytypes
my_fresh_db "$MDB"
{ my_corpus_ddl; rows 0; } | my_sql "$MDB"
MPIPE=$TMP/mytypes.yaml
pipeline_file "$MPIPE" it_db_mytypes "mysql:$MDB" databricks:x "${TL[@]}"
sluice_ok run --once "$MPIPE"
sluice_ok verify "$MPIPE"
assert_contains "$SL_OUT" "all tables equal" "the MariaDB corpus read back equals the source"
my_sql "$MDB" -e "UPDATE t SET id = id + 1000"
sluice_ok run --once "$MPIPE"
sluice_ok verify "$MPIPE"
assert_contains "$SL_OUT" "all tables equal" "the MariaDB corpus, every row changed, equals the source"
mapfile -t cols < <(my_sql "$MDB" -N -e "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = '$MDB' AND TABLE_NAME = 't' AND DATA_TYPE <> 'point' ORDER BY ORDINAL_POSITION")
want=$(my_sql "$MDB" -N -e "SELECT $(for c in "${cols[@]}"; do printf 'count(`%s`), ' "$c"; done | sed 's/, $//') FROM t")
got=$(count_cols "uc_main.$MDB.t" "${cols[@]}")
IFS=$'\t' read -r -a w <<<"$want"
IFS=$'\t' read -r -a g <<<"$got"
for i in "${!cols[@]}"; do
	ASSERTS=$((ASSERTS + 1))
	[[ ${w[$i]} == "${g[$i]:-}" ]] || mismatch+=("t.${cols[$i]}: ${w[$i]} values on the source, ${g[$i]:-none} in Databricks")
done
((${#cols[@]} > 20)) || fail "only ${#cols[@]} MariaDB corpus columns"
printf '%s\n' "${mismatch[@]}" >&2
((${#mismatch[@]} == 0)) || fail "${#mismatch[@]} columns differ"
pass
