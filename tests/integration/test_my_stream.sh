#!/usr/bin/env bash
# MariaDB -> PostgreSQL, a long-running `sluice run`: changes arrive while it streams; MariaDB is
# restarted under it (the binlog connection is lost, sluice reconnects with backoff and goes on
# from its durable position); an idle stream stays up (server heartbeats); SIGTERM stops it
# cleanly (exit 0) at a transaction boundary, and a later run resumes with nothing lost or
# applied twice.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
my_require

SDB=test_mystream
TDB=it_mystream_dst
my_fresh_db "$SDB"
fresh_db test-dst "$TDB"
my_sql "$SDB" -e "CREATE TABLE t (id int PRIMARY KEY, v int); CREATE TABLE log (id int AUTO_INCREMENT PRIMARY KEY, at varchar(20));
  INSERT INTO t SELECT seq, 0 FROM seq_1_to_1000"
PIPE=$TMP/stream.yaml
{
	echo "name: it_mystream"
	echo "source: { type: mysql, url: '$(my_url)$SDB', password: '\${SL_MY_PASSWORD}', server_id: 777001 }"
	echo "target: { type: postgres, url: 'postgres://sluice@127.0.0.1:$(port_of test-dst)/$TDB', password: '\${SL_PG_PASSWORD}' }"
	echo "apply: { max_delay: 100ms }"
	echo "# an explicit replica id (the default derives one from the pipeline name)"
	echo "state: { url: 'sqlite://$TMP/stream.state.db' }"
} >"$PIPE"

wait_for() { # SQL EXPECTED WHAT
	local i got=
	for i in $(seq 1 150); do
		got=$(dst_sql "$TDB" "$1" 2>/dev/null || true)
		[[ $got == "$2" ]] && return 0
		sleep 0.2
	done
	fail "$3: expected '$2', got '$got' after 30 s"
}

sluice_bg "$TMP/run.out" "$TMP/run.err" run "$PIPE"
RUN=$SL_PID
wait_for "SELECT count(*) FROM $SDB.t" 1000 "snapshot"
for _ in $(seq 1 50); do
	ids=$(my_sql -e "SELECT count(*) FROM information_schema.processlist WHERE command LIKE 'Binlog Dump%'")
	((ids >= 1)) && break
	sleep 0.2
done
((ids >= 1)) || fail "no binlog dump thread on the server"
my_sql "$SDB" -e "UPDATE t SET v = 1 WHERE id <= 500; INSERT INTO log (at) VALUES ('before restart')"
wait_for "SELECT count(*) FROM $SDB.t WHERE v = 1" 500 "changes while streaming"

# the source goes away and comes back: sluice must reconnect, not exit
bash "$MY_SH" stop test-mysql >/dev/null
sleep 2
kill -0 "$RUN" 2>/dev/null || { cat "$TMP/run.err" >&2; fail "sluice exited when the source stopped"; }
bash "$MY_SH" start test-mysql --fsync off >/dev/null || fail "could not restart test-mysql"
my_sql "$SDB" -e "UPDATE t SET v = 2 WHERE id > 500; INSERT INTO log (at) VALUES ('after restart')"
wait_for "SELECT count(*) FROM $SDB.t WHERE v = 2" 500 "changes after the source restarted"
assert_contains "$(<"$TMP/run.err")" "reconnecting in" "the lost connection was logged and retried"

# idle for a while: heartbeats keep the link; then more changes still flow
sleep 5
my_sql "$SDB" -e "INSERT INTO log (at) VALUES ('after idle')"
wait_for "SELECT count(*) FROM $SDB.log" 3 "changes after an idle period"
kill -0 "$RUN" 2>/dev/null || fail "sluice exited while idle"

kill -TERM "$RUN"
rc=0
wait "$RUN" || rc=$?
BG_PIDS=()
assert_eq 0 "$rc" "SIGTERM: clean exit"
assert_contains "$(<"$TMP/run.err")" "stopped by signal" "SIGTERM: logged"

# changes while stopped are picked up by the next run, once each
my_sql "$SDB" -e "UPDATE t SET v = v + 10; INSERT INTO log (at) VALUES ('while stopped'); DELETE FROM t WHERE id % 10 = 0"
sluice_ok run --once "$PIPE"
a=$(my_sql "$SDB" -e "SELECT id, v FROM t ORDER BY id" | md5sum)
b=$(dst_sql "$TDB" "COPY (SELECT id, v FROM $SDB.t ORDER BY id) TO STDOUT" | md5sum)
assert_eq "$a" "$b" "t equals the source after restarts and a signal"
a=$(my_sql "$SDB" -e "SELECT id, at FROM log ORDER BY id" | md5sum)
b=$(dst_sql "$TDB" "COPY (SELECT id, at FROM $SDB.log ORDER BY id) TO STDOUT" | md5sum)
assert_eq "$a" "$b" "log has every row exactly once"
sluice_ok status "$PIPE"
assert_contains "$SL_OUT" "binlog: source position" "status shows the binlog position"
pass
