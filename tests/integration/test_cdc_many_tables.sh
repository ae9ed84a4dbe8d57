#!/usr/bin/env bash
# Memory of the applier follows the configured budget, not the number of tables (#11): 2,000
# tables, PostgreSQL -> PostgreSQL, with apply.max_group_bytes 2MiB and a 4 MiB queue.
#   A. one source transaction inserts 40 rows of ~1 KB into every table (~80 MB of changes);
#   B. then 2,000 transactions in quick succession, each updating one table's rows;
#   C. then one transaction with one small update in every table (many tables, tiny changes);
#   D. then one group of every kind of merge over tables that share a staging table (#24).
# One `run --once` catches up with both. Checked: every table equals the source (one SQL digest
# over all 2,000 tables on each side); the applier's own count of the capacity its pending
# change buffers held at once (log line "pending changes held at most N bytes") stays under
# 3 x max_group_bytes + 2 x 4 MiB (a change message of the reader), whatever the table count;
# peak RSS (/usr/bin/time; sanitizer quarantine kept at 16 MB) stays under the RSS of an
# idle catch-up of the same pipeline plus 16 x (queue_size + max_group_bytes) = 96 MB. Before
# the fix every table kept its batch's capacity after its flush, and the reader a batch per
# table until the COMMIT: a release build peaked at 264 MB (idle 16 MB), over both bounds.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
export SLUICE_CMD_TIMEOUT=600

N=2000
SDB=it_many_src
TDB=it_many_dst
fresh_db test-src "$SDB"
fresh_db test-dst "$TDB"
src_sql "$SDB" <<SQL
SET ROLE sluice;
DO \$\$ BEGIN
	FOR i IN 1..$N LOOP
		EXECUTE format('CREATE TABLE %I (id int PRIMARY KEY, pad text)', 'm' || lpad(i::text, 4, '0'));
	END LOOP;
END \$\$;
-- for part D: TOASTed values, and a third column to change without them
CREATE TABLE w1 (id int PRIMARY KEY, big text, n int);
CREATE TABLE w2 (id int PRIMARY KEY, big text, n int);
INSERT INTO w1 SELECT g, (SELECT string_agg(md5((x * g)::text || 'w1'), '') FROM generate_series(1, 300) x), g FROM generate_series(1, 20) g;
INSERT INTO w2 SELECT g, (SELECT string_agg(md5((x * g)::text || 'w2'), '') FROM generate_series(1, 300) x), g * 1000 FROM generate_series(1, 20) g;
SQL
BUDGET=$((2 << 20))
PIPE=$TMP/many.yaml
pipeline_file "$PIPE" it_many "$SDB" "$TDB" \
	"snapshot: { parallelism: 2, queue_size: 4MiB }" "apply: { max_group_bytes: 2MiB, max_delay: 200ms }"
log "snapshot of $N empty tables"
sluice_ok run --once "$PIPE"

# measured_run NAME: run --once; sets RSS_KB and HELD (bytes, from the applier's log line)
measured_run() {
	if ! ASAN_OPTIONS=${ASAN_OPTIONS:-}:quarantine_size_mb=16 timeout -k 10 "$SLUICE_CMD_TIMEOUT" \
		/usr/bin/time -f '%M' -o "$TMP/$1.rss" "$SLUICE_BIN" run --once "$PIPE" >"$TMP/$1.out" 2>"$TMP/$1.err"; then
		tail -20 "$TMP/$1.err" >&2
		fail "run --once ($1) failed"
	fi
	RSS_KB=$(tail -n 1 "$TMP/$1.rss")
	HELD=$(sed -n 's/.*pending changes held at most \([0-9]*\) bytes.*/\1/p' "$TMP/$1.err" | tail -n 1)
}

# the same pipeline catching up with nothing to apply: every table's catalog entry, no changes
src_sql "$SDB" "UPDATE m0001 SET pad = pad" # a transaction, so the run has a session to end
measured_run idle
BASE_KB=$RSS_KB
log "idle catch-up: peak RSS $((BASE_KB / 1024)) MB"

log "A: one transaction, 40 rows into each of $N tables"
src_sql "$SDB" <<SQL
DO \$\$ BEGIN
	FOR i IN 1..$N LOOP
		EXECUTE format('INSERT INTO %I SELECT g, repeat(md5((g * %s)::text), 32) FROM generate_series(1, 40) g',
		               'm' || lpad(i::text, 4, '0'), i);
	END LOOP;
END \$\$;
SQL
log "B: $N transactions, one table each"
src_sql "$SDB" <<SQL
DO \$\$ BEGIN
	FOR i IN 1..$N LOOP
		EXECUTE format('UPDATE %I SET pad = left(pad, 500) || ''b'' WHERE id %% 2 = 0', 'm' || lpad(i::text, 4, '0'));
		COMMIT;
	END LOOP;
END \$\$;
SQL
log "C: one transaction, one small update in each of $N tables"
src_sql "$SDB" <<SQL
DO \$\$ BEGIN
	FOR i IN 1..$N LOOP
		EXECUTE format('UPDATE %I SET pad = ''c'' WHERE id = 1', 'm' || lpad(i::text, 4, '0'));
	END LOOP;
END \$\$;
SQL
measured_run changes
log "catch-up of A, B and C: peak RSS $((RSS_KB / 1024)) MB, pending change buffers held at most ${HELD:-?} bytes"

# one digest over every table: its name, row count and the md5 of its rows in key order
DIGEST_SQL="SELECT md5(string_agg(t || ':' || n || ':' || h, ',' ORDER BY t)) FROM ($(src_sql "$SDB" "
	SELECT string_agg(format('SELECT %L AS t, count(*) AS n, md5(coalesce(string_agg(x::text, ''|'' ORDER BY id), '''')) AS h FROM public.%I x',
	                         relname, relname), ' UNION ALL ' ORDER BY relname)
	  FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind = 'r' AND relname ~ '^m[0-9]{4}$'")) d"
SRC_DIGEST=$(src_sql "$SDB" <<<"$DIGEST_SQL")
assert_eq "$SRC_DIGEST" "$(dst_sql "$TDB" <<<"$DIGEST_SQL")" "the $N target tables equal the source"
assert_eq "$N" "$(dst_sql "$TDB" "SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relname ~ '^m[0-9]{4}$' AND relkind = 'r'")" "$N tables on the target"

# Tables whose columns stage as the same types share a staging table, each table's changes a
# batch of their own in it (#24): one group with every kind of merge over such tables, after
# other tables' batches. A statement that read another batch's rows (the same row numbers, the
# same types) would write them into the wrong table or fill values from the wrong row.
log "D: one group of full updates, deletes, inserts, key changes and updates leaving a TOASTed value unchanged"
src_sql "$SDB" <<SQL
BEGIN;
UPDATE m0010 SET pad = 'd' || id WHERE id <= 20;
DELETE FROM m0013 WHERE id > 30;
INSERT INTO m0014 VALUES (1000, 'new'), (1001, 'new');
DELETE FROM m0015 WHERE id <= 2;
UPDATE m0016 SET id = id + 100 WHERE id <= 3;
UPDATE w1 SET n = n + 1 WHERE id <= 10;
UPDATE w1 SET id = id + 100 WHERE id BETWEEN 11 AND 15;
UPDATE w2 SET n = n + 7 WHERE id <= 5;
UPDATE w2 SET id = id + 100 WHERE id > 12;
COMMIT;
SQL
sluice_ok run --once "$PIPE"
assert_eq "$(src_sql "$SDB" <<<"$DIGEST_SQL")" "$(dst_sql "$TDB" <<<"$DIGEST_SQL")" "after D, the $N target tables equal the source"
W_SQL="SELECT md5(string_agg(x::text, '|' ORDER BY t, id)) FROM (SELECT 1 AS t, * FROM w1 UNION ALL SELECT 2, * FROM w2) x"
assert_eq "$(src_sql "$SDB" "$W_SQL")" "$(dst_sql "$TDB" "$W_SQL")" "after D, w1 and w2 (updates and key changes leaving TOASTed values unchanged) equal the source"
assert_eq "13 TOASTed" "$(dst_sql "$TDB" "SELECT count(*) || ' TOASTed' FROM (SELECT big FROM w1 WHERE id > 100 UNION ALL SELECT big FROM w2 WHERE id > 100) x WHERE length(big) = 9600")" "key changes kept the unchanged TOASTed values"

HELD_BOUND=$((3 * BUDGET + 2 * (4 << 20)))
# RSS: the queue and the budget with room for the target's buffers and the sanitizer's
# redzones and quarantine (an ASan build measured +71 MB here, a release build +22 MB)
RSS_BOUND_KB=$((BASE_KB + 16 * (4096 + BUDGET / 1024)))
ASSERTS=$((ASSERTS + 2))
((RSS_KB <= RSS_BOUND_KB)) ||
	fail "peak RSS $((RSS_KB / 1024)) MB is over $((RSS_BOUND_KB / 1024)) MB (idle catch-up $((BASE_KB / 1024)) MB + 16 x (queue_size + max_group_bytes)): memory grows with the number of tables"
[[ -n $HELD ]] || fail "no 'pending changes held at most' line in the log"
((HELD <= HELD_BOUND)) ||
	fail "pending change buffers held $HELD bytes at once, over $HELD_BOUND (3 x max_group_bytes + 2 x 4 MiB)"
pass
