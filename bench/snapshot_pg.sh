#!/usr/bin/env bash
# Snapshot benchmark, PostgreSQL -> PostgreSQL: sluice vs a raw binary COPY pipe vs pgcopydb.
#
# Usage: bash bench/snapshot_pg.sh        (from anywhere; `make bench` builds first)
#
# In one run, on the same two local servers (bench-src: wal_level=logical, bench-dst:
# wal_level=replica, both fsync=on, otherwise default settings) and the same pgbench data, it
# times three ways of copying every pgbench table into an empty target database:
#
#   sluice    `sluice run --once PIPELINE.yaml` (slot + exported snapshot, CREATE TABLE, parallel
#             binary COPY, primary keys). `sluice verify` runs once after the first run and the
#             bench fails if it reports a difference. Between runs the slot and the state file
#             are removed (`sluice reset` + rm), so every run is a full snapshot.
#   raw       the DDL of `pg_dump --section=pre-data` (tables, no keys; dumped once, untimed),
#             then per table `psql -c "COPY t TO STDOUT (FORMAT binary)" | psql -c "COPY t FROM
#             STDIN (FORMAT binary)"`, tables biggest first, BENCH_PARALLELISM pipes at once, then
#             the `pg_dump --section=post-data` DDL (the primary keys).
#   pgcopydb  `pgcopydb clone --table-jobs P --index-jobs P --no-owner --no-acl --no-comments`
#             (0.10 has no option to skip its VACUUM ANALYZE: that work is included).
#
# Every run starts from a freshly recreated, empty target database and a CHECKPOINT on both
# servers. Runs are interleaved (sluice, raw, pgcopydb, sluice, ...) to spread noise. After each
# run the target is checked: same row count per table as the source, and the same number of
# primary keys. Reported per contender: median wall time, rows copied, rows/s, and the CPU time
# of the client processes and of each server (all backends, including ones that exited) during
# the run, medians too. Then the ratios sluice/raw and sluice/pgcopydb, and RESULT lines.
#
# Environment:
#   BENCH_SCALE        pgbench scale factor (default 20: 2M accounts, ~256 MB of heap)
#   BENCH_RUNS         runs of each contender (default 3); the median is reported
#   BENCH_PARALLELISM  sluice snapshot.parallelism, raw pipes at once, pgcopydb table/index jobs
#                      (default 2)
#   BENCH_CONTENDERS   which to run, in this order (default "sluice raw pgcopydb")
#   BENCH_PGCOPYDB_ARGS  extra arguments for pgcopydb clone, word-split
#                      (e.g. "--split-tables-larger-than 64MB"); default none
#   BENCH_ENFORCE      1: exit 4 when a ratio misses its target (default 0: report only)
#   BENCH_KEEP_LOGS    0: delete the log directory after a successful run (default 1: keep it;
#                      it is always kept, and its files listed, when the bench fails)
#   SLUICE_BIN         sluice binary (default build-release/sluice, built when missing)
#
# The servers are left running afterwards (scripts/pg.sh stop bench-src / bench-dst).
# shellcheck disable=SC2317 # functions run indirectly: trap, measure, xargs
set -euo pipefail

ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$ROOT"

SCALE=${BENCH_SCALE:-20}
RUNS=${BENCH_RUNS:-3}
PAR=${BENCH_PARALLELISM:-2}
CONTENDERS=${BENCH_CONTENDERS:-sluice raw pgcopydb}
PGCOPYDB_EXTRA=${BENCH_PGCOPYDB_ARGS:-}
ENFORCE=${BENCH_ENFORCE:-0}
KEEP_LOGS=${BENCH_KEEP_LOGS:-1}
SLUICE_BIN=${SLUICE_BIN:-$ROOT/build-release/sluice}
PGBIN=/usr/lib/postgresql/15/bin
SRC=bench-src
DST=bench-dst
SRC_DB=bench
DST_DB=bench_target
PIPELINE_NAME=bench
SLOT=sluice_bench
TARGET_RAW=1.05
TARGET_PGCOPYDB=0.75

say() { printf '==> %s\n' "$*" >&2; }
die() {
  printf 'snapshot_pg.sh: error: %s\n' "$*" >&2
  exit 1
}

for v in SCALE RUNS PAR; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "BENCH_$v must be a positive integer, not '${!v}'"
done
for c in $CONTENDERS; do
  case $c in sluice | raw | pgcopydb) ;; *) die "BENCH_CONTENDERS: unknown contender '$c'" ;; esac
done
[[ -n ${CONTENDERS// /} ]] || die "BENCH_CONTENDERS is empty"

# ------------------------------------------------------------------ setup ---

bash scripts/deps.sh >&2

if [[ ! -x $SLUICE_BIN ]]; then
  [[ $SLUICE_BIN == "$ROOT/build-release/sluice" ]] || die "SLUICE_BIN=$SLUICE_BIN is not an executable"
  say "building $SLUICE_BIN"
  cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build build-release -j2 >/dev/null
fi

export PATH=$PGBIN:$PATH # pgcopydb runs pg_dump / pg_restore from PATH
for b in psql pg_dump pgbench pgcopydb; do
  command -v "$b" >/dev/null || die "$b not found (run scripts/deps.sh)"
done
CLK_TCK=$(getconf CLK_TCK)

WORK=$(mktemp -d "${TMPDIR:-/tmp}/sluice-bench.XXXXXX")
CURRENT_LOG=
on_exit() {
  local rc=$?
  if ((rc != 0)); then
    printf '\nsnapshot_pg.sh: FAILED (exit %d). Logs of every contender are in %s:\n' "$rc" "$WORK" >&2
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

say "starting servers $SRC (wal_level=logical) and $DST (wal_level=replica), fsync=on"
bash scripts/pg.sh start "$SRC" --wal-level logical --fsync on 2>>"$WORK/servers.log"
bash scripts/pg.sh start "$DST" --wal-level replica --fsync on 2>>"$WORK/servers.log"

env_of() { bash scripts/pg.sh env "$1" | sed -n "s/^export $2=//p"; }
unq() { eval "printf '%s' $1"; } # undo the %q quoting of `pg.sh env`
SRC_PORT=$(env_of "$SRC" SL_PG_PORT)
DST_PORT=$(env_of "$DST" SL_PG_PORT)
SRC_PW=$(unq "$(env_of "$SRC" SL_PG_PASSWORD)")
DST_PW=$(unq "$(env_of "$DST" SL_PG_PASSWORD)")
SRC_DATA=$ROOT/.local/pg/$SRC/data
DST_DATA=$ROOT/.local/pg/$DST/data

# One password file for every libpq client (psql, pg_dump, pgbench, pgcopydb).
unset PGHOST PGHOSTADDR PGPORT PGDATABASE PGUSER PGPASSWORD PGSERVICE PGOPTIONS || true
pgpass_esc() { local s=${1//\\/\\\\}; printf '%s' "${s//:/\\:}"; }
(
  umask 077
  {
    printf '127.0.0.1:%s:*:sluice:%s\n' "$SRC_PORT" "$(pgpass_esc "$SRC_PW")"
    printf '127.0.0.1:%s:*:sluice:%s\n' "$DST_PORT" "$(pgpass_esc "$DST_PW")"
  } >"$WORK/pgpass"
)
export PGPASSFILE=$WORK/pgpass
export SL_PG_PASSWORD=$SRC_PW SL_BENCH_DST_PASSWORD=$DST_PW

SRC_URI="postgres://sluice@127.0.0.1:$SRC_PORT/$SRC_DB"
DST_URI="postgres://sluice@127.0.0.1:$DST_PORT/$DST_DB"
SRC_CONN="host=127.0.0.1 port=$SRC_PORT user=sluice dbname=$SRC_DB"
DST_CONN="host=127.0.0.1 port=$DST_PORT user=sluice dbname=$DST_DB"
PSQL=(psql -X -q -v ON_ERROR_STOP=1)

src_sql() { "${PSQL[@]}" -At -d "$SRC_CONN" -c "$1"; }
dst_sql() { "${PSQL[@]}" -At -d "$DST_CONN" -c "$1"; }
super_sql() { bash scripts/pg.sh psql "$1" -q -At -c "$2"; }

# ------------------------------------------------------------ source data ---

say "loading pgbench scale $SCALE into $SRC/$SRC_DB"
# createdb drops the old database, and with it any slot left by an interrupted bench.
bash scripts/pg.sh createdb "$SRC" "$SRC_DB" 2>>"$WORK/servers.log"
pgbench -i -q -s "$SCALE" -h 127.0.0.1 -p "$SRC_PORT" -U sluice "$SRC_DB" >"$WORK/pgbench-init.log" 2>&1 ||
  {
    CURRENT_LOG=$WORK/pgbench-init.log
    die "pgbench -i failed"
  }

# The pgbench tables, biggest first, as quoted qualified names, and their row counts.
TABLE_QUERY="SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r','p') AND n.nspname = 'public' AND c.relname LIKE 'pgbench\_%'
 ORDER BY pg_relation_size(c.oid) DESC, c.relname"
mapfile -t TABLES < <(src_sql "$TABLE_QUERY")
((${#TABLES[@]} > 0)) || die "no pgbench tables found in $SRC/$SRC_DB"
COUNT_QUERY=
for t in "${TABLES[@]}"; do
  COUNT_QUERY+="${COUNT_QUERY:+ UNION ALL }SELECT '$t', count(*) FROM $t"
done
COUNT_QUERY="SELECT string_agg(t || '=' || n, ' ' ORDER BY t) FROM ($COUNT_QUERY) s(t, n)"
PK_QUERY="SELECT count(*) FROM pg_constraint WHERE contype = 'p' AND conrelid IN ($(printf "'%s'::regclass," "${TABLES[@]}" | sed 's/,$//'))"
SRC_COUNTS=$(src_sql "$COUNT_QUERY")
SRC_PKS=$(src_sql "$PK_QUERY")
TOTAL_ROWS=0
for kv in $SRC_COUNTS; do TOTAL_ROWS=$((TOTAL_ROWS + ${kv##*=})); done
say "source: ${#TABLES[@]} tables ($SRC_COUNTS), $SRC_PKS primary keys, $TOTAL_ROWS rows, $(src_sql "SELECT pg_size_pretty(pg_database_size(current_database()))")"

# The raw contender's DDL, dumped once (untimed).
DUMP_ARGS=(--schema-only --no-owner --no-acl --no-comments)
for t in "${TABLES[@]}"; do DUMP_ARGS+=(-t "$t"); done
pg_dump -d "$SRC_CONN" "${DUMP_ARGS[@]}" --section=pre-data -f "$WORK/raw-pre.sql"
pg_dump -d "$SRC_CONN" "${DUMP_ARGS[@]}" --section=post-data -f "$WORK/raw-post.sql"

cat >"$WORK/pipeline.yaml" <<YAML
name: $PIPELINE_NAME
source: { type: postgres, url: "$SRC_URI", password: "\${SL_PG_PASSWORD}" }
target: { type: postgres, url: "$DST_URI", password: "\${SL_BENCH_DST_PASSWORD}" }
snapshot: { parallelism: $PAR }
state: { url: "sqlite://$WORK/state.db" }
YAML

# ------------------------------------------------------------- measuring ---

# CPU ticks used so far by a server: postmaster + live children (their own and reaped
# children's), + children the postmaster already reaped. Backends that exit during a run are
# counted through the postmaster's cutime/cstime.
server_ticks() {
  local pm pid total=0 f rest
  pm=$(head -n1 -- "$1/postmaster.pid")
  for pid in "$pm" $(ps -o pid= --ppid "$pm"); do
    f=$(cat "/proc/$pid/stat" 2>/dev/null) || continue
    rest=${f##*) }
    # fields after "comm)": state(3) ... utime(14) stime(15) cutime(16) cstime(17)
    # shellcheck disable=SC2086 # split the numeric fields on purpose
    set -- $rest
    total=$((total + ${12} + ${13} + ${14} + ${15}))
  done
  echo "$total"
}

ticks_to_s() { awk -v t="$1" -v hz="$CLK_TCK" 'BEGIN { printf "%.2f", t / hz }'; }

# Fresh empty target database, no leftover checkpoint work on either server.
reset_target() {
  bash scripts/pg.sh createdb "$DST" "$DST_DB" 2>>"$WORK/servers.log"
  super_sql "$SRC" "CHECKPOINT" >/dev/null
  super_sql "$DST" "CHECKPOINT" >/dev/null
}

# measure NAME RUN CMD...: times CMD (stdout+stderr to the contender's log); sets WALL, CLIENT_CPU,
# SRC_CPU, DST_CPU. Fails the bench when CMD fails.
measure() {
  local name=$1 run=$2 tf s0 d0 s1 d1 rc=0
  shift 2
  CURRENT_LOG=$WORK/$name-$run.log
  tf=$WORK/.time
  s0=$(server_ticks "$SRC_DATA")
  d0=$(server_ticks "$DST_DATA")
  {
    TIMEFORMAT='%3R %3U %3S'
    time "$@" >>"$CURRENT_LOG" 2>&1
  } 2>"$tf" || rc=$?
  s1=$(server_ticks "$SRC_DATA")
  d1=$(server_ticks "$DST_DATA")
  ((rc == 0)) || die "$name run $run failed (exit $rc); see $CURRENT_LOG"
  read -r WALL cu cs <"$tf"
  CLIENT_CPU=$(awk -v u="$cu" -v s="$cs" 'BEGIN { printf "%.2f", u + s }')
  SRC_CPU=$(ticks_to_s $((s1 - s0)))
  DST_CPU=$(ticks_to_s $((d1 - d0)))
}

# Same rows per table as the source, same number of primary keys; sets ROWS.
check_target() {
  local name=$1 run=$2 counts pks kv
  counts=$(dst_sql "$COUNT_QUERY")
  pks=$(dst_sql "$PK_QUERY")
  [[ $counts == "$SRC_COUNTS" ]] || die "$name run $run: target rows ($counts) differ from source ($SRC_COUNTS)"
  [[ $pks == "$SRC_PKS" ]] || die "$name run $run: target has $pks primary keys, source $SRC_PKS"
  ROWS=0
  for kv in $counts; do ROWS=$((ROWS + ${kv##*=})); done
}

drop_sluice_slot() {
  super_sql "$SRC" "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = '$SLOT'" >/dev/null
  rm -f -- "$WORK"/state.db "$WORK"/state.db-*
}

# ------------------------------------------------------------ contenders ---

run_sluice() {
  /usr/bin/time -f %M -o "$WORK/rss" "$SLUICE_BIN" run --once "$WORK/pipeline.yaml"
}

raw_copy_one() {
  set -o pipefail
  psql -X -q -v ON_ERROR_STOP=1 -d "$SRC_CONN" -c "COPY $1 TO STDOUT (FORMAT binary)" |
    psql -X -q -v ON_ERROR_STOP=1 -d "$DST_CONN" -c "COPY $1 FROM STDIN (FORMAT binary)"
}
export -f raw_copy_one
export SRC_CONN DST_CONN

# (runs where `set -e` does not apply: each step checks its own status)
run_raw() {
  "${PSQL[@]}" -d "$DST_CONN" -f "$WORK/raw-pre.sql" >/dev/null || return 1
  # shellcheck disable=SC2016 # $1 belongs to the inner bash
  printf '%s\n' "${TABLES[@]}" |
    xargs -d '\n' -P "$PAR" -n 1 bash -c 'raw_copy_one "$1"' raw_copy_one || return 1
  "${PSQL[@]}" -d "$DST_CONN" -f "$WORK/raw-post.sql" >/dev/null || return 1
}

run_pgcopydb() {
  local dir=$1
  # shellcheck disable=SC2086 # BENCH_PGCOPYDB_ARGS is word-split on purpose
  pgcopydb clone --source "$SRC_URI" --target "$DST_URI" --dir "$dir" \
    --table-jobs "$PAR" --index-jobs "$PAR" --no-owner --no-acl --no-comments $PGCOPYDB_EXTRA
}

declare -A R_WALL R_CLIENT R_SRC R_DST R_ROWS
R_RSS=""
record() { # name
  R_WALL[$1]+=" $WALL"
  R_CLIENT[$1]+=" $CLIENT_CPU"
  R_SRC[$1]+=" $SRC_CPU"
  R_DST[$1]+=" $DST_CPU"
  R_ROWS[$1]=$ROWS
}

VERIFIED=0
drop_sluice_slot
say "$RUNS run(s) of: $CONTENDERS (parallelism $PAR); logs in $WORK"
for ((run = 1; run <= RUNS; run++)); do
  for c in $CONTENDERS; do
    reset_target
    case $c in
      sluice)
        drop_sluice_slot
        measure sluice "$run" run_sluice
        check_target sluice "$run"
        R_RSS+=" $(awk 'END { printf "%.0f", $1 / 1024 }' "$WORK/rss")"
        if ((VERIFIED == 0)); then
          CURRENT_LOG=$WORK/sluice-verify.log
          "$SLUICE_BIN" verify "$WORK/pipeline.yaml" >"$CURRENT_LOG" 2>&1 ||
            die "sluice verify reported differences or failed (exit $?); see $CURRENT_LOG"
          VERIFIED=1
        fi
        CURRENT_LOG=$WORK/sluice-reset.log
        "$SLUICE_BIN" reset "$WORK/pipeline.yaml" >>"$CURRENT_LOG" 2>&1 || die "sluice reset failed; see $CURRENT_LOG"
        drop_sluice_slot
        ;;
      raw)
        measure raw "$run" run_raw
        check_target raw "$run"
        ;;
      pgcopydb)
        measure pgcopydb "$run" run_pgcopydb "$WORK/pgcopydb-$run"
        check_target pgcopydb "$run"
        ;;
    esac
    record "$c"
    say "run $run $c: ${WALL}s wall, $ROWS rows; CPU s: client $CLIENT_CPU, source server $SRC_CPU, target server $DST_CPU"
  done
done
CURRENT_LOG=

# ---------------------------------------------------------------- report ---

# shellcheck disable=SC2086 # $1 is a space-separated list of numbers
median() { printf '%s\n' $1 | sort -g | awk '{ a[NR] = $1 } END { if (NR % 2) m = a[(NR + 1) / 2]; else m = (a[NR / 2] + a[NR / 2 + 1]) / 2; printf "%.3f", m }'; }
div() { awk -v a="$1" -v b="$2" -v f="$3" 'BEGIN { printf f, (b > 0 ? a / b : 0) }'; }

declare -A MED
printf '\nsnapshot PostgreSQL -> PostgreSQL, pgbench scale %s (%s rows), parallelism %s, %s run(s) each\n' \
  "$SCALE" "$TOTAL_ROWS" "$PAR" "$RUNS"
printf '%-9s %9s %10s %11s   %-26s %s\n' contender median_s rows rows/s "runs (s)" "median CPU s: client / source srv / target srv"
for c in $CONTENDERS; do
  MED[$c]=$(median "${R_WALL[$c]}")
  printf '%-9s %9s %10s %11s   %-26s %s / %s / %s\n' "$c" "${MED[$c]}" "${R_ROWS[$c]}" \
    "$(div "${R_ROWS[$c]}" "${MED[$c]}" '%.0f')" "${R_WALL[$c]# }" \
    "$(median "${R_CLIENT[$c]}")" "$(median "${R_SRC[$c]}")" "$(median "${R_DST[$c]}")"
done
# shellcheck disable=SC2086 # a space-separated list of numbers
[[ -n $R_RSS ]] && printf 'sluice peak RSS (MB):%s (max %s; goal < 150)\n' "$R_RSS" "$(printf '%s\n' $R_RSS | sort -n | tail -1)"
echo

MISSED=0
ratio_line() { # other target
  local r
  r=$(div "${MED[sluice]}" "${MED[$1]}" '%.2f')
  printf 'ratio sluice/%s = %s (target <= %s)\n' "$1" "$r" "$2"
  awk -v r="$r" -v t="$2" 'BEGIN { exit !(r <= t) }' || MISSED=1
  RATIO[$1]=$r
}
declare -A RATIO
if [[ -n ${MED[sluice]:-} ]]; then
  [[ -n ${MED[raw]:-} ]] && ratio_line raw "$TARGET_RAW"
  [[ -n ${MED[pgcopydb]:-} ]] && ratio_line pgcopydb "$TARGET_PGCOPYDB"
fi

echo
printf 'RESULT scale=%s\nRESULT runs=%s\nRESULT parallelism=%s\nRESULT rows=%s\n' "$SCALE" "$RUNS" "$PAR" "$TOTAL_ROWS"
for c in $CONTENDERS; do
  printf 'RESULT %s_median_s=%s\n' "$c" "${MED[$c]}"
  printf 'RESULT %s_rows_per_s=%s\n' "$c" "$(div "${R_ROWS[$c]}" "${MED[$c]}" '%.0f')"
done
# shellcheck disable=SC2086 # a space-separated list of numbers
[[ -n $R_RSS ]] && printf 'RESULT sluice_peak_rss_mb=%s\n' "$(printf '%s\n' $R_RSS | sort -n | tail -1)"
[[ -n ${RATIO[raw]:-} ]] && printf 'RESULT ratio_sluice_raw=%s\n' "${RATIO[raw]}"
[[ -n ${RATIO[pgcopydb]:-} ]] && printf 'RESULT ratio_sluice_pgcopydb=%s\n' "${RATIO[pgcopydb]}"

if [[ $ENFORCE == 1 && $MISSED == 1 ]]; then
  printf 'snapshot_pg.sh: a ratio missed its target (BENCH_ENFORCE=1)\n' >&2
  exit 4
fi
exit 0
