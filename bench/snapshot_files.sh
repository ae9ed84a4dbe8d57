#!/usr/bin/env bash
# Snapshot benchmark, PostgreSQL -> Parquet files (the files target): sluice against the
# source's own read floor, and its files against DuckDB's.
#
# Usage: bash bench/snapshot_files.sh        (from anywhere)
#
# Data: `pgbench -i -s BENCH_SCALE` in bench-src (PostgreSQL 15, wal_level=logical, fsync=on;
# the instance bench/snapshot_pg.sh uses). In one run, interleaved (sluice, floor, sluice, ...):
#
#   sluice  `sluice run --once` into an empty directory (target type files, compression
#           BENCH_CODEC, snapshot.parallelism BENCH_PARALLELISM): publication, slot with an
#           exported snapshot, binary COPY in ctid chunks, Parquet encoding, files written and
#           flushed to disk; then change capture, caught up at once. Between runs the slot, the
#           state file and the files are removed.
#   floor   the same tables read with `COPY t TO STDOUT (FORMAT binary)` into /dev/null,
#           BENCH_PARALLELISM tables at once, biggest first: what reading the rows costs at
#           the least; no tool can copy them faster than the source hands them out.
#
# Then DuckDB (the npm package in tests/oracles) loads the same rows (untimed, from COPY ... CSV)
# and writes each table to one Parquet file with the same codec (timed, informational): the
# size of its files against sluice's. After sluice's first run `sluice verify` must pass, and
# DuckDB must read from sluice's files the row count and key sum PostgreSQL gives.
#
# Reported: median wall time of each, rows/s, sluice's peak RSS (median), total file sizes,
# `time ratio sluice / floor` (goal <= 1.3), `size ratio sluice / DuckDB` (goal <= 1.1), peak RSS
# (goal < 300 MB), and RESULT lines.
#
# Environment:
#   BENCH_SCALE        pgbench scale (default 50: 5M accounts)
#   BENCH_RUNS         runs of each contender (default 3)
#   BENCH_PARALLELISM  sluice snapshot.parallelism and floor jobs (default 2)
#   BENCH_CODEC        zstd or snappy (default zstd)
#   SLUICE_BIN         sluice binary (default build-release/sluice, built when missing)
# The server is left running (scripts/pg.sh stop bench-src).
set -euo pipefail

ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$ROOT"
SCALE=${BENCH_SCALE:-50}
RUNS=${BENCH_RUNS:-3}
PAR=${BENCH_PARALLELISM:-2}
CODEC=${BENCH_CODEC:-zstd}
SLUICE_BIN=${SLUICE_BIN:-$ROOT/build-release/sluice}
PGBIN=/usr/lib/postgresql/15/bin
SRC=bench-src
DB=bench_files
NAME=bench_files

say() { printf '==> %s\n' "$*" >&2; }
die() {
  printf 'snapshot_files.sh: error: %s\n' "$*" >&2
  exit 1
}
for v in SCALE RUNS PAR; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "BENCH_${v/PAR/PARALLELISM} must be a positive integer"
done
case $CODEC in zstd | snappy) ;; *) die "BENCH_CODEC must be zstd or snappy, not '$CODEC'" ;; esac

bash scripts/deps.sh >&2
bash scripts/oracles.sh >&2
if [[ ! -x $SLUICE_BIN ]]; then
  [[ $SLUICE_BIN == "$ROOT/build-release/sluice" ]] || die "SLUICE_BIN=$SLUICE_BIN is not an executable"
  say "building $SLUICE_BIN"
  { cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release >/dev/null && cmake --build build-release -j2 >/dev/null; } ||
    die "building $SLUICE_BIN failed (run: make build, to see why)"
fi
export PATH=$PGBIN:$PATH

WORK=$(mktemp -d "${TMPDIR:-/tmp}/sluice-filesbench.XXXXXX")
trap 'rc=$?; ((rc == 0)) && rm -rf -- "$WORK" || printf "logs kept in %s\n" "$WORK" >&2' EXIT

say "starting $SRC (PostgreSQL, wal_level=logical, fsync=on)"
bash scripts/pg.sh start "$SRC" --wal-level logical --fsync on 2>>"$WORK/servers.log" || die "could not start $SRC"
unq() { eval "printf '%s' $1"; }
pg_env() { bash scripts/pg.sh env "$SRC" | sed -n "s/^export $1=//p"; }
PORT=$(unq "$(pg_env SL_PG_PORT)")
PW=$(unq "$(pg_env SL_PG_PASSWORD)")
unset PGHOST PGHOSTADDR PGPORT PGDATABASE PGUSER PGPASSWORD PGSERVICE PGOPTIONS || true
(umask 077 && printf '127.0.0.1:%s:*:sluice:%s\n' "$PORT" "$PW" >"$WORK/pgpass")
export PGPASSFILE=$WORK/pgpass SL_PG_PASSWORD=$PW
CONN="host=127.0.0.1 port=$PORT user=sluice dbname=$DB"
sql() { psql -X -q -v ON_ERROR_STOP=1 -At -d "$CONN" -c "$1"; }

say "loading pgbench scale $SCALE"
bash scripts/pg.sh createdb "$SRC" "$DB" 2>>"$WORK/servers.log" || die "could not create $DB"
pgbench -i -q -s "$SCALE" -h 127.0.0.1 -p "$PORT" -U sluice "$DB" >"$WORK/pgbench.log" 2>&1 || die "pgbench -i failed"
sql "VACUUM ANALYZE" >/dev/null
mapfile -t TABLES < <(sql "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind = 'r' AND n.nspname = 'public' ORDER BY pg_relation_size(c.oid) DESC")
ROWS=$(sql "SELECT (SELECT count(*) FROM pgbench_accounts) + (SELECT count(*) FROM pgbench_branches) + (SELECT count(*) FROM pgbench_tellers) + (SELECT count(*) FROM pgbench_history)")

LAKE=$WORK/lake
PIPE=$WORK/pipe.yaml
cat >"$PIPE" <<YAML
name: $NAME
source:
  type: postgres
  url: postgres://sluice@127.0.0.1:$PORT/$DB
  password: \${SL_PG_PASSWORD}
target:
  type: files
  url: file://$LAKE
  compression: $CODEC
snapshot: { parallelism: $PAR }
state: { url: sqlite://$WORK/state.db }
YAML

now() { date +%s.%N; }
run_sluice() { # RUN -> seconds, then peak RSS KiB on the second line
  rm -rf "$LAKE" "$WORK/state.db"*
  bash scripts/pg.sh psql "$SRC" -q -c "CHECKPOINT" >/dev/null 2>&1 || true
  local t0 t1
  t0=$(now)
  /usr/bin/time -f '%M' -o "$WORK/rss.$1" "$SLUICE_BIN" run --once "$PIPE" 2>"$WORK/sluice.$1.log" ||
    die "sluice run failed (see $WORK/sluice.$1.log)"
  t1=$(now)
  echo "$(echo "$t1 - $t0" | bc)"
  cat "$WORK/rss.$1"
}
reset_sluice() {
  "$SLUICE_BIN" reset "$PIPE" >/dev/null 2>&1 || true
}
run_floor() {
  local t0 t1
  t0=$(now)
  printf '%s\n' "${TABLES[@]}" | xargs -P "$PAR" -I{} psql -X -q -d "$CONN" -c "COPY {} TO STDOUT (FORMAT binary)" -o /dev/null ||
    die "COPY TO STDOUT failed"
  t1=$(now)
  echo "$t1 - $t0" | bc
}

declare -a S_T S_RSS F_T
for ((r = 1; r <= RUNS; r++)); do
  say "run $r/$RUNS: sluice"
  mapfile -t out < <(run_sluice "$r")
  S_T+=("${out[0]}")
  S_RSS+=("${out[1]}")
  if ((r == 1)); then
    "$SLUICE_BIN" verify "$PIPE" >"$WORK/verify.log" 2>&1 || die "sluice verify failed (see $WORK/verify.log)"
    want=$(sql "SELECT count(*), sum(aid) FROM pgbench_accounts")
    got=$(cd tests/oracles && node duckdb_sql.mjs "SELECT count(*), sum(aid) FROM read_parquet('$LAKE/public/pgbench_accounts/**/*.parquet')")
    [[ $want == "$got" ]] || die "DuckDB reads $got from sluice's files; PostgreSQL has $want"
    SLUICE_BYTES=$(du -sb "$LAKE" | cut -f1)
  fi
  reset_sluice
  say "run $r/$RUNS: floor"
  F_T+=("$(run_floor)")
done

say "DuckDB writes the same rows (codec $CODEC)"
mkdir -p "$WORK/duck"
for t in "${TABLES[@]}"; do
  psql -X -q -d "$CONN" -c "COPY $t TO STDOUT (FORMAT csv, HEADER)" -o "$WORK/duck/$t.csv"
done
DUCK_T=$(cd tests/oracles && node -e '
const { DuckDBInstance } = require("@duckdb/node-api");
(async () => {
  const db = await DuckDBInstance.create(":memory:"); const c = await db.connect();
  const [dir, codec, ...tables] = process.argv.slice(1);
  const types = { pgbench_accounts: "{aid: INTEGER, bid: INTEGER, abalance: INTEGER, filler: VARCHAR}",
    pgbench_branches: "{bid: INTEGER, bbalance: INTEGER, filler: VARCHAR}",
    pgbench_tellers: "{tid: INTEGER, bid: INTEGER, tbalance: INTEGER, filler: VARCHAR}",
    pgbench_history: "{tid: INTEGER, bid: INTEGER, aid: INTEGER, delta: INTEGER, mtime: TIMESTAMP, filler: VARCHAR}" };
  for (const t of tables)
    await c.run(`CREATE TABLE ${t} AS SELECT * FROM read_csv(\x27${dir}/${t}.csv\x27, header = true, columns = ${types[t]})`);
  const t0 = process.hrtime.bigint();
  for (const t of tables)
    await c.run(`COPY ${t} TO \x27${dir}/${t}.parquet\x27 (FORMAT parquet, COMPRESSION ${codec})`);
  console.log(Number(process.hrtime.bigint() - t0) / 1e9);
})();' "$WORK/duck" "$CODEC" "${TABLES[@]}")
DUCK_BYTES=$(cat "$WORK"/duck/*.parquet | wc -c)

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
ST=$(median "${S_T[@]}")
FT=$(median "${F_T[@]}")
RSS=$(median "${S_RSS[@]}")
ratio=$(echo "scale=2; $ST / $FT" | bc)
size_ratio=$(echo "scale=2; $SLUICE_BYTES / $DUCK_BYTES" | bc)
printf '\nPostgreSQL -> Parquet files, pgbench scale %s (%s rows), parallelism %s, codec %s, %s runs\n' "$SCALE" "$ROWS" "$PAR" "$CODEC" "$RUNS"
printf '  sluice   median %6.2f s  %9.0f rows/s  runs: %s  peak RSS median %d MB\n' "$ST" "$(echo "$ROWS / $ST" | bc -l)" "${S_T[*]}" $((RSS / 1024))
printf '  floor    median %6.2f s  %9.0f rows/s  runs: %s  (COPY TO STDOUT binary into /dev/null)\n' "$FT" "$(echo "$ROWS / $FT" | bc -l)" "${F_T[*]}"
printf '  DuckDB   writes the same rows to Parquet in %.2f s (from memory, informational)\n' "$DUCK_T"
printf '  files    sluice %d bytes, DuckDB %d bytes\n' "$SLUICE_BYTES" "$DUCK_BYTES"
printf '  time ratio sluice / floor: %s (goal <= 1.3)\n' "$ratio"
printf '  size ratio sluice / DuckDB: %s (goal <= 1.1)\n' "$size_ratio"
printf '  peak RSS: %d MB (goal < 300)\n' $((RSS / 1024))
echo "RESULT ratio_time_sluice_floor=$ratio"
echo "RESULT ratio_size_sluice_duckdb=$size_ratio"
echo "RESULT peak_rss_mb=$((RSS / 1024))"
