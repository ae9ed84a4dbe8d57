#!/usr/bin/env bash
# Change-capture benchmark, MariaDB -> PostgreSQL: how fast sluice catches up with a binlog
# backlog, against the time MariaDB's own binlog client needs just to read and decode it.
#
# Usage: bash bench/cdc_my.sh        (from anywhere)
#
# Servers: bench-mysql (MariaDB 10.11 from scripts/mysql.sh: binlog on, ROW format, FULL row
# image, fsync on) and bench-dst (PostgreSQL 15, wal_level=replica, fsync=on), the instances of
# bench/snapshot_my.sh. Data: one keyed table churn(id bigint primary key, k int, v decimal(12,2),
# s varchar(64), ts datetime(6)) in database sluice_cdcbench with CHANGES / 2 rows.
#
# sluice snapshots it once (`run --once`, timed: the snapshot rate of these rows). Then per run,
# with sluice stopped, a backlog of CHANGES row changes is written on MariaDB into binlog files
# of its own (FLUSH BINARY LOGS before and after): CHANGES / TXN_ROWS transactions, each one
# DELETE of TXN_ROWS/10 rows, one UPDATE of 4*TXN_ROWS/10 rows and one INSERT of TXN_ROWS/2 new
# rows (50% inserts, 40% updates, 10% deletes; every changed row is a different one, so nothing
# collapses within a group). With BENCH_SHAPE=updates the backlog has the shape of
# bench/cdc_pg.sh instead: churn starts with 1,000,000 rows and each transaction is one UPDATE of
# BENCH_TXN_ROWS (then 100 by default) consecutive rows at a random place (k = k + 1).
# Then a CHECKPOINT on bench-dst, and timed, each on that backlog:
#   sluice  `sluice run --once` (wall clock, connecting included) until it has applied every
#           transaction to PostgreSQL; its log must report exactly CHANGES row changes.
#   decode  `mariadb-binlog --read-from-remote-server --base64-output=decode-rows --verbose
#           FILES > /dev/null`: the server sends the same binlog files over the replication
#           protocol and the client decodes every row image into text. The floor for any binlog
#           consumer on this machine: sluice decodes as much and also writes to PostgreSQL.
#   read    the same without decoding rows (`mariadb-binlog -R FILES > /dev/null`: events are
#           read and printed base64-encoded).
# After the runs `sluice verify` must pass and churn must be equal on both sides (row count and
# md5 of every column of every row in key order, computed by each server). Reported: medians of
# row changes/s, the ratio sluice / decode, sluice's CPU and peak RSS and the servers' CPU during its
# catch-up, and RESULT lines. There is no native MariaDB -> PostgreSQL replication to compare
# with. Binary logs of earlier benches are purged from bench-mysql at the start.
#
# Environment:
#   BENCH_CHANGES    row changes per run (default 1000000; a multiple of BENCH_TXN_ROWS)
#   BENCH_TXN_ROWS   row changes per source transaction (default 1000, 100 with updates; a
#                    multiple of 10)
#   BENCH_SHAPE      mixed (default: inserts, updates, deletes) or updates (as bench/cdc_pg.sh)
#   BENCH_RUNS       runs (default 3); medians are reported
#   BENCH_KEEP_LOGS  0: delete the log directory after a successful run (default 1)
#   SLUICE_BIN       sluice binary (default build-release/sluice, built when missing)
# Goal on the project's 2-core machine: >= 100,000 row changes/s applied.
#
# The servers are left running afterwards (scripts/mysql.sh stop bench-mysql,
# scripts/pg.sh stop bench-dst).
# shellcheck disable=SC2317 # functions run indirectly: trap, measure
set -euo pipefail

ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$ROOT"

CHANGES=${BENCH_CHANGES:-1000000}
SHAPE=${BENCH_SHAPE:-mixed}
[[ $SHAPE == mixed || $SHAPE == updates ]] || { printf 'cdc_my.sh: error: BENCH_SHAPE must be mixed or updates, not %s\n' "$SHAPE" >&2; exit 1; }
if [[ $SHAPE == updates ]]; then TXN_ROWS=${BENCH_TXN_ROWS:-100}; else TXN_ROWS=${BENCH_TXN_ROWS:-1000}; fi
RUNS=${BENCH_RUNS:-3}
KEEP_LOGS=${BENCH_KEEP_LOGS:-1}
SLUICE_BIN=${SLUICE_BIN:-$ROOT/build-release/sluice}
PGBIN=/usr/lib/postgresql/15/bin
MY=bench-mysql
DST=bench-dst
SRC_DB=sluice_cdcbench
DST_DB=cdcbench_my
GOAL=100000

say() { printf '==> %s\n' "$*" >&2; }
die() {
  printf 'cdc_my.sh: error: %s\n' "$*" >&2
  exit 1
}
for v in CHANGES TXN_ROWS RUNS; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "BENCH_$v must be a positive integer, not '${!v}'"
done
((TXN_ROWS % 10 == 0)) || die "BENCH_TXN_ROWS must be a multiple of 10"
((CHANGES % TXN_ROWS == 0)) || die "BENCH_CHANGES must be a multiple of BENCH_TXN_ROWS ($TXN_ROWS)"

# ------------------------------------------------------------------ setup ---

bash scripts/deps.sh >&2
if [[ ! -x $SLUICE_BIN ]]; then
  [[ $SLUICE_BIN == "$ROOT/build-release/sluice" ]] || die "SLUICE_BIN=$SLUICE_BIN is not an executable"
  say "building $SLUICE_BIN"
  { cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release >/dev/null && cmake --build build-release -j2 >/dev/null; } ||
    die "building $SLUICE_BIN failed (run: make build, to see why)"
fi
export PATH=$PGBIN:$PATH
for b in psql mariadb mariadb-binlog bc; do
  command -v "$b" >/dev/null || die "$b not found (run scripts/deps.sh)"
done
CLK_TCK=$(getconf CLK_TCK)

WORK=$(mktemp -d "${TMPDIR:-/tmp}/sluice-mycdcbench.XXXXXX")
CURRENT_LOG=
on_exit() {
  local rc=$?
  if ((rc != 0)); then
    printf '\ncdc_my.sh: FAILED (exit %d). Logs are in %s:\n' "$rc" "$WORK" >&2
    find "$WORK" -maxdepth 1 -name '*.log' | sort | sed 's/^/  /' >&2 || true
    if [[ -n $CURRENT_LOG && -f $CURRENT_LOG ]]; then
      printf 'last lines of %s:\n' "$CURRENT_LOG" >&2
      tail -n 25 -- "$CURRENT_LOG" | sed 's/^/  | /' >&2
    fi
  elif [[ $KEEP_LOGS == 1 ]]; then
    printf 'logs kept in %s\n' "$WORK" >&2
  else
    rm -rf -- "$WORK"
  fi
}
trap on_exit EXIT

say "starting servers $MY (MariaDB, binlog on, fsync on) and $DST (wal_level=replica, fsync=on)"
CURRENT_LOG=$WORK/servers.log
bash scripts/mysql.sh start "$MY" --fsync on 2>>"$WORK/servers.log" || die "could not start $MY"
bash scripts/pg.sh start "$DST" --wal-level replica --fsync on 2>>"$WORK/servers.log" || die "could not start $DST"
CURRENT_LOG=

unq() { eval "printf '%s' $1"; } # undo the %q quoting of `env`
my_env() { bash scripts/mysql.sh env "$MY" | sed -n "s/^export $1=//p"; }
pg_env() { bash scripts/pg.sh env "$DST" | sed -n "s/^export $1=//p"; }
MY_PORT=$(unq "$(my_env MYSQL_PORT)")
MY_PW=$(unq "$(my_env MYSQL_PASSWORD)")
DST_PORT=$(unq "$(pg_env SL_PG_PORT)")
DST_PW=$(unq "$(pg_env SL_PG_PASSWORD)")
MY_PIDFILE=$ROOT/.local/mysql/$MY/mariadbd.pid
DST_DATA=$ROOT/.local/pg/$DST/data
[[ -n $MY_PORT && -n $MY_PW && -n $DST_PORT && -n $DST_PW ]] || die "could not read the servers' ports and passwords"

# Passwords: a pgpass file for psql, an option file for mariadb-binlog; none on a command line.
unset PGHOST PGHOSTADDR PGPORT PGDATABASE PGUSER PGPASSWORD PGSERVICE PGOPTIONS || true
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

PSQL=(psql -X -q -v ON_ERROR_STOP=1 -At -h 127.0.0.1 -p "$DST_PORT" -U sluice -d "$DST_DB")
dst_sql() { "${PSQL[@]}" -c "$1"; }
my_super() { bash scripts/mysql.sh sql "$MY" -N -B "$@"; } # superuser over the socket
my_sql() { my_super -D "$SRC_DB" "$@"; }
now() { date +%s.%N; }
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# CPU ticks so far: PostgreSQL (postmaster, live backends, reaped backends) and mariadbd.
pg_ticks() {
  local pm pid total=0 f rest
  pm=$(head -n1 -- "$DST_DATA/postmaster.pid")
  for pid in "$pm" $(ps -o pid= --ppid "$pm"); do
    f=$(cat "/proc/$pid/stat" 2>/dev/null) || continue
    rest=${f##*) }
    # shellcheck disable=SC2086 # split the numeric fields on purpose
    set -- $rest
    total=$((total + ${12} + ${13} + ${14} + ${15}))
  done
  echo "$total"
}
my_ticks() {
  local f rest
  f=$(cat "/proc/$(head -n1 -- "$MY_PIDFILE")/stat") || die "cannot read the stat of $MY's mariadbd"
  rest=${f##*) }
  # shellcheck disable=SC2086 # split the numeric fields on purpose
  set -- $rest
  echo $((${12} + ${13}))
}
ticks_to_s() { awk -v t="$1" -v hz="$CLK_TCK" 'BEGIN { printf "%.2f", t / hz }'; }

# measure LOG CMD...: times CMD (stdout to /dev/null, stderr to LOG); sets SECS, CLIENT_CPU,
# SRC_CPU, DST_CPU. Fails the bench when CMD fails.
measure() {
  local tf s0 d0 s1 d1 rc=0 cu cs
  CURRENT_LOG=$1
  shift
  tf=$WORK/.time
  s0=$(my_ticks)
  d0=$(pg_ticks)
  {
    TIMEFORMAT='%3R %3U %3S'
    time "$@" >/dev/null 2>>"$CURRENT_LOG"
  } 2>"$tf" || rc=$?
  s1=$(my_ticks)
  d1=$(pg_ticks)
  ((rc == 0)) || die "'$*' failed (exit $rc); see $CURRENT_LOG"
  read -r SECS cu cs <"$tf"
  CLIENT_CPU=$(awk -v u="$cu" -v s="$cs" 'BEGIN { printf "%.2f", u + s }')
  SRC_CPU=$(ticks_to_s $((s1 - s0)))
  DST_CPU=$(ticks_to_s $((d1 - d0)))
}

# ------------------------------------------------------------------ data ---

D=$((TXN_ROWS / 10))     # deletes per transaction
U=$((TXN_ROWS * 4 / 10)) # updates per transaction
I=$((TXN_ROWS / 2))      # inserts per transaction
TXNS=$((CHANGES / TXN_ROWS))
INIT=$((TXNS * (D + U))) # every run deletes and updates that many distinct existing rows
[[ $SHAPE == updates ]] && INIT=1000000
LO=1                     # the live ids are always LO..HI
HI=$INIT

say "creating $MY/$SRC_DB.churn with $INIT rows, target $DST/$DST_DB"
# Binlogs of earlier benches are not needed by anyone: keep the instance's disk use bounded.
my_super -e "FLUSH BINARY LOGS" || die "FLUSH BINARY LOGS failed on $MY"
my_super -e "PURGE BINARY LOGS BEFORE NOW()" || die "could not purge old binlogs on $MY"
bash scripts/mysql.sh createdb "$MY" "$SRC_DB" 2>>"$WORK/servers.log" || die "could not create $MY/$SRC_DB"
bash scripts/pg.sh createdb "$DST" "$DST_DB" 2>>"$WORK/servers.log" || die "could not create $DST/$DST_DB"
CURRENT_LOG=$WORK/init.log
my_sql >"$CURRENT_LOG" 2>&1 <<SQL || die "loading churn failed"
CREATE TABLE churn (
  id bigint NOT NULL PRIMARY KEY,
  k int NOT NULL,
  v decimal(12,2) NOT NULL,
  s varchar(64) NOT NULL,
  ts datetime(6) NOT NULL
);
INSERT INTO churn SELECT seq, seq % 100000, seq / 100, MD5(seq), TIMESTAMP '2024-01-01 00:00:00' + INTERVAL seq SECOND
  FROM seq_1_to_$INIT;
ANALYZE TABLE churn;
SQL
CURRENT_LOG=

PIPE=$WORK/pipeline.yaml
cat >"$PIPE" <<YAML
name: cdcbench_my
source:
  type: mysql
  url: mysql://sluice@127.0.0.1:$MY_PORT/$SRC_DB
  password: \${SL_MY_PASSWORD}
target:
  type: postgres
  url: postgres://sluice@127.0.0.1:$DST_PORT/$DST_DB
  password: \${SL_BENCH_DST_PASSWORD}
snapshot: { parallelism: 2 }
state: { url: "sqlite://$WORK/state.db" }
YAML

say "snapshot with sluice ($INIT rows)"
t0=$(now)
CURRENT_LOG=$WORK/snapshot.log
"$SLUICE_BIN" run --once "$PIPE" 2>"$CURRENT_LOG" || die "sluice snapshot failed"
CURRENT_LOG=
SNAP_SECS=$(echo "$(now) - $t0" | bc -l)
SNAP_RATE=$(echo "$INIT / $SNAP_SECS" | bc -l)
printf '  %.2f s, %.0f rows/s\n' "$SNAP_SECS" "$SNAP_RATE" >&2

# The binlog files written since the last FLUSH BINARY LOGS, closed by a new FLUSH: one line.
binlogs_since() { # FIRST_FILE
  my_super -e "FLUSH BINARY LOGS" >/dev/null
  my_super -e "SHOW BINARY LOGS" | awk -v first="$1" '$1 >= first { f[++n] = $1 } END { for (i = 1; i < n; i++) printf "%s%s", f[i], (i < n - 1 ? " " : "\n") }'
}
current_binlog() { my_super -e "SHOW MASTER STATUS" | awk 'NR == 1 { print $1 }'; }

# ---------------------------------------------------------------- catch-up ---
declare -a S_RATE=() DEC_RATE=() RD_RATE=() S_CPU=() S_SRC=() S_DST=() S_RSS=()
for ((run = 1; run <= RUNS; run++)); do
  if [[ $SHAPE == updates ]]; then
    say "run $run/$RUNS: writing a backlog of $CHANGES row changes ($TXNS transactions of one UPDATE of $TXN_ROWS consecutive rows)"
  else
    say "run $run/$RUNS: writing a backlog of $CHANGES row changes ($TXNS transactions: $D deletes, $U updates, $I inserts each)"
  fi
  my_super -e "FLUSH BINARY LOGS" >/dev/null
  FIRST=$(current_binlog)
  awk -v txns="$TXNS" -v d="$D" -v u="$U" -v ins="$I" -v lo="$LO" -v hi="$HI" -v run="$run" -v q="'" -v shape="$SHAPE" -v n="$TXN_ROWS" 'BEGIN {
    srand(run)
    for (j = 0; shape == "updates" && j < txns; j++) {
      x = lo + int(rand() * (hi - lo + 2 - n))
      printf "BEGIN;\nUPDATE churn SET k = k + 1 WHERE id BETWEEN %d AND %d;\nCOMMIT;\n", x, x + n - 1
    }
    for (j = 0; shape == "mixed" && j < txns; j++) {
      dl = lo + j * d; ul = lo + txns * d + j * u; il = hi + 1 + j * ins
      printf "BEGIN;\n"
      printf "DELETE FROM churn WHERE id BETWEEN %d AND %d;\n", dl, dl + d - 1
      printf "UPDATE churn SET k = k + 1, v = v + 1.25, s = CONCAT(%sr%d-%s, id), ts = ts + INTERVAL 1 SECOND WHERE id BETWEEN %d AND %d;\n", q, run, q, ul, ul + u - 1
      printf "INSERT INTO churn SELECT seq, seq %% 100000, seq / 100, MD5(seq), TIMESTAMP %s2024-01-01 00:00:00%s + INTERVAL seq SECOND FROM seq_%d_to_%d;\n", q, q, il, il + ins - 1
      printf "COMMIT;\n"
    } }' >"$WORK/backlog.sql"
  t0=$(now)
  CURRENT_LOG=$WORK/backlog-$run.log
  my_sql <"$WORK/backlog.sql" >"$CURRENT_LOG" 2>&1 || die "writing the backlog failed"
  CURRENT_LOG=
  if [[ $SHAPE == mixed ]]; then
    LO=$((LO + TXNS * D))
    HI=$((HI + TXNS * I))
  fi
  GEN_SECS=$(echo "$(now) - $t0" | bc -l)
  read -r n mn mx <<<"$(my_sql -e "SELECT COUNT(*), MIN(id), MAX(id) FROM churn")"
  [[ $n == $((HI - LO + 1)) && $mn == "$LO" && $mx == "$HI" ]] ||
    die "after the backlog churn has $n rows, ids $mn..$mx; expected $((HI - LO + 1)), $LO..$HI"
  read -r -a FILES <<<"$(binlogs_since "$FIRST")"
  ((${#FILES[@]} > 0)) || die "no binlog files found from $FIRST on"
  BYTES=$(my_super -e "SHOW BINARY LOGS" | awk -v list=" ${FILES[*]} " 'index(list, " " $1 " ") { s += $2 } END { print s + 0 }')
  printf '  written in %.1f s: %s binlog file(s) %s, %.1f MB\n' "$GEN_SECS" "${#FILES[@]}" "${FILES[*]}" "$(echo "$BYTES / 1048576" | bc -l)" >&2

  bash scripts/pg.sh psql "$DST" -q -At -c "CHECKPOINT" >/dev/null || die "CHECKPOINT on $DST failed"
  measure "$WORK/catchup-$run.log" /usr/bin/time -f %M -o "$WORK/rss" "$SLUICE_BIN" run --once "$PIPE"
  S_RSS+=("$(awk 'END { printf "%.0f", $1 / 1024 }' "$WORK/rss")")
  S_RATE+=("$(echo "$CHANGES / $SECS" | bc -l)")
  S_CPU+=("$CLIENT_CPU")
  S_SRC+=("$SRC_CPU")
  S_DST+=("$DST_CPU")
  STATS=$(grep -o 'cdc: [0-9]* transactions, [0-9]* row changes.*' "$WORK/catchup-$run.log" | head -1) || true
  read -r _ ntx _ nrows _ <<<"$STATS"
  [[ ${nrows:-} == "$CHANGES" && ${ntx:-} == "$TXNS" ]] ||
    die "sluice applied '${ntx:-?}' transactions / '${nrows:-?}' row changes, expected $TXNS / $CHANGES (see $WORK/catchup-$run.log)"
  printf '  sluice: %.2f s, %.0f row changes/s; CPU s: sluice %s, MariaDB %s, PostgreSQL %s; peak RSS %s MB (%s)\n' \
    "$SECS" "${S_RATE[-1]}" "$CLIENT_CPU" "$SRC_CPU" "$DST_CPU" "${S_RSS[-1]}" "$STATS" >&2

  measure "$WORK/binlog-decode-$run.log" mariadb-binlog --defaults-file="$WORK/my-client.cnf" \
    --read-from-remote-server --base64-output=decode-rows --verbose "${FILES[@]}"
  DEC_RATE+=("$(echo "$CHANGES / $SECS" | bc -l)")
  printf '  mariadb-binlog decode: %.2f s, %.0f row changes/s; CPU s: client %s, MariaDB %s\n' "$SECS" "${DEC_RATE[-1]}" "$CLIENT_CPU" "$SRC_CPU" >&2

  measure "$WORK/binlog-read-$run.log" mariadb-binlog --defaults-file="$WORK/my-client.cnf" \
    --read-from-remote-server "${FILES[@]}"
  RD_RATE+=("$(echo "$CHANGES / $SECS" | bc -l)")
  printf '  mariadb-binlog read:   %.2f s, %.0f row changes/s; CPU s: client %s, MariaDB %s\n' "$SECS" "${RD_RATE[-1]}" "$CLIENT_CPU" "$SRC_CPU" >&2
done
CURRENT_LOG=

CURRENT_LOG=$WORK/verify.log
rc=0
"$SLUICE_BIN" verify "$PIPE" >"$CURRENT_LOG" 2>&1 || rc=$?
((rc == 0)) || die "sluice verify reported differences or failed (exit $rc)"
! grep -q DIFF "$CURRENT_LOG" || die "sluice verify printed DIFF"
CURRENT_LOG=
# Every column of every row, in key order: md5 per block of 1,000 ids, then md5 of those (one
# GROUP_CONCAT of all rows would be cut at max_allowed_packet).
SRC_SUM=$(my_sql -e "SET SESSION group_concat_max_len = 1 << 24; SELECT SUM(n), MD5(GROUP_CONCAT(h ORDER BY b SEPARATOR '')) FROM (
  SELECT id DIV 1000 b, COUNT(*) n, MD5(GROUP_CONCAT(CONCAT_WS(':', id, k, v, s, DATE_FORMAT(ts, '%Y-%m-%d %H:%i:%s.%f'))
    ORDER BY id SEPARATOR ',')) h FROM churn GROUP BY b) x")
DST_SUM=$(dst_sql "SELECT sum(n) || E'\t' || md5(string_agg(h, '' ORDER BY b)) FROM (
  SELECT id / 1000 b, count(*) n, md5(string_agg(concat_ws(':', id, k, v, s, to_char(ts, 'YYYY-MM-DD HH24:MI:SS.US')),
    ',' ORDER BY id)) h FROM $SRC_DB.churn GROUP BY 1) x")
[[ $SRC_SUM == "$DST_SUM" ]] || die "churn differs: source '$SRC_SUM', target '$DST_SUM'"

# ----------------------------------------------------------------- report ---
S_MED=$(printf '%s\n' "${S_RATE[@]}" | median)
DEC_MED=$(printf '%s\n' "${DEC_RATE[@]}" | median)
RD_MED=$(printf '%s\n' "${RD_RATE[@]}" | median)
MET=missed
(($(printf '%.0f' "$S_MED") >= GOAL)) && MET=met
echo
if [[ $SHAPE == updates ]]; then
  echo "binlog catch-up of $CHANGES row changes ($TXNS transactions of one UPDATE of $TXN_ROWS rows), median of $RUNS run(s):"
else
  echo "binlog catch-up of $CHANGES row changes ($TXNS transactions of $TXN_ROWS: 50% inserts, 40% updates, 10% deletes), median of $RUNS run(s):"
fi
printf '  sluice run --once          %10.0f row changes/s   (runs: %s)\n' "$S_MED" "$(printf '%.0f\n' "${S_RATE[@]}" | paste -sd' ')"
printf '    median CPU s during catch-up: sluice %s, MariaDB %s, PostgreSQL %s\n' \
  "$(printf '%s\n' "${S_CPU[@]}" | median)" "$(printf '%s\n' "${S_SRC[@]}" | median)" "$(printf '%s\n' "${S_DST[@]}" | median)"
printf '    sluice peak RSS (MB): %s\n' "${S_RSS[*]}"
printf '  mariadb-binlog -R decode   %10.0f row changes/s   (read + decode rows to text, no apply)\n' "$DEC_MED"
printf '  mariadb-binlog -R read     %10.0f row changes/s   (read only)\n' "$RD_MED"
printf '  sluice snapshot            %10.0f rows/s          (the %s initial rows, same run)\n' "$SNAP_RATE" "$INIT"
printf '  native MariaDB -> PostgreSQL replication: none exists, not measured\n'
printf '  ratio sluice / binlog decode: %.2f; sluice catch-up / sluice snapshot: %.2f\n' \
  "$(echo "$S_MED / $DEC_MED" | bc -l)" "$(echo "$S_MED / $SNAP_RATE" | bc -l)"
echo
printf 'RESULT changes=%s\nRESULT runs=%s\nRESULT shape=%s\n' "$CHANGES" "$RUNS" "$SHAPE"
printf 'RESULT sluice_peak_rss_mb=%s\n' "$(printf '%s\n' "${S_RSS[@]}" | sort -n | tail -1)"
printf 'RESULT catchup_rows_per_s=%.0f goal>=%s %s\n' "$S_MED" "$GOAL" "$MET"
printf 'RESULT binlog_decode_rows_per_s=%.0f\n' "$DEC_MED"
printf 'RESULT binlog_read_rows_per_s=%.0f\n' "$RD_MED"
printf 'RESULT snapshot_rows_per_s=%.0f\n' "$SNAP_RATE"
printf 'RESULT ratio_sluice_decode=%.2f\n' "$(echo "$S_MED / $DEC_MED" | bc -l)"
