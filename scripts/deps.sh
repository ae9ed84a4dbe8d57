#!/usr/bin/env bash
# Install every Debian 12 package sluice needs to build, test, demo and bench.
#
# Usage: scripts/deps.sh
#
# Idempotent: when every package is already installed it exits immediately
# without calling apt at all. Otherwise it runs `apt-get update` once and
# installs only the missing packages (using sudo when not run as root).
set -euo pipefail

PACKAGES=(
  build-essential
  cmake
  pkg-config
  git
  libpq-dev
  libyaml-dev
  libsqlite3-dev
  libcmocka-dev
  clang           # the fuzz targets (tests/fuzz) build with clang -fsanitize=fuzzer
  libclang-rt-dev # libFuzzer and clang's sanitizer runtimes
  llvm            # llvm-symbolizer: readable stacks in sanitizer reports
  postgresql-15
  postgresql-client-15
  sqlite3
  pgcopydb
  libmariadb-dev
  mariadb-server
  mariadb-client
  clickhouse-server
  clickhouse-client
  libcurl4-openssl-dev
  libssl-dev      # libcrypto: HMAC-SHA256 for column masking; libssl: the TLS version check reports
  zlib1g-dev
  libzstd-dev     # Parquet pages compressed with ZSTD
  libsnappy-dev   # ... or Snappy
  libmicrohttpd-dev # observability.listen: /metrics, /healthz, /readyz
  prometheus      # tests: a real Prometheus scrapes /metrics (promtool checks the text)
  protobuf-compiler # tests: protoc decodes the OTLP protobuf sluice encodes (tests/otlp)
  chromium        # tests: the console page loaded in headless Chromium
  curl
  sysbench
  pgloader
  time
  bc
  procps
  iproute2
  ca-certificates
  openssl
)

die() {
  printf 'deps.sh: error: %s\n' "$*" >&2
  exit 1
}

is_installed() {
  local status
  status=$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null) || return 1
  [[ $status == installed ]]
}

missing_packages() {
  local pkg
  for pkg in "${PACKAGES[@]}"; do
    is_installed "$pkg" || printf '%s\n' "$pkg"
  done
}

command -v dpkg-query >/dev/null 2>&1 || die "dpkg-query not found: this script supports Debian/Ubuntu only"

mapfile -t missing < <(missing_packages)

if ((${#missing[@]} == 0)); then
  echo "deps.sh: all ${#PACKAGES[@]} packages already installed, nothing to do"
  exit 0
fi

SUDO=()
if ((EUID != 0)); then
  command -v sudo >/dev/null 2>&1 || die "not root and sudo is not installed; run as root: apt-get install ${missing[*]}"
  SUDO=(sudo)
fi

echo "deps.sh: installing ${#missing[@]} missing package(s): ${missing[*]}" >&2
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -q update
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
  apt-get -q install -y --no-install-recommends "${missing[@]}"

mapfile -t still_missing < <(missing_packages)
if ((${#still_missing[@]} > 0)); then
  die "packages still not installed after apt-get: ${still_missing[*]}"
fi

# Debian's clickhouse-server package enables a system-wide server on the default ports
# (8123, 9000, 9009) and starts it where services may start (not in a container whose
# policy-rc.d forbids it). sluice runs its own instances (scripts/clickhouse.sh), so when
# this run installed the package, disable that service and stop it if it runs. Never
# through its init script: that `stop` kills every clickhouse-server process of the
# machine, the project's own instances included.
if [[ " ${missing[*]} " == *" clickhouse-server "* ]]; then
  if [[ -d /run/systemd/system ]]; then
    "${SUDO[@]}" systemctl disable --now clickhouse-server.service >/dev/null 2>&1 || true
  else
    "${SUDO[@]}" systemctl disable clickhouse-server.service >/dev/null 2>&1 ||
      "${SUDO[@]}" update-rc.d clickhouse-server disable >/dev/null 2>&1 || true
    # a server started by the package's postinst runs exactly this command line
    mapfile -t pids < <(pgrep -x -f '/usr/sbin/clickhouse-server --config=/etc/clickhouse-server/config.xml' || true)
    if ((${#pids[@]} > 0)); then
      "${SUDO[@]}" kill -TERM "${pids[@]}" 2>/dev/null || true
    fi
  fi
  echo "deps.sh: disabled the system-wide clickhouse-server service (tests start their own: scripts/clickhouse.sh)" >&2
fi

echo "deps.sh: installed ${missing[*]}"
