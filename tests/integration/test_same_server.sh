#!/usr/bin/env bash
# Source and target are two databases of the same server (test-src), with target.schema: every
# table lands in schema "copied". Creating the slot waits for every open transaction of the
# server, so sluice must not hold one on the target while creating it (a hang here fails on the
# command timeout). Checks: run and verify succeed, all tables are in "copied" with the source's
# columns, keys and content, and the source is untouched. Then: two source tables with the same
# name in different schemas cannot both land in "copied" — the run must refuse, not merge them,
# before it creates anything. Last, source and target as one database: _sluice is never copied,
# and with a FOR ALL TABLES publication the pipeline's own position writes do not loop.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

SDB=it_same_src
TDB=it_same_dst
fresh_db test-src "$SDB"
fresh_db test-src "$TDB"
export SLUICE_CMD_TIMEOUT=120

src_sql "$SDB" <<'SQL'
SET ROLE sluice;
CREATE TYPE status AS ENUM ('new', 'paid', 'shipped');
CREATE SCHEMA sales;
CREATE TYPE sales.channel AS ENUM ('web', 'shop');
CREATE TABLE customers (id integer PRIMARY KEY, name text NOT NULL, email text, created timestamptz);
INSERT INTO customers
  SELECT i, 'customer ' || i, CASE WHEN i % 7 = 0 THEN NULL ELSE 'c' || i || '@example.com' END,
         '2024-01-01'::timestamptz + i * interval '1 hour'
  FROM generate_series(1, 5000) i;
CREATE TABLE orders (id bigint PRIMARY KEY, customer_id integer REFERENCES customers, st status,
                     amount numeric(12,2), items jsonb);
INSERT INTO orders
  SELECT i, 1 + i % 5000, (ARRAY['new', 'paid', 'shipped']::status[])[1 + i % 3], i * 1.25,
         jsonb_build_object('n', i % 4, 'sku', 'S' || i)
  FROM generate_series(1, 20000) i;
CREATE TABLE sales.invoices (year integer, no integer, ch sales.channel, total numeric, PRIMARY KEY (year, no));
INSERT INTO sales.invoices SELECT 2000 + i % 25, i, (ARRAY['web', 'shop']::sales.channel[])[1 + i % 2], i / 3.0
  FROM generate_series(1, 3000) i;
CREATE TABLE sales.audit_log (at timestamptz, line text);    -- keyless
INSERT INTO sales.audit_log SELECT '2024-01-01'::timestamptz + i * interval '1 min', 'line ' || (i % 50)
  FROM generate_series(1, 2000) i;
CREATE TABLE measurements (id integer, day date, value float8, PRIMARY KEY (id, day)) PARTITION BY RANGE (day);
CREATE TABLE measurements_h1 PARTITION OF measurements FOR VALUES FROM ('2024-01-01') TO ('2024-07-01');
CREATE TABLE measurements_h2 PARTITION OF measurements FOR VALUES FROM ('2024-07-01') TO ('2025-01-01');
INSERT INTO measurements SELECT i, '2024-01-01'::date + i % 366, sqrt(i) FROM generate_series(1, 4000) i;
RESET ROLE;
ANALYZE;
SQL

TABLES="public|customers public|orders public|measurements sales|invoices sales|audit_log"
source_fingerprint() {
	local x s t out=""
	for x in $TABLES; do
		s=${x%%|*} t=${x#*|}
		out+="$s.$t $(table_digest test-src "$SDB" "$s" "$t" "$(select_list test-src "$SDB" "$s" "$t")")"$'\n'
	done
	out+=$(src_sql "$SDB" "SELECT string_agg(n.nspname || '.' || c.relname || ':' || c.relkind::text, ' ' ORDER BY n.nspname, c.relname)
	  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
	  WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'")
	printf '%s\n' "$out"
}
BEFORE=$(source_fingerprint)

PIPE=$TMP/same.yaml
pipeline_file "$PIPE" it_same "$SDB" "test-src:$TDB" "target.schema: copied"
assert_contains "$(cat "$PIPE")" "127.0.0.1:$SRC_PORT/$TDB" "pipeline: target on the source server"

sluice_ok check "$PIPE"
t0=$SECONDS
sluice_ok run --once "$PIPE"
log "run took $((SECONDS - t0))s"
sluice_ok verify "$PIPE"
assert_contains "$SL_OUT" "all tables equal" "verify: all tables equal"
for x in $TABLES; do
	assert_contains "$SL_OUT" "ok   ${x/|/.} -> copied.${x#*|}: " "verify: ${x/|/.} lands in copied"
done

# Every table is in schema copied, and only those.
assert_eq "copied.audit_log copied.customers copied.invoices copied.measurements copied.orders" \
	"$(inst_sql test-src "$TDB" "SELECT string_agg(n.nspname || '.' || c.relname, ' ' ORDER BY n.nspname, c.relname)
	  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
	  WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema', '_sluice')")" \
	"target: all tables in schema copied, nothing else"
for x in $TABLES; do
	compare_table test-src "$SDB" test-src "$TDB" "${x%%|*}" "${x#*|}" copied
done

# The source is untouched: same content, no new relations (e.g. no "copied" schema there).
assert_eq "$BEFORE" "$(source_fingerprint)" "source tables and relations unchanged by run and verify"
assert_eq 0 "$(src_sql "$SDB" "SELECT count(*) FROM pg_namespace WHERE nspname = 'copied'")" \
	"no schema copied in the source database"
assert_eq 1 "$(src_sql "$SDB" "SELECT count(*) FROM pg_publication WHERE pubname = 'sluice_it_same'")" \
	"the publication exists on the source"
assert_eq 1 "$(src_sql postgres "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'sluice_it_same' AND database = '$SDB'")" \
	"the slot exists, in the source database"
sluice_ok reset "$PIPE"
assert_eq 0 "$(src_sql postgres "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'sluice_it_same'")" \
	"reset drops the slot"

# ------------------------------------------ two source tables, one target name ---
# public.items and sales.items both map to copied.items. sluice must refuse (naming both) rather
# than load them into one table; keyless tables, so no primary-key error stops the merge.
CDB=it_same_clash_src
CTDB=it_same_clash_dst
fresh_db test-src "$CDB"
fresh_db test-src "$CTDB"
src_sql "$CDB" <<'SQL'
SET ROLE sluice;
CREATE SCHEMA sales;
CREATE TABLE public.items (id integer, v text);
CREATE TABLE sales.items (id integer, v text);
INSERT INTO public.items VALUES (1, 'public');
INSERT INTO sales.items VALUES (2, 'sales'), (3, 'sales');
SQL
CPIPE=$TMP/clash.yaml
pipeline_file "$CPIPE" it_same_clash "$CDB" "test-src:$CTDB" "target.schema: copied"
sluice run --once "$CPIPE"
merged=$(inst_sql test-src "$CTDB" "SELECT coalesce(string_agg(DISTINCT v, ','), '') FROM copied.items" 2>/dev/null || true)
if ((SL_RC == 0)) || [[ $merged == *public* && $merged == *sales* ]]; then
	sluice_dump
	fail "public.items and sales.items both landed in copied.items (run exit $SL_RC, target rows from: $merged); run must refuse the name clash"
fi
# a pipeline-file problem: exit 2, like every configuration error
assert_sluice_error 2 "public.items" "sales.items" "target.schema"
# README: "refused before anything is created": no slot, no publication, nothing on the
# target, nothing in the state store.
assert_eq 0 "$(src_sql postgres "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'sluice_it_same_clash'")" \
	"name clash: no replication slot created"
assert_eq 0 "$(src_sql "$CDB" "SELECT count(*) FROM pg_publication")" "name clash: no publication created"
assert_eq "" "$(inst_sql test-src "$CTDB" "SELECT string_agg(nspname, ' ') FROM pg_namespace
  WHERE nspname NOT IN ('public', 'information_schema') AND nspname !~ '^pg_'")" \
	"name clash: no schema created on the target (neither copied nor _sluice)"
assert_eq 0 "$(inst_sql test-src "$CTDB" "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'")" "name clash: no relation created on the target"
assert_eq "0 0 0" "$(sqlite3 "$TMP/it_same_clash.state.db" "SELECT (SELECT count(*) FROM sluice_pipeline) || ' ' ||
  (SELECT count(*) FROM sluice_table) || ' ' || (SELECT count(*) FROM sluice_position)")" \
	"name clash: nothing recorded in the state store"

# ------------------------------------------- source and target: one database ---
# ARCHITECTURE: "The _sluice schema is never replicated (a pipeline whose source and target are
# the same database must not copy its own positions)". Pipeline one copies public.* into schema
# copy1 of the same database, so its CDC creates _sluice.positions there. Pipeline two selects
# every user table but the copies: _sluice.positions must not be selected, published or copied, so
# a position written by an applier is never streamed back.
ODB=it_same_one
fresh_db test-src "$ODB"
src_sql "$ODB" <<'SQL'
SET ROLE sluice;
CREATE TABLE items (id integer PRIMARY KEY, v text);
INSERT INTO items SELECT i, 'item ' || i FROM generate_series(1, 500) i;
CREATE TABLE notes (n integer, note text);     -- keyless, insert-only
INSERT INTO notes SELECT i, 'note ' || i FROM generate_series(1, 200) i;
SQL
one_write() {
	src_sql "$ODB" "BEGIN; INSERT INTO items SELECT max(id) + 1, 'more' FROM items;
	  UPDATE items SET v = v || '+' WHERE id % 50 = 0; INSERT INTO notes SELECT max(n) + 1, 'more' FROM notes; COMMIT"
}
pipeline_file "$TMP/one.yaml" it_same_one "$ODB" "test-src:$ODB" "target.schema: copy1" \
	"source.tables: { include: [public.*] }"
sluice_ok run --once "$TMP/one.yaml"
one_write
sluice_ok run --once "$TMP/one.yaml"
assert_eq 1 "$(src_sql "$ODB" "SELECT count(*) FROM _sluice.positions WHERE pipeline = 'it_same_one'")" \
	"one database: pipeline one keeps its position in _sluice.positions of the source database"
pipeline_file "$TMP/two.yaml" it_same_two "$ODB" "test-src:$ODB" "target.schema: copy2" \
	"source.tables: { exclude: [copy1.*, copy2.*] }"
sluice_ok discover "$TMP/two.yaml"
assert_contains "$SL_OUT" "public.items" "one database: discover lists the user tables"
assert_not_contains "$SL_OUT" "_sluice" "one database: discover does not select the _sluice schema"
sluice_ok run --once "$TMP/two.yaml"
one_write
sluice_ok run --once "$TMP/two.yaml"
assert_not_contains "$SL_ERR" "_sluice" "one database: no change to _sluice.positions reaches pipeline two"
assert_eq "public.items public.notes" "$(src_sql "$ODB" "SELECT string_agg(schemaname || '.' || tablename, ' ' ORDER BY 1)
  FROM pg_publication_tables WHERE pubname = 'sluice_it_same_two'")" \
	"one database: pipeline two publishes its tables, and not _sluice.positions"
assert_eq "copy2.items copy2.notes" "$(src_sql "$ODB" "SELECT string_agg(n.nspname || '.' || c.relname, ' ' ORDER BY 1)
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'copy2' AND c.relkind IN ('r', 'p')")" \
	"one database: only the selected tables land in copy2 (no copy of positions)"
assert_eq "it_same_one it_same_two" "$(src_sql "$ODB" "SELECT string_agg(pipeline, ' ' ORDER BY 1) FROM _sluice.positions")" \
	"one database: _sluice.positions holds the two pipelines' positions, nothing else"
for t in items notes; do
	compare_table test-src "$ODB" test-src "$ODB" public "$t" copy2
done
sluice_ok run --once "$TMP/one.yaml"
for t in items notes; do
	compare_table test-src "$ODB" test-src "$ODB" public "$t" copy1
done
# Three: a FOR ALL TABLES publication made by hand publishes _sluice.positions too. The
# pipeline's own position writes come back as transactions touching none of its tables: they
# must not be applied (each would write a position, which would come back, once a second for
# as long as it runs). While idle, the position row stays as it is; a real change still lands.
src_sql "$ODB" "CREATE PUBLICATION it_same_all FOR ALL TABLES"
cleanup_slot test-src sluice_it_same_three
pipeline_file "$TMP/three.yaml" it_same_three "$ODB" "test-src:$ODB" "target.schema: copy3" \
	"source.tables: { include: [public.*] }" "source.publication: it_same_all"
sluice_ok run --once "$TMP/three.yaml"
one_write
sluice_bg "$TMP/three.out" "$TMP/three.err" run "$TMP/three.yaml"
three_same() { [[ $(src_sql "$ODB" "SELECT count(*) FROM copy3.items") == $(src_sql "$ODB" "SELECT count(*) FROM public.items") ]]; }
wait_until 60 three_same || { cat "$TMP/three.err" >&2; fail "pipeline three did not catch up"; }
sleep 2 # let the catch-up's own position write come back and be passed over
at0=$(src_sql "$ODB" "SELECT applied_at FROM _sluice.positions WHERE pipeline = 'it_same_three'")
sleep 6
at1=$(src_sql "$ODB" "SELECT applied_at FROM _sluice.positions WHERE pipeline = 'it_same_three'")
assert_eq "$at0" "$at1" "FOR ALL TABLES on one database: idle, the pipeline writes no position"
one_write
wait_until 30 three_same || { cat "$TMP/three.err" >&2; fail "pipeline three did not apply a change"; }
kill -TERM "$SL_PID"
wait "$SL_PID" || true
BG_PIDS=()
for t in items notes; do
	compare_table test-src "$ODB" test-src "$ODB" public "$t" copy3
done
sluice_ok reset "$TMP/three.yaml"
sluice_ok reset "$TMP/two.yaml"
sluice_ok reset "$TMP/one.yaml"
pass
