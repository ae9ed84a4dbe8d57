#!/usr/bin/env bash
# What the metrics cost: PostgreSQL -> PostgreSQL snapshot and change capture, with metrics on
# (the default, plus the listener scraped every second as Prometheus would) against
# `observability: { metrics: false }` (no registry, nothing counted), in one run, interleaved.
#
# Usage: bash bench/metrics_overhead.sh
#
# Servers: bench-src (wal_level=logical) and bench-dst (wal_level=replica), fsync=on, from
# scripts/pg.sh (the instances of bench/snapshot_pg.sh). Data: pgbench -i -s SCALE in
# sluice_mbench; pgbench_history gets REPLICA IDENTITY FULL (it has no key).
# Two pipelines, each with its own target database, slot and state file:
#   on    observability: { listen: 127.0.0.1:PORT }, and `curl /metrics` every second meanwhile
#   off   observability: { metrics: false }
# 1. Snapshot, RUNS times each, the order alternating (on off, off on, ...): a fresh target
#    database and state, a CHECKPOINT on both servers, then `sluice run --once` timed (wall
#    clock and sluice's CPU), rows checked against the source.
# 2. Change capture: after the last snapshot both pipelines are caught up. Per run, with neither
#    running, pgbench writes a backlog (TXNS transactions of the built-in tpcb-like script: 3
#    updates and an insert each; synchronous_commit off for pgbench's sessions, to write it
#    faster); each pipeline then applies it with `sluice run --once`, timed,
#    the order alternating. Every copy of pgbench_accounts is compared with the source (md5 of
#    the rows, computed by each server) after the runs.
# Reported: medians of wall clock and CPU seconds for on and off, and the ratios on/off; the
# goal is a ratio under 1.03 (RESULT lines). Those move by a few percent from run to run on a
# shared machine, so with BENCH_CALLGRIND=1 the bench also counts the instructions sluice runs
# (valgrind --tool=callgrind, every thread) for one more snapshot and one more backlog of
# BENCH_CALLGRIND_TXNS transactions each way: a figure noise does not move.
#
# Environment:
#   BENCH_SCALE   pgbench scale (default 20: 2,000,000 accounts)
#   BENCH_TXNS    backlog transactions per change-capture run (default 100000)
#   BENCH_RUNS    runs per phase (default 5); medians are reported
#   BENCH_CALLGRIND       1: also count instructions (default 0)
#   BENCH_CALLGRIND_TXNS  the backlog counted (default 5000)
#   SLUICE_BIN    sluice binary (default build-release/sluice, built when missing)
set -euo pipefail

ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$ROOT"

SCALE=${BENCH_SCALE:-20}
TXNS=${BENCH_TXNS:-100000}
RUNS=${BENCH_RUNS:-5}
CALLGRIND=${BENCH_CALLGRIND:-0}
CG_TXNS=${BENCH_CALLGRIND_TXNS:-5000}
SLUICE_BIN=${SLUICE_BIN:-$ROOT/build-release/sluice}
SRC=bench-src
DST=bench-dst
SRC_DB=sluice_mbench
WORK=$(mktemp -d /tmp/sluice-mbench.XXXXXX)
SCRAPER=

say() { printf '==> %s\n' "$*" >&2; }
die() {
	printf 'metrics_overhead.sh: %s\n' "$*" >&2
	exit 1
}
on_exit() {
	[[ -n $SCRAPER ]] && kill "$SCRAPER" 2>/dev/null
	printf 'logs in %s\n' "$WORK" >&2
}
trap on_exit EXIT

if [[ ! -x $SLUICE_BIN ]]; then
	say "building $SLUICE_BIN"
	cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release >/dev/null
	cmake --build build-release -j"$(nproc)" --target sluice >/dev/null
fi

say "starting servers $SRC and $DST (fsync=on)"
bash scripts/pg.sh start "$SRC" --wal-level logical --fsync on 2>>"$WORK/servers.log"
bash scripts/pg.sh start "$DST" --wal-level replica --fsync on 2>>"$WORK/servers.log"
env_of() { bash scripts/pg.sh env "$1" | sed -n "s/^export $2=//p"; }
unq() { eval "printf '%s' $1"; } # undo the %q quoting of `pg.sh env`
SRC_PORT=$(env_of "$SRC" SL_PG_PORT)
DST_PORT=$(env_of "$DST" SL_PG_PORT)
export SL_PG_PASSWORD SL_BENCH_DST_PASSWORD PGPASSWORD
SL_PG_PASSWORD=$(unq "$(env_of "$SRC" SL_PG_PASSWORD)")
SL_BENCH_DST_PASSWORD=$(unq "$(env_of "$DST" SL_PG_PASSWORD)")
unset PGHOST PGPORT PGDATABASE PGUSER PGSERVICE PGOPTIONS || true
src_sql() { PGPASSWORD=$SL_PG_PASSWORD psql -X -q -At -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$SRC_PORT" -U sluice -d "$SRC_DB" -c "$1"; }
dst_sql() { PGPASSWORD=$SL_BENCH_DST_PASSWORD psql -X -q -At -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$DST_PORT" -U sluice -d "$1" -c "$2"; }
super_sql() { bash scripts/pg.sh psql "$1" -q -At -c "$2"; }
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

say "loading pgbench scale $SCALE into $SRC/$SRC_DB"
bash scripts/pg.sh createdb "$SRC" "$SRC_DB" 2>>"$WORK/servers.log"
PGPASSWORD=$SL_PG_PASSWORD pgbench -i -q -s "$SCALE" -h 127.0.0.1 -p "$SRC_PORT" -U sluice "$SRC_DB" \
	>"$WORK/pgbench-init.log" 2>&1 || die "pgbench -i failed; see $WORK/pgbench-init.log"
src_sql "ALTER TABLE pgbench_history REPLICA IDENTITY FULL"
ACCOUNTS=$(src_sql "SELECT count(*) FROM pgbench_accounts")

MPORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
pipeline() { # NAME OBSERVABILITY
	cat >"$WORK/$1.yaml" <<YAML
name: mbench_$1
source: { type: postgres, url: "postgres://sluice@127.0.0.1:$SRC_PORT/$SRC_DB", password: "\${SL_PG_PASSWORD}" }
target: { type: postgres, url: "postgres://sluice@127.0.0.1:$DST_PORT/mbench_$1", password: "\${SL_BENCH_DST_PASSWORD}" }
snapshot: { parallelism: 2 }
state: { url: "sqlite://$WORK/$1.db" }
observability: $2
YAML
}
pipeline on "{ listen: \"127.0.0.1:$MPORT\" }"
pipeline off "{ metrics: false }"

# timed NAME LOG: `sluice run --once` of pipeline NAME (the listener scraped meanwhile for on);
# sets WALL and CPU (sluice's user + system seconds)
timed() {
	local name=$1 log=$2 tf=$WORK/.time rc=0
	if [[ $name == on ]]; then
		(while sleep 1; do curl -sf "http://127.0.0.1:$MPORT/metrics" -o /dev/null || true; done) &
		SCRAPER=$!
	fi
	{
		TIMEFORMAT='%3R %3U %3S'
		time "$SLUICE_BIN" run --once "$WORK/$name.yaml" >>"$log" 2>&1
	} 2>"$tf" || rc=$?
	[[ -n $SCRAPER ]] && { kill "$SCRAPER" 2>/dev/null; wait "$SCRAPER" 2>/dev/null || true; SCRAPER=; }
	((rc == 0)) || die "$name: sluice run --once failed (exit $rc); see $log"
	local u s
	read -r WALL u s <"$tf"
	CPU=$(awk -v u="$u" -v s="$s" 'BEGIN { printf "%.3f", u + s }')
}
if [[ ! -s $WORK/on.yaml ]]; then die "no pipeline file"; fi
declare -A S_WALL S_CPU C_WALL C_CPU
order() { (($1 % 2)) && echo "on off" || echo "off on"; }

fresh() { # NAME: no slot, no state, an empty target database
	super_sql "$SRC" "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name LIKE '%mbench_$1%'" >/dev/null
	rm -f -- "$WORK/$1.db" "$WORK/$1.db"-*
	bash scripts/pg.sh createdb "$DST" "mbench_$1" 2>>"$WORK/servers.log"
	super_sql "$SRC" CHECKPOINT >/dev/null
	super_sql "$DST" CHECKPOINT >/dev/null
}
backlog() { # TXNS LOG
	PGOPTIONS='-c synchronous_commit=off' PGPASSWORD=$SL_PG_PASSWORD pgbench -n -b tpcb-like -t $(($1 / 2)) -c 2 -h 127.0.0.1 -p "$SRC_PORT" \
		-U sluice "$SRC_DB" >"$2" 2>&1 || die "pgbench failed; see $2"
	super_sql "$SRC" CHECKPOINT >/dev/null
}
# instructions NAME PHASE: `sluice run --once` of pipeline NAME under callgrind (profile in
# cg-PHASE-NAME.out); prints the instructions every thread ran
instructions() {
	local out=$WORK/cg-$2-$1.out
	valgrind --tool=callgrind --callgrind-out-file="$out" "$SLUICE_BIN" run --once "$WORK/$1.yaml" >>"$WORK/cg-$2-$1.log" 2>&1 ||
		die "$1: sluice run --once under callgrind failed; see $WORK/cg-$2-$1.log"
	awk '/^(summary|totals):/ { print $2; exit }' "$out"
}
# metrics_share PROFILE: the instructions spent in the metrics' own functions (self cost: the
# registry, counters, histograms, latency, samples, the exporters), as a % of all
METRIC_FUNCS='sl_metric_|sl_metrics_|sl_latency_|sl_prom_|otlp_|run_sample|run_count|run_collect|run_lag|run_lanes_depth|cdc_count|buf_count|buf_depth|progress_caught_up'
metrics_share() {
	callgrind_annotate --threshold=100 "$1" 2>/dev/null | awk -v re="$METRIC_FUNCS" '
		/PROGRAM TOTALS/ { gsub(",", "", $1); total = $1 }
		NF >= 2 && ($NF ~ re || $(NF - 1) ~ re) { gsub(",", "", $1); if ($1 ~ /^[0-9]+$/) m += $1 }
		END { printf "%.3f", total ? 100 * m / total : 0 }'
}

say "1. snapshot: $RUNS runs each, interleaved"
for ((run = 1; run <= RUNS; run++)); do
	for c in $(order "$run"); do
		fresh "$c"
		timed "$c" "$WORK/snapshot-$c-$run.log"
		n=$(dst_sql "mbench_$c" "SELECT count(*) FROM pgbench_accounts")
		((n == ACCOUNTS)) || die "$c run $run: $n accounts on the target, $ACCOUNTS on the source"
		S_WALL[$c]+=" $WALL" S_CPU[$c]+=" $CPU"
		say "snapshot $c run $run: ${WALL}s, sluice CPU ${CPU}s"
	done
done

say "2. change capture: $RUNS backlogs of $TXNS transactions, each applied by both"
for ((run = 1; run <= RUNS; run++)); do
	backlog "$TXNS" "$WORK/pgbench-$run.log"
	for c in $(order "$run"); do
		super_sql "$DST" CHECKPOINT >/dev/null
		timed "$c" "$WORK/cdc-$c-$run.log"
		C_WALL[$c]+=" $WALL" C_CPU[$c]+=" $CPU"
		say "changes $c run $run: ${WALL}s, sluice CPU ${CPU}s"
	done
done
declare -A IR_SNAP IR_CDC
if [[ $CALLGRIND == 1 ]]; then
	command -v valgrind >/dev/null || die "valgrind is not installed (apt-get install valgrind)"
	say "3. instructions (callgrind): one snapshot and one backlog of $CG_TXNS transactions each"
	for c in on off; do
		fresh "$c"
		IR_SNAP[$c]=$(instructions "$c" snapshot)
	done
	backlog "$CG_TXNS" "$WORK/pgbench-cg.log"
	for c in on off; do
		IR_CDC[$c]=$(instructions "$c" changes)
	done
fi
SUM="SELECT md5(string_agg(md5(a::text), '' ORDER BY aid)) FROM pgbench_accounts a"
want=$(src_sql "$SUM")
for c in on off; do
	[[ $(dst_sql "mbench_$c" "$SUM") == "$want" ]] || die "pipeline $c: pgbench_accounts differs from the source"
done

med() { printf '%s\n' $1 | median; }
report() { # PHASE WALLS_ON WALLS_OFF CPUS_ON CPUS_OFF
	local won woff con coff
	won=$(med "$2") woff=$(med "$3") con=$(med "$4") coff=$(med "$5")
	printf '%-9s wall on %7.2fs  off %7.2fs  ratio %.3f   |   sluice CPU on %7.2fs  off %7.2fs  ratio %.3f\n' \
		"$1" "$won" "$woff" "$(awk -v a="$won" -v b="$woff" 'BEGIN { print a / b }')" \
		"$con" "$coff" "$(awk -v a="$con" -v b="$coff" 'BEGIN { print a / b }')"
	printf 'RESULT metrics_overhead %s wall_ratio=%.3f cpu_ratio=%.3f goal<1.03\n' "$1" \
		"$(awk -v a="$won" -v b="$woff" 'BEGIN { print a / b }')" "$(awk -v a="$con" -v b="$coff" 'BEGIN { print a / b }')"
}
printf '\nmetrics on (listener scraped every 1 s) vs observability.metrics: false; pgbench scale %s, %s runs, medians\n' "$SCALE" "$RUNS"
report snapshot "${S_WALL[on]}" "${S_WALL[off]}" "${S_CPU[on]}" "${S_CPU[off]}"
report changes "${C_WALL[on]}" "${C_WALL[off]}" "${C_CPU[on]}" "${C_CPU[off]}"
if [[ $CALLGRIND == 1 ]]; then
	for phase in snapshot changes; do
		if [[ $phase == snapshot ]]; then on=${IR_SNAP[on]} off=${IR_SNAP[off]}; else on=${IR_CDC[on]} off=${IR_CDC[off]}; fi
		printf '%-9s instructions on %s  off %s  ratio %.4f\n' "$phase" "$on" "$off" "$(awk -v a="$on" -v b="$off" 'BEGIN { print a / b }')"
		printf 'RESULT metrics_overhead %s instructions_ratio=%.4f goal<1.03\n' "$phase" "$(awk -v a="$on" -v b="$off" 'BEGIN { print a / b }')"
		printf '%-9s the metrics functions themselves: %s%% of the instructions with metrics on\n' "$phase" "$(metrics_share "$WORK/cg-$phase-on.out")"
	done
	printf '(the on/off counts also differ by how transactions fall into groups, which depends on timing)\n'
fi
