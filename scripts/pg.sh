#!/usr/bin/env bash
# Manage throwaway local PostgreSQL 15 servers for sluice tests, demos and
# benches. Every instance lives under $ROOT/.local/pg/NAME (ROOT = project
# root), listens on 127.0.0.1 only, on a private port, with a private unix
# socket directory. Servers this script did not start are never touched.
#
# Usage:
#   scripts/pg.sh start NAME [--wal-level logical|replica] [--fsync on|off]
#                            [-c key=value ...]
#   scripts/pg.sh stop NAME [--smart]   (--smart: refuse new sessions, wait for the open ones)
#   scripts/pg.sh destroy NAME
#   scripts/pg.sh stop-all
#   scripts/pg.sh status NAME
#   scripts/pg.sh env NAME          # prints export lines, use with eval
#   scripts/pg.sh psql NAME [psql args...]
#   scripts/pg.sh createdb NAME DB [OWNER]
#
# When run as root, data directories belong to, and servers run as, the
# `postgres` OS user (PostgreSQL refuses to run as root).
#
# Environment:
#   SLUICE_TEST_PASSWORD  password for roles sluice / sluice_noperm
#                         (default: sluice-test-pw); applied on every start
#   SLUICE_PG_BIN         PostgreSQL binaries (default /usr/lib/postgresql/15/bin)
set -euo pipefail
# shellcheck source=lib/instances.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib/instances.sh"

PROG=pg.sh
ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
BASE=$ROOT/.local/pg
PGBIN=${SLUICE_PG_BIN:-/usr/lib/postgresql/15/bin}
PG_MAJOR=15
DEFAULT_PASSWORD=sluice-test-pw
PORT_BASE=55400
PORT_SPREAD=100
PORT_TRIES=50
READY_TIMEOUT=30
# Keep the full socket file path (dir + "/.s.PGSQL.NNNNN") below this.
SOCK_PATH_MAX=100

# Never let the caller's libpq environment redirect our commands to some
# other server.
unset PGHOST PGHOSTADDR PGPORT PGDATABASE PGUSER PGPASSWORD PGPASSFILE \
  PGSERVICE PGSERVICEFILE PGOPTIONS PGDATA PGSSLMODE PGTARGETSESSIONATTRS || true

usage() {
  sed -n '/^# Usage:/,/^# When run/p' "${BASH_SOURCE[0]}" | sed -e 's/^# \{0,1\}//' -e '/^When run/d' >&2
  exit 2
}

if ((EUID == 0)); then
  PG_OS_USER=postgres
  id -u "$PG_OS_USER" >/dev/null 2>&1 ||
    die "running as root but OS user '$PG_OS_USER' does not exist (install postgresql-15: scripts/deps.sh)"
else
  PG_OS_USER=$(id -un)
fi
SERVER_USER=$PG_OS_USER # for scripts/lib/instances.sh

# Run a command as the OS user that owns the PostgreSQL instances.
as_pg() {
  if ((EUID == 0)); then
    runuser -u "$PG_OS_USER" -- "$@"
  else
    "$@"
  fi
}

check_bins() {
  local b
  for b in initdb pg_ctl pg_isready psql postgres; do
    [[ -x $PGBIN/$b ]] || die "$PGBIN/$b not found (PostgreSQL $PG_MAJOR server missing? run scripts/deps.sh)"
  done
}

# Per-instance paths.
set_paths() {
  NAME=$1
  INST=$BASE/$NAME
  DATA=$INST/data
  LOGFILE=$INST/server.log
  PORT_FILE=$INST/port
  SOCK_FILE=$INST/sockdir
  PW_FILE=$INST/password
}

# ---------------------------------------------------------------- ports ---

choose_port() {
  local port i
  if [[ -f $PORT_FILE ]]; then
    port=$(<"$PORT_FILE")
    if [[ $port =~ ^[0-9]+$ ]] && ! port_in_use "$port"; then
      echo "$port"
      return 0
    fi
    log "remembered port $port for '$NAME' is busy, choosing another"
  fi
  port=$(default_port "$NAME")
  for ((i = 0; i < PORT_TRIES; i++, port++)); do
    ((port == 5432)) && continue
    port_claimed_by_other "$port" && continue
    port_in_use "$port" && continue
    echo "$port"
    return 0
  done
  die "no free TCP port for '$NAME' in $(default_port "$NAME")..$((port - 1))"
}

# --------------------------------------------------------------- helpers ---

sock_dir_for() {
  local dir=$INST/sock
  # 15 = length of "/.s.PGSQL.NNNNN"
  if ((${#dir} + 15 >= SOCK_PATH_MAX)); then
    local h
    h=$(printf '%s' "$ROOT" | cksum | cut -d' ' -f1)
    dir=/tmp/sluice-pg-$h-$NAME
  fi
  echo "$dir"
}

is_running() {
  [[ -f $DATA/PG_VERSION ]] || return 1
  as_pg "$PGBIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1
}

require_instance() {
  [[ -f $PORT_FILE && -f $SOCK_FILE && -f $DATA/PG_VERSION ]] ||
    die "instance '$NAME' was never started (run: scripts/pg.sh start $NAME)"
  PORT=$(<"$PORT_FILE")
  SOCK=$(<"$SOCK_FILE")
}

sql_quote() { printf "'%s'" "${1//\'/\'\'}"; }

wait_ready() {
  local i
  for ((i = 0; i < READY_TIMEOUT * 5; i++)); do
    if as_pg "$PGBIN/pg_isready" -q -h "$SOCK" -p "$PORT" -d postgres -U postgres; then
      return 0
    fi
    sleep 0.2
  done
  log "server '$NAME' did not accept connections within ${READY_TIMEOUT}s; last lines of $LOGFILE:"
  tail -n 20 -- "$LOGFILE" >&2 || true
  exit 1
}

psql_super() {
  as_pg "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$SOCK" -p "$PORT" -U postgres "$@"
}

# --------------------------------------------------------------- initdb ---

init_instance() {
  local pwfile rc=0
  if [[ -e $DATA && ! -f $DATA/PG_VERSION ]]; then
    log "removing incomplete data directory $DATA"
    rm -rf -- "$DATA"
  fi
  if [[ -f $DATA/PG_VERSION ]]; then
    [[ $(<"$DATA/PG_VERSION") == "$PG_MAJOR" ]] ||
      die "$DATA is PostgreSQL $(<"$DATA/PG_VERSION"), expected $PG_MAJOR; run: scripts/pg.sh destroy $NAME"
    return 0
  fi

  log "initializing '$NAME' in $DATA"
  # initdb requires a superuser password when host auth is password based;
  # use a random one (superuser is meant to be used via the socket only).
  pwfile=$INST/.initpw
  (umask 077 && head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$pwfile")
  ((EUID == 0)) && chown "$PG_OS_USER:" "$pwfile"

  local common=(-D "$DATA" -U postgres --pwfile="$pwfile"
    --auth-local=trust --auth-host=scram-sha-256 -E UTF8)
  if ! as_pg "$PGBIN/initdb" "${common[@]}" --locale=C.UTF-8 >"$INST/initdb.log" 2>&1; then
    log "initdb with --locale=C.UTF-8 failed, retrying with --locale=C"
    rm -rf -- "$DATA"
    as_pg "$PGBIN/initdb" "${common[@]}" --locale=C >>"$INST/initdb.log" 2>&1 || rc=$?
  fi
  rm -f -- "$pwfile"
  if ((rc != 0)); then
    tail -n 20 -- "$INST/initdb.log" >&2 || true
    die "initdb failed (full log: $INST/initdb.log)"
  fi

  as_pg tee "$DATA/pg_hba.conf" >/dev/null <<'EOF'
# Managed by scripts/pg.sh
# TYPE  DATABASE     USER  ADDRESS        METHOD
local   all          all                  trust
host    all          all   127.0.0.1/32   scram-sha-256
host    replication  all   127.0.0.1/32   scram-sha-256
EOF
  printf "\n# Settings managed by scripts/pg.sh (rewritten on every start)\ninclude 'sluice.conf'\n" |
    as_pg tee -a "$DATA/postgresql.conf" >/dev/null
}

# Desired content of sluice.conf.
render_conf() {
  local kv
  echo "# Managed by scripts/pg.sh: rewritten on every start, do not edit."
  echo "listen_addresses = '127.0.0.1'"
  echo "port = $PORT"
  echo "unix_socket_directories = $(sql_quote "$SOCK")"
  echo "max_wal_senders = 10"
  echo "max_replication_slots = 10"
  echo "wal_level = $WAL_LEVEL"
  echo "shared_buffers = '128MB'"
  echo "max_wal_size = '4GB'"
  echo "fsync = $FSYNC"
  echo "logging_collector = off"
  if ((${#EXTRA[@]} > 0)); then
    echo "# extra -c settings"
    for kv in "${EXTRA[@]}"; do
      echo "${kv%%=*} = $(sql_quote "${kv#*=}")"
    done
  fi
}

ensure_roles() {
  local pw
  pw=${SLUICE_TEST_PASSWORD:-$DEFAULT_PASSWORD}
  psql_super -d postgres -v pw="$pw" <<'SQL'
SET client_min_messages = warning;
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'sluice') THEN
    CREATE ROLE sluice;
  END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'sluice_noperm') THEN
    CREATE ROLE sluice_noperm;
  END IF;
END
$$;
ALTER ROLE sluice LOGIN REPLICATION CREATEDB PASSWORD :'pw';
ALTER ROLE sluice_noperm LOGIN NOREPLICATION NOCREATEDB NOSUPERUSER PASSWORD :'pw';
SQL
  (umask 077 && printf '%s' "$pw" >"$PW_FILE")
}

# ------------------------------------------------------------- commands ---

cmd_start() {
  [[ $# -ge 1 ]] || usage
  check_name "$1"
  set_paths "$1"
  shift
  WAL_LEVEL=logical
  FSYNC=on
  EXTRA=()
  while (($# > 0)); do
    case $1 in
      --wal-level) [[ $# -ge 2 ]] || die "--wal-level needs a value"; WAL_LEVEL=$2; shift 2 ;;
      --wal-level=*) WAL_LEVEL=${1#*=}; shift ;;
      --fsync) [[ $# -ge 2 ]] || die "--fsync needs a value"; FSYNC=$2; shift 2 ;;
      --fsync=*) FSYNC=${1#*=}; shift ;;
      -c) [[ $# -ge 2 ]] || die "-c needs key=value"; EXTRA+=("$2"); shift 2 ;;
      -c*) EXTRA+=("${1#-c}"); shift ;;
      *) die "start: unknown argument '$1'" ;;
    esac
  done
  [[ $WAL_LEVEL == logical || $WAL_LEVEL == replica ]] || die "--wal-level must be logical or replica, not '$WAL_LEVEL'"
  [[ $FSYNC == on || $FSYNC == off ]] || die "--fsync must be on or off, not '$FSYNC'"
  local kv
  for kv in "${EXTRA[@]}"; do
    [[ $kv =~ ^[A-Za-z_][A-Za-z0-9_.]*=.*$ ]] || die "-c expects key=value, got '$kv'"
  done

  check_bins
  lock_base
  ensure_traversable
  make_owned_dir "$INST"
  if [[ -f $DATA/PG_VERSION && $(stat -c %U "$DATA") != "$PG_OS_USER" ]]; then
    die "$DATA is owned by $(stat -c %U "$DATA"), not $PG_OS_USER; run as that user or: scripts/pg.sh destroy $NAME"
  fi

  SOCK=$(sock_dir_for)
  local desired running=0
  if is_running; then
    running=1
    PORT=$(<"$PORT_FILE")
    SOCK=$(<"$SOCK_FILE")
    desired=$(render_conf)
    if [[ $desired == "$(as_pg cat "$DATA/sluice.conf" 2>/dev/null)" ]]; then
      wait_ready
      ensure_roles
      log "'$NAME' already running on 127.0.0.1:$PORT (socket $SOCK)"
      return 0
    fi
    log "settings of '$NAME' changed, restarting"
    as_pg "$PGBIN/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null
  fi

  init_instance
  if ((running == 0)); then
    PORT=$(choose_port)
  fi
  make_owned_dir "$SOCK"
  echo "$PORT" >"$PORT_FILE"
  echo "$SOCK" >"$SOCK_FILE"
  render_conf | as_pg tee "$DATA/sluice.conf" >/dev/null

  log "starting '$NAME' on 127.0.0.1:$PORT (wal_level=$WAL_LEVEL fsync=$FSYNC${EXTRA[*]:+ ${EXTRA[*]}})"
  if ! (cd "$INST" && as_pg "$PGBIN/pg_ctl" -D "$DATA" -l "$LOGFILE" -W start >/dev/null 9>&-); then
    log "pg_ctl start failed; last lines of $LOGFILE:"
    tail -n 20 -- "$LOGFILE" >&2 || true
    exit 1
  fi
  wait_ready
  ensure_roles
  log "'$NAME' ready: psql -h 127.0.0.1 -p $PORT -U sluice (socket dir $SOCK)"
}

stop_instance() {
  if [[ ! -f $DATA/PG_VERSION ]]; then
    log "'$NAME' has no data directory, nothing to stop"
    return 0
  fi
  if is_running; then
    (cd "$INST" && as_pg "$PGBIN/pg_ctl" -D "$DATA" -m "${1:-fast}" -w stop >/dev/null)
    log "stopped '$NAME'"
  else
    log "'$NAME' is not running"
  fi
}

cmd_stop() {
  local mode=fast
  [[ $# -eq 2 && $2 == --smart ]] && mode=smart && set -- "$1"
  [[ $# -eq 1 ]] || usage
  check_name "$1"
  set_paths "$1"
  lock_base
  stop_instance "$mode"
}

cmd_destroy() {
  [[ $# -eq 1 ]] || usage
  check_name "$1"
  set_paths "$1"
  lock_base
  if [[ ! -d $INST ]]; then
    log "'$NAME' does not exist, nothing to destroy"
    return 0
  fi
  stop_instance
  if [[ -f $SOCK_FILE ]]; then
    local sock
    sock=$(<"$SOCK_FILE")
    [[ $sock == /tmp/sluice-pg-* ]] && rm -rf -- "$sock"
  fi
  rm -rf -- "$INST"
  log "destroyed '$NAME'"
}

cmd_stop_all() {
  [[ $# -eq 0 ]] || usage
  lock_base
  local d found=0
  for d in "$BASE"/*/; do
    [[ -f $d/data/PG_VERSION ]] || continue
    found=1
    set_paths "$(basename -- "$d")"
    stop_instance
  done
  ((found)) || log "no instances under $BASE"
}

cmd_status() {
  [[ $# -eq 1 ]] || usage
  check_name "$1"
  set_paths "$1"
  require_instance
  if is_running; then
    echo "$NAME: running on 127.0.0.1:$PORT (socket $SOCK, data $DATA)"
  else
    echo "$NAME: stopped (port $PORT, data $DATA)"
    return 3
  fi
}

cmd_env() {
  [[ $# -eq 1 ]] || usage
  check_name "$1"
  set_paths "$1"
  require_instance
  printf 'export SL_PG_PORT=%q\n' "$PORT"
  printf 'export SL_PG_SOCK=%q\n' "$SOCK"
  printf 'export SL_PG_HOST=%q\n' 127.0.0.1
  printf 'export SL_PG_PASSWORD=%q\n' "$(password)"
}

cmd_psql() {
  [[ $# -ge 1 ]] || usage
  check_name "$1"
  set_paths "$1"
  shift
  require_instance
  local envs=(PGHOST="$SOCK" PGPORT="$PORT" PGUSER=postgres PGDATABASE=postgres)
  # As root psql runs as the postgres OS user; keep its history out of /root.
  ((EUID == 0)) && envs+=(PSQL_HISTORY="$INST/.psql_history")
  as_pg env "${envs[@]}" "$PGBIN/psql" -X -v ON_ERROR_STOP=1 "$@"
}

cmd_createdb() {
  [[ $# -eq 2 || $# -eq 3 ]] || usage
  check_name "$1"
  set_paths "$1"
  local db=$2 owner=${3:-sluice}
  case $db in
    postgres | template0 | template1) die "refusing to recreate system database '$db'" ;;
  esac
  require_instance
  is_running || die "instance '$NAME' is not running (run: scripts/pg.sh start $NAME)"

  local exists
  exists=$(psql_super -d postgres -At -v db="$db" <<<"SELECT count(*) FROM pg_database WHERE datname = :'db';")
  if [[ $exists != 0 ]]; then
    # Subscriptions and replication slots block DROP DATABASE even WITH (FORCE).
    psql_super -d "$db" <<'SQL'
SET client_min_messages = warning;
DO $$
DECLARE s text;
BEGIN
  FOR s IN SELECT subname FROM pg_subscription
           WHERE subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())
  LOOP
    EXECUTE format('ALTER SUBSCRIPTION %I DISABLE', s);
    EXECUTE format('ALTER SUBSCRIPTION %I SET (slot_name = NONE)', s);
    EXECUTE format('DROP SUBSCRIPTION %I', s);
  END LOOP;
END
$$;
SQL
    psql_super -d postgres -v db="$db" <<'SQL'
SET client_min_messages = warning;
SELECT set_config('sluice.dropdb', :'db', false) \g /dev/null
DO $$
DECLARE
  db text := current_setting('sluice.dropdb');
  i int;
BEGIN
  PERFORM pg_terminate_backend(pid) FROM pg_stat_activity
   WHERE datname = db AND pid <> pg_backend_pid();
  FOR i IN 1..50 LOOP
    PERFORM pg_terminate_backend(active_pid) FROM pg_replication_slots
     WHERE database = db AND active_pid IS NOT NULL;
    EXIT WHEN NOT EXISTS (SELECT FROM pg_replication_slots
                           WHERE database = db AND active_pid IS NOT NULL);
    PERFORM pg_sleep(0.1);
  END LOOP;
  PERFORM pg_drop_replication_slot(slot_name) FROM pg_replication_slots
   WHERE database = db;
END
$$;
DROP DATABASE IF EXISTS :"db" WITH (FORCE);
SQL
  fi
  psql_super -d postgres -v db="$db" -v owner="$owner" <<'SQL'
CREATE DATABASE :"db" OWNER :"owner";
SQL
  log "created database '$db' owned by '$owner' on '$NAME'"
}

main() {
  [[ $# -ge 1 ]] || usage
  local cmd=$1
  shift
  case $cmd in
    start) cmd_start "$@" ;;
    stop) cmd_stop "$@" ;;
    destroy) cmd_destroy "$@" ;;
    stop-all) cmd_stop_all "$@" ;;
    status) cmd_status "$@" ;;
    env) cmd_env "$@" ;;
    psql) cmd_psql "$@" ;;
    createdb) cmd_createdb "$@" ;;
    -h | --help | help) usage ;;
    *) log "unknown command '$cmd'"; usage ;;
  esac
}

main "$@"
