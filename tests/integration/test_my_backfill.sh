#!/usr/bin/env bash
# Backfill while streaming (core/backfill.h), MariaDB -> PostgreSQL. A slice is read in a
# consistent snapshot whose binlog position MariaDB gives (Binlog_snapshot_file/position), and
# the binlog stream hands its watermark on exactly there:
#   - `sluice resync` repairs target tables changed behind sluice's back while a writer keeps
#     changing them (updates, key changes, inserts, deletes), for keys of every spelling the
#     slices use: an integer; a composite of text (commas, quotes, a backslash, non-ASCII, the
#     empty string), integer and binary; a composite of decimal and datetime(6); and a table
#     without a key (copied whole in one snapshot, applied as a truncate and its rows);
#   - a column dropped since the run discovered a table: the copy's read fails on it, the run
#     discovers again and the copy goes on;
#   - a resync while nothing is written: the watermark comes through on the server's heartbeat;
#   - ALTER TABLE ... ADD COLUMN ... DEFAULT while streaming (a keyed and a keyless table): the
#     rows the target holds get the source's values, with no restart by hand;
#   - a table created on the source while a run streams is added by that run within a minute;
#     one created between runs is added by the next run, with two SIGKILLs during its copy, each
#     run going on after the last committed slice.
# Every table ends equal to the source: `sluice verify` and an independent comparison (each
# server prints the rows in a canonical text form, sorted and hashed outside both).
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
my_require

SDB=test_mybf
TDB=it_mybf_dst
my_fresh_db "$SDB"
fresh_db test-dst "$TDB"
my_sql "$SDB" <<'SQL'
CREATE TABLE a (id int PRIMARY KEY, v int NOT NULL, s varchar(40));
INSERT INTO a SELECT seq, seq, MD5(seq) FROM seq_1_to_6000;
CREATE TABLE ck (g varchar(30) NOT NULL, n int NOT NULL, b varbinary(4) NOT NULL, v int NOT NULL,
  x int NOT NULL DEFAULT 0, PRIMARY KEY (g, n, b));
INSERT INTO ck (g, n, b, v) SELECT CONCAT(ELT(1 + seq % 5, 'a,b', 'q''t', 'back\\slash', 'é✓ü', ''), seq % 13),
  seq, UNHEX(LPAD(HEX(seq % 3), 2, '0')), seq FROM seq_1_to_3000;
CREATE TABLE dk (k decimal(30,10) NOT NULL, t datetime(6) NOT NULL, v int NOT NULL, PRIMARY KEY (k, t));
INSERT INTO dk SELECT (seq % 100) / 7, '2024-01-01' + INTERVAL seq SECOND + INTERVAL seq MICROSECOND, seq
  FROM seq_1_to_2000;
CREATE TABLE kl (v int NOT NULL, w varchar(10)); -- keyless
INSERT INTO kl SELECT seq % 10, 'x' FROM seq_1_to_200;
SQL
PIPE=$TMP/mybf.yaml
pipeline_file "$PIPE" it_mybf "mysql:$SDB" "$TDB" "snapshot:" "  parallelism: 2" "  backfill_rows: 250"

# canonical text of a table's rows, as MariaDB and as PostgreSQL print them
declare -A MYCOLS=(
	[a]="id, v, s" [ck]="g, n, HEX(b), v"
	[dk]="k, DATE_FORMAT(t, '%Y-%m-%d %H:%i:%s.%f'), v" [kl]="v, w"
	[late]="id, v, s" [late_kl]="v" [late3]="id, v"
)
declare -A PGCOLS=(
	[a]="id, v, s" [ck]="g, n, upper(encode(b, 'hex')), v"
	[dk]="k, to_char(t, 'YYYY-MM-DD HH24:MI:SS.US'), v" [kl]="v, w"
	[late]="id, v, s" [late_kl]="v" [late3]="id, v"
)
rows_my() { my_sql "$SDB" -e "SELECT ${MYCOLS[$1]} FROM $1" | LC_ALL=C sort | md5sum; }
rows_pg() { dst_sql "$TDB" "COPY (SELECT ${PGCOLS[$1]} FROM $SDB.$1) TO STDOUT" | LC_ALL=C sort | md5sum; }
same() { # TABLE: wait (up to 60 s) until the target holds exactly the source's rows
	local want got i
	want=$(rows_my "$1")
	for ((i = 0; i < 300; i++)); do
		got=$(rows_pg "$1")
		[[ $got != "$want" ]] || break
		sleep 0.2
	done
	[[ $got == "$want" ]] ||
		fail "$1 on the target ($(dst_sql "$TDB" "SELECT count(*) FROM $SDB.$1") rows) differs from the source ($(my_sql "$SDB" -e "SELECT count(*) FROM $1") rows)"
	ASSERTS=$((ASSERTS + 1))
	log "$1: $(my_sql "$SDB" -e "SELECT count(*) FROM $1") rows equal"
}

# the writer: every ~10 ms, changes to a, ck, dk and kl, and to late once it exists
WRITER=
WROUND=0
writer_start() {
	rm -f "$TMP/w.stop"
	WROUND=$((WROUND + 1))
	{
		local i=$((WROUND * 100000))
		while [[ ! -e $TMP/w.stop ]]; do
			i=$((i + 1))
			printf "UPDATE a SET v = v + 1 WHERE id = %d;\n" $((i * 7919 % 6000 + 1))
			printf "UPDATE a SET id = id + 100000 WHERE id = %d;\n" $((i * 104729 % 6000 + 1))
			printf "INSERT INTO a (id, v, s) VALUES (%d, 0, 'new');\n" $((1000000 + i))
			printf "DELETE FROM a WHERE id = %d;\n" $((i * 613 % 6000 + 1))
			printf "UPDATE ck SET v = v + 1 WHERE n = %d;\n" $((i * 31 % 3000 + 1))
			printf "DELETE FROM ck WHERE n = %d;\n" $((i * 977 % 3000 + 1))
			printf "UPDATE dk SET v = v + 1 WHERE v = %d;\n" $((i * 17 % 2000 + 1))
			printf "INSERT INTO kl (v, w) VALUES (%d, 'w');\n" $((i % 10))
			if [[ -e $TMP/w.late ]]; then
				printf "UPDATE late SET v = v + 1 WHERE id = %d;\n" $((i * 7919 % 8000 + 1))
				printf "UPDATE late SET id = id + 1000000 WHERE id = %d;\n" $((i * 104729 % 8000 + 1))
				printf "INSERT INTO late VALUES (%d, 0, 'new');\n" $((3000000 + i))
				printf "DELETE FROM late WHERE id = %d;\n" $((i * 613 % 8000 + 1))
			fi
			sleep 0.01
		done
	} | my_sql "$SDB" >/dev/null 2>"$TMP/w.err" &
	WRITER=$!
}
writer_stop() {
	touch "$TMP/w.stop"
	local rc=0
	wait "$WRITER" || rc=$?
	((rc == 0)) || { cat "$TMP/w.err" >&2; fail "the writer failed ($rc)"; }
}
tamper() { # break the target behind sluice's back, and make sure it shows
	dst_sql "$TDB" "$1"
	[[ $(rows_my "$2") != "$(rows_pg "$2")" ]] || fail "tampering with $2 on the target did not change it"
}

sluice_ok run --once "$PIPE"
for t in a ck dk kl; do same $t; done

# ----------------------------------------- resync repairs tables while a writer runs ---
sluice_bg "$TMP/r1.out" "$TMP/r1.err" run "$PIPE"
wait_lines "$TMP/r1.err" "cdc: reading the binlog" 1 60 "the run streams"
tamper "UPDATE $SDB.a SET v = -1 WHERE id % 7 = 0; DELETE FROM $SDB.a WHERE id % 11 = 0" a
tamper "UPDATE $SDB.ck SET v = -1 WHERE n % 7 = 0; DELETE FROM $SDB.ck WHERE n % 11 = 0" ck
tamper "DELETE FROM $SDB.dk WHERE v % 5 = 0" dk
tamper "DELETE FROM $SDB.kl WHERE v = 1; INSERT INTO $SDB.kl VALUES (-99, 'z'), (-99, 'z')" kl
# a column dropped since the run discovered ck: its first slice's read fails on it, the run
# discovers again and the copy goes on (the target keeps the column)
my_sql "$SDB" -e "ALTER TABLE ck DROP COLUMN x"
writer_start
sluice_ok resync "$PIPE" "$SDB.a" "$SDB.ck" "$SDB.dk" "$SDB.kl"
assert_contains "$SL_OUT" "resync of $SDB.ck requested" "resync says what it requested"
for t in a ck dk kl; do
	wait_lines "$TMP/r1.err" "backfill of $SDB.$t: complete" 1 120 "the resync of $t completes"
done
writer_stop
for t in a ck dk kl; do same $t; done
assert_contains "$(cat "$TMP/r1.err")" "change capture starts again with a new discovery" \
	"a column dropped since discovery makes the run discover again"
# a table created while this run streams (after its last discovery): found within a minute
my_sql "$SDB" -e "CREATE TABLE late3 (id bigint PRIMARY KEY, v int NOT NULL); INSERT INTO late3 SELECT seq, seq FROM seq_1_to_3000"

# ------------------------------------------------- a resync while nothing is written ---
tamper "UPDATE $SDB.dk SET v = 0 WHERE v % 3 = 0" dk
sluice_ok resync "$PIPE" "$SDB.dk"
wait_lines "$TMP/r1.err" "backfill of $SDB.dk: complete" 2 60 "a resync with no writes completes (the watermark comes on a heartbeat)"
same dk

# ------------------------------------ a table created while streaming: within a minute ---
wait_lines "$TMP/r1.err" "backfill of $SDB.late3: complete" 1 120 "a table created while streaming is added within a minute"
assert_contains "$(cat "$TMP/r1.err")" "table $SDB.late3 appeared on the source" "the run says it found late3"
my_sql "$SDB" -e "UPDATE late3 SET v = -v WHERE id % 3 = 0"
same late3

# ----------------------------------------------- ADD COLUMN ... DEFAULT while streaming ---
writer_start
my_sql "$SDB" -e "ALTER TABLE a ADD COLUMN c int NOT NULL DEFAULT 7, ADD COLUMN e varchar(8) DEFAULT 'e'"
my_sql "$SDB" -e "ALTER TABLE kl ADD COLUMN z int DEFAULT 3"
wait_lines "$TMP/r1.err" "backfill of $SDB.a: complete" 2 120 "a is copied again after ADD COLUMN"
wait_lines "$TMP/r1.err" "backfill of $SDB.kl: complete" 2 120 "kl is copied again after ADD COLUMN"
assert_contains "$(cat "$TMP/r1.err")" "table $SDB.a: the rows the target holds may lack values the source's rows have" \
	"the run says why it copies a again"
writer_stop
MYCOLS[a]="id, v, s, c, e"
PGCOLS[a]="id, v, s, c, e"
same a
MYCOLS[kl]="v, w, z"
PGCOLS[kl]="v, w, z"
same kl
kill -TERM "$SL_PID"
wait "$SL_PID" || fail "sluice did not stop cleanly on SIGTERM"
BG_PIDS=()

# ------------------------------- a table created between runs, two SIGKILLs during its copy ---
my_sql "$SDB" -e "CREATE TABLE late (id int PRIMARY KEY, v int NOT NULL, s varchar(40));
  INSERT INTO late SELECT seq, seq, MD5(seq) FROM seq_1_to_8000;
  CREATE TABLE late_kl (v int NOT NULL); INSERT INTO late_kl SELECT seq % 7 FROM seq_1_to_500"
touch "$TMP/w.late"
writer_start
for round in 1 2; do
	sluice_bg "$TMP/k$round.out" "$TMP/k$round.err" run "$PIPE"
	wait_lines "$TMP/k$round.err" "backfill of $SDB.late:" 1 60 "run $round starts the backfill"
	before=$(sqlite3 "$TMP/it_mybf.state.db" "SELECT rows FROM sluice_backfill WHERE name = '$SDB.late'" 2>/dev/null || echo 0)
	wait_until 60 bash -c "(( \$(sqlite3 '$TMP/it_mybf.state.db' \"SELECT rows FROM sluice_backfill WHERE name = '$SDB.late'\") > ${before:-0} ))" ||
		fail "run $round committed no slice of late in 60 s"
	kill -KILL "$SL_PID"
	wait "$SL_PID" 2>/dev/null || true
	BG_PIDS=()
	st=$(sqlite3 "$TMP/it_mybf.state.db" "SELECT status || ' ' || rows FROM sluice_backfill WHERE name = '$SDB.late'")
	log "after SIGKILL $round: backfill status/rows $st"
	[[ $st == "0 "* ]] || fail "the backfill of late finished before SIGKILL $round ($st): make it longer"
done
assert_contains "$(cat "$TMP/k1.err")" "table $SDB.late is new to the pipeline" "the first run after late appeared adds it"
assert_contains "$(cat "$TMP/k2.err")" "backfill of $SDB.late: going on after key" \
	"the run after a SIGKILL goes on from the last committed slice"
sluice_bg "$TMP/r2.out" "$TMP/r2.err" run "$PIPE"
wait_lines "$TMP/r2.err" "backfill of $SDB.late: complete" 1 120 "the backfill of late completes"
wait_lines "$TMP/r2.err" "backfill of $SDB.late_kl: complete" 1 120 "the backfill of keyless late_kl completes"
writer_stop
for t in late late_kl a ck dk kl; do same $t; done
kill -TERM "$SL_PID"
wait "$SL_PID" || fail "sluice did not stop cleanly on SIGTERM"
BG_PIDS=()
sluice verify "$PIPE"
((SL_RC == 0)) || { sluice_dump; fail "verify found differences after the backfills"; }
assert_contains "$SL_OUT" "$SDB.late" "verify compares the added table"

# ------------------- a keyless table whose snapshot was cut short: copied by a backfill ---
# no longer makes the snapshot start over in a streaming run
TDB4=it_mybf_kl
fresh_db test-dst "$TDB4"
my_sql "$SDB" -e "CREATE TABLE kbig (v int NOT NULL, pad varchar(100)); INSERT INTO kbig SELECT seq % 1000, CONCAT(MD5(seq), MD5(-seq)) FROM seq_1_to_1000000"
PIPE4=$TMP/kl.yaml
pipeline_file "$PIPE4" it_mybf_kl "mysql:$SDB" "$TDB4" "source.tables: { include: [$SDB.kbig, $SDB.a] }" \
	"snapshot:" "  parallelism: 1" "  queue_size: 512MiB"
sluice_bg "$TMP/kl1.out" "$TMP/kl1.err" run "$PIPE4"
wait_lines "$TMP/kl1.err" "snapshot: 2 table(s)" 1 60 "the snapshot of kbig starts"
sleep 0.3
kill -KILL "$SL_PID"
wait "$SL_PID" 2>/dev/null || true
BG_PIDS=()
sluice status "$PIPE4"
assert_contains "$SL_OUT" "snapshot: incomplete" "the snapshot was cut short"
[[ $(sqlite3 "$TMP/it_mybf_kl.state.db" "SELECT count(*) FROM sluice_table WHERE name = '$SDB.kbig' AND status = 2" 2>/dev/null) != 1 ]] ||
	fail "kbig was loaded before the SIGKILL: make it bigger"
point1=$(grep 'consistent point' <<<"$SL_OUT")
my_sql "$SDB" -e "INSERT INTO kbig VALUES (-1, 'after the kill'), (-1, 'after the kill')"
sluice_bg "$TMP/kl2.out" "$TMP/kl2.err" run "$PIPE4"
wait_lines "$TMP/kl2.err" "backfill of $SDB.kbig: complete" 1 180 "kbig is copied by a backfill"
assert_contains "$(cat "$TMP/kl2.err")" "table $SDB.kbig has no key and its snapshot was cut short" \
	"the run says why it copies kbig while streaming"
assert_not_contains "$(cat "$TMP/kl2.err")" "starts over" "the snapshot does not start over"
my_sql "$SDB" -e "DELETE FROM kbig WHERE v = 7; INSERT INTO kbig VALUES (-2, 'after the backfill')"
MYCOLS[kbig]="v, pad"
PGCOLS[kbig]="v, pad"
TDB_SAVED=$TDB
TDB=$TDB4
same kbig
TDB=$TDB_SAVED
sluice status "$PIPE4"
assert_eq "$point1" "$(grep 'consistent point' <<<"$SL_OUT")" "the consistent point is kept"
kill -TERM "$SL_PID"
wait "$SL_PID" || fail "sluice did not stop cleanly on SIGTERM"
BG_PIDS=()
sluice verify "$PIPE4"
((SL_RC == 0)) || { sluice_dump; fail "verify found differences after the keyless backfill"; }

for f in "$TMP"/*.err; do
	! grep -q "ERROR: AddressSanitizer\|runtime error\|ERROR: LeakSanitizer" "$f" || { cat "$f" >&2; fail "sanitizer report in $f"; }
done
pass
