#!/usr/bin/env bash
# observability.listen, read by things sluice did not write: while `sluice run` copies and then
# streams PostgreSQL -> PostgreSQL, /healthz answers, /readyz says "snapshot in progress" (503)
# and then "ready" (200), /metrics passes `promtool check metrics`, and a real Prometheus
# (Debian's) scrapes it with the bearer token: its query API returns rows_out_total for the
# table equal to the rows copied, then growing with the changes, latency_total_seconds
# counting the transactions, and the process metrics. Without the token /metrics is 401; a
# listen address off loopback without a token is refused with one line; the token is in no
# output.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
command -v prometheus >/dev/null && command -v promtool >/dev/null || fail "prometheus not installed: run scripts/deps.sh"

SDB=it_obs_src
TDB=it_obs_dst
fresh_db test-src "$SDB"
fresh_db test-dst "$TDB"
src_sql "$SDB" <<'SQL'
SET ROLE sluice;
CREATE TABLE items (id int PRIMARY KEY, v int, pad text);
INSERT INTO items SELECT i, i, repeat('x', 200) FROM generate_series(1, 300000) i;
SQL
PORT=$(sf_free_port)
TOKEN=obs$(openssl rand -hex 12)
export OBS_TOKEN=$TOKEN
PIPE=$TMP/obs.yaml
pipeline_file "$PIPE" it_obs "$SDB" "$TDB" "snapshot: { parallelism: 1, chunk_size: 1MiB }" \
	"observability: { listen: \"127.0.0.1:$PORT\", token: \"\${OBS_TOKEN}\" }" "apply: { max_delay: 100ms }"

# ---- off loopback without a token: refused before anything runs
sed "s|listen: \"127.0.0.1:$PORT\", token: \"\${OBS_TOKEN}\"|listen: \"0.0.0.0:$PORT\"|" "$PIPE" >"$TMP/open.yaml"
sluice run --once "$TMP/open.yaml"
((SL_RC != 0)) || fail "a listener on 0.0.0.0 without a token started"
assert_contains "$SL_ERR" "observability.listen: 0.0.0.0:$PORT is not a loopback address, so observability.token is required" "the refusal's one line"

# ---- the run: probes during the snapshot, then while streaming
URL=http://127.0.0.1:$PORT
sluice_bg "$TMP/run.out" "$TMP/run.err" run "$PIPE"
wait_until 30 curl -sf "$URL/healthz" -o /dev/null || fail "/healthz did not answer: $(tail -5 "$TMP/run.err")"
assert_eq ok "$(curl -sS "$URL/healthz")" "/healthz"
saw_snapshot=0 status_snapshot=""
for _ in $(seq 1 1200); do
	body=$(curl -sS -w ' %{http_code}' "$URL/readyz" | tr -d '\n')
	if [[ $body == *"snapshot in progress"*" 503" ]]; then
		saw_snapshot=1
		# (the chunks are counted a moment after the phase starts)
		[[ -n $status_snapshot && $status_snapshot != *'"chunks_total":0,'* ]] ||
			status_snapshot=$(curl -sS -H "Authorization: Bearer $TOKEN" "$URL/api/v1/status")
	fi
	[[ $body == "ready 200" ]] && break
	sleep 0.05
done
((saw_snapshot)) || fail "/readyz never said the snapshot was in progress (last: $body)"
assert_eq "ready 200" "$body" "/readyz once changes stream"

# /api/v1/status during the snapshot and while streaming, read by Python's json
st_get() { curl -sS -H "Authorization: Bearer $TOKEN" "$URL/api/v1/status"; }
got=$(python3 -c 'import json,sys
d=json.loads(sys.argv[1])
t=[x for x in d["snapshot"]["tables"] if x["table"]=="public.items"][0]
print(d["pipeline"], d["source"], d["target"], d["phase"], t["state"] in ("waiting","loading","done"), d["snapshot"]["chunks_total"] > 1)' "$status_snapshot") ||
	fail "/api/v1/status during the snapshot is not what was expected: $status_snapshot"
assert_eq "it_obs postgres postgres snapshot True True" "$got" "/api/v1/status during the snapshot"
assert_eq 401 "$(curl -sS -o /dev/null -w '%{http_code}' "$URL/api/v1/status")" "/api/v1/status without the token"
assert_eq 401 "$(curl -sS -o /dev/null -w '%{http_code}' "$URL/metrics")" "/metrics without the token"
assert_eq 401 "$(curl -sS -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer wrong' "$URL/metrics")" "/metrics with another token"
curl -sS -H "Authorization: Bearer $TOKEN" "$URL/metrics" >"$TMP/metrics.txt"
promtool check metrics <"$TMP/metrics.txt" >"$TMP/promtool.out" 2>&1 || fail "promtool check metrics: $(head -5 "$TMP/promtool.out")"
ASSERTS=$((ASSERTS + 1))
assert_contains "$(cat "$TMP/metrics.txt")" 'rows_out_total{pipeline="it_obs",source="postgres",target="postgres",table="public.items"} 300000' "the snapshot's rows out"

# ---- Prometheus scrapes it
PPORT=$(sf_free_port)
mkdir -p "$TMP/prom"
printf '%s' "$TOKEN" >"$TMP/prom/token"
cat >"$TMP/prom/prometheus.yml" <<YAML
global: { scrape_interval: 1s, evaluation_interval: 1s }
scrape_configs:
  - job_name: sluice
    authorization: { credentials_file: $TMP/prom/token }
    static_configs: [{ targets: ["127.0.0.1:$PORT"] }]
YAML
promtool check config "$TMP/prom/prometheus.yml" >/dev/null || fail "promtool check config failed"
prometheus --config.file="$TMP/prom/prometheus.yml" --storage.tsdb.path="$TMP/prom/data" \
	--web.listen-address="127.0.0.1:$PPORT" >"$TMP/prom/log" 2>&1 &
BG_PIDS+=("$!")
pq() { # PROMQL: the first sample's value, or nothing
	curl -sS --get --data-urlencode "query=$1" "http://127.0.0.1:$PPORT/api/v1/query" 2>/dev/null |
		python3 -c 'import json,sys
d=json.load(sys.stdin)
r=d.get("data",{}).get("result",[])
print(r[0]["value"][1] if r else "")' 2>/dev/null
}
has_value() { [[ "$(pq "$1")" == "$2" ]]; }
wait_until 60 has_value 'rows_out_total{table="public.items",job="sluice"}' 300000 ||
	fail "Prometheus did not scrape rows_out_total 300000 (got '$(pq 'rows_out_total{table="public.items"}')'; $(tail -3 "$TMP/prom/log"))"
ASSERTS=$((ASSERTS + 1))
assert_eq 1 "$(pq 'up{job="sluice"}')" "Prometheus's up for the target"

# changes: the counters grow, each transaction's latency counted
for i in $(seq 1 20); do src_sql "$SDB" "UPDATE items SET v = v + 1 WHERE id BETWEEN $((i * 100)) AND $((i * 100 + 49))"; done
wait_until 60 has_value 'rows_out_total{table="public.items",job="sluice"}' 301000 ||
	fail "rows_out_total did not reach 301000 (got '$(pq 'rows_out_total{table="public.items"}')')"
ASSERTS=$((ASSERTS + 1))
# each transaction in every latency histogram (a scrape may fall between a transaction's
# receipt and its commit: wait for one after both)
lat_counts() {
	local h
	for h in total in out in_process out_process; do
		printf '%s ' "$(pq "latency_${h}_seconds_count{job=\"sluice\"}")"
	done
}
lat_same() { local a; read -ra a <<<"$(lat_counts)"; ((${#a[@]} == 5 && a[0] >= 20)) && [[ "${a[*]}" == "${a[0]} ${a[0]} ${a[0]} ${a[0]} ${a[0]}" ]]; }
wait_until 20 lat_same || fail "latency_{total,in,out,in_process,out_process}_seconds_count are '$(lat_counts)': expected the same count, at least 20 transactions"
ASSERTS=$((ASSERTS + 1))
n=$(pq 'latency_total_seconds_count{job="sluice"}')
# the parts no longer than the whole; in + out is the total (one clock, the same instants)
awk -v t="$(pq 'latency_total_seconds_sum{job="sluice"}')" -v i="$(pq 'latency_in_seconds_sum{job="sluice"}')" \
	-v o="$(pq 'latency_out_seconds_sum{job="sluice"}')" -v p="$(pq 'latency_out_process_seconds_sum{job="sluice"}')" \
	-v n="$n" 'BEGIN { d = i + o - t; exit !(t > 0 && i <= t && o <= t && p <= o && d < 0.001 * n && -d < 0.001 * n) }' ||
	fail "the latency sums do not add up: total $(pq 'latency_total_seconds_sum'), in $(pq 'latency_in_seconds_sum'), out $(pq 'latency_out_seconds_sum'), out.process $(pq 'latency_out_process_seconds_sum')"
t=$(pq 'runtime_transactions_total{job="sluice"}')
((t == n)) || fail "runtime_transactions_total is '$t', latency_total_seconds_count $n"
g=$(pq 'runtime_groups_total{job="sluice"}')
((g >= 1 && g <= t)) || fail "runtime_groups_total is '$g' for $t transactions"
[[ -n $(pq 'runtime_queue_depth_bytes{queue="changes",job="sluice"}') ]] || fail "no runtime_queue_depth_bytes for the changes queue"
ASSERTS=$((ASSERTS + 5))
rss=$(pq 'process_memory_usage_bytes{job="sluice"}')
((${rss%.*} > 1000000)) || fail "process_memory_usage_bytes is '$rss'"
assert_eq 100 "$(pq 'progress_snapshot_percent{job="sluice"}')" "progress.snapshot after the snapshot"
src_sql "$SDB" "UPDATE items SET v = v WHERE id = 1"
sleep 1
got=$(python3 -c 'import json,sys
d=json.loads(sys.argv[1])
c=d["changes"]
print(d["phase"], "/" in c["position"], 0 <= c.get("lag_seconds", -1) < 60, isinstance(d["recent"], list))' "$(st_get)") ||
	fail "/api/v1/status while streaming: $(st_get)"
assert_eq "changes True True True" "$got" "/api/v1/status while streaming"
# idle: caught up, so no lag however old the last commit; the history's samples (one per 5 s)
# count the rows written, never going back
sleep 6
got=$(python3 -c 'import json,sys,time
d=json.loads(sys.argv[1])
c=d["changes"]
s=d["history"]["samples"]
rows=[x[1] for x in s]
print(c["caught_up"], c["lag_seconds"], time.time() - c["last_commit_us"] / 1e6 > 4,
      len(s) >= 3, rows == sorted(rows), rows[-1] >= 301001, s[-1][2])' "$(st_get)") ||
	fail "/api/v1/status when idle: $(st_get)"
assert_eq "True 0.0 True True True True 0.0" "$got" "/api/v1/status when idle (caught up, history)"
wait_until 20 has_value 'lag_seconds{job="sluice"}' 0 || fail "the lag gauge is '$(pq 'lag_seconds{job="sluice"}')', not 0 when idle"
ASSERTS=$((ASSERTS + 1))
# behind: a session on the target holds the table, so a change is received but cannot be
# applied; the status says not caught up, with the lag counted from that change's commit
dst_sql "$TDB" "BEGIN; LOCK TABLE items IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(6); COMMIT" >/dev/null &
LOCKER=$!
sleep 1
src_sql "$SDB" "UPDATE items SET v = v + 1 WHERE id = 7"
sleep 3
got=$(python3 -c 'import json,sys
c=json.loads(sys.argv[1])["changes"]
print(c["caught_up"], 2 <= c["lag_seconds"] < 9)' "$(st_get)") || fail "/api/v1/status while blocked: $(st_get)"
assert_eq "False True" "$got" "/api/v1/status while a change waits on the target (caught_up, lag 2-9 s: from that change, not the one before)"
wait "$LOCKER" || fail "the locking session failed"
wait_until 20 bash -c "curl -sS -H 'Authorization: Bearer $TOKEN' '$URL/api/v1/status' | grep -q '\"caught_up\":true'" ||
	fail "not caught up after the lock went: $(st_get)"
# the WAL the slot holds, as PostgreSQL itself reports it (read 10 s into streaming)
has_retained() { [[ -n "$(pq 'source_log_retained_bytes{job="sluice"}')" ]]; }
wait_until 30 has_retained || fail "no source_log_retained_bytes"
r_agent=$(pq 'source_log_retained_bytes{job="sluice"}')
r_pg=$(src_sql postgres "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn) FROM pg_replication_slots WHERE slot_name = 'sluice_it_obs'")
awk -v a="${r_agent%.*}" -v p="$r_pg" 'BEGIN { d = p - a; exit !(a >= 0 && p >= 0 && d < 64 * 1024 * 1024 && -d < 64 * 1024 * 1024) }' ||
	fail "source_log_retained_bytes is $r_agent; PostgreSQL says the slot holds $r_pg bytes"
# the warnings logged, counted (one off-loopback refusal was another process; this one: none)
assert_eq 0 "$(pq 'log_messages_total{level="error",job="sluice"}')" "log_messages_total for errors"
ASSERTS=$((ASSERTS + 1))
kill -TERM "$SL_PID"
wait "$SL_PID" || fail "the run exited $? after SIGTERM"
compare_table test-src "$SDB" test-dst "$TDB" public items

# ---- observability.metrics: false: the run works without a registry (and OTLP is ignored)
src_sql "$SDB" "UPDATE items SET v = v + 1 WHERE id <= 10"
sed "s|observability: .*|observability: { metrics: false }|" "$PIPE" >"$TMP/off.yaml"
OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:1 sluice run --once "$TMP/off.yaml"
((SL_RC == 0)) || fail "run --once with metrics off exited $SL_RC: $SL_ERR"
assert_contains "$SL_ERR" "observability.metrics is false: OTEL_EXPORTER_OTLP_* is ignored" "the warning"
compare_table test-src "$SDB" test-dst "$TDB" public items
assert_not_contains "$(cat "$TMP/run.out" "$TMP/run.err")$SL_OUT$SL_ERR" "$TOKEN" "the token is in no output"
pass
