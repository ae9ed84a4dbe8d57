#!/usr/bin/env bash
# Secrets from files (password_file, as Docker and Kubernetes mount them), read at start and at
# every connection: a streaming run whose source and target passwords are rotated (the files
# rewritten, the roles altered, the sessions cut) reconnects with the new ones and goes on;
# neither password appears in its output. MariaDB and ClickHouse read password_file too; a
# wrong one is refused as a wrong password is.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

ROLE=sluice_rot
SDB=it_secret_src
TDB=it_secret_dst
PW1="first-$RANDOM-secret"
PW2="second-$RANDOM-secret"
fresh_db test-src "$SDB"
fresh_db test-dst "$TDB"
for inst in test-src test-dst; do
	inst_sql "$inst" postgres "DO \$\$ BEGIN
	    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$ROLE') THEN
	      CREATE ROLE $ROLE LOGIN REPLICATION;
	    END IF; END \$\$;
	  ALTER ROLE $ROLE PASSWORD '$PW1'" >/dev/null
done
inst_sql test-src "$SDB" "CREATE TABLE t (id int PRIMARY KEY, v text) ;
  ALTER TABLE t OWNER TO $ROLE; GRANT CREATE ON DATABASE $SDB TO $ROLE;
  INSERT INTO t SELECT g, 'v' || g FROM generate_series(1, 100) g"
inst_sql test-dst "$TDB" "GRANT CREATE, TEMPORARY ON DATABASE $TDB TO $ROLE; GRANT ALL ON SCHEMA public TO $ROLE"

printf '%s\n' "$PW1" >"$TMP/src.pw"
printf '%s\n' "$PW1" >"$TMP/dst.pw"
chmod 600 "$TMP/src.pw" "$TMP/dst.pw"
PIPE=$TMP/secret.yaml
pipeline_file "$PIPE" it_secret "$SDB" "$TDB"
sed -i -e "s|postgres://sluice@|postgres://$ROLE@|" \
	-e "0,/password: /s|  password: .*|  password_file: $TMP/src.pw|" \
	-e "s|  password: .*|  password_file: $TMP/dst.pw|" "$PIPE"
[[ $(grep -c password_file "$PIPE") == 2 ]] || fail "the pipeline file was not rewritten: $(cat "$PIPE")"

sluice_bg "$TMP/run.out" "$TMP/run.err" run "$PIPE"
wait_sql test-dst "$TDB" "SELECT count(*) FROM public.t" 100 "the snapshot" 60
inst_sql test-src "$SDB" "INSERT INTO t VALUES (0, 'streamed')"
wait_sql test-dst "$TDB" "SELECT count(*) FROM public.t" 101 "streaming" 60

# rotate both passwords: the files first, then the servers, then cut sluice's sessions
printf '%s\n' "$PW2" >"$TMP/src.pw"
printf '%s\n' "$PW2" >"$TMP/dst.pw"
for inst in test-src test-dst; do
	inst_sql "$inst" postgres "ALTER ROLE $ROLE PASSWORD '$PW2';
	  SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE usename = '$ROLE'" >/dev/null
done
inst_sql test-src "$SDB" "INSERT INTO t VALUES (101, 'after the rotation'); UPDATE t SET v = 'x' WHERE id = 1"
wait_sql test-dst "$TDB" "SELECT count(*) FROM public.t WHERE id = 101 OR v = 'x'" 2 "changes after the rotation" 90
kill -0 "$SL_PID" 2>/dev/null || fail "sluice stopped: $(tail -5 "$TMP/run.err")"
kill -TERM "$SL_PID"
wait "$SL_PID" || true
grep -q "reconnect\|connection\|terminat" "$TMP/run.err" || fail "the run never saw its sessions cut: $(tail -5 "$TMP/run.err")"
for pw in "$PW1" "$PW2"; do
	assert_not_contains "$(cat "$TMP/run.out" "$TMP/run.err")" "$pw" "no password in the run's output"
done

# a file with the wrong password: refused as a wrong password is
printf 'not-it\n' >"$TMP/src.pw"
sluice check "$PIPE"
((SL_RC != 0)) || fail "check passed with a wrong password in source.password_file"
assert_contains "$SL_OUT$SL_ERR" "password authentication failed for user \"$ROLE\"" "the wrong password is said"
printf '%s\n' "$PW2" >"$TMP/src.pw"

# MariaDB and ClickHouse
my_require
ch_require
MYDB=test_secret_files
my_fresh_db "$MYDB"
my_sql "$MYDB" -e "CREATE TABLE t (id int PRIMARY KEY)"
printf '%s\n' "$SL_MY_PASSWORD" >"$TMP/my.pw"
printf '%s\n' "$SL_CH_PASSWORD" >"$TMP/ch.pw"
pipeline_file "$TMP/mych.yaml" it_secret_my "mysql:$MYDB" "clickhouse:it_secret_ch"
sed -i -e "0,/password: /s|  password: .*|  password_file: $TMP/my.pw|" \
	-e "s|  password: .*|  password_file: $TMP/ch.pw|" "$TMP/mych.yaml"
[[ $(grep -c password_file "$TMP/mych.yaml") == 2 ]] || fail "the pipeline file was not rewritten"
sluice_ok check "$TMP/mych.yaml"
printf 'not-it\n' >"$TMP/my.pw"
sluice check "$TMP/mych.yaml"
((SL_RC != 0)) || fail "check passed with a wrong password in source.password_file (MariaDB)"
assert_contains "$SL_OUT$SL_ERR" "login refused for user 'sluice'" "MariaDB: the wrong password is said"
printf '%s\n' "$SL_MY_PASSWORD" >"$TMP/my.pw"
printf 'not-it\n' >"$TMP/ch.pw"
sluice check "$TMP/mych.yaml"
((SL_RC != 0)) || fail "check passed with a wrong password in target.password_file (ClickHouse)"
assert_contains "$SL_OUT$SL_ERR" "target.password" "ClickHouse: the wrong password is said"
pass
