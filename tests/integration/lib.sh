# shellcheck shell=bash
# Shared helpers for sluice integration tests. Source it first thing in a test:
#
#   source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
#
# It makes sure the two test servers run (test-src: wal_level=logical, test-dst:
# wal_level=replica, both fsync=off; started idempotently through scripts/pg.sh, exactly as
# scripts/test.sh starts them), exports their ports, gives the test a private temp directory
# ($TMP) and cleans up at exit: background sluice processes the test started, replication
# slots of the pipelines it declared, the databases it created, and $TMP.
#
# MariaDB: the my_* helpers below use test-mysql (scripts/mysql.sh, binlog on, fsync off),
# started on first use; a MariaDB test calls my_require first thing.
#
# Environment:
#   SLUICE_ROOT  project root (default: this file's ../..)
#   SLUICE_BIN   sluice binary (default: $SLUICE_ROOT/build/sluice)
#   SLUICE_TEST_KEEP=1  keep databases, slots and $TMP after the test (for debugging)
set -euo pipefail
shopt -s inherit_errexit

TEST_NAME=$(basename -- "${BASH_SOURCE[1]:-$0}" .sh)
SLUICE_ROOT=${SLUICE_ROOT:-$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd -P)}
SLUICE_BIN=${SLUICE_BIN:-$SLUICE_ROOT/build/sluice}
PG_SH=$SLUICE_ROOT/scripts/pg.sh
export SLUICE_ROOT SLUICE_BIN

# Never let the caller's libpq environment point psql somewhere else.
unset PGHOST PGHOSTADDR PGPORT PGDATABASE PGUSER PGPASSFILE PGSERVICE PGOPTIONS || true

log() { printf '[%s +%ss] %s\n' "$TEST_NAME" "$SECONDS" "$*" >&2; }

# fail MESSAGE: end the test. The stderr of the sluice last started in the background (if
# any) is shown first, so a failure in CI carries what sluice was doing.
SL_ERR_FILE=
fail() {
	if [[ -n $SL_ERR_FILE && -s $SL_ERR_FILE ]]; then
		printf '[%s] last lines of sluice stderr (%s):\n' "$TEST_NAME" "${SL_ERR_FILE##*/}" >&2
		tail -n 25 -- "$SL_ERR_FILE" | sed 's/^/    /' >&2
	fi
	printf '[%s] FAIL: %s\n' "$TEST_NAME" "$*" >&2
	exit 1
}

[[ -x $SLUICE_BIN ]] || fail "sluice binary $SLUICE_BIN not found (build: cmake -S . -B build && cmake --build build -j2)"
[[ -f $PG_SH ]] || fail "$PG_SH not found (SLUICE_ROOT=$SLUICE_ROOT)"

# ------------------------------------------------------------------ servers ---

# no_inherited_fds CMD...: run CMD with every descriptor above 2 closed. Servers are started
# through it: a server started by a test run under `flock FILE` would otherwise inherit the
# lock's descriptor and hold the lock for as long as it runs.
no_inherited_fds() {
	(
		local self=$BASHPID f fd
		for f in /proc/"$self"/fd/*; do
			fd=${f##*/}
			((fd <= 2)) || eval "exec $fd>&-"
		done
		exec "$@"
	)
}

ensure_instance() { # NAME WAL_LEVEL
	local out
	if ! out=$(no_inherited_fds bash "$PG_SH" start "$1" --wal-level "$2" --fsync off 2>&1); then
		printf '%s\n' "$out" >&2
		fail "could not start PostgreSQL instance $1"
	fi
}
ensure_instance test-src logical
ensure_instance test-dst replica

instance_env() { # NAME VAR-PREFIX: sets ${PREFIX}_PORT, ${PREFIX}_SOCK
	local lines
	lines=$(bash "$PG_SH" env "$1") || fail "scripts/pg.sh env $1 failed"
	eval "$lines"
	printf -v "${2}_PORT" '%s' "$SL_PG_PORT"
	printf -v "${2}_SOCK" '%s' "$SL_PG_SOCK"
}
instance_env test-src SRC
instance_env test-dst DST
export SRC_PORT DST_PORT SRC_SOCK DST_SOCK
export SL_PG_HOST=127.0.0.1
export SL_PG_PASSWORD # from scripts/pg.sh env; pipeline files use ${SL_PG_PASSWORD}
export PGPASSWORD=$SL_PG_PASSWORD

port_of() { # INSTANCE
	case $1 in
		test-src) echo "$SRC_PORT" ;;
		test-dst) echo "$DST_PORT" ;;
		*)
			local lines
			lines=$(bash "$PG_SH" env "$1") || fail "port_of: no instance $1"
			eval "$lines"
			echo "$SL_PG_PORT"
			;;
	esac
}

# ------------------------------------------------------------------ cleanup ---

TMP=$(mktemp -d "${TMPDIR:-/tmp}/sluice-$TEST_NAME.XXXXXX")
export TMP
# Databases and slots to drop at exit are recorded in a file, so that registrations made in
# subshells (run_case) are seen too.
CLEANUP_LIST=$TMP/.cleanup
: >"$CLEANUP_LIST"
cleanup_slot() { echo "slot $1 $2" >>"$CLEANUP_LIST"; } # INSTANCE SLOT
cleanup_db() { echo "db $1 $2" >>"$CLEANUP_LIST"; }     # INSTANCE DB
cleanup_mydb() { echo "mydb $MY_INSTANCE $1" >>"$CLEANUP_LIST"; } # DB (on $MY_INSTANCE)
cleanup_pginstance() { echo "pgstop $1 -" >>"$CLEANUP_LIST"; }      # INSTANCE: stopped at exit
BG_PIDS=()

drop_slot() { # INSTANCE SLOT  (terminates a walsender still using it)
	bash "$PG_SH" psql "$1" -d postgres -XAtq -v slot="$2" >/dev/null 2>&1 <<'SQL' || true
SELECT set_config('sl.slot', :'slot', false) \g /dev/null
DO $$
DECLARE i int;
BEGIN
  FOR i IN 1..50 LOOP
    PERFORM pg_terminate_backend(active_pid) FROM pg_replication_slots
     WHERE slot_name = current_setting('sl.slot') AND active_pid IS NOT NULL;
    EXIT WHEN NOT EXISTS (SELECT FROM pg_replication_slots
                          WHERE slot_name = current_setting('sl.slot') AND active_pid IS NOT NULL);
    PERFORM pg_sleep(0.1);
  END LOOP;
  PERFORM pg_drop_replication_slot(slot_name) FROM pg_replication_slots
   WHERE slot_name = current_setting('sl.slot');
END
$$;
SQL
}

drop_db() { # INSTANCE DB  (also drops slots living in it)
	bash "$PG_SH" psql "$1" -d postgres -XAtq -v db="$2" >/dev/null 2>&1 <<'SQL' || true
SET client_min_messages = warning;
SELECT set_config('sl.db', :'db', false) \g /dev/null
DO $$
DECLARE i int;
BEGIN
  FOR i IN 1..50 LOOP
    PERFORM pg_terminate_backend(active_pid) FROM pg_replication_slots
     WHERE database = current_setting('sl.db') AND active_pid IS NOT NULL;
    EXIT WHEN NOT EXISTS (SELECT FROM pg_replication_slots
                          WHERE database = current_setting('sl.db') AND active_pid IS NOT NULL);
    PERFORM pg_sleep(0.1);
  END LOOP;
  PERFORM pg_drop_replication_slot(slot_name) FROM pg_replication_slots
   WHERE database = current_setting('sl.db');
END
$$;
DROP DATABASE IF EXISTS :"db" WITH (FORCE);
SQL
}

drop_mydb() { # INSTANCE DB  (MariaDB; kills the sessions using DB first)
	local lit id ids i
	lit=$(my_lit "$2")
	id=$(my_ident "$2")
	ids=$(bash "$MY_SH" sql "$1" -N -B -e "SELECT id FROM information_schema.processlist
	        WHERE db = $lit AND id <> CONNECTION_ID()" 2>/dev/null) || return 0
	for i in $ids; do
		bash "$MY_SH" sql "$1" -e "KILL CONNECTION $i" >/dev/null 2>&1
	done
	bash "$MY_SH" sql "$1" -e "SET SESSION lock_wait_timeout = 30; DROP DATABASE IF EXISTS $id" \
		>/dev/null 2>&1 || true
}

cleanup() {
	local rc=$? pid
	set +e
	for pid in "${BG_PIDS[@]}"; do
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	if [[ ${SLUICE_TEST_KEEP:-} == 1 ]]; then
		log "SLUICE_TEST_KEEP=1: keeping $TMP, databases and slots"
		return
	fi
	local kind inst name
	if [[ -f $CLEANUP_LIST ]]; then
		# slots first (a slot's database may be on the other server), then databases
		while read -r kind inst name; do
			[[ $kind == slot ]] && drop_slot "$inst" "$name"
		done < <(sort -u "$CLEANUP_LIST")
		while read -r kind inst name; do
			[[ $kind == db ]] && drop_db "$inst" "$name"
		done < <(sort -u "$CLEANUP_LIST")
		while read -r kind inst name; do
			[[ $kind == mydb ]] && drop_mydb "$inst" "$name"
		done < <(sort -u "$CLEANUP_LIST")
		while read -r kind inst name; do
			[[ $kind == pgstop ]] && bash "$PG_SH" stop "$inst" >/dev/null 2>&1
		done < <(sort -u "$CLEANUP_LIST")
		while read -r kind inst name; do
			[[ $kind == mystop ]] && bash "$MY_SH" stop "$inst" >/dev/null 2>&1
		done < <(sort -u "$CLEANUP_LIST")
		while read -r kind inst name; do
			[[ $kind == chdb ]] && drop_chdb "$inst" "$name"
		done < <(sort -u "$CLEANUP_LIST")
		while read -r kind inst name; do
			[[ $kind == chstop ]] && bash "$CH_SH" stop "$inst" >/dev/null 2>&1
		done < <(sort -u "$CLEANUP_LIST")
	fi
	# SLUICE_KEEP_TMP=1 keeps the files of the run (logs, state, pipeline) for a look after
	[[ -n ${SLUICE_KEEP_TMP:-} ]] || rm -rf -- "$TMP"
	((rc == 0)) || log "exit status $rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --------------------------------------------------------------------- SQL ---

# fresh_db INSTANCE DB: drop (if present) and create DB owned by sluice; dropped at exit.
fresh_db() {
	local out
	if ! out=$(bash "$PG_SH" createdb "$1" "$2" 2>&1); then
		printf '%s\n' "$out" >&2
		fail "could not create database $2 on $1"
	fi
	cleanup_db "$1" "$2"
}

# inst_sql INSTANCE DB [SQL]: run SQL as superuser (psql -XAtq, stop on error). Without SQL
# the statements are read from stdin (use that for several statements or psql variables).
inst_sql() {
	local inst=$1 db=$2
	shift 2
	if (($# > 0)); then
		bash "$PG_SH" psql "$inst" -d "$db" -XAtq -c "$1"
	else
		bash "$PG_SH" psql "$inst" -d "$db" -XAtq
	fi
}
src_sql() { inst_sql test-src "$@"; }
dst_sql() { inst_sql test-dst "$@"; }

# make_test_certs DIR: throwaway certificates, valid two days, made with openssl: a CA
# (ca.pem, ca.key) and another one (other.pem); a server key (server.key) with certificates
# signed by the CA for localhost and 127.0.0.1 (server.pem) and for elsewhere.example only
# (wrongname.pem), and one that expired the second it was made (expired.pem); a client
# certificate for user sluice (client.pem, client.key: mode 600, as libpq wants). DIR and the files stay readable to the servers' OS users.
make_test_certs() {
	local dir=$1
	mkdir -p "$dir"
	chmod 711 "$TMP"
	chmod 755 "$dir"
	(
		cd "$dir" || exit 1
		openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=sluice test CA" -keyout ca.key -out ca.pem
		openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=another CA" -keyout other.key -out other.pem
		openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout server.key -out server.csr
		printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >ok.ext
		printf 'subjectAltName=DNS:elsewhere.example\n' >bad.ext
		openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile ok.ext -out server.pem
		openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile bad.ext -out wrongname.pem
		openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 0 -extfile ok.ext -out expired.pem
		openssl req -newkey rsa:2048 -nodes -subj "/CN=sluice" -keyout client.key -out client.csr
		openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -out client.pem
		chmod 644 ./*
		chmod 600 client.key
	) >"$TMP/openssl.log" 2>&1 || {
		cat "$TMP/openssl.log" >&2
		fail "openssl could not make the certificates"
	}
}

# sql_lit TEXT: TEXT as an SQL string literal.
sql_lit() { printf "'%s'" "${1//\'/\'\'}"; }

# ------------------------------------------------------------------ MariaDB ---

# test-mysql is started (idempotently, as scripts/test.sh starts it) by my_require, which
# MariaDB tests call first thing: it sets MY_PORT / MY_SOCK in the test's shell, so that
# subshells ($(my_port), run_case) inherit them instead of checking the server again.
# sluice gets the password the way it gets SL_PG_PASSWORD: a pipeline file says
#   source: { type: mysql, url: $(my_url), password: ${SL_MY_PASSWORD} }
# The accounts (see scripts/mysql.sh): sluice (replication + FTWRL/LOCK TABLES), sluice_nolock
# (no RELOAD / LOCK TABLES), sluice_norepl (SELECT only); all have the same password.
# A test that needs a server of its own (one it may RESET MASTER) sets MY_INSTANCE before
# my_require: the my_* helpers then use that instance, which is stopped at exit.
MY_SH=$SLUICE_ROOT/scripts/mysql.sh
MY_INSTANCE=test-mysql
MY_START_OPTS=() # more scripts/mysql.sh start options for $MY_INSTANCE (a test sets both before my_require)
MY_PORT=
MY_SOCK=
my_require() {
	[[ -z $MY_PORT ]] || return 0
	[[ -f $MY_SH ]] || fail "$MY_SH not found (SLUICE_ROOT=$SLUICE_ROOT)"
	local out lines
	[[ $MY_INSTANCE == test-mysql ]] || echo "mystop $MY_INSTANCE -" >>"$CLEANUP_LIST"
	if ! out=$(no_inherited_fds bash "$MY_SH" start "$MY_INSTANCE" --fsync off "${MY_START_OPTS[@]}" 2>&1); then
		printf '%s\n' "$out" >&2
		fail "could not start MariaDB instance $MY_INSTANCE"
	fi
	lines=$(bash "$MY_SH" env "$MY_INSTANCE") || fail "scripts/mysql.sh env $MY_INSTANCE failed"
	# Evaluated in subshells only: the mariadb client reads MYSQL_HOST, which must not leak
	# into the test's environment.
	MY_PORT=$(eval "$lines" && printf '%s' "$MYSQL_PORT")
	MY_SOCK=$(eval "$lines" && printf '%s' "$MYSQL_SOCK")
	SL_MY_PASSWORD=$(eval "$lines" && printf '%s' "$MYSQL_PASSWORD")
	[[ -n $MY_PORT && -n $SL_MY_PASSWORD ]] || fail "scripts/mysql.sh env $MY_INSTANCE printed no port/password"
	export MY_PORT MY_SOCK SL_MY_PASSWORD # pipeline files use ${SL_MY_PASSWORD}
}

# my_port: TCP port of test-mysql (on 127.0.0.1).
my_port() {
	my_require
	echo "$MY_PORT"
}

# my_url [USER]: connection URL of test-mysql for USER (default sluice), without password.
my_url() {
	my_require
	printf 'mysql://%s@127.0.0.1:%s/\n' "${1:-sluice}" "$MY_PORT"
}

# my_sql [mariadb client args...]: run SQL on test-mysql as root over the socket, in batch
# mode without column names (-N -B); stops at the first error. E.g.
#   my_sql test_x -e 'SELECT count(*) FROM t'      my_sql test_x <<<"INSERT ...; UPDATE ..."
my_sql() {
	my_require
	bash "$MY_SH" sql "$MY_INSTANCE" -N -B "$@"
}

# my_fresh_db DB: drop (if present) and create DB on test-mysql (utf8mb4); dropped at exit.
# The sluice accounts have ALL on sluice_%, test_% and sbtest only: name databases so.
my_fresh_db() {
	my_require
	local out
	if ! out=$(bash "$MY_SH" createdb "$MY_INSTANCE" "$1" 2>&1); then
		printf '%s\n' "$out" >&2
		fail "could not create database $1 on $MY_INSTANCE"
	fi
	cleanup_mydb "$1"
}

# assert_my_pg_rows WHAT MYDB MYTABLE PGDB PGTABLE COLUMNS: MYTABLE on test-mysql and PGTABLE on
# test-dst hold the same rows: each server prints every row's COLUMNS (a comma-separated list of
# plain column names) as text joined by '|', NULL as '~'; the lines are sorted here (byte order,
# whatever the servers' collations) and compared as count and md5.
assert_my_pg_rows() {
	local what=$1 mydb=$2 mytab=$3 pgdb=$4 pgtab=$5 c my=() pg=() list m p
	IFS=, read -ra list <<<"$6"
	for c in "${list[@]}"; do
		my+=("IFNULL(CAST($c AS char), '~')")
		pg+=("coalesce($c::text, '~')")
	done
	m=$(my_sql "$mydb" -e "SELECT CONCAT_WS('|', $(IFS=,; echo "${my[*]}")) FROM $mytab" | LC_ALL=C sort)
	p=$(dst_sql "$pgdb" "COPY (SELECT concat_ws('|', $(IFS=,; echo "${pg[*]}")) FROM $pgtab) TO STDOUT" | LC_ALL=C sort)
	assert_eq "$(wc -l <<<"$m") $(md5sum <<<"$m")" "$(wc -l <<<"$p") $(md5sum <<<"$p")" \
		"$what: the target's rows differ from the source's"
}

# my_lit TEXT / my_ident NAME: TEXT as a MariaDB string literal, NAME as a quoted identifier.
my_lit() {
	local s=${1//\\/\\\\}
	printf "'%s'" "${s//\'/\'\'}"
}
# shellcheck disable=SC2016 # the backquotes are literal
my_ident() { printf '`%s`' "${1//\`/\`\`}"; }

# ---------------------------------------------------------------- pipelines ---

# pipeline_file PATH NAME SRCDB DSTDB [extra lines...]
#   SRCDB / DSTDB: "db" (source on test-src, target on test-dst) or "INSTANCE:db";
#   SRCDB "mysql:db": the MariaDB source test-mysql, database db (user sluice);
#   DSTDB "clickhouse:db": the ClickHouse target test-clickhouse, database db (user sluice).
#   Extra lines "source.KEY: VALUE" / "target.KEY: VALUE" go into that section; any other
#   extra line is appended at top level. Without a "snapshot:" line, parallelism is 2. The
#   state store is $TMP/NAME.state.db. A PostgreSQL source's slot (sluice_<name>) is dropped
#   at exit.
pipeline_file() {
	local path=$1 name=$2 srcdb=$3 dstdb=$4
	shift 4
	local sinst=test-src sdb=$srcdb tinst=test-dst tdb=$dstdb
	[[ $srcdb == *:* ]] && { sinst=${srcdb%%:*}; sdb=${srcdb#*:}; }
	[[ $dstdb == *:* ]] && { tinst=${dstdb%%:*}; tdb=${dstdb#*:}; }
	local src_extra=() tgt_extra=() top_extra=() line has_snapshot=0
	for line in "$@"; do
		case $line in
			source.*) src_extra+=("  ${line#source.}") ;;
			target.*) tgt_extra+=("  ${line#target.}") ;;
			*)
				[[ $line == snapshot:* ]] && has_snapshot=1
				top_extra+=("$line")
				;;
		esac
	done
	{
		echo "name: $name"
		echo "source:"
		if [[ $sinst == mysql ]]; then
			echo "  type: mysql"
			echo "  url: $(my_url sluice)$sdb"
			echo "  password: \${SL_MY_PASSWORD}"
		else
			echo "  type: postgres"
			echo "  url: postgres://sluice@127.0.0.1:$(port_of "$sinst")/$sdb"
			echo "  password: \${SL_PG_PASSWORD}"
		fi
		((${#src_extra[@]} == 0)) || printf '%s\n' "${src_extra[@]}"
		echo "target:"
		if [[ $tinst == snowflake || $tinst == databricks ]]; then
			: # the target.* lines say it all (sf_target_lines, db_target_lines)
		elif [[ $tinst == clickhouse ]]; then
			ch_require
			echo "  type: clickhouse"
			echo "  url: http://sluice@127.0.0.1:$CH_HTTP_PORT"
			echo "  password: \${SL_CH_PASSWORD}"
			echo "  database: $tdb"
		else
			echo "  type: postgres"
			echo "  url: postgres://sluice@127.0.0.1:$(port_of "$tinst")/$tdb"
			echo "  password: \${SL_PG_PASSWORD}"
		fi
		((${#tgt_extra[@]} == 0)) || printf '%s\n' "${tgt_extra[@]}"
		((has_snapshot)) || echo "snapshot: { parallelism: 2 }"
		echo "state: { url: sqlite://$TMP/$name.state.db }"
		((${#top_extra[@]} == 0)) || printf '%s\n' "${top_extra[@]}"
	} >"$path"
	[[ $sinst == mysql ]] || cleanup_slot "$sinst" "sluice_${name,,}"
}

# -------------------------------------------------------------- running sluice ---

# sluice ARGS...: run the binary; sets SL_RC, SL_OUT, SL_ERR (never exits on failure). A call
# that takes longer than $SLUICE_CMD_TIMEOUT seconds (default 300) is killed (SL_RC 124), so a
# hang (e.g. a lock wait) fails the test instead of running into CTest's timeout.
sluice() {
	SL_RC=0
	timeout -k 10 "${SLUICE_CMD_TIMEOUT:-300}" "$SLUICE_BIN" "$@" >"$TMP/.out" 2>"$TMP/.err" || SL_RC=$?
	SL_OUT=$(<"$TMP/.out")
	SL_ERR=$(<"$TMP/.err")
	((SL_RC != 124)) || printf '[%s] sluice %s: timed out after %ss\n' "$TEST_NAME" "$*" "${SLUICE_CMD_TIMEOUT:-300}" >&2
}

# Print the last sluice invocation's output (for failure messages).
sluice_dump() {
	printf -- '--- sluice exit %s; stdout:\n%s\n' "$SL_RC" "$SL_OUT" >&2
	if [[ $SL_ERR == *"ERROR: AddressSanitizer"* || $SL_ERR == *"runtime error"* ]]; then
		# a sanitizer report: its head (what, where, the stack) is what matters
		printf -- '--- stderr (sanitizer report, first 60 lines):\n' >&2
		printf '%s\n' "$SL_ERR" | grep -A60 -m1 "ERROR: AddressSanitizer\|runtime error" >&2
	fi
	printf -- '--- stderr (last 30 lines):\n' >&2
	printf '%s\n' "$SL_ERR" | tail -n 30 >&2
	printf -- '---\n' >&2
}

# sluice_ok ARGS...: run sluice and fail the test unless it exits 0.
sluice_ok() {
	sluice "$@"
	if ((SL_RC != 0)); then
		sluice_dump
		fail "sluice $* exited $SL_RC, expected 0"
	fi
}

# sluice_bg OUTFILE ERRFILE ARGS...: start sluice in the background; sets SL_PID.
sluice_bg() {
	local out=$1 err=$2
	shift 2
	"$SLUICE_BIN" "$@" >"$out" 2>"$err" &
	SL_PID=$!
	SL_ERR_FILE=$err
	BG_PIDS+=("$SL_PID")
}

# ------------------------------------------------------------------- waiting ---

# wait_until SECONDS CMD...: run CMD every 0.1 s until it succeeds (returns 0), for at most
# SECONDS (then returns 1; the caller fails with its own message). CMD runs as an if-condition
# would: a failing command inside it does not end the test.
wait_until() {
	local tries=$(($1 * 10)) i
	shift
	for ((i = 0; i < tries; i++)); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}

# wait_sql INSTANCE DB SQL EXPECTED WHAT [SECONDS]: until SQL on INSTANCE's DB prints EXPECTED
# (an error counts as not yet); fails after SECONDS (default 30) naming WHAT and the last answer.
# sql_prints INSTANCE DB SQL EXPECTED: SQL prints EXPECTED; its answer is left in WAIT_GOT.
WAIT_GOT=
sql_prints() {
	WAIT_GOT=$(inst_sql "$1" "$2" "$3" 2>/dev/null) || WAIT_GOT=
	[[ $WAIT_GOT == "$4" ]]
}
wait_sql() {
	local secs=${6:-30}
	wait_until "$secs" sql_prints "$1" "$2" "$3" "$4" ||
		fail "timed out after $secs s waiting for: $5 (expected '$4', $1/$2 says '$WAIT_GOT')"
}

# count_lines FILE NEEDLE [FROM_LINE]: lines of FILE (after line FROM_LINE) containing NEEDLE.
count_lines() {
	awk -v n="$2" -v from="${3:-0}" 'NR > from && index($0, n) { c++ } END { print c + 0 }' "$1"
}
# has_lines FILE NEEDLE COUNT: FILE has at least COUNT lines containing NEEDLE.
has_lines() { (($(count_lines "$1" "$2") >= $3)); }
# wait_lines FILE NEEDLE COUNT SECONDS WHAT: until FILE has COUNT lines with NEEDLE; fails after
# SECONDS naming WHAT, with FILE's last 20 lines.
wait_lines() {
	wait_until "$4" has_lines "$1" "$2" "$3" && return 0
	tail -20 "$1" >&2
	fail "timed out after $4 s waiting for $3 lines with '$2' in $(basename "$1"): $5"
}

# dump_ids PID: processlist ids of test-mysql's binlog dump threads whose client is a TCP
# connection of process PID (matched by the client's port, seen by ss and by the server).
dump_ids() {
	local ports
	ports=$(ss -tnpH state established "( dport = :$MY_PORT )" |
		awk -v pid="pid=$1," 'index($0, pid) { n = split($3, a, ":"); print a[n] }')
	[[ -n $ports ]] || return 0
	my_sql -e "SELECT id, host FROM information_schema.processlist WHERE command LIKE 'Binlog Dump%'" |
		awk -v ports="$ports" 'BEGIN { n = split(ports, p, "\n"); for (i = 1; i <= n; i++) want[p[i]] = 1 }
			{ m = split($2, h, ":"); if (h[m] in want) print $1 }' | sort -n
}
# has_dump PID: PID has a binlog dump thread on test-mysql; its id(s) are left in WAIT_GOT.
has_dump() {
	WAIT_GOT=$(dump_ids "$1")
	[[ -n $WAIT_GOT ]]
}
# wait_dump PID WHAT: until PID has a binlog dump thread on test-mysql (at most 20 s); prints
# its id(s).
wait_dump() {
	wait_until 20 has_dump "$1" || fail "no binlog dump thread on the server for $2"
	echo "$WAIT_GOT"
}

# ---------------------------------------------------------------- assertions ---

ASSERTS=0
assert_eq() { # EXPECTED ACTUAL MSG
	ASSERTS=$((ASSERTS + 1))
	if [[ $1 != "$2" ]]; then
		printf -- '--- expected:\n%s\n--- actual:\n%s\n---\n' "$1" "$2" >&2
		fail "$3"
	fi
}

assert_contains() { # HAYSTACK NEEDLE MSG
	ASSERTS=$((ASSERTS + 1))
	if [[ $1 != *"$2"* ]]; then
		printf -- '--- looked for: %s\n--- in:\n%s\n---\n' "$2" "$1" >&2
		fail "$3"
	fi
}

assert_not_contains() { # HAYSTACK NEEDLE MSG
	ASSERTS=$((ASSERTS + 1))
	if [[ $1 == *"$2"* ]]; then
		printf -- '--- must not contain: %s\n--- in:\n%s\n---\n' "$2" "$1" >&2
		fail "$3"
	fi
}

# assert_sluice_error EXPECTED_RC NEEDLE... : the last sluice call failed with EXPECTED_RC
# ("nonzero" for any non-zero status) and its stderr ends with exactly one
# "sluice: error: ..." line containing each NEEDLE (case-insensitive).
assert_sluice_error() {
	local want=$1 needle last lc
	shift
	ASSERTS=$((ASSERTS + 1))
	if [[ $want == nonzero ]]; then
		((SL_RC != 0)) || { sluice_dump; fail "expected a non-zero exit, got 0"; }
	else
		((SL_RC == want)) || { sluice_dump; fail "expected exit $want, got $SL_RC"; }
	fi
	last=$(printf '%s\n' "$SL_ERR" | tail -n 1)
	[[ $last == "sluice: error: "* ]] || { sluice_dump; fail "last stderr line does not start with 'sluice: error:'"; }
	[[ $(printf '%s\n' "$SL_ERR" | grep -c '^sluice: error:') == 1 ]] ||
		{ sluice_dump; fail "expected exactly one 'sluice: error:' line"; }
	[[ ${#last} -gt 20 ]] || { sluice_dump; fail "error line says nothing"; }
	[[ $last != *[[:cntrl:]]* ]] || { sluice_dump; fail "error line contains control characters (tab, CR, ...)"; }
	lc=${last,,}
	for needle in "$@"; do
		[[ $lc == *"${needle,,}"* ]] || { sluice_dump; fail "error line does not mention '$needle'"; }
	done
	SL_ERRLINE=$last
}

# check_fails PIPELINE NEEDLE: `sluice check` exits non-zero and says NEEDLE (on stdout, where
# check prints its FAIL lines, or stderr).
check_fails() { # PIPELINE NEEDLE: sluice check exits non-zero and says NEEDLE
	sluice check "$1"
	((SL_RC != 0)) || fail "sluice check $1 passed; expected a failure saying: $2"
	assert_contains "$SL_OUT$SL_ERR" "$2" "check says: $2"
}

# pass: last line of a successful test.
pass() {
	log "$ASSERTS assertions in ${SECONDS}s"
	echo "PASS $TEST_NAME"
}

# ------------------------------------------------------- independent cases ---

# run_case FUNC: run one case in a subshell (with errexit), so a failing case does not hide
# the others; $CASE is FUNC inside it. cases_done: fail the test if any case failed, else pass.
FAILED_CASES=()
CASE=none
run_case() {
	local rc=0
	set +e
	(
		set -e
		ASSERTS=0
		CASE=$1
		"$1"
		echo "$ASSERTS" >"$TMP/.asserts"
	)
	rc=$?
	set -e
	if ((rc == 0)); then
		ASSERTS=$((ASSERTS + $(<"$TMP/.asserts")))
	else
		FAILED_CASES+=("$1")
	fi
}
cases_done() {
	((${#FAILED_CASES[@]} == 0)) || fail "${#FAILED_CASES[@]} case(s) failed: ${FAILED_CASES[*]}"
	pass
}

# ------------------------------------------------------------ table checks ---

# table_columns INSTANCE DB SCHEMA TABLE [EXCLUDE_COLUMN]: "name type" per line, in order.
table_columns() {
	inst_sql "$1" "$2" "SELECT attname || ' ' || format_type(atttypid, atttypmod)
	  FROM pg_attribute
	 WHERE attrelid = (quote_ident($(sql_lit "$3")) || '.' || quote_ident($(sql_lit "$4")))::regclass
	   AND attnum > 0 AND NOT attisdropped AND attname <> $(sql_lit "${5:-}")
	 ORDER BY attnum"
}

# select_list INSTANCE DB SCHEMA TABLE [EXCLUDE_COLUMN]: quoted column list, in order.
select_list() {
	inst_sql "$1" "$2" "SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum)
	  FROM pg_attribute
	 WHERE attrelid = (quote_ident($(sql_lit "$3")) || '.' || quote_ident($(sql_lit "$4")))::regclass
	   AND attnum > 0 AND NOT attisdropped AND attname <> $(sql_lit "${5:-}")"
}

qident() { printf '"%s"' "${1//\"/\"\"}"; }

# table_digest INSTANCE DB SCHEMA TABLE COLLIST: "rows digest" of the rows' text forms.
# Up to 100k rows: md5 of the sorted rows (exact). Bigger tables: two sums of 64-bit row
# hashes with different seeds (order-independent, no sort, counts duplicates).
table_digest() {
	local from="(SELECT $5 FROM $(qident "$3").$(qident "$4")) r" n
	n=$(inst_sql "$1" "$2" "SELECT count(*) FROM $from")
	if ((n <= 100000)); then
		inst_sql "$1" "$2" "SELECT count(*) || ' md5 ' || coalesce(md5(string_agg(r::text, E'\n' ORDER BY r::text COLLATE \"C\")), '-') FROM $from"
	else
		inst_sql "$1" "$2" "SELECT count(*) || ' hashsum ' || sum(hashtextextended(r::text, 0)::numeric) || ' ' || sum(hashtextextended(r::text, 7)::numeric) FROM $from"
	fi
}

# primary_key INSTANCE DB SCHEMA TABLE: the PK's columns, in key order, comma separated.
primary_key() {
	inst_sql "$1" "$2" "SELECT coalesce(string_agg(a.attname, ',' ORDER BY k.ord), '')
	  FROM pg_constraint c
	  CROSS JOIN LATERAL unnest(c.conkey) WITH ORDINALITY k(attnum, ord)
	  JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum
	 WHERE c.contype = 'p'
	   AND c.conrelid = (quote_ident($(sql_lit "$3")) || '.' || quote_ident($(sql_lit "$4")))::regclass"
}

# compare_table SRC_INST SRC_DB DST_INST DST_DB SCHEMA TABLE [DST_SCHEMA] [SKIP_COLUMN]:
# column names + types, primary key and an SQL digest of the content must be equal. On a
# digest mismatch, every column is compared on its own and the differing ones are named.
compare_table() {
	local si=$1 sd=$2 ti=$3 td=$4 s=$5 t=$6 ts=${7:-$5} skip=${8:-}
	local what="$s.$t -> $ts.$t"
	local scols tcols cols sdig tdig
	scols=$(table_columns "$si" "$sd" "$s" "$t" "$skip")
	tcols=$(table_columns "$ti" "$td" "$ts" "$t")
	assert_eq "$scols" "$tcols" "$what: target columns/types differ from the source's"
	assert_eq "$(primary_key "$si" "$sd" "$s" "$t")" "$(primary_key "$ti" "$td" "$ts" "$t")" \
		"$what: primary key differs"
	cols=$(select_list "$si" "$sd" "$s" "$t" "$skip")
	sdig=$(table_digest "$si" "$sd" "$s" "$t" "$cols")
	tdig=$(table_digest "$ti" "$td" "$ts" "$t" "$cols")
	if [[ $sdig != "$tdig" ]]; then
		local col one_s one_t bad=()
		while IFS= read -r col; do
			[[ -n $col ]] || continue
			one_s=$(table_digest "$si" "$sd" "$s" "$t" "$(qident "$col")")
			one_t=$(table_digest "$ti" "$td" "$ts" "$t" "$(qident "$col")")
			[[ $one_s == "$one_t" ]] || bad+=("$col")
		done < <(inst_sql "$si" "$sd" "SELECT attname FROM pg_attribute
		          WHERE attrelid = (quote_ident($(sql_lit "$s")) || '.' || quote_ident($(sql_lit "$t")))::regclass
		            AND attnum > 0 AND NOT attisdropped AND attname <> $(sql_lit "$skip") ORDER BY attnum")
		printf '%s: columns whose values differ: %s\n' "$what" "${bad[*]:-(none by name)}" >&2
	fi
	assert_eq "$sdig" "$tdig" "$what: content digest (row count + digest of the rows' text) differs"
}

# --------------------------------------------------------------- ClickHouse ---

# test-clickhouse (scripts/clickhouse.sh: Debian's ClickHouse 18.16) is started, idempotently
# and as scripts/test.sh starts it, by ch_require, which ClickHouse tests call first thing: it
# sets CH_HTTP_PORT / CH_TCP_PORT in the test's shell (subshells inherit them) and exports
# SL_CH_PASSWORD, the password of the `sluice` account (every privilege, loopback only), so a
# pipeline file says
#   target: { type: clickhouse, url: $(ch_url), user: sluice, password: ${SL_CH_PASSWORD} }
# The admin account (`default`, random password) is used through scripts/clickhouse.sh only.
CH_SH=$SLUICE_ROOT/scripts/clickhouse.sh
CH_HTTP_PORT=
CH_TCP_PORT=
ch_require() {
	[[ -z $CH_HTTP_PORT ]] || return 0
	[[ -f $CH_SH ]] || fail "$CH_SH not found (SLUICE_ROOT=$SLUICE_ROOT)"
	local out lines
	if ! out=$(no_inherited_fds bash "$CH_SH" start test-clickhouse 2>&1); then
		printf '%s\n' "$out" >&2
		fail "could not start ClickHouse instance test-clickhouse"
	fi
	lines=$(bash "$CH_SH" env test-clickhouse) || fail "scripts/clickhouse.sh env test-clickhouse failed"
	CH_HTTP_PORT=$(eval "$lines" && printf '%s' "$CH_HTTP_PORT")
	CH_TCP_PORT=$(eval "$lines" && printf '%s' "$CH_TCP_PORT")
	SL_CH_PASSWORD=$(eval "$lines" && printf '%s' "$CH_PASSWORD")
	[[ -n $CH_HTTP_PORT && -n $SL_CH_PASSWORD ]] ||
		fail "scripts/clickhouse.sh env test-clickhouse printed no port/password"
	export CH_HTTP_PORT CH_TCP_PORT SL_CH_PASSWORD # pipeline files use ${SL_CH_PASSWORD}
}

# ch_url: HTTP base URL of test-clickhouse (no trailing slash, no credentials).
ch_url() {
	ch_require
	printf 'http://127.0.0.1:%s\n' "$CH_HTTP_PORT"
}

# ch_sql [SQL] [clickhouse-client args...]: run SQL on test-clickhouse as the admin account
# (native protocol), TabSeparated output; fails on the first error. Without SQL (or when the
# first argument is an option) the statements, separated by ';', are read from stdin. E.g.
#   ch_sql 'SELECT count() FROM test_x.t'      ch_sql <<<"CREATE TABLE ...; INSERT ...;"
#   ch_sql 'SELECT * FROM t ORDER BY id' --database test_x
ch_sql() {
	ch_require
	if (($# > 0)) && [[ $1 != -* ]]; then
		local q=$1
		shift
		bash "$CH_SH" sql test-clickhouse --format=TabSeparated --query="$q" "$@"
	else
		bash "$CH_SH" sql test-clickhouse --format=TabSeparated --multiquery "$@"
	fi
}

# ch_fresh_db DB: drop (if present) and create DB on test-clickhouse; dropped at exit.
ch_fresh_db() {
	ch_require
	local out
	if ! out=$(bash "$CH_SH" createdb test-clickhouse "$1" 2>&1); then
		printf '%s\n' "$out" >&2
		fail "could not create database $1 on test-clickhouse"
	fi
	cleanup_chdb "$1"
}
cleanup_chdb() { echo "chdb test-clickhouse $1" >>"$CLEANUP_LIST"; } # DB (on test-clickhouse)
cleanup_chinstance() { echo "chstop $1 -" >>"$CLEANUP_LIST"; }          # INSTANCE: stopped at exit

drop_chdb() { # INSTANCE DB
	bash "$CH_SH" sql "$1" --query="DROP DATABASE IF EXISTS \`$2\`" >/dev/null 2>&1 || true
}

# -------------------------------------------------------------- crash loops ---

# A crash test restarts `sluice run` in a loop while a workload writes to the source, killing
# it with SIGKILL at a random moment each time. crash_cycle runs one such cycle and proves that
# the kill hit a live process that had been working, so that a loop whose restarts all died on
# their own (an error at startup, say) cannot pass:
#
#   crash_cycle PIPE PROBE
#
# starts `sluice run PIPE` in the background (stdout/stderr in $TMP/crash<N>.out/.err), waits
# a random CRASH_MIN_WAIT..CRASH_MAX_WAIT seconds (default 1.5..5.5) checking every 0.1 s that
# it is still alive, then sends SIGKILL and requires `wait` to report the SIGKILL (status 137).
# A process that exited on its own fails the test, naming its exit status and printing the
# tail of its stderr.
#
# PROBE is a command (a function of the test) printing one integer read from the servers, never
# from sluice, that grows when sluice makes progress: the target's row count of an insert-only
# table, say. It runs while no sluice runs (before the first cycle and after each kill); a cycle
# after which it is larger than after the previous one counts as progressing.
#
# Counters: CRASH_CYCLES, CRASH_KILLS (SIGKILLs that hit a live process), CRASH_PROGRESS
# (cycles with progress), CRASH_PROBE (the probe's last value).
# crash_check [MIN_KILLS] [MIN_PROGRESS]: fail unless there were at least MIN_KILLS (default 3)
# kills and MIN_PROGRESS (default 3) progressing cycles, or if any cycle's stderr holds a
# sanitizer report.
CRASH_CYCLES=0
CRASH_KILLS=0
CRASH_PROGRESS=0
CRASH_PROBE=
crash_cycle() {
	local pipe=$1 probe=$2 n=$CRASH_CYCLES rc=0 lo hi wait_ms deadline now val keep=() p
	[[ -n $CRASH_PROBE ]] || CRASH_PROBE=$("$probe")
	[[ $CRASH_PROBE =~ ^[0-9]+$ ]] || fail "crash probe $probe printed '$CRASH_PROBE', not an integer"
	lo=$(awk -v s="${CRASH_MIN_WAIT:-1.5}" 'BEGIN { printf "%d", s * 1000 }')
	hi=$(awk -v s="${CRASH_MAX_WAIT:-5.5}" 'BEGIN { printf "%d", s * 1000 }')
	wait_ms=$((lo + (RANDOM * 32768 + RANDOM) % (hi - lo + 1)))
	CRASH_CYCLES=$((n + 1))
	sluice_bg "$TMP/crash$n.out" "$TMP/crash$n.err" run "$pipe"
	now=${EPOCHREALTIME/[.,]/}
	deadline=$((now / 1000 + wait_ms))
	while :; do
		if ! kill -0 "$SL_PID" 2>/dev/null; then
			break # exited on its own: `wait` below reports how
		fi
		now=${EPOCHREALTIME/[.,]/}
		((now / 1000 < deadline)) || break
		sleep 0.1
	done
	# kill -9 only while alive; a process that exited just before is still waited for below and
	# reports its own status, not 137 (an exited child stays a zombie until waited for).
	! kill -0 "$SL_PID" 2>/dev/null || kill -KILL "$SL_PID" 2>/dev/null || :
	wait "$SL_PID" 2>/dev/null || rc=$? # (2>: no "Killed" job notice)
	for p in "${BG_PIDS[@]}"; do
		[[ $p == "$SL_PID" ]] || keep+=("$p")
	done
	BG_PIDS=("${keep[@]}")
	if ((rc != 137)); then
		SL_RC=$rc
		SL_OUT=$(<"$TMP/crash$n.out")
		SL_ERR=$(<"$TMP/crash$n.err")
		sluice_dump
		fail "crash cycle $CRASH_CYCLES: sluice run exited on its own with status $rc after less than ${wait_ms}ms (expected to be killed by SIGKILL: 137)"
	fi
	CRASH_KILLS=$((CRASH_KILLS + 1))
	val=$("$probe")
	[[ $val =~ ^[0-9]+$ ]] || fail "crash probe $probe printed '$val', not an integer"
	if ((val > CRASH_PROBE)); then
		CRASH_PROGRESS=$((CRASH_PROGRESS + 1))
	fi
	log "crash cycle $CRASH_CYCLES: killed after ${wait_ms}ms; $probe: $CRASH_PROBE -> $val; last log line: $(tail -n 1 "$TMP/crash$n.err")"
	CRASH_PROBE=$val
}

# crash_loop PIPE PROBE SECONDS WORKLOAD [MIN_KILLS] [MIN_PROGRESS]: the whole crash phase of a
# test. WORKLOAD is a function of the test that writes to the source for the number of seconds
# it is given; it runs in rounds of 5 s, over and over in the background, while crash cycles
# run for at least SECONDS and then until MIN_PROGRESS (default 3) cycles have shown progress,
# at most SECONDS + 40 s (a run whose kills keep landing in the snapshot needs more cycles).
# Then the workload's round ends, its failure fails the test, and crash_check runs.
crash_loop() {
	local pipe=$1 probe=$2 secs=$3 workload=$4 min_kills=${5:-3} min_progress=${6:-3}
	local start=$SECONDS stop=$TMP/.crash_stop wpid rc=0
	rm -f "$stop"
	(
		while [[ ! -e $stop ]]; do
			"$workload" 5 || exit
		done
	) >"$TMP/workload.log" 2>&1 &
	wpid=$!
	BG_PIDS+=("$wpid")
	while ((SECONDS - start < secs || (CRASH_PROGRESS < min_progress && SECONDS - start < secs + 40))); do
		kill -0 "$wpid" 2>/dev/null || break # failed: reported below
		crash_cycle "$pipe" "$probe"
	done
	touch "$stop"
	wait "$wpid" || rc=$?
	local keep=() p
	for p in "${BG_PIDS[@]}"; do
		[[ $p == "$wpid" ]] || keep+=("$p")
	done
	BG_PIDS=("${keep[@]}")
	((rc == 0)) || fail "the workload failed (status $rc): $(tail -n 5 "$TMP/workload.log")"
	log "crash phase: $((SECONDS - start))s"
	crash_check "$min_kills" "$min_progress"
}

crash_check() {
	local min_kills=${1:-3} min_progress=${2:-3} f
	for f in "$TMP"/crash*.err; do
		[[ -e $f ]] || continue
		if grep -q "ERROR: AddressSanitizer\|runtime error\|ERROR: LeakSanitizer" "$f"; then
			cat "$f" >&2
			fail "sanitizer report in $f"
		fi
	done
	ASSERTS=$((ASSERTS + 1))
	((CRASH_KILLS >= min_kills)) ||
		fail "only $CRASH_KILLS SIGKILLs of a running sluice (of $CRASH_CYCLES cycles), expected at least $min_kills"
	ASSERTS=$((ASSERTS + 1))
	((CRASH_PROGRESS >= min_progress)) ||
		fail "progress observed in only $CRASH_PROGRESS of $CRASH_KILLS crash cycles, expected at least $min_progress"
	log "$CRASH_KILLS SIGKILLs of a running sluice, $CRASH_PROGRESS cycles with progress"
}

# An insert-only keyless MariaDB table, for exactly-once checks: with no key, a change applied
# twice adds a row, which the digests below count.
#   my_keyless_table DB TABLE: create TABLE (n int, k int NULL, note varchar(40)) without a key,
#     holding 300 rows of which 100 are exact duplicates of others.
#   my_keyless_writer DB TABLE SECONDS: insert into TABLE for SECONDS (run it in the background):
#     transactions of three rows, two of them equal, each followed by an autocommitted copy of an
#     older row, so equal rows arrive in one transaction and in different ones.
#   my_keyless_digest DB TABLE / pg_keyless_digest INSTANCE DB SCHEMA.TABLE /
#   ch_keyless_digest DB.TABLE: "rows md5" computed by the server itself over every row
#     (duplicates included, ClickHouse: FINAL without deleted rows) in one canonical form,
#     "n,k,md5(note)" with k NULL as N, sorted bytewise.
my_keyless_table() {
	my_sql "$1" <<SQL
CREATE TABLE $(my_ident "$2") (n int NOT NULL, k int NULL, note varchar(40) NOT NULL);
INSERT INTO $(my_ident "$2") SELECT seq, IF(seq % 10 = 0, NULL, seq % 7), CONCAT('snap ', seq % 13, ' é')
  FROM seq_1_to_200;
INSERT INTO $(my_ident "$2") SELECT * FROM $(my_ident "$2") WHERE n <= 100;
SQL
}
my_keyless_writer() {
	local t
	t=$(my_ident "$2")
	my_sql "$1" <<SQL
SET @end = UNIX_TIMESTAMP(SYSDATE(6)) + $3;
DELIMITER //
BEGIN NOT ATOMIC
  DECLARE i INT DEFAULT 1;
  WHILE UNIX_TIMESTAMP(SYSDATE(6)) < @end DO
    START TRANSACTION;
    INSERT INTO $t VALUES (1000 + i, i % 7, CONCAT('row ', i % 5, ' é')),
                          (1000 + i, i % 7, CONCAT('row ', i % 5, ' é')),
                          (1000 + i, NULL, 'single');
    COMMIT;
    INSERT INTO $t VALUES (1000 + i DIV 3, (i DIV 3) % 7, CONCAT('row ', (i DIV 3) % 5, ' é'));
    SET i = i + 1;
    DO SLEEP(0.01);
  END WHILE;
END //
DELIMITER ;
SQL
}
my_keyless_digest() {
	local t
	t=$(my_ident "$2")
	my_sql "$1" <<SQL
SET SESSION group_concat_max_len = 1073741824;
SELECT CONCAT(count(*), ' ', ifnull(md5(group_concat(r ORDER BY CAST(r AS BINARY) SEPARATOR '\n')), '-'))
  FROM (SELECT concat_ws(',', n, ifnull(k, 'N'), md5(note)) AS r FROM $t) x;
SQL
}
pg_keyless_digest() {
	inst_sql "$1" "$2" "SELECT count(*) || ' ' || coalesce(md5(string_agg(r, E'\n' ORDER BY r COLLATE \"C\")), '-')
	  FROM (SELECT concat_ws(',', n, coalesce(k::text, 'N'), md5(note)) AS r FROM $3) x"
}
ch_keyless_digest() {
	ch_sql "SELECT concat(toString(count()), ' ', if(count() = 0, '-',
	          lower(hex(MD5(arrayStringConcat(arraySort(groupArray(r)), '\n'))))))
	  FROM (SELECT concat(toString(n), ',', ifNull(toString(k), 'N'), ',', lower(hex(MD5(note)))) AS r
	          FROM $1 FINAL WHERE _sluice_deleted = 0)"
}

# ---------------------------------------------- MariaDB -> PostgreSQL values ---

# A MariaDB -> PostgreSQL test declares its tables and columns, then checks the target against
# MariaDB's own SQL, column by column:
#   my_chk_table NAME: a table, same name on both sides (on the target in the schema named as
#     the source database), keyed by an integer column id.
#   my_chk_col NAME PG-TYPE [MY-EXPR [PG-EXPR [NORM]]]: the next column of the last table, in
#     order. PG-TYPE is the target's type (format_type). MY-EXPR renders the MariaDB value as
#     text with MariaDB's SQL (session time_zone +00:00), PG-EXPR renders the target value as
#     text ({} is the column); NORM, when given, is a PostgreSQL expression applied to MariaDB's
#     text ({} = that text) before hashing. "-" or nothing: CAST({} AS CHAR) / {}::text.
#   MY_CHK_PG_SET: statements (session settings) run before the target's renderings; default none.
# my_check_types SDB TDB WHAT NOTE: each table's columns on the target (name and format_type, in
#   order) are the declared ones, no more; NOTE ends the assertion's message.
# my_check_values SDB TDB WHAT: every column of every table, row by row (ordered by id): the md5
#   of MariaDB's rendering equals the md5 of the target's. MariaDB's renderings travel as hex
#   into a scratch table chk.<table> of the target database; PostgreSQL hashes both sides. A
#   differing column is named with its first differing ids and both renderings of the first;
#   all of them, then fail.
MY_CHK_TABLE=() MY_CHK_T=() MY_CHK_NAME=() MY_CHK_TYPE=() MY_CHK_MY=() MY_CHK_PG=() MY_CHK_NORM=()
MY_CHK_PG_SET=
my_chk_table() { MY_CHK_TABLE+=("$1"); }
my_chk_col() {
	local my=${3:--} pg=${4:--}
	[[ $my != - ]] || my='CAST({} AS CHAR)'
	[[ $pg != - ]] || pg='{}::text'
	MY_CHK_T+=($((${#MY_CHK_TABLE[@]} - 1)))
	MY_CHK_NAME+=("$1")
	MY_CHK_TYPE+=("$2")
	MY_CHK_MY+=("$my")
	MY_CHK_PG+=("$pg")
	MY_CHK_NORM+=("${5:-}")
}
# my_chk_my_expr / my_chk_pg_expr COLUMN-INDEX: the column's MY-EXPR / PG-EXPR, {} replaced.
my_chk_my_expr() {
	local q pat='{}'
	q=$(my_ident "${MY_CHK_NAME[$1]}")
	printf '%s' "${MY_CHK_MY[$1]//"$pat"/"$q"}"
}
my_chk_pg_expr() {
	local q pat='{}'
	q=$(qident "${MY_CHK_NAME[$1]}")
	printf '%s' "${MY_CHK_PG[$1]//"$pat"/"$q"}"
}

my_check_types() {
	local sdb=$1 tdb=$2 ti i want have
	for ti in "${!MY_CHK_TABLE[@]}"; do
		want=
		for i in "${!MY_CHK_NAME[@]}"; do
			((MY_CHK_T[i] == ti)) && want+="${MY_CHK_NAME[i]} ${MY_CHK_TYPE[i]}"$'\n'
		done
		have=$(table_columns test-dst "$tdb" "$sdb" "${MY_CHK_TABLE[ti]}")
		assert_eq "${want%$'\n'}" "$have" "$3: target columns and types of ${MY_CHK_TABLE[ti]} ($4)"
	done
}

my_check_values() {
	local sdb=$1 tdb=$2 what=$3 ti i n sel_my cols_src sel_src sel_dst a b bad=() f keys key tn v
	local pat='{}'
	for ti in "${!MY_CHK_TABLE[@]}"; do
		tn=${MY_CHK_TABLE[ti]}
		sel_my=id cols_src='id int' sel_src=id sel_dst=id n=0
		for i in "${!MY_CHK_NAME[@]}"; do
			((MY_CHK_T[i] == ti)) || continue
			n=$((n + 1))
			sel_my+=", HEX($(my_chk_my_expr "$i"))"
			cols_src+=", c$n text"
			v="convert_from(decode(c$n, 'hex'), 'UTF8')"
			[[ -z ${MY_CHK_NORM[i]} ]] || v=${MY_CHK_NORM[i]//"$pat"/"$v"}
			sel_src+=", coalesce(md5($v), 'NULL')"
			sel_dst+=", coalesce(md5($(my_chk_pg_expr "$i")), 'NULL')"
		done
		{
			echo "SET client_min_messages = warning; CREATE SCHEMA IF NOT EXISTS chk; DROP TABLE IF EXISTS chk.$tn; CREATE TABLE chk.$tn ($cols_src);"
			echo "COPY chk.$tn FROM STDIN WITH (NULL 'NULL');"
			my_sql "$sdb" -e "SET time_zone = '+00:00'; SELECT $sel_my FROM $(my_ident "$tn") ORDER BY id"
			echo '\.'
		} | dst_sql "$tdb"
		a=$(dst_sql "$tdb" <<<"$MY_CHK_PG_SET COPY (SELECT $sel_src FROM chk.$tn ORDER BY id) TO STDOUT")
		b=$(dst_sql "$tdb" <<<"$MY_CHK_PG_SET COPY (SELECT $sel_dst FROM $sdb.$tn ORDER BY id) TO STDOUT")
		ASSERTS=$((ASSERTS + 1))
		if [[ $(cut -f1 <<<"$a") != "$(cut -f1 <<<"$b")" ]]; then
			printf -- '--- %s: %s: keys differ (< MariaDB, > target):\n' "$what" "$tn" >&2
			diff <(cut -f1 <<<"$a") <(cut -f1 <<<"$b") >&2 || true
			bad+=("$tn:rows")
		fi
		f=1
		for i in "${!MY_CHK_NAME[@]}"; do
			((MY_CHK_T[i] == ti)) || continue
			f=$((f + 1))
			ASSERTS=$((ASSERTS + 1))
			[[ $(cut -f1,$f <<<"$a") != "$(cut -f1,$f <<<"$b")" ]] || continue
			bad+=("$tn.${MY_CHK_NAME[i]}")
			keys=$(diff <(cut -f1,$f <<<"$a") <(cut -f1,$f <<<"$b") | sed -n 's/^[<>] \([0-9]*\)\t.*/\1/p' |
				sort -nu | head -n 8 | tr '\n' ' ' || true)
			printf -- '--- %s: %s.%s differs for id(s): %s\n' "$what" "$tn" "${MY_CHK_NAME[i]}" "$keys" >&2
			key=${keys%% *}
			[[ -n $key ]] || continue
			printf '    MariaDB renders: %s\n' "$(my_sql "$sdb" -e "SET time_zone = '+00:00'; SELECT LEFT($(my_chk_my_expr "$i"), 200) FROM $(my_ident "$tn") WHERE id = $key")" >&2
			printf '    target renders:  %s\n' "$(dst_sql "$tdb" <<<"$MY_CHK_PG_SET SELECT left($(my_chk_pg_expr "$i"), 200) FROM $sdb.$tn WHERE id = $key")" >&2
		done
	done
	((${#bad[@]} == 0)) || fail "$what: target values differ from MariaDB's: ${bad[*]}"
}

# ------------------------------------------- PostgreSQL -> ClickHouse values ---

# A PostgreSQL -> ClickHouse test (test_ch_types.sh, test_cdc_text.sh) compares every column row
# by row: ClickHouse renders its stored value as text, PostgreSQL renders the source value the
# way ClickHouse should hold it, and the md5 of both must be equal.
#
# ch_renderers SDB: create the PostgreSQL renderers, functions in schema chk of the source
# database SDB (on test-src; sluice replicates tables only). The comparison sessions use the
# settings of sluice's source sessions, $CH_PG_SET (DateStyle ISO, IntervalStyle iso_8601,
# TimeZone UTC, extra_float_digits 3), so values the source reads as text (interval, timetz,
# composites, ranges) have those forms.
#   chk.d / chk.ts / chk.tstz / chk.time: the text fallbacks of Date32 and Timestamp/Time64(us)
#     (spec: DateTime64(6); 18.16 has neither, sluice stores the text). 'YYYY-MM-DD' and
#     'YYYY-MM-DD HH:MM:SS.ffffff' (always 6 digits: the fields are microseconds), the year
#     astronomical and at least 4 digits as ISO 8601 writes it (1 BC = 0000, 10 BC = -0009),
#     timestamptz in UTC, a time as the DateTime64 it maps to: 1970-01-01 plus the time (24:00:00
#     is 1970-01-02 00:00:00.000000); ±infinity as PostgreSQL writes it, 'infinity' and
#     '-infinity' (a String column can say it; no calendar date means infinity).
#   chk.q / chk.arr / chk.qarr: an Array as ClickHouse prints it ([1,NULL], ['a\'b']: strings
#     quoted with \b \f \n \r \t \\ \' escaped). A NULL array is [] (arrays cannot be Nullable).
#   chk.f4 / chk.f8: a float's bits as an unsigned integer (exact, NaN and -0 included); the
#     ClickHouse side reads them with reinterpretAsUInt32/64. Float text differs between the two
#     servers ('inf' / 'Infinity', digits), so the bits are what is compared.
#   chk.range: the JSON object the spec's range mapping makes (an infinite bound is null).
#   chk.d_arr / chk.tstz_arr / chk.f8_arr / chk.hex_arr: element-wise, order kept (bytea: upper
#     case hex).
CH_PG_SET="SET DateStyle = ISO; SET IntervalStyle = iso_8601; SET TimeZone = 'UTC'; SET extra_float_digits = 3;"
ch_renderers() {
	src_sql "$1" <<'SQL'
SET client_min_messages = warning;
CREATE SCHEMA chk;
-- STABLE (to_char is) and not STRICT: PostgreSQL inlines them (a NULL gives NULL all the same)
CREATE FUNCTION chk.year(y int) RETURNS text STABLE LANGUAGE sql AS $$
  SELECT CASE WHEN y < 0 THEN '-' ELSE '' END || lpad(abs(y)::text, greatest(4, length(abs(y)::text)), '0') $$;
CREATE FUNCTION chk.d(d date) RETURNS text STABLE LANGUAGE sql AS $$
  SELECT CASE WHEN isfinite(d) THEN
      chk.year(extract(year FROM d)::int + CASE WHEN extract(year FROM d) < 0 THEN 1 ELSE 0 END)
      || '-' || lpad(extract(month FROM d)::text, 2, '0') || '-' || lpad(extract(day FROM d)::text, 2, '0')
    ELSE d::text END $$;
CREATE FUNCTION chk.ts(t timestamp) RETURNS text STABLE LANGUAGE sql AS $$
  SELECT CASE WHEN isfinite(t) THEN chk.d(t::date) || to_char(t, ' HH24:MI:SS.US') ELSE t::text END $$;
CREATE FUNCTION chk.tstz(t timestamptz) RETURNS text STABLE LANGUAGE sql AS $$
  SELECT chk.ts(t AT TIME ZONE 'UTC') $$;
CREATE FUNCTION chk.time(t time) RETURNS text STABLE LANGUAGE sql AS $$
  SELECT chk.ts('1970-01-01'::timestamp + t) $$;
CREATE FUNCTION chk.q(s text) RETURNS text STABLE LANGUAGE sql AS $$
  SELECT '''' || replace(replace(replace(replace(replace(replace(replace(s,
    '\', '\\'), '''', '\'''), E'\b', '\b'), E'\f', '\f'), E'\n', '\n'), E'\r', '\r'), E'\t', '\t') || '''' $$;
CREATE FUNCTION chk.arr(a text[]) RETURNS text STABLE LANGUAGE sql AS $$
  SELECT '[' || coalesce(string_agg(coalesce(e, 'NULL'), ',' ORDER BY i), '') || ']'
    FROM unnest(a) WITH ORDINALITY u(e, i) $$;
CREATE FUNCTION chk.qarr(a text[]) RETURNS text STABLE LANGUAGE sql AS $$
  SELECT chk.arr(ARRAY(SELECT chk.q(e) FROM unnest(a) WITH ORDINALITY u(e, i) ORDER BY i)) $$;
CREATE FUNCTION chk.f4(x real) RETURNS text STABLE LANGUAGE sql AS $$
  SELECT ('x00000000' || encode(float4send(x), 'hex'))::bit(64)::bigint::text $$;
CREATE FUNCTION chk.f8(x float8) RETURNS text STABLE LANGUAGE sql AS $$
  SELECT (('x' || encode(float8send(x), 'hex'))::bit(64)::bigint::numeric
          + CASE WHEN float8send(x) >= '\x80' THEN 18446744073709551616 ELSE 0 END)::text $$;
CREATE FUNCTION chk.range(r anyrange) RETURNS text STABLE STRICT LANGUAGE sql AS $$
  SELECT CASE WHEN isempty(r) THEN '{"empty":true}'
    ELSE json_build_object('lower', lower(r), 'upper', upper(r), 'lower_inclusive', lower_inc(r),
                           'upper_inclusive', upper_inc(r))::text END $$;
-- element-wise, order kept
CREATE FUNCTION chk.d_arr(a date[]) RETURNS text[] STABLE LANGUAGE sql AS $$
  SELECT ARRAY(SELECT chk.d(e) FROM unnest(a) WITH ORDINALITY u(e, i) ORDER BY i) $$;
CREATE FUNCTION chk.tstz_arr(a timestamptz[]) RETURNS text[] STABLE LANGUAGE sql AS $$
  SELECT ARRAY(SELECT chk.tstz(e) FROM unnest(a) WITH ORDINALITY u(e, i) ORDER BY i) $$;
CREATE FUNCTION chk.f8_arr(a float8[]) RETURNS text[] STABLE LANGUAGE sql AS $$
  SELECT ARRAY(SELECT chk.f8(e) FROM unnest(a) WITH ORDINALITY u(e, i) ORDER BY i) $$;
CREATE FUNCTION chk.hex_arr(a bytea[]) RETURNS text[] STABLE LANGUAGE sql AS $$
  SELECT ARRAY(SELECT upper(encode(e, 'hex')) FROM unnest(a) WITH ORDINALITY u(e, i) ORDER BY i) $$;
SQL
}

# The tables and columns to compare, declared in order:
#   ch_chk_table PG-TABLE CH-TABLE [KEY-COLUMN...]: a table (no key column: keyless, its rows
#     compared whole).
#   ch_chk_col NAME CLICKHOUSE-TYPE [CH-EXPR [PG-EXPR]]: the next source column of the last
#     table. CH-EXPR renders the stored value as a String in ClickHouse (default or "-":
#     toString({})); PG-EXPR renders the source value the way ClickHouse should hold it (default
#     {}::text); {} is the quoted column. A CH-EXPR starting with "=" is selected as it is and
#     compared as the server prints it (TabSeparated), not through an md5 computed by the server.
# The declarations are in CH_TBL_PG / CH_TBL_CH / CH_TBL_KEY (per table) and CH_C_T (the table's
# index) / CH_C_NAME / CH_C_TYPE / CH_C_CH / CH_C_PG (per column).
CH_TBL_PG=() CH_TBL_CH=() CH_TBL_KEY=()
CH_C_T=() CH_C_NAME=() CH_C_TYPE=() CH_C_CH=() CH_C_PG=()
ch_chk_table() {
	CH_TBL_PG+=("$1")
	CH_TBL_CH+=("$2")
	shift 2
	CH_TBL_KEY+=("$*")
}
ch_chk_col() {
	local chx=${3:--} pgx=${4:-}
	[[ $chx != - ]] || chx='toString({})'
	[[ -n $pgx ]] || pgx='{}::text'
	CH_C_T+=($((${#CH_TBL_PG[@]} - 1)))
	CH_C_NAME+=("$1")
	CH_C_TYPE+=("$2")
	CH_C_CH+=("$chx")
	CH_C_PG+=("$pgx")
}

# ch_ident NAME / ch_lit TEXT: NAME as a ClickHouse identifier, TEXT as a ClickHouse string
# literal.
# shellcheck disable=SC2016 # the backquotes are literal
ch_ident() { printf '`%s`' "${1//\`/\\\`}"; }
ch_lit() {
	local s=${1//\\/\\\\}
	printf "'%s'" "${s//\'/\\\'}"
}
# ch_col_expr / pg_col_expr COLUMN-INDEX: the column's CH-EXPR / PG-EXPR, {} replaced by the
# quoted column.
ch_col_expr() {
	local q pat='{}'
	q=$(ch_ident "${CH_C_NAME[$1]}")
	printf '%s' "${CH_C_CH[$1]//"$pat"/"$q"}"
}
pg_col_expr() {
	local q pat='{}'
	q=$(qident "${CH_C_NAME[$1]}")
	printf '%s' "${CH_C_PG[$1]//"$pat"/"$q"}"
}
# ch_col_index TABLE-INDEX NAME: the index of the table's column NAME.
ch_col_index() {
	local i
	for i in "${!CH_C_NAME[@]}"; do
		((CH_C_T[i] == $1)) && [[ ${CH_C_NAME[i]} == "$2" ]] && { echo "$i"; return; }
	done
	fail "no column $2 in table ${CH_TBL_PG[$1]}"
}
# ch_tbl_from CDB TABLE-INDEX: the table's live rows in ClickHouse database CDB (FINAL, not
# deleted), for a FROM clause.
ch_tbl_from() { printf '%s.%s FINAL WHERE _sluice_deleted = 0' "$(ch_ident "$1")" "$(ch_ident "${CH_TBL_CH[$2]}")"; }
# ch_row_key / pg_row_key TABLE-INDEX: the row's key as text on each side, the key columns'
# renderings joined by '/' ('-' for a keyless table).
ch_row_key() {
	local k parts=()
	for k in ${CH_TBL_KEY[$1]}; do parts+=("$(ch_col_expr "$(ch_col_index "$1" "$k")")"); done
	((${#parts[@]})) || { echo "'-'"; return; }
	local IFS=,
	echo "arrayStringConcat([${parts[*]}], '/')"
}
pg_row_key() {
	local k parts=()
	for k in ${CH_TBL_KEY[$1]}; do parts+=("$(pg_col_expr "$(ch_col_index "$1" "$k")")"); done
	((${#parts[@]})) || { echo "'-'"; return; }
	local IFS=,
	echo "concat_ws('/', ${parts[*]})"
}

# ch_rows CDB TABLE-INDEX / pg_rows SDB TABLE-INDEX: one line per live row, "key<TAB>md5 of each
# column's rendering" (NULL: the word NULL; a "=" column: its value as printed), sorted (byte
# order); ClickHouse's stored values, PostgreSQL's source values (in $CH_PG_SET).
ch_rows() {
	local ti=$2 i sel e
	sel=$(ch_row_key "$ti")
	for i in "${!CH_C_NAME[@]}"; do
		((CH_C_T[i] == ti)) || continue
		e=$(ch_col_expr "$i")
		if [[ $e == =* ]]; then
			sel+=", ${e#=}"
		else
			sel+=", ifNull(lower(hex(MD5($e))), 'NULL')"
		fi
	done
	ch_sql "SELECT $sel FROM $(ch_tbl_from "$1" "$ti")" | LC_ALL=C sort
}
pg_rows() {
	local ti=$2 i sel
	sel=$(pg_row_key "$ti")
	for i in "${!CH_C_NAME[@]}"; do
		((CH_C_T[i] == ti)) || continue
		if [[ ${CH_C_CH[i]} == =* ]]; then
			sel+=", $(pg_col_expr "$i")" # NULL: \N on both sides
		else
			sel+=", coalesce(md5($(pg_col_expr "$i")), 'NULL')"
		fi
	done
	src_sql "$1" <<<"$CH_PG_SET COPY (SELECT $sel FROM ${CH_TBL_PG[ti]}) TO STDOUT" | LC_ALL=C sort
}

# ---------------------------------------------------------- Snowflake emulator ---

# sf_start: start, for this test, an S3 server (@20minutes/s3rver, which checks Signature V4;
# bucket `stage`) and the Snowflake SQL API emulator (tests/emulators/snowflake/server.mjs:
# key-pair JWTs checked against a key pair made here, the statements executed on DuckDB, COPY
# reading the stage from s3rver). Sets SF_PORT, SF_URL, S3PORT, SF_KEY (the PKCS#8 private key
# file), SF_PUB; exports the AWS_* settings sluice's stage uses. Account TESTACCT, user
# SLUICE_SVC, role SLUICE_ROLE, warehouse SLUICE_WH, database ANALYTICS. SF_EMU_ARGS: more
# arguments for the emulator (--azure-endpoint URL).
SF_EMU=$SLUICE_ROOT/tests/emulators/snowflake/server.mjs
sf_free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
sf_start() {
	local oracles=$SLUICE_ROOT/tests/oracles
	[[ -d $oracles/node_modules/@duckdb/node-api ]] || fail "test oracles not installed: run scripts/oracles.sh"
	mkdir -p "$TMP/s3"
	S3PORT=$(sf_free_port)
	(cd "$oracles" && exec node s3rver.mjs "$S3PORT" "$TMP/s3" stage) >"$TMP/s3rver.log" 2>&1 &
	BG_PIDS+=("$!")
	wait_until 20 grep -q ready "$TMP/s3rver.log" || fail "s3rver did not start: $(cat "$TMP/s3rver.log")"
	SF_KEY=$TMP/sf_key.p8
	SF_PUB=$TMP/sf_key.pub
	openssl genrsa 2048 2>/dev/null | openssl pkcs8 -topk8 -nocrypt -out "$SF_KEY" || fail "openssl genrsa failed"
	openssl rsa -in "$SF_KEY" -pubout -out "$SF_PUB" 2>/dev/null || fail "openssl rsa -pubout failed"
	SF_PORT=$(sf_free_port)
	SF_URL=http://127.0.0.1:$SF_PORT
	node "$SF_EMU" --port "$SF_PORT" --account TESTACCT --user SLUICE_SVC --public-key "$SF_PUB" \
		--role SLUICE_ROLE --warehouse SLUICE_WH --database ANALYTICS \
		--s3-endpoint "http://127.0.0.1:$S3PORT" --region us-east-1 --partition-rows 100 ${SF_EMU_ARGS:-} >"$TMP/sf_emulator.log" 2>&1 &
	BG_PIDS+=("$!")
	wait_until 30 grep -q ready "$TMP/sf_emulator.log" || fail "the Snowflake emulator did not start: $(cat "$TMP/sf_emulator.log")"
	export AWS_ENDPOINT_URL=http://127.0.0.1:$S3PORT AWS_REGION=us-east-1
	export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER
	unset AWS_SESSION_TOKEN AWS_PROFILE AWS_ENDPOINT_URL_S3 || true
}

# sf_target_lines [DB]: the target section of a pipeline on the emulator (pipeline_file's
# target.* lines), database DB (default analytics).
sf_target_lines() {
	printf '%s\n' "target.type: snowflake" "target.url: $SF_URL" "target.account: testacct" \
		"target.user: sluice_svc" "target.private_key_file: $SF_KEY" "target.database: ${1:-analytics}" \
		"target.warehouse: sluice_wh" "target.role: sluice_role" "target.stage: s3://stage/sluice" \
		"target.region: us-east-1"
}

# sf_post PATH [JSON]: POST to the emulator's control API; prints the answer.
sf_post() {
	curl -sS --fail-with-body -X POST -H 'Content-Type: application/json' --data-binary "${2:-{\}}" "$SF_URL$1"
}

# sf_query SQL: run SQL (DuckDB's, on the emulator's database, bypassing the templates) and
# print the rows tab-separated, NULL as \N.
sf_query() {
	local body
	body=$(python3 -c 'import json,sys; print(json.dumps(sys.argv[1]))' "$1")
	curl -sS --fail-with-body -X POST -H 'Content-Type: text/plain' --data-binary "$1" "$SF_URL/_emulator/query" |
		python3 -c 'import json,sys
d=json.load(sys.stdin)
for r in d["rows"]: print("\t".join("\\N" if v is None else str(v) for v in r))'
}

# ------------------------------------------------------------------- Databricks ---

# db_start: the Databricks emulator (tests/emulators/databricks/server.mjs: a personal access
# token and a service principal's OAuth client, the Statement Execution API, the Files API on
# volume main.stage.vol kept under $TMP/volumes, the statements run on DuckDB). Sets DB_PORT,
# DB_URL, DB_TOKEN, DB_CLIENT_ID, DB_CLIENT_SECRET, DB_WAREHOUSE.
DB_EMU=$SLUICE_ROOT/tests/emulators/databricks/server.mjs
db_start() {
	local oracles=$SLUICE_ROOT/tests/oracles
	[[ -d $oracles/node_modules/@duckdb/node-api ]] || fail "test oracles not installed: run scripts/oracles.sh"
	DB_PORT=$(sf_free_port)
	DB_URL=http://127.0.0.1:$DB_PORT
	DB_TOKEN=dapi$(openssl rand -hex 16)
	DB_CLIENT_ID=sp-$(openssl rand -hex 4)
	DB_CLIENT_SECRET=dose$(openssl rand -hex 16)
	DB_WAREHOUSE=$(openssl rand -hex 8)
	node "$DB_EMU" --port "$DB_PORT" --token "$DB_TOKEN" --client-id "$DB_CLIENT_ID" \
		--client-secret "$DB_CLIENT_SECRET" --warehouse-id "$DB_WAREHOUSE" --catalog main \
		--volume stage.vol --files "$TMP/volumes" --chunk-rows 100 ${DB_EMU_ARGS:-} >"$TMP/db_emulator.log" 2>&1 &
	BG_PIDS+=("$!")
	wait_until 30 grep -q ready "$TMP/db_emulator.log" || fail "the Databricks emulator did not start: $(cat "$TMP/db_emulator.log")"
}

# db_target_lines [oauth]: the target section of a pipeline on the emulator (pipeline_file's
# target.* lines): a personal access token, or the service principal with "oauth".
db_target_lines() {
	printf '%s\n' "target.type: databricks" "target.url: $DB_URL" "target.warehouse_id: $DB_WAREHOUSE" \
		"target.catalog: main" "target.volume: main.stage.vol"
	if [[ ${1:-} == oauth ]]; then
		printf '%s\n' "target.client_id: $DB_CLIENT_ID" "target.client_secret: $DB_CLIENT_SECRET"
	else
		printf '%s\n' "target.token: $DB_TOKEN"
	fi
}

# db_query SQL: run SQL (DuckDB's, on the emulator's catalog uc_main, bypassing the templates)
# and print the rows tab-separated, NULL as \N.
db_query() {
	curl -sS --fail-with-body -X POST -H 'Content-Type: text/plain' --data-binary "$1" "$DB_URL/_emulator/query" |
		python3 -c 'import json,sys
d=json.load(sys.stdin)
if "error" in d: sys.exit("emulator query failed: " + d["error"])
for r in d["rows"]: print("\t".join("\\N" if v is None else v for v in r))'
}
