#!/usr/bin/env bash
# Resync benchmark, PostgreSQL -> PostgreSQL: `sluice resync` of pgbench_accounts (1,000,000
# rows at scale 10) while pgbench writes and sluice streams, against a plain binary COPY of the
# same table between the same servers at the same time, in one run.
#
# Usage: bash bench/resync_pg.sh
#
# Claim measured: "`sluice resync` of a 1M-row table during pgbench leaves it equal, with the
# stream never paused longer than one chunk".
#
# Servers: bench-src (wal_level=logical, track_commit_timestamp=on) and bench-dst
# (wal_level=replica), fsync=on, started with scripts/pg.sh with the settings bench/cdc_pg.sh
# gives them (so neither bench restarts the other's servers). Data: pgbench -i -s SCALE plus a
# probe table lag_probe. One pipeline into a fresh database on bench-dst: `sluice run --once`
# (the snapshot), then `sluice run` in the background for the whole bench.
#
# Load, from the start of phase A to the end: pgbench -n -c 2 -j 2 -R BENCH_TPS (200
# transactions/s, rate-limited so that the 2-core machine keeps CPU for the replication; run as
# back-to-back 5 s segments so that it can be stopped cleanly) and a probe that inserts one
# lag_probe row every 100 ms. Lag of a probe row = (commit of the target transaction that applied
# it: a deferred constraint trigger on the target's lag_probe stamps clock_timestamp() into
# lag_seen) - (its source commit: pg_xact_commit_timestamp(xmin)), as in cdc_pg.sh. One clock.
# Lag figures are per time window, by the probe's source commit time.
#
# A. Idle: BENCH_IDLE_SECONDS (30) of streaming without a resync: lag p50/p99/max.
# B. Resync, BENCH_RUNS (3) times: BENCH_DAMAGE_ROWS (1000) random rows of the target's
#    pgbench_accounts are overwritten behind sluice's back (filler = 'resync-bench-damaged'),
#    then `sluice resync PIPE public.pgbench_accounts`. Timed from just before that command to
#    the moment the run's log shows "backfill of public.pgbench_accounts: complete" (polled
#    every 50 ms). Reported: that time, sluice's own copy time and "the longest one slice held
#    the stream up" from the line, the rows it copied (must be all of them), the lag
#    p50/p99/max of the probes committed in that window; afterwards no damaged row may be left.
# C. Baseline, BENCH_RUNS times, interleaved with B (run 1: B then C, run 2: C then B, ...):
#    psql -c "COPY (SELECT * FROM pgbench_accounts) TO STDOUT (FORMAT binary)" on bench-src
#    piped into psql -c "COPY accounts_copy FROM STDIN (FORMAT binary)" on bench-dst
#    (database resyncbench_copy; accounts_copy: the same columns and primary key, a logged
#    table, emptied before each run, untimed), while pgbench, the probe and sluice go on. Lag
#    during the copy is shown too: the cost of the load alone.
# Every timed run starts after a CHECKPOINT of both servers and BENCH_GAP_SECONDS (5) of settling.
# After the runs: pgbench and the probe stop, a marker row must reach the target, and SIGTERM
# must stop sluice with exit 0. Printed: medians over the runs, each run, `ratio resync/copy =
# X.XX` (median / median) and RESULT lines. Then every table must equal the source (count and
# md5 computed by each server; differing pgbench_accounts rows are listed), `sluice verify` must
# pass and `sluice status` must list the backfill as done; else exit 1. Last: RESULT equal=yes.
#
# Environment: BENCH_SCALE (10), BENCH_RUNS (3), BENCH_TPS (200), BENCH_IDLE_SECONDS (30),
# BENCH_GAP_SECONDS (5), BENCH_BACKFILL_ROWS (10000: snapshot.backfill_rows),
# BENCH_DAMAGE_ROWS (1000; 0: none), BENCH_LOG_LEVEL (info; debug: sluice also logs each slice read
# twice), BENCH_WAIT_TIMEOUT (600: seconds any one wait may take
# before the bench fails), SLUICE_BIN (build-release/sluice).
set -euo pipefail

ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$ROOT"

SCALE=${BENCH_SCALE:-10}
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
SRC=bench-src
DST=bench-dst
SRC_DB=resyncbench
DST_DB=resyncbench_sluice
COPY_DB=resyncbench_copy
TABLE=public.pgbench_accounts
SLUICE_SLOT=sluice_resyncbench
DAMAGED=resync-bench-damaged

say() { printf '==> %s\n' "$*" >&2; }
die() {
  printf 'resync_pg.sh: error: %s\n' "$*" >&2
  exit 1
}
for v in SCALE RUNS TPS IDLE_SECONDS BACKFILL_ROWS WAIT_TIMEOUT; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "BENCH_$v must be a positive integer, not '${!v}'"
done
[[ $LOG_LEVEL =~ ^(debug|info)$ ]] || die "BENCH_LOG_LEVEL must be debug or info, not '$LOG_LEVEL'"
for v in GAP_SECONDS DAMAGE_ROWS; do
  [[ ${!v} =~ ^[0-9]+$ ]] || die "BENCH_$v must be a non-negative integer, not '${!v}'"
done

bash scripts/deps.sh >&2
if [[ ! -x $SLUICE_BIN ]]; then
  [[ $SLUICE_BIN == "$ROOT/build-release/sluice" ]] || die "SLUICE_BIN=$SLUICE_BIN is not an executable"
  say "building $SLUICE_BIN"
  { cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release >/dev/null && cmake --build build-release -j2 >/dev/null; } ||
    die "building $SLUICE_BIN failed"
fi
export PATH=$PGBIN:$PATH
command -v timeout >/dev/null || die "timeout (coreutils) not found"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/sluice-resyncbench.XXXXXX")
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
LOAD_START=$(loadavg)
STOP=$WORK/stop-load # pgbench and the probe stop when this file exists
BG=()
on_exit() {
  local rc=$? p
  touch "$STOP"
  for p in "${BG[@]}"; do kill "$p" 2>/dev/null || true; done
  ((rc == 0)) || printf 'resync_pg.sh: FAILED (exit %d); logs in %s\n' "$rc" "$WORK" >&2
  ((rc != 0)) || printf 'logs kept in %s\n' "$WORK" >&2
}
trap on_exit EXIT

say "starting servers $SRC (wal_level=logical, track_commit_timestamp=on) and $DST (wal_level=replica), fsync=on"
bash scripts/pg.sh start "$SRC" --wal-level logical --fsync on -c track_commit_timestamp=on 2>>"$WORK/servers.log" ||
  die "could not start $SRC (see $WORK/servers.log)"
# the setting cdc_pg.sh gives bench-dst, so that running one bench after the other restarts nothing
bash scripts/pg.sh start "$DST" --wal-level replica --fsync on -c wal_retrieve_retry_interval=100ms 2>>"$WORK/servers.log" ||
  die "could not start $DST (see $WORK/servers.log)"
env_of() { bash scripts/pg.sh env "$1" | sed -n "s/^export $2=//p"; }
unq() { eval "printf '%s' $1"; }
SRC_PORT=$(env_of "$SRC" SL_PG_PORT)
DST_PORT=$(env_of "$DST" SL_PG_PORT)
SRC_PW=$(unq "$(env_of "$SRC" SL_PG_PASSWORD)")
DST_PW=$(unq "$(env_of "$DST" SL_PG_PASSWORD)")
# PGTZ too: pgbench_history.mtime (timestamp without time zone) is compared in the server's zone
unset PGHOST PGHOSTADDR PGPORT PGDATABASE PGUSER PGPASSWORD PGSERVICE PGOPTIONS PGTZ || true
(
  umask 077
  printf '127.0.0.1:%s:*:sluice:%s\n127.0.0.1:%s:*:sluice:%s\n' "$SRC_PORT" "$SRC_PW" "$DST_PORT" "$DST_PW" >"$WORK/pgpass"
)
export PGPASSFILE=$WORK/pgpass
export SL_PG_PASSWORD=$SRC_PW SL_BENCH_DST_PASSWORD=$DST_PW
PSQL=(psql -X -q -v ON_ERROR_STOP=1 -At -h 127.0.0.1 -U sluice)
src_sql() { "${PSQL[@]}" -p "$SRC_PORT" -d "$SRC_DB" -c "$1"; }
dst_sql() { "${PSQL[@]}" -p "$DST_PORT" -d "$1" -c "$2"; }
# The superuser, through the instance's socket.
super_src() { bash scripts/pg.sh psql "$SRC" -d "$SRC_DB" -q -At -c "$1"; }
super_dst() { bash scripts/pg.sh psql "$DST" -d "$1" -q -At -c "$2"; }
now() { date +%s.%N; }
calc() { awk "BEGIN { printf \"%.6f\", $1 }"; }
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
maxof() { sort -g | tail -1; }

checkpoint_both() {
  super_src "CHECKPOINT" >/dev/null || die "CHECKPOINT on $SRC failed"
  super_dst postgres "CHECKPOINT" >/dev/null || die "CHECKPOINT on $DST failed"
}

# One session on the source: wait (bounded) until CONDITION over pg_replication_slots holds.
wait_slots() { # WHAT CONDITION
  super_src "DO \$\$ DECLARE deadline timestamptz := clock_timestamp() + interval '$WAIT_TIMEOUT s'; BEGIN
      WHILE NOT coalesce(($2), false) LOOP
        IF clock_timestamp() > deadline THEN RAISE EXCEPTION 'timed out after $WAIT_TIMEOUT s: $1'; END IF;
        PERFORM pg_sleep(0.05);
      END LOOP; END \$\$" >/dev/null 2>>"$WORK/waits.log" || die "$1: not reached within $WAIT_TIMEOUT s (see $WORK/waits.log)"
}

# One session on bench-dst: wait (bounded) until lag_probe row $1 is visible in the target.
watch_marker() { # ID
  super_dst "$DST_DB" "DO \$\$ DECLARE deadline timestamptz := clock_timestamp() + interval '$WAIT_TIMEOUT s'; BEGIN
      WHILE NOT EXISTS (SELECT 1 FROM public.lag_probe WHERE id = $1) LOOP
        IF clock_timestamp() > deadline THEN RAISE EXCEPTION 'lag_probe row $1 not applied within $WAIT_TIMEOUT s'; END IF;
        PERFORM pg_sleep(0.02);
      END LOOP; END \$\$" >/dev/null 2>>"$WORK/waits.log" || die "marker $1 did not reach the target within $WAIT_TIMEOUT s (see $WORK/waits.log)"
}

# A marker row on the source; prints its id.
marker() { src_sql "INSERT INTO lag_probe DEFAULT VALUES RETURNING id"; }

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

# md5 of a table's rows as each server computes it.
declare -A DIGEST_Q=(
  [pgbench_accounts]="SELECT count(*) || ':' || md5(string_agg(aid || ':' || bid || ':' || abalance || ':' || filler, ',' ORDER BY aid)) FROM pgbench_accounts"
  [pgbench_branches]="SELECT count(*) || ':' || md5(string_agg(bid || ':' || bbalance, ',' ORDER BY bid)) FROM pgbench_branches"
  [pgbench_tellers]="SELECT count(*) || ':' || md5(string_agg(tid || ':' || bid || ':' || tbalance, ',' ORDER BY tid)) FROM pgbench_tellers"
  [pgbench_history]="SELECT count(*) || ':' || coalesce(md5(string_agg(x, ',' ORDER BY x)), '') FROM (SELECT concat_ws(':', tid, bid, aid, delta, mtime) AS x FROM pgbench_history) h"
  [lag_probe]="SELECT count(*) || ':' || md5(string_agg(id || ':' || extract(epoch FROM t), ',' ORDER BY id)) FROM lag_probe"
)

# ------------------------------------------------------------------ data ---
AIDS=$((SCALE * 100000))
say "loading pgbench scale $SCALE into $SRC/$SRC_DB; fresh databases $DST/$DST_DB and $DST/$COPY_DB"
bash scripts/pg.sh createdb "$SRC" "$SRC_DB" 2>>"$WORK/servers.log" || die "could not create $SRC/$SRC_DB"
bash scripts/pg.sh createdb "$DST" "$DST_DB" 2>>"$WORK/servers.log" || die "could not create $DST/$DST_DB"
bash scripts/pg.sh createdb "$DST" "$COPY_DB" 2>>"$WORK/servers.log" || die "could not create $DST/$COPY_DB"
[[ $(super_src "SHOW track_commit_timestamp") == on ]] || die "track_commit_timestamp is not on in $SRC"
pgbench -i -q -s "$SCALE" -h 127.0.0.1 -p "$SRC_PORT" -U sluice "$SRC_DB" >"$WORK/pgbench-init.log" 2>&1 || die "pgbench -i failed (see $WORK/pgbench-init.log)"
src_sql "CREATE TABLE lag_probe (id bigserial PRIMARY KEY, t timestamptz NOT NULL DEFAULT clock_timestamp()); ANALYZE lag_probe"
[[ $(src_sql "SELECT count(*) FROM pgbench_accounts") == "$AIDS" ]] || die "pgbench_accounts does not have $AIDS rows"
# the baseline's scratch table: pgbench_accounts' columns and primary key, logged like sluice's target
dst_sql "$COPY_DB" "CREATE TABLE accounts_copy (aid integer NOT NULL PRIMARY KEY, bid integer, abalance integer, filler character(84))"

PIPE=$WORK/bench.yaml
cat >"$PIPE" <<YAML
name: resyncbench
log_level: $LOG_LEVEL
source:
  type: postgres
  url: postgres://sluice@127.0.0.1:$SRC_PORT/$SRC_DB
  password: \${SL_PG_PASSWORD}
  publication: resyncbench_sluice
target:
  type: postgres
  url: postgres://sluice@127.0.0.1:$DST_PORT/$DST_DB
  password: \${SL_BENCH_DST_PASSWORD}
snapshot: { parallelism: 2, backfill_rows: $BACKFILL_ROWS }
state: { url: sqlite://$WORK/state.db }
YAML

say "snapshot: sluice run --once"
t0=$(now)
timeout -s TERM "$WAIT_TIMEOUT" "$SLUICE_BIN" run --once "$PIPE" 2>"$WORK/snapshot.log" || die "sluice snapshot failed (see $WORK/snapshot.log)"
SNAP_SECS=$(calc "$(now) - $t0")
wait_slots "slot $SLUICE_SLOT released" "SELECT NOT active FROM pg_replication_slots WHERE slot_name = '$SLUICE_SLOT'"
# At commit of the target transaction that applied a probe row: (id, clock_timestamp()).
dst_sql "$DST_DB" "CREATE TABLE lag_seen (id bigint PRIMARY KEY, seen timestamptz NOT NULL);
CREATE TABLE probe_commit (id bigint PRIMARY KEY, committed timestamptz NOT NULL);
CREATE FUNCTION lag_seen_stamp() RETURNS trigger LANGUAGE plpgsql AS
  \$\$ BEGIN INSERT INTO public.lag_seen VALUES (NEW.id, clock_timestamp()) ON CONFLICT (id) DO NOTHING; RETURN NULL; END \$\$;
CREATE CONSTRAINT TRIGGER lag_seen_at_commit AFTER INSERT ON lag_probe
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION lag_seen_stamp();
ALTER TABLE lag_probe ENABLE ALWAYS TRIGGER lag_seen_at_commit;"
SYNC=$(dst_sql "$DST_DB" "SHOW synchronous_commit")

say "sluice run in the background"
"$SLUICE_BIN" run "$PIPE" 2>"$WORK/sluice-run.log" &
SL_PID=$!
BG+=("$SL_PID")
wait_slots "sluice streaming" "SELECT active FROM pg_replication_slots WHERE slot_name = '$SLUICE_SLOT'"
watch_marker "$(marker)"
sluice_alive

# --------------------------------------------------------------- the load ---
say "load: pgbench -n -c 2 -j 2 -R $TPS (5 s segments) and a lag_probe row every 100 ms, until the end"
(
  while [[ ! -e $STOP ]]; do
    pgbench -n -c 2 -j 2 -R "$TPS" -T 5 -h 127.0.0.1 -p "$SRC_PORT" -U sluice "$SRC_DB" >>"$WORK/pgbench.log" 2>&1 || exit 1
  done
) &
PGB_PID=$!
BG+=("$PGB_PID")
(
  while [[ ! -e $STOP ]]; do
    echo "INSERT INTO lag_probe DEFAULT VALUES;"
    sleep 0.1
  done | "${PSQL[@]}" -p "$SRC_PORT" -d "$SRC_DB" >/dev/null
) &
PROBE_PID=$!
BG+=("$PROBE_PID")
load_alive() {
  kill -0 "$PGB_PID" 2>/dev/null || die "pgbench stopped (see $WORK/pgbench.log)"
  kill -0 "$PROBE_PID" 2>/dev/null || die "the probe writer stopped"
  sluice_alive
}

# Time windows (name, start, end: epoch seconds), for the lag and the pgbench rate.
: >"$WORK/windows.tsv"
window() { printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$WORK/windows.tsv"; }
settle() {
  checkpoint_both
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
RESYNC_SECS=() OWN_SECS=() SLICE_MS=() DAMAGE_N=()
resync_run() { # RUN
  local n0 t_req t_done line rows own ms damaged left i
  if ((DAMAGE_ROWS > 0)); then
    dst_sql "$DST_DB" "UPDATE pgbench_accounts SET filler = '$DAMAGED'
      WHERE aid IN (SELECT 1 + (random() * ($AIDS - 1))::int FROM generate_series(1, $DAMAGE_ROWS))" >/dev/null
  fi
  damaged=$(dst_sql "$DST_DB" "SELECT count(*) FROM pgbench_accounts WHERE filler = '$DAMAGED'")
  settle
  n0=$(grep -c "$DONE_RE" "$WORK/sluice-run.log" || true)
  t_req=$(now)
  "$SLUICE_BIN" resync "$PIPE" "$TABLE" >>"$WORK/resync.log" 2>&1 || die "sluice resync failed (see $WORK/resync.log)"
  for ((i = 0; ; i++)); do
    (($(grep -c "$DONE_RE" "$WORK/sluice-run.log" || true) > n0)) && break
    ! grep -q "backfill of $TABLE failed" "$WORK/sluice-run.log" || die "the backfill failed (see $WORK/sluice-run.log)"
    ((i < WAIT_TIMEOUT * 20)) || die "resync run $1: no completion line within $WAIT_TIMEOUT s (see $WORK/sluice-run.log)"
    ((i % 20 != 0)) || load_alive
    sleep 0.05
  done
  t_done=$(now)
  window "resync-$1" "$t_req" "$t_done"
  line=$(grep "$DONE_RE" "$WORK/sluice-run.log" | sed -n "$((n0 + 1))p")
  [[ $line =~ complete,\ ([0-9]+)\ rows\ copied\ in\ ([0-9.]+)s\;\ the\ longest\ one\ slice\ held\ the\ stream\ up:\ ([0-9]+)\ ms ]] ||
    die "cannot read the completion line: $line"
  rows=${BASH_REMATCH[1]} own=${BASH_REMATCH[2]} ms=${BASH_REMATCH[3]}
  ((rows == AIDS)) || die "resync run $1 copied $rows rows, not $AIDS: $line"
  left=$(dst_sql "$DST_DB" "SELECT count(*) FROM pgbench_accounts WHERE filler = '$DAMAGED'")
  ((left == 0)) || die "resync run $1: $left of the $damaged damaged rows are still damaged on the target"
  RESYNC_SECS+=("$(calc "$t_done - $t_req")") OWN_SECS+=("$own") SLICE_MS+=("$ms") DAMAGE_N+=("$damaged")
  printf '  resync run %d: %.2f s request -> completion line; sluice: %s rows in %s s, longest slice %s ms%s; %s damaged rows repaired\n' \
    "$1" "$(calc "$t_done - $t_req")" "$rows" "$own" "$ms" "$([[ $line == *"read twice"* ]] && echo ' (some slices read twice)')" "$damaged" >&2
}

# ------------------------------------------------------- C: the baseline ---
COPY_SECS=()
copy_run() { # RUN
  local t0 t1 n
  dst_sql "$COPY_DB" "TRUNCATE accounts_copy"
  settle
  t0=$(now)
  timeout -s TERM "$WAIT_TIMEOUT" "${PSQL[@]}" -p "$SRC_PORT" -d "$SRC_DB" -c "COPY (SELECT * FROM pgbench_accounts) TO STDOUT (FORMAT binary)" |
    timeout -s TERM "$WAIT_TIMEOUT" "${PSQL[@]}" -p "$DST_PORT" -d "$COPY_DB" -c "COPY accounts_copy FROM STDIN (FORMAT binary)" \
      >>"$WORK/copy.log" 2>&1 || die "copy run $1 failed or took over $WAIT_TIMEOUT s (see $WORK/copy.log)"
  t1=$(now)
  window "copy-$1" "$t0" "$t1"
  n=$(dst_sql "$COPY_DB" "SELECT count(*) FROM accounts_copy")
  ((n == AIDS)) || die "copy run $1 copied $n rows, not $AIDS"
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
# The rows of pgbench_accounts that differ (at most 10), each with the source row's last writer's
# commit time and the window it fell in: what a failure report needs.
diff_accounts() {
  local q="COPY (SELECT aid, md5(aid || ':' || bid || ':' || abalance || ':' || filler) FROM pgbench_accounts ORDER BY aid) TO STDOUT" aid c w
  "${PSQL[@]}" -p "$SRC_PORT" -d "$SRC_DB" -c "$q" >"$WORK/accounts-src.tsv"
  "${PSQL[@]}" -p "$DST_PORT" -d "$DST_DB" -c "$q" >"$WORK/accounts-dst.tsv"
  diff "$WORK/accounts-src.tsv" "$WORK/accounts-dst.tsv" | sed -n 's/^[<>] \([0-9]*\)\t.*/\1/p' | sort -nu | head -10 |
    while read -r aid; do
      c=$(src_sql "SELECT extract(epoch FROM pg_xact_commit_timestamp(xmin)) FROM pgbench_accounts WHERE aid = $aid")
      w=$(awk -F'\t' -v c="${c:-0}" '$2 <= c && c < $3 { print $1 }' "$WORK/windows.tsv")
      printf '  aid %s: source %s (xmin %s committed %s, window %s); target %s\n' "$aid" \
        "$(src_sql "SELECT bid || ' ' || abalance || ' ' || rtrim(filler) FROM pgbench_accounts WHERE aid = $aid")" \
        "$(src_sql "SELECT xmin FROM pgbench_accounts WHERE aid = $aid")" \
        "$(src_sql "SELECT pg_xact_commit_timestamp(xmin) FROM pgbench_accounts WHERE aid = $aid")" "${w:-none}" \
        "$(dst_sql "$DST_DB" "SELECT coalesce((SELECT bid || ' ' || abalance || ' ' || rtrim(filler) FROM pgbench_accounts WHERE aid = $aid), 'no row')")" >&2
    done
}
# Every table equal, sluice verify, the backfill listed as done.
check_equal() {
  local t want got
  for t in pgbench_accounts pgbench_branches pgbench_tellers pgbench_history lag_probe; do
    want=$(src_sql "${DIGEST_Q[$t]}")
    got=$(dst_sql "$DST_DB" "${DIGEST_Q[$t]}")
    if [[ $got != "$want" ]]; then
      [[ $t != pgbench_accounts ]] || diff_accounts
      die "the target's $t ($got) differs from the source ($want)"
    fi
  done
  "$SLUICE_BIN" verify "$PIPE" >"$WORK/verify.log" 2>&1 || die "sluice verify found a difference (see $WORK/verify.log)"
  "$SLUICE_BIN" status "$PIPE" >"$WORK/status.log" 2>&1 || die "sluice status failed (see $WORK/status.log)"
  grep -q "backfill $TABLE *done" "$WORK/status.log" || die "sluice status does not list the backfill of $TABLE as done (see $WORK/status.log)"
}

say "stopping the load; the target must catch up; SIGTERM stops sluice"
touch "$STOP"
wait_pid "$PGB_PID" "pgbench"
wait_pid "$PROBE_PID" "the probe writer"
sluice_alive
watch_marker "$(marker)"
kill -TERM "$SL_PID"
wait_pid "$SL_PID" "sluice run (on SIGTERM)"

# ------------------------------------------------------------------- lag ---
# Source commit times of every probe row, beside lag_seen in the target database.
super_src "COPY (SELECT id, pg_xact_commit_timestamp(xmin) FROM lag_probe) TO STDOUT" >"$WORK/probe_commit.tsv"
! grep -q '\\N' "$WORK/probe_commit.tsv" || die "a probe row has no commit timestamp (track_commit_timestamp off?)"
"${PSQL[@]}" -p "$DST_PORT" -d "$DST_DB" -c "\\copy probe_commit FROM '$WORK/probe_commit.tsv'"
read -r np ns <<<"$(dst_sql "$DST_DB" "SELECT count(*), count(s.id) FROM probe_commit p LEFT JOIN lag_seen s USING (id)" | tr '|' ' ')"
((np == ns)) || die "the target stamped $ns of the $np probe rows"
declare -A L50 L99 LMAX LN WTPS
while IFS=$'\t' read -r name a b; do
  read -r n p50 p99 pmax <<<"$(dst_sql "$DST_DB" "SELECT count(*), round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 1),
      round(percentile_cont(0.99) WITHIN GROUP (ORDER BY ms)::numeric, 1), round(max(ms)::numeric, 1)
    FROM (SELECT extract(epoch FROM s.seen - p.committed) * 1000 AS ms FROM probe_commit p JOIN lag_seen s USING (id)
          WHERE p.committed >= to_timestamp($a) AND p.committed < to_timestamp($b)) x" | tr '|' ' ')"
  ((n > 0)) || die "no probe row was committed during $name"
  L50[$name]=$p50 L99[$name]=$p99 LMAX[$name]=$pmax LN[$name]=$n
  WTPS[$name]=$(src_sql "SELECT round(count(*) / ($b - $a)) FROM pgbench_history
    WHERE mtime >= to_timestamp($a)::timestamp AND mtime < to_timestamp($b)::timestamp")
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
SLICES=$(((AIDS + BACKFILL_ROWS - 1) / BACKFILL_ROWS))
RATIO=$(calc "$R_MED / $C_MED")
OWN_LAG=$(grep -o 'lag per group.*' "$WORK/sluice-run.log" | tail -1 || true)

echo
echo "resync of $TABLE ($AIDS rows, pgbench scale $SCALE, snapshot.backfill_rows $BACKFILL_ROWS: $SLICES slices) while"
echo "pgbench -c 2 -j 2 -R $TPS writes and sluice streams (target synchronous_commit=$SYNC); $RUNS runs, medians:"
printf '  initial snapshot (sluice run --once, every table): %.2f s\n' "$SNAP_SECS"
printf '  resync, request -> completion line: median %.2f s   runs:%s\n' "$R_MED" "$(printf ' %.2f' "${RESYNC_SECS[@]}")"
printf '  resync, sluice'"'"'s own copy time: median %s s   runs: %s\n' "$O_MED" "${OWN_SECS[*]}"
printf '  mean time per slice (request -> completion / %d slices): %.0f ms\n' "$SLICES" "$(calc "$R_MED * 1000 / $SLICES")"
printf '  longest one slice held the stream up (sluice log): median %s ms, max %s ms   runs: %s\n' "$S_MED" "$S_MAX" "${SLICE_MS[*]}"
printf '  damaged target rows repaired by each resync: %s\n' "${DAMAGE_N[*]}"
printf '  baseline COPY (SELECT *) binary | COPY into accounts_copy (primary key, logged): median %.2f s   runs:%s\n' "$C_MED" "$(printf ' %.2f' "${COPY_SECS[@]}")"
printf 'ratio resync/copy = %.2f\n' "$RATIO"
echo "lag (source commit -> commit of the applying target transaction), probes by source commit time:"
printf '  %-10s %7s %7s %9s %9s %9s\n' window tps probes "p50 ms" "p99 ms" "max ms"
while IFS=$'\t' read -r name _ _; do
  printf '  %-10s %7s %7s %9s %9s %9s\n' "$name" "${WTPS[$name]}" "${LN[$name]}" "${L50[$name]}" "${L99[$name]}" "${LMAX[$name]}"
done <"$WORK/windows.tsv"
printf '  medians over the runs: idle p50 %s / p99 %s / max %s ms; resync p50 %s / p99 %s / max %s ms (worst %s); copy p50 %s / p99 %s / max %s ms\n' \
  "${L50[idle]}" "${L99[idle]}" "${LMAX[idle]}" "$RB50" "$RB99" "$RBMAX" "$RBMAXMAX" "$CB50" "$CB99" "$CBMAX"
printf '  sluice log: %s\n' "$OWN_LAG"
printf '  machine: %s cores; load average (1, 5, 15 min) at the start %s, at the end %s\n' "$(nproc)" "$LOAD_START" "$(loadavg)"
echo
printf 'RESULT scale=%s\nRESULT rows=%s\nRESULT runs=%s\nRESULT pgbench_rate=%s\nRESULT backfill_rows=%s\n' "$SCALE" "$AIDS" "$RUNS" "$TPS" "$BACKFILL_ROWS"
printf 'RESULT idle_lag_p50_ms=%s\nRESULT idle_lag_p99_ms=%s\nRESULT idle_lag_max_ms=%s\n' "${L50[idle]}" "${L99[idle]}" "${LMAX[idle]}"
printf 'RESULT resync_median_s=%.2f\nRESULT resync_lag_p50_ms=%s\nRESULT resync_lag_p99_ms=%s\nRESULT resync_lag_max_ms=%s\nRESULT resync_lag_max_worst_ms=%s\n' \
  "$R_MED" "$RB50" "$RB99" "$RBMAX" "$RBMAXMAX"
printf 'RESULT resync_longest_slice_ms=%s\nRESULT resync_longest_slice_worst_ms=%s\n' "$S_MED" "$S_MAX"
printf 'RESULT copy_median_s=%.2f\nRESULT copy_lag_p99_ms=%s\nRESULT ratio_resync_copy=%.2f\n' "$C_MED" "$CB99" "$RATIO"

# The figures are printed above even when this fails: the bench still exits 1.
say "checking that the target equals the source"
check_equal
echo "after the runs: every table equal (md5 by each server), sluice verify passed, sluice stopped with exit 0 on SIGTERM"
echo "RESULT equal=yes"
