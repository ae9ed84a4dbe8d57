#!/usr/bin/env bash
# Run one libFuzzer target for a bounded time (the CTest tests fuzz/<name>, label fuzz).
#
# Usage: tests/fuzz/run.sh BINARY SEED_DIR WORK_DIR
#   BINARY    a target built by the fuzz build (CMake option SLUICE_FUZZ, clang)
#   SEED_DIR  committed seed inputs, tests/fuzz/corpus/<name> (read only)
#   WORK_DIR  the fuzz build dir: the corpus grows in WORK_DIR/corpus/<name>, a failing input is
#             saved as WORK_DIR/artifacts/<name>-crash-... (or leak-, timeout-, oom-)
# SLUICE_FUZZ_SECONDS (default 20) bounds the run (-max_total_time). Any crash, sanitizer
# report (ASan, UBSan, leak), input slower than 20 s or allocation beyond 2 GiB exits non-zero,
# and so fails the test; the saved input reproduces it: BINARY ARTIFACT.
set -euo pipefail
bin=$1 seeds=$2 work=$3
name=$(basename "$bin")
secs=${SLUICE_FUZZ_SECONDS:-20}
if [[ ! -x $bin ]]; then
  echo "run.sh: fuzz target $bin is not built. scripts/test.sh builds it; by hand:" >&2
  echo "  cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DSLUICE_FUZZ=ON -DSLUICE_UNIT_TESTS=OFF && cmake --build build-fuzz --target fuzz" >&2
  exit 1
fi
[[ -d $seeds ]] || { echo "run.sh: no seed dir $seeds" >&2; exit 1; }
mkdir -p "$work/corpus/$name" "$work/artifacts"
echo "run.sh: $name for ${secs}s, seeds $seeds, corpus $work/corpus/$name"
# -use_value_profile helps it through the decoders' magic numbers and length checks
exec "$bin" -max_total_time="$secs" -timeout=20 -rss_limit_mb=2048 -print_final_stats=1 \
  -use_value_profile=1 -artifact_prefix="$work/artifacts/$name-" "$work/corpus/$name" "$seeds"
