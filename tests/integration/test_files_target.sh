#!/usr/bin/env bash
# The files target (PostgreSQL → Parquet files in a directory): the snapshot and then changes,
# read back by DuckDB (an independent reader) as the current state (per key the row with the
# greatest _sluice_version, _sluice_seq, not deleted) and compared with the source; `sluice
# verify` (sluice's own reader); a truncate; a keyless table; a column added (union_by_name);
# SIGKILL while changes stream, then no duplicate rows; a TOAST value an update leaves unchanged
# (taken from the files), also through a key change; bad settings, each one line naming the fix.
# acct.owner is NOT NULL: a delete's change row holds the key alone, so the change files' columns
# are all nullable (a REQUIRED column with a NULL in it made a malformed file).
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
ORACLES=$SLUICE_ROOT/tests/oracles
[[ -d $ORACLES/node_modules/@duckdb/node-api ]] || fail "test oracles not installed: run scripts/oracles.sh"
duck() { (cd "$ORACLES" && node duckdb_sql.mjs "$1"); }

SDB=it_files_src
fresh_db test-src "$SDB"
src_sql "$SDB" <<'SQL'
SET ROLE sluice;
CREATE TABLE acct (id int PRIMARY KEY, owner text NOT NULL, balance numeric(12,2), big numeric(50,5),
                   tags int[], doc jsonb, ts timestamptz, span interval, raw bytea);
CREATE TABLE ledger (id bigserial PRIMARY KEY, acct int, amount numeric(12,2));
CREATE TABLE events (kind text, n int);
ALTER TABLE events REPLICA IDENTITY FULL;
INSERT INTO acct SELECT i, 'owner' || i, i * 10.5, i * 12345678901234567890.12345,
       ARRAY[i, NULL, i + 1], jsonb_build_object('i', i), '2024-01-01'::timestamptz + i * interval '1 hour',
       i * interval '-1 day 2 seconds', decode(md5(i::text), 'hex')
  FROM generate_series(1, 3000) i;
INSERT INTO ledger (acct, amount) SELECT i % 100, i FROM generate_series(1, 500) i;
INSERT INTO events SELECT 'k' || (i % 3), i % 5 FROM generate_series(1, 50) i;
SQL

LAKE=$TMP/lake
PIPE=$TMP/files.yaml
cat >"$PIPE" <<YAML
name: it_files
source:
  type: postgres
  url: postgres://sluice@127.0.0.1:$(port_of test-src)/$SDB
  password: \${SL_PG_PASSWORD}
target:
  type: files
  url: file://$LAKE
  compression: zstd
snapshot: { parallelism: 2, chunk_size: 64KiB }
state: { url: sqlite://$TMP/it_files.state.db }
YAML
cleanup_slot test-src sluice_it_files

sluice_ok check "$PIPE"
assert_contains "$SL_OUT" "target store" "check reports the store"
sluice_ok run --once "$PIPE"
nfiles=$(find "$LAKE/public/acct/snapshot" -name '*.parquet' | wc -l)
((nfiles > 1)) || fail "the snapshot of acct is one file; chunks should make several ($nfiles)"
log "acct snapshot: $nfiles files"

# the current state of a table, in DuckDB
cur() { # TABLE KEY
	echo "(SELECT * EXCLUDE (rn) FROM (SELECT *, row_number() OVER (PARTITION BY $2 ORDER BY _sluice_version DESC, _sluice_seq DESC) AS rn FROM read_parquet('$LAKE/public/$1/**/*.parquet', union_by_name = true)) WHERE rn = 1 AND NOT _sluice_deleted)"
}
same_acct() { # WHAT
	local a b
	a=$(src_sql "$SDB" "SELECT count(*), sum(id), md5(string_agg(owner || ':' || balance || ':' || big || ':' || coalesce(array_to_string(tags, ',', 'N'), '-') || ':' || (doc->>'i') || ':' || extract(epoch from ts)::bigint || ':' || encode(raw, 'hex'), '|' ORDER BY id)) FROM acct")
	b=$(duck "SELECT count(*), sum(id), md5(string_agg(owner || ':' || balance || ':' || big || ':' || coalesce(array_to_string(list_transform(tags, x -> coalesce(x::VARCHAR, 'N')), ','), '-') || ':' || (doc->>'i') || ':' || epoch(ts)::BIGINT || ':' || lower(hex(raw)), '|' ORDER BY id)) FROM $(cur acct id)")
	assert_eq "$a" "$b" "$1"
}
same_acct "acct: DuckDB reads the snapshot as the source has it"
assert_eq "$(src_sql "$SDB" "SELECT count(*), sum(amount) FROM ledger")" \
	"$(duck "SELECT count(*), sum(amount) FROM $(cur ledger id)")" "ledger snapshot"
assert_eq "$(duck "SELECT typeof(big), typeof(ts), typeof(doc), typeof(tags) FROM read_parquet('$LAKE/public/acct/**/*.parquet') LIMIT 1")" \
	"VARCHAR|TIMESTAMP WITH TIME ZONE|JSON|INTEGER[]" "types: numeric(50,5) as exact text, timestamptz as an instant, jsonb as JSON, int[] as a list"
sluice_ok verify "$PIPE"

# changes: updates, deletes, inserts, a key change, a truncate, a keyless table, a new column
src_sql "$SDB" <<'SQL'
UPDATE acct SET balance = balance + 1, owner = owner || '!' WHERE id % 7 = 0;
DELETE FROM acct WHERE id BETWEEN 100 AND 150;
INSERT INTO acct (id, owner, balance) SELECT i, 'new' || i, i FROM generate_series(5001, 5100) i;
UPDATE acct SET id = 9999 WHERE id = 3;
TRUNCATE ledger;
INSERT INTO ledger (acct, amount) VALUES (1, 1), (2, 2);
DELETE FROM events WHERE n = 0;
INSERT INTO events VALUES ('z', 99), ('z', 99);
ALTER TABLE acct ADD COLUMN extra text;
UPDATE acct SET extra = 'e' || id WHERE id % 10 = 1;
SQL
sluice_ok run --once "$PIPE"
same_acct "acct after updates, deletes, inserts and a key change"
assert_eq "$(src_sql "$SDB" "SELECT count(*), sum(amount) FROM ledger")" \
	"$(duck "SELECT count(*), sum(amount) FROM $(cur ledger id)")" "ledger after TRUNCATE and two inserts"
assert_eq 1 "$(find "$LAKE/public/ledger" -name '*.parquet' | wc -l)" "the truncate removed ledger's earlier files (snapshot and changes): one file left, of the two rows after it"
assert_eq "$(src_sql "$SDB" "SELECT count(*), md5(string_agg(extra, ',' ORDER BY id)) FROM acct WHERE extra IS NOT NULL")" \
	"$(duck "SELECT count(*), md5(string_agg(extra, ',' ORDER BY id)) FROM $(cur acct id) WHERE extra IS NOT NULL")" "the added column, in the new files"
# keyless: rows written minus rows deleted, by value
assert_eq "$(src_sql "$SDB" "SELECT count(*), sum(n) FROM events")" \
	"$(duck "WITH r AS (SELECT kind, n, _sluice_deleted d FROM read_parquet('$LAKE/public/events/**/*.parquet')) SELECT (SELECT count(*) FROM r WHERE NOT d) - (SELECT count(*) FROM r WHERE d), (SELECT sum(n) FROM r WHERE NOT d) - (SELECT coalesce(sum(n), 0) FROM r WHERE d)")" \
	"keyless events: inserted minus deleted"
sluice_ok verify "$PIPE"
commits=$(find "$LAKE/_sluice/it_files/commits" -name '*.json' | wc -l)
((commits >= 1 && commits <= 2)) || fail "commit files kept: $commits (expected the last one or two)"

# SIGKILL while changes stream: afterwards no row appears twice, and the state is the source's
sluice_bg "$TMP/run.out" "$TMP/run.err" run "$PIPE"
for i in $(seq 1 30); do
	src_sql "$SDB" "UPDATE acct SET balance = balance + 1 WHERE id % 30 = $i; INSERT INTO ledger (acct, amount) VALUES ($i, $i)" >/dev/null
	((i == 15)) && kill -9 "$SL_PID"
	sleep 0.1
done
wait "$SL_PID" 2>/dev/null || true
sluice_ok run --once "$PIPE"
same_acct "acct after a SIGKILL mid-stream and a restart"
assert_eq 0 "$(duck "SELECT count(*) FROM (SELECT id, _sluice_version, _sluice_seq FROM read_parquet('$LAKE/public/acct/**/*.parquet') GROUP BY ALL HAVING count(*) > 1)")" \
	"no row was written twice"
assert_eq "$(src_sql "$SDB" "SELECT count(*), sum(amount) FROM ledger")" \
	"$(duck "SELECT count(*), sum(amount) FROM read_parquet('$LAKE/public/ledger/**/*.parquet')")" "ledger: every insert once"
sluice_ok verify "$PIPE"
# what a crash between a group's files and its commit file leaves (a change file above the last
# commit, here planted deterministically): removed when the target opens, never read as data
last=$(ls "$LAKE/public/acct/changes" | sort | tail -1)
cp "$LAKE/public/acct/changes/$last" "$LAKE/public/acct/changes/18000000000000000000-9.parquet"
sluice_ok run --once "$PIPE"
[[ ! -e $LAKE/public/acct/changes/18000000000000000000-9.parquet ]] || fail "the file of a group that did not commit is still there"
assert_contains "$SL_ERR" "removed 1 file(s) of a group that did not commit" "the sweep is logged"
assert_eq 0 "$(duck "SELECT count(*) FROM (SELECT id, _sluice_version, _sluice_seq FROM read_parquet('$LAKE/public/acct/**/*.parquet') GROUP BY ALL HAVING count(*) > 1)")" \
	"no row twice after the sweep"

# a TOASTed value an update does not send: taken from the table's files; then a key change of
# that row (the value follows it to the new key)
src_sql "$SDB" <<'SQL'
INSERT INTO acct (id, owner, extra) VALUES (20000, 'toast', (SELECT string_agg(md5(i::text), '') FROM generate_series(1, 3000) i));
SQL
sluice_ok run --once "$PIPE"
src_sql "$SDB" "UPDATE acct SET owner = 'toast2' WHERE id = 20000"
sluice_ok run --once "$PIPE"
assert_eq "toast2|96000" "$(duck "SELECT owner, length(extra) FROM $(cur acct id) WHERE id = 20000")" "the unchanged TOASTed value is written with the update"
src_sql "$SDB" "UPDATE acct SET id = 20001, owner = 'toast3' WHERE id = 20000"
sluice_ok run --once "$PIPE"
assert_eq "20001|toast3|96000" "$(duck "SELECT id, owner, length(extra) FROM $(cur acct id) WHERE id >= 20000")" "a key change carries the unchanged value to the new key"
sluice_ok verify "$PIPE"

# bad settings: one line each, naming the fix
bad() { # WHAT SED-EXPR NEEDLE: check reports it on one FAIL line
	sed "$2" "$PIPE" >"$TMP/bad.yaml"
	check_fails "$TMP/bad.yaml" "$3"
	log "$1: $(grep -m1 '^FAIL' <<<"$SL_OUT")"
	assert_eq 1 "$(grep -c '^FAIL' <<<"$SL_OUT")" "$1: one FAIL line"
}
bad "no scheme" "s|url: file://$LAKE|url: $LAKE|" "has no scheme (write one of: file"
bad "relative file URL" "s|url: file://$LAKE|url: file://lake|" "file:///path/to/dir"
bad "unknown codec" "s|compression: zstd|compression: lz4|" "compression"
bad "password given" "s|compression: zstd|password: x|" "takes no password"
mkdir -p "$TMP/other/public/acct" && echo x >"$TMP/other/public/acct/foreign.parquet"
sed -e "s|url: file://$LAKE|url: file://$TMP/other|" -e "s|name: it_files|name: it_files2|" -e "s|it_files.state|it_files2.state|" "$PIPE" >"$TMP/other.yaml"
cleanup_slot test-src sluice_it_files2
sluice run --once "$TMP/other.yaml"
assert_sluice_error nonzero "did not write" "point target.url"
pass
