#!/usr/bin/env bash
# Manage throwaway local ClickHouse servers (Debian 12's clickhouse-server 18.16)
# for sluice tests, demos and benches: the ClickHouse counterpart of
# scripts/pg.sh and scripts/mysql.sh. Every instance lives under
# $ROOT/.local/clickhouse/NAME (ROOT = project root), listens on 127.0.0.1
# only, on private ports (HTTP, and the native TCP protocol on HTTP + 200; no
# interserver port). Servers this script did not start are never touched.
#
# Usage:
#   scripts/clickhouse.sh start NAME [-o key=value ...]
#   scripts/clickhouse.sh stop NAME
#   scripts/clickhouse.sh destroy NAME
#   scripts/clickhouse.sh stop-all
#   scripts/clickhouse.sh status NAME
#   scripts/clickhouse.sh env NAME     # prints export lines, use with eval
#   scripts/clickhouse.sh sql NAME [clickhouse-client args...]
#   scripts/clickhouse.sh createdb NAME DB
#
# When run as root, data directories belong to, and servers run as, the
# `clickhouse` OS user that the Debian package creates.
#
# Settings are rendered into NAME/config.xml and NAME/users.xml on every start
# (the server reads those files only, never /etc/clickhouse-server): `start`
# with other settings restarts a running instance, `start` with the same
# settings leaves it alone. Defaults: data, tmp, user_files, format_schemas
# and logs inside NAME/, server time zone UTC, mark cache 64 MiB, no
# uncompressed cache, no query_log, per-query memory limit 2 GB and 4 GB for
# all queries together (18.16 has no server-wide memory limit).
# `-o key=value` overrides or adds one config.xml element; dots nest
# (`-o merge_tree.parts_to_throw_insert=600` gives <merge_tree><parts_...>).
# `-o profile.SETTING=value` sets a query-level setting in the `default`
# settings profile of users.xml instead (applies to every user), e.g.
# `-o profile.max_insert_block_size=100000`.
#
# Users (users.xml, loopback networks only):
#   default  the script's own admin account (`sql`, `createdb`), with a random
#            password kept in NAME/admin-password and NAME/client.xml (mode 600)
#   sluice   every privilege 18.16 knows (no readonly, all databases), password
#            below. 18.16 has no SQL user management (no GRANT / CREATE USER).
#   sluice_ro    the same password, profile `readonly` (readonly = 1: SELECT only),
#                for tests of a user that lacks privileges
#
# `env` prints CH_HTTP_PORT, CH_TCP_PORT, CH_HOST (127.0.0.1), CH_USER (sluice)
# and CH_PASSWORD.
#
# Environment:
#   SLUICE_TEST_PASSWORD  password of the sluice account
#                         (default: sluice-test-pw); applied on every start
#   SLUICE_CLICKHOUSE_BIN directory of clickhouse-server (default /usr/sbin)
set -euo pipefail
# shellcheck source=lib/instances.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib/instances.sh"

PROG=clickhouse.sh
ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
BASE=$ROOT/.local/clickhouse
SBIN=${SLUICE_CLICKHOUSE_BIN:-/usr/sbin}
SERVER_BIN=$SBIN/clickhouse-server
CH_MAJOR=18.16
DEFAULT_PASSWORD=sluice-test-pw
# pg.sh uses 55400.., mysql.sh 55600..: the HTTP port is 55800 + [0, 100) + up
# to 50 tries, the native TCP port HTTP + 200 (56000..56149).
PORT_BASE=55800
PORT_SPREAD=100
PORT_TRIES=50
TCP_OFFSET=200
READY_TIMEOUT=60
STOP_TIMEOUT=60

usage() {
  sed -n '/^# Usage:/,/^# When run/p' "${BASH_SOURCE[0]}" | sed -e 's/^# \{0,1\}//' -e '/^When run/d' >&2
  exit 2
}

if ((EUID == 0)); then
  CH_OS_USER=clickhouse
  id -u "$CH_OS_USER" >/dev/null 2>&1 ||
    die "running as root but OS user '$CH_OS_USER' does not exist (install clickhouse-server: scripts/deps.sh)"
else
  CH_OS_USER=$(id -un)
fi
SERVER_USER=$CH_OS_USER # for scripts/lib/instances.sh

# Run a command as the OS user that owns the ClickHouse instances.
as_ch() {
  if ((EUID == 0)); then
    runuser -u "$CH_OS_USER" -- "$@"
  else
    "$@"
  fi
}

check_bins() {
  [[ -x $SERVER_BIN ]] || die "$SERVER_BIN not found (ClickHouse server missing? run scripts/deps.sh)"
  local b
  for b in clickhouse-client curl; do
    command -v "$b" >/dev/null 2>&1 || die "$b not found (run scripts/deps.sh)"
  done
  # Neither binary has a --version that works (the server rejects it, the
  # client's --help never ends): ask dpkg, and only warn.
  local v
  v=$(dpkg-query -W -f='${Version}' clickhouse-server 2>/dev/null) || v=
  [[ -z $v || $v == "$CH_MAJOR".* ]] || log "warning: expected clickhouse-server $CH_MAJOR, dpkg has $v"
}

# Per-instance paths.
set_paths() {
  NAME=$1
  INST=$BASE/$NAME
  DATA=$INST/data
  CONF=$INST/config.xml
  USERS=$INST/users.xml
  CLIENT_CONF=$INST/client.xml
  LOGFILE=$INST/server.log
  ERRLOG=$INST/server.err.log
  PID_FILE=$INST/clickhouse-server.pid
  PORT_FILE=$INST/port
  PW_FILE=$INST/password
  ADMIN_PW_FILE=$INST/admin-password
}

# ---------------------------------------------------------------- ports ---

# True when HTTP port $1 or its TCP port is taken.
ports_in_use() {
  port_in_use "$1" || port_in_use "$(($1 + TCP_OFFSET))"
}

# Prints the HTTP port to use (the TCP port is that + TCP_OFFSET).
choose_port() {
  local port i
  if [[ -f $PORT_FILE ]]; then
    port=$(<"$PORT_FILE")
    if [[ $port =~ ^[0-9]+$ ]] && ! ports_in_use "$port"; then
      echo "$port"
      return 0
    fi
    log "remembered ports $port/$((port + TCP_OFFSET)) for '$NAME' are busy, choosing others"
  fi
  port=$(default_port "$NAME")
  for ((i = 0; i < PORT_TRIES; i++, port++)); do
    port_claimed_by_other "$port" && continue
    ports_in_use "$port" && continue
    echo "$port"
    return 0
  done
  die "no free HTTP/TCP port pair for '$NAME' in $(default_port "$NAME")..$((port - 1)) (+$TCP_OFFSET)"
}

# --------------------------------------------------------------- helpers ---

# Pid of this instance's running clickhouse-server, or nothing. Checks the
# command line, so a stale pid file whose pid was reused is not mistaken for
# ours.
server_pid() {
  local pid cmdline
  [[ -f $PID_FILE ]] || return 0
  pid=$(<"$PID_FILE") || return 0
  pid=${pid//[[:space:]]/}
  [[ $pid =~ ^[0-9]+$ ]] || return 0
  [[ -r /proc/$pid/cmdline ]] || return 0
  cmdline=$(tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null) || return 0
  [[ $cmdline == *$'\n'"--config-file=$CONF"* ]] || return 0
  # A zombie (not reaped yet) is not running.
  [[ $(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) != Z ]] || return 0
  echo "$pid"
}

is_running() {
  [[ -n $(server_pid) ]]
}

require_instance() {
  [[ -f $PORT_FILE && -f $CONF && -f $CLIENT_CONF ]] ||
    die "instance '$NAME' was never started (run: scripts/clickhouse.sh start $NAME)"
  PORT=$(<"$PORT_FILE")
  TCP_PORT=$((PORT + TCP_OFFSET))
}

# Text as XML character data.
xml_text() {
  local s=${1//&/&amp;}
  s=${s//</&lt;}
  printf '%s' "${s//>/&gt;}"
}

# SQL identifier (ClickHouse backquotes; backslash escapes).
# shellcheck disable=SC2016 # the backquotes are literal
sql_ident() {
  local s=${1//\\/\\\\}
  printf '`%s`' "${s//\`/\\\`}"
}

sha256_hex() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }

# clickhouse-client as the admin user (host, port, user and password come from
# NAME/client.xml; no other client config file is read). HOME=$INST keeps the
# interactive history in the instance.
ch_client() {
  HOME=$INST clickhouse-client --config-file="$CLIENT_CONF" "$@"
}

# fail_with_log MESSAGE [OFFSET]: the server log's last lines (written after
# byte OFFSET, when given), then exit 1.
fail_with_log() {
  log "$1; last lines of $LOGFILE:"
  tail -c +"$((${2:-0} + 1))" -- "$LOGFILE" 2>/dev/null | tail -n 25 >&2 || true
  # the pid file is ours (written at launch): drop it once the server is gone
  is_running || rm -f -- "$PID_FILE"
  exit 1
}

ping_ok() {
  [[ $(curl -sS --max-time 2 "http://127.0.0.1:$PORT/ping" 2>/dev/null) == Ok. ]]
}

# Wait until the server answers /ping on its HTTP port and a query on its TCP
# port. $1: byte offset of $LOGFILE at launch (to spot a failed start early),
# empty when the server was already running.
wait_ready() {
  local from=${1:-} i
  for ((i = 0; i < READY_TIMEOUT * 5; i++)); do
    if ping_ok && ch_client --query 'SELECT 1' >/dev/null 2>&1; then
      return 0
    fi
    if [[ -n $from ]]; then
      # A fatal startup error: logged by the server, then it exits.
      if tail -c +"$((from + 1))" -- "$LOGFILE" 2>/dev/null | grep -q '<Error> Application: '; then
        sleep 0.5
        fail_with_log "server '$NAME' failed to start" "$from"
      fi
      if ! is_running; then
        fail_with_log "server '$NAME' exited during startup" "$from"
      fi
    elif ! is_running; then
      fail_with_log "server '$NAME' is not running any more"
    fi
    sleep 0.2
  done
  fail_with_log "server '$NAME' did not answer on 127.0.0.1:$PORT/ping within ${READY_TIMEOUT}s" "$from"
}

# The admin password: random, made once per instance.
admin_password() {
  if [[ ! -s $ADMIN_PW_FILE ]]; then
    (umask 077 && head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$ADMIN_PW_FILE")
  fi
  cat -- "$ADMIN_PW_FILE"
}

# --------------------------------------------------------------- config ---

# Desired settings as "key<TAB>value" lines: the defaults, then the -o
# overrides (a later line for the same key wins).
settings_lines() {
  local kv
  printf '%s\t%s\n' \
    path "$DATA/" \
    tmp_path "$INST/tmp/" \
    user_files_path "$INST/user_files/" \
    format_schema_path "$INST/format_schemas/" \
    users_config "$USERS" \
    default_profile default \
    default_database default \
    listen_host 127.0.0.1 \
    http_port "$PORT" \
    tcp_port "$TCP_PORT" \
    logger.level information \
    logger.log "$LOGFILE" \
    logger.errorlog "$ERRLOG" \
    logger.size 100M \
    logger.count 3 \
    timezone UTC \
    umask 027 \
    max_connections 256 \
    max_concurrent_queries 100 \
    keep_alive_timeout 3 \
    mark_cache_size 67108864 \
    uncompressed_cache_size 0 \
    max_table_size_to_drop 0 \
    max_partition_size_to_drop 0 \
    mlock_executable false \
    builtin_dictionaries_reload_interval 3600
  for kv in "${EXTRA[@]}"; do
    [[ $kv == profile.* ]] && continue
    printf '%s\t%s\n' "${kv%%=*}" "${kv#*=}"
  done
}

profile_lines() {
  local kv
  printf '%s\t%s\n' \
    max_memory_usage 2000000000 \
    max_memory_usage_for_all_queries 4000000000 \
    use_uncompressed_cache 0 \
    load_balancing random
  for kv in "${EXTRA[@]}"; do
    [[ $kv == profile.* ]] || continue
    kv=${kv#profile.}
    printf '%s\t%s\n' "${kv%%=*}" "${kv#*=}"
  done
}

# Reads "dotted.key<TAB>value" lines, writes them as nested XML elements at
# indent $1 (keys sorted; for a repeated key the last value wins).
render_elements() {
  local indent=$1 key value
  local -A vals=()
  local -a order=()
  while IFS=$'\t' read -r key value; do
    [[ -v vals[$key] ]] || order+=("$key")
    vals[$key]=$value
  done
  local -a open=() parts
  local n common j pad
  while IFS= read -r key; do
    [[ -n $key ]] || continue
    IFS=. read -r -a parts <<<"$key"
    n=${#parts[@]}
    # the longest prefix of currently open elements that this key shares
    common=0
    while ((common < ${#open[@]} && common < n - 1)) && [[ ${open[common]} == "${parts[common]}" ]]; do
      common=$((common + 1))
    done
    for ((j = ${#open[@]} - 1; j >= common; j--)); do
      printf -v pad '%*s' $((indent + 2 * j)) ''
      printf '%s</%s>\n' "$pad" "${open[j]}"
      unset 'open[j]'
    done
    for ((j = common; j < n - 1; j++)); do
      printf -v pad '%*s' $((indent + 2 * j)) ''
      printf '%s<%s>\n' "$pad" "${parts[j]}"
      open[j]=${parts[j]}
    done
    printf -v pad '%*s' $((indent + 2 * (n - 1))) ''
    printf '%s<%s>%s</%s>\n' "$pad" "${parts[n - 1]}" "$(xml_text "${vals[$key]}")" "${parts[n - 1]}"
  done < <(printf '%s\n' "${order[@]}" | LC_ALL=C sort)
  for ((j = ${#open[@]} - 1; j >= 0; j--)); do
    printf -v pad '%*s' $((indent + 2 * j)) ''
    printf '%s</%s>\n' "$pad" "${open[j]}"
  done
}

# Dies when a key of config.xml or of the profile would be both a value and
# the parent of another key (e.g. -o logger=x next to logger.level).
check_keys() {
  local keys k key
  for keys in "$( (PORT=0 TCP_PORT=0 settings_lines) | cut -f1 | LC_ALL=C sort -u)" \
    "$(profile_lines | cut -f1 | LC_ALL=C sort -u)"; do
    while IFS= read -r k; do
      while IFS= read -r key; do
        [[ $key != "$k".* ]] || die "-o: '$k' would be both a value and the parent of '$key'"
      done <<<"$keys"
    done <<<"$keys"
  done
}

# Desired content of config.xml.
render_conf() {
  echo '<?xml version="1.0"?>'
  echo '<!-- Managed by scripts/clickhouse.sh: rewritten on every start, do not edit. -->'
  echo '<yandex>'
  settings_lines | render_elements 2
  echo '</yandex>'
}

# Desired content of users.xml.
render_users() {
  local admin_hash sluice_hash u
  admin_hash=$(sha256_hex "$(admin_password)")
  sluice_hash=$(sha256_hex "${SLUICE_TEST_PASSWORD:-$DEFAULT_PASSWORD}")
  echo '<?xml version="1.0"?>'
  echo '<!-- Managed by scripts/clickhouse.sh: rewritten on every start, do not edit. -->'
  echo '<yandex>'
  echo '  <profiles>'
  echo '    <default>'
  profile_lines | render_elements 6
  echo '    </default>'
  echo '    <readonly>'
  echo '      <readonly>1</readonly>'
  echo '    </readonly>'
  echo '  </profiles>'
  echo '  <users>'
  for u in default sluice sluice_ro; do
    echo "    <$u>"
    if [[ $u == default ]]; then
      echo "      <password_sha256_hex>$admin_hash</password_sha256_hex>"
    else
      echo "      <password_sha256_hex>$sluice_hash</password_sha256_hex>"
    fi
    echo '      <networks>'
    echo '        <ip>127.0.0.1</ip>'
    echo '        <ip>::1</ip>'
    echo '      </networks>'
    if [[ $u == sluice_ro ]]; then
      echo '      <profile>readonly</profile>'
    else
      echo '      <profile>default</profile>'
    fi
    echo '      <quota>default</quota>'
    echo "    </$u>"
  done
  echo '  </users>'
  echo '  <quotas>'
  echo '    <default>'
  echo '      <interval>'
  echo '        <duration>3600</duration>'
  echo '        <queries>0</queries>'
  echo '        <errors>0</errors>'
  echo '        <result_rows>0</result_rows>'
  echo '        <read_rows>0</read_rows>'
  echo '        <execution_time>0</execution_time>'
  echo '      </interval>'
  echo '    </default>'
  echo '  </quotas>'
  echo '</yandex>'
}

# Both files, as compared with what is on disk.
render_all() {
  render_conf
  echo '<!-- users.xml -->'
  render_users
}

on_disk() {
  as_ch cat -- "$CONF" 2>/dev/null || true
  echo '<!-- users.xml -->'
  as_ch cat -- "$USERS" 2>/dev/null || true
}

write_client_conf() {
  (
    umask 077
    {
      echo '<?xml version="1.0"?>'
      echo '<!-- Managed by scripts/clickhouse.sh: the admin account of this instance. -->'
      echo '<config>'
      echo '  <host>127.0.0.1</host>'
      echo "  <port>$TCP_PORT</port>"
      echo '  <user>default</user>'
      echo "  <password>$(xml_text "$(admin_password)")</password>"
      echo '</config>'
    } >"$CLIENT_CONF.tmp"
    mv -f -- "$CLIENT_CONF.tmp" "$CLIENT_CONF"
  )
}

stop_server() { # stops the running server of $NAME
  local pid i
  pid=$(server_pid)
  [[ -n $pid ]] || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < STOP_TIMEOUT * 5; i++)); do
    if [[ ! -e /proc/$pid || $(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) == Z ]]; then
      # gone (a zombie not reaped yet counts as gone): the pid file is ours
      rm -f -- "$PID_FILE"
      return 0
    fi
    sleep 0.2
  done
  log "'$NAME' (pid $pid) did not shut down within ${STOP_TIMEOUT}s, killing it"
  kill -KILL "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    if [[ ! -e /proc/$pid || $(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) == Z ]]; then
      rm -f -- "$PID_FILE"
      return 0
    fi
    sleep 0.1
  done
  die "could not stop '$NAME' (pid $pid)"
}

# ------------------------------------------------------------- commands ---

cmd_start() {
  [[ $# -ge 1 ]] || usage
  check_name "$1"
  set_paths "$1"
  shift
  EXTRA=()
  while (($# > 0)); do
    case $1 in
      -o) [[ $# -ge 2 ]] || die "-o needs key=value"; EXTRA+=("$2"); shift 2 ;;
      -o*) EXTRA+=("${1#-o}"); shift ;;
      *) die "start: unknown argument '$1'" ;;
    esac
  done
  local kv
  for kv in "${EXTRA[@]}"; do
    [[ $kv =~ ^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*=[^$'\n\t']*$ ]] ||
      die "-o expects key=value (key: names joined by dots), got '$kv'"
    case ${kv%%=*} in
      profile) die "-o profile needs a setting name: profile.SETTING=value" ;;
      path | tmp_path | users_config | http_port | tcp_port | listen_host | logger.log | logger.errorlog)
        die "-o ${kv%%=*} is managed by this script" ;;
    esac
  done

  check_keys
  check_bins
  lock_base
  ensure_traversable
  if [[ -d $DATA && $(stat -c %U "$DATA") != "$CH_OS_USER" ]]; then
    die "$DATA is owned by $(stat -c %U "$DATA"), not $CH_OS_USER; run as that user or: scripts/clickhouse.sh destroy $NAME"
  fi
  make_owned_dir "$INST"

  local running=0
  if is_running; then
    running=1
    PORT=$(<"$PORT_FILE")
    TCP_PORT=$((PORT + TCP_OFFSET))
    if [[ $(render_all) == "$(on_disk)" ]]; then
      write_client_conf
      wait_ready
      (umask 077 && printf '%s' "${SLUICE_TEST_PASSWORD:-$DEFAULT_PASSWORD}" >"$PW_FILE")
      log "'$NAME' already running on 127.0.0.1:$PORT (HTTP) / $TCP_PORT (native)"
      return 0
    fi
    log "settings of '$NAME' changed, restarting"
    stop_server
  elif [[ -f $PID_FILE ]]; then
    log "removing stale pid file $PID_FILE (server was not shut down cleanly)"
    rm -f -- "$PID_FILE"
  fi

  if ((running == 0)); then
    PORT=$(choose_port)
    TCP_PORT=$((PORT + TCP_OFFSET))
  fi
  local d
  for d in "$DATA" "$INST/tmp" "$INST/user_files" "$INST/format_schemas"; do
    make_owned_dir "$d"
  done
  echo "$PORT" >"$PORT_FILE"
  # (config first: render_users may create the admin password)
  admin_password >/dev/null
  render_conf | as_ch tee "$CONF" >/dev/null
  render_users | as_ch tee "$USERS" >/dev/null
  as_ch chmod 600 "$CONF" "$USERS"
  write_client_conf
  as_ch touch "$LOGFILE"

  local from t0=$SECONDS
  from=$(stat -c %s -- "$LOGFILE")
  log "starting '$NAME' on 127.0.0.1:$PORT (HTTP) / $TCP_PORT (native)${EXTRA[*]:+ (${EXTRA[*]})}"
  # setsid: the server gets its own session, and no waiting parent once sh
  # exits; as a background job of a non-interactive sh it is no process group
  # leader, so setsid execs in place and $! is the server's pid (18.16 writes
  # a pid file only with --daemon, which would also send its early stderr to
  # /dev/null). Early stderr (before the logger is set up) goes to the same
  # log. runuser applies the PAM soft limit on open files (often 1024): raise
  # it to the hard limit first (the server asks for the maximum itself, too).
  # shellcheck disable=SC2016 # expanded by sh -c
  if ! (cd "$INST" && as_ch sh -c 'ulimit -n "$(ulimit -Hn)" 2>/dev/null
      pidfile=$1; shift
      setsid "$@" & echo "$!" >"$pidfile"' sh \
    "$PID_FILE" "$SERVER_BIN" --config-file="$CONF" </dev/null >>"$LOGFILE" 2>&1 9>&-); then
    fail_with_log "could not launch $SERVER_BIN" "$from"
  fi
  wait_ready "$from"
  (umask 077 && printf '%s' "${SLUICE_TEST_PASSWORD:-$DEFAULT_PASSWORD}" >"$PW_FILE")
  local version
  version=$(ch_client --query 'SELECT version()' 2>&1) || fail_with_log "SELECT version() failed: $version"
  log "'$NAME' ready in $((SECONDS - t0))s: ClickHouse $version, http://127.0.0.1:$PORT/ and" \
    "clickhouse-client --port $TCP_PORT, user sluice"
}

stop_instance() {
  if [[ ! -f $CONF ]]; then
    log "'$NAME' has no configuration, nothing to stop"
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
  rm -rf -- "$INST"
  log "destroyed '$NAME'"
}

cmd_stop_all() {
  [[ $# -eq 0 ]] || usage
  lock_base
  local d found=0
  for d in "$BASE"/*/; do
    [[ -f $d/config.xml ]] || continue
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
    echo "$NAME: running on 127.0.0.1:$PORT (HTTP) / $TCP_PORT (native), pid $(server_pid), data $DATA"
  else
    echo "$NAME: stopped (ports $PORT / $TCP_PORT, data $DATA)"
    return 3
  fi
}

cmd_env() {
  [[ $# -eq 1 ]] || usage
  check_name "$1"
  set_paths "$1"
  require_instance
  printf 'export CH_HTTP_PORT=%q\n' "$PORT"
  printf 'export CH_TCP_PORT=%q\n' "$TCP_PORT"
  printf 'export CH_HOST=%q\n' 127.0.0.1
  printf 'export CH_USER=%q\n' sluice
  printf 'export CH_PASSWORD=%q\n' "$(password)"
}

cmd_sql() {
  [[ $# -ge 1 ]] || usage
  check_name "$1"
  set_paths "$1"
  shift
  require_instance
  is_running || die "instance '$NAME' is not running (run: scripts/clickhouse.sh start $NAME)"
  ch_client "$@"
}

cmd_createdb() {
  [[ $# -eq 2 ]] || usage
  check_name "$1"
  set_paths "$1"
  local db=$2
  [[ $db =~ ^[A-Za-z_][A-Za-z0-9_]{0,63}$ ]] ||
    die "invalid database name '$db' (use 1-64 chars of [A-Za-z0-9_], not starting with a digit)"
  case ${db,,} in
    system | default) die "refusing to recreate system database '$db'" ;;
  esac
  require_instance
  is_running || die "instance '$NAME' is not running (run: scripts/clickhouse.sh start $NAME)"
  local id
  id=$(sql_ident "$db")
  ch_client --query "DROP DATABASE IF EXISTS $id" || die "could not drop database '$db' on '$NAME'"
  ch_client --query "CREATE DATABASE $id" || die "could not create database '$db' on '$NAME'"
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
