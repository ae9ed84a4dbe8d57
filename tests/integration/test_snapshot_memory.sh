#!/usr/bin/env bash
# Snapshot memory is bounded by the lanes, not by the table (docs/ARCHITECTURE.md "Memory": "Memory
# does not depend on table size"). The peak RSS of `run --once` (snapshot + a caught-up CDC) is
# measured for a table of N rows and for the same table with 4N rows, with 2 lanes and a 16 MiB
# queue: the 4N peak may exceed the N peak by at most 16 MiB (allocator noise), and both stay
# under 200 MB. The sanitizer build keeps freed memory in quarantine: keep that small here.
# The bound only matters when the target is slower than the source, so the target is stalled:
# another session holds a SHARE lock on the (pre-created, empty) target table, the writers' COPY
# waits for it, and the lock is released only once the snapshot readers have stopped reading (no
# reader session of the source has started a chunk or sent a row for 2 s): the queues are then as
# full as sluice lets them get, and a queue that ignored snapshot.queue_size would hold the table.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
export SLUICE_CMD_TIMEOUT=180

SDB=it_smem_src
fresh_db test-src "$SDB"
N=120000
src_sql "$SDB" <<SQL
SET ROLE sluice;
CREATE TABLE m (id bigint PRIMARY KEY, n integer, pad text, at timestamptz);
INSERT INTO m SELECT i, i % 1000, repeat(md5(i::text), 6), '2024-01-01'::timestamptz + i * interval '1 s'
  FROM generate_series(1, $N) i;
RESET ROLE;
ANALYZE;
SQL

# reader_progress: for each session of sluice's snapshot readers, the chunk it reads or last read
# (its COPY's text, with the chunk's bounds), whether that COPY still runs, and the rows it has
# sent so far (pg_stat_progress_copy): unchanged while the readers wait, and once they are done.
reader_progress() {
	src_sql postgres "SELECT coalesce(string_agg(a.pid || ':' || md5(a.query) || ':' || a.state || ':'
	    || coalesce(p.tuples_processed::text, '-'), ' ' ORDER BY a.pid), '')
	  FROM pg_stat_activity a LEFT JOIN pg_stat_progress_copy p ON p.pid = a.pid
	  WHERE a.datname = '$SDB' AND a.application_name = 'sluice-source' AND a.query LIKE 'COPY (%'"
}

# peak_rss NAME: snapshot public.m into a fresh target database whose table is locked against
# writes until the readers stop reading; sets PEAK to the peak RSS in KiB.
peak_rss() {
	local tdb=it_smem_dst_$1 holder pid rc=0 i quiet=0 waited=0 now last=none
	fresh_db test-dst "$tdb"
	dst_sql "$tdb" "SET ROLE sluice; CREATE TABLE m (id bigint, n integer, pad text, at timestamptz)"
	pipeline_file "$TMP/$1.yaml" "it_smem_$1" "$SDB" "$tdb" \
		"snapshot: { parallelism: 2, chunk_size: 8MiB, queue_size: 16MiB }"
	(printf "SET application_name = 'it_smem_holder';\nBEGIN;\nLOCK TABLE m IN SHARE MODE;\nSELECT pg_sleep(300);\n" |
		dst_sql "$tdb" >/dev/null 2>&1 || true) &
	holder=$!
	BG_PIDS+=("$holder")
	for ((i = 0; i < 100; i++)); do
		[[ $(dst_sql "$tdb" "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'it_smem_holder' AND query LIKE '%pg_sleep%'") == 1 ]] && break
		sleep 0.1
	done
	((i < 100)) || fail "$1: the session locking the target table did not start"
	ASAN_OPTIONS=${ASAN_OPTIONS:-}:quarantine_size_mb=16 \
		/usr/bin/time -f '%M' -o "$TMP/$1.rss" "$SLUICE_BIN" run --once "$TMP/$1.yaml" >"$TMP/$1.out" 2>"$TMP/$1.err" &
	pid=$!
	BG_PIDS+=("$pid")
	# the writers wait for the lock; then the readers fill what sluice lets them fill
	for ((i = 0; i < 600; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		((waited)) || waited=$(dst_sql "$tdb" "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
		  WHERE NOT l.granted AND l.relation = 'm'::regclass AND a.application_name = 'sluice-target'")
		now=$(reader_progress)
		if ((waited)) && [[ $now == "$last" ]]; then
			((++quiet >= 10)) && break
		else
			quiet=0
		fi
		last=$now
		sleep 0.2
	done
	if ! kill -0 "$pid" 2>/dev/null; then
		wait "$pid" || rc=$?
		tail -20 "$TMP/$1.err" >&2
		fail "sluice run --once ($1) ended (exit $rc) while the target table was locked"
	fi
	((waited)) || fail "$1: test setup: no sluice writer ever waited for the locked target table"
	((quiet >= 10)) || fail "$1: the snapshot readers never stopped reading while the target was stalled (last: $last)"
	log "$1: target stalled, readers stopped; releasing the target table"
	dst_sql postgres "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = 'it_smem_holder'" >/dev/null
	wait "$holder" 2>/dev/null || true
	wait "$pid" || rc=$?
	local keep=() p
	for p in "${BG_PIDS[@]}"; do
		[[ $p == "$holder" || $p == "$pid" ]] || keep+=("$p")
	done
	BG_PIDS=("${keep[@]}")
	if ((rc != 0)); then
		tail -20 "$TMP/$1.err" >&2
		fail "sluice run --once ($1) failed (exit $rc)"
	fi
	PEAK=$(tail -n 1 "$TMP/$1.rss")
	compare_table test-src "$SDB" test-dst "$tdb" public m
	sluice_ok reset "$TMP/$1.yaml"
}

peak_rss n1
rss1=$PEAK
bytes1=$(src_sql "$SDB" "SELECT pg_table_size('m')")
src_sql "$SDB" "INSERT INTO m SELECT i, i % 1000, repeat(md5(i::text), 6), '2024-01-01'::timestamptz + i * interval '1 s'
  FROM generate_series($((N + 1)), $((4 * N))) i; ANALYZE m"
peak_rss n4
rss4=$PEAK
bytes4=$(src_sql "$SDB" "SELECT pg_table_size('m')")
log "peak RSS: $((rss1 / 1024)) MB for $N rows ($((bytes1 >> 20)) MB), $((rss4 / 1024)) MB for $((4 * N)) rows ($((bytes4 >> 20)) MB)"
((bytes4 > 3 * bytes1)) || fail "test setup: the big table is not ~4x the small one ($bytes1 vs $bytes4 bytes)"
((rss1 < 200 * 1024)) || fail "peak RSS for $N rows is $((rss1 / 1024)) MB, over 200 MB"
((rss4 < 200 * 1024)) || fail "peak RSS for $((4 * N)) rows is $((rss4 / 1024)) MB, over 200 MB"
((rss4 <= rss1 + 16 * 1024)) ||
	fail "peak RSS grows with the table: $((rss1 / 1024)) MB for $N rows, $((rss4 / 1024)) MB for $((4 * N)) rows (more than 16 MB more)"
ASSERTS=$((ASSERTS + 6))
pass
