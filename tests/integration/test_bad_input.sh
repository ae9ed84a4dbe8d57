#!/usr/bin/env bash
# Bad input: every case must fail with a non-zero status (2 for a bad command line or pipeline
# file), end stderr with exactly one line "sluice: error: ..." that names the problem (and the
# fix where there is one), and never print a password. Each case runs on its own, so one
# failing case does not hide the others; the test fails if any case failed.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

NAME=it_bad
SDB=it_bad_src
TDB=it_bad_dst
WALDB=it_bad_walsrc # a source database on test-dst (wal_level=replica)
SECRET=Sup3r-Secret-Pw
export SLUICE_TEST_SECRET=$SECRET
unset SLUICE_TEST_UNSET_VAR || true

fresh_db test-src "$SDB"
fresh_db test-dst "$TDB"
fresh_db test-dst "$WALDB"
src_sql "$SDB" <<'SQL'
SET ROLE sluice;
CREATE TABLE t (id integer PRIMARY KEY, v text);
INSERT INTO t SELECT i, 'row ' || i FROM generate_series(1, 100) i;
CREATE TABLE other (id integer PRIMARY KEY);
INSERT INTO other VALUES (1), (2);
SQL
dst_sql "$WALDB" <<'SQL'
SET ROLE sluice;
CREATE TABLE t (id integer PRIMARY KEY);
INSERT INTO t VALUES (1);
SQL

# A TCP port nothing listens on.
UNUSED_PORT=
for p in $(seq 55990 55999) $(seq 45990 45999); do
	if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
		UNUSED_PORT=$p
		break
	fi
done
[[ -n $UNUSED_PORT ]] || fail "no unused TCP port found"

# custom_pipeline PATH SOURCE_URL SOURCE_PASSWORD [TARGET_URL]
custom_pipeline() {
	cat >"$1" <<EOF
name: $NAME
source:
  type: postgres
  url: $2
  password: $3
target:
  type: postgres
  url: ${4:-postgres://sluice@127.0.0.1:$DST_PORT/$TDB}
  password: \${SL_PG_PASSWORD}
state: { url: sqlite://$TMP/$CASE.state.db }
EOF
}
cleanup_slot test-src "sluice_$NAME"
cleanup_slot test-dst "sluice_$NAME"
GOOD_SRC=postgres://sluice@127.0.0.1:$SRC_PORT/$SDB

# Neither the real test password nor the distinctive one may appear in any output.
no_secrets() {
	assert_not_contains "$SL_OUT$SL_ERR" "$SECRET" "$1: output contains the password $SECRET"
	assert_not_contains "$SL_OUT$SL_ERR" "$SL_PG_PASSWORD" "$1: output contains the test password"
}

# expect_error CASE RC NEEDLE...: the last sluice call failed as described; no secrets.
expect_error() {
	local c=$1
	shift
	assert_sluice_error "$@"
	no_secrets "$c"
	log "ok  $c: $SL_ERRLINE"
}

# check_fail_line NEEDLE...: `sluice check` output has a FAIL line containing every needle.
check_fail_line() {
	local line n
	while IFS= read -r line; do
		[[ $line == FAIL* ]] || continue
		for n in "$@"; do
			[[ $line == *"$n"* ]] || continue 2
		done
		return 0
	done <<<"$SL_OUT"
	sluice_dump
	fail "sluice check: no FAIL line containing: $*"
}

# ------------------------------------------------------------------ cases ---

case_url_scheme() {
	custom_pipeline "$TMP/p.yaml" "mysql://sluice@127.0.0.1:$SRC_PORT/$SDB" '${SL_PG_PASSWORD}'
	sluice run --once "$TMP/p.yaml"
	expect_error "mysql:// url" nonzero "source.url"
	custom_pipeline "$TMP/p.yaml" "not a url" '${SL_PG_PASSWORD}'
	sluice run --once "$TMP/p.yaml"
	expect_error "'not a url'" nonzero "source.url"
}

case_connection_refused() {
	custom_pipeline "$TMP/p.yaml" "postgres://sluice@127.0.0.1:$UNUSED_PORT/$SDB" '${SL_PG_PASSWORD}'
	sluice run --once "$TMP/p.yaml"
	expect_error "connection refused" 1 "127.0.0.1:$UNUSED_PORT" "refused"
	sluice check "$TMP/p.yaml"
	expect_error "connection refused (check)" 1
	check_fail_line "source connection" "refused"
}

case_wrong_password() {
	custom_pipeline "$TMP/p.yaml" "$GOOD_SRC" "$SECRET"
	sluice run --once "$TMP/p.yaml"
	expect_error "wrong password" 1 "password" "source.password"
	sluice check "$TMP/p.yaml"
	expect_error "wrong password (check)" 1
	check_fail_line "source" "password"
	# The same password through ${VAR}, and inside the URL.
	custom_pipeline "$TMP/p.yaml" "$GOOD_SRC" '${SLUICE_TEST_SECRET}'
	sluice run --once "$TMP/p.yaml"
	expect_error "wrong password via \${VAR}" 1 "password"
	custom_pipeline "$TMP/p.yaml" "postgres://sluice:$SECRET@127.0.0.1:$SRC_PORT/$SDB" '""'
	sluice run --once "$TMP/p.yaml"
	expect_error "wrong password in the URL" 1 "password"
	sluice --log-level debug check "$TMP/p.yaml"
	no_secrets "wrong password in the URL (check, debug log)"
}

case_missing_database() {
	custom_pipeline "$TMP/p.yaml" "postgres://sluice@127.0.0.1:$SRC_PORT/it_bad_no_such_db" '${SL_PG_PASSWORD}'
	sluice run --once "$TMP/p.yaml"
	expect_error "missing database" 1 "it_bad_no_such_db" "does not exist"
}

case_wal_level_replica() {
	custom_pipeline "$TMP/p.yaml" "postgres://sluice@127.0.0.1:$DST_PORT/$WALDB" '${SL_PG_PASSWORD}'
	sluice check "$TMP/p.yaml"
	expect_error "wal_level=replica (check)" 1
	check_fail_line "wal_level" "ALTER SYSTEM SET wal_level = logical"
	sluice run --once "$TMP/p.yaml"
	expect_error "wal_level=replica (run)" 1 "wal_level"
	assert_eq 0 "$(dst_sql "$WALDB" "SELECT count(*) FROM pg_publication")" \
		"wal_level=replica: run must not create a publication it cannot use"
}

# The error contract is "what failed and the fix": run's error must carry the same fix as check.
case_wal_level_replica_run_fix() {
	custom_pipeline "$TMP/p.yaml" "postgres://sluice@127.0.0.1:$DST_PORT/$WALDB" '${SL_PG_PASSWORD}'
	sluice run --once "$TMP/p.yaml"
	expect_error "wal_level=replica (run names the fix)" 1 "wal_level" "ALTER SYSTEM SET wal_level = logical"
}

case_malformed_yaml() {
	cat >"$TMP/badindent.yaml" <<EOF
name: $NAME
source:
  type: postgres
  url: $GOOD_SRC
    password: \${SL_PG_PASSWORD}
target:
  type: postgres
EOF
	sluice run --once "$TMP/badindent.yaml"
	expect_error "malformed YAML" 2 "badindent.yaml:5"
}

case_unknown_key() {
	cat >"$TMP/unknown.yaml" <<EOF
name: $NAME
source:
  type: postgres
  url: $GOOD_SRC
  password: \${SL_PG_PASSWORD}
  tabels: { include: [public.*] }
target:
  type: postgres
  url: postgres://sluice@127.0.0.1:$DST_PORT/$TDB
  password: \${SL_PG_PASSWORD}
EOF
	sluice run --once "$TMP/unknown.yaml"
	expect_error "unknown key" 2 "tabels" "unknown.yaml:6"
	# a connector's own key in the wrong connector's section: refused for every command,
	# naming what this connector takes
	sed -i -e 's/  tabels: .*/  slot: s1/' "$TMP/unknown.yaml"
	printf '  database: analytics\n' >>"$TMP/unknown.yaml"
	for cmd in check status verify; do
		sluice "$cmd" "$TMP/unknown.yaml"
		expect_error "a key of another connector ($cmd)" 2 "unknown key 'database' in target" \
			"unknown.yaml:11" "the postgres target takes:" "schema"
	done
}

case_unset_variable() {
	custom_pipeline "$TMP/p.yaml" "$GOOD_SRC" '${SLUICE_TEST_UNSET_VAR}'
	sluice run --once "$TMP/p.yaml"
	expect_error "unset variable" 2 "SLUICE_TEST_UNSET_VAR" "p.yaml:5"
}

case_no_replication_privilege() {
	src_sql "$SDB" <<'SQL'
GRANT CONNECT ON DATABASE it_bad_src TO sluice_noperm;
GRANT USAGE ON SCHEMA public TO sluice_noperm;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO sluice_noperm;
SET client_min_messages = warning;
DROP PUBLICATION IF EXISTS sluice_it_bad;
CREATE PUBLICATION sluice_it_bad FOR ALL TABLES WITH (publish_via_partition_root);
SQL
	custom_pipeline "$TMP/p.yaml" "postgres://sluice_noperm@127.0.0.1:$SRC_PORT/$SDB" '${SL_PG_PASSWORD}'
	sluice check "$TMP/p.yaml"
	expect_error "no REPLICATION (check)" 1
	check_fail_line "REPLICATION" 'ALTER ROLE "sluice_noperm" REPLICATION'
	sluice run --once "$TMP/p.yaml"
	expect_error "no REPLICATION (run)" 1 "REPLICATION" "ALTER ROLE"
	src_sql "$SDB" "DROP PUBLICATION sluice_it_bad"
}

case_command_line() {
	sluice frobnicate "$TMP/p.yaml"
	expect_error "unknown command" 2 "frobnicate"
	sluice run --once
	expect_error "missing pipeline path" 2 "pipeline file"
	sluice run --once "$TMP/does-not-exist.yaml"
	expect_error "nonexistent pipeline file" nonzero "$TMP/does-not-exist.yaml"
	sluice run --frobnicate "$TMP/p.yaml"
	expect_error "unknown option" 2 "--frobnicate"
	# the help is written from the table that dispatches the commands: every command the
	# README's command table documents is in it, and nothing says streaming is missing
	sluice --version
	((SL_RC == 0)) && [[ $SL_OUT =~ ^sluice\ [0-9]+\.[0-9]+ ]] || { sluice_dump; fail "--version: exit $SL_RC, '$SL_OUT'"; }
	ASSERTS=$((ASSERTS + 1))
	sluice --help
	((SL_RC == 0)) || { sluice_dump; fail "--help exited $SL_RC"; }
	local cmd n=0
	while read -r cmd; do
		assert_contains "$SL_OUT" "  $cmd " "sluice --help lists '$cmd' (a command the README documents)"
		n=$((n + 1))
	done < <(grep -o '^| `[a-z]*' "$SLUICE_ROOT/README.md" | sed 's/^| `//' | grep -xE 'check|discover|run|resync|verify|status|reset|version')
	((n == 8)) || fail "found $n of the 8 commands in the README's command table"
	assert_not_contains "$SL_OUT" "not implemented" "the help does not say a feature is missing"
	for cmd in check discover run resync verify status reset; do
		sluice "$cmd" --help
		[[ $SL_OUT == *"  $cmd "* ]] || fail "'sluice $cmd --help' does not print the help"
	done
}

case_target_has_rows() {
	dst_sql "$TDB" <<'SQL'
SET ROLE sluice;
CREATE TABLE t (id integer PRIMARY KEY, v text);
INSERT INTO t VALUES (1, 'not written by sluice'), (5000, 'mine too');
SQL
	local before after
	before=$(table_digest test-dst "$TDB" public t "id, v")
	pipeline_file "$TMP/p.yaml" "${NAME}_rows" "$SDB" "$TDB"
	sluice run --once "$TMP/p.yaml"
	expect_error "target table with rows" 1 "public.t"
	after=$(table_digest test-dst "$TDB" public t "id, v")
	assert_eq "$before" "$after" "pre-existing target rows must be untouched"
	assert_eq "2 rows" "$(dst_sql "$TDB" "SELECT count(*) || ' rows' FROM public.t")" "pre-existing rows"
	# A second attempt refuses again, rather than trusting its own half-written state.
	sluice run --once "$TMP/p.yaml"
	expect_error "target table with rows (again)" 1 "public.t"
	assert_eq "$before" "$(table_digest test-dst "$TDB" public t "id, v")" "pre-existing rows untouched after a second run"
	sluice_ok reset "$TMP/p.yaml"
}

# A target schema the user may not use, then one it may not create tables in. The tables are
# looked up, then created, together (one query, one transaction), which fails; done again one
# by one, the error names the table and the reason, and the tables the user can create are there.
case_target_schema_no_create() {
	src_sql "$SDB" <<'SQL'
CREATE SCHEMA walled AUTHORIZATION sluice;
SET ROLE sluice;
CREATE TABLE walled.w (id integer PRIMARY KEY);
INSERT INTO walled.w VALUES (1);
SQL
	# owned by the superuser: no CREATE for sluice (and no table left by an earlier case)
	dst_sql "$TDB" "DROP TABLE IF EXISTS public.t, public.other; CREATE SCHEMA walled"
	pipeline_file "$TMP/p.yaml" "${NAME}_walled" "$SDB" "$TDB"
	sluice run --once "$TMP/p.yaml"
	expect_error "target schema without USAGE" 1 "looking up table walled.w" "permission denied for schema walled" "grant the target user USAGE"
	dst_sql "$TDB" "GRANT USAGE ON SCHEMA walled TO sluice"
	sluice run --once "$TMP/p.yaml"
	expect_error "target schema without CREATE" 1 "creating table walled.w" "permission denied for schema walled" "USAGE and CREATE"
	assert_eq "t" "$(dst_sql "$TDB" "SELECT to_regclass('public.other') IS NOT NULL")" \
		"a table the user can create was created"
	sluice_ok reset "$TMP/p.yaml"
	src_sql "$SDB" "DROP SCHEMA walled CASCADE"
	dst_sql "$TDB" "DROP SCHEMA walled CASCADE; DROP TABLE IF EXISTS public.t, public.other"
}

# check, table by table: one the user cannot read fails with the GRANT to run; one without a key
# whose old rows are not logged is a warning with the ALTER; one with REPLICA IDENTITY FULL is ok
case_check_tables() {
	src_sql "$SDB" <<'SQL'
CREATE TABLE hidden (id integer PRIMARY KEY);
CREATE TABLE nokey (v text);
CREATE TABLE nokey_full (v text);
ALTER TABLE nokey_full REPLICA IDENTITY FULL;
GRANT SELECT ON nokey, nokey_full TO sluice;
SQL
	custom_pipeline "$TMP/p.yaml" "$GOOD_SRC" '${SL_PG_PASSWORD}'
	sluice check "$TMP/p.yaml"
	expect_error "a table the user cannot read (check)" 1
	check_fail_line "source table public.hidden" 'cannot read it (run: GRANT SELECT ON "public"."hidden" TO "sluice")'
	assert_contains "$SL_OUT" 'ok   source table public.nokey: warning: no primary key and REPLICA IDENTITY is not FULL' "keyless table: warning"
	assert_contains "$SL_OUT" 'ALTER TABLE "public"."nokey" REPLICA IDENTITY FULL' "keyless table: the fix"
	assert_contains "$SL_OUT" 'ok   source table public.nokey_full: no primary key; REPLICA IDENTITY FULL' "REPLICA IDENTITY FULL: ok"
	assert_contains "$SL_OUT" "ok   source tables: 5 table(s) selected" "every table counted"
	src_sql "$SDB" "DROP TABLE hidden, nokey, nokey_full"
}

for c in case_url_scheme case_connection_refused case_wrong_password case_missing_database \
	case_wal_level_replica case_wal_level_replica_run_fix case_malformed_yaml case_unknown_key case_unset_variable \
	case_no_replication_privilege case_command_line case_target_has_rows case_target_schema_no_create \
	case_check_tables; do
	run_case "$c"
done

cases_done
