#!/usr/bin/env bash
# Snapshot benchmark, PostgreSQL -> ClickHouse: sluice vs `psql COPY ... TO STDOUT` piped into
# clickhouse-client (and into curl over HTTP, the way sluice sends its inserts).
#
# Usage: bash bench/snapshot_ch.sh        (from anywhere)
#
# In one run, on the same two local servers (bench-src: PostgreSQL 15, wal_level=logical,
# fsync=on, as bench/snapshot_pg.sh uses it; bench-clickhouse: ClickHouse 18.16 from
# scripts/clickhouse.sh with its settings) and the same data, it times two ways of copying every
# table of the source into an empty ClickHouse database, and a third way to tell the costs
# apart. Every contender reads the rows from PostgreSQL and writes them into ClickHouse:
#
#   sluice    `sluice run --once PIPELINE.yaml` with snapshot.parallelism = BENCH_PARALLELISM and
#             target.compression = BENCH_COMPRESSION (none: what `auto` picks on loopback):
#             publication, logical slot with an exported snapshot, catalog, CREATE TABLE
#             (ReplacingMergeTree(_sluice_version) ORDER BY the primary key, the source columns
#             plus _sluice_version UInt64 and _sluice_deleted UInt8), binary COPY out of
#             PostgreSQL in ctid chunks, and INSERT ... FORMAT Native over HTTP; then change
#             capture, caught up at once (nothing writes). Between runs the slot and the state
#             file are removed (`sluice reset` + rm), so every run is a full snapshot.
#   client    per table, one pipe
#               psql -c "COPY (SELECT <every column as text ClickHouse parses>) TO STDOUT" |
#               clickhouse-client --query "INSERT INTO T (<every column>) FORMAT TabSeparated"
#             biggest table first, BENCH_CLIENT_JOBS pipes at once (default BENCH_PARALLELISM),
#             after creating the tables with the DDL sluice's first run made (SHOW CREATE TABLE,
#             taken once, untimed; one clickhouse-client --multiquery, timed). PostgreSQL's COPY
#             text format is ClickHouse's TabSeparated (tab-separated, backslash escapes, \N for
#             NULL). The SELECT gives each column as the text ClickHouse parses into the column's
#             type: the column itself (integers, numeric, double precision, text, char), the
#             String fallbacks of ClickHouse 18.16 in sluice's documented form (timestamp:
#             to_char(..., 'YYYY-MM-DD HH24:MI:SS.US'); date: 'YYYY-MM-DD'), and 0 for
#             _sluice_version and _sluice_deleted (what sluice writes for snapshot rows), so the
#             server gets the same columns and values from every contender. clickhouse-client
#             talks the native TCP protocol, as the same `sluice` user, with --compression
#             BENCH_CLIENT_COMPRESSION (default 0: uncompressed, like sluice on loopback). This
#             is close to the least work a tool can do: no snapshot coordination, no binary
#             decoding, one stream per table, each its own COPY (no snapshot shared by tables).
#   curl      the same DDL and COPY, each piped into curl over ClickHouse's HTTP interface the way
#             sluice sends its inserts (POST /?query=INSERT ... FORMAT TabSeparated, the body
#             streamed with chunked transfer, no Expect), BENCH_CLIENT_JOBS at once: the same
#             baseline over the HTTP insert path. Informational, no goal.
#
# Data: `pgbench -i -s BENCH_SCALE` (pgbench_accounts: int key, two ints, char(84); three small
# tables; pgbench_history empty and keyless) plus a table `wide` of BENCH_WIDE_ROWS rows with
# bigint key, int, numeric(12,2), numeric(9,6), timestamp, date, varchar(64), text and double
# precision columns (some NULL), loaded once at the start. ClickHouse 18.16 has no DateTime64 or
# Date32: sluice stores the timestamp and date columns as String (its documented fallback).
#
# Every run starts from a freshly dropped and created ClickHouse database (the same name for
# every contender) after a CHECKPOINT on the source. Runs are interleaved (sluice, client, curl,
# sluice, ...) to spread noise. After every run of every contender the target is checked
# against the source, by the servers' own SQL and nothing from sluice: per table, the row
# count, and a digest of every source column of every row, computed once by PostgreSQL from the
# source and after each run by ClickHouse from the target (count, and the sums of two 32-bit
# slices of md5 over each row's canonical text: integers and decimals as text, double precision
# as its 64 bits in hex, timestamp and date in sluice's documented String form, NULL as
# <null>; the columns joined with '|'). After sluice's first run `sluice verify` must pass too.
# Reported per contender: median wall time, rows, rows/s, each run's time, the active parts
# left in ClickHouse, the client's median peak RSS, and the median CPU seconds used during a run
# by the client processes (sluice; psql + clickhouse-client; psql + curl), the ClickHouse server
# (every thread, background merges included) and the PostgreSQL server (every backend). Then
# `sluice throughput = X x psql | clickhouse-client` (client median / sluice median, goal
# >= 0.8), the same against curl, and RESULT lines.
#
# Environment:
#   BENCH_SCALE        pgbench scale factor (default 100: 10M accounts, 1.3 GB of heap)
#   BENCH_WIDE_ROWS    rows of the table `wide` (default 3000000; 0: no such table)
#   BENCH_RUNS         runs of each contender (default 3); the median is reported
#   BENCH_PARALLELISM  sluice snapshot.parallelism (default 2)
#   BENCH_CHUNK_SIZE   sluice snapshot.chunk_size (default: sluice's, 1GiB)
#   BENCH_CLIENT_JOBS  psql | clickhouse-client (curl) pipes at once, one table each (default
#                      BENCH_PARALLELISM)
#   BENCH_COMPRESSION  sluice target.compression: none, gzip or auto (default none)
#   BENCH_CLIENT_COMPRESSION  clickhouse-client --compression: 0 or 1 (LZ4) (default 0)
#   BENCH_CONTENDERS   which to run, in this order (default "sluice client curl"); without
#                      sluice, an untimed sluice run still makes the DDL the others use
#   BENCH_ENFORCE      1: exit 4 when the throughput ratio misses its goal (default 0)
#   BENCH_KEEP_LOGS    0: delete the log directory after a successful run (default 1: keep it;
#                      it is always kept, and its files listed, when the bench fails)
#   SLUICE_BIN         sluice binary (default build-release/sluice, built when missing)
#
# The servers are left running afterwards (scripts/pg.sh stop bench-src,
# scripts/clickhouse.sh stop bench-clickhouse).
# shellcheck disable=SC2317 # functions run indirectly: trap, measure
set -euo pipefail

ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$ROOT"

SCALE=${BENCH_SCALE:-100}
WIDE_ROWS=${BENCH_WIDE_ROWS:-3000000}
RUNS=${BENCH_RUNS:-3}
PAR=${BENCH_PARALLELISM:-2}
CLIENT_JOBS=${BENCH_CLIENT_JOBS:-$PAR}
COMPRESSION=${BENCH_COMPRESSION:-none}
CHUNK=${BENCH_CHUNK_SIZE:-}
CLIENT_COMPRESSION=${BENCH_CLIENT_COMPRESSION:-0}
CONTENDERS=${BENCH_CONTENDERS:-sluice client curl}
ENFORCE=${BENCH_ENFORCE:-0}
KEEP_LOGS=${BENCH_KEEP_LOGS:-1}
SLUICE_BIN=${SLUICE_BIN:-$ROOT/build-release/sluice}
PGBIN=/usr/lib/postgresql/15/bin
SRC=bench-src
CH=bench-clickhouse
SRC_DB=bench_ch
CH_DB=bench_ch
PIPELINE_NAME=bench_ch
SLOT=sluice_bench_ch
GOAL=0.80

say() { printf '==> %s\n' "$*" >&2; }
die() {
  printf 'snapshot_ch.sh: error: %s\n' "$*" >&2
  exit 1
}

for v in SCALE:SCALE RUNS:RUNS PARALLELISM:PAR CLIENT_JOBS:CLIENT_JOBS; do
  val=${v#*:}
  [[ ${!val} =~ ^[1-9][0-9]*$ ]] || die "BENCH_${v%%:*} must be a positive integer, not '${!val}'"
done
[[ $WIDE_ROWS =~ ^[0-9]+$ ]] || die "BENCH_WIDE_ROWS must be a non-negative integer, not '$WIDE_ROWS'"
case $COMPRESSION in none | gzip | auto) ;; *) die "BENCH_COMPRESSION must be none, gzip or auto, not '$COMPRESSION'" ;; esac
case $CLIENT_COMPRESSION in 0 | 1) ;; *) die "BENCH_CLIENT_COMPRESSION must be 0 or 1, not '$CLIENT_COMPRESSION'" ;; esac
for c in $CONTENDERS; do
  case $c in sluice | client | curl) ;; *) die "BENCH_CONTENDERS: unknown contender '$c'" ;; esac
done
[[ -n ${CONTENDERS// /} ]] || die "BENCH_CONTENDERS is empty"

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
for b in psql pgbench clickhouse-client curl; do
  command -v "$b" >/dev/null || die "$b not found (run scripts/deps.sh)"
done
CLK_TCK=$(getconf CLK_TCK)

WORK=$(mktemp -d "${TMPDIR:-/tmp}/sluice-chbench.XXXXXX")
CURRENT_LOG=
on_exit() {
  local rc=$?
  if ((rc != 0)); then
    printf '\nsnapshot_ch.sh: FAILED (exit %d). Logs of every contender are in %s:\n' "$rc" "$WORK" >&2
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

say "starting servers $SRC (PostgreSQL, wal_level=logical, fsync=on) and $CH (ClickHouse)"
CURRENT_LOG=$WORK/servers.log
bash scripts/pg.sh start "$SRC" --wal-level logical --fsync on 2>>"$WORK/servers.log" || die "could not start $SRC"
bash scripts/clickhouse.sh start "$CH" 2>>"$WORK/servers.log" || die "could not start $CH"
CURRENT_LOG=

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

# Passwords: a pgpass file for libpq clients, a clickhouse-client config file and a curl config
# file (mode 600) for the sluice user, the pipeline's ${VAR}s; none on a command line.
unset PGHOST PGHOSTADDR PGPORT PGDATABASE PGUSER PGPASSWORD PGSERVICE PGOPTIONS || true
pgpass_esc() { local s=${1//\\/\\\\}; printf '%s' "${s//:/\\:}"; }
xml_text() { local s=${1//&/&amp;}; s=${s//</&lt;}; printf '%s' "${s//>/&gt;}"; }
(
  umask 077
  printf '127.0.0.1:%s:*:sluice:%s\n' "$SRC_PORT" "$(pgpass_esc "$SRC_PW")" >"$WORK/pgpass"
  printf '<?xml version="1.0"?>\n<config>\n  <host>127.0.0.1</host>\n  <port>%s</port>\n  <user>sluice</user>\n  <password>%s</password>\n</config>\n' \
    "$CH_TCP_PORT" "$(xml_text "$CH_PW")" >"$WORK/ch-client.xml"
  curl_pw=${CH_PW//\\/\\\\}
  printf 'user = "sluice:%s"\n' "${curl_pw//\"/\\\"}" >"$WORK/curl.cfg"
)
export PGPASSFILE=$WORK/pgpass
export SL_PG_PASSWORD=$SRC_PW SL_CH_PASSWORD=$CH_PW

SRC_URI="postgres://sluice@127.0.0.1:$SRC_PORT/$SRC_DB"
SRC_CONN="host=127.0.0.1 port=$SRC_PORT user=sluice dbname=$SRC_DB"
PSQL=(psql -X -q -v ON_ERROR_STOP=1)

src_sql() { "${PSQL[@]}" -At -d "$SRC_CONN" -c "$1"; }
super_pg() { bash scripts/pg.sh psql "$SRC" -q -At -c "$1"; }
ch_sql() { bash scripts/clickhouse.sh sql "$CH" "$@"; } # admin, native protocol

# ------------------------------------------------------------ source data ---

say "loading pgbench scale $SCALE and wide ($WIDE_ROWS rows) into $SRC/$SRC_DB"
# createdb drops the old database, and with it any slot left by an interrupted bench.
CURRENT_LOG=$WORK/servers.log
bash scripts/pg.sh createdb "$SRC" "$SRC_DB" 2>>"$WORK/servers.log" || die "could not create $SRC/$SRC_DB"
CURRENT_LOG=$WORK/pgbench-init.log
pgbench -i -q -s "$SCALE" -h 127.0.0.1 -p "$SRC_PORT" -U sluice "$SRC_DB" >"$CURRENT_LOG" 2>&1 || die "pgbench -i failed"
if ((WIDE_ROWS > 0)); then
  CURRENT_LOG=$WORK/wide.log
  "${PSQL[@]}" -d "$SRC_CONN" >"$CURRENT_LOG" 2>&1 <<SQL || die "loading the table wide failed"
CREATE TABLE wide (
  id bigint PRIMARY KEY,
  account integer NOT NULL,
  amount numeric(12,2) NOT NULL,
  rate numeric(9,6),
  created timestamp NOT NULL,
  due date,
  label varchar(64) NOT NULL,
  note text,
  score double precision
);
INSERT INTO wide
SELECT g, g % 10007, (g * 7919 % 100000000) / 100.0,
       CASE WHEN g % 7 = 0 THEN NULL ELSE (g % 1000003) / 1000000.0 END,
       timestamp '2020-01-01 00:00:00' + g * interval '1 second' + (g * 37 % 1000000) * interval '1 microsecond',
       CASE WHEN g % 11 = 0 THEN NULL ELSE date '2024-01-01' + (g % 3650)::int END,
       'label-' || (g % 5000) || '-' || to_hex(g),
       CASE WHEN g % 5 = 0 THEN NULL ELSE repeat(md5(g::text), 1 + (g % 6)::int) END,
       CASE WHEN g % 13 = 0 THEN NULL ELSE g / 7.0 END
  FROM generate_series(1::bigint, $WIDE_ROWS) g;
VACUUM ANALYZE wide;
SQL
fi
CURRENT_LOG=

# The tables, biggest first (all in schema public; they land in ClickHouse under these names).
mapfile -t TABLES < <(src_sql "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r','p') AND n.nspname = 'public' ORDER BY pg_relation_size(c.oid) DESC, c.relname")
((${#TABLES[@]} > 0)) || die "no tables found in $SRC/$SRC_DB"
for t in "${TABLES[@]}"; do
  [[ $t =~ ^[a-z_][a-z0-9_]*$ ]] || die "unexpected table name '$t' in $SRC_DB"
done

# "table=rows" per table, sorted by name, one line.
SRC_COUNT_QUERY=''
CH_COUNT_QUERY=''
for t in "${TABLES[@]}"; do
  SRC_COUNT_QUERY+="${SRC_COUNT_QUERY:+ UNION ALL }SELECT '$t', count(*) FROM public.$t"
  CH_COUNT_QUERY+="${CH_COUNT_QUERY:+ UNION ALL }SELECT '$t', count() FROM $CH_DB.$t"
done
count_line() { awk -F'\t' 'NF == 2 { print $1 "=" $2 }' | LC_ALL=C sort | paste -sd' '; }
SRC_COUNTS=$("${PSQL[@]}" -At -F $'\t' -d "$SRC_CONN" -c "$SRC_COUNT_QUERY" | count_line)
ch_counts() { ch_sql --query "$CH_COUNT_QUERY" | count_line; }
TOTAL_ROWS=0
for kv in $SRC_COUNTS; do TOTAL_ROWS=$((TOTAL_ROWS + ${kv##*=})); done
SRC_SIZE=$(src_sql "SELECT pg_size_pretty(pg_database_size(current_database()))")
say "source: ${#TABLES[@]} tables ($SRC_COUNTS), $TOTAL_ROWS rows, $SRC_SIZE"

cat >"$WORK/pipeline.yaml" <<YAML
name: $PIPELINE_NAME
source: { type: postgres, url: "$SRC_URI", password: "\${SL_PG_PASSWORD}" }
target:
  type: clickhouse
  url: "http://sluice@127.0.0.1:$CH_HTTP_PORT"
  password: "\${SL_CH_PASSWORD}"
  database: $CH_DB
  compression: $COMPRESSION
snapshot: { parallelism: $PAR${CHUNK:+, chunk_size: $CHUNK} }
state: { url: "sqlite://$WORK/state.db" }
YAML

# ------------------------------------------------------------- measuring ---

# CPU ticks used so far by the PostgreSQL server: postmaster + live children (their own and
# reaped children's), + children the postmaster already reaped.
pg_ticks() {
  local pm pid total=0 f rest
  pm=$(head -n1 -- "$SRC_DATA/postmaster.pid")
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

# CPU ticks used so far by clickhouse-server (one process: every thread, live or exited).
ch_ticks() {
  local f rest
  f=$(cat "/proc/$(head -n1 -- "$CH_PIDFILE")/stat") || die "cannot read the stat of $CH's clickhouse-server"
  rest=${f##*) }
  # shellcheck disable=SC2086 # split the numeric fields on purpose
  set -- $rest
  echo $((${12} + ${13}))
}

ticks_to_s() { awk -v t="$1" -v hz="$CLK_TCK" 'BEGIN { printf "%.2f", t / hz }'; }

# Fresh empty ClickHouse database, no leftover checkpoint work on the source. Waits (up to 60 s)
# until no merge of the dropped tables runs any more, so a run does not pay for the last one.
reset_target() {
  local i
  CURRENT_LOG=$WORK/servers.log
  bash scripts/clickhouse.sh createdb "$CH" "$CH_DB" 2>>"$WORK/servers.log" || die "could not recreate $CH/$CH_DB"
  super_pg "CHECKPOINT" >/dev/null
  for ((i = 0; i < 600; i++)); do
    [[ $(ch_sql --query "SELECT count() FROM system.merges") == 0 ]] && break
    sleep 0.1
  done
  CURRENT_LOG=
}

# measure NAME RUN CMD...: times CMD (stdout+stderr to the contender's log); sets WALL,
# CLIENT_CPU, CLIENT_RSS (peak, MB), CH_CPU, PG_CPU. Fails the bench when CMD fails.
measure() {
  local name=$1 run=$2 tf c0 p0 c1 p1 rc=0
  shift 2
  CURRENT_LOG=$WORK/$name-$run.log
  tf=$WORK/.time
  c0=$(ch_ticks)
  p0=$(pg_ticks)
  {
    TIMEFORMAT='%3R %3U %3S'
    time /usr/bin/time -f %M -o "$WORK/.rss" "$@" >>"$CURRENT_LOG" 2>&1
  } 2>"$tf" || rc=$?
  c1=$(ch_ticks)
  p1=$(pg_ticks)
  ((rc == 0)) || die "$name run $run failed (exit $rc); see $CURRENT_LOG"
  read -r WALL cu cs <"$tf"
  CLIENT_CPU=$(awk -v u="$cu" -v s="$cs" 'BEGIN { printf "%.2f", u + s }')
  CLIENT_RSS=$(awk 'NR == 1 { printf "%.0f", $1 / 1024 }' "$WORK/.rss")
  CH_CPU=$(ticks_to_s $((c1 - c0)))
  PG_CPU=$(ticks_to_s $((p1 - p0)))
}

# Every column of table $1 in ClickHouse, in order, as "name<TAB>type" lines.
ch_columns() {
  ch_sql --query "SELECT name, type FROM system.columns WHERE database = '$CH_DB' AND table = '$1' FORMAT TabSeparated"
}

# The digests: per table "table=count:s1:s2", tables in TABLES order. Each row becomes one
# canonical text, the same on both servers: every source column (in source order; sluice's
# metadata columns are not part of it) as text, joined with '|', NULL as <null>; integers,
# numeric, text and char as their text (char with its padding, as PostgreSQL outputs it),
# double precision / real as the 64 bits of the double in hex (exact, no formatting), timestamp
# as 'YYYY-MM-DD HH:MM:SS.ffffff' (timestamptz in UTC) and date as 'YYYY-MM-DD' (sluice's
# documented String fallback on ClickHouse 18.16; a newer server's DateTime64/Date32 print the
# same). s1 and s2 are the sums over the rows of the first and of the second 32 bits of md5 of
# that text: independent of row order and parts. PostgreSQL computes it from the source,
# ClickHouse from the target; nothing of sluice's is involved.

# PostgreSQL: the canonical text of column $1 of type $2 (typname), NULL for NULL.
pg_canon() {
  case $2 in
    int2 | int4 | int8 | numeric | text | varchar) printf '%s::text' "$1" ;;
    bpchar) printf "CASE WHEN %s IS NOT NULL THEN format('%%s', %s) END" "$1" "$1" ;; # format: NULL -> ''

    float4 | float8) printf "encode(float8send(%s::float8), 'hex')" "$1" ;;
    timestamp) printf "to_char(%s, 'YYYY-MM-DD HH24:MI:SS.US')" "$1" ;;
    timestamptz) printf "to_char(%s AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')" "$1" ;;
    date) printf "to_char(%s, 'YYYY-MM-DD')" "$1" ;;
    *) die "digest: no canonical text for PostgreSQL type $2 (column $1)" ;;
  esac
}
# ClickHouse: the same for the target column $1 (source type $2, ClickHouse type $3).
ch_canon() {
  local col=\`$1\` e
  if [[ $3 == Nullable\(* ]]; then col="assumeNotNull($col)"; fi
  case $2 in
    float4 | float8) e="lower(hex(reverse(reinterpretAsString(toFloat64($col)))))" ;;
    *) e="toString($col)" ;;
  esac
  if [[ $3 == Nullable\(* ]]; then
    printf "if(isNull(\`%s\`), '<null>', %s)" "$1" "$e"
  else
    printf '%s' "$e"
  fi
}

# Source columns of every table: SRC_COLS[t] = "name:typname ..." in column order.
declare -A SRC_COLS
load_source_columns() {
  local t name typ
  for t in "${TABLES[@]}"; do
    SRC_COLS[$t]=''
    while IFS=$'\t' read -r name typ; do
      [[ $name =~ ^[a-z_][a-z0-9_]*$ ]] || die "unexpected column name '$name' in $t"
      SRC_COLS[$t]+="${SRC_COLS[$t]:+ }$name:$typ"
    done < <("${PSQL[@]}" -At -F $'\t' -d "$SRC_CONN" -c "SELECT a.attname, t.typname FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
      WHERE a.attrelid = 'public.$t'::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum")
    [[ -n ${SRC_COLS[$t]} ]] || die "table $t has no columns"
  done
}

# The digest of every table, computed by PostgreSQL from the source. With $1 = nofloat, every
# double precision / real value counts as the text <float> (see float_check).
source_digests() {
  local t nt parts q out=''
  for t in "${TABLES[@]}"; do
    parts=''
    for nt in ${SRC_COLS[$t]}; do
      if [[ ${1:-} == nofloat && ${nt#*:} == float[48] ]]; then parts+="${parts:+, }'<float>'"; continue; fi
      parts+="${parts:+, }coalesce($(pg_canon "${nt%%:*}" "${nt#*:}"), '<null>')"
    done
    q="SELECT count(*), coalesce(sum(('x' || substr(h, 1, 8))::bit(32)::bigint), 0), coalesce(sum(('x' || substr(h, 9, 8))::bit(32)::bigint), 0)
         FROM (SELECT md5(concat_ws('|', $parts)) AS h FROM public.$t) x"
    out+="${out:+ }$t=$("${PSQL[@]}" -At -F: -d "$SRC_CONN" -c "$q")" || die "digest of $SRC/$SRC_DB.$t failed"
  done
  printf '%s\n' "$out"
}

# The digest of every table, computed by ClickHouse from the target ($1: as source_digests).
target_digests() {
  local t nt name type parts row q out=''
  local -A chtype
  for t in "${TABLES[@]}"; do
    chtype=()
    while IFS=$'\t' read -r name type; do chtype[$name]=$type; done < <(ch_columns "$t")
    parts=''
    for nt in ${SRC_COLS[$t]}; do
      name=${nt%%:*}
      [[ -n ${chtype[$name]:-} ]] || die "column $t.$name is missing in $CH/$CH_DB"
      if [[ ${1:-} == nofloat && ${nt#*:} == float[48] ]]; then parts+="${parts:+, '|', }'<float>'"; continue; fi
      parts+="${parts:+, '|', }$(ch_canon "$name" "${nt#*:}" "${chtype[$name]}")"
    done
    if [[ $parts == *", '|', "* ]]; then row="concat($parts)"; else row=$parts; fi
    q="SELECT count(), sum(reinterpretAsUInt32(reverse(unhex(substring(h, 1, 8))))), sum(reinterpretAsUInt32(reverse(unhex(substring(h, 9, 8)))))
         FROM (SELECT hex(MD5($row)) AS h FROM $CH_DB.$t)"
    out+="${out:+ }$t=$(ch_sql --query "$q" | tr '\t' ':')" || die "digest of $CH_DB.$t failed"
  done
  printf '%s\n' "$out"
}

# The baselines' doubles: ClickHouse 18.16 parses some doubles written as text one unit in the
# last place (ulp) off, in every text form PostgreSQL can write (its shortest form: a few in
# 10,000; 17 digits: far more). So the baselines are checked with the digest without their
# double precision / real values (source_digests nofloat), plus this: every such value of the
# target, as its 64 bits, keyed by the primary key, is loaded into PostgreSQL and compared there
# with the source's: NULL where the source has NULL, else equal or one ulp away (the bits as
# integers differ by 1), and no row missing. Sets FLOAT_OFF (values one ulp off, all tables).
float_check() { # NAME RUN
  local t nt name key cols chsel pgsel bad cmp res
  FLOAT_OFF=0
  for t in "${TABLES[@]}"; do
    cols='' chsel='' pgsel='' bad='' cmp=''
    for nt in ${SRC_COLS[$t]}; do
      [[ ${nt#*:} == float[48] ]] || continue
      name=${nt%%:*}
      cols+=", $name text"
      chsel+=", if(isNull(\`$name\`), NULL, lower(hex(reverse(reinterpretAsString(toFloat64(assumeNotNull(\`$name\`)))))))"
      pgsel+=", encode(float8send($name::float8), 'hex') AS $name"
      bad+=" OR NOT (s.$name IS NOT DISTINCT FROM c.$name OR abs(('x' || s.$name)::bit(64)::bigint::numeric - ('x' || c.$name)::bit(64)::bigint::numeric) = 1)"
      cmp+=" OR s.$name IS DISTINCT FROM c.$name"
    done
    [[ -n $cols ]] || continue
    key=$(src_sql "SELECT string_agg(a.attname, ',') FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
      WHERE i.indrelid = 'public.$t'::regclass AND i.indisprimary")
    [[ $key =~ ^[a-z_][a-z0-9_]*$ ]] || die "float_check: $t needs a one-column primary key (has '$key')"
    res=$(ch_sql --query "SELECT toString(\`$key\`)$chsel FROM $CH_DB.$t FORMAT TabSeparated" |
      "${PSQL[@]}" -At -F' ' -d "$SRC_CONN" -c "CREATE TEMP TABLE chk (k text PRIMARY KEY$cols)" -c "COPY chk FROM STDIN" \
        -c "SELECT count(*) FILTER (WHERE s.k IS NULL OR c.k IS NULL$bad), count(*) FILTER (WHERE s.k IS NOT NULL AND c.k IS NOT NULL AND (false$cmp))
              FROM (SELECT $key::text AS k$pgsel FROM public.$t) s FULL JOIN chk c USING (k)") ||
      die "$1 run $2: comparing the doubles of $t failed"
    read -r bad cmp <<<"$res"
    [[ $bad == 0 ]] || die "$1 run $2: $bad rows of $t have doubles more than one ulp from the source's (or are missing)"
    FLOAT_OFF=$((FLOAT_OFF + cmp))
  done
}

# Same rows per table as the source; sets ROWS and PARTS (active parts in the database).
check_target() {
  local name=$1 run=$2 counts kv
  counts=$(ch_counts) || die "$name run $run: cannot count the target's rows (a table is missing?)"
  [[ $counts == "$SRC_COUNTS" ]] || die "$name run $run: target rows ($counts) differ from source ($SRC_COUNTS)"
  PARTS=$(ch_sql --query "SELECT count() FROM system.parts WHERE database = '$CH_DB' AND active")
  ROWS=0
  for kv in $counts; do ROWS=$((ROWS + ${kv##*=})); done
}

drop_sluice_slot() {
  super_pg "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = '$SLOT'" >/dev/null
  rm -f -- "$WORK"/state.db "$WORK"/state.db-*
}

# After a sluice run: `sluice reset`, and no slot or state file left behind.
sluice_forget() {
  CURRENT_LOG=$WORK/sluice-reset.log
  "$SLUICE_BIN" reset "$WORK/pipeline.yaml" >>"$CURRENT_LOG" 2>&1 || die "sluice reset failed; see $CURRENT_LOG"
  drop_sluice_slot
  CURRENT_LOG=
}

# Percent-encoded text for a URL's query string.
url_encode() {
  local s=$1 i c out=''
  for ((i = 0; i < ${#s}; i++)); do
    c=${s:i:1}
    case $c in
      [A-Za-z0-9._~-]) out+=$c ;;
      *) printf -v c '%%%02X' "'$c" && out+=$c ;;
    esac
  done
  printf '%s' "$out"
}

# write_run_script NAME JOB ARG0 PREFIX...: $WORK/NAME-run.sh, one run of a contender: the
# DDL, then the shell command JOB (bash -c, pipefail; $0 = ARG0, $1 = a PREFIX: $1.copy is the
# COPY statement, $1.sql the INSERT, $1.url its HTTP request target) for every PREFIX,
# BENCH_CLIENT_JOBS at once, biggest table first.
write_run_script() {
  local name=$1 job=$2 arg0=$3
  shift 3
  [[ $job != *\'* ]] || die "write_run_script: the job must not contain a single quote"
  {
    printf '#!/usr/bin/env bash\n# One run of the %s contender (written by bench/snapshot_ch.sh).\nset -euo pipefail\n' "$name"
    printf 'export HOME=%q PGPASSFILE=%q BENCH_SRC_CONN=%q\n' "$WORK" "$WORK/pgpass" "$SRC_CONN"
    printf 'clickhouse-client --config-file=%q --multiquery <%q\n' "$WORK/ch-client.xml" "$WORK/client-ddl.sql"
    if (($# > 0)); then
      printf 'printf "%%s\\n"'
      printf ' %q' "$@"
      printf ' |\n  xargs -d %s -P %s -n 1 bash -c %s \\\n    %q\n' "'\\n'" "$CLIENT_JOBS" "'set -o pipefail; $job'" "$arg0"
    fi
  } >"$WORK/$name-run.sh"
}

# After sluice's first run (untimed): `sluice verify`, then what the client and curl contenders
# run: the DDL of sluice's tables, and per table the COPY out of PostgreSQL and the INSERT.
prepare_client() {
  local t nt name type cols sel rc=0
  local -A srctype
  CURRENT_LOG=$WORK/sluice-verify.log
  "$SLUICE_BIN" verify "$WORK/pipeline.yaml" >"$CURRENT_LOG" 2>&1 || rc=$?
  ((rc == 0)) || die "sluice verify reported differences or failed (exit $rc); see $CURRENT_LOG"
  ! grep -q DIFF "$CURRENT_LOG" || die "sluice verify printed DIFF; see $CURRENT_LOG"
  CURRENT_LOG=
  [[ -d $WORK/tables ]] && return 0
  mkdir -p "$WORK/tables"
  : >"$WORK/client-ddl.sql"
  local jobs=()
  for t in "${TABLES[@]}"; do
    ch_sql --format TSVRaw --query "SHOW CREATE TABLE $CH_DB.$t" | sed 's/$/;/' >>"$WORK/client-ddl.sql" ||
      die "SHOW CREATE TABLE $CH_DB.$t failed"
    srctype=()
    for nt in ${SRC_COLS[$t]}; do srctype[${nt%%:*}]=${nt#*:}; done
    cols='' sel=''
    while IFS=$'\t' read -r name type; do
      cols+="${cols:+, }\`$name\`"
      if [[ $name == _sluice_version || $name == _sluice_deleted ]]; then
        sel+="${sel:+, }0" # what sluice writes for every snapshot row
      elif [[ -z ${srctype[$name]:-} ]]; then
        # keyless tables get identity columns that only sluice can fill; the bench has none with rows
        [[ " $SRC_COUNTS " == *" $t=0 "* ]] || die "$CH_DB.$t has column $name that the baseline cannot produce"
        sel+="${sel:+, }NULL"
      elif [[ ${type#Nullable(} == String* ]]; then
        case ${srctype[$name]} in # sluice's String fallbacks, in their documented form
          timestamp) sel+="${sel:+, }to_char($name, 'YYYY-MM-DD HH24:MI:SS.US')" ;;
          timestamptz) sel+="${sel:+, }to_char($name AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')" ;;
          date) sel+="${sel:+, }to_char($name, 'YYYY-MM-DD')" ;;
          *) sel+="${sel:+, }$name" ;;
        esac
      else
        sel+="${sel:+, }$name"
      fi
    done < <(ch_columns "$t")
    printf 'COPY (SELECT %s FROM public.%s) TO STDOUT' "$sel" "$t" >"$WORK/tables/$t.copy"
    printf 'INSERT INTO %s.%s (%s) FORMAT TabSeparated' "$CH_DB" "$t" "$cols" >"$WORK/tables/$t.sql"
    printf '/?query=%s' "$(url_encode "$(<"$WORK/tables/$t.sql")")" >"$WORK/tables/$t.url"
    # an empty table only gets its CREATE TABLE (the server refuses an INSERT without rows)
    [[ " $SRC_COUNTS " == *" $t=0 "* ]] || jobs+=("$WORK/tables/$t")
  done
  # shellcheck disable=SC2016 # $1 and $BENCH_SRC_CONN belong to the inner bash
  local copy='psql -X -q -v ON_ERROR_STOP=1 -d "$BENCH_SRC_CONN" -c "$(cat "$1.copy")"'
  # shellcheck disable=SC2016 # $0/$1 belong to the inner bash
  write_run_script client "$copy"' | clickhouse-client --config-file="$0" --compression '"$CLIENT_COMPRESSION"' --query "$(cat "$1.sql")"' \
    "$WORK/ch-client.xml" "${jobs[@]}"
  # shellcheck disable=SC2016 # $0/$1 belong to the inner bash
  write_run_script curl "$copy"' | curl -sS --fail-with-body -K "$0" -X POST -H "Expect:" -H "Content-Type: text/tab-separated-values" -T - --request-target "$(cat "$1.url")" '"http://127.0.0.1:$CH_HTTP_PORT/" \
    "$WORK/curl.cfg" "${jobs[@]}"
}

# ------------------------------------------------------------ contenders ---

declare -A R_WALL R_CLIENT R_RSS R_CH R_PG R_ROWS R_PARTS R_FLOAT_OFF
record() { # name
  R_WALL[$1]+=" $WALL"
  R_CLIENT[$1]+=" $CLIENT_CPU"
  R_RSS[$1]+=" $CLIENT_RSS"
  R_CH[$1]+=" $CH_CPU"
  R_PG[$1]+=" $PG_CPU"
  R_ROWS[$1]=$ROWS
  R_PARTS[$1]+=" $PARTS"
}

load_source_columns
say "digest of every table, computed by PostgreSQL from the source (untimed)"
SRC_DIGESTS=$(source_digests)
SRC_DIGESTS_NOFLOAT=$(source_digests nofloat)
say "source digests: $SRC_DIGESTS"

drop_sluice_slot
if [[ " $CONTENDERS " != *" sluice "* ]]; then
  say "making the tables' DDL for client and curl with an untimed sluice run"
  reset_target
  CURRENT_LOG=$WORK/sluice-prepare.log
  "$SLUICE_BIN" run --once "$WORK/pipeline.yaml" >"$CURRENT_LOG" 2>&1 || die "sluice run failed; see $CURRENT_LOG"
  check_target sluice prepare
  prepare_client
  sluice_forget
fi

say "$RUNS run(s) of: $CONTENDERS (sluice parallelism $PAR, compression $COMPRESSION; client/curl jobs $CLIENT_JOBS, client --compression $CLIENT_COMPRESSION); logs in $WORK"
for ((run = 1; run <= RUNS; run++)); do
  for c in $CONTENDERS; do
    reset_target
    case $c in
      sluice)
        measure sluice "$run" "$SLUICE_BIN" run --once "$WORK/pipeline.yaml"
        check_target sluice "$run"
        ((run > 1)) || prepare_client
        ;;
      client | curl)
        measure "$c" "$run" bash "$WORK/$c-run.sh"
        check_target "$c" "$run"
        ;;
    esac
    if [[ $c == sluice ]]; then
      d=$(target_digests)
      [[ $d == "$SRC_DIGESTS" ]] || die "$c run $run: the target's digests ($d) differ from the source's ($SRC_DIGESTS)"
      FLOAT_OFF=0
    else
      d=$(target_digests nofloat)
      [[ $d == "$SRC_DIGESTS_NOFLOAT" ]] || die "$c run $run: the target's digests without doubles ($d) differ from the source's ($SRC_DIGESTS_NOFLOAT)"
      float_check "$c" "$run"
    fi
    R_FLOAT_OFF[$c]+=" $FLOAT_OFF"
    [[ $c != sluice ]] || sluice_forget
    record "$c"
    say "run $run $c: ${WALL}s wall, $ROWS rows, $PARTS parts; client peak RSS ${CLIENT_RSS} MB; CPU s: client $CLIENT_CPU, ClickHouse $CH_CPU, PostgreSQL $PG_CPU; doubles one ulp off: $FLOAT_OFF"
  done
done
CURRENT_LOG=

# ---------------------------------------------------------------- report ---

# shellcheck disable=SC2086 # $1 is a space-separated list of numbers
median() { printf '%s\n' $1 | sort -g | awk '{ a[NR] = $1 } END { if (NR % 2) m = a[(NR + 1) / 2]; else m = (a[NR / 2] + a[NR / 2 + 1]) / 2; printf "%.3f", m }'; }
div() { awk -v a="$1" -v b="$2" -v f="$3" 'BEGIN { printf f, (b > 0 ? a / b : 0) }'; }

declare -A MED
printf '\nsnapshot PostgreSQL -> ClickHouse, pgbench scale %s + wide %s rows (%s rows, %s in PostgreSQL), %s run(s) each\n' \
  "$SCALE" "$WIDE_ROWS" "$TOTAL_ROWS" "$SRC_SIZE" "$RUNS"
printf 'sluice: parallelism %s, target.compression %s; client (psql COPY text | clickhouse-client TabSeparated, native TCP, --compression %s) and curl (psql COPY text | curl, HTTP): %s table(s) at once\n' \
  "$PAR" "$COMPRESSION" "$CLIENT_COMPRESSION" "$CLIENT_JOBS"
printf '%-9s %9s %10s %11s %6s %7s   %-26s %s\n' contender median_s rows rows/s parts rss_MB "runs (s)" "median CPU s: client / ClickHouse / PostgreSQL"
for c in $CONTENDERS; do
  MED[$c]=$(median "${R_WALL[$c]}")
  printf '%-9s %9s %10s %11s %6.0f %7.0f   %-26s %s / %s / %s\n' "$c" "${MED[$c]}" "${R_ROWS[$c]}" \
    "$(div "${R_ROWS[$c]}" "${MED[$c]}" '%.0f')" "$(median "${R_PARTS[$c]}")" "$(median "${R_RSS[$c]}")" "${R_WALL[$c]# }" \
    "$(median "${R_CLIENT[$c]}")" "$(median "${R_CH[$c]}")" "$(median "${R_PG[$c]}")"
done
for c in $CONTENDERS; do
  [[ $c == sluice ]] && continue
  printf '%s: doubles one ulp off the source (ClickHouse 18.16 parsing text), per run:%s; sluice: every value exact\n' "$c" "${R_FLOAT_OFF[$c]}"
done
echo

MISSED=0
RATIO=
if [[ -n ${MED[sluice]:-} && -n ${MED[client]:-} ]]; then
  RATIO=$(div "${MED[client]}" "${MED[sluice]}" '%.2f')
  if awk -v r="$RATIO" -v t="$GOAL" 'BEGIN { exit !(r >= t) }'; then VERDICT=met; else
    VERDICT=missed
    MISSED=1
  fi
  printf 'sluice throughput = %s x psql COPY | clickhouse-client (client time / sluice time; goal >= %s: %s)\n' "$RATIO" "$GOAL" "$VERDICT"
fi
RATIO_CURL=
if [[ -n ${MED[sluice]:-} && -n ${MED[curl]:-} ]]; then
  RATIO_CURL=$(div "${MED[curl]}" "${MED[sluice]}" '%.2f')
  printf 'sluice throughput = %s x psql COPY | curl over HTTP (curl time / sluice time; no goal)\n' "$RATIO_CURL"
fi
echo

printf 'RESULT scale=%s\nRESULT wide_rows=%s\nRESULT runs=%s\nRESULT parallelism=%s\nRESULT client_jobs=%s\nRESULT compression=%s\nRESULT client_compression=%s\nRESULT rows=%s\n' \
  "$SCALE" "$WIDE_ROWS" "$RUNS" "$PAR" "$CLIENT_JOBS" "$COMPRESSION" "$CLIENT_COMPRESSION" "$TOTAL_ROWS"
for c in $CONTENDERS; do
  printf 'RESULT %s_median_s=%s\n' "$c" "${MED[$c]}"
  printf 'RESULT %s_rows_per_s=%s\n' "$c" "$(div "${R_ROWS[$c]}" "${MED[$c]}" '%.0f')"
done
[[ -z $RATIO ]] || printf 'RESULT ratio_sluice_client_throughput=%s goal>=%s %s\n' "$RATIO" "$GOAL" "$VERDICT"
[[ -z $RATIO_CURL ]] || printf 'RESULT ratio_sluice_curl_throughput=%s\n' "$RATIO_CURL"

if [[ $ENFORCE == 1 && $MISSED == 1 ]]; then
  printf 'snapshot_ch.sh: the throughput ratio missed its goal (BENCH_ENFORCE=1)\n' >&2
  exit 4
fi
exit 0
