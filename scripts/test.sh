#!/usr/bin/env bash
# Build with AddressSanitizer + UndefinedBehaviorSanitizer, start the test servers, run every
# test (unit and integration) through CTest. Used by `make test` and by CI (.ci/run).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

bash scripts/deps.sh
if [[ ${SLUICE_UNIT_ONLY:-} != 1 ]]; then
  bash scripts/oracles.sh
fi
BUILD=build-asan
JOBS=$(nproc 2>/dev/null || echo 2)

# The libFuzzer targets (tests/fuzz/fuzz_*.c) need clang: their own build dir, whose path the
# main build is given so that it registers them as CTest tests fuzz/<name> (label fuzz, each
# run for SLUICE_FUZZ_SECONDS, default 20, by tests/fuzz/run.sh). Not built for unit-only runs.
FUZZ_BUILD=$ROOT/build-fuzz
if [[ ${SLUICE_UNIT_ONLY:-} != 1 ]]; then
  cmake -S . -B "$FUZZ_BUILD" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DSLUICE_FUZZ=ON -DSLUICE_UNIT_TESTS=OFF >/dev/null
  cmake --build "$FUZZ_BUILD" --target fuzz -j"$JOBS"
fi

# The optimised build that `make build`, `make demo` and bench/ use: warnings are errors there
# too, and the optimiser finds some the debug build does not (maybe-uninitialized), so a change
# that breaks it fails here rather than on a new user's first `make demo`.
if [[ ${SLUICE_UNIT_ONLY:-} != 1 ]]; then
  cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build build-release -j"$JOBS"
fi

cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Debug -DSLUICE_SANITIZE=ON -DSLUICE_FUZZ_DIR="$FUZZ_BUILD" >/dev/null
cmake --build "$BUILD" -j"$JOBS"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$ROOT/tests/lsan.supp:print_suppressions=0}

if [[ ${SLUICE_UNIT_ONLY:-} == 1 ]]; then
  exec ctest --test-dir "$BUILD" -L unit --output-on-failure
fi
# The fuzz targets alone, no servers (make fuzz FUZZ_SECONDS=600: a longer run).
if [[ ${SLUICE_FUZZ_ONLY:-} == 1 ]]; then
  exec ctest --test-dir "$BUILD" -L fuzz --output-on-failure --timeout $((${SLUICE_FUZZ_SECONDS:-20} + 300))
fi

# Throwaway servers on private loopback ports: test-src (logical decoding on), test-dst
# (wal_level=replica: also the "wrong setting" server for the bad-input tests), test-mysql
# (MariaDB 10.11, binlog on: ROW, FULL row image and metadata), test-clickhouse (ClickHouse
# 18.16, Debian's package).
stop_servers() {
  bash scripts/pg.sh stop test-src >/dev/null 2>&1 || true
  bash scripts/pg.sh stop test-dst >/dev/null 2>&1 || true
  bash scripts/mysql.sh stop test-mysql >/dev/null 2>&1 || true
  bash scripts/clickhouse.sh stop test-clickhouse >/dev/null 2>&1 || true
}
if [[ ${SLUICE_KEEP_SERVERS:-} != 1 ]]; then
  trap stop_servers EXIT
fi
bash scripts/pg.sh start test-src --wal-level logical --fsync off
bash scripts/pg.sh start test-dst --wal-level replica --fsync off
bash scripts/mysql.sh start test-mysql --fsync off
bash scripts/clickhouse.sh start test-clickhouse

ctest --test-dir "$BUILD" --output-on-failure --timeout 900
