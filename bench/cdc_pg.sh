#!/usr/bin/env bash
# Change-capture benchmark, PostgreSQL -> PostgreSQL: sluice vs PostgreSQL's own logical
# replication (subscriptions), in one run, on the same two local servers, on the same changes.
#
# Usage: bash bench/cdc_pg.sh
#
# Servers: bench-src (wal_level=logical, track_commit_timestamp=on) and bench-dst
# (wal_level=replica, wal_retrieve_retry_interval=100ms so that ENABLE starts an apply worker at
# once rather than up to 5 s later), fsync=on, started with scripts/pg.sh (the instances bench/snapshot_pg.sh
# uses; starting with other settings restarts them). Data: pgbench -i -s SCALE plus a probe
# table lag_probe(id bigserial, t = clock_timestamp() at the source insert).
#
# Contenders, each with its own database on bench-dst:
#   sluice       `sluice run` into cdcbench_sluice. sluice has no setting for asynchronous
#                commit: it commits with the target's default, synchronous_commit = on (the
#                bench reads the value its role gets in that database and prints it).
#   native_off   a subscription (binary = true, synchronous_commit = off: the subscription
#                default) into cdcbench_native_off. Its apply worker still acknowledges a source
#                position only once the target's WAL is flushed past the commit that applied it.
#   native_on    the same with synchronous_commit = on, into cdcbench_native_on: the same
#                commit setting as sluice.
# Every ratio is printed labelled with the two settings it compares.
#
# 1. Catch-up. sluice snapshots everything (`run --once`, one run, timed: the snapshot rate of
#    these rows). The subscriptions copy the same tables (untimed). Then each contender catches
#    up once, untimed, so all start level. Per run, with nothing replicating, a backlog of
#    CHANGES row changes (transactions of 100 updates of consecutive pgbench_accounts rows at a
#    random place) is written, then one marker row into lag_probe. Each contender then applies
#    that same backlog alone, in an order that rotates from run to run (run 1: sluice,
#    native_off, native_on; run 2: native_off, native_on, sluice; ...), each after a CHECKPOINT
#    on both servers (as the superuser, through scripts/pg.sh psql; the bench fails if it
#    fails). The clock starts when the contender is started (`sluice run --once`, or `ALTER
#    SUBSCRIPTION ... ENABLE`) and stops when the marker row is visible in the contender's
#    target database: one session on bench-dst polls for it every 20 ms, so the same stopwatch
#    times every contender. Committed rows are visible in commit order, so the marker means the
#    whole backlog is applied. The same session then waits until the target's WAL is flushed
#    past that point and reports that time too (it differs only for synchronous_commit = off).
#    sluice must also exit 0; its process time is shown beside. Every wait has a deadline
#    (BENCH_WAIT_TIMEOUT) that fails the bench. After the runs `sluice verify` must pass, and
#    every target copy of pgbench_accounts must equal the source (md5 computed by each server).
#    Reported: each run, the median row changes/s per contender, the ratios of medians, and
#    sluice's peak RSS per run (GNU time's maximum resident set size; goal < 150 MB).
# 2. Lag. sluice (`run`) and both subscriptions stream at once while pgbench runs at full speed
#    (-c 4 -j 2 -T LAG_SECONDS) and a probe inserts one lag_probe row every 100 ms. The bench
#    starts pgbench only when every replicator's slot is active and each target has applied a
#    marker written after that. Lag of a probe row = (the moment the target transaction that
#    applied it commits) - (the moment its source transaction committed):
#      - source: pg_xact_commit_timestamp(xmin) of the row, the time PostgreSQL records for the
#        commit (track_commit_timestamp = on on bench-src);
#      - target: a deferred constraint trigger (INITIALLY DEFERRED, ENABLE ALWAYS so the
#        subscription's apply worker fires it too) on each target copy of lag_probe writes
#        (id, clock_timestamp()) into lag_seen. Deferred triggers run in the commit of the
#        target transaction, after every statement of it, just before its commit record, so a
#        row applied early in a group that commits later is stamped at the group's commit. The
#        target's own WAL flush at commit is not included, for every contender alike. (The
#        target's commit timestamp cannot serve: for a subscription PostgreSQL records the
#        source's commit time there.)
#    Both servers run on this machine: one clock. Every probe must be seen on every target.
#    Reported: p50/p99/max per contender, the ratios of p50 and p99 labelled with the settings,
#    sluice's own log line (source commit -> target commit per group), and its peak RSS. SIGTERM must stop
#    sluice with exit 0. Afterwards every pgbench table and lag_probe must equal the source on
#    every target (md5 computed by each server).
#
# Environment: BENCH_SCALE (10), BENCH_CHANGES (1000000), BENCH_RUNS (3: each contender in each
# position once), BENCH_LAG_SECONDS (60), BENCH_NATIVE (1; 0 skips the subscriptions),
# BENCH_WAIT_TIMEOUT (600: seconds any one wait may take before the bench fails),
# SLUICE_BIN (build-release/sluice).
# Goals on the project's 2-core machine: >= 100k row changes/s applied; lag p99 < 500 ms; peak RSS < 150 MB.
set -euo pipefail

ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$ROOT"

SCALE=${BENCH_SCALE:-10}
CHANGES=${BENCH_CHANGES:-1000000}
RUNS=${BENCH_RUNS:-3}
LAG_SECONDS=${BENCH_LAG_SECONDS:-60}
NATIVE=${BENCH_NATIVE:-1}
WAIT_TIMEOUT=${BENCH_WAIT_TIMEOUT:-600}
SLUICE_BIN=${SLUICE_BIN:-$ROOT/build-release/sluice}
PGBIN=/usr/lib/postgresql/15/bin
SRC=bench-src
DST=bench-dst
SRC_DB=cdcbench
SLUICE_SLOT=sluice_cdcbench

say() { printf '==> %s\n' "$*" >&2; }
die() {
  printf 'cdc_pg.sh: error: %s\n' "$*" >&2
  exit 1
}
for v in SCALE CHANGES RUNS LAG_SECONDS WAIT_TIMEOUT; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "BENCH_$v must be a positive integer, not '${!v}'"
done
((CHANGES % 100 == 0)) || die "BENCH_CHANGES must be a multiple of 100"
[[ $NATIVE == 0 || $NATIVE == 1 ]] || die "BENCH_NATIVE must be 0 or 1, not '$NATIVE'"

# contender -> target database, subscription (native only), commit setting
CONTENDERS=(sluice)
((NATIVE == 1)) && CONTENDERS+=(native_off native_on)
declare -A DB=([sluice]=cdcbench_sluice [native_off]=cdcbench_native_off [native_on]=cdcbench_native_on)
declare -A SETTING=([native_off]="synchronous_commit=off" [native_on]="synchronous_commit=on")

bash scripts/deps.sh >&2
if [[ ! -x $SLUICE_BIN ]]; then
  [[ $SLUICE_BIN == "$ROOT/build-release/sluice" ]] || die "SLUICE_BIN=$SLUICE_BIN is not an executable"
  say "building $SLUICE_BIN"
  { cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release >/dev/null && cmake --build build-release -j2 >/dev/null; } ||
    die "building $SLUICE_BIN failed"
fi
export PATH=$PGBIN:$PATH
command -v timeout >/dev/null || die "timeout (coreutils) not found"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/sluice-cdcbench.XXXXXX")
BG=()
on_exit() {
  local rc=$? p
  for p in "${BG[@]}"; do
    pkill -P "$p" 2>/dev/null || true
    kill "$p" 2>/dev/null || true
  done
  if ((NATIVE == 1)) && [[ -n ${DST_PORT:-} ]]; then # cleanup only: leave no apply worker running
    bash scripts/pg.sh psql "$DST" -d "${DB[native_off]}" -q -c "ALTER SUBSCRIPTION bench_native_off DISABLE" >/dev/null 2>&1 || true
    bash scripts/pg.sh psql "$DST" -d "${DB[native_on]}" -q -c "ALTER SUBSCRIPTION bench_native_on DISABLE" >/dev/null 2>&1 || true
  fi
  ((rc == 0)) || printf 'cdc_pg.sh: FAILED (exit %d); logs in %s\n' "$rc" "$WORK" >&2
  ((rc != 0)) || printf 'logs kept in %s\n' "$WORK" >&2
}
trap on_exit EXIT

say "starting servers $SRC (wal_level=logical, track_commit_timestamp=on) and $DST (wal_level=replica), fsync=on"
bash scripts/pg.sh start "$SRC" --wal-level logical --fsync on -c track_commit_timestamp=on 2>>"$WORK/servers.log" ||
  die "could not start $SRC (see $WORK/servers.log)"
# wal_retrieve_retry_interval: the logical replication launcher starts no apply worker within
# this long (default 5 s) of its previous start, which would add up to 5 s to every native run.
bash scripts/pg.sh start "$DST" --wal-level replica --fsync on -c wal_retrieve_retry_interval=100ms 2>>"$WORK/servers.log" ||
  die "could not start $DST (see $WORK/servers.log)"
env_of() { bash scripts/pg.sh env "$1" | sed -n "s/^export $2=//p"; }
unq() { eval "printf '%s' $1"; }
SRC_PORT=$(env_of "$SRC" SL_PG_PORT)
DST_PORT=$(env_of "$DST" SL_PG_PORT)
SRC_PW=$(unq "$(env_of "$SRC" SL_PG_PASSWORD)")
DST_PW=$(unq "$(env_of "$DST" SL_PG_PASSWORD)")
unset PGHOST PGHOSTADDR PGPORT PGDATABASE PGUSER PGPASSWORD PGSERVICE PGOPTIONS || true
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
slot_inactive() { wait_slots "slot $1 released" "SELECT NOT active FROM pg_replication_slots WHERE slot_name = '$1'"; }
slot_confirmed() { wait_slots "slot $1 confirmed $2" "SELECT confirmed_flush_lsn >= '$2' FROM pg_replication_slots WHERE slot_name = '$1'"; }

# One session on bench-dst, database $1: wait (bounded) until lag_probe row $2 is visible, then
# until the WAL is flushed past that point. Prints "VISIBLE DURABLE" (epoch seconds).
watch_marker() { # DB ID
  bash scripts/pg.sh psql "$DST" -d "$1" -q -At -f - <<SQL
DO \$\$
DECLARE
  deadline timestamptz := clock_timestamp() + interval '$WAIT_TIMEOUT s';
  l pg_lsn;
BEGIN
  WHILE NOT EXISTS (SELECT 1 FROM public.lag_probe WHERE id = $2) LOOP
    IF clock_timestamp() > deadline THEN
      RAISE EXCEPTION 'lag_probe row $2 not applied in $1 within $WAIT_TIMEOUT s';
    END IF;
    PERFORM pg_sleep(0.02);
  END LOOP;
  PERFORM set_config('bench.visible', extract(epoch FROM clock_timestamp())::text, false);
  l := pg_current_wal_insert_lsn();
  WHILE pg_current_wal_flush_lsn() < l LOOP
    IF clock_timestamp() > deadline THEN
      RAISE EXCEPTION 'WAL of $1 not flushed to % within $WAIT_TIMEOUT s', l;
    END IF;
    PERFORM pg_sleep(0.002);
  END LOOP;
  PERFORM set_config('bench.durable', extract(epoch FROM clock_timestamp())::text, false);
END
\$\$;
SELECT current_setting('bench.visible') || ' ' || current_setting('bench.durable');
SQL
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

# md5 of a table's rows as each server computes it.
declare -A DIGEST_Q=(
  [pgbench_accounts]="SELECT count(*) || ':' || md5(string_agg(aid || ':' || bid || ':' || abalance || ':' || filler, ',' ORDER BY aid)) FROM pgbench_accounts"
  [pgbench_branches]="SELECT count(*) || ':' || md5(string_agg(bid || ':' || bbalance, ',' ORDER BY bid)) FROM pgbench_branches"
  [pgbench_tellers]="SELECT count(*) || ':' || md5(string_agg(tid || ':' || bid || ':' || tbalance, ',' ORDER BY tid)) FROM pgbench_tellers"
  [pgbench_history]="SELECT count(*) || ':' || coalesce(md5(string_agg(x, ',' ORDER BY x)), '') FROM (SELECT concat_ws(':', tid, bid, aid, delta, mtime) AS x FROM pgbench_history) h"
  [lag_probe]="SELECT count(*) || ':' || md5(string_agg(id || ':' || extract(epoch FROM t), ',' ORDER BY id)) FROM lag_probe"
)
compare_tables() { # WHEN TABLE...
  local when=$1 t c want got
  shift
  for t in "$@"; do
    want=$(src_sql "${DIGEST_Q[$t]}")
    for c in "${CONTENDERS[@]}"; do
      got=$(dst_sql "${DB[$c]}" "${DIGEST_Q[$t]}")
      [[ $got == "$want" ]] || die "$when: $c's $t ($got) differs from the source ($want)"
    done
  done
}

# ------------------------------------------------------------------ data ---
say "loading pgbench scale $SCALE into $SRC/$SRC_DB"
bash scripts/pg.sh createdb "$SRC" "$SRC_DB" 2>>"$WORK/servers.log" || die "could not create $SRC/$SRC_DB"
for c in "${CONTENDERS[@]}"; do
  bash scripts/pg.sh createdb "$DST" "${DB[$c]}" 2>>"$WORK/servers.log" || die "could not create $DST/${DB[$c]}"
done
[[ $(super_src "SHOW track_commit_timestamp") == on ]] || die "track_commit_timestamp is not on in $SRC"
pgbench -i -q -s "$SCALE" -h 127.0.0.1 -p "$SRC_PORT" -U sluice "$SRC_DB" >"$WORK/pgbench-init.log" 2>&1 || die "pgbench -i failed (see $WORK/pgbench-init.log)"
src_sql "CREATE TABLE lag_probe (id bigserial PRIMARY KEY, t timestamptz NOT NULL DEFAULT clock_timestamp()); ANALYZE lag_probe"
ROWS=$(src_sql "SELECT (SELECT count(*) FROM pgbench_accounts) + (SELECT count(*) FROM pgbench_tellers) + (SELECT count(*) FROM pgbench_branches)")

PIPE=$WORK/bench.yaml
cat >"$PIPE" <<YAML
name: cdcbench
source:
  type: postgres
  url: postgres://sluice@127.0.0.1:$SRC_PORT/$SRC_DB
  password: \${SL_PG_PASSWORD}
  publication: cdcbench_sluice
target:
  type: postgres
  url: postgres://sluice@127.0.0.1:$DST_PORT/${DB[sluice]}
  password: \${SL_BENCH_DST_PASSWORD}
snapshot: { parallelism: 2 }
state: { url: sqlite://$WORK/state.db }
YAML

# At commit of the target transaction that applied a probe row: (id, clock_timestamp()).
LAG_SEEN_DDL="CREATE TABLE lag_seen (id bigint PRIMARY KEY, seen timestamptz NOT NULL);
CREATE TABLE probe_commit (id bigint PRIMARY KEY, committed timestamptz NOT NULL);
CREATE FUNCTION lag_seen_stamp() RETURNS trigger LANGUAGE plpgsql AS
  \$\$ BEGIN INSERT INTO public.lag_seen VALUES (NEW.id, clock_timestamp()) ON CONFLICT (id) DO NOTHING; RETURN NULL; END \$\$;
CREATE CONSTRAINT TRIGGER lag_seen_at_commit AFTER INSERT ON lag_probe
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION lag_seen_stamp();
ALTER TABLE lag_probe ENABLE ALWAYS TRIGGER lag_seen_at_commit;"

say "snapshot with sluice ($ROWS rows, one run)"
t0=$(now)
"$SLUICE_BIN" run --once "$PIPE" 2>"$WORK/snapshot.log" || die "sluice snapshot failed (see $WORK/snapshot.log)"
SNAP_SECS=$(calc "$(now) - $t0")
SNAP_RATE=$(calc "$ROWS / $SNAP_SECS")
slot_inactive "$SLUICE_SLOT"
dst_sql "${DB[sluice]}" "$LAG_SEEN_DDL"
SETTING[sluice]="synchronous_commit=$(dst_sql "${DB[sluice]}" "SHOW synchronous_commit")"

if ((NATIVE == 1)); then
  say "native logical replication: subscriptions into $DST/${DB[native_off]} and $DST/${DB[native_on]} (initial copy, untimed)"
  src_sql "CREATE PUBLICATION bench_native FOR TABLE pgbench_accounts, pgbench_branches, pgbench_tellers, pgbench_history, lag_probe"
  pg_dump -s -h 127.0.0.1 -p "$SRC_PORT" -U sluice -t 'pgbench_*' -t lag_probe "$SRC_DB" >"$WORK/schema.sql" || die "pg_dump -s failed"
  for c in native_off native_on; do
    "${PSQL[@]}" -p "$DST_PORT" -d "${DB[$c]}" -f "$WORK/schema.sql" >/dev/null || die "loading the schema into ${DB[$c]} failed"
    dst_sql "${DB[$c]}" "$LAG_SEEN_DDL"
    super_dst "${DB[$c]}" "CREATE SUBSCRIPTION bench_$c CONNECTION 'host=127.0.0.1 port=$SRC_PORT user=sluice dbname=$SRC_DB password=$SRC_PW'
      PUBLICATION bench_native WITH (binary = true, synchronous_commit = '${SETTING[$c]#*=}')"
    [[ $(super_dst "${DB[$c]}" "SELECT subsynccommit FROM pg_subscription WHERE subname = 'bench_$c'") == "${SETTING[$c]#*=}" ]] ||
      die "subscription bench_$c does not have ${SETTING[$c]}"
  done
  for c in native_off native_on; do
    super_dst "${DB[$c]}" "DO \$\$ DECLARE deadline timestamptz := clock_timestamp() + interval '$WAIT_TIMEOUT s'; BEGIN
        WHILE EXISTS (SELECT 1 FROM pg_subscription_rel r JOIN pg_subscription s ON s.oid = r.srsubid
                       WHERE s.subname = 'bench_$c' AND r.srsubstate <> 'r') LOOP
          IF clock_timestamp() > deadline THEN RAISE EXCEPTION 'initial sync of bench_$c not done'; END IF;
          PERFORM pg_sleep(0.1);
        END LOOP; END \$\$" >/dev/null 2>>"$WORK/waits.log" || die "the initial sync of bench_$c did not finish within $WAIT_TIMEOUT s"
  done
fi

# Start contender $1 (catch-up): sluice in the background (pid in CPID), or enable the
# subscription.
start_contender() {
  case $1 in
    sluice)
      /usr/bin/time -f %M -o "$WORK/rss" timeout -s TERM "$WAIT_TIMEOUT" "$SLUICE_BIN" run --once "$PIPE" 2>"$2" &
      CPID=$!
      CRC=
      ;;
    *) super_dst "${DB[$1]}" "ALTER SUBSCRIPTION bench_$1 ENABLE" ;;
  esac
}
# Stop it: sluice must have exited 0 (CRC: its status once reaped); a subscription must have confirmed END_LSN (so the next
# run does not decode this backlog again), then it is disabled. Either way its slot is released.
stop_contender() { # NAME END_LSN
  case $1 in
    sluice)
      [[ -n $CRC ]] || wait_pid "$CPID" "sluice run --once"
      [[ ${CRC:-0} == 0 ]] || die "sluice run --once exited $CRC"
      slot_inactive "$SLUICE_SLOT"
      ;;
    *)
      slot_confirmed "bench_$1" "$2"
      super_dst "${DB[$1]}" "ALTER SUBSCRIPTION bench_$1 DISABLE"
      slot_inactive "bench_$1"
      ;;
  esac
}

# Catch up contender $1 to marker $2 (source position $3); sets SECS (to visible), DUR_SECS (to
# durable), EXIT_SECS (sluice: to its exit).
catch_up() { # NAME MARK END_LSN LOG
  local c=$1 wpid vis dur
  checkpoint_both
  watch_marker "${DB[$c]}" "$2" >"$WORK/watch.out" 2>"$WORK/watch.err" &
  wpid=$!
  t0=$(now)
  CRC=0
  start_contender "$c" "$4"
  # sluice failing before its changes are visible fails the run at once, not at the deadline
  while [[ $c == sluice && -z $CRC ]] && kill -0 "$wpid" 2>/dev/null; do
    if ! kill -0 "$CPID" 2>/dev/null; then
      CRC=0
      wait "$CPID" || CRC=$?
      ((CRC == 0)) || die "sluice run --once exited $CRC before its changes were visible (see $4)"
    fi
    sleep 0.1
  done
  wait "$wpid" || die "$c: $(tr '\n' ' ' <"$WORK/watch.err")"
  read -r vis dur <"$WORK/watch.out"
  stop_contender "$c" "$3"
  SECS=$(calc "$vis - $t0")
  DUR_SECS=$(calc "$dur - $t0")
  EXIT_SECS=$(calc "$(now) - $t0")
}

say "every contender catches up once (untimed), so all start at the same source position"
MARK=$(marker)
END_LSN=$(src_sql "SELECT pg_current_wal_lsn()")
for c in "${CONTENDERS[@]}"; do catch_up "$c" "$MARK" "$END_LSN" "$WORK/catchup-0.log"; done

# ---------------------------------------------------------------- catch-up ---
TXNS=$((CHANGES / 100))
AIDS=$((SCALE * 100000))
declare -A RATES=() DRATES=()
S_EXIT_RATES=() S_RSS=()
N=${#CONTENDERS[@]}
for run in $(seq 1 "$RUNS"); do
  say "run $run/$RUNS: writing a backlog of $CHANGES row changes ($TXNS transactions of 100 updates)"
  awk -v n="$TXNS" -v max="$AIDS" -v seed="$run" 'BEGIN { srand(seed); for (i = 0; i < n; i++) { x = int(rand() * (max - 100)) + 1; printf "UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid BETWEEN %d AND %d;\n", x, x + 99 } }' >"$WORK/backlog.sql"
  "${PSQL[@]}" -p "$SRC_PORT" -d "$SRC_DB" -f "$WORK/backlog.sql" >/dev/null || die "writing the backlog failed"
  MARK=$(marker)
  END_LSN=$(src_sql "SELECT pg_current_wal_lsn()")
  for ((k = 0; k < N; k++)); do
    c=${CONTENDERS[$(((run - 1 + k) % N))]}
    catch_up "$c" "$MARK" "$END_LSN" "$WORK/catchup-$run.log"
    RATES[$c]+=" $(calc "$CHANGES / $SECS")"
    DRATES[$c]+=" $(calc "$CHANGES / $DUR_SECS")"
    if [[ $c == sluice ]]; then
      S_EXIT_RATES+=("$(calc "$CHANGES / $EXIT_SECS")")
      S_RSS+=("$(awk 'END { printf "%.0f", $1 / 1024 }' "$WORK/rss")")
      printf '  run %d sluice (%s): %.2f s to the marker, %.0f row changes/s; process exited after %.2f s (%s)\n' "$run" "${SETTING[$c]}" \
        "$SECS" "$(calc "$CHANGES / $SECS")" "$EXIT_SECS" "$(grep -o 'cdc: [0-9]* transactions.*' "$WORK/catchup-$run.log" | head -1)" >&2
    else
      printf '  run %d %s (%s): %.2f s to the marker, %.0f row changes/s; WAL flushed past it after %.2f s\n' "$run" "$c" "${SETTING[$c]}" \
        "$SECS" "$(calc "$CHANGES / $SECS")" "$DUR_SECS" >&2
    fi
  done
done
"$SLUICE_BIN" verify "$PIPE" >"$WORK/verify.log" 2>&1 || die "sluice verify found a difference (see $WORK/verify.log)"
compare_tables "after the catch-up runs" pgbench_accounts lag_probe

# --------------------------------------------------------------------- lag ---
say "lag: pgbench -c 4 -j 2 -T $LAG_SECONDS with sluice run$( ((NATIVE == 1)) && echo " and both subscriptions") streaming"
checkpoint_both
/usr/bin/time -f %M -o "$WORK/rss-lag" "$SLUICE_BIN" run "$PIPE" 2>"$WORK/lag-sluice.log" &
SL_PID=$!
BG+=("$SL_PID")
SLOTS="'$SLUICE_SLOT'"
if ((NATIVE == 1)); then
  for c in native_off native_on; do
    super_dst "${DB[$c]}" "ALTER SUBSCRIPTION bench_$c ENABLE"
    SLOTS+=", 'bench_$c'"
  done
fi
wait_slots "every replicator streaming" "SELECT count(*) = $N FROM pg_replication_slots WHERE slot_name IN ($SLOTS) AND active"
MARK=$(marker)
for c in "${CONTENDERS[@]}"; do
  watch_marker "${DB[$c]}" "$MARK" >/dev/null 2>"$WORK/watch.err" || die "lag: $c did not apply the start marker: $(tr '\n' ' ' <"$WORK/watch.err")"
done
kill -0 "$SL_PID" 2>/dev/null || die "sluice run stopped before the lag test (see $WORK/lag-sluice.log)"
PROBE_START=$MARK
(for _ in $(seq 1 $((LAG_SECONDS * 10))); do echo "INSERT INTO lag_probe DEFAULT VALUES; SELECT pg_sleep(0.1);"; done | "${PSQL[@]}" -p "$SRC_PORT" -d "$SRC_DB" >/dev/null) &
PROBE=$!
BG+=("$PROBE")
pgbench -n -c 4 -j 2 -T "$LAG_SECONDS" -h 127.0.0.1 -p "$SRC_PORT" -U sluice "$SRC_DB" >"$WORK/pgbench-lag.log" 2>&1 || die "pgbench failed (see $WORK/pgbench-lag.log)"
wait_pid "$PROBE" "the probe writer"
PROBE_END=$(src_sql "SELECT max(id) FROM lag_probe")
PROBES=$((PROBE_END - PROBE_START))
((PROBES > 0)) || die "no probe rows were written"
MARK=$(marker)
END_LSN=$(src_sql "SELECT pg_current_wal_lsn()")
for c in "${CONTENDERS[@]}"; do
  watch_marker "${DB[$c]}" "$MARK" >/dev/null 2>"$WORK/watch.err" || die "lag: $c did not catch up after pgbench: $(tr '\n' ' ' <"$WORK/watch.err")"
done
pkill -TERM -P "$SL_PID" # sluice, under /usr/bin/time
wait_pid "$SL_PID" "sluice run (on SIGTERM)"
if ((NATIVE == 1)); then
  for c in native_off native_on; do
    slot_confirmed "bench_$c" "$END_LSN"
    super_dst "${DB[$c]}" "ALTER SUBSCRIPTION bench_$c DISABLE"
  done
fi
compare_tables "after the lag test" pgbench_accounts pgbench_branches pgbench_tellers pgbench_history lag_probe

# Source commit times of the probe rows, into each target database beside lag_seen.
super_src "COPY (SELECT id, pg_xact_commit_timestamp(xmin) FROM lag_probe WHERE id > $PROBE_START AND id <= $PROBE_END) TO STDOUT" >"$WORK/probe_commit.tsv"
[[ $(wc -l <"$WORK/probe_commit.tsv") == "$PROBES" ]] || die "expected $PROBES probe rows on the source"
! grep -q '\\N' "$WORK/probe_commit.tsv" || die "a probe row has no commit timestamp (track_commit_timestamp off?)"
TPS=$(grep -o 'tps = [0-9.]*' "$WORK/pgbench-lag.log" | head -1 | cut -d' ' -f3)
declare -A L50 L99 LMAX
for c in "${CONTENDERS[@]}"; do
  dst_sql "${DB[$c]}" "TRUNCATE probe_commit"
  "${PSQL[@]}" -p "$DST_PORT" -d "${DB[$c]}" -c "\\copy probe_commit FROM '$WORK/probe_commit.tsv'"
  read -r n p50 p99 pmax <<<"$(dst_sql "${DB[$c]}" "SELECT count(*), round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 1),
      round(percentile_cont(0.99) WITHIN GROUP (ORDER BY ms)::numeric, 1), round(max(ms)::numeric, 1)
    FROM (SELECT extract(epoch FROM s.seen - p.committed) * 1000 AS ms FROM probe_commit p JOIN lag_seen s USING (id)) x" | tr '|' ' ')"
  [[ $n == "$PROBES" ]] || die "lag: $c stamped $n of the $PROBES probe rows"
  L50[$c]=$p50 L99[$c]=$p99 LMAX[$c]=$pmax
done
OWN=$(grep -o 'lag per group.*' "$WORK/lag-sluice.log" | tail -1)

# ----------------------------------------------------------------- report ---
declare -A MED DMED
# shellcheck disable=SC2086 # the lists of rates are space-separated on purpose
for c in "${CONTENDERS[@]}"; do
  MED[$c]=$(printf '%s\n' ${RATES[$c]} | median)
  DMED[$c]=$(printf '%s\n' ${DRATES[$c]} | median)
done
S_EXIT_MED=$(printf '%s\n' "${S_EXIT_RATES[@]}" | median)
echo
echo "catch-up of $CHANGES row changes (pgbench scale $SCALE), $RUNS interleaved runs, median row changes/s"
echo "(clock: start of the contender -> its last change visible on the target; each run after a CHECKPOINT of both servers):"
for c in "${CONTENDERS[@]}"; do
  # shellcheck disable=SC2086 # the list of rates is space-separated on purpose
  printf '  %-11s %-24s median %8.0f   runs:%s\n' "$c" "${SETTING[$c]}" "${MED[$c]}" "$(printf ' %.0f' ${RATES[$c]})"
done
printf '  sluice to its process exit: median %.0f; sluice snapshot of the same tables: %.0f rows/s (one run)\n' "$S_EXIT_MED" "$SNAP_RATE"
S_RSS_MAX=$(printf '%s\n' "${S_RSS[@]}" | sort -n | tail -1)
LAG_RSS=$(awk 'END { printf "%.0f", $1 / 1024 }' "$WORK/rss-lag")
printf '  sluice peak RSS: catch-up runs%s MB (max %s); streaming under pgbench: %s MB\n' "$(printf ' %s' "${S_RSS[@]}")" "$S_RSS_MAX" "$LAG_RSS"
if ((NATIVE == 1)); then
  printf '  to the target WAL flushed past the last change: native_off median %.0f, native_on %.0f, sluice %.0f\n' "${DMED[native_off]}" "${DMED[native_on]}" "${DMED[sluice]}"
  printf '  ratio of medians sluice (%s) / native (%s): %.2f   <- same commit setting\n' "${SETTING[sluice]}" "${SETTING[native_on]}" "$(calc "${MED[sluice]} / ${MED[native_on]}")"
  printf '  ratio of medians sluice (%s) / native (%s, the subscription default): %.2f\n' "${SETTING[sluice]}" "${SETTING[native_off]}" "$(calc "${MED[sluice]} / ${MED[native_off]}")"
fi
echo "lag (source commit -> commit of the applying target transaction) under pgbench -c 4 -j 2 for ${LAG_SECONDS}s (${TPS} tps), $PROBES probe rows, every replicator streaming at once:"
for c in "${CONTENDERS[@]}"; do
  printf '  %-11s %-24s p50 %7s ms  p99 %7s ms  max %7s ms\n' "$c" "${SETTING[$c]}" "${L50[$c]}" "${L99[$c]}" "${LMAX[$c]}"
done
printf '  sluice log: %s\n' "$OWN"
if ((NATIVE == 1)); then
  for c in native_on native_off; do
    printf '  lag ratio sluice (%s) / native (%s): p50 %.2f, p99 %.2f\n' "${SETTING[sluice]}" "${SETTING[$c]}" \
      "$(calc "${L50[sluice]} / (${L50[$c]} + 0.001)")" "$(calc "${L99[sluice]} / (${L99[$c]} + 0.001)")"
  done
fi
echo
printf 'RESULT changes=%s\nRESULT runs=%s\nRESULT sluice_commit=%s\n' "$CHANGES" "$RUNS" "${SETTING[sluice]}"
for c in "${CONTENDERS[@]}"; do
  printf 'RESULT %s_catchup_rows_per_s=%.0f\nRESULT %s_lag_p50_ms=%s\nRESULT %s_lag_p99_ms=%s\n' "$c" "${MED[$c]}" "$c" "${L50[$c]}" "$c" "${L99[$c]}"
done
if ((NATIVE == 1)); then
  printf 'RESULT ratio_catchup_sluice_native_on=%.2f\nRESULT ratio_catchup_sluice_native_off=%.2f\n' \
    "$(calc "${MED[sluice]} / ${MED[native_on]}")" "$(calc "${MED[sluice]} / ${MED[native_off]}")"
fi
PEAK_RSS=$((S_RSS_MAX > LAG_RSS ? S_RSS_MAX : LAG_RSS))
printf 'RESULT sluice_peak_rss_mb=%s goal<150 %s\n' "$PEAK_RSS" "$( ((PEAK_RSS < 150)) && echo met || echo missed)"
printf 'RESULT catchup_rows_per_s=%.0f goal>=100000 %s\n' "${MED[sluice]}" "$(awk -v m="${MED[sluice]}" 'BEGIN { print (m >= 100000 ? "met" : "missed") }')"
printf 'RESULT lag_p99_ms=%s goal<500 %s\n' "${L99[sluice]}" "$(awk -v m="${L99[sluice]}" 'BEGIN { print (m < 500 ? "met" : "missed") }')"
