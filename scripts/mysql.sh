#!/usr/bin/env bash
# Manage throwaway local MariaDB 10.11 servers for sluice tests, demos and
# benches: the MySQL-family counterpart of scripts/pg.sh. Every instance lives
# under $ROOT/.local/mysql/NAME (ROOT = project root), listens on 127.0.0.1
# only, on a private port, with a private unix socket. Servers this script did
# not start are never touched.
#
# Usage:
#   scripts/mysql.sh start NAME [--binlog on|off]
#                               [--binlog-format ROW|STATEMENT|MIXED]
#                               [--row-image FULL|MINIMAL]
#                               [--row-metadata FULL|MINIMAL|NO_LOG]
#                               [--fsync on|off] [-o option[=value] ...]
#   scripts/mysql.sh stop NAME
#   scripts/mysql.sh destroy NAME
#   scripts/mysql.sh stop-all
#   scripts/mysql.sh status NAME
#   scripts/mysql.sh env NAME       # prints export lines, use with eval
#   scripts/mysql.sh sql NAME [mariadb client args...]
#   scripts/mysql.sh createdb NAME DB
#
# When run as root, data directories belong to, and servers run as, the
# `mysql` OS user. The script itself talks to the server as the MariaDB
# superuser named like the invoking OS user (root, or $USER when not root),
# authenticated by unix_socket over the private socket; that account has no
# password and cannot log in over TCP.
#
# Settings are rendered into NAME/my.cnf on every start (the server reads that
# file only, never /etc/mysql): `start` with other settings restarts a running
# instance, `start` with the same settings leaves it alone. Defaults: binlog
# on (NAME/binlog/), ROW format, FULL row image, FULL row metadata, CRC32
# checksums, gtid_strict_mode=ON, server_id = the port, utf8mb4, fsync on.
# `--fsync off` sets innodb_flush_log_at_trx_commit=2, sync_binlog=0 and
# innodb_doublewrite=0. `-o` adds raw [mariadbd] option lines.
#
# Accounts (re-created with exactly these privileges on every start, at both
# 'USER'@'127.0.0.1' and 'USER'@'localhost', password below):
#   sluice         SELECT, RELOAD, LOCK TABLES, REPLICATION SLAVE,
#                  BINLOG MONITOR (= REPLICATION CLIENT) on *.*, plus ALL on
#                  databases `sluice\_%`, `test\_%` and `sbtest`
#   sluice_nolock  SELECT, REPLICATION SLAVE, BINLOG MONITOR on *.*, plus every
#                  database privilege except LOCK TABLES on the same databases
#   sluice_norepl  SELECT on *.*
#
# `env` prints MYSQL_PORT, MYSQL_SOCK, MYSQL_HOST (127.0.0.1) and
# MYSQL_PASSWORD. Note that the mariadb client itself reads MYSQL_HOST: after
# eval-ing them, a plain `mariadb` without -h connects over TCP to 127.0.0.1.
#
# Environment:
#   SLUICE_TEST_PASSWORD  password of the accounts above
#                         (default: sluice-test-pw); applied on every start
#   SLUICE_MYSQL_BIN      directory of mariadbd (default /usr/sbin)
set -euo pipefail
# shellcheck source=lib/instances.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib/instances.sh"

PROG=mysql.sh
ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
BASE=$ROOT/.local/mysql
SBIN=${SLUICE_MYSQL_BIN:-/usr/sbin}
MARIADBD=$SBIN/mariadbd
MY_MAJOR=10.11
DEFAULT_PASSWORD=sluice-test-pw
# pg.sh uses 55400 + [0, 100) + up to 50 tries; stay clear of that.
PORT_BASE=55600
PORT_SPREAD=100
PORT_TRIES=50
READY_TIMEOUT=60
STOP_TIMEOUT=120
# Keep the full socket path below this (sun_path is 108 bytes).
SOCK_PATH_MAX=100
SOCK_NAME=mysqld.sock

# Never let the caller's client environment redirect our commands to some
# other server (the mariadb client reads MYSQL_HOST, MYSQL_TCP_PORT,
# MYSQL_UNIX_PORT and MYSQL_PWD).
unset MYSQL_HOST MYSQL_TCP_PORT MYSQL_UNIX_PORT MARIADB_UNIX_PORT MYSQL_PWD \
  MYSQL_HOME MARIADB_HOME MYSQL_GROUP_SUFFIX MARIADB_GROUP_SUFFIX \
  MYSQL_TEST_LOGIN_FILE || true

usage() {
  sed -n '/^# Usage:/,/^# When run/p' "${BASH_SOURCE[0]}" | sed -e 's/^# \{0,1\}//' -e '/^When run/d' >&2
  exit 2
}

if ((EUID == 0)); then
  MY_OS_USER=mysql
  id -u "$MY_OS_USER" >/dev/null 2>&1 ||
    die "running as root but OS user '$MY_OS_USER' does not exist (install mariadb-server: scripts/deps.sh)"
  SUPER_USER=root
else
  MY_OS_USER=$(id -un)
  SUPER_USER=$MY_OS_USER
fi
SERVER_USER=$MY_OS_USER # for scripts/lib/instances.sh

# Run a command as the OS user that owns the MariaDB instances.
as_my() {
  if ((EUID == 0)); then
    runuser -u "$MY_OS_USER" -- "$@"
  else
    "$@"
  fi
}

check_bins() {
  local b
  [[ -x $MARIADBD ]] || die "$MARIADBD not found (MariaDB $MY_MAJOR server missing? run scripts/deps.sh)"
  for b in mariadb-install-db mariadb; do
    command -v "$b" >/dev/null 2>&1 || die "$b not found (MariaDB $MY_MAJOR missing? run scripts/deps.sh)"
  done
  local v
  v=$("$MARIADBD" --version 2>/dev/null) || die "$MARIADBD --version failed"
  [[ $v == *" $MY_MAJOR."* ]] || log "warning: expected MariaDB $MY_MAJOR, found: $v"
}

# Per-instance paths.
set_paths() {
  NAME=$1
  INST=$BASE/$NAME
  DATA=$INST/data
  BINLOG_DIR=$INST/binlog
  CNF=$INST/my.cnf
  LOGFILE=$INST/server.log
  PID_FILE=$INST/mariadbd.pid
  INIT_MARK=$INST/initialized
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
    ((port == 3306)) && continue
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
  if ((${#dir} + 1 + ${#SOCK_NAME} >= SOCK_PATH_MAX)); then
    local h
    h=$(printf '%s' "$ROOT" | cksum | cut -d' ' -f1)
    dir=/tmp/sluice-my-$h-$NAME
  fi
  echo "$dir"
}

# Pid of this instance's running mariadbd, or nothing. Checks the command
# line, so a stale pid file whose pid was reused is not mistaken for ours.
server_pid() {
  local pid cmdline
  [[ -f $PID_FILE ]] || return 0
  pid=$(<"$PID_FILE") || return 0
  [[ $pid =~ ^[0-9]+$ ]] || return 0
  [[ -r /proc/$pid/cmdline ]] || return 0
  cmdline=$(tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null) || return 0
  [[ $cmdline == *$'\n'"--defaults-file=$CNF"* ]] || return 0
  echo "$pid"
}

is_running() {
  [[ -n $(server_pid) ]]
}

require_instance() {
  [[ -f $PORT_FILE && -f $SOCK_FILE && -f $INIT_MARK ]] ||
    die "instance '$NAME' was never started (run: scripts/mysql.sh start $NAME)"
  PORT=$(<"$PORT_FILE")
  SOCK=$(<"$SOCK_FILE")
}

# SQL string literal (the server's default sql_mode keeps backslash escapes).
sql_quote() {
  local s=${1//\\/\\\\}
  printf "'%s'" "${s//\'/\'\'}"
}

# SQL identifier.
# shellcheck disable=SC2016 # the backquotes are literal
sql_ident() { printf '`%s`' "${1//\`/\`\`}"; }

# The mariadb client as the superuser, over the private socket, reading no
# option files. Extra arguments go last, so they can override -u / -h (no -P
# here: the client switches to TCP when given a port).
my_client() {
  MYSQL_HISTFILE=$INST/.mysql_history mariadb --no-defaults --default-character-set=utf8mb4 \
    -h localhost -S "$SOCK/$SOCK_NAME" -u "$SUPER_USER" "$@"
}

# Run SQL from stdin (or -e) as the superuser over the socket; stops at the
# first error.
sql_super() {
  my_client --protocol=socket -N -B --connect-timeout=10 "$@"
}

# fail_with_log MESSAGE [OFFSET]: the error log's last lines (written after
# byte OFFSET, when given), then exit 1.
fail_with_log() {
  log "$1; last lines of $LOGFILE:"
  tail -c +"$((${2:-0} + 1))" -- "$LOGFILE" 2>/dev/null | tail -n 25 >&2 || true
  exit 1
}

# Wait until the server answers a query. $1: byte offset of $LOGFILE at
# launch (to spot an aborted start early), empty when the server was already
# running.
wait_ready() {
  local from=${1:-} i
  for ((i = 0; i < READY_TIMEOUT * 5; i++)); do
    if sql_super -e 'SELECT 1' >/dev/null 2>&1; then
      return 0
    fi
    if [[ -n $from ]] && tail -c +"$((from + 1))" -- "$LOGFILE" 2>/dev/null | grep -q '\[ERROR\] Aborting'; then
      fail_with_log "server '$NAME' failed to start" "$from"
    fi
    if [[ -f $PID_FILE ]] && ! is_running; then
      fail_with_log "server '$NAME' exited during startup" "$from"
    fi
    sleep 0.2
  done
  fail_with_log "server '$NAME' did not accept connections within ${READY_TIMEOUT}s" "$from"
}

# ---------------------------------------------------------- install-db ---

init_instance() {
  if [[ -f $INIT_MARK ]]; then
    [[ -d $DATA/mysql ]] || die "$DATA has no system tables; run: scripts/mysql.sh destroy $NAME"
    return 0
  fi
  if [[ -e $DATA ]]; then
    log "removing incomplete data directory $DATA"
    rm -rf -- "$DATA"
  fi
  make_owned_dir "$DATA"

  log "initializing '$NAME' in $DATA"
  if ! (cd "$INST" && as_my mariadb-install-db --no-defaults --datadir="$DATA" \
    --auth-root-authentication-method=socket --auth-root-socket-user="$SUPER_USER" \
    --skip-test-db --skip-name-resolve --force \
    --skip-log-bin --innodb-buffer-pool-size=64M \
    >"$INST/install-db.log" 2>&1 </dev/null 9>&-); then
    tail -n 20 -- "$INST/install-db.log" >&2 || true
    die "mariadb-install-db failed (full log: $INST/install-db.log)"
  fi
  : >"$INIT_MARK"
}

# Desired content of my.cnf.
render_conf() {
  local kv
  echo "# Managed by scripts/mysql.sh: rewritten on every start, do not edit."
  echo "[mariadbd]"
  echo "datadir = $DATA"
  echo "pid_file = $PID_FILE"
  echo "log_error = $LOGFILE"
  echo "socket = $SOCK/$SOCK_NAME"
  echo "port = $PORT"
  echo "bind_address = 127.0.0.1"
  echo "skip_name_resolve"
  echo "skip_external_locking"
  echo "max_connections = 200"
  echo "character_set_server = utf8mb4"
  echo "collation_server = utf8mb4_general_ci"
  echo "innodb_buffer_pool_size = 256M"
  echo "server_id = $PORT"
  echo "gtid_strict_mode = ON"
  echo "binlog_checksum = CRC32"
  if [[ $BINLOG == on ]]; then
    echo "log_bin = $BINLOG_DIR/binlog"
    echo "log_bin_index = $BINLOG_DIR/binlog.index"
  else
    echo "skip_log_bin"
  fi
  echo "binlog_format = $BINLOG_FORMAT"
  echo "binlog_row_image = $ROW_IMAGE"
  echo "binlog_row_metadata = $ROW_METADATA"
  if [[ $FSYNC == on ]]; then
    echo "innodb_flush_log_at_trx_commit = 1"
    echo "sync_binlog = 1"
    echo "innodb_doublewrite = 1"
  else
    echo "innodb_flush_log_at_trx_commit = 2"
    echo "sync_binlog = 0"
    echo "innodb_doublewrite = 0"
  fi
  if ((${#EXTRA[@]} > 0)); then
    echo "# extra -o settings"
    for kv in "${EXTRA[@]}"; do
      if [[ $kv == *=* ]]; then
        echo "${kv%%=*} = ${kv#*=}"
      else
        echo "$kv"
      fi
    done
  fi
}

ensure_users() {
  local pw u h hosts users=() sql
  pw=$(sql_quote "${SLUICE_TEST_PASSWORD:-$DEFAULT_PASSWORD}")
  # Every database privilege but LOCK TABLES (MariaDB 10.11 names).
  local db_nolock="SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, REFERENCES, INDEX, ALTER,
    CREATE TEMPORARY TABLES, CREATE VIEW, SHOW VIEW, CREATE ROUTINE, ALTER ROUTINE, EXECUTE,
    EVENT, TRIGGER, DELETE HISTORY"
  local dbs=('sluice\_%' 'test\_%' 'sbtest')
  # Keep account management out of the binlog: a CDC reader must not see it,
  # and an idempotent start must not move @@gtid_binlog_pos.
  sql="SET SESSION sql_log_bin = 0;"$'\n'
  for u in sluice sluice_nolock sluice_norepl; do
    hosts="'$u'@'127.0.0.1', '$u'@'localhost'"
    users+=("$hosts")
    sql+="CREATE USER IF NOT EXISTS $hosts;"$'\n'
    for h in 127.0.0.1 localhost; do
      sql+="ALTER USER '$u'@'$h' IDENTIFIED BY $pw;"$'\n'
    done
    sql+="REVOKE ALL PRIVILEGES, GRANT OPTION FROM $hosts;"$'\n'
  done
  sql+="GRANT SELECT, RELOAD, LOCK TABLES, REPLICATION SLAVE, BINLOG MONITOR ON *.* TO ${users[0]};"$'\n'
  sql+="GRANT SELECT, REPLICATION SLAVE, BINLOG MONITOR ON *.* TO ${users[1]};"$'\n'
  sql+="GRANT SELECT ON *.* TO ${users[2]};"$'\n'
  for h in "${dbs[@]}"; do
    sql+="GRANT ALL PRIVILEGES ON \`$h\`.* TO ${users[0]};"$'\n'
    sql+="GRANT $db_nolock ON \`$h\`.* TO ${users[1]};"$'\n'
  done
  # mariadb-install-db --skip-test-db creates no anonymous accounts; drop any
  # that showed up anyway, they would shadow the accounts above.
  sql+="DELETE FROM mysql.global_priv WHERE User = '';"$'\n'
  # ... and the install's proxy grant for root@<hostname>, which only makes
  # skip_name_resolve log a warning on every start.
  sql+="DELETE FROM mysql.proxies_priv WHERE Host NOT IN ('localhost', '');"$'\n'
  sql+="FLUSH PRIVILEGES;"$'\n'
  if ! sql_super <<<"$sql"; then
    die "could not create the sluice accounts on '$NAME'"
  fi
  (umask 077 && printf '%s' "${SLUICE_TEST_PASSWORD:-$DEFAULT_PASSWORD}" >"$PW_FILE")
}

stop_server() { # stops the running server of $NAME
  local pid i
  pid=$(server_pid)
  [[ -n $pid ]] || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < STOP_TIMEOUT * 5; i++)); do
    [[ -e /proc/$pid ]] || return 0
    # A zombie (not reaped yet) counts as gone.
    [[ $(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) == Z ]] && return 0
    sleep 0.2
  done
  log "'$NAME' (pid $pid) did not shut down within ${STOP_TIMEOUT}s, killing it"
  kill -KILL "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    [[ -e /proc/$pid ]] || return 0
    sleep 0.1
  done
  die "could not stop '$NAME' (pid $pid)"
}

# ------------------------------------------------------------- commands ---

upper() { printf '%s' "${1^^}"; }

cmd_start() {
  [[ $# -ge 1 ]] || usage
  check_name "$1"
  set_paths "$1"
  shift
  BINLOG=on
  BINLOG_FORMAT=ROW
  ROW_IMAGE=FULL
  ROW_METADATA=FULL
  FSYNC=on
  EXTRA=()
  while (($# > 0)); do
    case $1 in
      --binlog) [[ $# -ge 2 ]] || die "--binlog needs a value"; BINLOG=$2; shift 2 ;;
      --binlog=*) BINLOG=${1#*=}; shift ;;
      --binlog-format) [[ $# -ge 2 ]] || die "--binlog-format needs a value"; BINLOG_FORMAT=$(upper "$2"); shift 2 ;;
      --binlog-format=*) BINLOG_FORMAT=$(upper "${1#*=}"); shift ;;
      --row-image) [[ $# -ge 2 ]] || die "--row-image needs a value"; ROW_IMAGE=$(upper "$2"); shift 2 ;;
      --row-image=*) ROW_IMAGE=$(upper "${1#*=}"); shift ;;
      --row-metadata) [[ $# -ge 2 ]] || die "--row-metadata needs a value"; ROW_METADATA=$(upper "$2"); shift 2 ;;
      --row-metadata=*) ROW_METADATA=$(upper "${1#*=}"); shift ;;
      --fsync) [[ $# -ge 2 ]] || die "--fsync needs a value"; FSYNC=$2; shift 2 ;;
      --fsync=*) FSYNC=${1#*=}; shift ;;
      -o) [[ $# -ge 2 ]] || die "-o needs option=value"; EXTRA+=("$2"); shift 2 ;;
      -o*) EXTRA+=("${1#-o}"); shift ;;
      *) die "start: unknown argument '$1'" ;;
    esac
  done
  [[ $BINLOG == on || $BINLOG == off ]] || die "--binlog must be on or off, not '$BINLOG'"
  [[ $BINLOG_FORMAT =~ ^(ROW|STATEMENT|MIXED)$ ]] ||
    die "--binlog-format must be ROW, STATEMENT or MIXED, not '$BINLOG_FORMAT'"
  [[ $ROW_IMAGE =~ ^(FULL|MINIMAL)$ ]] || die "--row-image must be FULL or MINIMAL, not '$ROW_IMAGE'"
  [[ $ROW_METADATA =~ ^(FULL|MINIMAL|NO_LOG)$ ]] ||
    die "--row-metadata must be FULL, MINIMAL or NO_LOG, not '$ROW_METADATA'"
  [[ $FSYNC == on || $FSYNC == off ]] || die "--fsync must be on or off, not '$FSYNC'"
  local kv
  for kv in "${EXTRA[@]}"; do
    [[ $kv =~ ^[A-Za-z_][A-Za-z0-9_-]*(=[^$'\n']*)?$ ]] || die "-o expects option or option=value, got '$kv'"
  done

  check_bins
  lock_base
  ensure_traversable
  make_owned_dir "$INST"
  if [[ -d $DATA && $(stat -c %U "$DATA") != "$MY_OS_USER" ]]; then
    die "$DATA is owned by $(stat -c %U "$DATA"), not $MY_OS_USER; run as that user or: scripts/mysql.sh destroy $NAME"
  fi

  SOCK=$(sock_dir_for)
  local desired running=0
  if is_running; then
    running=1
    PORT=$(<"$PORT_FILE")
    SOCK=$(<"$SOCK_FILE")
    desired=$(render_conf)
    if [[ $desired == "$(cat -- "$CNF" 2>/dev/null)" ]]; then
      wait_ready
      ensure_users
      log "'$NAME' already running on 127.0.0.1:$PORT (socket $SOCK/$SOCK_NAME)"
      return 0
    fi
    log "settings of '$NAME' changed, restarting"
    stop_server
  elif [[ -f $PID_FILE ]]; then
    log "removing stale pid file $PID_FILE (server was not shut down cleanly)"
    rm -f -- "$PID_FILE"
  fi

  init_instance
  if ((running == 0)); then
    PORT=$(choose_port)
  fi
  make_owned_dir "$SOCK"
  make_owned_dir "$BINLOG_DIR"
  echo "$PORT" >"$PORT_FILE"
  echo "$SOCK" >"$SOCK_FILE"
  render_conf | as_my tee "$CNF" >/dev/null
  as_my chmod 644 "$CNF"
  as_my touch "$LOGFILE"

  local from
  from=$(stat -c %s -- "$LOGFILE")
  log "starting '$NAME' on 127.0.0.1:$PORT (binlog=$BINLOG format=$BINLOG_FORMAT row_image=$ROW_IMAGE" \
    "row_metadata=$ROW_METADATA fsync=$FSYNC${EXTRA[*]:+ ${EXTRA[*]}})"
  # setsid -f: the server gets its own session and no waiting parent; its
  # early stderr (before log_error is open) goes to the same log. runuser
  # applies the PAM soft limit on open files (often 1024, which makes the
  # server shrink table_open_cache): raise it to the hard limit first.
  # shellcheck disable=SC2016 # expanded by sh -c
  if ! (cd "$INST" && as_my sh -c 'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec setsid -f "$@"' sh \
    "$MARIADBD" --defaults-file="$CNF" </dev/null >>"$LOGFILE" 2>&1 9>&-); then
    fail_with_log "could not launch $MARIADBD" "$from"
  fi
  wait_ready "$from"
  ensure_users
  log "'$NAME' ready: mariadb -h 127.0.0.1 -P $PORT -u sluice -p (socket $SOCK/$SOCK_NAME)"
}

stop_instance() {
  if [[ ! -f $INIT_MARK ]]; then
    log "'$NAME' has no data directory, nothing to stop"
    return 0
  fi
  if is_running; then
    stop_server
    log "stopped '$NAME'"
  else
    log "'$NAME' is not running"
  fi
}

cmd_stop() {
  [[ $# -eq 1 ]] || usage
  check_name "$1"
  set_paths "$1"
  lock_base
  stop_instance
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
  if is_running; then
    stop_server
    log "stopped '$NAME'"
  fi
  if [[ -f $SOCK_FILE ]]; then
    local sock
    sock=$(<"$SOCK_FILE")
    [[ $sock == /tmp/sluice-my-* ]] && rm -rf -- "$sock"
  fi
  rm -rf -- "$INST"
  log "destroyed '$NAME'"
}

cmd_stop_all() {
  [[ $# -eq 0 ]] || usage
  lock_base
  local d found=0
  for d in "$BASE"/*/; do
    [[ -f $d/initialized ]] || continue
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
    echo "$NAME: running on 127.0.0.1:$PORT (socket $SOCK/$SOCK_NAME, data $DATA)"
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
  printf 'export MYSQL_PORT=%q\n' "$PORT"
  printf 'export MYSQL_SOCK=%q\n' "$SOCK/$SOCK_NAME"
  printf 'export MYSQL_HOST=%q\n' 127.0.0.1
  printf 'export MYSQL_PASSWORD=%q\n' "$(password)"
}

cmd_sql() {
  [[ $# -ge 1 ]] || usage
  check_name "$1"
  set_paths "$1"
  shift
  require_instance
  is_running || die "instance '$NAME' is not running (run: scripts/mysql.sh start $NAME)"
  my_client "$@"
}

cmd_createdb() {
  [[ $# -eq 2 ]] || usage
  check_name "$1"
  set_paths "$1"
  local db=$2
  [[ -n $db && ${#db} -le 64 && $db != *[/\\.]* && $db != *' ' ]] ||
    die "invalid database name '$db'"
  case ${db,,} in
    mysql | information_schema | performance_schema | sys) die "refusing to recreate system database '$db'" ;;
  esac
  require_instance
  is_running || die "instance '$NAME' is not running (run: scripts/mysql.sh start $NAME)"

  local lit id
  lit=$(sql_quote "$db")
  id=$(sql_ident "$db")
  # Sessions using the database would block DROP DATABASE on metadata locks.
  local ids i
  ids=$(sql_super -e "SELECT id FROM information_schema.processlist
                       WHERE db = $lit AND id <> CONNECTION_ID()")
  for i in $ids; do
    sql_super -e "KILL CONNECTION $i" 2>/dev/null || true
  done
  sql_super <<SQL
SET SESSION lock_wait_timeout = 30;
DROP DATABASE IF EXISTS $id;
CREATE DATABASE $id CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci;
SQL
  if [[ ! $db =~ ^(sluice_|test_) && $db != sbtest ]]; then
    log "note: the sluice accounts only have SELECT on '$db' (ALL is granted on sluice_%, test_% and sbtest)"
  fi
  log "created database '$db' on '$NAME'"
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
    sql) cmd_sql "$@" ;;
    createdb) cmd_createdb "$@" ;;
    -h | --help | help) usage ;;
    *) log "unknown command '$cmd'"; usage ;;
  esac
}

main "$@"
