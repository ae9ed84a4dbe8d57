#!/usr/bin/env bash
# Many tables, PostgreSQL -> PostgreSQL: what each table costs.
#
# Usage: bash bench/many_tables_pg.sh
#
# On the servers bench/snapshot_pg.sh uses (bench-src: wal_level=logical, bench-dst:
# wal_level=replica, both fsync=on), with BENCH_TABLES tables of BENCH_ROWS rows each
# (id int PRIMARY KEY, v int, note text, at timestamptz) in the database manybench:
#
# 1. Snapshot, sluice (BENCH_RUNS runs) against pgcopydb (BENCH_PGCOPYDB_RUNS, 1 by default: it
#    takes minutes here, so its noise moves the ratio little), interleaved: `sluice run --once`
#    (slot, discovery, CREATE TABLE, COPY, primary keys, catch-up) and `pgcopydb clone
#    --table-jobs P --index-jobs P --no-owner --no-acl --no-comments`, each into a freshly
#    created empty target database after a CHECKPOINT on both servers. After each run the
#    target must hold every table with its primary key and the source's row count. Printed:
#    median wall time of each, the ratio sluice/pgcopydb (goal <= 0.1), sluice's peak RSS.
# 2. Change capture of wide transactions: one source transaction updates every row of every
#    table (BENCH_TABLES x BENCH_ROWS changes, one group touching every table), against the
#    baseline of the same number of changes on one table (the database manynarrow: one table
#    of BENCH_TABLES x BENCH_ROWS rows, one transaction updating every row). Each catch-up is
#    `sluice run --once` of its pipeline (snapshot taken before, untimed); the rate is sluice's
#    own figure for its change-capture session ("cdc: ... row changes in ... (N rows/s)"), which
#    leaves out discovery and connection set-up. Interleaved, BENCH_RUNS each. After the runs
#    each target's sum(v) per table must equal the source's. Printed: median rates, the
#    ratio wide/narrow (goal >= 0.5).
# 3. `sluice verify` of the many-tables pipeline, once, timed.
#
# Environment: BENCH_TABLES (2000), BENCH_ROWS (50), BENCH_RUNS (3), BENCH_PGCOPYDB_RUNS (1; 0
# leaves pgcopydb out), BENCH_PARALLELISM (2), BENCH_KEEP_LOGS (1; 0 deletes the logs after
# a successful run), SLUICE_BIN (default build-release/sluice, built when missing).
# Exit status: 0 done, 1 a step failed. The servers stay running (scripts/pg.sh stop NAME).
# shellcheck disable=SC2317 # functions run indirectly (trap)
set -euo pipefail

ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$ROOT"

TABLES=${BENCH_TABLES:-2000}
ROWS=${BENCH_ROWS:-50}
RUNS=${BENCH_RUNS:-3}
PAR=${BENCH_PARALLELISM:-2}
PGCOPYDB_RUNS=${BENCH_PGCOPYDB_RUNS:-1}
KEEP_LOGS=${BENCH_KEEP_LOGS:-1}
SLUICE_BIN=${SLUICE_BIN:-$ROOT/build-release/sluice}
PGBIN=/usr/lib/postgresql/15/bin
SRC=bench-src
DST=bench-dst
WIDE_DB=manybench
NARROW_DB=manynarrow
GOAL_SNAPSHOT=0.1
GOAL_CDC=0.5

say() { printf '==> %s\n' "$*" >&2; }
die() {
  printf 'many_tables_pg.sh: error: %s\n' "$*" >&2
  exit 1
}
for v in TABLES ROWS RUNS PAR; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "BENCH_$v must be a positive integer, not '${!v}'"
done
[[ $PGCOPYDB_RUNS =~ ^[0-9]+$ ]] || die "BENCH_PGCOPYDB_RUNS must be a number, not '$PGCOPYDB_RUNS'"
((TABLES <= 9999)) || die "BENCH_TABLES must be at most 9999"

bash scripts/deps.sh >&2
if [[ ! -x $SLUICE_BIN ]]; then
  [[ $SLUICE_BIN == "$ROOT/build-release/sluice" ]] || die "SLUICE_BIN=$SLUICE_BIN is not an executable"
  say "building $SLUICE_BIN"
  cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build build-release -j2 >/dev/null
fi
export PATH=$PGBIN:$PATH # pgcopydb runs pg_dump / pg_restore from PATH
for b in psql pgcopydb; do command -v "$b" >/dev/null || die "$b not found (run scripts/deps.sh)"; done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/sluice-many.XXXXXX")
CURRENT_LOG=
on_exit() {
  local rc=$?
  if ((rc != 0)); then
    printf '\nmany_tables_pg.sh: FAILED (exit %d). Logs are in %s\n' "$rc" "$WORK" >&2
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
PSQL=(psql -X -q -v ON_ERROR_STOP=1 -At)
src_sql() { "${PSQL[@]}" -d "host=127.0.0.1 port=$SRC_PORT user=sluice dbname=$1" -c "$2"; }
dst_sql() { "${PSQL[@]}" -d "host=127.0.0.1 port=$DST_PORT user=sluice dbname=$1" -c "$2"; }
super_sql() { bash scripts/pg.sh psql "$1" -q -At -c "$2"; }
median() { tr ' ' '\n' | sed '/^$/d' | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# ------------------------------------------------------------ source data ---

say "creating $TABLES tables of $ROWS rows in $SRC/$WIDE_DB, and one of $((TABLES * ROWS)) rows in $SRC/$NARROW_DB"
# createdb drops the old database, and with it any slot left by an interrupted bench.
bash scripts/pg.sh createdb "$SRC" "$WIDE_DB" 2>>"$WORK/servers.log"
bash scripts/pg.sh createdb "$SRC" "$NARROW_DB" 2>>"$WORK/servers.log"
src_sql "$WIDE_DB" "DO \$\$ BEGIN
  FOR i IN 1..$TABLES LOOP
    EXECUTE format('CREATE TABLE %I (id int PRIMARY KEY, v int NOT NULL, note text, at timestamptz DEFAULT now())', 't' || lpad(i::text, 4, '0'));
    EXECUTE format('INSERT INTO %I (id, v, note) SELECT g, g * 7, md5(g::text) FROM generate_series(1, $ROWS) g', 't' || lpad(i::text, 4, '0'));
  END LOOP;
END \$\$"
src_sql "$NARROW_DB" "CREATE TABLE narrow (id int PRIMARY KEY, v int NOT NULL, note text, at timestamptz DEFAULT now());
  INSERT INTO narrow (id, v, note) SELECT g, g * 7, md5(g::text) FROM generate_series(1, $((TABLES * ROWS))) g"

# every table's row count and sum(v), in one line per database
WIDE_SUMS="SELECT string_agg(format('%s=%s/%s', relname, n, s), ' ' ORDER BY relname) FROM (
  SELECT c.relname, (xpath('/row/n/text()', x))[1]::text AS n, (xpath('/row/s/text()', x))[1]::text AS s
    FROM pg_class c JOIN pg_namespace ns ON ns.oid = c.relnamespace
    CROSS JOIN LATERAL query_to_xml(format('SELECT count(*) AS n, coalesce(sum(v), 0) AS s FROM %I.%I', ns.nspname, c.relname), false, true, '') x
   WHERE ns.nspname = 'public' AND c.relkind = 'r' AND c.relname ~ '^t[0-9]{4}\$') q"
NARROW_SUMS="SELECT count(*) || '/' || coalesce(sum(v), 0) FROM narrow"
WIDE_KEYS="SELECT count(*) FROM pg_constraint co JOIN pg_class c ON c.oid = co.conrelid
  WHERE co.contype = 'p' AND c.relname ~ '^t[0-9]{4}\$'"

pipeline() { # NAME DB TARGET_DB
  cat >"$WORK/$1.yaml" <<YAML
name: $1
source: { type: postgres, url: "postgres://sluice@127.0.0.1:$SRC_PORT/$2", password: "\${SL_PG_PASSWORD}" }
target: { type: postgres, url: "postgres://sluice@127.0.0.1:$DST_PORT/$3", password: "\${SL_BENCH_DST_PASSWORD}" }
snapshot: { parallelism: $PAR }
state: { url: "sqlite://$WORK/$1.db" }
YAML
}
pipeline many $WIDE_DB many_target
pipeline narrow $NARROW_DB narrow_target

fresh_target() { # DB
  bash scripts/pg.sh createdb "$DST" "$1" 2>>"$WORK/servers.log"
  super_sql "$SRC" "CHECKPOINT" >/dev/null
  super_sql "$DST" "CHECKPOINT" >/dev/null
}
forget() { # PIPELINE: its slot and state
  super_sql "$SRC" "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = 'sluice_$1'" >/dev/null
  rm -f -- "$WORK/$1.db" "$WORK/$1.db"-*
}
# wall seconds of CMD (output to log NAME)
timed() { # NAME CMD...
  local name=$1 t0 t1 rc=0
  shift
  CURRENT_LOG=$WORK/$name.log
  t0=$(date +%s.%N)
  "$@" >>"$CURRENT_LOG" 2>&1 || rc=$?
  t1=$(date +%s.%N)
  ((rc == 0)) || die "$name failed (exit $rc); see $CURRENT_LOG"
  WALL=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
}

SRC_STATE=$(src_sql "$WIDE_DB" "$WIDE_SUMS")
check_wide() { # WHAT
  local got keys
  got=$(dst_sql many_target "$WIDE_SUMS")
  keys=$(dst_sql many_target "$WIDE_KEYS")
  [[ $got == "$SRC_STATE" ]] || die "$1: the target's tables differ from the source's (rows/sum(v) per table)"
  [[ $keys == "$TABLES" ]] || die "$1: the target has $keys primary keys, not $TABLES"
}

# ------------------------------------------------------------- 1. snapshot ---

declare -A SNAP
RSS=""
for ((run = 1; run <= (RUNS > PGCOPYDB_RUNS ? RUNS : PGCOPYDB_RUNS); run++)); do
  if ((run <= RUNS)); then
    fresh_target many_target
    forget many
    timed "sluice-snapshot-$run" /usr/bin/time -f %M -o "$WORK/rss" "$SLUICE_BIN" run --once "$WORK/many.yaml"
    SNAP[sluice]+=" $WALL"
    RSS+=" $(($(cat "$WORK/rss") / 1024))"
    check_wide "sluice snapshot run $run"
    say "snapshot run $run: sluice $WALL s"
  fi
  if ((run <= PGCOPYDB_RUNS)); then
    fresh_target many_target
    rm -rf -- "$WORK/pgcopydb"
    timed "pgcopydb-$run" pgcopydb clone --source "postgres://sluice@127.0.0.1:$SRC_PORT/$WIDE_DB" \
      --target "postgres://sluice@127.0.0.1:$DST_PORT/many_target" --dir "$WORK/pgcopydb" \
      --table-jobs "$PAR" --index-jobs "$PAR" --no-owner --no-acl --no-comments
    SNAP[pgcopydb]+=" $WALL"
    check_wide "pgcopydb run $run"
    say "snapshot run $run: pgcopydb $WALL s"
  fi
done

# ------------------------------------------------------ 2. wide transactions ---

# Both pipelines start from a snapshot of their own (untimed), then each run adds one
# transaction to each source and times both catch-ups.
fresh_target many_target
forget many
timed sluice-many-initial "$SLUICE_BIN" run --once "$WORK/many.yaml"
fresh_target narrow_target
forget narrow
timed sluice-narrow-initial "$SLUICE_BIN" run --once "$WORK/narrow.yaml"
declare -A RATE
cdc_rate() { # LOG: sluice's rows/s for its change-capture session
  local r
  r=$(sed -n 's/.*row changes in [0-9.]*s (\([0-9]*\) rows\/s).*/\1/p' "$1" | tail -1)
  [[ -n $r ]] || die "no change-capture figure in $1"
  echo "$r"
}
for ((run = 1; run <= RUNS; run++)); do
  src_sql "$WIDE_DB" "DO \$\$ BEGIN
    FOR i IN 1..$TABLES LOOP
      EXECUTE format('UPDATE %I SET v = v + 1', 't' || lpad(i::text, 4, '0'));
    END LOOP;
  END \$\$"
  src_sql "$NARROW_DB" "UPDATE narrow SET v = v + 1"
  for p in many narrow; do
    timed "sluice-$p-cdc-$run" "$SLUICE_BIN" run --once "$WORK/$p.yaml"
    RATE[$p]+=" $(cdc_rate "$CURRENT_LOG")"
  done
  say "wide-transaction run $run: many tables ${RATE[many]##* } changes/s, one table ${RATE[narrow]##* } changes/s"
done
SRC_STATE=$(src_sql "$WIDE_DB" "$WIDE_SUMS")
check_wide "change capture"
[[ $(dst_sql narrow_target "$NARROW_SUMS") == "$(src_sql "$NARROW_DB" "$NARROW_SUMS")" ]] ||
  die "change capture: the one-table target differs from its source"

# -------------------------------------------------------------- 3. verify ---

timed sluice-verify "$SLUICE_BIN" verify "$WORK/many.yaml"
VERIFY=$WALL

# ------------------------------------------------------------------ report ---

S=$(median <<<"${SNAP[sluice]}")
W=$(median <<<"${RATE[many]}")
N=$(median <<<"${RATE[narrow]}")
RATIO_CDC=$(awk -v a="$W" -v b="$N" 'BEGIN { printf "%.2f", a / b }')
echo
echo "many tables, PostgreSQL -> PostgreSQL: $TABLES tables x $ROWS rows, parallelism $PAR, $RUNS run(s) each"
printf 'snapshot      sluice   median %7.2f s  runs:%s  peak RSS MB:%s\n' "$S" "${SNAP[sluice]}" "$RSS"
if ((PGCOPYDB_RUNS > 0)); then
  P=$(median <<<"${SNAP[pgcopydb]}")
  RATIO_SNAP=$(awk -v a="$S" -v b="$P" 'BEGIN { printf "%.2f", a / b }')
  printf 'snapshot      pgcopydb median %7.2f s  runs:%s\n' "$P" "${SNAP[pgcopydb]}"
  echo "ratio sluice/pgcopydb = $RATIO_SNAP (goal <= $GOAL_SNAPSHOT)"
fi
printf 'wide txn      %d tables  median %8.0f changes/s  runs:%s\n' "$TABLES" "$W" "${RATE[many]}"
printf 'same changes  one table  median %8.0f changes/s  runs:%s\n' "$N" "${RATE[narrow]}"
echo "ratio many tables / one table = $RATIO_CDC (goal >= $GOAL_CDC)"
echo "sluice verify of $TABLES tables: $VERIFY s"
echo
echo "RESULT tables=$TABLES"
echo "RESULT rows_per_table=$ROWS"
echo "RESULT sluice_snapshot_s=$S"
if ((PGCOPYDB_RUNS > 0)); then
  echo "RESULT pgcopydb_snapshot_s=$P"
  echo "RESULT ratio_snapshot_sluice_pgcopydb=$RATIO_SNAP"
fi
echo "RESULT cdc_many_rows_per_s=$W"
echo "RESULT cdc_one_rows_per_s=$N"
echo "RESULT ratio_cdc_many_one=$RATIO_CDC"
echo "RESULT verify_s=$VERIFY"
