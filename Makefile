# sluice: the two commands a new user needs are `make demo` and `make test`.
# Everything else here is a building block of those two.

JOBS ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: all deps build demo test unit fuzz bench stop clean

all: build

deps:
	@bash scripts/deps.sh

# Optimised build: build-release/sluice
build: deps
	@cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build build-release -j$(JOBS)

# Installs, builds, starts throwaway local servers, replicates sample data, shows the result.
demo: deps
	@bash scripts/demo.sh

# Installs, builds with AddressSanitizer + UBSan, starts test servers, runs every test.
test: deps
	@bash scripts/test.sh

# Unit tests only (no servers).
unit: deps
	@SLUICE_UNIT_ONLY=1 bash scripts/test.sh

# The libFuzzer targets alone, each for FUZZ_SECONDS (make test runs each for 20 s).
FUZZ_SECONDS ?= 600
fuzz: deps
	@SLUICE_FUZZ_ONLY=1 SLUICE_FUZZ_SECONDS=$(FUZZ_SECONDS) bash scripts/test.sh

# Snapshot benchmark: sluice vs a raw binary COPY pipe vs pgcopydb, ratios printed.
bench: build
	@bash bench/snapshot_pg.sh

# Stop every local server the scripts started.
stop:
	@bash scripts/pg.sh stop-all
	@bash scripts/mysql.sh stop-all
	@bash scripts/clickhouse.sh stop-all

clean:
	rm -rf build build-release build-asan
