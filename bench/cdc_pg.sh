#!/usr/bin/env bash
# Change-capture benchmark, PostgreSQL -> PostgreSQL: sluice vs PostgreSQL's own logical
# replication (a subscription), in one run, on the same two local servers.
#
# Usage: bash bench/cdc_pg.sh
#
# Servers: bench-src (wal_level=logical) and bench-dst (wal_level=replica), fsync=on, started
# with scripts/pg.sh (the same instances as bench/snapshot_pg.sh). Data: pgbench -i -s SCALE plus
# a probe table lag_probe(id, t = clock_timestamp() at the source insert).
#
# 1. Catch-up. sluice snapshots everything (`run --once`, timed: the snapshot rate of these
#    rows). A native subscription in a second target database copies the same tables. Then,
#    per run, with nothing replicating: a backlog of CHANGES row changes (transactions of 100
#    updates of pgbench_accounts rows, random ranges) is written; `sluice run --once` applies it
#    (timed), then the subscription is enabled and timed until its slot has confirmed the
#    source's position. After the last run `sluice verify` must pass and the native copy must
#    equal the source. Reported: medians of row changes/s, and the ratios sluice/snapshot and
#    sluice/native.
# 2. Lag. `sluice run` and the subscription both stream while pgbench runs at full speed
#    (-c 4 -j 2 -T LAG_SECONDS) and a probe inserts one lag_probe row every 100 ms. Each target
#    copy of lag_probe has an extra column applied_at DEFAULT clock_timestamp(), filled when the
#    row is inserted on the target, so applied_at - t is the lag of that row (both servers share
#    the clock). Reported: p50/p99/max per replicator, and sluice's own log line (source commit
#    -> target commit per group). SIGTERM must stop sluice with exit 0.
#
# Environment: BENCH_SCALE (10), BENCH_CHANGES (1000000), BENCH_RUNS (3), BENCH_LAG_SECONDS (60),
# BENCH_NATIVE (1; 0 skips the subscription), SLUICE_BIN (build-release/sluice).
# Goals on the project's 2-core machine: >= 100k row changes/s applied; lag p99 < 500 ms.
set -euo pipefail

ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$ROOT"

SCALE=${BENCH_SCALE:-10}
CHANGES=${BENCH_CHANGES:-1000000}
RUNS=${BENCH_RUNS:-3}
LAG_SECONDS=${BENCH_LAG_SECONDS:-60}
NATIVE=${BENCH_NATIVE:-1}
SLUICE_BIN=${SLUICE_BIN:-$ROOT/build-release/sluice}
PGBIN=/usr/lib/postgresql/15/bin
SRC=bench-src
DST=bench-dst
SRC_DB=cdcbench
DST_DB=cdcbench_sluice
NAT_DB=cdcbench_native

say() { printf '==> %s\n' "$*" >&2; }
die() {
  printf 'cdc_pg.sh: error: %s\n' "$*" >&2
  exit 1
}
for v in SCALE CHANGES RUNS LAG_SECONDS; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "BENCH_$v must be a positive integer, not '${!v}'"
done
((CHANGES % 100 == 0)) || die "BENCH_CHANGES must be a multiple of 100"

bash scripts/deps.sh >&2
if [[ ! -x $SLUICE_BIN ]]; then
  say "building $SLUICE_BIN"
  cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build build-release -j2 >/dev/null
fi
export PATH=$PGBIN:$PATH

WORK=$(mktemp -d "${TMPDIR:-/tmp}/sluice-cdcbench.XXXXXX")
BG=()
on_exit() {
  local rc=$? p
  for p in "${BG[@]}"; do kill "$p" 2>/dev/null || true; done
  if [[ $NATIVE == 1 && -n ${DST_PORT:-} ]]; then
    bash scripts/pg.sh psql "$DST" -d "$NAT_DB" -q -c "ALTER SUBSCRIPTION bench_native DISABLE" >/dev/null 2>&1 || true
  fi
  ((rc == 0)) || printf 'cdc_pg.sh: FAILED (exit %d); logs in %s\n' "$rc" "$WORK" >&2
  ((rc != 0)) || printf 'logs kept in %s\n' "$WORK" >&2
}
trap on_exit EXIT

say "starting servers $SRC (wal_level=logical) and $DST (wal_level=replica), fsync=on"
bash scripts/pg.sh start "$SRC" --wal-level logical --fsync on 2>>"$WORK/servers.log"
bash scripts/pg.sh start "$DST" --wal-level replica --fsync on 2>>"$WORK/servers.log"
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
super_dst() { bash scripts/pg.sh psql "$DST" -d "$1" -q -At -v ON_ERROR_STOP=1 -c "$2"; }
now() { date +%s.%N; }
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# ------------------------------------------------------------------ data ---
say "loading pgbench scale $SCALE into $SRC/$SRC_DB"
bash scripts/pg.sh createdb "$SRC" "$SRC_DB" 2>>"$WORK/servers.log"
bash scripts/pg.sh createdb "$DST" "$DST_DB" 2>>"$WORK/servers.log"
pgbench -i -q -s "$SCALE" -h 127.0.0.1 -p "$SRC_PORT" -U sluice "$SRC_DB" >"$WORK/pgbench-init.log" 2>&1 || die "pgbench -i failed (see $WORK/pgbench-init.log)"
src_sql "CREATE TABLE lag_probe (id bigserial PRIMARY KEY, t timestamptz NOT NULL DEFAULT clock_timestamp()); ANALYZE"
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
  url: postgres://sluice@127.0.0.1:$DST_PORT/$DST_DB
  password: \${SL_BENCH_DST_PASSWORD}
snapshot: { parallelism: 2 }
state: { url: sqlite://$WORK/state.db }
YAML

say "snapshot with sluice ($ROWS rows)"
t0=$(now)
"$SLUICE_BIN" run --once "$PIPE" 2>"$WORK/snapshot.log" || die "sluice snapshot failed (see $WORK/snapshot.log)"
SNAP_SECS=$(echo "$(now) - $t0" | bc -l)
SNAP_RATE=$(echo "$ROWS / $SNAP_SECS" | bc -l)
dst_sql "$DST_DB" "ALTER TABLE lag_probe ADD COLUMN applied_at timestamptz DEFAULT clock_timestamp()"

if [[ $NATIVE == 1 ]]; then
  say "native logical replication: subscription in $DST/$NAT_DB (initial copy, untimed)"
  bash scripts/pg.sh createdb "$DST" "$NAT_DB" 2>>"$WORK/servers.log"
  pg_dump -s -h 127.0.0.1 -p "$SRC_PORT" -U sluice -t 'pgbench_*' -t lag_probe "$SRC_DB" | "${PSQL[@]}" -p "$DST_PORT" -d "$NAT_DB" >/dev/null
  dst_sql "$NAT_DB" "ALTER TABLE lag_probe ADD COLUMN applied_at timestamptz DEFAULT clock_timestamp()"
  src_sql "CREATE PUBLICATION bench_native FOR TABLE pgbench_accounts, pgbench_branches, pgbench_tellers, pgbench_history, lag_probe"
  super_dst "$NAT_DB" "CREATE SUBSCRIPTION bench_native CONNECTION 'host=127.0.0.1 port=$SRC_PORT user=sluice dbname=$SRC_DB password=$SRC_PW' PUBLICATION bench_native WITH (binary = true)"
  for _ in $(seq 1 600); do
    [[ $(super_dst "$NAT_DB" "SELECT count(*) FROM pg_subscription_rel WHERE srsubstate <> 'r'") == 0 ]] && break
    sleep 0.5
  done
  [[ $(super_dst "$NAT_DB" "SELECT count(*) FROM pg_subscription_rel WHERE srsubstate <> 'r'") == 0 ]] || die "native initial sync did not finish"
  super_dst "$NAT_DB" "ALTER SUBSCRIPTION bench_native DISABLE"
fi

# native slot has confirmed everything up to LSN?
native_wait() { # LSN
  for _ in $(seq 1 6000); do
    [[ $(src_sql "SELECT confirmed_flush_lsn >= '$1' FROM pg_replication_slots WHERE slot_name = 'bench_native'") == t ]] && return 0
    sleep 0.05
  done
  die "native subscription did not catch up"
}

# ---------------------------------------------------------------- catch-up ---
TXNS=$((CHANGES / 100))
AIDS=$((SCALE * 100000))
declare -a S_RATE=() N_RATE=()
for run in $(seq 1 "$RUNS"); do
  say "run $run/$RUNS: writing a backlog of $CHANGES row changes ($TXNS transactions of 100 updates)"
  awk -v n="$TXNS" -v max="$AIDS" -v seed="$run" 'BEGIN { srand(seed); for (i = 0; i < n; i++) { x = int(rand() * (max - 100)) + 1; printf "UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid BETWEEN %d AND %d;\n", x, x + 99 } }' >"$WORK/backlog.sql"
  "${PSQL[@]}" -p "$SRC_PORT" -d "$SRC_DB" -f "$WORK/backlog.sql" >/dev/null
  END_LSN=$(src_sql "SELECT pg_current_wal_lsn()")
  src_sql "CHECKPOINT" >/dev/null 2>&1 || true
  t0=$(now)
  "$SLUICE_BIN" run --once "$PIPE" 2>"$WORK/catchup$run.log" || die "sluice catch-up failed (see $WORK/catchup$run.log)"
  secs=$(echo "$(now) - $t0" | bc -l)
  S_RATE+=("$(echo "$CHANGES / $secs" | bc -l)")
  printf '  sluice: %.2f s, %.0f row changes/s (%s)\n' "$secs" "${S_RATE[-1]}" "$(grep -o 'cdc: [0-9]* transactions.*' "$WORK/catchup$run.log" | head -1)" >&2
  if [[ $NATIVE == 1 ]]; then
    t0=$(now)
    super_dst "$NAT_DB" "ALTER SUBSCRIPTION bench_native ENABLE"
    native_wait "$END_LSN"
    secs=$(echo "$(now) - $t0" | bc -l)
    super_dst "$NAT_DB" "ALTER SUBSCRIPTION bench_native DISABLE"
    N_RATE+=("$(echo "$CHANGES / $secs" | bc -l)")
    printf '  native subscription: %.2f s, %.0f row changes/s\n' "$secs" "${N_RATE[-1]}" >&2
  fi
done
"$SLUICE_BIN" verify "$PIPE" >"$WORK/verify.log" 2>&1 || die "sluice verify found a difference (see $WORK/verify.log)"
q="SELECT md5(string_agg(aid || ':' || abalance, ',' ORDER BY aid)) FROM pgbench_accounts"
[[ $(src_sql "$q") == $(dst_sql "$DST_DB" "$q") ]] || die "sluice's pgbench_accounts differs from the source"
if [[ $NATIVE == 1 ]]; then
  [[ $(src_sql "$q") == $(dst_sql "$NAT_DB" "$q") ]] || die "the native copy of pgbench_accounts differs from the source"
fi

# --------------------------------------------------------------------- lag ---
say "lag: pgbench -c 4 -j 2 -T $LAG_SECONDS with sluice run (and the subscription) streaming"
"$SLUICE_BIN" run "$PIPE" 2>"$WORK/lag-sluice.log" &
SL_PID=$!
BG+=("$SL_PID")
[[ $NATIVE == 1 ]] && super_dst "$NAT_DB" "ALTER SUBSCRIPTION bench_native ENABLE"
sleep 2
PROBE_START=$(src_sql "SELECT coalesce(max(id), 0) FROM lag_probe")
(for _ in $(seq 1 $((LAG_SECONDS * 10))); do echo "INSERT INTO lag_probe DEFAULT VALUES; SELECT pg_sleep(0.1);"; done | "${PSQL[@]}" -p "$SRC_PORT" -d "$SRC_DB" >/dev/null) &
PROBE=$!
BG+=("$PROBE")
pgbench -n -c 4 -j 2 -T "$LAG_SECONDS" -h 127.0.0.1 -p "$SRC_PORT" -U sluice "$SRC_DB" >"$WORK/pgbench-lag.log" 2>&1 || die "pgbench failed (see $WORK/pgbench-lag.log)"
wait "$PROBE" || true
END_LSN=$(src_sql "SELECT pg_current_wal_lsn()")
LAST=$(src_sql "SELECT max(id) FROM lag_probe")
for _ in $(seq 1 600); do
  [[ $(dst_sql "$DST_DB" "SELECT coalesce(max(id), 0) FROM lag_probe") == "$LAST" ]] && break
  sleep 0.1
done
[[ $NATIVE == 1 ]] && native_wait "$END_LSN"
kill -TERM "$SL_PID"
rc=0
wait "$SL_PID" || rc=$?
((rc == 0)) || die "sluice run exited $rc on SIGTERM (see $WORK/lag-sluice.log)"
TPS=$(grep -o 'tps = [0-9.]*' "$WORK/pgbench-lag.log" | head -1 | cut -d' ' -f3)
lagq="SELECT round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms))::int || ' ' || round(percentile_cont(0.99) WITHIN GROUP (ORDER BY ms))::int || ' ' || round(max(ms))::int || ' ' || count(*)
  FROM (SELECT extract(epoch FROM applied_at - t) * 1000 AS ms FROM lag_probe WHERE id > $PROBE_START AND applied_at IS NOT NULL) x"
read -r S50 S99 SMAX SN <<<"$(dst_sql "$DST_DB" "$lagq")"
if [[ $NATIVE == 1 ]]; then
  read -r N50 N99 NMAX NN <<<"$(dst_sql "$NAT_DB" "$lagq")"
  super_dst "$NAT_DB" "ALTER SUBSCRIPTION bench_native DISABLE"
fi
OWN=$(grep -o 'lag per group.*' "$WORK/lag-sluice.log" | tail -1)

# ----------------------------------------------------------------- report ---
S_MED=$(printf '%s\n' "${S_RATE[@]}" | median)
echo
echo "catch-up of $CHANGES row changes (pgbench scale $SCALE, median of $RUNS runs):"
printf '  sluice             %10.0f row changes/s\n' "$S_MED"
printf '  sluice snapshot    %10.0f rows/s (same tables, same run)\n' "$SNAP_RATE"
printf '  ratio sluice catch-up / snapshot rate: %.2f\n' "$(echo "$S_MED / $SNAP_RATE" | bc -l)"
if [[ $NATIVE == 1 ]]; then
  N_MED=$(printf '%s\n' "${N_RATE[@]}" | median)
  printf '  native subscription %9.0f row changes/s\n' "$N_MED"
  printf '  ratio sluice / native: %.2f\n' "$(echo "$S_MED / $N_MED" | bc -l)"
fi
echo "lag under pgbench -c 4 -j 2 for ${LAG_SECONDS}s (${TPS} tps), probe rows every 100 ms:"
printf '  sluice   p50 %s ms  p99 %s ms  max %s ms  (%s probes; sluice log: %s)\n' "$S50" "$S99" "$SMAX" "$SN" "$OWN"
[[ $NATIVE == 1 ]] && printf '  native   p50 %s ms  p99 %s ms  max %s ms  (%s probes); ratio sluice/native p99 %.2f\n' "$N50" "$N99" "$NMAX" "$NN" "$(echo "$S99 / ($N99 + 0.001)" | bc -l)"
printf 'RESULT catchup_rows_per_s=%.0f goal>=100000 %s\n' "$S_MED" "$( (($(printf '%.0f' "$S_MED") >= 100000)) && echo met || echo missed)"
printf 'RESULT lag_p99_ms=%s goal<500 %s\n' "$S99" "$( ((S99 < 500)) && echo met || echo missed)"
