#!/usr/bin/env bash
# Snapshot memory is bounded by the lanes, not by the table (docs/ARCHITECTURE.md "Memory": "Memory
# does not depend on table size"). The peak RSS of `run --once` (snapshot + a caught-up CDC) is
# measured for a table of N rows and for the same table with 4N rows, with 2 lanes and a 16 MiB
# queue: the 4N peak may exceed the N peak by at most 16 MiB (allocator noise), and both stay
# under 200 MB. The sanitizer build keeps freed memory in quarantine: keep that small here.
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

# peak_rss NAME: snapshot public.m into a fresh target database; prints the peak RSS in KiB.
peak_rss() {
	local tdb=it_smem_dst_$1 rss
	fresh_db test-dst "$tdb"
	pipeline_file "$TMP/$1.yaml" "it_smem_$1" "$SDB" "$tdb" \
		"snapshot: { parallelism: 2, chunk_size: 8MiB, queue_size: 16MiB }"
	if ! ASAN_OPTIONS=${ASAN_OPTIONS:-}:quarantine_size_mb=16 \
		/usr/bin/time -f '%M' -o "$TMP/$1.rss" "$SLUICE_BIN" run --once "$TMP/$1.yaml" >"$TMP/$1.out" 2>"$TMP/$1.err"; then
		tail -20 "$TMP/$1.err" >&2
		fail "sluice run --once ($1) failed"
	fi
	rss=$(tail -n 1 "$TMP/$1.rss")
	compare_table test-src "$SDB" test-dst "$tdb" public m
	sluice_ok reset "$TMP/$1.yaml"
	echo "$rss"
}

rss1=$(peak_rss n1)
bytes1=$(src_sql "$SDB" "SELECT pg_table_size('m')")
src_sql "$SDB" "INSERT INTO m SELECT i, i % 1000, repeat(md5(i::text), 6), '2024-01-01'::timestamptz + i * interval '1 s'
  FROM generate_series($((N + 1)), $((4 * N))) i; ANALYZE m"
rss4=$(peak_rss n4)
bytes4=$(src_sql "$SDB" "SELECT pg_table_size('m')")
log "peak RSS: $((rss1 / 1024)) MB for $N rows ($((bytes1 >> 20)) MB), $((rss4 / 1024)) MB for $((4 * N)) rows ($((bytes4 >> 20)) MB)"
((bytes4 > 3 * bytes1)) || fail "test setup: the big table is not ~4x the small one ($bytes1 vs $bytes4 bytes)"
((rss1 < 200 * 1024)) || fail "peak RSS for $N rows is $((rss1 / 1024)) MB, over 200 MB"
((rss4 < 200 * 1024)) || fail "peak RSS for $((4 * N)) rows is $((rss4 / 1024)) MB, over 200 MB"
((rss4 <= rss1 + 16 * 1024)) ||
	fail "peak RSS grows with the table: $((rss1 / 1024)) MB for $N rows, $((rss4 / 1024)) MB for $((4 * N)) rows (more than 16 MB more)"
ASSERTS=$((ASSERTS + 4))
pass
