#!/usr/bin/env bash
# The Parquet writer and reader (formats/parquet) against independent implementations; no server
# needed.
# 1. Files written through tests/tools/pqgen (every Arrow type sluice produces, nulls, extremes,
#    NaN/Infinity, lists with NULL elements and empty lists, strings past the dictionary limit)
#    are read back value by value by DuckDB and arrow-rs (parquet-wasm), in every codec and both
#    data page versions (tests/oracles/check_parquet.mjs); and by sluice's own reader
#    (tests/tools/pqdump), which must give back exactly the text pqgen wrote.
# 2. Files DuckDB writes (an independent writer, every codec) are read by sluice's reader and
#    compared with DuckDB's own text of the same values (tests/oracles/duckdb_write.mjs).
set -euo pipefail
ROOT=${SLUICE_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
PQGEN=${SLUICE_PQGEN:-$ROOT/build-asan/pqgen}
PQDUMP=${SLUICE_PQDUMP:-$ROOT/build-asan/pqdump}
ORACLES=$ROOT/tests/oracles
[[ -d $ORACLES/node_modules/@duckdb/node-api ]] ||
  { echo "test oracles not installed: run scripts/oracles.sh" >&2; exit 1; }
TMP=$(mktemp -d /tmp/sluice-parquet.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

# codec, data page version, dictionary limit (bytes; small: the fallback to PLAIN mid-chunk)
for cfg in "none 1 0" "snappy 1 0" "zstd 1 0" "none 2 0" "snappy 2 0" "zstd 2 0" "snappy 1 2000" "zstd 2 2000"; do
  read -r codec version dict <<<"$cfg"
  "$PQGEN" "$TMP/t.parquet" "$TMP/t.jsonl" 5000 "$codec" "$version" "$dict"
  echo "== codec $codec, data page v$version, dictionary limit ${dict/#0/default}"
  want=$(tr a-z A-Z <<<"${codec/none/uncompressed}")
  (cd "$ORACLES" && node check_parquet.mjs "$TMP/t.parquet" "$TMP/t.jsonl" "$want")
  "$PQDUMP" "$TMP/t.parquet" >"$TMP/back.jsonl"
  if ! cmp -s "$TMP/t.jsonl" "$TMP/back.jsonl"; then
    echo "FAIL: sluice's reader gives other values than were written:" >&2
    diff "$TMP/t.jsonl" "$TMP/back.jsonl" | head -5 >&2
    exit 1
  fi
  echo "ok: sluice's reader gives back every value"
done

for codec in UNCOMPRESSED SNAPPY ZSTD; do
  echo "== DuckDB writes, codec $codec"
  (cd "$ORACLES" && node duckdb_write.mjs "$TMP/d.parquet" "$TMP/d.jsonl" "$codec" 7000)
  "$PQDUMP" "$TMP/d.parquet" >"$TMP/dback.jsonl"
  if ! cmp -s "$TMP/d.jsonl" "$TMP/dback.jsonl"; then
    echo "FAIL: sluice's reader reads DuckDB's file otherwise than DuckDB:" >&2
    diff "$TMP/d.jsonl" "$TMP/dback.jsonl" | head -5 >&2
    exit 1
  fi
  echo "ok: $(wc -l <"$TMP/d.jsonl") rows read as DuckDB reads them"
done

# A file cut short or with a flipped footer byte is an error, not a crash or wrong rows.
"$PQGEN" "$TMP/t.parquet" "$TMP/t.jsonl" 300 snappy 1
size=$(stat -c %s "$TMP/t.parquet")
head -c $((size - 20)) "$TMP/t.parquet" >"$TMP/cut.parquet"
if out=$("$PQDUMP" "$TMP/cut.parquet" 2>&1 >/dev/null); then
  echo "FAIL: a truncated file was read" >&2; exit 1
fi
[[ $out == *"not a Parquet file"* ]] || { echo "FAIL: truncated file: $out" >&2; exit 1; }
echo "ok: truncated file: $out"
