#!/usr/bin/env bash
# OTLP/HTTP export, read by things sluice did not write: `sluice run` (PostgreSQL ->
# PostgreSQL) with the standard OTEL_* variables pushes its metrics to a receiver
# (otlp_receiver.py); protoc (Debian's protobuf-compiler) decodes the protobuf with the message
# definitions of tests/otlp: the resource's attributes, the names, kinds and units, and
# rows_out for the table growing between exports while changes are applied; the headers arrive
# percent-decoded and never reach the log. Then http/json (read by Python's json), a collector
# that answers 503 (one warning, replication unharmed, then "takes metrics again"), and a grpc
# protocol refused with one line.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
command -v protoc >/dev/null || fail "protoc not installed: run scripts/deps.sh"
SDB=it_otlp_src
TDB=it_otlp_dst
fresh_db test-src "$SDB"
fresh_db test-dst "$TDB"
src_sql "$SDB" <<'SQL'
SET ROLE sluice;
CREATE TABLE items (id int PRIMARY KEY, v int);
INSERT INTO items SELECT i, i FROM generate_series(1, 5000) i;
SQL
PIPE=$TMP/otlp.yaml
pipeline_file "$PIPE" it_otlp "$SDB" "$TDB" "apply: { max_delay: 100ms }"
PROTO=$SLUICE_ROOT/tests/otlp
receiver() { # DIR [--fail N]: starts it, sets RPORT
	local log=$1.log
	python3 "$SLUICE_ROOT/tests/integration/otlp_receiver.py" "$@" >"$log" 2>&1 &
	BG_PIDS+=("$!")
	wait_until 10 grep -q ready "$log" || fail "the OTLP receiver did not start: $(cat "$log")"
	RPORT=$(awk '/ready/ {print $2}' "$log")
}
decode() { protoc --decode=sluice_test.otlp.ExportMetricsServiceRequest -I "$PROTO" "$PROTO/otlp_metrics.proto" <"$1"; }
# rows_out of public.items in a decoded export
rows_out() {
	python3 -c 'import re,sys
flat="".join(open(sys.argv[1]).read().split())
m=re.search(r"name:\"rows\.out\".*?(?=metrics\{name:|$)", flat)
pts=re.findall(r"data_points\{(.*?)\}\}\}(?=data_points|aggregation)", m.group(0)) if m else []
print(next((re.search(r"as_int:(-?\d+)", p).group(1) for p in pts if "public.items" in p), ""))' "$1"
}

# ---- protobuf, with headers and resource attributes
receiver "$TMP/pb"
SECRET=k3y$(openssl rand -hex 8)
export OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:$RPORT/ OTEL_METRIC_EXPORT_INTERVAL=300 \
	OTEL_SERVICE_NAME=sluice-ci OTEL_RESOURCE_ATTRIBUTES="deployment.environment=ci,team=data%20eng" \
	OTEL_EXPORTER_OTLP_HEADERS="x-api-key=$SECRET%3D,x-tenant=t1"
sluice_bg "$TMP/run.out" "$TMP/run.err" run "$PIPE"
wait_lines "$TMP/run.err" "streaming changes from slot" 1 60 "the run streams"
assert_contains "$(cat "$TMP/run.err")" "observability: metrics go to http://127.0.0.1:$RPORT/v1/metrics every 300 ms (OTLP, http/protobuf)" "the exporter's line"
sleep 1
first=$(ls "$TMP/pb"/*.bin | tail -1)
decode "$first" >"$TMP/first.txt" || fail "protoc could not decode $first"
before=$(rows_out "$TMP/first.txt")
[[ $before == 5000 ]] || fail "rows.out of public.items after the snapshot: '$before', expected 5000"
for i in $(seq 1 10); do src_sql "$SDB" "UPDATE items SET v = v + 1 WHERE id <= $((i * 10))"; done
wait_sql test-dst "$TDB" "SELECT sum(v) FROM items WHERE id <= 100" "$(src_sql "$SDB" 'SELECT sum(v) FROM items WHERE id <= 100')" "the changes applied"
sleep 1
last=$(ls "$TMP/pb"/*.bin | tail -1)
decode "$last" >"$TMP/last.txt" || fail "protoc could not decode $last"
after=$(rows_out "$TMP/last.txt")
((after == 5000 + 550)) || fail "rows.out of public.items after 10 updates of 10..100 rows: '$after', expected 5550"
flat=$(tr -d ' \n' <"$TMP/last.txt")
assert_contains "$flat" 'resource{attributes{key:"service.name"value{string_value:"sluice-ci"}}attributes{key:"deployment.environment"value{string_value:"ci"}}attributes{key:"team"value{string_value:"dataeng"}}}' "the resource's attributes (percent-decoded)"
assert_contains "$flat" 'metrics{name:"rows.in"description:"Rowsreadfromthesource"unit:"1"sum{' "rows.in: a sum"
assert_contains "$flat" 'metrics{name:"latency.total"description:' "latency.total"
assert_contains "$flat" 'unit:"s"histogram{' "latency.total: a histogram in seconds"
assert_contains "$flat" 'metrics{name:"process.memory.usage"description:"Residentmemoryoftheprocess"unit:"By"sum{' "process.memory.usage: an up-down sum in bytes"
assert_contains "$flat" 'aggregation_temporality:AGGREGATION_TEMPORALITY_CUMULATIVEis_monotonic:true' "counters are monotonic cumulative sums"
assert_contains "$(cat "$TMP/pb"/*.headers | head -20)" "x-api-key: $SECRET=" "the header, percent-decoded"
assert_contains "$(cat "$TMP/pb"/*.headers | head -20)" "Content-Type: application/x-protobuf" "the content type"
kill -TERM "$SL_PID"
wait "$SL_PID" || fail "the run exited $? after SIGTERM"
assert_not_contains "$(cat "$TMP/run.out" "$TMP/run.err")" "$SECRET" "the header's value is in no log"

# ---- http/json
receiver "$TMP/js"
export OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:$RPORT OTEL_EXPORTER_OTLP_PROTOCOL=http/json
src_sql "$SDB" "UPDATE items SET v = v + 1 WHERE id <= 5"
sluice_ok run --once "$PIPE"
js=$(ls "$TMP/js"/*.json | tail -1)
got=$(python3 -c 'import json,sys
d=json.load(open(sys.argv[1]))
m={x["name"]: x for x in d["resourceMetrics"][0]["scopeMetrics"][0]["metrics"]}
p=[p for p in m["rows.in"]["sum"]["dataPoints"] if any(a["value"]["stringValue"]=="public.items" for a in p["attributes"])][0]
print(m["rows.in"]["sum"]["isMonotonic"], m["rows.in"]["sum"]["aggregationTemporality"], p["asInt"], "gauge" in m["process.cpu.utilization"])' "$js") ||
	fail "Python could not read the JSON export"
assert_eq "True 2 5 True" "$got" "OTLP/JSON: rows.in of the run (5 changes), kinds"

# ---- a collector answering 503: one warning, the run unharmed, then it takes metrics again
receiver "$TMP/fail" --fail 3
export OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:$RPORT OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf
sluice_bg "$TMP/f.out" "$TMP/f.err" run "$PIPE"
wait_lines "$TMP/f.err" "takes metrics again" 1 30 "the collector answers again"
assert_eq 1 "$(grep -c 'does not take metrics (HTTP 503)' "$TMP/f.err")" "one warning for three failures"
src_sql "$SDB" "UPDATE items SET v = v + 1 WHERE id = 1"
wait_sql test-dst "$TDB" "SELECT v FROM items WHERE id = 1" "$(src_sql "$SDB" 'SELECT v FROM items WHERE id = 1')" "changes applied meanwhile"
kill -TERM "$SL_PID"
wait "$SL_PID" || fail "the run exited $? after SIGTERM"

# ---- grpc: refused
OTEL_EXPORTER_OTLP_PROTOCOL=grpc sluice run --once "$PIPE"
((SL_RC != 0)) || fail "grpc was accepted"
assert_contains "$SL_ERR" "OTEL_EXPORTER_OTLP_PROTOCOL=grpc: sluice sends OTLP over HTTP, as http/protobuf (the default) or http/json" "grpc's one line"
pass
