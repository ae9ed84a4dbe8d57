#!/usr/bin/env bash
# Change-capture benchmark, PostgreSQL -> ClickHouse: sluice catching up with a backlog of row
# changes, against what a user without change capture runs to bring ClickHouse up to date again:
# reloading the changed table (`psql COPY ... TO STDOUT | clickhouse-client INSERT ... FORMAT
# TabSeparated`), in the same run, on the same servers, interleaved.
#
# Usage: bash bench/cdc_ch.sh
#
# Servers: bench-src (PostgreSQL 15, wal_level=logical, fsync=on) and bench-clickhouse, the
# instances of bench/snapshot_ch.sh (as there, starting bench-src with other settings restarts
# it). sluice's replication slot is dropped at the end. Data: `pgbench -i -s BENCH_SCALE` in bench_cdc_ch; sluice
# snapshots it once (`run --once`, untimed) into ClickHouse database bench_cdc_ch.
# Per run: a backlog of BENCH_CHANGES row changes is written with nothing replicating
# (transactions of 100 updates of consecutive pgbench_accounts rows at a random place, the shape
# of bench/cdc_pg.sh), then a CHECKPOINT, then, timed, alternating which goes first:
#   sluice  `sluice run --once` (wall clock, connecting included) until it has applied the
#           backlog: the changes land in its ReplacingMergeTree table (read FINAL, without the
#           rows marked deleted, it equals the source)
#   reload  `psql -c "COPY pgbench_accounts TO STDOUT" | clickhouse-client --query "INSERT INTO
#           reload_accounts FORMAT TabSeparated"` into an empty MergeTree table ORDER BY aid,
#           created before the clock starts: afterwards it holds the source's current rows
# After every run both copies are checked against the source (row count, sum(abalance) and
# sum(aid * abalance), computed by PostgreSQL and by ClickHouse). Reported: medians of the wall
# times, sluice's row changes/s, the reload's rows/s, the ratio sluice / reload (time), CPU
# seconds of sluice and of the servers during sluice's catch-up, sluice's peak RSS, RESULT lines.
# The ratio depends on the backlog's size against the table's: the reload's time grows with the
# table, sluice's with the changes.
#
# Environment:
#   BENCH_SCALE    pgbench scale (default 10: 1,000,000 accounts)
#   BENCH_CHANGES  row changes per run (default 500000, a multiple of 100)
#   BENCH_RUNS     runs (default 3); medians are reported
#   SLUICE_BIN     sluice binary (default build-release/sluice, built when missing)
set -euo pipefail

ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$ROOT"

SCALE=${BENCH_SCALE:-10}
CHANGES=${BENCH_CHANGES:-500000}
RUNS=${BENCH_RUNS:-3}
SLUICE_BIN=${SLUICE_BIN:-$ROOT/build-release/sluice}
PGBIN=/usr/lib/postgresql/15/bin
SRC=bench-src
CH=bench-clickhouse
SRC_DB=bench_cdc_ch
CH_DB=bench_cdc_ch

say() { printf '==> %s\n' "$*" >&2; }
die() {
  printf 'cdc_ch.sh: error: %s\n' "$*" >&2
  exit 1
}
for v in SCALE CHANGES RUNS; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "BENCH_$v must be a positive integer, not '${!v}'"
done
((CHANGES % 100 == 0)) || die "BENCH_CHANGES must be a multiple of 100"

bash scripts/deps.sh >&2
if [[ ! -x $SLUICE_BIN ]]; then
  [[ $SLUICE_BIN == "$ROOT/build-release/sluice" ]] || die "SLUICE_BIN=$SLUICE_BIN is not an executable"
  say "building $SLUICE_BIN"
  { cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release >/dev/null && cmake --build build-release -j2 >/dev/null; } ||
    die "building $SLUICE_BIN failed (run: make build, to see why)"
fi
export PATH=$PGBIN:$PATH
[[ -x /usr/bin/time ]] || die "/usr/bin/time not found (run scripts/deps.sh)"
for b in psql pgbench clickhouse-client; do
  command -v "$b" >/dev/null || die "$b not found (run scripts/deps.sh)"
done
CLK_TCK=$(getconf CLK_TCK)

WORK=$(mktemp -d "${TMPDIR:-/tmp}/sluice-cdcchbench.XXXXXX")
SLOT=sluice_bench_cdc_ch
# No slot left behind on the shared bench-src, holding WAL while other benches write there.
on_exit() {
  local rc=$?
  bash scripts/pg.sh psql "$SRC" -q -At -c "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = '$SLOT' AND NOT active" >/dev/null 2>&1 || true
  ((rc == 0)) || printf 'cdc_ch.sh: FAILED (exit %d); logs in %s\n' "$rc" "$WORK" >&2
  ((rc != 0)) || printf 'logs kept in %s\n' "$WORK" >&2
}
trap on_exit EXIT

say "starting servers $SRC (PostgreSQL, wal_level=logical, fsync=on) and $CH (ClickHouse)"
bash scripts/pg.sh start "$SRC" --wal-level logical --fsync on 2>>"$WORK/servers.log" || die "could not start $SRC (see $WORK/servers.log)"
bash scripts/clickhouse.sh start "$CH" 2>>"$WORK/servers.log" || die "could not start $CH (see $WORK/servers.log)"
unq() { eval "printf '%s' $1"; } # undo the %q quoting of `env`
pg_env() { bash scripts/pg.sh env "$SRC" | sed -n "s/^export $1=//p"; }
ch_env() { bash scripts/clickhouse.sh env "$CH" | sed -n "s/^export $1=//p"; }
SRC_PORT=$(unq "$(pg_env SL_PG_PORT)")
SRC_PW=$(unq "$(pg_env SL_PG_PASSWORD)")
CH_HTTP_PORT=$(unq "$(ch_env CH_HTTP_PORT)")
CH_TCP_PORT=$(unq "$(ch_env CH_TCP_PORT)")
CH_PW=$(unq "$(ch_env CH_PASSWORD)")
[[ -n $SRC_PORT && -n $SRC_PW && -n $CH_HTTP_PORT && -n $CH_TCP_PORT && -n $CH_PW ]] ||
  die "could not read the servers' ports and passwords"
SRC_DATA=$ROOT/.local/pg/$SRC/data
CH_PIDFILE=$ROOT/.local/clickhouse/$CH/clickhouse-server.pid

# Passwords: a pgpass file, a clickhouse-client config file (mode 600), the pipeline's ${VAR}s.
unset PGHOST PGHOSTADDR PGPORT PGDATABASE PGUSER PGPASSWORD PGSERVICE PGOPTIONS || true
pgpass_esc() { local s=${1//\\/\\\\}; printf '%s' "${s//:/\\:}"; }
xml_text() { local s=${1//&/&amp;}; s=${s//</&lt;}; printf '%s' "${s//>/&gt;}"; }
(
  umask 077
  printf '127.0.0.1:%s:*:sluice:%s\n' "$SRC_PORT" "$(pgpass_esc "$SRC_PW")" >"$WORK/pgpass"
  printf '<?xml version="1.0"?>\n<config>\n  <host>127.0.0.1</host>\n  <port>%s</port>\n  <user>sluice</user>\n  <password>%s</password>\n</config>\n' \
    "$CH_TCP_PORT" "$(xml_text "$CH_PW")" >"$WORK/ch-client.xml"
)
export PGPASSFILE=$WORK/pgpass
export SL_PG_PASSWORD=$SRC_PW SL_CH_PASSWORD=$CH_PW
SRC_CONN="host=127.0.0.1 port=$SRC_PORT user=sluice dbname=$SRC_DB"
PSQL=(psql -X -q -v ON_ERROR_STOP=1)
src_sql() { "${PSQL[@]}" -At -d "$SRC_CONN" -c "$1"; }
super_pg() { bash scripts/pg.sh psql "$SRC" -q -At -c "$1"; }
ch_sql() { bash scripts/clickhouse.sh sql "$CH" "$@"; } # admin, native protocol
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
calc() { awk "BEGIN { printf \"%.3f\", $1 }"; }

# CPU ticks used so far by the PostgreSQL server (postmaster and children, live or reaped) and
# by clickhouse-server.
pg_ticks() {
  local pm pid total=0 f rest
  pm=$(head -n1 -- "$SRC_DATA/postmaster.pid")
  for pid in "$pm" $(ps -o pid= --ppid "$pm"); do
    f=$(cat "/proc/$pid/stat" 2>/dev/null) || continue
    rest=${f##*) }
    # shellcheck disable=SC2086 # split the numeric fields on purpose
    set -- $rest
    total=$((total + ${12} + ${13} + ${14} + ${15}))
  done
  echo "$total"
}
ch_ticks() {
  local f rest
  f=$(cat "/proc/$(head -n1 -- "$CH_PIDFILE")/stat") || die "cannot read the stat of $CH's clickhouse-server"
  rest=${f##*) }
  # shellcheck disable=SC2086 # split the numeric fields on purpose
  set -- $rest
  echo $((${12} + ${13}))
}
ticks_to_s() { awk -v t="$1" -v hz="$CLK_TCK" 'BEGIN { printf "%.2f", t / hz }'; }

# measure LOG CMD...: times CMD; sets SECS, CLIENT_CPU, PG_CPU, CH_CPU. Fails the bench when CMD fails.
measure() {
  local log=$1 p0 c0 rc=0 cu cs
  shift
  p0=$(pg_ticks)
  c0=$(ch_ticks)
  {
    TIMEFORMAT='%3R %3U %3S'
    time "$@" >>"$log" 2>&1
  } 2>"$WORK/.time" || rc=$?
  ((rc == 0)) || die "'$*' failed (exit $rc); see $log"
  read -r SECS cu cs <"$WORK/.time"
  CLIENT_CPU=$(awk -v u="$cu" -v s="$cs" 'BEGIN { printf "%.2f", u + s }')
  PG_CPU=$(ticks_to_s $(($(pg_ticks) - p0)))
  CH_CPU=$(ticks_to_s $(($(ch_ticks) - c0)))
}

# ------------------------------------------------------------------ data ---
say "loading pgbench scale $SCALE into $SRC/$SRC_DB"
bash scripts/pg.sh createdb "$SRC" "$SRC_DB" 2>>"$WORK/servers.log" || die "could not create $SRC/$SRC_DB"
bash scripts/clickhouse.sh createdb "$CH" "$CH_DB" 2>>"$WORK/servers.log" || die "could not create $CH/$CH_DB"
pgbench -i -q -s "$SCALE" -h 127.0.0.1 -p "$SRC_PORT" -U sluice "$SRC_DB" >"$WORK/pgbench-init.log" 2>&1 || die "pgbench -i failed (see $WORK/pgbench-init.log)"
ACCOUNTS=$(src_sql "SELECT count(*) FROM pgbench_accounts")

PIPE=$WORK/pipeline.yaml
cat >"$PIPE" <<YAML
name: bench_cdc_ch
source: { type: postgres, url: "postgres://sluice@127.0.0.1:$SRC_PORT/$SRC_DB", password: "\${SL_PG_PASSWORD}" }
target:
  type: clickhouse
  url: "http://sluice@127.0.0.1:$CH_HTTP_PORT"
  password: "\${SL_CH_PASSWORD}"
  database: $CH_DB
snapshot: { parallelism: 2 }
state: { url: "sqlite://$WORK/state.db" }
YAML
say "snapshot with sluice (untimed)"
"$SLUICE_BIN" run --once "$PIPE" 2>"$WORK/snapshot.log" || die "sluice snapshot failed (see $WORK/snapshot.log)"

# count, sum(abalance), sum(aid * abalance) of pgbench_accounts on each side
SUMS_PG="SELECT count(*) || ' ' || sum(abalance) || ' ' || sum(aid::numeric * abalance) FROM pgbench_accounts"
sums_ch() { # TABLE [FINAL-filter]
  ch_sql --query "SELECT concat(toString(count()), ' ', toString(sum(toInt64(abalance))), ' ', toString(sum(toInt64(aid) * toInt64(abalance)))) FROM $CH_DB.$1 ${2:-}"
}
SLUICE_VIEW="FINAL WHERE _sluice_deleted = 0"
check_copies() { # WHEN
  local want got
  want=$(src_sql "$SUMS_PG")
  got=$(sums_ch pgbench_accounts "$SLUICE_VIEW")
  [[ $got == "$want" ]] || die "$1: sluice's pgbench_accounts ($got) differs from the source ($want)"
  got=$(sums_ch reload_accounts)
  [[ $got == "$want" ]] || die "$1: the reloaded table ($got) differs from the source ($want)"
}
new_reload_table() {
  ch_sql --query "DROP TABLE IF EXISTS $CH_DB.reload_accounts" &&
    ch_sql --query "CREATE TABLE $CH_DB.reload_accounts (aid Int32, bid Int32, abalance Int32, filler String) ENGINE = MergeTree ORDER BY aid"
}
reload() {
  set -o pipefail
  psql -X -q -v ON_ERROR_STOP=1 -d "$SRC_CONN" -c "COPY pgbench_accounts (aid, bid, abalance, filler) TO STDOUT" |
    clickhouse-client --config-file="$WORK/ch-client.xml" --query "INSERT INTO $CH_DB.reload_accounts (aid, bid, abalance, filler) FORMAT TabSeparated"
}

# ------------------------------------------------------------------ runs ---
TXNS=$((CHANGES / 100))
S_SECS=() R_SECS=() S_CPU=() S_PG=() S_CH=() S_RSS=()
for ((run = 1; run <= RUNS; run++)); do
  say "run $run/$RUNS: a backlog of $CHANGES row changes ($TXNS transactions of 100 updates)"
  awk -v n="$TXNS" -v max="$ACCOUNTS" -v seed="$run" 'BEGIN { srand(seed); for (i = 0; i < n; i++) { x = int(rand() * (max - 100)) + 1; printf "UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid BETWEEN %d AND %d;\n", x, x + 99 } }' >"$WORK/backlog.sql"
  "${PSQL[@]}" -d "$SRC_CONN" -f "$WORK/backlog.sql" >/dev/null || die "writing the backlog failed"
  new_reload_table >>"$WORK/servers.log" 2>&1 || die "could not create $CH_DB.reload_accounts"
  order=(sluice reload)
  ((run % 2 == 0)) && order=(reload sluice)
  for c in "${order[@]}"; do
    super_pg "CHECKPOINT" >/dev/null || die "CHECKPOINT on $SRC failed"
    if [[ $c == sluice ]]; then
      measure "$WORK/sluice-$run.log" /usr/bin/time -f %M -o "$WORK/rss" "$SLUICE_BIN" run --once "$PIPE"
      grep -q "cdc: $TXNS transactions, $CHANGES row changes" "$WORK/sluice-$run.log" ||
        die "sluice did not report $TXNS transactions / $CHANGES row changes (see $WORK/sluice-$run.log)"
      S_SECS+=("$SECS") S_CPU+=("$CLIENT_CPU") S_PG+=("$PG_CPU") S_CH+=("$CH_CPU")
      S_RSS+=("$(awk 'END { printf "%.0f", $1 / 1024 }' "$WORK/rss")")
      printf '  sluice: %.2f s (%.0f row changes/s); CPU s: sluice %s, PostgreSQL %s, ClickHouse %s; peak RSS %s MB\n' \
        "$SECS" "$(calc "$CHANGES / $SECS")" "$CLIENT_CPU" "$PG_CPU" "$CH_CPU" "${S_RSS[-1]}" >&2
    else
      measure "$WORK/reload-$run.log" reload
      R_SECS+=("$SECS")
      printf '  reload: %.2f s (%.0f rows/s); CPU s: psql + clickhouse-client %s, PostgreSQL %s, ClickHouse %s\n' \
        "$SECS" "$(calc "$ACCOUNTS / $SECS")" "$CLIENT_CPU" "$PG_CPU" "$CH_CPU" >&2
    fi
  done
  check_copies "run $run"
done

S_MED=$(printf '%s\n' "${S_SECS[@]}" | median)
R_MED=$(printf '%s\n' "${R_SECS[@]}" | median)
echo
echo "change capture PostgreSQL -> ClickHouse: $CHANGES row changes (transactions of 100 updates) on pgbench scale $SCALE ($ACCOUNTS accounts), $RUNS run(s), medians:"
printf '  sluice run --once (catch-up)   %7.3f s   %9.0f row changes/s   runs: %s\n' "$S_MED" "$(calc "$CHANGES / $S_MED")" "${S_SECS[*]}"
printf '    CPU s: sluice %s, PostgreSQL %s, ClickHouse %s; peak RSS %s MB\n' "$(printf '%s\n' "${S_CPU[@]}" | median)" \
  "$(printf '%s\n' "${S_PG[@]}" | median)" "$(printf '%s\n' "${S_CH[@]}" | median)" "${S_RSS[*]}"
printf '  reload (psql COPY | clickhouse-client)   %7.3f s   %9.0f rows/s   runs: %s\n' "$R_MED" "$(calc "$ACCOUNTS / $R_MED")" "${R_SECS[*]}"
printf '  ratio sluice / reload (time): %.2f\n' "$(calc "$S_MED / $R_MED")"
echo
printf 'RESULT scale=%s\nRESULT changes=%s\nRESULT runs=%s\n' "$SCALE" "$CHANGES" "$RUNS"
printf 'RESULT sluice_catchup_s=%s\nRESULT sluice_rows_per_s=%.0f\nRESULT reload_s=%s\n' "$S_MED" "$(calc "$CHANGES / $S_MED")" "$R_MED"
printf 'RESULT ratio_sluice_reload=%.2f\n' "$(calc "$S_MED / $R_MED")"
printf 'RESULT sluice_peak_rss_mb=%s\n' "$(printf '%s\n' "${S_RSS[@]}" | sort -n | tail -1)"
