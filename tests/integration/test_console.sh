#!/usr/bin/env bash
# The console page (observability.listen's /), loaded by headless Chromium (Debian's, its own
# --headless --dump-dom and --screenshot): during the snapshot it shows the pipeline, the phase
# "snapshot" and the table with its chunks; while changes stream, the phase "changes", the
# position applied and a throughput figure. Screenshots of both are kept in
# .local/artifacts/ for a look.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
command -v chromium >/dev/null || fail "chromium not installed: run scripts/deps.sh"
SDB=it_console_src
TDB=it_console_dst
fresh_db test-src "$SDB"
fresh_db test-dst "$TDB"
src_sql "$SDB" <<'SQL'
SET ROLE sluice;
CREATE TABLE items (id int PRIMARY KEY, v int, pad text);
INSERT INTO items SELECT i, i, repeat('x', 300) FROM generate_series(1, 600000) i;
SQL
PORT=$(sf_free_port)
PIPE=$TMP/console.yaml
pipeline_file "$PIPE" it_console "$SDB" "$TDB" "snapshot: { parallelism: 1, chunk_size: 1MiB }" \
	"observability: { listen: \"127.0.0.1:$PORT\" }" "apply: { max_delay: 100ms }"
URL=http://127.0.0.1:$PORT
ART=$SLUICE_ROOT/.local/artifacts
mkdir -p "$ART"
page() { # OUT: the DOM after the page's first fetches
	timeout 60 chromium --headless --no-sandbox --disable-gpu --virtual-time-budget=4000 \
		--dump-dom "$URL/" >"$1" 2>"$TMP/chromium.err" || fail "chromium failed: $(tail -3 "$TMP/chromium.err")"
}
shot() {
	timeout 60 chromium --headless --no-sandbox --disable-gpu --virtual-time-budget=4000 \
		--window-size=1280,900 --screenshot="$1" "$URL/" >/dev/null 2>&1 || fail "chromium --screenshot failed"
	[[ -s $1 ]] || fail "no screenshot in $1"
}
sluice_bg "$TMP/run.out" "$TMP/run.err" run "$PIPE"
wait_until 30 curl -sf "$URL/healthz" -o /dev/null || fail "the listener did not answer"
wait_until 30 bash -c "curl -sS '$URL/readyz' | grep -q 'snapshot in progress'" || fail "never saw the snapshot in progress"
page "$TMP/snap.html"
shot "$ART/console-snapshot.png"
dom=$(cat "$TMP/snap.html")
assert_contains "$dom" "it_console: postgres → postgres" "the pipeline, source and target"
assert_contains "$dom" '<span id="phase" class="snapshot">snapshot</span>' "the phase during the snapshot"
assert_contains "$dom" "public.items" "the table"
assert_contains "$dom" "chunks loaded" "the chunks"
wait_until 120 bash -c "curl -sS '$URL/readyz' | grep -q ready" || fail "the run never became ready"
for i in $(seq 1 5); do src_sql "$SDB" "UPDATE items SET v = v + 1 WHERE id <= $((i * 1000))"; done
page "$TMP/cdc.html"
shot "$ART/console-changes.png"
dom=$(cat "$TMP/cdc.html")
assert_contains "$dom" '<span id="phase" class="changes">changes</span>' "the phase while streaming"
assert_contains "$dom" "applied up to " "the position"
assert_contains "$dom" "done: changes are applying" "the snapshot section once done"
# once idle: "caught up", a rate from the agent's samples (rows written between two of them)
wait_until 20 bash -c "curl -sS '$URL/api/v1/status' | grep -q '\"caught_up\":true'" || fail "never caught up"
page "$TMP/idle.html"
dom=$(cat "$TMP/idle.html")
assert_contains "$dom" '<div class="big" id="lag">caught up</div>' "the lag once idle"
[[ $dom =~ id=\"rate\"\>([0-9,]+)\ rows/s ]] || fail "no rate on the page: $(grep -o 'id="rate"[^<]*' <<<"$dom")"
ASSERTS=$((ASSERTS + 1))
kill -TERM "$SL_PID"
wait "$SL_PID" || fail "the run exited $? after SIGTERM"
log "screenshots: $ART/console-snapshot.png $ART/console-changes.png"
pass
