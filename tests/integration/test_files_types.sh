#!/usr/bin/env bash
# The PostgreSQL type corpus (pg_type_corpus.sql: every type, edge values in every row) through
# the files target, read back value by value by DuckDB, a reader sluice did not write: for each
# column of all_types, PostgreSQL renders every row's value in a canonical text form and DuckDB
# renders what it reads from the Parquet files in the same form; the two lists must be equal.
# The forms follow docs/PARQUET.md (decimals over 38 digits and the types Parquet has no form of
# travel as their PostgreSQL text; intervals as milliseconds; timestamps as epoch microseconds;
# bytes as hex; arrays as lists of their elements). Values no Parquet type can hold the way the
# source has them (PostgreSQL's infinite dates and timestamps) are checked in the form sluice
# writes them (docs/PARQUET.md). Then the MariaDB corpus (my_type_corpus.sh) the same way, against
# MariaDB's own rendering. A second reader, parquet-wasm (tests/oracles/second_read.mjs), decodes
# every column of the files and agrees with DuckDB row by row. The corpora surfaced writer bugs: statistics of an empty first value read
# through a NULL buffer (UBSan).
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname -- "${BASH_SOURCE[0]}")/my_type_corpus.sh"
ORACLES=$SLUICE_ROOT/tests/oracles
[[ -d $ORACLES/node_modules/@duckdb/node-api ]] || fail "test oracles not installed: run scripts/oracles.sh"
duck() { (cd "$ORACLES" && node duckdb_sql.mjs "$1"); }

SDB=it_files_types
fresh_db test-src "$SDB"
src_sql "$SDB" <"$(dirname -- "${BASH_SOURCE[0]}")/pg_type_corpus.sql" >/dev/null
LAKE=$TMP/lake
PIPE=$TMP/types.yaml
cat >"$PIPE" <<YAML
name: it_files_types
source:
  type: postgres
  url: postgres://sluice@127.0.0.1:$(port_of test-src)/$SDB
  password: \${SL_PG_PASSWORD}
  tables: { include: [public.all_types] }
target:
  type: files
  url: file://$LAKE
snapshot: { parallelism: 2 }
state: { url: sqlite://$TMP/types.state.db }
YAML
cleanup_slot test-src sluice_it_files_types
sluice_ok run --once "$PIPE"
assert_contains "$SL_ERR" "c_point of type point is skipped" "the skipped column is warned about"
FILES="read_parquet('$LAKE/public/all_types/**/*.parquet', union_by_name = true)"

# the Parquet columns as DuckDB types them
declare -A DTYPE
while IFS='|' read -r name type _; do
	DTYPE[$name]=$type
done < <(duck "SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM $FILES)")

# PG_EXPR COLUMN PGTYPE: the canonical text of a value on PostgreSQL, for the Parquet type DuckDB
# reads (its DuckDB type in $2)
# forms of one value (an array's elements too): $1 the SQL of the value, $2 the DuckDB type
pg_form() {
	local c=$1 dt=$2
	case $dt in
		BOOLEAN) echo "CASE WHEN $c THEN 'true' WHEN NOT $c THEN 'false' END" ;;
		# PostgreSQL's infinite dates are the int32 extremes in the file: DuckDB reads the
		# maximum as infinity and counts the minimum as a day number
		DATE) echo "CASE WHEN $c = 'infinity' THEN 'infinity' WHEN $c = '-infinity' THEN '-2147483648' ELSE ($c - DATE '1970-01-01')::text END" ;;
		# ... and the infinite timestamps the int64 extremes, the same way
		TIMESTAMP*) echo "CASE WHEN isfinite($c) THEN (extract(epoch FROM $c) * 1000000)::numeric(30,0)::text WHEN $c = '-infinity' THEN '-9223372036854775808' ELSE $c::text END" ;;
		TIME*) echo "(extract(epoch FROM $c::time) * 1000000)::bigint::text" ;;
		BLOB) echo "upper(encode($c::bytea, 'hex'))" ;;
		FLOAT | DOUBLE) echo "CASE WHEN $c = 'Infinity' THEN 'inf' WHEN $c = '-Infinity' THEN '-inf' WHEN $c = 'NaN' THEN 'nan' ELSE $c::text END" ;;
		*) echo "$c::text" ;;
	esac
}
pg_expr() {
	local c=\"$1\" pt=$2 dt=$3
	case $pt in
		money) echo "($c::numeric * 100)::bigint::text"; return ;;
		pg_lsn) echo "($c - '0/0')::numeric::text"; return ;;
		interval) echo "$c::text"; return ;; # ISO 8601 (intervalstyle below), as sluice writes it
		character\(*) echo "rpad($c::text, ${pt//[^0-9]/})"; return ;;
		xml) echo "regexp_replace($c::text, '^<\\?xml version=\"1.0\"\\?>', '')"; return ;;
		# ranges are JSON objects (bounds as JSON renders them, ISO timestamps)
		*range)
			local lo="to_json(lower($c)) #>> '{}'" hi="to_json(upper($c)) #>> '{}'"
			# a numeric bound is a JSON number, which DuckDB reads as a double: compared
			# at 10 decimals
			[[ $pt == numrange ]] && lo="lower($c)::numeric(38,10)::text" hi="upper($c)::numeric(38,10)::text"
			echo "CASE WHEN $c IS NULL THEN NULL WHEN isempty($c) THEN 'empty' ELSE concat_ws(',', coalesce($lo, 'null'), coalesce($hi, 'null'), CASE WHEN lower_inc($c) THEN 'true' ELSE 'false' END, CASE WHEN upper_inc($c) THEN 'true' ELSE 'false' END) END"; return ;;
	esac
	case $dt in
		*'[]') echo "CASE WHEN $c IS NOT NULL THEN '[' || coalesce((SELECT string_agg(coalesce($(pg_form e "${dt%'[]'}"), 'NULL'), ', ' ORDER BY o) FROM unnest($c) WITH ORDINALITY u(e, o)), '') || ']' END" ;;
		*) pg_form "$c" "$dt" ;;
	esac
}
duck_form() {
	local c=$1 dt=$2
	case $dt in
		BOOLEAN) echo "CAST($c AS VARCHAR)" ;;
		DATE) echo "CASE WHEN isinf($c) THEN CAST($c AS VARCHAR) ELSE CAST(date_diff('day', DATE '1970-01-01', $c) AS VARCHAR) END" ;;
		TIMESTAMP*) echo "CASE WHEN isinf($c) THEN CAST($c AS VARCHAR) ELSE CAST(epoch_us($c) AS VARCHAR) END" ;;
		TIME*) echo "CAST(epoch_us(DATE '1970-01-01' + $c) AS VARCHAR)" ;;
		BLOB) echo "hex($c)" ;;
		FLOAT | DOUBLE) echo "replace(lower(CAST($c AS VARCHAR)), '-0.0', '-0')" ;;
		*) echo "CAST($c AS VARCHAR)" ;;
	esac
}
duck_expr() {
	local c=\"$1\" pt=$2 dt=$3
	case $pt in
		*range)
			local lo="json_extract_string($c, '\$.lower')" hi="json_extract_string($c, '\$.upper')"
			[[ $pt == numrange ]] && lo="CAST(CAST($lo AS DECIMAL(38,10)) AS VARCHAR)" hi="CAST(CAST($hi AS DECIMAL(38,10)) AS VARCHAR)"
			echo "CASE WHEN $c IS NULL THEN NULL WHEN json_extract($c, '\$.empty') IS NOT NULL THEN 'empty' ELSE concat_ws(',', coalesce($lo, 'null'), coalesce($hi, 'null'), json_extract_string($c, '\$.lower_inclusive'), json_extract_string($c, '\$.upper_inclusive')) END"; return ;;
	esac
	case $dt in
		*'[]') echo "CASE WHEN $c IS NOT NULL THEN '[' || array_to_string(list_transform($c, e -> coalesce($(duck_form e "${dt%'[]'}"), 'NULL')), ', ') || ']' END" ;;
		*) duck_form "$c" "$dt" ;;
	esac
}

mismatch=()
checked=0
while IFS='|' read -r col pgtype; do
	dt=${DTYPE[$col]:-}
	if [[ $pgtype == point ]]; then
		# the source skips geometric types for every target, with a warning
		[[ -z $dt ]] || mismatch+=("$col ($pgtype): in the files, although the source skips it")
		continue
	fi
	if [[ -z $dt ]]; then
		mismatch+=("$col ($pgtype): not in the files")
		continue
	fi
	want=$(src_sql "$SDB" "SET intervalstyle = iso_8601; SELECT string_agg(id || '=' || coalesce($(pg_expr "$col" "$pgtype" "$dt"), 'NULL'), E'\n' ORDER BY id) FROM all_types" 2>&1) ||
		{ mismatch+=("$col ($pgtype as $dt): $want"); continue; }
	got=$(duck "SELECT string_agg(id || '=' || coalesce($(duck_expr "$col" "$pgtype" "$dt"), 'NULL'), chr(10) ORDER BY id) FROM $FILES" 2>&1) ||
		{ mismatch+=("$col ($pgtype as $dt): duckdb: ${got:0:200}"); continue; }
	checked=$((checked + 1))
	if [[ $want != "$got" ]]; then
		d=$( (diff <(echo "$want") <(echo "$got") || true) | grep '^[<>]' | head -4 | tr '\n' ' ')
		mismatch+=("$col ($pgtype as $dt): $d")
	fi
done < <(src_sql "$SDB" "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute
	WHERE attrelid = 'public.all_types'::regclass AND attnum > 1 AND NOT attisdropped ORDER BY attnum")
log "PostgreSQL: $checked columns compared"
((checked == 57)) || mismatch+=("PostgreSQL: $checked columns compared, expected 57")
ASSERTS=$((ASSERTS + checked))
# the second reader (parquet-wasm) against DuckDB on every file written
second_read() { # DIR: every column of every file decodes in both readers and agrees
	local out
	mapfile -t files < <(find "$1" -name '*.parquet' | sort)
	out=$(cd "$ORACLES" && node second_read.mjs "${files[@]}" 2>&1) || { mismatch+=("second reader, $1: $out"); return; }
	log "second reader: $out (columns, rows) of ${#files[@]} files agree with DuckDB"
	ASSERTS=$((ASSERTS + 1))
}
second_read "$LAKE"

# ---------------------------------------------------------------- MariaDB ---
# The MySQL / MariaDB corpus (my_type_corpus.sh) the same way: MariaDB renders each value with
# its own SQL (session time zone UTC).
my_require
MDB=test_files_mytypes
my_fresh_db "$MDB"
{ my_corpus_ddl; rows 0; } | my_sql "$MDB"
MLAKE=$TMP/mylake
MPIPE=$TMP/mytypes.yaml
pipeline_file "$MPIPE" it_files_mytypes "mysql:$MDB" test-dst:unused
sed -i "/^target:/,/^snapshot:/c\\target:\\n  type: files\\n  url: file://$MLAKE\\nsnapshot: { parallelism: 2 }" "$MPIPE"
sluice_ok run --once "$MPIPE"
MFILES="read_parquet('$MLAKE/$MDB/t/**/*.parquet', union_by_name = true)"
unset DTYPE
declare -A DTYPE
while IFS='|' read -r name type _; do
	DTYPE[$name]=$type
done < <(duck "SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM $MFILES)")
my_expr() { # COLUMN MYSQL-TYPE COLUMN-TYPE DUCKDB-TYPE: MariaDB's canonical text of the value
	local c=\`$1\` mt=$2 ct=$3 dt=$4
	case $mt in
		# TIME may be negative and past 24 h: an interval, written as milliseconds, or with
		# microseconds (TIME(4..6)) its exact text
		time) [[ $dt == BIGINT ]] && { echo "CAST(TRUNCATE(TIME_TO_SEC($c) * 1000, 0) AS CHAR)"; return; } ;;
		bit) echo "LPAD(BIN($c), ${ct//[^0-9]/}, '0')"; return ;;
		set) echo "CONCAT('[', REPLACE($c, ',', ', '), ']')"; return ;;
		year) echo "CAST($c + 0 AS CHAR)"; return ;;
		float | double) echo "REGEXP_REPLACE(CAST($c AS CHAR), 'e([0-9])', 'e+\\\\1')"; return ;;
	esac
	case $dt in
		DATE) echo "CAST(DATEDIFF($c, '1970-01-01') AS CHAR)" ;;
		TIMESTAMP*) echo "CAST(TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', $c) AS CHAR)" ;;
		TIME*) echo "CAST(TIME_TO_SEC($c) * 1000000 + MICROSECOND($c) * IF($c < 0, -1, 1) AS CHAR)" ;;
		BLOB) echo "HEX($c)" ;;
		FLOAT | DOUBLE) echo "CAST($c AS CHAR)" ;;
		*) echo "CAST($c AS CHAR)" ;;
	esac
}
checked=0
while IFS=$'\t' read -r col mt ct; do
	dt=${DTYPE[$col]:-}
	if [[ $mt == point ]]; then
		[[ -z $dt ]] || mismatch+=("t.$col ($mt): in the files, although the source skips it")
		continue
	fi
	if [[ -z $dt ]]; then
		mismatch+=("t.$col ($mt): not in the files")
		continue
	fi
	want=$(my_sql "$MDB" -r -e "SET time_zone = '+00:00'; SELECT CONCAT(id, '=', IFNULL($(my_expr "$col" "$mt" "$ct" "$dt"), 'NULL')) FROM t ORDER BY id" 2>&1) ||
		{ mismatch+=("t.$col ($mt as $dt): $want"); continue; }
	got=$(duck "SELECT id || '=' || coalesce($(duck_expr "$col" "$mt" "$dt"), 'NULL') FROM $MFILES ORDER BY id" 2>&1) ||
		{ mismatch+=("t.$col ($mt as $dt): duckdb: ${got:0:200}"); continue; }
	checked=$((checked + 1))
	if [[ $want != "$got" ]]; then
		d=$( (diff <(echo "$want") <(echo "$got") || true) | grep '^[<>]' | head -4 | tr '\n' ' ')
		mismatch+=("t.$col ($mt as $dt): $d")
	fi
done < <(my_sql "$MDB" -e "SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE FROM information_schema.COLUMNS
	WHERE TABLE_SCHEMA = '$MDB' AND TABLE_NAME = 't' AND COLUMN_NAME <> 'id' ORDER BY ORDINAL_POSITION")
log "MariaDB: $checked columns compared"
((checked == 36)) || mismatch+=("MariaDB: $checked columns compared, expected 36")
ASSERTS=$((ASSERTS + checked))
second_read "$MLAKE"
printf '%s\n' "${mismatch[@]}" >&2
((${#mismatch[@]} == 0)) || fail "${#mismatch[@]} columns differ"
pass
