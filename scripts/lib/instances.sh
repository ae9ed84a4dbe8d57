# Shared by scripts/pg.sh, scripts/mysql.sh and scripts/clickhouse.sh (and the next servers'
# scripts): messages, instance names, the lock that serializes mutating commands, private port
# choice, directories the server's OS user owns, the test password. Sourced, never run.
#
# The sourcing script sets, before calling these:
#   PROG         its name, for messages and its lock file ("pg.sh")
#   ROOT, BASE   the project root and $ROOT/.local/ENGINE, where instances live
#   SERVER_USER  the OS user the servers run as
#   PORT_BASE, PORT_SPREAD   the range default ports are hashed into
#   PORT_FILE, PW_FILE       the current instance's files (set_paths)
#   DEFAULT_PASSWORD         the test accounts' password unless SLUICE_TEST_PASSWORD

log() { printf '%s: %s\n' "$PROG" "$*" >&2; }
die() {
  printf '%s: error: %s\n' "$PROG" "$*" >&2
  exit 1
}

check_name() {
  [[ ${1:-} =~ ^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$ ]] ||
    die "invalid instance name '${1:-}' (use 1-40 chars of [A-Za-z0-9_-])"
}

# Serialize mutating commands (port choice, start/stop) of this script across processes.
# fd 9 must never be held for a server's whole lifetime: start servers with 9>&-.
lock_base() {
  local lock=$BASE/.${PROG%.sh}-sh.lock
  mkdir -p "$BASE"
  exec 9>>"$lock"
  flock -w 120 9 || die "timed out after 120s waiting for $lock"
}

# A port derived from the instance name, so an instance keeps its port across runs.
default_port() {
  local sum
  sum=$(printf '%s' "$1" | cksum | cut -d' ' -f1)
  echo $((PORT_BASE + sum % PORT_SPREAD))
}

port_in_use() {
  local port=$1 out
  if command -v ss >/dev/null 2>&1; then
    out=$(ss -Hltn "( sport = :$port )" 2>/dev/null) || out=x
    [[ -n $out ]]
  else
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null
  fi
}

# Whether another instance of this script remembers `port` as its own.
port_claimed_by_other() {
  local port=$1 f
  for f in "$BASE"/*/port; do
    [[ -f $f && $f != "$PORT_FILE" ]] || continue
    [[ $(<"$f") == "$port" ]] && return 0
  done
  return 1
}

# As root, the servers run as SERVER_USER, which must be able to reach $BASE.
ensure_traversable() {
  ((EUID == 0)) || return 0
  local d=$ROOT
  chmod 755 "$ROOT/.local" "$BASE"
  while [[ $d != / ]]; do
    if ! runuser -u "$SERVER_USER" -- test -x "$d"; then
      log "making $d traversable (o+x) for OS user $SERVER_USER"
      chmod o+x "$d"
    fi
    d=$(dirname -- "$d")
  done
}

make_owned_dir() {
  mkdir -p "$1"
  if ((EUID == 0)); then
    chown "$SERVER_USER:" "$1"
  fi
  chmod 700 "$1"
}

password() {
  if [[ -f $PW_FILE ]]; then
    cat -- "$PW_FILE"
  else
    printf '%s' "${SLUICE_TEST_PASSWORD:-$DEFAULT_PASSWORD}"
  fi
}
