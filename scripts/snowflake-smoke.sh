#!/usr/bin/env bash
# A smoke test of the Snowflake target against a real account, for whoever has one (this
# project's CI cannot reach Snowflake; its tests use tests/emulators/snowflake). It starts a
# throwaway PostgreSQL (scripts/pg.sh), loads a small table of several types, and runs `sluice
# check`, a snapshot, changes (update, delete, insert, a TOAST value left unchanged), `sluice
# verify`, into schema SLUICE_SMOKE_<pid> of your database (left there to look at; drop it).
#
# Set (else it says what is missing and exits 0 without doing anything):
#   SNOWFLAKE_ACCOUNT, SNOWFLAKE_USER, SNOWFLAKE_PRIVATE_KEY_FILE, SNOWFLAKE_DATABASE,
#   SNOWFLAKE_WAREHOUSE, SNOWFLAKE_ROLE, SNOWFLAKE_STAGE (s3://bucket/prefix), and AWS
#   credentials that can write the stage (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION);
#   optionally SNOWFLAKE_PRIVATE_KEY_PASSPHRASE, SNOWFLAKE_STORAGE_INTEGRATION.
#
# Usage: scripts/snowflake-smoke.sh   (uses build-release/sluice, building it when missing)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
missing=()
for v in SNOWFLAKE_ACCOUNT SNOWFLAKE_USER SNOWFLAKE_PRIVATE_KEY_FILE SNOWFLAKE_DATABASE \
	SNOWFLAKE_WAREHOUSE SNOWFLAKE_ROLE SNOWFLAKE_STAGE AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY; do
	[[ -n ${!v:-} ]] || missing+=("$v")
done
if ((${#missing[@]})); then
	echo "snowflake-smoke: skipped: set ${missing[*]} to run it against a real account"
	exit 0
fi
[[ -x build-release/sluice ]] || { cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release >/dev/null && cmake --build build-release -j2 | tail -1; }
SLUICE=$ROOT/build-release/sluice
SCHEMA=sluice_smoke_$$
WORK=$ROOT/.local/snowflake-smoke
rm -rf "$WORK"
mkdir -p "$WORK"

bash scripts/pg.sh start smoke-src --wal-level logical >/dev/null
PORT=$(bash scripts/pg.sh env smoke-src | sed -n 's/^export SL_PG_PORT=//p')
export SL_PG_PASSWORD
SL_PG_PASSWORD=$(bash scripts/pg.sh env smoke-src | sed -n 's/^export SL_PG_PASSWORD=//p')
psql_src() { PGPASSWORD=$SL_PG_PASSWORD psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PORT" -U sluice -d smoke "$@"; }
bash scripts/pg.sh psql smoke-src -qAt -c "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = 'sluice_sf_smoke'" >/dev/null
bash scripts/pg.sh createdb smoke-src smoke >/dev/null
psql_src <<'SQL'
CREATE TABLE orders (id int PRIMARY KEY, customer text, amount numeric(12,2), note text,
                     tags int[], doc jsonb, placed timestamptz, day date, flag boolean, raw bytea);
ALTER TABLE orders ALTER COLUMN note SET STORAGE EXTERNAL;
INSERT INTO orders SELECT i, 'c' || i, i * 1.25, repeat(md5(i::text), 100), ARRAY[i, i + 1],
       jsonb_build_object('i', i), now() - i * interval '1 hour', current_date - i, i % 2 = 0,
       decode(md5(i::text), 'hex')
  FROM generate_series(1, 1000) i;
SQL
cat >"$WORK/smoke.yaml" <<YAML
name: sf_smoke
source:
  type: postgres
  url: postgres://sluice@127.0.0.1:$PORT/smoke
  password: \${SL_PG_PASSWORD}
target:
  type: snowflake
  account: \${SNOWFLAKE_ACCOUNT}
  user: \${SNOWFLAKE_USER}
  private_key_file: \${SNOWFLAKE_PRIVATE_KEY_FILE}
$([[ -n ${SNOWFLAKE_PRIVATE_KEY_PASSPHRASE:-} ]] && echo "  private_key_passphrase: \${SNOWFLAKE_PRIVATE_KEY_PASSPHRASE}")
$([[ -n ${SNOWFLAKE_STORAGE_INTEGRATION:-} ]] && echo "  storage_integration: \${SNOWFLAKE_STORAGE_INTEGRATION}")
  database: \${SNOWFLAKE_DATABASE}
  schema: $SCHEMA
  warehouse: \${SNOWFLAKE_WAREHOUSE}
  role: \${SNOWFLAKE_ROLE}
  stage: \${SNOWFLAKE_STAGE}
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
DELETE FROM orders WHERE id BETWEEN 500 AND 520;
INSERT INTO orders (id, customer, amount) VALUES (5000, 'new', 1);
UPDATE orders SET id = 7000 WHERE id = 7;
SQL
"$SLUICE" run --once "$WORK/smoke.yaml"
"$SLUICE" verify "$WORK/smoke.yaml"
step "done: drop schema ${SCHEMA^^} of ${SNOWFLAKE_DATABASE} when you have looked at it"
