#!/usr/bin/env bash
# The type corpus of test_types.sh (every PostgreSQL type of the spec's type table with its edge
# values, odd identifiers, composite/absent keys, TOAST, a partitioned table, an empty table, a
# table of several chunks) into ClickHouse 18.16: a snapshot, then changes to every column (CDC).
# After each `sluice run --once`: the ClickHouse column types (system.columns) are the spec's
# ClickHouse types with 18.16's fallbacks (no DateTime64 / Date32 / Bool / Decimal256: dates,
# times and timestamps as their text, booleans as UInt8, numerics wider than 38 digits as their
# text, arrays never Nullable); `sluice verify` passes; and, independently of it, every column
# is compared row by row: ClickHouse renders its stored value as text, PostgreSQL renders the
# source value the way ClickHouse should hold it, and the md5 of both must be equal (floats by
# their bits). The point column and the generated column are skipped with warnings naming
# them. After the snapshot, a changed ClickHouse row must show in verify and in the column
# comparison.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
ch_require

NAME=it_chtypes
SDB=it_chtypes_src
CDB=it_chtypes
fresh_db test-src "$SDB"
ch_fresh_db "$CDB"
CH_VERSION=$(ch_sql 'SELECT version()')
# The expected types below are 18.16's fallbacks; a newer server has DateTime64, Date32, Bool.
[[ $CH_VERSION == 18.* ]] || fail "this test expects ClickHouse 18.x (Debian's 18.16), found $CH_VERSION"

# The corpus is pg_type_corpus.sql (shared with test_types.sh), plus row 10 of all_types (years
# BC with fewer than 4 digits).
log "loading the corpus into test-src/$SDB"
src_sql "$SDB" <"$(dirname -- "${BASH_SOURCE[0]}")/pg_type_corpus.sql"
src_sql "$SDB" <<'SQL'
SET client_min_messages = warning;
SET ROLE sluice;

-- Row 10 (not in test_types.sh): years BC with fewer than four digits, year 0 (1 BC), the last
-- microsecond before 1970.
INSERT INTO all_types (id, c_date, c_ts, c_ts0, c_tstz, c_date_arr, c_tstz_arr) VALUES
  (10, '0010-01-01 BC', '0001-12-31 23:59:59.999999 BC', '1969-12-31 23:59:59', '0100-02-28 12:00:00+00 BC',
   '{"0010-01-01 BC",1969-12-31}', '{"1969-12-31 23:59:59.999999+00"}');

SQL

# Preconditions of the corpus itself: the TOASTed rows are stored out of line (their unchanged
# values must come back from ClickHouse in CDC), public.big spans several 1 MiB chunks.
toast_bytes=$(src_sql "$SDB" "SELECT pg_relation_size(reltoastrelid) FROM pg_class WHERE oid = 'public.toasted'::regclass")
((toast_bytes > 1000000)) || fail "corpus: toasted rows are not stored out of line (toast size $toast_bytes)"
big_bytes=$(src_sql "$SDB" "SELECT pg_relation_size('public.big')")
((big_bytes > 3 * 1048576)) || fail "corpus: public.big is only $big_bytes bytes, not several 1 MiB chunks"

# ---------------------------------------------------------------- renderers ---
# How ClickHouse holds each value, rendered by PostgreSQL: lib.sh's ch_renderers (functions in
# schema chk of the source database; sluice replicates tables only), compared in the settings of
# sluice's source sessions ($CH_PG_SET).
ch_renderers "$SDB"
src_sql "$SDB" <<'SQL'
-- CDC helpers: a table's columns but id (and generated ones); row DST takes row SRC's values
CREATE FUNCTION chk.cols(t regclass) RETURNS text STABLE LANGUAGE sql AS $$
  SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) FROM pg_attribute
   WHERE attrelid = t AND attnum > 0 AND NOT attisdropped AND attname <> 'id' AND attgenerated = '' $$;
CREATE PROCEDURE chk.take(t regclass, dst int, src int) LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE format('UPDATE %1$s SET (%2$s) = (SELECT %2$s FROM %1$s WHERE id = %3$s) WHERE id = %4$s',
                 t, chk.cols(t), src, dst);
END $$;
CREATE PROCEDURE chk.copy(t regclass, shift int) LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE format('INSERT INTO %1$s (id, %2$s) SELECT id + %3$s, %2$s FROM %1$s', t, chk.cols(t), shift);
END $$;
SQL

# ------------------------------------------------------------ expectations ---
# `ch_chk_table PG-TABLE CH-TABLE KEY-COLUMN...` (none: keyless), then one `ch_chk_col` per
# source column in order: `ch_chk_col NAME CLICKHOUSE-TYPE [CH-EXPR [PG-EXPR]]` (lib.sh). The type
# is the spec's ClickHouse type of the column's Arrow type (spec's PostgreSQL source table),
# Nullable unless NOT NULL or a key column, with 18.16's fallbacks. CH-EXPR renders the stored
# value as a String in ClickHouse (default or "-": toString({})); PG-EXPR renders the source value
# the way ClickHouse should hold it (default {}::text); {} is the quoted column. A CH-EXPR
# starting with "=" is selected as it is and compared as the server prints it (TabSeparated), not
# through an md5 computed by the server: 18.16's toString/CAST of a Decimal128 writes garbage
# (NUL bytes in the digits) and can crash the server, so Decimal(19..38, s) columns are compared
# that way (their text needs no escaping).
F32='toString(reinterpretAsUInt32(reinterpretAsString({})))'
F64='toString(reinterpretAsUInt64(reinterpretAsString({})))'
# a value as its type's output function writes it (concat calls it): char(n) keeps its padding
# (::text drops it), xml drops the default declaration <?xml version="1.0"?> (::text keeps it)
OUT='CASE WHEN {} IS NOT NULL THEN concat({}) END'
S='Nullable(String)'

ch_chk_table all_types all_types id
ch_chk_col id Int32
ch_chk_col c_bool 'Nullable(UInt8)' - '{}::int::text'
ch_chk_col c_int2 'Nullable(Int16)'
ch_chk_col c_int4 'Nullable(Int32)'
ch_chk_col c_int8 'Nullable(Int64)'
ch_chk_col c_money 'Nullable(Int64)' - '({}::numeric * 100)::bigint::text' # Int64 of cents
ch_chk_col c_float4 'Nullable(Float32)' "$F32" 'chk.f4({})'
ch_chk_col c_float8 'Nullable(Float64)' "$F64" 'chk.f8({})'
ch_chk_col c_num_10_2 'Nullable(Decimal(10, 2))'
ch_chk_col c_num_38_10 'Nullable(Decimal(38, 10))' '={}'
ch_chk_col c_num_76_20 "$S" # Decimal256(76, 20): no Decimal256 on 18.16, its exact text
ch_chk_col c_num_1000 "$S"  # precision > 76: Utf8 from the source
ch_chk_col c_num "$S"       # unconstrained: Utf8 (NaN, Infinity as text)
ch_chk_col c_oid 'Nullable(UInt32)'
ch_chk_col c_lsn 'Nullable(UInt64)' - "({} - '0/0')::text"
ch_chk_col c_date "$S" - 'chk.d({})'
ch_chk_col c_time "$S" - 'chk.time({})'
ch_chk_col c_time3 "$S" - 'chk.time({})'
ch_chk_col c_ts "$S" - 'chk.ts({})'
ch_chk_col c_ts0 "$S" - 'chk.ts({})'
ch_chk_col c_tstz "$S" - 'chk.tstz({})'
ch_chk_col c_timetz "$S"
ch_chk_col c_interval "$S"
ch_chk_col c_char "$S" - "$OUT"
ch_chk_col c_varchar "$S"
ch_chk_col c_text "$S"
ch_chk_col c_name "$S"
ch_chk_col c_qchar "$S"
ch_chk_col c_bit "$S"
ch_chk_col c_varbit "$S"
ch_chk_col c_uuid "$S"
ch_chk_col c_enum "$S"
ch_chk_col c_inet "$S"
ch_chk_col c_cidr "$S"
ch_chk_col c_macaddr "$S"
ch_chk_col c_macaddr8 "$S"
ch_chk_col c_tsvector "$S"
ch_chk_col c_bytea "$S" - '{}' # the bytes themselves (md5 of the bytea)
ch_chk_col c_json "$S"         # json keeps its text as written; jsonb its canonical text
ch_chk_col c_jsonb "$S"
ch_chk_col c_xml "$S" - "$OUT"
ch_chk_col c_int4_arr 'Array(Nullable(Int32))' - 'chk.arr({}::text[])'
ch_chk_col c_text_arr 'Array(Nullable(String))' - 'chk.qarr({})'
ch_chk_col c_num_arr 'Array(Nullable(Decimal(10, 2)))' - 'chk.arr({}::text[])'
ch_chk_col c_tstz_arr 'Array(Nullable(String))' - 'chk.qarr(chk.tstz_arr({}))'
ch_chk_col c_uuid_arr 'Array(Nullable(String))' - 'chk.qarr({}::text[])'
ch_chk_col c_bool_arr 'Array(Nullable(UInt8))' - 'chk.arr({}::int[]::text[])'
ch_chk_col c_date_arr 'Array(Nullable(String))' - 'chk.qarr(chk.d_arr({}))'
ch_chk_col c_int4range "$S" - 'chk.range({})'
ch_chk_col c_int8range "$S" - 'chk.range({})'
ch_chk_col c_numrange "$S" - 'chk.range({})'
ch_chk_col c_tsrange "$S" - 'chk.range({})'
ch_chk_col c_tstzrange "$S" - 'chk.range({})'
ch_chk_col c_daterange "$S" - 'chk.range({})'
ch_chk_col c_domain 'Nullable(Int32)' # a domain is its base type
ch_chk_col c_composite "$S"
ch_chk_col c_citext "$S"
# c_point: skipped (geometric types are not supported), absent in ClickHouse
ch_chk_col c_not_null String

ch_chk_table '"Odd Schema"."Mixed Table"' 'Mixed Table' ID
ch_chk_col ID Int32
ch_chk_col 'Weird "col"' "$S"
ch_chk_col 'with space' 'Nullable(Int32)'
ch_chk_col UPPER "$S"
ch_chk_col 'ünïcode' "$S"
ch_chk_col select 'Nullable(UInt8)' - '{}::int::text'

ch_chk_table composite_pk composite_pk b a
ch_chk_col a Int32
ch_chk_col b String
ch_chk_col c "$S" - 'chk.tstz({})'
ch_chk_col v "$S"

ch_chk_table keyless keyless
ch_chk_col x 'Nullable(Int32)'
ch_chk_col y "$S"

ch_chk_table dropped_col dropped_col id
ch_chk_col id Int32
ch_chk_col kept "$S"
ch_chk_col n 'Nullable(Int32)'

ch_chk_table toasted toasted id
ch_chk_col id Int32
ch_chk_col body "$S"
ch_chk_col blob "$S" - '{}'

ch_chk_table events events id created
ch_chk_col id Int32
ch_chk_col created String - 'chk.d({})'
ch_chk_col payload "$S"

ch_chk_table empty_t empty_t id
ch_chk_col id Int32
ch_chk_col v "$S"

ch_chk_table extras extras id
ch_chk_col id Int32
ch_chk_col a_interval 'Array(Nullable(String))' - 'chk.qarr({}::text[])'
ch_chk_col a_inet 'Array(Nullable(String))' - 'chk.qarr({}::text[])'
ch_chk_col a_enum 'Array(Nullable(String))' - 'chk.qarr({}::text[])'
ch_chk_col a_varchar 'Array(Nullable(String))' - 'chk.qarr({}::text[])'
ch_chk_col a_jsonb 'Array(Nullable(String))' - 'chk.qarr({}::text[])'
ch_chk_col a_bytea 'Array(Nullable(String))' 'toString(arrayMap(x -> hex(x), {}))' 'chk.qarr(chk.hex_arr({}))'
ch_chk_col a_int8 'Array(Nullable(Int64))' - 'chk.arr({}::text[])'
ch_chk_col a_float8 'Array(Nullable(Float64))' 'toString(arrayMap(x -> reinterpretAsUInt64(reinterpretAsString(x)), {}))' 'chk.arr(chk.f8_arr({}))'
ch_chk_col a_numeric 'Array(Nullable(String))' - 'chk.qarr({}::text[])'
ch_chk_col a_domain 'Array(Nullable(Int32))' - 'chk.arr({}::text[])' # posint[]: a domain is its base type
ch_chk_col a_text 'Array(Nullable(String))' - 'chk.qarr({})'
ch_chk_col n_negscale "$S" # negative scale: Utf8
ch_chk_col d_nested 'Nullable(Int32)'
ch_chk_col d_nn "$S"
ch_chk_col fr "$S" - 'chk.range({})'
ch_chk_col cp "$S"
ch_chk_col cp_arr 'Array(Nullable(String))' - 'chk.qarr({}::text[])'
# gen: a stored generated column, skipped before PostgreSQL 18 (see snapshot_skipped)
ch_chk_col bpc "$S" - "$OUT"
ch_chk_col vc "$S"
ch_chk_col ts3 "$S" - 'chk.tstz({})'
ch_chk_col it_ym "$S"
ch_chk_col it_s "$S"

ch_chk_table big big id
ch_chk_col id Int32
ch_chk_col v "$S"
ch_chk_col n 'Nullable(Decimal(12, 2))'
ch_chk_col ts "$S" - 'chk.tstz({})'

# -------------------------------------------------------------------- checks ---
# check_types: every table's columns in system.columns, in order, with the expected types (and
# the metadata columns), key columns in the sorting key; all mismatches named, then fail.
check_types() {
	local ti i bad=() want have
	for ti in "${!CH_TBL_PG[@]}"; do
		want=
		for i in "${!CH_C_NAME[@]}"; do
			((CH_C_T[i] == ti)) || continue
			local sk=0 k
			for k in ${CH_TBL_KEY[ti]}; do [[ $k == "${CH_C_NAME[i]}" ]] && sk=1; done
			want+="${CH_C_NAME[i]}	${CH_C_TYPE[i]}	$sk"$'\n'
		done
		want+=$'_sluice_version\tUInt64\t0\n_sluice_deleted\tUInt8\t0'
		[[ -n ${CH_TBL_KEY[ti]} ]] ||
			want+=$'\n_sluice_origin\tUInt64\t1\n_sluice_seq\tUInt64\t1\n_sluice_hash\tUInt64\t0\n_sluice_del_seq\tUInt64\t0'
		have=$(ch_sql "SELECT name, type, is_in_sorting_key FROM system.columns
		  WHERE database = $(ch_lit "$CDB") AND table = $(ch_lit "${CH_TBL_CH[ti]}")")
		ASSERTS=$((ASSERTS + $(printf '%s\n' "$want" | wc -l)))
		if [[ $want != "$have" ]]; then
			printf -- '--- %s: columns (name, type, in sorting key) differ (< expected, > ClickHouse):\n' "${CH_TBL_CH[ti]}" >&2
			diff <(printf '%s\n' "$want") <(printf '%s\n' "$have") >&2 || true
			bad+=("${CH_TBL_CH[ti]}")
		fi
	done
	((${#bad[@]} == 0)) || fail "ClickHouse column types differ from the expected mapping in: ${bad[*]}"
}

# check_values WHAT [CH-TABLE...]: every column of every table (or of those), row by row; a
# column that differs is named with the first differing keys and both renderings of the first
# one; all of them, then fail.
check_values() {
	local what=$1 ti i f a b e bad=() keys key
	shift
	for ti in "${!CH_TBL_PG[@]}"; do
		(($# == 0)) || [[ " $* " == *" ${CH_TBL_CH[ti]} "* ]] || continue
		a=$(pg_rows "$SDB" "$ti")
		b=$(ch_rows "$CDB" "$ti")
		f=1
		ASSERTS=$((ASSERTS + 1))
		if [[ $(cut -f1 <<<"$a") != "$(cut -f1 <<<"$b")" ]]; then
			printf -- '--- %s: %s: rows (keys) differ (< PostgreSQL, > ClickHouse):\n' "$what" "${CH_TBL_CH[ti]}" >&2
			diff <(cut -f1 <<<"$a") <(cut -f1 <<<"$b") | head -n 20 >&2 || true
			bad+=("${CH_TBL_CH[ti]}:rows")
		fi
		for i in "${!CH_C_NAME[@]}"; do
			((CH_C_T[i] == ti)) || continue
			f=$((f + 1))
			ASSERTS=$((ASSERTS + 1))
			[[ $(md5sum <<<"$(cut -f1,$f <<<"$a")") != "$(md5sum <<<"$(cut -f1,$f <<<"$b")")" ]] || continue
			bad+=("${CH_TBL_CH[ti]}.${CH_C_NAME[i]}")
			keys=$(diff <(cut -f1,$f <<<"$a") <(cut -f1,$f <<<"$b") | sed -n 's/^[<>] \([^\t]*\)\t.*/\1/p' |
				LC_ALL=C sort -u | head -n 8 | tr '\n' ' ' || true)
			printf -- '--- %s: %s.%s differs for key(s): %s\n' "$what" "${CH_TBL_CH[ti]}" "${CH_C_NAME[i]}" "$keys" >&2
			key=${keys%% *}
			[[ $key != - && -n $key ]] || continue
			printf '    PostgreSQL renders: %s\n' "$(src_sql "$SDB" <<<"$CH_PG_SET SELECT coalesce(left($(pg_col_expr "$i")::text, 300), 'NULL') FROM ${CH_TBL_PG[ti]} WHERE $(pg_row_key "$ti") = $(sql_lit "$key")")" >&2
			e=$(ch_col_expr "$i")
			[[ $e == =* ]] && e=${e#=} || e="ifNull(substring($e, 1, 300), 'NULL')"
			printf '    ClickHouse holds:   %s\n' "$(ch_sql "SELECT $e FROM $(ch_tbl_from "$CDB" "$ti") AND $(ch_row_key "$ti") = $(ch_lit "$key")")" >&2
		done
	done
	((${#bad[@]} == 0)) || fail "$what: values differ in ClickHouse: ${bad[*]}"
}

verify_ok() { # WHAT
	sluice verify "$PIPE"
	((SL_RC == 0)) || { sluice_dump; fail "$1: sluice verify exited $SL_RC"; }
	assert_contains "$SL_OUT" "all tables equal" "$1: verify: all tables equal"
	local t
	for t in public.all_types "Odd Schema.Mixed Table" public.composite_pk public.keyless \
		public.dropped_col public.toasted public.events public.empty_t public.extras public.big; do
		assert_contains "$SL_OUT" "ok   $t -> " "$1: verify: an ok line for $t"
	done
}

# ---------------------------------------------------------------- snapshot ---
PIPE=$TMP/chtypes.yaml
pipeline_file "$PIPE" "$NAME" "$SDB" "clickhouse:$CDB" "snapshot: { parallelism: 2, chunk_size: 1MiB }"
log "sluice run --once (snapshot into ClickHouse $CH_VERSION)"
t0=$SECONDS
sluice_ok run --once "$PIPE"
RUN_ERR=$SL_ERR
log "snapshot took $((SECONDS - t0))s"

snapshot_tables() {
	assert_eq "Mixed Table,all_types,big,composite_pk,dropped_col,empty_t,events,extras,keyless,toasted" \
		"$(ch_sql "SELECT arrayStringConcat(groupArray(name), ',') FROM (SELECT name FROM system.tables
		  WHERE database = $(ch_lit "$CDB") ORDER BY name)")" \
		"ClickHouse holds exactly the source's tables, under their names (no partitions of their own)"
}
snapshot_skipped() {
	local warn
	warn=$(printf '%s\n' "$RUN_ERR" | grep -i 'c_point' || true)
	assert_contains "$warn" "c_point" "a warning names the skipped point column c_point"
	assert_contains "${warn,,}" "skip" "the c_point warning says it is skipped"
	assert_eq 0 "$(ch_sql "SELECT count() FROM system.columns WHERE database = $(ch_lit "$CDB")
	  AND table = 'all_types' AND name = 'c_point'")" "the skipped column is absent in ClickHouse"
	assert_contains "$RUN_ERR" "column public.extras.gen of type integer is skipped: a generated column" \
		"a warning says the generated column is left out, and why"
	assert_eq 0 "$(ch_sql "SELECT count() FROM system.columns WHERE database = $(ch_lit "$CDB")
	  AND table = 'extras' AND name = 'gen'")" "the generated column is absent in ClickHouse"
}
snapshot_types() { check_types; }
snapshot_verify() { verify_ok "snapshot"; }
snapshot_values() { check_values "snapshot"; }
run_case snapshot_tables
run_case snapshot_skipped
run_case snapshot_types
run_case snapshot_verify
run_case snapshot_values

# The checks can fail: a changed ClickHouse row (a newer version of public.big's row 777) makes
# verify exit 3 and the column comparison name that column and row; the row is then put back.
tamper() {
	local t
	t="$(ch_ident "$CDB").big"
	ch_sql "INSERT INTO $t (id, v, n, ts, _sluice_version, _sluice_deleted)
	  SELECT id, 'tampered', n, ts, 1, 0 FROM $t WHERE id = 777 AND _sluice_version = 0"
	sluice verify "$PIPE"
	((SL_RC == 3)) || { sluice_dump; fail "verify after changing a ClickHouse row: expected exit 3, got $SL_RC"; }
	assert_contains "$SL_OUT" "DIFF public.big" "verify: a DIFF line for the changed table"
	local out
	out=$( (check_values "tampered" big) 2>&1) && fail "the column comparison does not see a changed value"
	assert_contains "$out" "big.v differs for key(s): 777 " "the column comparison names the changed column and row"
	assert_eq "big.v" "${out##*values differ in ClickHouse: }" "the column comparison names nothing else"
	ch_sql "INSERT INTO $t (id, v, n, ts, _sluice_version, _sluice_deleted)
	  SELECT id, v, n, ts, 2, 0 FROM $t WHERE id = 777 AND _sluice_version = 0"
	check_values "restored" big
}
run_case tamper

# --------------------------------------------------------------------- CDC ---
# Every corpus row again under a new key (every value inserted through the stream), rows taking
# other rows' values (every column updated: values to NULL and back, edge values swapped), a
# delete, updates that leave TOASTed values unchanged (ClickHouse supplies them), a key change,
# rows of the odd, composite-key, keyless, partitioned and empty tables.
log "changes on the source"
src_sql "$SDB" <<'SQL'
CALL chk.copy('all_types', 1000);
CALL chk.copy('extras', 1000);
BEGIN;
CALL chk.take('all_types', 1, 100);
CALL chk.take('all_types', 100, 1001);
CALL chk.take('all_types', 2, 1003);
CALL chk.take('all_types', 3, 1002);
COMMIT;
CALL chk.take('all_types', 4, 1005);
CALL chk.take('all_types', 5, 1006);
CALL chk.take('all_types', 6, 1004);
CALL chk.take('all_types', 7, 1008);
CALL chk.take('all_types', 8, 1007);
CALL chk.take('all_types', 9, 1010);
CALL chk.take('all_types', 10, 1009);
DELETE FROM all_types WHERE id = 1100;
CALL chk.take('extras', 1, 1002);
CALL chk.take('extras', 2, 1003);
CALL chk.take('extras', 3, 1001);
UPDATE "Odd Schema"."Mixed Table" SET "Weird ""col""" = 'upd "q"', "UPPER" = NULL WHERE "ID" = 1;
INSERT INTO "Odd Schema"."Mixed Table" VALUES (4, E'new\tline', 4, 'ünï ✓', 'ñ', true);
UPDATE composite_pk SET v = v * 2, c = c - interval '3000 years' WHERE a = 1;
UPDATE composite_pk SET a = a + 100 WHERE b = 'k3';
DELETE FROM composite_pk WHERE b = 'k5';
INSERT INTO composite_pk VALUES (0, 'new', 'infinity', 'NaN');
INSERT INTO keyless VALUES (NULL, NULL), (11, 'new'), (1, 'dup');
UPDATE dropped_col SET kept = NULL, n = -n WHERE id <= 3;
UPDATE toasted SET blob = '\x09' WHERE id = 2;
UPDATE toasted SET body = 'new body' WHERE id = 1;
UPDATE events SET payload = 'updated' WHERE id <= 5;
UPDATE events SET created = '2024-06-01' WHERE id = 10;
INSERT INTO events VALUES (5000, '4713-01-01 BC', 'far past'), (5001, 'infinity', 'default partition');
INSERT INTO empty_t VALUES (1, 'no longer empty');
UPDATE big SET n = -n, ts = ts - interval '100 years' WHERE id % 5000 = 0;
DELETE FROM big WHERE id > 49990;
SQL

cdc_run() {
	log "sluice run --once (changes)"
	local t0=$SECONDS
	sluice_ok run --once "$PIPE"
	log "changes applied in $((SECONDS - t0))s"
}
cdc_types() { check_types; }
cdc_verify() { verify_ok "CDC"; }
cdc_values() { check_values "CDC"; }
run_case cdc_run
if [[ " ${FAILED_CASES[*]} " != *" cdc_run "* ]]; then
	run_case cdc_types
	run_case cdc_verify
	run_case cdc_values
fi

cases_done
