#!/usr/bin/env bash
# Resync benchmark, MariaDB -> PostgreSQL: `sluice resync` of a 1,000,000-row keyed table while a
# writer changes it and sluice streams the binlog, against a plain client copy of the same table
# between the same servers at the same time (mariadb --quick -B | psql COPY), in one run. The
# MariaDB counterpart of bench/resync_pg.sh.
#
# Usage: bash bench/resync_my.sh        (from anywhere)
#
# Claim measured: "`sluice resync` of a 1M-row MariaDB table while it is written leaves the target
# equal, with the stream never paused longer than one slice".
#
# Servers: bench-mysql (MariaDB 10.11 from scripts/mysql.sh: binlog on, ROW format, FULL row
# image, fsync on) and bench-dst (PostgreSQL 15, wal_level=replica, fsync=on), started with the
# settings bench/snapshot_my.sh and bench/cdc_my.sh give them (so none of these benches restarts
# the others' servers). Data, in database sluice_resyncbench: churn(id bigint primary key, k int,
# v decimal(12,2), s varchar(64), ts datetime(6)) with BENCH_ROWS rows (INSERT ... SELECT FROM
# seq_1_to_N), plus a probe table lag_probe(id bigint auto_increment primary key, t
# decimal(17,6)). One pipeline into a fresh database resyncbench_my on bench-dst: `sluice run
# --once` (the snapshot, timed), then `sluice run` in the background for the whole bench. Binary
# logs of earlier benches are purged from bench-mysql at the start.
#
# Load, from the start of phase A to the end: a writer on one MariaDB connection, BENCH_TPS (200)
# transactions/s, paced by the clock, each one DELETE of the lowest id, one UPDATE of a random
# live row (k, v, s, ts = NOW(6)) and one INSERT of the next id above the highest (the table
# keeps BENCH_ROWS rows, its ids a sliding window); and a probe on a connection of its own that
# inserts one lag_probe row every 100 ms with t = UNIX_TIMESTAMP(NOW(6)) (time_zone +00:00).
# Lag of a probe row = (commit of the target transaction that applied it: a deferred constraint
# trigger on the target's lag_probe stamps clock_timestamp() into lag_seen) - t. One clock, this
# machine's; NOW(6) is the start of the probe's statement, a little before its commit, so the lag
# is a little overstated. Lag figures are per time window, by the probe's t. The writer's rate
# per window is counted from the rows it inserted (ts in the window).
#
# A. Idle: BENCH_IDLE_SECONDS (30) of streaming without a resync: lag p50/p99/max.
# B. Resync, BENCH_RUNS (3) times: BENCH_DAMAGE_ROWS (1000) random rows of the target's churn are
#    overwritten behind sluice's back (s = 'resync-bench-damaged'), then `sluice resync PIPE
#    sluice_resyncbench.churn`. Timed from just before that command to the moment the run's log
#    shows "backfill of sluice_resyncbench.churn: complete" (polled every 50 ms). Reported: that
#    time, sluice's own copy time and "the longest one slice held the stream up" from the line,
#    the rows it copied (all of them: at least BENCH_ROWS, at most the ids from the lowest before
#    the request to the highest after the line), the lag p50/p99/max of the probes written in
#    that window; afterwards no damaged row may be left.
# C. Baseline, BENCH_RUNS times, interleaved with B (run 1: B then C, run 2: C then B, ...):
#    mariadb --quick -N -B -e "SELECT id, k, v, s, ts FROM churn" (the sluice user, over TCP like
#    sluice) piped into psql -c "COPY churn_copy FROM STDIN" on bench-dst (database
#    resyncbench_my_copy; churn_copy: the columns and primary key sluice gives the target table,
#    a logged table, emptied before each run, untimed), while the writer, the probe and sluice go
#    on. mariadb -B prints tab-separated text with backslash escapes, which COPY's text format
#    reads as is. Lag during the copy is shown too: the cost of the load alone.
# Every timed run starts after a CHECKPOINT of bench-dst (MariaDB has no such command) and
# BENCH_GAP_SECONDS (5) of settling. After the runs: the writer and the probe stop, a marker row
# must reach the target, and SIGTERM must stop sluice with exit 0. Printed: medians over the
# runs, each run, `ratio resync/copy = X.XX` (median / median) and RESULT lines. Then churn and
# lag_probe must equal the source (row count and md5 of every column of every row in key order,
# computed by each server), `sluice verify` must pass and `sluice status` must list the backfill
# as done; else exit 1. Last: RESULT equal=yes.
#
# Environment: BENCH_ROWS (1000000), BENCH_RUNS (3), BENCH_TPS (200), BENCH_IDLE_SECONDS (30),
# BENCH_GAP_SECONDS (5), BENCH_BACKFILL_ROWS (10000: snapshot.backfill_rows), BENCH_DAMAGE_ROWS
# (1000; 0: none), BENCH_LOG_LEVEL (info; debug: sluice also logs each slice read twice),
# BENCH_WAIT_TIMEOUT (600: seconds any one wait may take before the bench fails), SLUICE_BIN
# (build-release/sluice, built when missing).
#
# The servers are left running afterwards (scripts/mysql.sh stop bench-mysql,
# scripts/pg.sh stop bench-dst).
set -euo pipefail

ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$ROOT"

ROWS=${BENCH_ROWS:-1000000}
RUNS=${BENCH_RUNS:-3}
TPS=${BENCH_TPS:-200}
IDLE_SECONDS=${BENCH_IDLE_SECONDS:-30}
GAP_SECONDS=${BENCH_GAP_SECONDS:-5}
BACKFILL_ROWS=${BENCH_BACKFILL_ROWS:-10000}
DAMAGE_ROWS=${BENCH_DAMAGE_ROWS:-1000}
LOG_LEVEL=${BENCH_LOG_LEVEL:-info}
WAIT_TIMEOUT=${BENCH_WAIT_TIMEOUT:-600}
SLUICE_BIN=${SLUICE_BIN:-$ROOT/build-release/sluice}
PGBIN=/usr/lib/postgresql/15/bin
MY=bench-mysql
DST=bench-dst
SRC_DB=sluice_resyncbench
DST_DB=resyncbench_my
COPY_DB=resyncbench_my_copy
TABLE=$SRC_DB.churn
DAMAGED=resync-bench-damaged

say() { printf '==> %s\n' "$*" >&2; }
die() {
  printf 'resync_my.sh: error: %s\n' "$*" >&2
  exit 1
}
for v in ROWS RUNS TPS IDLE_SECONDS BACKFILL_ROWS WAIT_TIMEOUT; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "BENCH_$v must be a positive integer, not '${!v}'"
done
[[ $LOG_LEVEL =~ ^(debug|info)$ ]] || die "BENCH_LOG_LEVEL must be debug or info, not '$LOG_LEVEL'"
for v in GAP_SECONDS DAMAGE_ROWS; do
  [[ ${!v} =~ ^[0-9]+$ ]] || die "BENCH_$v must be a non-negative integer, not '${!v}'"
done
((ROWS >= 2)) || die "BENCH_ROWS must be at least 2"

bash scripts/deps.sh >&2
if [[ ! -x $SLUICE_BIN ]]; then
  [[ $SLUICE_BIN == "$ROOT/build-release/sluice" ]] || die "SLUICE_BIN=$SLUICE_BIN is not an executable"
  say "building $SLUICE_BIN"
  { cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release >/dev/null && cmake --build build-release -j2 >/dev/null; } ||
    die "building $SLUICE_BIN failed"
fi
export PATH=$PGBIN:$PATH
for b in psql mariadb timeout; do
  command -v "$b" >/dev/null || die "$b not found (run scripts/deps.sh)"
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/sluice-myresyncbench.XXXXXX")
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
LOAD_START=$(loadavg)
STOP=$WORK/stop-load # the writer and the probe stop when this file exists
BG=()
on_exit() {
  local rc=$? p
  touch "$STOP"
  for p in "${BG[@]}"; do kill "$p" 2>/dev/null || true; done
  ((rc == 0)) || printf 'resync_my.sh: FAILED (exit %d); logs in %s\n' "$rc" "$WORK" >&2
  ((rc != 0)) || printf 'logs kept in %s\n' "$WORK" >&2
}
trap on_exit EXIT

say "starting servers $MY (MariaDB, binlog on, fsync on) and $DST (wal_level=replica, fsync=on)"
bash scripts/mysql.sh start "$MY" --fsync on 2>>"$WORK/servers.log" || die "could not start $MY (see $WORK/servers.log)"
bash scripts/pg.sh start "$DST" --wal-level replica --fsync on 2>>"$WORK/servers.log" ||
  die "could not start $DST (see $WORK/servers.log)"

unq() { eval "printf '%s' $1"; } # undo the %q quoting of `env`
my_env() { bash scripts/mysql.sh env "$MY" | sed -n "s/^export $1=//p"; }
pg_env() { bash scripts/pg.sh env "$DST" | sed -n "s/^export $1=//p"; }
MY_PORT=$(unq "$(my_env MYSQL_PORT)")
MY_PW=$(unq "$(my_env MYSQL_PASSWORD)")
DST_PORT=$(unq "$(pg_env SL_PG_PORT)")
DST_PW=$(unq "$(pg_env SL_PG_PASSWORD)")
[[ -n $MY_PORT && -n $MY_PW && -n $DST_PORT && -n $DST_PW ]] || die "could not read the servers' ports and passwords"

# Passwords: a pgpass file for psql, an option file for the baseline's mariadb; none on a command line.
unset PGHOST PGHOSTADDR PGPORT PGDATABASE PGUSER PGPASSWORD PGSERVICE PGOPTIONS PGTZ || true
unset MYSQL_HOST MYSQL_TCP_PORT MYSQL_UNIX_PORT MYSQL_PWD || true
pgpass_esc() { local s=${1//\\/\\\\}; printf '%s' "${s//:/\\:}"; }
my_opt_esc() { local s=${1//\\/\\\\}; printf '"%s"' "${s//\"/\\\"}"; }
(
  umask 077
  printf '127.0.0.1:%s:*:sluice:%s\n' "$DST_PORT" "$(pgpass_esc "$DST_PW")" >"$WORK/pgpass"
  printf '[client]\nhost=127.0.0.1\nport=%s\nuser=sluice\npassword=%s\n' "$MY_PORT" "$(my_opt_esc "$MY_PW")" >"$WORK/my-client.cnf"
)
export PGPASSFILE=$WORK/pgpass
export SL_MY_PASSWORD=$MY_PW SL_BENCH_DST_PASSWORD=$DST_PW

PSQL=(psql -X -q -v ON_ERROR_STOP=1 -At -h 127.0.0.1 -p "$DST_PORT" -U sluice)
dst_sql() { "${PSQL[@]}" -d "$1" -c "$2"; }
# The superuser, through the instance's socket.
super_dst() { bash scripts/pg.sh psql "$DST" -d "$1" -q -At -c "$2"; }
my_super() { bash scripts/mysql.sh sql "$MY" -N -B "$@"; }
my_sql() { my_super -D "$SRC_DB" "$@"; }
now() { date +%s.%N; }
calc() { awk "BEGIN { printf \"%.6f\", $1 }"; }
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
maxof() { sort -g | tail -1; }

checkpoint_dst() { super_dst postgres "CHECKPOINT" >/dev/null || die "CHECKPOINT on $DST failed"; }

# Wait (bounded, polling every 50 ms) until the run's log has more than N lines matching TEXT.
wait_log() { # TEXT N WHAT
  local i
  for ((i = 0; i < WAIT_TIMEOUT * 20; i++)); do
    (($(grep -cF -- "$1" "$WORK/sluice-run.log" || true) > $2)) && return 0
    kill -0 "$SL_PID" 2>/dev/null || die "sluice run stopped before $3 (see $WORK/sluice-run.log)"
    sleep 0.05
  done
  die "$3: not reached within $WAIT_TIMEOUT s (see $WORK/sluice-run.log)"
}

# One session on bench-dst: wait (bounded) until lag_probe row $1 is visible in the target.
watch_marker() { # ID
  super_dst "$DST_DB" "DO \$\$ DECLARE deadline timestamptz := clock_timestamp() + interval '$WAIT_TIMEOUT s'; BEGIN
      WHILE NOT EXISTS (SELECT 1 FROM $SRC_DB.lag_probe WHERE id = $1) LOOP
        IF clock_timestamp() > deadline THEN RAISE EXCEPTION 'lag_probe row $1 not applied within $WAIT_TIMEOUT s'; END IF;
        PERFORM pg_sleep(0.02);
      END LOOP; END \$\$" >/dev/null 2>>"$WORK/waits.log" || die "marker $1 did not reach the target within $WAIT_TIMEOUT s (see $WORK/waits.log)"
}

# A marker row on the source; prints its id.
PROBE_INSERT="INSERT INTO lag_probe (t) VALUES (UNIX_TIMESTAMP(NOW(6)))"
marker() { my_sql -e "SET time_zone = '+00:00'; $PROBE_INSERT; SELECT LAST_INSERT_ID()"; }

# Wait for a background process with a deadline; its exit status must be 0.
wait_pid() { # PID WHAT
  local i
  for ((i = 0; i < WAIT_TIMEOUT * 5; i++)); do
    kill -0 "$1" 2>/dev/null || break
    sleep 0.2
  done
  kill -0 "$1" 2>/dev/null && die "$2 did not exit within $WAIT_TIMEOUT s"
  local rc=0
  wait "$1" || rc=$?
  ((rc == 0)) || die "$2 exited $rc"
}

# sluice run must still be running.
sluice_alive() { kill -0 "$SL_PID" 2>/dev/null || die "sluice run stopped (see $WORK/sluice-run.log)"; }

# Count and md5 of every column of every row in key order, as each server computes it. churn:
# md5 per block of 1,000 ids, then md5 of those (one GROUP_CONCAT of all rows would be cut at
# max_allowed_packet), as bench/cdc_my.sh does.
declare -A MY_DIGEST_Q=(
  [churn]="SET SESSION group_concat_max_len = 1 << 24; SELECT CONCAT(SUM(n), ':', MD5(GROUP_CONCAT(h ORDER BY b SEPARATOR ''))) FROM (
  SELECT id DIV 1000 b, COUNT(*) n, MD5(GROUP_CONCAT(CONCAT_WS(':', id, k, v, s, DATE_FORMAT(ts, '%Y-%m-%d %H:%i:%s.%f'))
    ORDER BY id SEPARATOR ',')) h FROM churn GROUP BY b) x"
  [lag_probe]="SET SESSION group_concat_max_len = 1 << 26; SELECT CONCAT(COUNT(*), ':', MD5(GROUP_CONCAT(CONCAT(id, ':', t) ORDER BY id SEPARATOR ','))) FROM lag_probe"
)
declare -A PG_DIGEST_Q=(
  [churn]="SELECT sum(n) || ':' || md5(string_agg(h, '' ORDER BY b)) FROM (
  SELECT id / 1000 b, count(*) n, md5(string_agg(concat_ws(':', id, k, v, s, to_char(ts, 'YYYY-MM-DD HH24:MI:SS.US')),
    ',' ORDER BY id)) h FROM $SRC_DB.churn GROUP BY 1) x"
  [lag_probe]="SELECT count(*) || ':' || md5(string_agg(id || ':' || t, ',' ORDER BY id)) FROM $SRC_DB.lag_probe"
)

# ------------------------------------------------------------------ data ---
say "creating $MY/$SRC_DB.churn with $ROWS rows; fresh databases $DST/$DST_DB and $DST/$COPY_DB"
# Binlogs of earlier benches are not needed by anyone: keep the instance's disk use bounded.
my_super -e "FLUSH BINARY LOGS" || die "FLUSH BINARY LOGS failed on $MY"
my_super -e "PURGE BINARY LOGS BEFORE NOW()" || die "could not purge old binlogs on $MY"
bash scripts/mysql.sh createdb "$MY" "$SRC_DB" 2>>"$WORK/servers.log" || die "could not create $MY/$SRC_DB"
bash scripts/pg.sh createdb "$DST" "$DST_DB" 2>>"$WORK/servers.log" || die "could not create $DST/$DST_DB"
bash scripts/pg.sh createdb "$DST" "$COPY_DB" 2>>"$WORK/servers.log" || die "could not create $DST/$COPY_DB"
t0=$(now)
my_sql >"$WORK/init.log" 2>&1 <<SQL || die "loading churn failed (see $WORK/init.log)"
CREATE TABLE churn (
  id bigint NOT NULL PRIMARY KEY,
  k int NOT NULL,
  v decimal(12,2) NOT NULL,
  s varchar(64) NOT NULL,
  ts datetime(6) NOT NULL
);
INSERT INTO churn SELECT seq, seq % 100000, seq / 100, MD5(seq), TIMESTAMP '2024-01-01 00:00:00' + INTERVAL seq SECOND
  FROM seq_1_to_$ROWS;
ANALYZE TABLE churn;
CREATE TABLE lag_probe (id bigint NOT NULL AUTO_INCREMENT PRIMARY KEY, t decimal(17,6) NOT NULL);
SQL
LOAD_SECS=$(calc "$(now) - $t0")
[[ $(my_sql -e "SELECT COUNT(*) FROM churn") == "$ROWS" ]] || die "churn does not have $ROWS rows"
say "  loaded in $(printf '%.1f' "$LOAD_SECS") s"
# the baseline's scratch table: the columns and primary key sluice gives churn, logged like its target
dst_sql "$COPY_DB" "CREATE TABLE churn_copy (id bigint NOT NULL PRIMARY KEY, k integer NOT NULL,
  v numeric(12,2) NOT NULL, s text NOT NULL, ts timestamp without time zone NOT NULL)"

PIPE=$WORK/bench.yaml
cat >"$PIPE" <<YAML
name: resyncbench_my
log_level: $LOG_LEVEL
source:
  type: mysql
  url: mysql://sluice@127.0.0.1:$MY_PORT/$SRC_DB
  password: \${SL_MY_PASSWORD}
target:
  type: postgres
  url: postgres://sluice@127.0.0.1:$DST_PORT/$DST_DB
  password: \${SL_BENCH_DST_PASSWORD}
snapshot: { parallelism: 2, backfill_rows: $BACKFILL_ROWS }
state: { url: "sqlite://$WORK/state.db" }
YAML

say "snapshot: sluice run --once"
t0=$(now)
timeout -s TERM "$WAIT_TIMEOUT" "$SLUICE_BIN" run --once "$PIPE" 2>"$WORK/snapshot.log" || die "sluice snapshot failed (see $WORK/snapshot.log)"
SNAP_SECS=$(calc "$(now) - $t0")
[[ $(dst_sql "$DST_DB" "SELECT count(*) FROM $SRC_DB.churn") == "$ROWS" ]] || die "the snapshot did not copy $ROWS rows of churn"
# At commit of the target transaction that applied a probe row: (id, clock_timestamp()).
dst_sql "$DST_DB" "CREATE TABLE public.lag_seen (id bigint PRIMARY KEY, seen timestamptz NOT NULL);
CREATE FUNCTION public.lag_seen_stamp() RETURNS trigger LANGUAGE plpgsql AS
  \$\$ BEGIN INSERT INTO public.lag_seen VALUES (NEW.id, clock_timestamp()) ON CONFLICT (id) DO NOTHING; RETURN NULL; END \$\$;
CREATE CONSTRAINT TRIGGER lag_seen_at_commit AFTER INSERT ON $SRC_DB.lag_probe
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION public.lag_seen_stamp();
ALTER TABLE $SRC_DB.lag_probe ENABLE ALWAYS TRIGGER lag_seen_at_commit;"
SYNC=$(dst_sql "$DST_DB" "SHOW synchronous_commit")

say "sluice run in the background"
"$SLUICE_BIN" run "$PIPE" 2>"$WORK/sluice-run.log" &
SL_PID=$!
BG+=("$SL_PID")
wait_log "cdc: reading the binlog" 0 "sluice streaming"
watch_marker "$(marker)"
sluice_alive

# --------------------------------------------------------------- the load ---
# Transaction j deletes id j + 1, updates a random id of the live ones, inserts id ROWS + 1 + j:
# the live ids are always j + 2 .. ROWS + 1 + j after it. Paced by the clock: by t seconds after
# the start, t * TPS transactions have been sent.
say "load: $TPS transactions/s (delete + update + insert each) and a lag_probe row every 100 ms, until the end"
(
  j=0
  start=${EPOCHREALTIME/./}
  {
    echo "SET time_zone = '+00:00';"
    while [[ ! -e $STOP ]]; do
      due=$(((${EPOCHREALTIME/./} - start) * TPS / 1000000))
      while ((j < due)); do
        r=$(((RANDOM << 15 | RANDOM) % (ROWS - 1) + j + 2))
        printf "BEGIN; DELETE FROM churn WHERE id = %d; UPDATE churn SET k = k + 1, v = v + 0.01, s = CONCAT('w', %d), ts = NOW(6) WHERE id = %d; INSERT INTO churn VALUES (%d, %d, %d.25, MD5(%d), NOW(6)); COMMIT;\n" \
          $((j + 1)) "$j" "$r" $((ROWS + 1 + j)) $(((ROWS + 1 + j) % 100000)) $((j % 1000)) "$j"
        j=$((j + 1))
      done
      sleep 0.02
    done
  } | my_sql >/dev/null 2>"$WORK/writer.log"
) &
WRITER_PID=$!
BG+=("$WRITER_PID")
(
  {
    echo "SET time_zone = '+00:00';"
    while [[ ! -e $STOP ]]; do
      echo "$PROBE_INSERT;"
      sleep 0.1
    done
  } | my_sql >/dev/null 2>"$WORK/probe.log"
) &
PROBE_PID=$!
BG+=("$PROBE_PID")
load_alive() {
  kill -0 "$WRITER_PID" 2>/dev/null || die "the writer stopped (see $WORK/writer.log)"
  kill -0 "$PROBE_PID" 2>/dev/null || die "the probe writer stopped (see $WORK/probe.log)"
  sluice_alive
}

# Time windows (name, start, end: epoch seconds), for the lag and the writer's rate.
: >"$WORK/windows.tsv"
window() { printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$WORK/windows.tsv"; }
settle() {
  checkpoint_dst
  sleep "$GAP_SECONDS"
  load_alive
}

# ------------------------------------------------------------ A: no resync ---
settle
say "phase A: ${IDLE_SECONDS}s of streaming without a resync"
a0=$(now)
sleep "$IDLE_SECONDS"
window idle "$a0" "$(now)"
load_alive

# -------------------------------------------------------- B: sluice resync ---
DONE_RE="backfill of $TABLE: complete"
RESYNC_SECS=() OWN_SECS=() SLICE_MS=() DAMAGE_N=() COPIED_N=()
resync_run() { # RUN
  local n0 t_req t_done line rows own ms damaged left lo hi i
  if ((DAMAGE_ROWS > 0)); then
    dst_sql "$DST_DB" "UPDATE $SRC_DB.churn SET s = '$DAMAGED' WHERE id IN (
      SELECT lo + (random() * (hi - lo))::bigint FROM (SELECT min(id) lo, max(id) hi FROM $SRC_DB.churn) m,
        generate_series(1, $DAMAGE_ROWS))" >/dev/null
  fi
  damaged=$(dst_sql "$DST_DB" "SELECT count(*) FROM $SRC_DB.churn WHERE s = '$DAMAGED'")
  settle
  n0=$(grep -cF "$DONE_RE" "$WORK/sluice-run.log" || true)
  lo=$(my_sql -e "SELECT MIN(id) FROM churn")
  t_req=$(now)
  timeout -s TERM "$WAIT_TIMEOUT" "$SLUICE_BIN" resync "$PIPE" "$TABLE" >>"$WORK/resync.log" 2>&1 || die "sluice resync failed (see $WORK/resync.log)"
  for ((i = 0; ; i++)); do
    (($(grep -cF "$DONE_RE" "$WORK/sluice-run.log" || true) > n0)) && break
    ! grep -qF "backfill of $TABLE failed" "$WORK/sluice-run.log" || die "the backfill failed (see $WORK/sluice-run.log)"
    ((i < WAIT_TIMEOUT * 20)) || die "resync run $1: no completion line within $WAIT_TIMEOUT s (see $WORK/sluice-run.log)"
    ((i % 20 != 0)) || load_alive
    sleep 0.05
  done
  t_done=$(now)
  hi=$(my_sql -e "SELECT MAX(id) FROM churn")
  window "resync-$1" "$t_req" "$t_done"
  line=$(grep -F "$DONE_RE" "$WORK/sluice-run.log" | sed -n "$((n0 + 1))p")
  [[ $line =~ complete,\ ([0-9]+)\ rows\ copied\ in\ ([0-9.]+)s\;\ the\ longest\ one\ slice\ held\ the\ stream\ up:\ ([0-9]+)\ ms ]] ||
    die "cannot read the completion line: $line"
  rows=${BASH_REMATCH[1]} own=${BASH_REMATCH[2]} ms=${BASH_REMATCH[3]}
  # the copy reads the ids from the lowest at its first slice to the highest at its last one
  ((rows >= ROWS && rows <= hi - lo + 1)) || die "resync run $1 copied $rows rows, not $ROWS to $((hi - lo + 1)): $line"
  left=$(dst_sql "$DST_DB" "SELECT count(*) FROM $SRC_DB.churn WHERE s = '$DAMAGED'")
  ((left == 0)) || die "resync run $1: $left of the $damaged damaged rows are still damaged on the target"
  RESYNC_SECS+=("$(calc "$t_done - $t_req")") OWN_SECS+=("$own") SLICE_MS+=("$ms") DAMAGE_N+=("$damaged") COPIED_N+=("$rows")
  printf '  resync run %d: %.2f s request -> completion line; sluice: %s rows in %s s, longest slice %s ms%s; %s damaged rows repaired\n' \
    "$1" "$(calc "$t_done - $t_req")" "$rows" "$own" "$ms" "$([[ $line == *"read twice"* ]] && echo ' (some slices read twice)')" "$damaged" >&2
}

# ------------------------------------------------------- C: the baseline ---
COPY_SECS=()
copy_run() { # RUN
  local t0 t1 n
  dst_sql "$COPY_DB" "TRUNCATE churn_copy"
  settle
  t0=$(now)
  timeout -s TERM "$WAIT_TIMEOUT" mariadb --defaults-file="$WORK/my-client.cnf" --quick -N -B -D "$SRC_DB" \
    -e "SELECT id, k, v, s, ts FROM churn" 2>>"$WORK/copy.log" |
    timeout -s TERM "$WAIT_TIMEOUT" "${PSQL[@]}" -d "$COPY_DB" -c "COPY churn_copy FROM STDIN" \
      >>"$WORK/copy.log" 2>&1 || die "copy run $1 failed or took over $WAIT_TIMEOUT s (see $WORK/copy.log)"
  t1=$(now)
  window "copy-$1" "$t0" "$t1"
  n=$(dst_sql "$COPY_DB" "SELECT count(*) FROM churn_copy")
  ((n == ROWS)) || die "copy run $1 copied $n rows, not $ROWS"
  COPY_SECS+=("$(calc "$t1 - $t0")")
  printf '  copy run %d: %.2f s\n' "$1" "$(calc "$t1 - $t0")" >&2
}

for run in $(seq 1 "$RUNS"); do
  if ((run % 2 == 1)); then
    say "run $run/$RUNS: resync, then copy"
    resync_run "$run"
    copy_run "$run"
  else
    say "run $run/$RUNS: copy, then resync"
    copy_run "$run"
    resync_run "$run"
  fi
done

# ------------------------------------------------------------------ after ---
# The rows of churn that differ (at most 10), each with the source row's ts (the writer's NOW(6),
# UTC) and the window it fell in: what a failure report needs.
diff_churn() {
  local id w ts
  my_sql -e "SELECT id, MD5(CONCAT_WS(':', id, k, v, s, DATE_FORMAT(ts, '%Y-%m-%d %H:%i:%s.%f'))) FROM churn ORDER BY id" >"$WORK/churn-src.tsv"
  dst_sql "$DST_DB" "COPY (SELECT id, md5(concat_ws(':', id, k, v, s, to_char(ts, 'YYYY-MM-DD HH24:MI:SS.US')))
    FROM $SRC_DB.churn ORDER BY id) TO STDOUT" >"$WORK/churn-dst.tsv"
  diff "$WORK/churn-src.tsv" "$WORK/churn-dst.tsv" | sed -n 's/^[<>] \([0-9]*\)\t.*/\1/p' | sort -nu | head -10 |
    while read -r id; do
      ts=$(my_sql -e "SET time_zone = '+00:00'; SELECT UNIX_TIMESTAMP(ts) FROM churn WHERE id = $id")
      w=$(awk -F'\t' -v c="${ts:-0}" '$2 <= c && c < $3 { print $1 }' "$WORK/windows.tsv")
      printf '  id %s: source %s (window %s); target %s\n' "$id" \
        "$(my_sql -e "SELECT CONCAT_WS(' ', k, v, s, ts) FROM churn WHERE id = $id")" "${w:-none}" \
        "$(dst_sql "$DST_DB" "SELECT coalesce((SELECT concat_ws(' ', k, v, s, ts) FROM $SRC_DB.churn WHERE id = $id), 'no row')")" >&2
    done
}
# churn and lag_probe equal, sluice verify, the backfill listed as done.
check_equal() {
  local t want got
  for t in churn lag_probe; do
    want=$(my_sql -e "${MY_DIGEST_Q[$t]}")
    got=$(dst_sql "$DST_DB" "${PG_DIGEST_Q[$t]}")
    if [[ $got != "$want" ]]; then
      [[ $t != churn ]] || diff_churn
      die "the target's $t ($got) differs from the source ($want)"
    fi
  done
  "$SLUICE_BIN" verify "$PIPE" >"$WORK/verify.log" 2>&1 || die "sluice verify found a difference (see $WORK/verify.log)"
  ! grep -q DIFF "$WORK/verify.log" || die "sluice verify printed DIFF (see $WORK/verify.log)"
  "$SLUICE_BIN" status "$PIPE" >"$WORK/status.log" 2>&1 || die "sluice status failed (see $WORK/status.log)"
  grep -q "backfill $TABLE *done" "$WORK/status.log" || die "sluice status does not list the backfill of $TABLE as done (see $WORK/status.log)"
}

say "stopping the load; the target must catch up; SIGTERM stops sluice"
touch "$STOP"
wait_pid "$WRITER_PID" "the writer"
wait_pid "$PROBE_PID" "the probe writer"
sluice_alive
watch_marker "$(marker)"
kill -TERM "$SL_PID"
wait_pid "$SL_PID" "sluice run (on SIGTERM)"

# ------------------------------------------------------------------- lag ---
# lag_probe.t is the source's time; lag_seen.seen the target's commit; both in the target.
read -r np ns <<<"$(dst_sql "$DST_DB" "SELECT count(*), count(s.id) FROM $SRC_DB.lag_probe p LEFT JOIN lag_seen s USING (id)" | tr '|' ' ')"
((np == ns)) || die "the target stamped $ns of the $np probe rows"
declare -A L50 L99 LMAX LN WTPS
while IFS=$'\t' read -r name a b; do
  read -r n p50 p99 pmax <<<"$(dst_sql "$DST_DB" "SELECT count(*), round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 1),
      round(percentile_cont(0.99) WITHIN GROUP (ORDER BY ms)::numeric, 1), round(max(ms)::numeric, 1)
    FROM (SELECT (extract(epoch FROM s.seen) - p.t) * 1000 AS ms FROM $SRC_DB.lag_probe p JOIN lag_seen s USING (id)
          WHERE p.t >= $a AND p.t < $b) x" | tr '|' ' ')"
  ((n > 0)) || die "no probe row was written during $name"
  L50[$name]=$p50 L99[$name]=$p99 LMAX[$name]=$pmax LN[$name]=$n
  # rows the writer inserted (one per transaction) with ts (NOW(6), UTC) in the window
  WTPS[$name]=$(my_sql -e "SET time_zone = '+00:00'; SELECT ROUND(COUNT(*) / ($b - $a)) FROM churn
    WHERE id > $ROWS AND ts >= FROM_UNIXTIME($a) AND ts < FROM_UNIXTIME($b)")
done <"$WORK/windows.tsv"

# ----------------------------------------------------------------- report ---
col() { # ARRAY-NAME PREFIX: the values of map $1 for windows $2-1..RUNS
  local -n m=$1
  local r
  for r in $(seq 1 "$RUNS"); do echo "${m[$2-$r]}"; done
}
R_MED=$(printf '%s\n' "${RESYNC_SECS[@]}" | median)
O_MED=$(printf '%s\n' "${OWN_SECS[@]}" | median)
S_MED=$(printf '%s\n' "${SLICE_MS[@]}" | median)
S_MAX=$(printf '%s\n' "${SLICE_MS[@]}" | maxof)
C_MED=$(printf '%s\n' "${COPY_SECS[@]}" | median)
RB50=$(col L50 resync | median) RB99=$(col L99 resync | median) RBMAX=$(col LMAX resync | median) RBMAXMAX=$(col LMAX resync | maxof)
CB50=$(col L50 copy | median) CB99=$(col L99 copy | median) CBMAX=$(col LMAX copy | median)
SLICES=$(((ROWS + BACKFILL_ROWS - 1) / BACKFILL_ROWS))
RATIO=$(calc "$R_MED / $C_MED")
OWN_LAG=$(grep -o 'lag per group.*' "$WORK/sluice-run.log" | tail -1 || true)

echo
echo "resync of $TABLE ($ROWS rows, snapshot.backfill_rows $BACKFILL_ROWS: about $SLICES slices) while"
echo "a writer does $TPS transactions/s (delete + update + insert) and sluice streams (target synchronous_commit=$SYNC); $RUNS runs, medians:"
printf '  source load (INSERT ... SELECT FROM seq_1_to_%s): %.2f s; initial snapshot (sluice run --once): %.2f s\n' "$ROWS" "$LOAD_SECS" "$SNAP_SECS"
printf '  resync, request -> completion line: median %.2f s   runs:%s\n' "$R_MED" "$(printf ' %.2f' "${RESYNC_SECS[@]}")"
printf '  resync, sluice'"'"'s own copy time: median %s s   runs: %s\n' "$O_MED" "${OWN_SECS[*]}"
printf '  rows copied by each resync: %s\n' "${COPIED_N[*]}"
printf '  mean time per slice (request -> completion / %d slices): %.0f ms\n' "$SLICES" "$(calc "$R_MED * 1000 / $SLICES")"
printf '  longest one slice held the stream up (sluice log): median %s ms, max %s ms   runs: %s\n' "$S_MED" "$S_MAX" "${SLICE_MS[*]}"
printf '  damaged target rows repaired by each resync: %s\n' "${DAMAGE_N[*]}"
printf '  baseline mariadb --quick -B | COPY into churn_copy (primary key, logged): median %.2f s   runs:%s\n' "$C_MED" "$(printf ' %.2f' "${COPY_SECS[@]}")"
printf 'ratio resync/copy = %.2f\n' "$RATIO"
echo "lag (source NOW(6) of the probe's statement -> commit of the applying target transaction), probes by source time:"
printf '  %-10s %7s %7s %9s %9s %9s\n' window tps probes "p50 ms" "p99 ms" "max ms"
while IFS=$'\t' read -r name _ _; do
  printf '  %-10s %7s %7s %9s %9s %9s\n' "$name" "${WTPS[$name]}" "${LN[$name]}" "${L50[$name]}" "${L99[$name]}" "${LMAX[$name]}"
done <"$WORK/windows.tsv"
printf '  medians over the runs: idle p50 %s / p99 %s / max %s ms; resync p50 %s / p99 %s / max %s ms (worst %s); copy p50 %s / p99 %s / max %s ms\n' \
  "${L50[idle]}" "${L99[idle]}" "${LMAX[idle]}" "$RB50" "$RB99" "$RBMAX" "$RBMAXMAX" "$CB50" "$CB99" "$CBMAX"
printf '  sluice log: %s\n' "$OWN_LAG"
printf '  machine: %s cores; load average (1, 5, 15 min) at the start %s, at the end %s\n' "$(nproc)" "$LOAD_START" "$(loadavg)"
echo
printf 'RESULT rows=%s\nRESULT runs=%s\nRESULT writer_rate=%s\nRESULT backfill_rows=%s\n' "$ROWS" "$RUNS" "$TPS" "$BACKFILL_ROWS"
printf 'RESULT idle_lag_p50_ms=%s\nRESULT idle_lag_p99_ms=%s\nRESULT idle_lag_max_ms=%s\n' "${L50[idle]}" "${L99[idle]}" "${LMAX[idle]}"
printf 'RESULT resync_median_s=%.2f\nRESULT resync_lag_p50_ms=%s\nRESULT resync_lag_p99_ms=%s\nRESULT resync_lag_max_ms=%s\nRESULT resync_lag_max_worst_ms=%s\n' \
  "$R_MED" "$RB50" "$RB99" "$RBMAX" "$RBMAXMAX"
printf 'RESULT resync_longest_slice_ms=%s\nRESULT resync_longest_slice_worst_ms=%s\n' "$S_MED" "$S_MAX"
printf 'RESULT copy_median_s=%.2f\nRESULT copy_lag_p99_ms=%s\nRESULT ratio_resync_copy=%.2f\n' "$C_MED" "$CB99" "$RATIO"

# The figures are printed above even when this fails: the bench still exits 1.
say "checking that the target equals the source"
check_equal
echo "after the runs: churn and lag_probe equal (md5 by each server), sluice verify passed, sluice stopped with exit 0 on SIGTERM"
echo "RESULT equal=yes"
