#!/usr/bin/env bash
# MariaDB -> PostgreSQL, a long-running `sluice run`:
#   - changes arrive while it streams;
#   - MariaDB is stopped under it while a writer streams: sluice stays up, retries with backoff
#     (retry lines 1 s, then 2 s apart), reconnects when the server is back, and goes on from
#     its durable position;
#   - the binlog silence timeout, both halves, in one ~35 s window: pipeline A reads the binlog
#     directly, pipeline B through a loopback relay (pause_relay.py). Nothing is written to the
#     server during the window and B's binlog connection is frozen (held open, nothing
#     forwarded). B must log the silence as a lost connection after 30 s (not before 28 s: its
#     last heartbeat may have come up to 1 s before the freeze) and reconnect (the server drops
#     its frozen dump thread); A, idle for more than 30 s but receiving the server's heartbeats,
#     must log nothing and keep the same dump thread on the server; changes made afterwards
#     reach both promptly;
#   - SIGTERM stops it cleanly (exit 0) while a writer streams (after a change made since the
#     restart was seen on the target), and a later run resumes;
#   - nothing lost or applied twice, for both pipelines: keyed tables compared row by row, and an
#     insert-only keyless table `ev`, written by a background session across the restart and
#     SIGTERM with every row inserted twice, has the same count and ordered md5 (duplicates
#     included), computed by MariaDB and by PostgreSQL.
# Stops and restarts test-mysql, and needs the server idle for the window: run under the
# exclusive lock.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
my_require

SDB=test_mystream
TDB=it_mystream_dst
TDB2=it_mystream_relay_dst
my_fresh_db "$SDB"
fresh_db test-dst "$TDB"
fresh_db test-dst "$TDB2"
my_sql "$SDB" -e "CREATE TABLE t (id int PRIMARY KEY, v int); CREATE TABLE log (id int AUTO_INCREMENT PRIMARY KEY, at varchar(20));
  CREATE TABLE ev (phase varchar(20) NOT NULL, n int NOT NULL); -- insert-only, keyless
  INSERT INTO t SELECT seq, 0 FROM seq_1_to_1000; INSERT INTO ev VALUES ('initial', 1), ('initial', 1)"
pipe() { # PATH NAME SERVER_ID PORT TARGET_DB
	{
		echo "name: $2"
		echo "source: { type: mysql, url: 'mysql://sluice@127.0.0.1:$4/$SDB', password: '\${SL_MY_PASSWORD}', server_id: $3 }"
		echo "target: { type: postgres, url: 'postgres://sluice@127.0.0.1:$(port_of test-dst)/$5', password: '\${SL_PG_PASSWORD}' }"
		echo "apply: { max_delay: 100ms }"
		echo "# an explicit replica id (the default derives one from the pipeline name)"
		echo "state: { url: 'sqlite://$TMP/$2.state.db' }"
	} >"$1"
}
PIPE=$TMP/stream.yaml
pipe "$PIPE" it_mystream 777001 "$MY_PORT" "$TDB"

wait_for() { wait_sql test-dst "${4:-$TDB}" "$1" "$2" "$3"; } # SQL EXPECTED WHAT [TARGET_DB] (lib.sh)
log_secs() { # LOG-LINE: its timestamp (time of day) in seconds
	local t=${1%%Z *}
	awk -F: '{ printf "%.3f", $1 * 3600 + $2 * 60 + $3 }' <<<"${t#*T}"
}

# ev: count + md5 of all rows in one total order (duplicates included), by each server's SQL
EV_MY="SET SESSION group_concat_max_len = 1073741824;
  SELECT CONCAT(COUNT(*), ' ', MD5(COALESCE(GROUP_CONCAT(CONCAT(phase, ':', n) ORDER BY CAST(phase AS BINARY), n SEPARATOR ','), ''))) FROM ev"
EV_PG="SELECT count(*) || ' ' || md5(coalesce(string_agg(phase || ':' || n, ',' ORDER BY phase COLLATE \"C\", n), '')) FROM $SDB.ev"
# ev_writer_start PHASE: a background session inserting (PHASE, i) twice in one statement,
# i = 1, 2, ..., about every 20 ms until ev_writer_stop (or until the server goes away)
EVW=
ev_writer_start() {
	rm -f "$TMP/evw.stop"
	{
		local i=0
		while [[ ! -e $TMP/evw.stop ]] && ((i < 3000)); do
			i=$((i + 1))
			printf "INSERT INTO ev VALUES ('%s', %d), ('%s', %d);\n" "$1" "$i" "$1" "$i"
			sleep 0.02
		done
	} | my_sql "$SDB" >/dev/null 2>"$TMP/evw.err" &
	EVW=$!
}
ev_writer_stop() {
	touch "$TMP/evw.stop"
	local rc=0
	wait "$EVW" || rc=$?
	((rc == 0)) || { cat "$TMP/evw.err" >&2; fail "the ev writer failed ($rc)"; }
}
ev_seen() { # PHASE [TARGET_DB]: wait until the target has rows the writer inserted in PHASE
	wait_for "SELECT count(*) > 0 FROM $SDB.ev WHERE phase = '$1'" t "an ev row of phase $1 on ${2:-$TDB}" "${2:-$TDB}"
}

sluice_bg "$TMP/run.out" "$TMP/run.err" run "$PIPE"
RUN=$SL_PID
R=$TMP/run.err
wait_for "SELECT count(*) FROM $SDB.t" 1000 "snapshot"
wait_dump "$RUN" "pipeline A" >/dev/null
my_sql "$SDB" -e "UPDATE t SET v = 1 WHERE id <= 500; INSERT INTO log (at) VALUES ('before restart')"
wait_for "SELECT count(*) FROM $SDB.t WHERE v = 1" 500 "changes while streaming"

# the source goes away while a writer streams, and comes back: sluice must retry with backoff
# (the retry lines after the stop say 1 s, 2 s, 4 s and are that far apart), not exit
ev_writer_start restart
ev_seen restart
n0=$(count_lines "$R" "reconnecting in")
bash "$MY_SH" stop test-mysql >/dev/null
wait "$EVW" || log "the ev writer ended with the server (expected)"
wait_lines "$R" "reconnecting in" $((n0 + 3)) 30 "three attempts while the source is down"
kill -0 "$RUN" 2>/dev/null || { cat "$R" >&2; fail "sluice exited when the source stopped"; }
no_inherited_fds bash "$MY_SH" start test-mysql --fsync off >/dev/null || fail "could not restart test-mysql"
mapfile -t retries < <(grep -F "reconnecting in" "$R" | tail -n +$((n0 + 1)) | head -3)
for k in 0 1 2; do
	assert_contains "${retries[k]}" "reconnecting in $((1 << k))s" "retry $((k + 1)) announces a $((1 << k)) s delay"
done
for k in 0 1; do
	gap=$(awk -v a="$(log_secs "${retries[k]}")" -v b="$(log_secs "${retries[k + 1]}")" \
		'BEGIN { d = b - a; if (d < 0) d += 86400; printf "%.3f", d }')
	awk -v g="$gap" -v w=$((1 << k)) 'BEGIN { exit !(g >= w - 0.01 && g < w + 0.9) }' ||
		fail "retry $((k + 2)) came $gap s after retry $((k + 1)), expected $((1 << k)) s (backoff 1 s doubling)"
	ASSERTS=$((ASSERTS + 1))
done
my_sql "$SDB" -e "UPDATE t SET v = 2 WHERE id > 500; INSERT INTO log (at) VALUES ('after restart')"
wait_for "SELECT count(*) FROM $SDB.t WHERE v = 2" 500 "changes after the source restarted"
assert_contains "$(grep -F "binlog connection lost" "$R")" "binlog connection lost" "the lost connection was logged"

# pipeline B reads the same database through the relay, into its own target database
python3 "$SLUICE_ROOT/tests/integration/pause_relay.py" "$TMP/relay.port" "$MY_PORT" "$TMP/relay.log" 2>"$TMP/relay.err" &
RELAY=$!
BG_PIDS+=("$RELAY")
for _ in $(seq 1 50); do
	[[ -s $TMP/relay.port ]] && break
	sleep 0.1
done
[[ -s $TMP/relay.port ]] || { cat "$TMP/relay.err" >&2; fail "the relay did not start"; }
PIPE2=$TMP/relay.yaml
pipe "$PIPE2" it_mystream_relay 777002 "$(<"$TMP/relay.port")" "$TDB2"
sluice_bg "$TMP/run2.out" "$TMP/run2.err" run "$PIPE2"
RUN2=$SL_PID
R2=$TMP/run2.err
my_sql "$SDB" -e "INSERT INTO log (at) VALUES ('relay started')"
wait_for "SELECT count(*) FROM $SDB.log" 3 "pipeline A before the idle window"
wait_for "SELECT count(*) FROM $SDB.log" 3 "pipeline B through the relay" "$TDB2"
A_ID=$(wait_dump "$RUN" "pipeline A")
B_ID=$(wait_dump "$RELAY" "pipeline B (through the relay)")
wait_lines "$TMP/relay.log" "binlog " 1 10 "the relay saw B's binlog dump"
log "binlog dump threads: A $A_ID, B (relay) $B_ID"

# the window: nothing written anywhere on the server; B's binlog connection frozen
la=$(wc -l <"$R")
lb=$(wc -l <"$R2")
t0=$(date +%s.%N)
kill -USR1 "$RELAY"
wait_lines "$TMP/relay.log" "frozen " 1 5 "the relay froze B's binlog connection"
assert_eq 1 "$(grep -F "frozen " "$TMP/relay.log" | awk '{ print NF - 1 }')" "exactly one binlog connection frozen"
lost=
for _ in $(seq 1 600); do
	(($(count_lines "$R2" "binlog connection lost" "$lb") > 0)) && { lost=$(date +%s.%N); break; }
	sleep 0.1
done
[[ -n $lost ]] || { tail "$R2" >&2; fail "B did not notice 60 s of silence on its binlog connection"; }
silent=$(awk -v a="$t0" -v b="$lost" 'BEGIN { printf "%.1f", b - a }')
log "B logged the silent binlog connection as lost after $silent s"
awk -v s="$silent" 'BEGIN { exit !(s >= 28 && s < 40) }' ||
	fail "B gave up on the silent connection after $silent s, expected the 30 s read timeout"
ASSERTS=$((ASSERTS + 1))
assert_contains "$(tail -n +$((lb + 1)) "$R2")" "reconnecting in" "B retries after the silence"
# B is back: a new binlog dump through the relay, and the server dropped the frozen one
B_NEW=
for _ in $(seq 1 100); do
	B_NEW=$(dump_ids "$RELAY" | awk -v old="$B_ID" '$1 != old')
	[[ -n $B_NEW ]] && break
	sleep 0.2
done
[[ -n $B_NEW ]] || fail "B did not start a new binlog dump after the silence"
B_OLD=$B_ID
for _ in $(seq 1 50); do
	B_OLD=$(dump_ids "$RELAY" | awk -v old="$B_ID" '$1 == old')
	[[ -z $B_OLD ]] && break
	sleep 0.2
done
assert_eq "" "$B_OLD" "the server dropped B's silent dump thread when B came back"
# A: idle for more than 30 s in all (the window is timed from the freeze)
while awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { exit !(b - a < 33) }'; do sleep 0.5; done
assert_eq "" "$(tail -n +$((la + 1)) "$R" | awk '/lost|reconnecting|error/')" \
	"A logged nothing while idle with heartbeats"
assert_eq "$A_ID" "$(dump_ids "$RUN")" "A kept its binlog dump thread through the idle window"
kill -0 "$RUN" 2>/dev/null || fail "A exited while idle"
kill -0 "$RUN2" 2>/dev/null || fail "B exited after the silence"
# changes after the window arrive promptly at both
t1=$SECONDS
my_sql "$SDB" -e "INSERT INTO log (at) VALUES ('after idle'); INSERT INTO ev VALUES ('after-idle', 1), ('after-idle', 1)"
wait_for "SELECT count(*) FROM $SDB.log" 4 "A: changes after the idle window"
wait_for "SELECT count(*) FROM $SDB.log" 4 "B: changes after the silence" "$TDB2"
((SECONDS - t1 <= 10)) || fail "changes after the window took $((SECONDS - t1)) s to arrive"

# SIGTERM both while the writer streams (a row written since is on A's target first)
ev_writer_start sigterm
ev_seen sigterm
ev_seen sigterm "$TDB2"
kill -0 "$EVW" || fail "the writer stopped before the signal"
kill -TERM "$RUN" "$RUN2"
rc=0
wait "$RUN" || rc=$?
rc2=0
wait "$RUN2" || rc2=$?
BG_PIDS=("$RELAY")
ev_writer_stop
assert_eq 0 "$rc" "SIGTERM: clean exit"
assert_eq 0 "$rc2" "SIGTERM: clean exit (B)"
assert_contains "$(<"$R")" "stopped by signal" "SIGTERM: logged"

# changes while stopped are picked up by the next run, once each
my_sql "$SDB" -e "UPDATE t SET v = v + 10; INSERT INTO log (at) VALUES ('while stopped'); DELETE FROM t WHERE id % 10 = 0;
  INSERT INTO ev VALUES ('stopped', 1), ('stopped', 1)"
sluice_ok run --once "$PIPE"
sluice_ok run --once "$PIPE2"
for phase in initial restart after-idle sigterm stopped; do
	(($(my_sql "$SDB" -e "SELECT count(*) FROM ev WHERE phase = '$phase'") > 0)) || fail "no ev rows written in phase $phase"
done
ev_src=$(my_sql "$SDB" -e "$EV_MY")
log "ev: $ev_src"
for db in "$TDB" "$TDB2"; do
	a=$(my_sql "$SDB" -e "SELECT id, v FROM t ORDER BY id" | md5sum)
	b=$(dst_sql "$db" "COPY (SELECT id, v FROM $SDB.t ORDER BY id) TO STDOUT" | md5sum)
	assert_eq "$a" "$b" "$db: t equals the source after restarts and a signal"
	a=$(my_sql "$SDB" -e "SELECT id, at FROM log ORDER BY id" | md5sum)
	b=$(dst_sql "$db" "COPY (SELECT id, at FROM $SDB.log ORDER BY id) TO STDOUT" | md5sum)
	assert_eq "$a" "$b" "$db: log has every row exactly once"
	assert_eq "$ev_src" "$(dst_sql "$db" "$EV_PG")" \
		"$db: keyless ev has every row exactly once (count and ordered md5, duplicates included)"
done
sluice_ok status "$PIPE"
assert_contains "$SL_OUT" "binlog: source position" "status shows the binlog position"
pass
