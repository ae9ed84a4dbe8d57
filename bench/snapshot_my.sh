#!/usr/bin/env bash
# Snapshot benchmark, MariaDB -> PostgreSQL: sluice vs pgloader.
#
# Usage: bash bench/snapshot_my.sh        (from anywhere)
#
# In one run, on the same two local servers (bench-mysql: MariaDB 10.11 from scripts/mysql.sh,
# binlog on, fsync on; bench-dst: PostgreSQL 15, wal_level=replica, fsync=on, as
# bench/snapshot_pg.sh uses it) and the same data, it times two ways of copying every table of
# the MariaDB database `sbtest` into an empty PostgreSQL database:
#
#   sluice    `sluice run --once PIPELINE.yaml` with snapshot.parallelism = BENCH_PARALLELISM:
#             consistent point (FLUSH TABLES WITH READ LOCK + one consistent snapshot per
#             reader), catalog, CREATE TABLE, parallel reads in primary-key ranges, binary COPY,
#             primary keys; then change capture catches up at once (nothing writes). `sluice
#             verify` runs once after the first run and the bench fails if it reports a
#             difference. The state file is removed between runs (`sluice reset` + rm), so every
#             run is a full snapshot.
#   pgloader  `pgloader LOAD-FILE`: a load command file FROM mysql://... INTO postgresql://...
#             WITH its default MySQL options spelled out (include drop, create tables, create
#             indexes, reset sequences, foreign keys, downcase identifiers, uniquify index names)
#             and `workers = 2 x BENCH_PARALLELISM, concurrency = 1`: BENCH_PARALLELISM tables at
#             once, each with one reader and one COPY writer thread, the same number of source
#             and target connections as sluice's lanes. Its default also builds every secondary
#             index of the source (sysbench's `k_1`) and resets the sequences it creates for
#             AUTO_INCREMENT columns: that extra work is part of its time. It runs with
#             --dynamic-space-size BENCH_PGLOADER_HEAP_MB: with the Debian build's default 1 GB
#             Lisp heap it dies ("Heap exhausted, game over") on the default data.
#
# Data: `sysbench oltp_read_write prepare` with BENCH_TABLES tables of BENCH_ROWS rows (id int
# AUTO_INCREMENT primary key, k int with a secondary index, c char(120), pad char(60)), plus one
# table `wide` of BENCH_WIDE_ROWS rows with bigint, int, decimal, datetime(6), date, varchar,
# text and double columns (some NULLs), loaded once at the start.
#
# Every run starts from a freshly recreated, empty target database after a CHECKPOINT on the
# target. Runs are interleaved (sluice, pgloader, sluice, ...) to spread noise. After each run
# the target is checked: every table in schema sbtest has the source's row count, and there are
# as many primary keys as on the source. Reported per contender: median wall time, rows, rows/s,
# each run's time, the median peak RSS of the client, and the median CPU seconds of the client
# process, the MariaDB server and the PostgreSQL server (all backends, including ones that
# exited) during a run. Then the ratio sluice/pgloader (goal <= 0.5) and RESULT lines.
# Binary logs of earlier benches are purged from bench-mysql at the start (nothing needs them).
#
# Environment:
#   BENCH_TABLES       sysbench tables (default 4)
#   BENCH_ROWS         rows per sysbench table (default 500000)
#   BENCH_WIDE_ROWS    rows of the table `wide` (default BENCH_ROWS / 2; 0: no such table)
#   BENCH_RUNS         runs of each contender (default 3); the median is reported
#   BENCH_PARALLELISM  sluice snapshot.parallelism; pgloader workers = 2 x this (default 2)
#   BENCH_CONTENDERS   which to run, in this order (default "sluice pgloader")
#   BENCH_PGLOADER_WITH  more pgloader WITH options, appended to the WITH clause
#                      (e.g. "multiple readers per thread, rows per range = 50000"); default none
#   BENCH_PGLOADER_HEAP_MB  pgloader --dynamic-space-size, MB (default 4096)
#   BENCH_ENFORCE      1: exit 4 when the ratio misses its goal (default 0: report only)
#   BENCH_KEEP_LOGS    0: delete the log directory after a successful run (default 1: keep it;
#                      it is always kept, and its files listed, when the bench fails)
#   SLUICE_BIN         sluice binary (default build-release/sluice, built when missing)
#
# The servers are left running afterwards (scripts/mysql.sh stop bench-mysql,
# scripts/pg.sh stop bench-dst).
# shellcheck disable=SC2317 # functions run indirectly: trap, measure
set -euo pipefail

ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$ROOT"

NTABLES=${BENCH_TABLES:-4}
ROWS_PER_TABLE=${BENCH_ROWS:-500000}
RUNS=${BENCH_RUNS:-3}
PAR=${BENCH_PARALLELISM:-2}
CONTENDERS=${BENCH_CONTENDERS:-sluice pgloader}
PGLOADER_WITH=${BENCH_PGLOADER_WITH:-}
PGLOADER_HEAP_MB=${BENCH_PGLOADER_HEAP_MB:-4096}
ENFORCE=${BENCH_ENFORCE:-0}
KEEP_LOGS=${BENCH_KEEP_LOGS:-1}
SLUICE_BIN=${SLUICE_BIN:-$ROOT/build-release/sluice}
PGBIN=/usr/lib/postgresql/15/bin
MY=bench-mysql
DST=bench-dst
SRC_DB=sbtest
DST_DB=bench_my_target
PIPELINE_NAME=bench_my
GOAL_RATIO=0.50

say() { printf '==> %s\n' "$*" >&2; }
die() {
  printf 'snapshot_my.sh: error: %s\n' "$*" >&2
  exit 1
}

for v in TABLES:NTABLES ROWS:ROWS_PER_TABLE RUNS:RUNS PARALLELISM:PAR PGLOADER_HEAP_MB:PGLOADER_HEAP_MB; do
  val=${v#*:}
  [[ ${!val} =~ ^[1-9][0-9]*$ ]] || die "BENCH_${v%%:*} must be a positive integer, not '${!val}'"
done
WIDE_ROWS=${BENCH_WIDE_ROWS:-$((ROWS_PER_TABLE / 2))}
[[ $WIDE_ROWS =~ ^[0-9]+$ ]] || die "BENCH_WIDE_ROWS must be a non-negative integer, not '$WIDE_ROWS'"
for c in $CONTENDERS; do
  case $c in sluice | pgloader) ;; *) die "BENCH_CONTENDERS: unknown contender '$c'" ;; esac
done
[[ -n ${CONTENDERS// /} ]] || die "BENCH_CONTENDERS is empty"
[[ $PGLOADER_WITH != *';'* ]] || die "BENCH_PGLOADER_WITH must not contain ';'"

# ------------------------------------------------------------------ setup ---

bash scripts/deps.sh >&2

if [[ ! -x $SLUICE_BIN ]]; then
  [[ $SLUICE_BIN == "$ROOT/build-release/sluice" ]] || die "SLUICE_BIN=$SLUICE_BIN is not an executable"
  say "building $SLUICE_BIN"
  { cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release >/dev/null && cmake --build build-release -j2 >/dev/null; } ||
    die "building $SLUICE_BIN failed (run: make build, to see why)"
fi

export PATH=$PGBIN:$PATH
[[ -x /usr/bin/time ]] || die "/usr/bin/time not found (run scripts/deps.sh)"
for b in psql sysbench pgloader mariadb; do
  command -v "$b" >/dev/null || die "$b not found (run scripts/deps.sh)"
done
CLK_TCK=$(getconf CLK_TCK)

WORK=$(mktemp -d "${TMPDIR:-/tmp}/sluice-mybench.XXXXXX")
CURRENT_LOG=
on_exit() {
  local rc=$?
  if ((rc != 0)); then
    printf '\nsnapshot_my.sh: FAILED (exit %d). Logs of every contender are in %s:\n' "$rc" "$WORK" >&2
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

# Passwords: a pgpass file for libpq clients (psql, pgloader's PostgreSQL side), MYSQL_PWD only
# in pgloader's environment, a sysbench config file; none on a command line.
unset PGHOST PGHOSTADDR PGPORT PGDATABASE PGUSER PGPASSWORD PGSERVICE PGOPTIONS || true
unset MYSQL_HOST MYSQL_TCP_PORT MYSQL_UNIX_PORT MYSQL_PWD || true
pgpass_esc() { local s=${1//\\/\\\\}; printf '%s' "${s//:/\\:}"; }
(
  umask 077
  printf '127.0.0.1:%s:*:sluice:%s\n' "$DST_PORT" "$(pgpass_esc "$DST_PW")" >"$WORK/pgpass"
  printf 'db-driver=mysql\nmysql-host=127.0.0.1\nmysql-port=%s\nmysql-user=sluice\nmysql-password=%s\nmysql-db=%s\n' \
    "$MY_PORT" "$MY_PW" "$SRC_DB" >"$WORK/sysbench.cfg"
)
export PGPASSFILE=$WORK/pgpass
export SL_MY_PASSWORD=$MY_PW SL_BENCH_DST_PASSWORD=$DST_PW

MY_URI="mysql://sluice@127.0.0.1:$MY_PORT/$SRC_DB"
DST_URI="postgres://sluice@127.0.0.1:$DST_PORT/$DST_DB"
DST_CONN="host=127.0.0.1 port=$DST_PORT user=sluice dbname=$DST_DB"
PSQL=(psql -X -q -v ON_ERROR_STOP=1)

dst_sql() { "${PSQL[@]}" -At -d "$DST_CONN" -c "$1"; }
super_pg() { bash scripts/pg.sh psql "$DST" -q -At -c "$1"; }
my_super() { bash scripts/mysql.sh sql "$MY" -N -B "$@"; } # superuser, over the socket
my_sql() { my_super -D "$SRC_DB" "$@"; }

# ------------------------------------------------------------ source data ---

say "loading sysbench data ($NTABLES x $ROWS_PER_TABLE rows) and wide ($WIDE_ROWS rows) into $MY/$SRC_DB"
# Binlogs of earlier benches are not needed by anyone: keep the instance's disk use bounded.
my_super -e "FLUSH BINARY LOGS" || die "FLUSH BINARY LOGS failed on $MY"
my_super -e "PURGE BINARY LOGS BEFORE NOW()" || die "could not purge old binlogs on $MY"
bash scripts/mysql.sh createdb "$MY" "$SRC_DB" 2>>"$WORK/servers.log" || die "could not create $MY/$SRC_DB"
CURRENT_LOG=$WORK/sysbench-prepare.log
sysbench oltp_read_write --config-file="$WORK/sysbench.cfg" --tables="$NTABLES" --table-size="$ROWS_PER_TABLE" \
  --threads=$((NTABLES < 2 ? NTABLES : 2)) prepare >"$CURRENT_LOG" 2>&1 || die "sysbench prepare failed"
if ((WIDE_ROWS > 0)); then
  CURRENT_LOG=$WORK/wide.log
  my_sql >"$CURRENT_LOG" 2>&1 <<SQL || die "loading the table wide failed"
CREATE TABLE wide (
  id bigint NOT NULL PRIMARY KEY,
  account int NOT NULL,
  amount decimal(14,2) NOT NULL,
  rate decimal(9,6),
  created datetime(6) NOT NULL,
  due date,
  label varchar(64) NOT NULL,
  note text,
  score double
);
INSERT INTO wide
SELECT seq, seq % 10007, (seq * 7919 % 100000000) / 100, IF(seq % 7 = 0, NULL, (seq % 1000003) / 1000000),
       TIMESTAMP '2020-01-01 00:00:00' + INTERVAL seq SECOND + INTERVAL (seq * 37 % 1000000) MICROSECOND,
       IF(seq % 11 = 0, NULL, DATE '2024-01-01' + INTERVAL (seq % 3650) DAY),
       CONCAT('label-', seq % 5000, '-', HEX(seq)),
       IF(seq % 5 = 0, NULL, REPEAT(MD5(seq), 1 + seq % 6)),
       IF(seq % 13 = 0, NULL, seq / 7.0)
  FROM seq_1_to_$WIDE_ROWS;
ANALYZE TABLE wide;
SQL
fi
CURRENT_LOG=

mapfile -t TABLES < <(my_sql -e "SELECT table_name FROM information_schema.tables
  WHERE table_schema = '$SRC_DB' AND table_type = 'BASE TABLE' ORDER BY data_length DESC, table_name")
((${#TABLES[@]} > 0)) || die "no tables found in $MY/$SRC_DB"
for t in "${TABLES[@]}"; do
  [[ $t =~ ^[a-z][a-z0-9_]*$ ]] || die "unexpected table name '$t' in $SRC_DB"
done

# "table=rows" per table, sorted by name, one line.
SRC_COUNT_QUERY=''
DST_COUNT_QUERY=''
for t in "${TABLES[@]}"; do
  SRC_COUNT_QUERY+="${SRC_COUNT_QUERY:+ UNION ALL }SELECT '$t', COUNT(*) FROM \`$t\`"
  DST_COUNT_QUERY+="${DST_COUNT_QUERY:+ UNION ALL }SELECT '$t', count(*) FROM $SRC_DB.$t"
done
count_line() { awk -F'\t' 'NF == 2 { print $1 "=" $2 }' | LC_ALL=C sort | paste -sd' '; }
src_counts() { my_sql -e "$SRC_COUNT_QUERY" | count_line; }
dst_counts() { "${PSQL[@]}" -At -F $'\t' -d "$DST_CONN" -c "$DST_COUNT_QUERY" | count_line; }
SRC_COUNTS=$(src_counts)
SRC_PKS=$(my_sql -e "SELECT COUNT(*) FROM information_schema.table_constraints
  WHERE table_schema = '$SRC_DB' AND constraint_type = 'PRIMARY KEY'")
DST_PK_QUERY="SELECT count(*) FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
  WHERE c.contype = 'p' AND n.nspname = '$SRC_DB'"
DST_IDX_QUERY="SELECT count(*) FROM pg_indexes WHERE schemaname = '$SRC_DB'"
TOTAL_ROWS=0
for kv in $SRC_COUNTS; do TOTAL_ROWS=$((TOTAL_ROWS + ${kv##*=})); done
SRC_MB=$(my_sql -e "SELECT ROUND(SUM(data_length + index_length) / 1048576) FROM information_schema.tables WHERE table_schema = '$SRC_DB'")
say "source: ${#TABLES[@]} tables ($SRC_COUNTS), $SRC_PKS primary keys, $TOTAL_ROWS rows, ${SRC_MB} MB (InnoDB data + indexes)"

cat >"$WORK/pipeline.yaml" <<YAML
name: $PIPELINE_NAME
source: { type: mysql, url: "$MY_URI", password: "\${SL_MY_PASSWORD}" }
target: { type: postgres, url: "$DST_URI", password: "\${SL_BENCH_DST_PASSWORD}" }
snapshot: { parallelism: $PAR }
state: { url: "sqlite://$WORK/state.db" }
YAML

# pgloader: its default WITH options for a MySQL source, spelled out, plus the parallelism.
# Passwords: MYSQL_PWD (set only for pgloader) and the pgpass file.
cat >"$WORK/pgloader.load" <<EOF_LOAD
LOAD DATABASE
     FROM $MY_URI
     INTO postgresql://sluice@127.0.0.1:$DST_PORT/$DST_DB?sslmode=disable
 WITH include drop, create tables, create indexes, reset sequences, foreign keys,
      downcase identifiers, uniquify index names,
      workers = $((2 * PAR)), concurrency = 1${PGLOADER_WITH:+,
      $PGLOADER_WITH}
;
EOF_LOAD

# ------------------------------------------------------------- measuring ---

# CPU ticks used so far by the PostgreSQL server: postmaster + live children (their own and
# reaped children's), + children the postmaster already reaped.
pg_ticks() {
  local pm pid total=0 f rest
  pm=$(head -n1 -- "$DST_DATA/postmaster.pid")
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

# CPU ticks used so far by mariadbd (one process: its threads are included).
my_ticks() {
  local f rest
  f=$(cat "/proc/$(head -n1 -- "$MY_PIDFILE")/stat") || die "cannot read the stat of $MY's mariadbd"
  rest=${f##*) }
  # shellcheck disable=SC2086 # split the numeric fields on purpose
  set -- $rest
  echo $((${12} + ${13}))
}

ticks_to_s() { awk -v t="$1" -v hz="$CLK_TCK" 'BEGIN { printf "%.2f", t / hz }'; }

# Fresh empty target database, no leftover checkpoint work.
reset_target() {
  bash scripts/pg.sh createdb "$DST" "$DST_DB" 2>>"$WORK/servers.log" || die "could not recreate $DST/$DST_DB"
  super_pg "CHECKPOINT" >/dev/null
}

# measure NAME RUN CMD...: times the command CMD (stdout+stderr to the contender's log); sets WALL,
# CLIENT_CPU, CLIENT_RSS (peak, MB), SRC_CPU, DST_CPU. Fails the bench when CMD fails.
measure() {
  local name=$1 run=$2 tf s0 d0 s1 d1 rc=0
  shift 2
  CURRENT_LOG=$WORK/$name-$run.log
  tf=$WORK/.time
  s0=$(my_ticks)
  d0=$(pg_ticks)
  {
    TIMEFORMAT='%3R %3U %3S'
    time /usr/bin/time -f %M -o "$WORK/.rss" "$@" >>"$CURRENT_LOG" 2>&1
  } 2>"$tf" || rc=$?
  s1=$(my_ticks)
  d1=$(pg_ticks)
  ((rc == 0)) || die "$name run $run failed (exit $rc); see $CURRENT_LOG"
  read -r WALL cu cs <"$tf"
  CLIENT_CPU=$(awk -v u="$cu" -v s="$cs" 'BEGIN { printf "%.2f", u + s }')
  CLIENT_RSS=$(awk 'NR == 1 { printf "%.0f", $1 / 1024 }' "$WORK/.rss")
  SRC_CPU=$(ticks_to_s $((s1 - s0)))
  DST_CPU=$(ticks_to_s $((d1 - d0)))
}

# Same rows per table as the source, same number of primary keys; sets ROWS and INDEXES.
check_target() {
  local name=$1 run=$2 counts pks kv
  counts=$(dst_counts) || die "$name run $run: cannot count the target's rows (a table is missing?)"
  pks=$(dst_sql "$DST_PK_QUERY")
  [[ $counts == "$SRC_COUNTS" ]] || die "$name run $run: target rows ($counts) differ from source ($SRC_COUNTS)"
  [[ $pks == "$SRC_PKS" ]] || die "$name run $run: target has $pks primary keys, source $SRC_PKS"
  INDEXES=$(dst_sql "$DST_IDX_QUERY")
  ROWS=0
  for kv in $counts; do ROWS=$((ROWS + ${kv##*=})); done
}

forget_sluice_state() {
  rm -f -- "$WORK"/state.db "$WORK"/state.db-*
}

declare -A R_WALL R_CLIENT R_RSS R_SRC R_DST R_ROWS R_IDX
record() { # name
  R_WALL[$1]+=" $WALL"
  R_CLIENT[$1]+=" $CLIENT_CPU"
  R_RSS[$1]+=" $CLIENT_RSS"
  R_SRC[$1]+=" $SRC_CPU"
  R_DST[$1]+=" $DST_CPU"
  R_ROWS[$1]=$ROWS
  R_IDX[$1]=$INDEXES
}

VERIFIED=0
forget_sluice_state
say "$RUNS run(s) of: $CONTENDERS (parallelism $PAR); logs in $WORK"
for ((run = 1; run <= RUNS; run++)); do
  for c in $CONTENDERS; do
    reset_target
    case $c in
      sluice)
        forget_sluice_state
        measure sluice "$run" "$SLUICE_BIN" run --once "$WORK/pipeline.yaml"
        check_target sluice "$run"
        if ((VERIFIED == 0)); then
          CURRENT_LOG=$WORK/sluice-verify.log
          rc=0
          "$SLUICE_BIN" verify "$WORK/pipeline.yaml" >"$CURRENT_LOG" 2>&1 || rc=$?
          ((rc == 0)) || die "sluice verify reported differences or failed (exit $rc); see $CURRENT_LOG"
          ! grep -q DIFF "$CURRENT_LOG" || die "sluice verify printed DIFF; see $CURRENT_LOG"
          VERIFIED=1
        fi
        CURRENT_LOG=$WORK/sluice-reset.log
        "$SLUICE_BIN" reset "$WORK/pipeline.yaml" >>"$CURRENT_LOG" 2>&1 || die "sluice reset failed; see $CURRENT_LOG"
        forget_sluice_state
        ;;
      pgloader)
        d=$WORK/pgloader-$run
        mkdir -p "$d"
        # (the assignment is exported to pgloader only, for the time of this call)
        MYSQL_PWD=$MY_PW measure pgloader "$run" pgloader --dynamic-space-size "$PGLOADER_HEAP_MB" \
          --root-dir "$d" --logfile "$d/pgloader.log" --summary "$d/summary.txt" "$WORK/pgloader.load"
        check_target pgloader "$run"
        ;;
    esac
    record "$c"
    say "run $run $c: ${WALL}s wall, $ROWS rows, $INDEXES indexes; client peak RSS ${CLIENT_RSS} MB; CPU s: client $CLIENT_CPU, MariaDB $SRC_CPU, PostgreSQL $DST_CPU"
  done
done
CURRENT_LOG=

# ---------------------------------------------------------------- report ---

# shellcheck disable=SC2086 # $1 is a space-separated list of numbers
median() { printf '%s\n' $1 | sort -g | awk '{ a[NR] = $1 } END { if (NR % 2) m = a[(NR + 1) / 2]; else m = (a[NR / 2] + a[NR / 2 + 1]) / 2; printf "%.3f", m }'; }
div() { awk -v a="$1" -v b="$2" -v f="$3" 'BEGIN { printf f, (b > 0 ? a / b : 0) }'; }

declare -A MED
printf '\nsnapshot MariaDB -> PostgreSQL, sysbench %s x %s rows + wide %s rows (%s rows, %s MB in InnoDB), parallelism %s, %s run(s) each\n' \
  "$NTABLES" "$ROWS_PER_TABLE" "$WIDE_ROWS" "$TOTAL_ROWS" "$SRC_MB" "$PAR" "$RUNS"
printf '%-9s %9s %10s %11s %8s %7s   %-26s %s\n' contender median_s rows rows/s indexes rss_MB "runs (s)" "median CPU s: client / MariaDB / PostgreSQL"
for c in $CONTENDERS; do
  MED[$c]=$(median "${R_WALL[$c]}")
  printf '%-9s %9s %10s %11s %8s %7.0f   %-26s %s / %s / %s\n' "$c" "${MED[$c]}" "${R_ROWS[$c]}" \
    "$(div "${R_ROWS[$c]}" "${MED[$c]}" '%.0f')" "${R_IDX[$c]}" "$(median "${R_RSS[$c]}")" "${R_WALL[$c]# }" \
    "$(median "${R_CLIENT[$c]}")" "$(median "${R_SRC[$c]}")" "$(median "${R_DST[$c]}")"
done
echo

MISSED=0
RATIO=
if [[ -n ${MED[sluice]:-} && -n ${MED[pgloader]:-} ]]; then
  RATIO=$(div "${MED[sluice]}" "${MED[pgloader]}" '%.2f')
  if awk -v r="$RATIO" -v t="$GOAL_RATIO" 'BEGIN { exit !(r <= t) }'; then VERDICT=met; else
    VERDICT=missed
    MISSED=1
  fi
  printf 'ratio sluice/pgloader = %s (goal <= %s: %s)\n\n' "$RATIO" "$GOAL_RATIO" "$VERDICT"
fi

printf 'RESULT tables=%s\nRESULT rows_per_table=%s\nRESULT wide_rows=%s\nRESULT runs=%s\nRESULT parallelism=%s\nRESULT rows=%s\n' \
  "$NTABLES" "$ROWS_PER_TABLE" "$WIDE_ROWS" "$RUNS" "$PAR" "$TOTAL_ROWS"
for c in $CONTENDERS; do
  printf 'RESULT %s_median_s=%s\n' "$c" "${MED[$c]}"
  printf 'RESULT %s_rows_per_s=%s\n' "$c" "$(div "${R_ROWS[$c]}" "${MED[$c]}" '%.0f')"
done
[[ -z $RATIO ]] || printf 'RESULT ratio_sluice_pgloader=%s goal<=%s %s\n' "$RATIO" "$GOAL_RATIO" "$VERDICT"

if [[ $ENFORCE == 1 && $MISSED == 1 ]]; then
  printf 'snapshot_my.sh: the ratio missed its goal (BENCH_ENFORCE=1)\n' >&2
  exit 4
fi
exit 0
