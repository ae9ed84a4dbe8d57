#!/usr/bin/env bash
# Two pipelines that share source.server_id on one MariaDB server (README: "two pipelines on one
# server must not share it (the server drops the older connection)"):
#   - when the second pipeline starts its binlog dump, the server drops the first one's dump
#     thread (seen in the server's processlist, matched to each sluice process by its client
#     port) and the first pipeline logs the lost binlog connection and retries;
#   - what follows (not in the README): the dropped pipeline retries after 1 s and its new dump
#     drops the other one, so the two keep dropping each other, each logging "binlog connection
#     lost: A slave with the same server_uuid/server_id is already connected" about once a second
#     while changes flow;
#   - both still converge: keyed table and an insert-only keyless table (count + ordered md5,
#     duplicates included, by MariaDB and by PostgreSQL) equal the source on both targets.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
my_require

SDB=test_mysid
TDA=it_mysid_a
TDB=it_mysid_b
my_fresh_db "$SDB"
fresh_db test-dst "$TDA"
fresh_db test-dst "$TDB"
my_sql "$SDB" -e "CREATE TABLE t (id int PRIMARY KEY, v int); INSERT INTO t SELECT seq, 0 FROM seq_1_to_100;
  CREATE TABLE ev (phase varchar(20) NOT NULL, n int NOT NULL); -- insert-only, keyless"
pipe() { # PATH NAME TARGET_DB
	{
		echo "name: $2"
		echo "source: { type: mysql, url: '$(my_url)$SDB', password: '\${SL_MY_PASSWORD}', server_id: 777201 }"
		echo "target: { type: postgres, url: 'postgres://sluice@127.0.0.1:$(port_of test-dst)/$3', password: '\${SL_PG_PASSWORD}' }"
		echo "apply: { max_delay: 100ms }"
		echo "state: { url: 'sqlite://$TMP/$2.state.db' }"
	} >"$1"
}
pipe "$TMP/a.yaml" it_mysid_a "$TDA"
pipe "$TMP/b.yaml" it_mysid_b "$TDB"

CLASH="binlog connection lost: A slave with the same server_uuid/server_id is already connected"

sluice_bg "$TMP/a.out" "$TMP/a.err" run "$TMP/a.yaml"
A=$SL_PID
A_ID=$(wait_dump "$A" "pipeline A")
assert_eq 0 "$(count_lines "$TMP/a.err" "connection lost")" "A alone: no lost connection"

# B starts with the same server_id: the server drops A's (older) dump thread
sluice_bg "$TMP/b.out" "$TMP/b.err" run "$TMP/b.yaml"
B=$SL_PID
B_ID=$(wait_dump "$B" "pipeline B")
gone=
for _ in $(seq 1 50); do
	my_sql -e "SELECT id FROM information_schema.processlist WHERE id = $A_ID" | grep -qx "$A_ID" || { gone=1; break; }
	sleep 0.1
done
[[ -n $gone ]] || fail "A's dump thread $A_ID is still on the server after B ($B_ID) started with the same server_id"
ASSERTS=$((ASSERTS + 1))
for _ in $(seq 1 50); do
	(($(count_lines "$TMP/a.err" "$CLASH") > 0)) && break
	sleep 0.1
done
assert_contains "$(<"$TMP/a.err")" "$CLASH" "A logs the dropped connection with the server's reason"
log "A's dump $A_ID was dropped when B's dump $B_ID started"

# changes flow for a while: the two keep dropping each other, and both apply every change
for i in $(seq 1 40); do
	my_sql "$SDB" -e "UPDATE t SET v = v + 1 WHERE id = $i; INSERT INTO ev VALUES ('flap', $i), ('flap', $i)"
	sleep 0.2
done
na=$(count_lines "$TMP/a.err" "$CLASH")
nb=$(count_lines "$TMP/b.err" "$CLASH")
log "clashes logged while changes flowed: A $na, B $nb"
((na >= 2 && nb >= 2)) || fail "expected both pipelines to keep dropping each other (A $na, B $nb)"
ASSERTS=$((ASSERTS + 1))
kill -0 "$A" && kill -0 "$B" || fail "a pipeline exited on the clash"
# SIGTERM while a pipeline waits to reconnect (right after its clash line: the retry is 1 s
# away) is a graceful stop like any other: exit 0
stop_in_backoff() { # PID ERRFILE WHAT
	local n i
	n=$(count_lines "$2" "$CLASH")
	for i in $(seq 1 100); do
		(($(count_lines "$2" "$CLASH") > n)) && break
		sleep 0.05
	done
	(($(count_lines "$2" "$CLASH") > n)) || fail "$3: no new clash within 5 s"
	kill -TERM "$1"
	local rc=0
	wait "$1" || rc=$?
	((rc == 0)) || tail -n 5 "$2" >&2
	assert_eq 0 "$rc" "$3: SIGTERM while waiting to reconnect exits 0"
	assert_contains "$(tail -n 3 "$2")" "stopped by signal" "$3: the stop is logged as graceful"
}
stop_in_backoff "$A" "$TMP/a.err" A
BG_PIDS=("$B")
kill -TERM "$B"
rc=0
wait "$B" || rc=$?
BG_PIDS=()
assert_eq 0 "$rc" "B stops cleanly on SIGTERM"
sluice_ok run --once "$TMP/a.yaml"
sluice_ok run --once "$TMP/b.yaml"
EV_MY="SET SESSION group_concat_max_len = 1073741824;
  SELECT CONCAT(COUNT(*), ' ', MD5(COALESCE(GROUP_CONCAT(CONCAT(phase, ':', n) ORDER BY CAST(phase AS BINARY), n SEPARATOR ','), ''))) FROM ev"
EV_PG="SELECT count(*) || ' ' || md5(coalesce(string_agg(phase || ':' || n, ',' ORDER BY phase COLLATE \"C\", n), '')) FROM $SDB.ev"
for db in "$TDA" "$TDB"; do
	a=$(my_sql "$SDB" -e "SELECT id, v FROM t ORDER BY id" | md5sum)
	b=$(dst_sql "$db" "COPY (SELECT id, v FROM $SDB.t ORDER BY id) TO STDOUT" | md5sum)
	assert_eq "$a" "$b" "$db: t equals the source"
	assert_eq "$(my_sql "$SDB" -e "$EV_MY")" "$(dst_sql "$db" "$EV_PG")" \
		"$db: keyless ev has every row exactly once (count and ordered md5, duplicates included)"
done
pass
