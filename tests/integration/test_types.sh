#!/usr/bin/env bash
# Type corpus: every PostgreSQL type of the spec's type table with its edge values, odd
# identifiers, composite/absent keys, TOAST, a partitioned table, an empty table and a table
# split into several ctid chunks. One `sluice run --once`, then: exit 0, `sluice verify` exit 0,
# and independently in SQL, per table: same columns and format_type, same primary key, same
# content digest. The point column is skipped (warned, absent on the target). Finally a changed
# target row must make `sluice verify` exit 3 with a DIFF line (the test can fail).
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

NAME=it_types
SDB=it_types_src
TDB=it_types_dst
fresh_db test-src "$SDB"
fresh_db test-dst "$TDB"

log "loading the corpus into test-src/$SDB"
src_sql "$SDB" <"$(dirname -- "${BASH_SOURCE[0]}")/pg_type_corpus.sql"

# Preconditions of the corpus itself.
toast_bytes=$(src_sql "$SDB" "SELECT pg_relation_size(reltoastrelid) FROM pg_class WHERE oid = 'public.toasted'::regclass")
((toast_bytes > 1000000)) || fail "corpus: toasted rows are not stored out of line (toast size $toast_bytes)"
big_bytes=$(src_sql "$SDB" "SELECT pg_relation_size('public.big')")
((big_bytes > 3 * 1048576)) || fail "corpus: public.big is only $big_bytes bytes, not several 1 MiB chunks"
default_rows=$(src_sql "$SDB" "SELECT count(*) FROM events_default")
((default_rows > 0)) || fail "corpus: the default partition holds no rows"

PIPE=$TMP/types.yaml
pipeline_file "$PIPE" "$NAME" "$SDB" "$TDB" "snapshot: { parallelism: 2, chunk_size: 1MiB }"

# ------------------------------------------------------------ check, discover ---
sluice_ok check "$PIPE"
assert_contains "$SL_OUT" "all checks passed" "check: all checks pass"
sluice_ok discover "$PIPE"
DISC=$SL_OUT
assert_contains "$DISC" "Decimal128(38, 10)" "discover: numeric(38,10) should map to Decimal128(38, 10)"
assert_contains "$DISC" "Decimal256(76, 20)" "discover: numeric(76,20) should map to Decimal256(76, 20)"
assert_contains "$DISC" 'Timestamp(us, "UTC")' "discover: timestamptz should map to Timestamp(us, \"UTC\")"
disc_line() { printf '%s\n' "$DISC" | grep -E "^  $1 " | head -n 1; }
assert_contains "$(disc_line c_num_38_10)" "Decimal128(38, 10)" "discover: c_num_38_10 line"
assert_contains "$(disc_line c_tstz)" 'Timestamp(us, "UTC")' "discover: c_tstz line"
assert_contains "$(disc_line c_ts)" 'Timestamp(us)' "discover: c_ts line"
assert_contains "$(disc_line c_int8)" 'Int64' "discover: c_int8 line"
assert_contains "$(disc_line c_num_1000)" 'Utf8' "discover: numeric(1000,0) travels as text"
assert_contains "$(disc_line c_point)" 'skipped' "discover: the point column is listed as skipped"
assert_contains "$DISC" "public.events" "discover: partitioned root listed"
assert_not_contains "$DISC" "events_2023" "discover: partitions must not be listed as tables of their own"
assert_contains "$DISC" "Odd Schema" "discover: odd schema listed"

# ---------------------------------------------------------------------- run ---
log "sluice run --once"
t0=$SECONDS
sluice_ok run --once "$PIPE"
RUN_ERR=$SL_ERR
log "run took $((SECONDS - t0))s"
chunks=$(printf '%s\n' "$RUN_ERR" | sed -n 's/.*snapshot: [0-9]* table(s) in \([0-9]*\) chunk(s).*/\1/p' | head -n 1)
# 9 unsplit tables + 3 leaf partitions of events = 11 chunks; public.big must add several.
[[ -n $chunks ]] || fail "run: no 'snapshot: N table(s) in M chunk(s)' log line"
((chunks >= 13)) || fail "run: public.big was not split into several ctid chunks ($chunks chunks in all)"
assert_contains "$RUN_ERR" "column public.extras.gen of type integer is skipped: a generated column" \
	"run: a generated column is left out, with a warning saying why"
warn=$(printf '%s\n' "$RUN_ERR" | grep -i 'c_point' || true)
assert_contains "$warn" "c_point" "run: a warning naming the skipped column c_point is expected on stderr"
assert_contains "${warn,,}" "skip" "run: the c_point warning should say it is skipped"

# ------------------------------------------------------------------- verify ---
sluice_ok verify "$PIPE"
VERIFY=$SL_OUT
assert_contains "$VERIFY" "all tables equal" "verify: all tables equal"
assert_contains "$VERIFY" 'ok   Odd Schema.Mixed Table -> Odd Schema.Mixed Table: 3 rows' "verify: an ok line for the odd table"
for t in public.all_types public.composite_pk public.keyless public.dropped_col public.toasted \
	public.events public.empty_t public.big public.extras; do
	assert_contains "$VERIFY" "ok   $t -> " "verify: an ok line for $t"
done
assert_contains "$VERIFY" "ok   public.all_types -> public.all_types: 10 rows" "verify: row count of all_types"
assert_contains "$VERIFY" "ok   public.big -> public.big: 50000 rows" "verify: row count of big"

# --------------------------------------------- independent checks, per table ---
TABLES=$(src_sql "$SDB" "SELECT n.nspname || '|' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
    AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
  ORDER BY 1")
assert_eq 10 "$(printf '%s\n' "$TABLES" | wc -l)" "corpus: 10 tables expected"
TARGET_TABLES=$(dst_sql "$TDB" "SELECT n.nspname || '|' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'p')
    AND n.nspname NOT IN ('pg_catalog', 'information_schema', '_sluice') AND n.nspname NOT LIKE 'pg_toast%'
  ORDER BY 1")
assert_eq "$TABLES" "$TARGET_TABLES" "target holds exactly the source's tables (no partitions of their own)"

while IFS='|' read -r s t; do
	skip=
	[[ $s.$t == public.all_types ]] && skip=c_point
	log "comparing $s.$t"
	compare_table test-src "$SDB" test-dst "$TDB" "$s" "$t" "$s" "$skip"
done <<<"$TABLES"

# The generated column is not in the change log before PostgreSQL 18: the target recreates it
# as a generated column with the source's expression (compare_table above compared its values).
gen_sql="SELECT a.attgenerated::text || ' ' || pg_get_expr(d.adbin, d.adrelid) FROM pg_attribute a
  JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
  WHERE a.attrelid = 'public.extras'::regclass AND a.attname = 'gen'"
assert_eq "$(src_sql "$SDB" "$gen_sql")" "$(dst_sql "$TDB" "$gen_sql")" \
	"the generated column is a generated column on the target, with the same expression"
src_sql "$SDB" "UPDATE extras SET id = id + 1000 WHERE id = (SELECT min(id) FROM extras)"
sluice_ok run --once "$PIPE"
compare_table test-src "$SDB" test-dst "$TDB" public extras
assert_eq "$(src_sql "$SDB" "SELECT string_agg(gen::text, ',' ORDER BY id) FROM extras")" \
	"$(dst_sql "$TDB" "SELECT string_agg(gen::text, ',' ORDER BY id) FROM extras")" \
	"CDC: the target computes the generated column for a changed row"
assert_eq 0 "$(dst_sql "$TDB" "SELECT count(*) FROM pg_attribute WHERE attrelid = 'public.all_types'::regclass AND attname = 'c_point'")" \
	"the skipped point column must be absent on the target"
assert_eq "r" "$(dst_sql "$TDB" "SELECT relkind FROM pg_class WHERE oid = 'public.events'::regclass")" \
	"partitioned table lands as a plain table"
assert_eq 3000 "$(dst_sql "$TDB" "SELECT count(*) FROM public.events")" "partitioned table: all rows on the target"
assert_eq "id,created" "$(primary_key test-dst "$TDB" public events)" "partitioned table: primary key on the target"
assert_eq 0 "$(dst_sql "$TDB" "SELECT count(*) FROM public.empty_t")" "empty table is empty"
# Type definitions were recreated, not just names.
assert_eq "$(src_sql "$SDB" "SELECT string_agg(enumlabel, '|' ORDER BY enumsortorder) FROM pg_enum WHERE enumtypid = 'mood'::regtype")" \
	"$(dst_sql "$TDB" "SELECT string_agg(enumlabel, '|' ORDER BY enumsortorder) FROM pg_enum WHERE enumtypid = 'mood'::regtype")" \
	"enum labels and their order"
assert_contains "$(dst_sql "$TDB" "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE contypid = 'posint'::regtype")" \
	"VALUE > 0" "domain CHECK constraint recreated"
assert_eq "$(src_sql "$SDB" "SELECT string_agg(attname || ' ' || format_type(atttypid, atttypmod), ', ' ORDER BY attnum) FROM pg_attribute WHERE attrelid = 'addr'::regclass")" \
	"$(dst_sql "$TDB" "SELECT string_agg(attname || ' ' || format_type(atttypid, atttypmod), ', ' ORDER BY attnum) FROM pg_attribute WHERE attrelid = 'addr'::regclass")" \
	"composite type attributes"
assert_eq 1 "$(dst_sql "$TDB" "SELECT count(*) FROM pg_extension WHERE extname = 'citext'")" "citext extension created on the target"
# Spot checks on values whose text forms could hide a difference.
assert_eq "-0 -0" "$(dst_sql "$TDB" "SELECT c_float4::text || ' ' || c_float8::text FROM all_types WHERE id = 5")" \
	"float4/float8 -0 keep their sign"
assert_eq "NaN Infinity -Infinity" "$(dst_sql "$TDB" "SELECT string_agg(c_num::text, ' ' ORDER BY id) FROM all_types WHERE id IN (2, 3, 4)")" \
	"numeric NaN and infinities"
assert_eq "$(src_sql "$SDB" "SELECT isempty(c_tsrange)::text || lower_inf(c_tsrange)::text || lower(c_tsrange)::text FROM all_types WHERE id = 4")" \
	"$(dst_sql "$TDB" "SELECT isempty(c_tsrange)::text || lower_inf(c_tsrange)::text || lower(c_tsrange)::text FROM all_types WHERE id = 4")" \
	"tsrange with a -infinity bound value is not an unbounded range"
assert_eq "$(src_sql "$SDB" "SELECT md5(body) || md5(blob) FROM toasted WHERE id = 1")" \
	"$(dst_sql "$TDB" "SELECT md5(body) || md5(blob) FROM toasted WHERE id = 1")" "TOASTed values"

# --------------------------------------------------------- the test can fail ---
dst_sql "$TDB" "UPDATE public.big SET v = 'changed' WHERE id = 777"
sluice verify "$PIPE"
((SL_RC == 3)) || { sluice_dump; fail "verify after changing a target row: expected exit 3, got $SL_RC"; }
assert_contains "$SL_OUT" "DIFF public.big -> public.big" "verify: DIFF line for the changed table"
assert_not_contains "$SL_OUT" "DIFF public.all_types" "verify: no DIFF for unchanged tables"
sdig=$(table_digest test-src "$SDB" public big "id, v, n, ts")
tdig=$(table_digest test-dst "$TDB" public big "id, v, n, ts")
[[ $sdig != "$tdig" ]] || fail "the SQL digest does not see a changed row"

# ------------------------------------------------------------------ cleanup ---
sluice_ok reset "$PIPE"
assert_eq 0 "$(src_sql postgres "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'sluice_$NAME'")" "reset drops the slot"
pass
