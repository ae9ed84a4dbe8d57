#!/usr/bin/env bash
# Foreign-key actions benchmark, MariaDB -> PostgreSQL: the rows InnoDB's ON DELETE CASCADE /
# SET NULL and ON UPDATE CASCADE change without binlog row events, done by sluice on the target,
# against MariaDB doing the same actions itself, in one run.
#
# Usage: bash bench/fk_actions_my.sh        (from anywhere)
#
# Claim measured: "sluice applies a transaction whose foreign-key actions change N rows in a time
# of the same order as the source took to run it" (the figure is the ratio).
#
# Servers: bench-mysql (MariaDB 10.11, binlog on, FULL row image, fsync on) and bench-dst
# (PostgreSQL 15, fsync on), started as bench/cdc_my.sh starts them. Data, in database
# sluice_fkbench: store(BENCH_STORES rows) <- customer(BENCH_CUSTOMERS; ON DELETE CASCADE,
# ON UPDATE CASCADE) <- rental(BENCH_RENTALS; the same) <- payment(BENCH_PAYMENTS; ON DELETE
# SET NULL, ON UPDATE CASCADE), each child row spread evenly over its parents. One pipeline into
# a fresh database fkbench_my: `sluice run --once` (the snapshot), then per run:
#   source: one statement, timed on the client (mariadb -e): run i deletes store i (its
#           customers and their rentals go, their payments' rental_id becomes NULL: two levels
#           of cascade and a SET NULL), and changes the key of every rental of store
#           BENCH_STORES - i + 1 (rental_id + 10,000,000: every payment of those follows);
#   sluice: `sluice run --once` catching up with that statement, timed from start to exit (its
#           own start and discovery included).
# Printed per run: rows the statement's actions changed (counted on the source before it), the
# source's time, sluice's, and medians; last the ratio `sluice/source`. Then every table must
# equal the source (row count and md5 of the rows in key order, computed by each server) and
# `sluice verify` must pass; else exit 1.
#
# Environment: BENCH_STORES (10), BENCH_CUSTOMERS (20000), BENCH_RENTALS (400000), BENCH_PAYMENTS
# (800000), BENCH_RUNS (3, at most BENCH_STORES / 2), SLUICE_BIN (default build-release/sluice,
# built when missing). The servers are left running (scripts/mysql.sh stop bench-mysql,
# scripts/pg.sh stop bench-dst).
set -euo pipefail
ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$ROOT"

STORES=${BENCH_STORES:-10}
CUSTOMERS=${BENCH_CUSTOMERS:-20000}
RENTALS=${BENCH_RENTALS:-400000}
PAYMENTS=${BENCH_PAYMENTS:-800000}
RUNS=${BENCH_RUNS:-3}
SLUICE_BIN=${SLUICE_BIN:-$ROOT/build-release/sluice}
MY=bench-mysql
DST=bench-dst
SRC_DB=sluice_fkbench
DST_DB=fkbench_my

say() { printf '==> %s\n' "$*" >&2; }
die() {
  printf 'fk_actions_my.sh: error: %s\n' "$*" >&2
  exit 1
}
for v in STORES CUSTOMERS RENTALS PAYMENTS RUNS; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "BENCH_$v must be a positive integer, not '${!v}'"
done
((RUNS * 2 <= STORES)) || die "BENCH_RUNS must be at most BENCH_STORES / 2"

bash scripts/deps.sh >&2
if [[ ! -x $SLUICE_BIN ]]; then
  [[ $SLUICE_BIN == "$ROOT/build-release/sluice" ]] || die "SLUICE_BIN=$SLUICE_BIN is not an executable"
  say "building $SLUICE_BIN"
  { cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release >/dev/null && cmake --build build-release -j2 >/dev/null; } ||
    die "building $SLUICE_BIN failed (run: make build, to see why)"
fi
export PATH=/usr/lib/postgresql/15/bin:$PATH
WORK=$(mktemp -d "${TMPDIR:-/tmp}/sluice-fkbench.XXXXXX")
trap 'rc=$?; ((rc == 0)) || printf "fk_actions_my.sh: FAILED (exit %d); logs in %s\n" "$rc" "$WORK" >&2' EXIT

say "starting servers $MY and $DST"
bash scripts/mysql.sh start "$MY" --fsync on 2>>"$WORK/servers.log" || die "could not start $MY"
bash scripts/pg.sh start "$DST" --wal-level replica --fsync on 2>>"$WORK/servers.log" || die "could not start $DST"
unq() { eval "printf '%s' $1"; }
my_env() { bash scripts/mysql.sh env "$MY" | sed -n "s/^export $1=//p"; }
pg_env() { bash scripts/pg.sh env "$DST" | sed -n "s/^export $1=//p"; }
MY_PORT=$(unq "$(my_env MYSQL_PORT)")
MY_PW=$(unq "$(my_env MYSQL_PASSWORD)")
DST_PORT=$(unq "$(pg_env SL_PG_PORT)")
DST_PW=$(unq "$(pg_env SL_PG_PASSWORD)")
[[ -n $MY_PORT && -n $MY_PW && -n $DST_PORT && -n $DST_PW ]] || die "could not read the servers' ports and passwords"
unset PGHOST PGPORT PGDATABASE PGUSER PGPASSWORD PGSERVICE PGOPTIONS MYSQL_HOST MYSQL_TCP_PORT MYSQL_PWD || true
(
  umask 077
  printf '127.0.0.1:%s:*:sluice:%s\n' "$DST_PORT" "${DST_PW//:/\\:}" >"$WORK/pgpass"
)
export PGPASSFILE=$WORK/pgpass SL_MY_PASSWORD=$MY_PW SL_BENCH_DST_PASSWORD=$DST_PW
dst_sql() { psql -X -q -v ON_ERROR_STOP=1 -At -h 127.0.0.1 -p "$DST_PORT" -U sluice -d "$DST_DB" -c "$1"; }
my_sql() { bash scripts/mysql.sh sql "$MY" -N -B -D "$SRC_DB" "$@"; }
now() { date +%s.%N; }
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

bash scripts/mysql.sh sql "$MY" -N -B -e "DROP DATABASE IF EXISTS $SRC_DB; PURGE BINARY LOGS BEFORE NOW()" ||
  die "could not reset $MY"
bash scripts/mysql.sh createdb "$MY" "$SRC_DB" 2>>"$WORK/servers.log" || die "could not create $MY/$SRC_DB"
psql -X -q -h 127.0.0.1 -p "$DST_PORT" -U sluice -d postgres -c "DROP DATABASE IF EXISTS $DST_DB" >/dev/null 2>&1 || true
bash scripts/pg.sh createdb "$DST" "$DST_DB" 2>>"$WORK/servers.log" || die "could not create $DST/$DST_DB"
say "loading $STORES stores, $CUSTOMERS customers, $RENTALS rentals, $PAYMENTS payments"
my_sql >"$WORK/init.log" 2>&1 <<SQL || die "loading failed (see $WORK/init.log)"
CREATE TABLE store (store_id int PRIMARY KEY, name varchar(40)) ENGINE=InnoDB;
CREATE TABLE customer (customer_id int PRIMARY KEY, store_id int NOT NULL, name varchar(40),
  FOREIGN KEY (store_id) REFERENCES store (store_id) ON DELETE CASCADE ON UPDATE CASCADE) ENGINE=InnoDB;
CREATE TABLE rental (rental_id int PRIMARY KEY, customer_id int NOT NULL, at datetime,
  FOREIGN KEY (customer_id) REFERENCES customer (customer_id) ON DELETE CASCADE ON UPDATE CASCADE) ENGINE=InnoDB;
CREATE TABLE payment (payment_id int PRIMARY KEY, rental_id int NULL, amount int,
  FOREIGN KEY (rental_id) REFERENCES rental (rental_id) ON DELETE SET NULL ON UPDATE CASCADE) ENGINE=InnoDB;
INSERT INTO store SELECT seq, CONCAT('store ', seq) FROM seq_1_to_$STORES;
INSERT INTO customer SELECT seq, seq % $STORES + 1, MD5(seq) FROM seq_1_to_$CUSTOMERS;
INSERT INTO rental SELECT seq, seq % $CUSTOMERS + 1, TIMESTAMP '2024-01-01 00:00:00' + INTERVAL seq SECOND FROM seq_1_to_$RENTALS;
INSERT INTO payment SELECT seq, seq % $RENTALS + 1, seq % 1000 FROM seq_1_to_$PAYMENTS;
SQL
PIPE=$WORK/pipeline.yaml
cat >"$PIPE" <<YAML
name: fkbench_my
source: { type: mysql, url: 'mysql://sluice@127.0.0.1:$MY_PORT/$SRC_DB', password: '\${SL_MY_PASSWORD}' }
target: { type: postgres, url: 'postgres://sluice@127.0.0.1:$DST_PORT/$DST_DB', password: '\${SL_BENCH_DST_PASSWORD}' }
snapshot: { parallelism: 2 }
state: { url: "sqlite://$WORK/state.db" }
YAML
say "snapshot"
"$SLUICE_BIN" run --once "$PIPE" 2>"$WORK/snapshot.log" || die "sluice snapshot failed (see $WORK/snapshot.log)"

SRC_T=() SL_T=()
printf '%-4s %10s %10s %10s %10s\n' run rows source_s sluice_s ratio
for ((i = 1; i <= RUNS; i++)); do
  gone=$i moved=$((STORES - i + 1))
  # rows the actions change: customers, rentals and payments of store $gone; payments of
  # rentals of store $moved
  rows=$(my_sql -e "SELECT (SELECT count(*) FROM customer WHERE store_id = $gone)
    + (SELECT count(*) FROM rental r JOIN customer c USING (customer_id) WHERE c.store_id = $gone)
    + (SELECT count(*) FROM payment p JOIN rental r USING (rental_id) JOIN customer c USING (customer_id) WHERE c.store_id IN ($gone, $moved))")
  t0=$(now)
  my_sql -e "DELETE FROM store WHERE store_id = $gone;
    UPDATE rental r JOIN customer c USING (customer_id) SET r.rental_id = r.rental_id + 10000000 WHERE c.store_id = $moved" ||
    die "the source statements failed"
  src=$(echo "$(now) - $t0" | bc -l)
  t0=$(now)
  "$SLUICE_BIN" run --once "$PIPE" 2>"$WORK/run$i.log" || die "sluice run --once failed (see $WORK/run$i.log)"
  sl=$(echo "$(now) - $t0" | bc -l)
  SRC_T+=("$src") SL_T+=("$sl")
  printf '%-4s %10s %10.2f %10.2f %10.2f\n' "$i" "$rows" "$src" "$sl" "$(echo "$sl / $src" | bc -l)"
done
ms=$(printf '%s\n' "${SRC_T[@]}" | median)
ml=$(printf '%s\n' "${SL_T[@]}" | median)
printf 'median: source %.2f s, sluice %.2f s\n' "$ms" "$ml"
printf 'ratio sluice/source = %.2f\n' "$(echo "$ml / $ms" | bc -l)"

say "comparing every table with the source"
for t in store:store_id customer:customer_id rental:rental_id payment:payment_id; do
  name=${t%%:*} key=${t#*:}
  cols=$(my_sql -e "SELECT GROUP_CONCAT(COLUMN_NAME ORDER BY ORDINAL_POSITION) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = '$SRC_DB' AND TABLE_NAME = '$name'")
  myexpr=$(awk -F, '{ for (i = 1; i <= NF; i++) printf "%sIFNULL(CAST(%s AS char), \"~\")", (i > 1 ? "," : ""), $i }' <<<"$cols")
  pgexpr=$(awk -F, '{ for (i = 1; i <= NF; i++) printf "%scoalesce(%s::text, '\''~'\'')", (i > 1 ? "," : ""), $i }' <<<"$cols")
  a=$(my_sql -e "SET SESSION group_concat_max_len = 4294967295; SELECT CONCAT(COUNT(*), ' ', MD5(GROUP_CONCAT(CONCAT_WS('|', $myexpr) ORDER BY $key SEPARATOR ',')))FROM $name")
  b=$(dst_sql "SELECT count(*) || ' ' || md5(string_agg(concat_ws('|', $pgexpr), ',' ORDER BY $key)) FROM $SRC_DB.$name")
  [[ $a == "$b" ]] || die "$name differs: source $a, target $b"
done
"$SLUICE_BIN" verify "$PIPE" >"$WORK/verify.log" 2>&1 || die "sluice verify failed (see $WORK/verify.log)"
echo "RESULT equal=yes"
