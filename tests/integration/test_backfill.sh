#!/usr/bin/env bash
# Backfill while streaming (core/backfill.h), PostgreSQL -> PostgreSQL:
#   - a table created on the source while `sluice run` streams is added by the next run: created
#     on the target with its key, copied slice by slice while a writer keeps changing it
#     (updates that leave a TOASTed column unchanged, key changes, inserts, deletes), with two
#     SIGKILLs during the copy; each run after a kill goes on after the last committed slice;
#     the table ends equal to the source by an SQL digest, and verify is clean;
#   - a table created while a run streams is added by that run within a minute;
#   - `sluice resync PIPELINE TABLE` repairs a target table that was changed behind sluice's
#     back, picked up by the running agent while a writer changes the table, after a column of
#     it was dropped on the source (the copy's read fails on it; the run discovers again and
#     the copy goes on);
#   - tables without a key: a resync copies one whole under a SHARE lock and applies it at its
#     watermark as a truncate and the rows (a row removed and duplicates added on the target are
#     repaired); a keyless table whose snapshot was cut short by SIGKILL is copied by a backfill
#     in the next streaming run instead of making the snapshot start over;
#   - changes made while sluice was stopped: an ALTER TYPE ... USING that rewrote a table's
#     values (seen first at the next run's start) makes that run copy the table again; a table
#     added to the publication by a run killed before it waited for the transactions running
#     then is copied only once they end (one of them wrote to it before it was published);
#   - bad requests: an unknown table (alone, or beside a good one) and no table at all are
#     one-line errors that request nothing; a new table owned by another role (the publication
#     cannot take it) is named in a warning and left out while the others go on.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

SDB=it_bf_src
TDB=it_bf_dst
fresh_db test-src "$SDB"
fresh_db test-dst "$TDB"
N=30000 # rows of late
src_sql "$SDB" <<'SQL'
SET ROLE sluice;
CREATE TABLE a (id integer PRIMARY KEY, v integer NOT NULL, pad text);
INSERT INTO a SELECT i, i, md5(i::text) FROM generate_series(1, 20000) i;
CREATE TABLE k (v integer); -- keyless
INSERT INTO k VALUES (1), (2);
SQL
PIPE=$TMP/bf.yaml
pipeline_file "$PIPE" it_bf "$SDB" "$TDB" "snapshot:" "  parallelism: 2" "  backfill_rows: 700"

# the writer: every ~10 ms, changes to a and (once it exists) late: updates that leave pad
# unchanged (TOASTed in every 10th row of late), a key change, an insert and a delete
WRITER=
writer_start() {
	rm -f "$TMP/w.stop"
	{
		local i=0 L= m=0
		while [[ ! -e $TMP/w.stop ]]; do
			i=$((i + 1))
			printf "UPDATE a SET v = v + 1 WHERE id = %d;\n" $((i * 7919 % 20000 + 1))
			printf "INSERT INTO k VALUES (%d);\n" $((i % 50))
			if [[ -s $TMP/w.late ]]; then
				[[ -n ${L:-} ]] || L=$(<"$TMP/w.late")
				printf "UPDATE $L SET v = v + 1 WHERE id = %d;\n" $((i * 7919 % N + 1))
				printf "UPDATE $L SET v = v + 1 WHERE id = %d;\n" $((N - i * 31 % N))
				printf "UPDATE $L SET id = id + 1000000 WHERE id = %d;\n" $((i * 104729 % N + 1))
				printf "INSERT INTO $L VALUES (%d, 0, 'new') ON CONFLICT DO NOTHING;\n" $((2000000 + i))
				printf "DELETE FROM $L WHERE id = %d;\n" $((i * 613 % N + 1))
				if [[ -e $TMP/w.move ]]; then
					# on request: a key change that leaves the TOASTed pad unchanged and
					# moves a row near the end of the key order (not copied yet) to the
					# start (copied already)
					rm -f "$TMP/w.move"
					m=$((m + 1))
					printf "UPDATE $L SET id = -id WHERE id = %d;\n" $((N - 10 * m))
				fi
			fi
			sleep 0.01
		done
	} | src_sql "$SDB" >/dev/null 2>"$TMP/w.err" &
	WRITER=$!
}
writer_stop() {
	touch "$TMP/w.stop"
	local rc=0
	wait "$WRITER" || rc=$?
	((rc == 0)) || { cat "$TMP/w.err" >&2; fail "the writer failed ($rc)"; }
}
make_late() { # TABLE: N rows, every 10th with a pad of 3,840 bytes (TOASTed)
	src_sql "$SDB" <<SQL
SET ROLE sluice;
CREATE TABLE $1 (id integer PRIMARY KEY, v integer NOT NULL, pad text);
INSERT INTO $1 SELECT i, i, CASE WHEN i % 10 = 0
	THEN (SELECT string_agg(md5(i::text || g), '') FROM generate_series(1, 120) g)
	ELSE md5(i::text) END FROM generate_series(1, $N) i;
SQL
}
caught_up() { # TABLE [TARGET_DB]: the target holds every row of TABLE the source has
	local n
	n=$(src_sql "$SDB" "SELECT count(*) || ':' || coalesce(sum(v), 0) FROM $1")
	wait_sql test-dst "${2:-$TDB}" "SELECT count(*) || ':' || coalesce(sum(v), 0) FROM $1" "$n" "$1 caught up"
}

# ------------------------------------------------------------------ bad requests ---
sluice resync "$PIPE" public.a
assert_sluice_error nonzero "has not finished its snapshot"
sluice_ok run --once "$PIPE"
compare_table test-src "$SDB" test-dst "$TDB" public a
sluice resync "$PIPE" public.nope
assert_sluice_error nonzero "table public.nope is not in pipeline it_bf"
sluice resync "$PIPE" public.a public.nope2
assert_sluice_error nonzero "table public.nope2 is not in pipeline it_bf"
sluice resync "$PIPE"
assert_sluice_error 2 "resync needs the tables to copy"
sluice status "$PIPE"
assert_not_contains "$SL_OUT" "backfill" "a refused request requests nothing (not even public.a)"

# ------------------------------------- a table created while streaming: next run ---
sluice_bg "$TMP/r1.out" "$TMP/r1.err" run "$PIPE"
wait_lines "$TMP/r1.err" "streaming changes from slot" 1 60 "the first run streams"
writer_start
make_late late
src_sql "$SDB" <<SQL
SET ROLE sluice;
CREATE TABLE late_keyless (v integer);
RESET ROLE;
-- owned by another role: sluice may read it but cannot add it to its publication
CREATE TABLE owned_elsewhere (id integer PRIMARY KEY);
GRANT SELECT ON owned_elsewhere TO sluice;
SQL
echo late >"$TMP/w.late"
sleep 1
kill -TERM "$SL_PID"
wait "$SL_PID" || fail "sluice did not stop cleanly on SIGTERM"
BG_PIDS=()
((toasted = $(src_sql "$SDB" "SELECT count(*) FROM late WHERE pg_column_size(pad) > 2000"))) ||
	fail "no TOASTed pad in late: the test would not cover unchanged TOAST columns"

# two runs killed while they copy late, then one that finishes
for round in 1 2; do
	sluice_bg "$TMP/k$round.out" "$TMP/k$round.err" run "$PIPE"
	wait_lines "$TMP/k$round.err" "backfill of public.late:" 1 60 "run $round starts the backfill"
	touch "$TMP/w.move"
	# kill once a slice past the ones before is committed
	before=$(sqlite3 "$TMP/it_bf.state.db" "SELECT rows FROM sluice_backfill WHERE name = 'public.late'" 2>/dev/null || echo 0)
	wait_until 60 bash -c "(( \$(sqlite3 '$TMP/it_bf.state.db' \"SELECT rows FROM sluice_backfill WHERE name = 'public.late'\") > ${before:-0} ))" ||
		fail "run $round committed no slice of late in 60 s"
	sleep 0.$((RANDOM % 5))
	kill -KILL "$SL_PID"
	wait "$SL_PID" 2>/dev/null || true
	BG_PIDS=()
	st=$(sqlite3 "$TMP/it_bf.state.db" "SELECT status || ' ' || rows FROM sluice_backfill WHERE name = 'public.late'")
	log "after SIGKILL $round: backfill status/rows $st"
	[[ $st == "0 "* ]] || fail "the backfill of late finished before SIGKILL $round ($st): make it longer"
done
assert_contains "$(cat "$TMP/k2.err")" "backfill of public.late: going on after key" \
	"the run after a SIGKILL goes on from the last committed slice"
assert_contains "$(cat "$TMP/k1.err")" "table public.late is new to the pipeline" \
	"the first run after the table appeared adds it"
assert_contains "$(cat "$TMP/k1.err")" "table public.late_keyless is new to the pipeline" \
	"a keyless new table is added too"
assert_contains "$(cat "$TMP/k1.err")" "table public.owned_elsewhere is new to the pipeline but cannot be added to publication" \
	"a new table the publication cannot take is named, and the run goes on"
sluice_bg "$TMP/r2.out" "$TMP/r2.err" run "$PIPE"
wait_lines "$TMP/r2.err" "backfill of public.late:" 1 60 "the last run goes on with the backfill"
touch "$TMP/w.move"
wait_lines "$TMP/r2.err" "backfill of public.late: complete" 1 180 "the backfill of late completes"
assert_contains "$(cat "$TMP/k1.err" "$TMP/k2.err" "$TMP/r2.err")" "key change(s) moved rows the copy had not reached" \
	"a key change that moved a row not copied yet to a key copied already is noticed"
assert_contains "$(cat "$TMP/r2.err")" "copying it once more from its first key" \
	"the copy makes another pass for it"
((moved = $(src_sql "$SDB" "SELECT count(*) FROM late WHERE id < 0 AND pg_column_size(pad) > 2000"))) ||
	fail "no moved row with a TOASTed pad in late: the test would not cover the key change"
writer_stop
caught_up late
caught_up a
compare_table test-src "$SDB" test-dst "$TDB" public late
compare_table test-src "$SDB" test-dst "$TDB" public late_keyless
compare_table test-src "$SDB" test-dst "$TDB" public a
log "late: $(src_sql "$SDB" "SELECT count(*) FROM late") rows ($toasted TOASTed pads, $moved moved to a copied key) equal after two SIGKILLs during its backfill"

# a table created while this run streams is added within a minute, without a restart
src_sql "$SDB" <<'SQL'
SET ROLE sluice;
CREATE TABLE late3 (id bigint PRIMARY KEY, v integer NOT NULL);
INSERT INTO late3 SELECT i, i FROM generate_series(1, 5000) i;
SQL
wait_lines "$TMP/r2.err" "backfill of public.late3: complete" 1 120 "a table created while streaming is added within a minute"
assert_contains "$(cat "$TMP/r2.err")" "table public.late3 appeared on the source" "the run says it found late3"
src_sql "$SDB" "UPDATE late3 SET v = -v WHERE id % 3 = 0"
caught_up late3
compare_table test-src "$SDB" test-dst "$TDB" public late3

# ------------------------------------------------- resync repairs a changed target ---
dst_sql "$TDB" "UPDATE a SET v = -1 WHERE id % 7 = 0; DELETE FROM a WHERE id % 11 = 0"
[[ $(table_digest test-src "$SDB" public a "id, v, pad") != "$(table_digest test-dst "$TDB" public a "id, v, pad")" ]] ||
	fail "tampering with the target did not change it"
# a column dropped since the run discovered the table: a slice's read fails on it, the run
# discovers again and the copy goes on from its last slice (the target keeps the column)
src_sql "$SDB" "ALTER TABLE a DROP COLUMN pad"
writer_start
n0=$(count_lines "$TMP/r2.err" "backfill of public.a: complete")
sluice_ok resync "$PIPE" public.a
assert_contains "$SL_OUT" "resync of public.a requested" "resync says what it requested"
wait_lines "$TMP/r2.err" "backfill of public.a: complete" $((n0 + 1)) 120 "the resync of a completes"
assert_contains "$(cat "$TMP/r2.err")" "change capture starts again with a new discovery" \
	"a column dropped under the copy makes the run discover again"
writer_stop
caught_up a
assert_eq "$(table_digest test-src "$SDB" public a "id, v")" "$(table_digest test-dst "$TDB" public a "id, v")" \
	"a (its column pad dropped under the copy) equals the source"
sluice status "$PIPE"
assert_contains "$SL_OUT" "backfill public.a" "status lists the backfill"

# -------------------------------------------------------- tables without a key ---
# resync of a keyless table: copied whole under a SHARE lock on the source (writers wait for
# the read), applied at its watermark as a truncate and the rows: a row removed and a row added
# behind sluice's back are both repaired, duplicates kept, while the writer inserts into it
dst_sql "$TDB" "DELETE FROM k WHERE v = 1; INSERT INTO k VALUES (-99), (-99)"
writer_start
sluice_ok resync "$PIPE" public.k
wait_lines "$TMP/r2.err" "backfill of public.k: complete" 1 60 "the resync of keyless k completes"
writer_stop
caught_up k
compare_table test-src "$SDB" test-dst "$TDB" public k
log "keyless k: $(src_sql "$SDB" "SELECT count(*) || ' rows, ' || count(DISTINCT v) || ' distinct' FROM k") equal after its resync"
kill -TERM "$SL_PID"
wait "$SL_PID" || fail "sluice did not stop cleanly on SIGTERM"
BG_PIDS=()

# ------------------------------------------ changes made while sluice was stopped ---
# ALTER TYPE ... USING rewrites late3's rows without logging them (values multiplied here); the
# next run sees the new type first at its start, with no earlier shape to compare with: the
# target widens the column, says its rows are stale, and the run copies the table again.
src_sql "$SDB" "ALTER TABLE late3 ALTER COLUMN v TYPE bigint USING v::bigint * 1000"
# late4 was added to the publication by a run killed before it waited for the transactions
# running then: one of them inserted into late4 before it was published (a change the stream
# never carries) and commits 12 s later. The next run must wait for it before copying late4.
src_sql "$SDB" "SET ROLE sluice; CREATE TABLE late4 (id integer PRIMARY KEY, v integer NOT NULL);
	INSERT INTO late4 SELECT i, i FROM generate_series(1, 1000) i"
{
	echo "BEGIN; INSERT INTO late4 VALUES (-1, -1);"
	sleep 12
	echo "COMMIT;"
} | src_sql "$SDB" >/dev/null &
HOLDER=$!
sleep 1
src_sql "$SDB" "ALTER PUBLICATION sluice_it_bf ADD TABLE late4"
sluice_bg "$TMP/st.out" "$TMP/st.err" run "$PIPE"
wait_lines "$TMP/st.err" "streaming changes from slot" 1 60 "the run after the stop streams"
src_sql "$SDB" "UPDATE late3 SET v = v + 1 WHERE id = 1" # late3's first change in this run
wait_lines "$TMP/st.err" "backfill of public.late3: complete" 1 120 "late3 is copied again after its type changed while sluice was stopped"
wait_lines "$TMP/st.err" "backfill of public.late4: complete" 1 120 "late4 is copied"
wait "$HOLDER" || fail "the transaction holding late4 failed"
assert_contains "$(cat "$TMP/st.err")" "waiting for 1 transaction(s)" "the run waits for the transaction running since late4 was published"
caught_up late3
compare_table test-src "$SDB" test-dst "$TDB" public late3
caught_up late4
compare_table test-src "$SDB" test-dst "$TDB" public late4
kill -TERM "$SL_PID"
wait "$SL_PID" || fail "sluice did not stop cleanly on SIGTERM"
BG_PIDS=()

# a keyless table whose snapshot was cut short (SIGKILL) no longer makes the snapshot start over
# in a streaming run: it is copied by a backfill once changes stream
TDB4=it_bf_kl
fresh_db test-dst "$TDB4"
src_sql "$SDB" "SET ROLE sluice; CREATE TABLE kbig (v integer, pad text); ALTER TABLE kbig REPLICA IDENTITY FULL;
	INSERT INTO kbig SELECT i % 1000, md5(i::text) FROM generate_series(1, 400000) i"
PIPE4=$TMP/kl.yaml
pipeline_file "$PIPE4" it_bf_kl "$SDB" "$TDB4" "source.tables: { include: [public.kbig, public.a] }" \
	"snapshot:" "  parallelism: 1" "  chunk_size: 1MiB"
sluice_bg "$TMP/kl1.out" "$TMP/kl1.err" run "$PIPE4"
wait_until 120 bash -c "(( \$(bash '$PG_SH' psql test-dst -d $TDB4 -XAtq -c 'SELECT count(*) FROM kbig' 2>/dev/null || echo 0) > 0 ))" ||
	fail "the snapshot of kbig did not start in 120 s"
kill -KILL "$SL_PID"
wait "$SL_PID" 2>/dev/null || true
BG_PIDS=()
sluice status "$PIPE4"
assert_contains "$SL_OUT" "snapshot: incomplete" "the snapshot was cut short"
point1=$(grep 'consistent point' <<<"$SL_OUT")
src_sql "$SDB" "INSERT INTO kbig VALUES (-1, 'after the kill'), (-1, 'after the kill')"
sluice_bg "$TMP/kl2.out" "$TMP/kl2.err" run "$PIPE4"
wait_lines "$TMP/kl2.err" "backfill of public.kbig: complete" 1 180 "kbig is copied by a backfill"
assert_contains "$(cat "$TMP/kl2.err")" "table public.kbig has no key and its snapshot was cut short" \
	"the run says why it copies kbig while streaming"
assert_not_contains "$(cat "$TMP/kl2.err")" "starts over" "the snapshot does not start over"
src_sql "$SDB" "DELETE FROM kbig WHERE v = 7; INSERT INTO kbig VALUES (-2, 'after the backfill')"
caught_up kbig "$TDB4"
compare_table test-src "$SDB" test-dst "$TDB4" public kbig
sluice status "$PIPE4"
assert_eq "$point1" "$(grep 'consistent point' <<<"$SL_OUT")" "the consistent point is kept"
kill -TERM "$SL_PID"
wait "$SL_PID" || fail "sluice did not stop cleanly on SIGTERM"
BG_PIDS=()
sluice verify "$PIPE4"
((SL_RC == 0)) || { sluice_dump; fail "verify found differences after the keyless backfill"; }
src_sql "$SDB" "DROP TABLE kbig" # not for the pipelines below
sluice verify "$PIPE"
((SL_RC == 0)) || { sluice_dump; fail "verify found differences after the backfills"; }
assert_contains "$SL_OUT" "public.late" "verify compares the added table"
# ---------------------------------- ClickHouse: a new table copied while streaming ---
# a second pipeline from the same database into ClickHouse; late2 appears after its snapshot
CDB=it_bf_ch
ch_fresh_db "$CDB"
src_sql "$SDB" "DROP TABLE owned_elsewhere" # a new pipeline's publication must take every table
PIPECH=$TMP/bfch.yaml
pipeline_file "$PIPECH" it_bf_ch "$SDB" "clickhouse:$CDB" "snapshot:" "  parallelism: 2" "  backfill_rows: 700"
sluice_ok run --once "$PIPECH"
make_late late2
echo late2 >"$TMP/w.late"
writer_start
sluice_bg "$TMP/c1.out" "$TMP/c1.err" run "$PIPECH"
wait_lines "$TMP/c1.err" "backfill of public.late2: complete" 1 180 "the backfill of late2 into ClickHouse completes"
writer_stop
sums="count(*), sum(id), sum(v), sum(length(pad))"
want=$(src_sql "$SDB" "SELECT $sums FROM late2" | tr '|' '\t')
wait_until 60 bash -c "[[ \"\$(bash '$CH_SH' sql test-clickhouse --format=TabSeparated \
	--query='SELECT ${sums//\*/} FROM \`$CDB\`.late2 FINAL WHERE _sluice_deleted = 0')\" == '$want' ]]" ||
	fail "late2 on ClickHouse ($(ch_sql "SELECT ${sums//\*/} FROM \`$CDB\`.late2 FINAL WHERE _sluice_deleted = 0")) differs from the source ($want)"
ASSERTS=$((ASSERTS + 1))
log "late2 into ClickHouse: count, sums of id, v and pad lengths equal ($want)"
# a volatile default: ClickHouse cannot give the rows it holds the source's values, so the run
# discovers again (source and target opened anew) and copies late2 again by itself
src_sql "$SDB" "ALTER TABLE late2 ADD COLUMN c_vol timestamptz DEFAULT clock_timestamp(); UPDATE late2 SET v = v + 1 WHERE id = 1"
wait_lines "$TMP/c1.err" "backfill of public.late2: complete" 2 180 "the copy after the volatile default completes"
n_src=$(src_sql "$SDB" "SELECT count(*) FROM late2")
wait_until 60 bash -c "[[ \$(bash '$CH_SH' sql test-clickhouse --format=TabSeparated \
	--query=\"SELECT count() FROM \\\`$CDB\\\`.late2 FINAL WHERE _sluice_deleted = 0 AND c_vol != ''\") == $n_src ]]" ||
	fail "ClickHouse late2.c_vol: $(ch_sql "SELECT count() FROM \`$CDB\`.late2 FINAL WHERE _sluice_deleted = 0 AND c_vol != ''") rows hold a value, the source has $n_src rows"
ASSERTS=$((ASSERTS + 1))
kill -TERM "$SL_PID"
wait "$SL_PID" || fail "sluice (ClickHouse) did not stop cleanly on SIGTERM"
BG_PIDS=()
sluice verify "$PIPECH"
((SL_RC == 0)) || { sluice_dump; fail "verify (ClickHouse) found differences after the backfill"; }

for f in "$TMP"/*.err; do
	! grep -q "ERROR: AddressSanitizer\|runtime error\|ERROR: LeakSanitizer" "$f" || { cat "$f" >&2; fail "sanitizer report in $f"; }
done
pass
