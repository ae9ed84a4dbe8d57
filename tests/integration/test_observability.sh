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
saw_snapshot=0
for _ in $(seq 1 1200); do
	body=$(curl -sS -w ' %{http_code}' "$URL/readyz" | tr -d '\n')
	if [[ $body == *"snapshot in progress"*" 503" ]]; then saw_snapshot=1; fi
	[[ $body == "ready 200" ]] && break
	sleep 0.05
done
((saw_snapshot)) || fail "/readyz never said the snapshot was in progress (last: $body)"
assert_eq "ready 200" "$body" "/readyz once changes stream"

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
n=$(pq 'latency_total_seconds_count{job="sluice"}')
((n >= 20)) || fail "latency_total_seconds_count is '$n', expected at least 20 transactions"
rss=$(pq 'process_memory_usage_bytes{job="sluice"}')
((${rss%.*} > 1000000)) || fail "process_memory_usage_bytes is '$rss'"
assert_eq 100 "$(pq 'progress_snapshot_percent{job="sluice"}')" "progress.snapshot after the snapshot"
kill -TERM "$SL_PID"
wait "$SL_PID" || fail "the run exited $? after SIGTERM"
compare_table test-src "$SDB" test-dst "$TDB" public items
assert_not_contains "$(cat "$TMP/run.out" "$TMP/run.err")$SL_OUT$SL_ERR" "$TOKEN" "the token is in no output"
pass
