#!/usr/bin/env bash
# A smoke test of the Databricks target against a real workspace, for whoever has one (this
# project's CI cannot reach Databricks; its tests use tests/emulators/databricks). It starts a
# throwaway PostgreSQL (scripts/pg.sh), loads a small table of several types, and runs `sluice
# check`, a snapshot, changes (update, delete, insert, a TOAST value left unchanged, a column
# added), `sluice verify`, into schema sluice_smoke_<pid> of your catalog (left there to look
# at; drop it with DROP SCHEMA ... CASCADE).
#
# Set (else it says what is missing and exits 0 without doing anything):
#   DATABRICKS_HOST (the workspace URL), DATABRICKS_WAREHOUSE_ID, DATABRICKS_CATALOG,
#   DATABRICKS_VOLUME (CATALOG.SCHEMA.VOLUME, writable), and either DATABRICKS_TOKEN (a personal
#   access token) or DATABRICKS_CLIENT_ID and DATABRICKS_CLIENT_SECRET (a service principal).
#
# Usage: scripts/databricks-smoke.sh   (uses $SLUICE, else build-release/sluice, building it when
# missing)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
missing=()
for v in DATABRICKS_HOST DATABRICKS_WAREHOUSE_ID DATABRICKS_CATALOG DATABRICKS_VOLUME; do
	[[ -n ${!v:-} ]] || missing+=("$v")
done
[[ -n ${DATABRICKS_TOKEN:-} || (-n ${DATABRICKS_CLIENT_ID:-} && -n ${DATABRICKS_CLIENT_SECRET:-}) ]] ||
	missing+=("DATABRICKS_TOKEN (or DATABRICKS_CLIENT_ID and DATABRICKS_CLIENT_SECRET)")
if ((${#missing[@]})); then
	echo "databricks-smoke: skipped: set ${missing[*]} to run it against a real workspace"
	exit 0
fi
if [[ -z ${SLUICE:-} ]]; then
	[[ -x build-release/sluice ]] || { cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release >/dev/null && cmake --build build-release -j2 | tail -1; }
	SLUICE=$ROOT/build-release/sluice
fi
SCHEMA=sluice_smoke_$$
WORK=$ROOT/.local/databricks-smoke
rm -rf "$WORK"
mkdir -p "$WORK"

bash scripts/pg.sh start smoke-src --wal-level logical >/dev/null
PORT=$(bash scripts/pg.sh env smoke-src | sed -n 's/^export SL_PG_PORT=//p')
export SL_PG_PASSWORD
SL_PG_PASSWORD=$(bash scripts/pg.sh env smoke-src | sed -n 's/^export SL_PG_PASSWORD=//p')
psql_src() { PGPASSWORD=$SL_PG_PASSWORD psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PORT" -U sluice -d smoke "$@"; }
bash scripts/pg.sh psql smoke-src -qAt -c "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = 'sluice_db_smoke'" >/dev/null
bash scripts/pg.sh createdb smoke-src smoke >/dev/null
psql_src <<'SQL'
DROP TABLE IF EXISTS orders;
CREATE TABLE orders (id int PRIMARY KEY, customer text, amount numeric(12,2), note text,
                     tags int[], doc jsonb, placed timestamptz, day date, flag boolean, raw bytea);
ALTER TABLE orders ALTER COLUMN note SET STORAGE EXTERNAL;
INSERT INTO orders SELECT i, 'c' || i, i * 1.25, repeat(md5(i::text), 100), ARRAY[i, i + 1],
       jsonb_build_object('i', i), now() - i * interval '1 hour', current_date - i, i % 2 = 0,
       decode(md5(i::text), 'hex')
  FROM generate_series(1, 1000) i;
SQL
if [[ -n ${DATABRICKS_TOKEN:-} ]]; then
	CRED="  token: \${DATABRICKS_TOKEN}"
else
	CRED=$'  client_id: ${DATABRICKS_CLIENT_ID}\n  client_secret: ${DATABRICKS_CLIENT_SECRET}'
fi
cat >"$WORK/smoke.yaml" <<YAML
name: db_smoke
source:
  type: postgres
  url: postgres://sluice@127.0.0.1:$PORT/smoke
  password: \${SL_PG_PASSWORD}
target:
  type: databricks
  url: \${DATABRICKS_HOST}
$CRED
  warehouse_id: \${DATABRICKS_WAREHOUSE_ID}
  catalog: \${DATABRICKS_CATALOG}
  schema: $SCHEMA
  volume: \${DATABRICKS_VOLUME}
state: { url: sqlite://$WORK/state.db }
YAML
step() { printf '\n==> %s\n' "$*"; }
step "sluice check"
"$SLUICE" check "$WORK/smoke.yaml"
step "snapshot"
"$SLUICE" run --once "$WORK/smoke.yaml"
"$SLUICE" verify "$WORK/smoke.yaml"
step "changes"
psql_src <<'SQL'
UPDATE orders SET amount = amount + 1 WHERE id <= 100;
UPDATE orders SET customer = 'toast kept' WHERE id = 200;
DELETE FROM orders WHERE id BETWEEN 500 AND 520;
INSERT INTO orders (id, customer, amount) VALUES (5000, 'new', 1);
ALTER TABLE orders ADD COLUMN region text;
UPDATE orders SET region = 'eu' WHERE id < 10;
SQL
"$SLUICE" run --once "$WORK/smoke.yaml"
"$SLUICE" verify "$WORK/smoke.yaml"
step "done: DROP SCHEMA ${DATABRICKS_CATALOG}.$SCHEMA CASCADE when you have looked at it"
