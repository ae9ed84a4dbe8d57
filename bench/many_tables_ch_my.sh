#!/usr/bin/env bash
# Many tables into ClickHouse and from MySQL: what each table costs (issue #24, goal 3).
#
# Usage: bash bench/many_tables_ch_my.sh
#
# Two cases (BENCH_CASES, both by default):
#   pg-ch  PostgreSQL (bench-src, wal_level=logical, fsync=on) -> ClickHouse (bench-clickhouse)
#   my-pg  MariaDB (bench-mysql: binlog on, ROW format, fsync on) -> PostgreSQL (bench-dst)
# Each case has two source databases of the same rows: "many", BENCH_TABLES tables of
# BENCH_ROWS rows (id int PRIMARY KEY, v int, note text, at timestamp), and "one", a single
# table of BENCH_TABLES x BENCH_ROWS rows. The one-table database is the baseline, measured in
# the same run, for what the number of tables costs:
#
# 1. Snapshot: `sluice run --once` of each pipeline into a freshly created target database,
#    interleaved, BENCH_RUNS times each. Printed: median wall times and the ratio many/one.
# 2. Change capture of a wide transaction: one source transaction updates every row of every
#    table (one group touching every table) against one transaction updating every row of the
#    one table. Each catch-up is `sluice run --once` (its snapshot taken before, untimed); the
#    rate is sluice's own figure for its change-capture session ("cdc: ... row changes in ...
#    (N rows/s)"). Interleaved, BENCH_RUNS each. Printed: median rates, the ratio many/one
#    (issue #24's goal for PostgreSQL -> PostgreSQL, >= 0.5, applies here too).
# After the runs `sluice verify` of both pipelines must find every table equal (a digest of
# each table read back from the target by SQL, against the source's).
#
# Environment: BENCH_CASES ("pg-ch my-pg"), BENCH_TABLES (2000), BENCH_ROWS (50), BENCH_RUNS
# (3), BENCH_PARALLELISM (2), SLUICE_BIN (default build-release/sluice, built when missing).
# Exit status: 0 done, 1 a step failed. The servers stay running (scripts/*.sh stop NAME).
# shellcheck disable=SC2317 # functions run indirectly (trap)
set -euo pipefail

ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$ROOT"

CASES=${BENCH_CASES:-pg-ch my-pg}
TABLES=${BENCH_TABLES:-2000}
ROWS=${BENCH_ROWS:-50}
RUNS=${BENCH_RUNS:-3}
PAR=${BENCH_PARALLELISM:-2}
SLUICE_BIN=${SLUICE_BIN:-$ROOT/build-release/sluice}
PGBIN=/usr/lib/postgresql/15/bin
SRC=bench-src
DST=bench-dst
CH=bench-clickhouse
MY=bench-mysql
GOAL_CDC=0.5

say() { printf '==> %s\n' "$*" >&2; }
die() {
  printf 'many_tables_ch_my.sh: error: %s\n' "$*" >&2
  exit 1
}
for v in TABLES ROWS RUNS PAR; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "BENCH_$v must be a positive integer, not '${!v}'"
done
((TABLES <= 9999)) || die "BENCH_TABLES must be at most 9999"
for c in $CASES; do
  [[ $c == pg-ch || $c == my-pg ]] || die "BENCH_CASES: unknown case '$c' (pg-ch, my-pg)"
done

bash scripts/deps.sh >&2
if [[ ! -x $SLUICE_BIN ]]; then
  [[ $SLUICE_BIN == "$ROOT/build-release/sluice" ]] || die "SLUICE_BIN=$SLUICE_BIN is not an executable"
  say "building $SLUICE_BIN"
  { cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release >/dev/null && cmake --build build-release -j2 >/dev/null; } ||
    die "building $SLUICE_BIN failed (run: make build, to see why)"
fi
export PATH=$PGBIN:$PATH
for b in psql mariadb clickhouse-client; do
  command -v "$b" >/dev/null || die "$b not found (run scripts/deps.sh)"
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/sluice-manychmy.XXXXXX")
CURRENT_LOG=
on_exit() {
  local rc=$?
  # no slot left behind on the shared bench-src, holding WAL while other benches write there
  for p in pgch_many pgch_one; do
    bash scripts/pg.sh psql "$SRC" -q -At -c "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = 'sluice_$p' AND NOT active" >/dev/null 2>&1 || true
  done
  if ((rc != 0)); then
    printf '\nmany_tables_ch_my.sh: FAILED (exit %d). Logs are in %s\n' "$rc" "$WORK" >&2
    if [[ -n $CURRENT_LOG && -f $CURRENT_LOG ]]; then
      printf 'last lines of %s:\n' "$CURRENT_LOG" >&2
      tail -n 25 -- "$CURRENT_LOG" | sed 's/^/  | /' >&2
    fi
  else
    printf 'logs kept in %s\n' "$WORK" >&2
  fi
}
trap on_exit EXIT

unq() { eval "printf '%s' $1"; } # undo the %q quoting of `env`
has_case() { [[ " $CASES " == *" $1 "* ]]; }
unset PGHOST PGHOSTADDR PGPORT PGDATABASE PGUSER PGPASSWORD PGSERVICE PGOPTIONS || true
unset MYSQL_HOST MYSQL_TCP_PORT MYSQL_UNIX_PORT MYSQL_PWD || true
pgpass_esc() { local s=${1//\\/\\\\}; printf '%s' "${s//:/\\:}"; }
: >"$WORK/pgpass"
chmod 600 "$WORK/pgpass"
export PGPASSFILE=$WORK/pgpass
pg_server() { # INSTANCE WAL_LEVEL VAR: start it, note its port in VAR, its password in pgpass
  bash scripts/pg.sh start "$1" --wal-level "$2" --fsync on 2>>"$WORK/servers.log" || die "could not start $1"
  local port pw
  port=$(unq "$(bash scripts/pg.sh env "$1" | sed -n 's/^export SL_PG_PORT=//p')")
  pw=$(unq "$(bash scripts/pg.sh env "$1" | sed -n 's/^export SL_PG_PASSWORD=//p')")
  [[ -n $port && -n $pw ]] || die "could not read the port and password of $1"
  printf '127.0.0.1:%s:*:sluice:%s\n' "$port" "$(pgpass_esc "$pw")" >>"$WORK/pgpass"
  printf -v "$3" '%s' "$port"
  export SL_PG_PASSWORD=$pw # the bench instances share one password
}
PSQL=(psql -X -q -v ON_ERROR_STOP=1 -At)
pg_sql() { "${PSQL[@]}" -d "host=127.0.0.1 port=$1 user=sluice dbname=$2" -c "$3"; }

if has_case pg-ch; then
  say "starting $SRC (PostgreSQL, wal_level=logical, fsync=on) and $CH (ClickHouse)"
  pg_server "$SRC" logical SRC_PORT
  bash scripts/clickhouse.sh start "$CH" 2>>"$WORK/servers.log" || die "could not start $CH"
  CH_HTTP_PORT=$(unq "$(bash scripts/clickhouse.sh env "$CH" | sed -n 's/^export CH_HTTP_PORT=//p')")
  SL_CH_PASSWORD=$(unq "$(bash scripts/clickhouse.sh env "$CH" | sed -n 's/^export CH_PASSWORD=//p')")
  [[ -n $CH_HTTP_PORT && -n $SL_CH_PASSWORD ]] || die "could not read the port and password of $CH"
  export SL_CH_PASSWORD
fi
if has_case my-pg; then
  say "starting $MY (MariaDB, binlog on, fsync on) and $DST (PostgreSQL, fsync=on)"
  bash scripts/mysql.sh start "$MY" --fsync on 2>>"$WORK/servers.log" || die "could not start $MY"
  MY_PORT=$(unq "$(bash scripts/mysql.sh env "$MY" | sed -n 's/^export MYSQL_PORT=//p')")
  SL_MY_PASSWORD=$(unq "$(bash scripts/mysql.sh env "$MY" | sed -n 's/^export MYSQL_PASSWORD=//p')")
  [[ -n $MY_PORT && -n $SL_MY_PASSWORD ]] || die "could not read the port and password of $MY"
  export SL_MY_PASSWORD
  pg_server "$DST" replica DST_PORT
  my_super() { bash scripts/mysql.sh sql "$MY" -N -B "$@"; } # superuser over the socket
  # binlogs of earlier benches are not needed by anyone: keep the instance's disk use bounded
  my_super -e "FLUSH BINARY LOGS" || die "FLUSH BINARY LOGS failed on $MY"
  my_super -e "PURGE BINARY LOGS BEFORE NOW()" || die "could not purge old binlogs on $MY"
fi
median() { tr ' ' '\n' | sed '/^$/d' | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
timed() { # NAME CMD...: wall seconds of CMD in WALL (output to log NAME)
  local name=$1 t0 t1 rc=0
  shift
  CURRENT_LOG=$WORK/$name.log
  t0=$(date +%s.%N)
  "$@" >>"$CURRENT_LOG" 2>&1 || rc=$?
  t1=$(date +%s.%N)
  ((rc == 0)) || die "$name failed (exit $rc); see $CURRENT_LOG"
  WALL=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
}
cdc_rate() { # LOG: sluice's rows/s for its change-capture session
  local r
  r=$(sed -n 's/.*row changes in [0-9.]*s (\([0-9]*\) rows\/s).*/\1/p' "$1" | tail -1)
  [[ -n $r ]] || die "no change-capture figure in $1"
  echo "$r"
}
tname() { printf 't%04d' "$1"; }

# ----------------------------------------------------------- the sources ---

# source_pg DB_MANY DB_ONE / source_my DB_MANY DB_ONE: create both source databases
source_pg() {
  say "creating $TABLES tables of $ROWS rows in $SRC/$1, and one of $((TABLES * ROWS)) rows in $SRC/$2"
  bash scripts/pg.sh createdb "$SRC" "$1" 2>>"$WORK/servers.log"
  bash scripts/pg.sh createdb "$SRC" "$2" 2>>"$WORK/servers.log"
  pg_sql "$SRC_PORT" "$1" "DO \$\$ BEGIN
    FOR i IN 1..$TABLES LOOP
      EXECUTE format('CREATE TABLE %I (id int PRIMARY KEY, v int NOT NULL, note text, at timestamp DEFAULT now())', 't' || lpad(i::text, 4, '0'));
      EXECUTE format('INSERT INTO %I (id, v, note) SELECT g, g * 7, md5(g::text) FROM generate_series(1, $ROWS) g', 't' || lpad(i::text, 4, '0'));
      IF i % 500 = 0 THEN COMMIT; END IF;
    END LOOP;
  END \$\$"
  pg_sql "$SRC_PORT" "$2" "CREATE TABLE one (id int PRIMARY KEY, v int NOT NULL, note text, at timestamp DEFAULT now());
    INSERT INTO one (id, v, note) SELECT g, g * 7, md5(g::text) FROM generate_series(1, $((TABLES * ROWS))) g"
}
source_my() {
  say "creating $TABLES tables of $ROWS rows in $MY/$1, and one of $((TABLES * ROWS)) rows in $MY/$2"
  bash scripts/mysql.sh createdb "$MY" "$1" 2>>"$WORK/servers.log"
  bash scripts/mysql.sh createdb "$MY" "$2" 2>>"$WORK/servers.log"
  local i t
  for ((i = 1; i <= TABLES; i++)); do
    t=$(tname "$i")
    printf 'CREATE TABLE %s (id int PRIMARY KEY, v int NOT NULL, note text, at datetime(6) DEFAULT CURRENT_TIMESTAMP(6));\n' "$t"
    printf 'INSERT INTO %s (id, v, note) SELECT seq, seq * 7, md5(seq) FROM seq_1_to_%d;\n' "$t" "$ROWS"
  done | my_super -D "$1" || die "creating the tables in $MY/$1 failed"
  my_super -D "$2" -e "CREATE TABLE one (id int PRIMARY KEY, v int NOT NULL, note text, at datetime(6) DEFAULT CURRENT_TIMESTAMP(6));
    INSERT INTO one (id, v, note) SELECT seq, seq * 7, md5(seq) FROM seq_1_to_$((TABLES * ROWS))" ||
    die "creating $MY/$2.one failed"
}
# wide_pg DB / wide_my DB: one transaction updating every row of every table
wide_pg() {
  pg_sql "$SRC_PORT" "$1" "DO \$\$ BEGIN
    FOR i IN 1..$TABLES LOOP
      EXECUTE format('UPDATE %I SET v = v + 1', 't' || lpad(i::text, 4, '0'));
    END LOOP;
  END \$\$"
}
wide_my() {
  local i
  {
    echo "START TRANSACTION;"
    for ((i = 1; i <= TABLES; i++)); do printf 'UPDATE %s SET v = v + 1;\n' "$(tname "$i")"; done
    echo "COMMIT;"
  } | my_super -D "$1" || die "the wide transaction on $MY/$1 failed"
}

# --------------------------------------------------------------- a case ---

# pipeline NAME SOURCE_YAML TARGET_YAML
pipeline() {
  cat >"$WORK/$1.yaml" <<YAML
name: $1
source: $2
target: $3
snapshot: { parallelism: $PAR }
state: { url: "sqlite://$WORK/$1.db" }
YAML
}
declare -A SNAP RATE
# run_case CASE: snapshots, then wide transactions, then verify; fills SNAP[CASE-many] ...
run_case() {
  local c=$1 p run kind
  for ((run = 1; run <= RUNS; run++)); do
    for kind in many one; do
      p=${c/-/}_$kind
      fresh_target "$c" "$kind"
      forget "$c" "$p"
      timed "$p-snapshot-$run" "$SLUICE_BIN" run --once "$WORK/$p.yaml"
      SNAP[$c-$kind]+=" $WALL"
    done
    say "$c snapshot run $run: many tables ${SNAP[$c-many]##* } s, one table ${SNAP[$c-one]##* } s"
  done
  for ((run = 1; run <= RUNS; run++)); do
    "wide_${c%%-*}" "${c/-/}_src_many"
    if [[ $c == pg-ch ]]; then
      pg_sql "$SRC_PORT" "${c/-/}_src_one" "UPDATE one SET v = v + 1"
    else
      my_super -D "${c/-/}_src_one" -e "UPDATE one SET v = v + 1"
    fi
    for kind in many one; do
      p=${c/-/}_$kind
      timed "$p-cdc-$run" "$SLUICE_BIN" run --once "$WORK/$p.yaml"
      RATE[$c-$kind]+=" $(cdc_rate "$CURRENT_LOG")"
    done
    say "$c wide-transaction run $run: many tables ${RATE[$c-many]##* } changes/s, one table ${RATE[$c-one]##* } changes/s"
  done
  for kind in many one; do
    p=${c/-/}_$kind
    timed "$p-verify" "$SLUICE_BIN" verify "$WORK/$p.yaml"
    say "$c verify of $p: every table equal ($WALL s)"
  done
}
fresh_target() { # CASE KIND
  local db=${1/-/}_dst_$2
  if [[ $1 == pg-ch ]]; then
    bash scripts/clickhouse.sh createdb "$CH" "$db" 2>>"$WORK/servers.log" || die "could not create $CH/$db"
  else
    bash scripts/pg.sh createdb "$DST" "$db" 2>>"$WORK/servers.log" || die "could not create $DST/$db"
  fi
}
forget() { # CASE PIPELINE: its slot (a PostgreSQL source) and its state
  [[ $1 != pg-ch ]] ||
    bash scripts/pg.sh psql "$SRC" -q -At -c "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = 'sluice_$2'" >/dev/null
  rm -f -- "$WORK/$2.db" "$WORK/$2.db"-*
}

if has_case pg-ch; then
  source_pg pgch_src_many pgch_src_one
  for kind in many one; do
    pipeline "pgch_$kind" "{ type: postgres, url: \"postgres://sluice@127.0.0.1:$SRC_PORT/pgch_src_$kind\", password: \"\${SL_PG_PASSWORD}\" }" \
      "{ type: clickhouse, url: \"http://sluice@127.0.0.1:$CH_HTTP_PORT\", password: \"\${SL_CH_PASSWORD}\", database: pgch_dst_$kind }"
  done
  run_case pg-ch
fi
if has_case my-pg; then
  source_my mypg_src_many mypg_src_one
  for kind in many one; do
    pipeline "mypg_$kind" "{ type: mysql, url: \"mysql://sluice@127.0.0.1:$MY_PORT/mypg_src_$kind\", password: \"\${SL_MY_PASSWORD}\" }" \
      "{ type: postgres, url: \"postgres://sluice@127.0.0.1:$DST_PORT/mypg_dst_$kind\", password: \"\${SL_PG_PASSWORD}\" }"
  done
  run_case my-pg
fi

# ------------------------------------------------------------------ report ---

echo
echo "many tables: $TABLES tables x $ROWS rows against one table of $((TABLES * ROWS)) rows, parallelism $PAR, $RUNS run(s) each"
for c in $CASES; do
  SM=$(median <<<"${SNAP[$c-many]}")
  SO=$(median <<<"${SNAP[$c-one]}")
  W=$(median <<<"${RATE[$c-many]}")
  N=$(median <<<"${RATE[$c-one]}")
  RS=$(awk -v a="$SM" -v b="$SO" 'BEGIN { printf "%.2f", a / b }')
  RC=$(awk -v a="$W" -v b="$N" 'BEGIN { printf "%.2f", a / b }')
  printf '%s snapshot  many tables median %7.2f s  runs:%s\n' "$c" "$SM" "${SNAP[$c-many]}"
  printf '%s snapshot  one table   median %7.2f s  runs:%s\n' "$c" "$SO" "${SNAP[$c-one]}"
  echo "$c snapshot ratio many tables / one table = $RS"
  printf '%s wide txn  many tables median %8.0f changes/s  runs:%s\n' "$c" "$W" "${RATE[$c-many]}"
  printf '%s same      one table   median %8.0f changes/s  runs:%s\n' "$c" "$N" "${RATE[$c-one]}"
  echo "$c change capture ratio many tables / one table = $RC (goal >= $GOAL_CDC)"
  echo "RESULT ${c}_snapshot_many_s=$SM"
  echo "RESULT ${c}_snapshot_one_s=$SO"
  echo "RESULT ${c}_ratio_snapshot_many_one=$RS"
  echo "RESULT ${c}_cdc_many_rows_per_s=$W"
  echo "RESULT ${c}_cdc_one_rows_per_s=$N"
  echo "RESULT ${c}_ratio_cdc_many_one=$RC"
done
