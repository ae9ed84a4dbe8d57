#!/usr/bin/env bash
# Threads that cannot be started: sluice runs with a stack limit larger than the machine's
# memory, so every pthread_create fails (glibc maps each thread's stack at the size of the
# stack limit; the kernel refuses a mapping larger than RAM + swap). The snapshot (its first
# reader thread) and CDC (its stream reader thread) must each stop with one clear error naming
# the thread, without waiting or joining a thread that never started; a run with the normal
# limit then completes and the target equals the source.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

if [[ $(</proc/sys/vm/overcommit_memory) == 1 ]]; then
	# "always overcommit": the oversized stacks would be granted; nothing to inject
	log "vm.overcommit_memory is 1: thread start failures cannot be provoked here; skipped"
	pass
	exit 0
fi
mem_kb=$(awk '/^(MemTotal|SwapTotal):/ { s += $2 } END { print s }' /proc/meminfo)
BIG_STACK_KB=$((mem_kb * 4))

SDB=it_thr_src
TDB=it_thr_dst
fresh_db test-src "$SDB"
fresh_db test-dst "$TDB"
src_sql "$SDB" <<'SQL'
SET ROLE sluice;
CREATE TABLE t (id int PRIMARY KEY, v text);
INSERT INTO t SELECT i, 'row ' || i FROM generate_series(1, 1000) i;
SQL
PIPE=$TMP/thr.yaml
pipeline_file "$PIPE" it_thr "$SDB" "$TDB"

# sluice_limited ARGS...: sluice under the oversized stack limit (a hang fails in 60 s)
LIMITED=$TMP/sluice-limited.sh
printf '#!/usr/bin/env bash\nulimit -S -s %s || exit 99\nexec %q "$@"\n' \
	"$BIG_STACK_KB" "$SLUICE_BIN" >"$LIMITED"
chmod +x "$LIMITED"
sluice_limited() {
	local bin=$SLUICE_BIN
	SLUICE_BIN=$LIMITED SLUICE_CMD_TIMEOUT=60 sluice "$@"
	SLUICE_BIN=$bin
}

sluice_limited run --once "$PIPE"
assert_sluice_error 1 "cannot start" "snapshot reader thread"
log "$SL_ERRLINE"
assert_not_contains "$SL_ERR" "AddressSanitizer" "no sanitizer report"

sluice_ok run --once "$PIPE"
compare_table test-src "$SDB" test-dst "$TDB" public t

src_sql "$SDB" "UPDATE t SET v = 'changed' WHERE id <= 10; DELETE FROM t WHERE id > 990"
sluice_limited run --once "$PIPE"
assert_sluice_error 1 "cannot start" "change stream reader thread"
log "$SL_ERRLINE"
assert_not_contains "$SL_ERR" "AddressSanitizer" "no sanitizer report"

sluice_ok run --once "$PIPE"
compare_table test-src "$SDB" test-dst "$TDB" public t
pass
