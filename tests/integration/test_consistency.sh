#!/usr/bin/env bash
# Consistency under concurrent writes: while a writer commits transactions that each insert one
# row into BOTH tables, update the same id in both, and delete the same id from both, sluice
# snapshots the two tables in many ctid chunks over 2 lanes. Every chunk must come from the one
# exported snapshot, so on the target the two tables must agree row for row (same ids, same
# update markers), and the snapshot must have caught the writer mid-way (not before or after).
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

SDB=it_cons_src
TDB=it_cons_dst
fresh_db test-src "$SDB"
fresh_db test-dst "$TDB"
ROWS=300000
src_sql "$SDB" <<SQL
SET ROLE sluice;
CREATE TABLE ca (id bigint PRIMARY KEY, pad text);
CREATE TABLE cb (id bigint PRIMARY KEY, pad text);
INSERT INTO ca SELECT i, repeat('a', 200) FROM generate_series(1, $ROWS) i;
INSERT INTO cb SELECT i, repeat('b', 200) FROM generate_series(1, $ROWS) i;
RESET ROLE;
ANALYZE;
SQL

PIPE=$TMP/cons.yaml
pipeline_file "$PIPE" it_cons "$SDB" "$TDB" "snapshot: { parallelism: 2, chunk_size: 1MiB }"

# Writer: transaction i inserts id ROWS+i into both tables, marks id 10*i in both with 'u<i>',
# deletes id 10*i+1 from both. At most 20000 transactions, so 10*i+1 < ROWS: every update and
# delete hits a distinct original row (no wrap-around that would make two transactions touch one
# row), and the writer's own rows are never deleted, so they stay a gapless prefix however fast it
# runs. It keeps going until sluice has finished (flag file), then stops.
writer() {
	local i=0
	while [[ ! -e $TMP/stop ]] && ((i < 20000)); do
		i=$((i + 1))
		printf "BEGIN; INSERT INTO ca VALUES (%d, 'new'); INSERT INTO cb VALUES (%d, 'new');
UPDATE ca SET pad = 'u%d' WHERE id = %d; UPDATE cb SET pad = 'u%d' WHERE id = %d;
DELETE FROM ca WHERE id = %d; DELETE FROM cb WHERE id = %d; COMMIT;\n" \
			$((ROWS + i)) $((ROWS + i)) "$i" $((10 * i)) "$i" $((10 * i)) \
			$((10 * i + 1)) $((10 * i + 1))
	done | src_sql "$SDB" >/dev/null
}
writer &
WRITER=$!
BG_PIDS+=("$WRITER")
# Let the writer get going before the slot is created.
for _ in $(seq 1 50); do
	(($(src_sql "$SDB" "SELECT count(*) FROM ca WHERE id > $ROWS") > 100)) && break
	sleep 0.1
done
sluice_ok run --once "$PIPE"
touch "$TMP/stop"
wait "$WRITER" || fail "the concurrent writer failed"
BG_PIDS=()

counts=$(dst_sql "$TDB" "SELECT (SELECT count(*) FROM ca) || ' ' || (SELECT count(*) FROM cb)")
read -r na nb <<<"$counts"
assert_eq "$na" "$nb" "both tables hold the same number of rows on the target"
mismatch=$(dst_sql "$TDB" "SELECT count(*) FROM ca FULL JOIN cb USING (id)
  WHERE ca.id IS NULL OR cb.id IS NULL
     OR (ca.pad LIKE 'u%' OR cb.pad LIKE 'u%') AND ca.pad IS DISTINCT FROM cb.pad
     OR (ca.pad = 'new') IS DISTINCT FROM (cb.pad = 'new')")
assert_eq 0 "$mismatch" "the two tables agree row for row (one snapshot for every chunk)"
inserted=$(dst_sql "$TDB" "SELECT count(*) FROM ca WHERE id > $ROWS")
((inserted > 0)) || fail "the snapshot saw none of the writer's transactions (test did not exercise concurrency)"
src_total=$(src_sql "$SDB" "SELECT count(*) FROM ca WHERE id > $ROWS")
log "writer transactions: $src_total committed in all, $inserted in the snapshot"
((inserted < src_total)) || fail "the snapshot saw all of the writer's transactions (test did not exercise concurrency)"
# Transactions are seen as a prefix: every writer transaction up to the last one seen.
assert_eq "$inserted" "$(dst_sql "$TDB" "SELECT coalesce(max(id), $ROWS) - $ROWS FROM ca")" \
	"the snapshot holds a prefix of the writer's transactions"
assert_eq "$inserted" "$(dst_sql "$TDB" "SELECT count(*) FROM ca WHERE pad LIKE 'u%'")" \
	"as many updates as inserts were seen"
assert_eq 0 "$(dst_sql "$TDB" "SELECT count(*) FROM ca WHERE pad LIKE 'u%' AND pad <> 'u' || (id / 10)")" \
	"each update seen is the one its transaction made"
assert_eq 0 "$(dst_sql "$TDB" "SELECT count(*) FROM ca WHERE id % 10 = 1 AND id > 1 AND id <= 10 * $inserted + 1")" \
	"deletes of the seen transactions are applied"
assert_eq $(((ROWS - 10 * inserted - 1) / 10)) \
	"$(dst_sql "$TDB" "SELECT count(*) FROM ca WHERE id % 10 = 1 AND id > 10 * $inserted + 1 AND id <= $ROWS")" \
	"deletes of the unseen transactions are not"
sluice_ok reset "$PIPE"
pass
