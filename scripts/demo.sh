#!/usr/bin/env bash
# `make demo`: build sluice, start a throwaway source and target PostgreSQL on private loopback
# ports, load pgbench data plus a table with many types, snapshot it with sluice (live progress),
# verify, and print where the data is. Safe to run again: it starts from scratch each time.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
SCALE=${DEMO_SCALE:-10}

say() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

say "Installing dependencies and building sluice"
bash scripts/deps.sh
cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build-release -j"$(nproc 2>/dev/null || echo 2)" | tail -1
SLUICE=$ROOT/build-release/sluice

say "Starting throwaway servers: demo-src (wal_level=logical) and demo-dst"
bash scripts/pg.sh start demo-src --wal-level logical
bash scripts/pg.sh start demo-dst --wal-level replica
SRC_PORT=$(bash scripts/pg.sh env demo-src | sed -n 's/^export SL_PG_PORT=//p')
DST_PORT=$(bash scripts/pg.sh env demo-dst | sed -n 's/^export SL_PG_PORT=//p')
export SL_PG_PASSWORD
SL_PG_PASSWORD=$(bash scripts/pg.sh env demo-src | sed -n 's/^export SL_PG_PASSWORD=//p')

DEMO=$ROOT/.local/demo
rm -rf "$DEMO"
mkdir -p "$DEMO"
# a slot left by an earlier demo would keep the database from being dropped
bash scripts/pg.sh psql demo-src -qAt -c "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = 'sluice_shop'" >/dev/null
bash scripts/pg.sh createdb demo-src shop
bash scripts/pg.sh createdb demo-dst warehouse

say "Loading sample data: pgbench scale $SCALE ($((SCALE * 100000)) accounts) and inventory.products (many types)"
PGPASSWORD=$SL_PG_PASSWORD pgbench -i -q -s "$SCALE" -h 127.0.0.1 -p "$SRC_PORT" -U sluice shop 2>&1 | tail -1
PGPASSWORD=$SL_PG_PASSWORD psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$SRC_PORT" -U sluice -d shop -f scripts/demo-data.sql

cat >"$DEMO/shop.yaml" <<YAML
# The demo pipeline: every table of database "shop" into database "warehouse".
name: shop
source:
  type: postgres
  url: postgres://sluice@127.0.0.1:$SRC_PORT/shop
  password: \${SL_PG_PASSWORD}
target:
  type: postgres
  url: postgres://sluice@127.0.0.1:$DST_PORT/warehouse
  password: \${SL_PG_PASSWORD}
snapshot: { parallelism: 2 }
state: { url: sqlite://$DEMO/sluice-state.db }
YAML

say "sluice check $DEMO/shop.yaml"
"$SLUICE" check "$DEMO/shop.yaml"

say "sluice discover (the many-types table)"
"$SLUICE" discover "$DEMO/shop.yaml" 2>/dev/null | sed -n '/^inventory.products/,/^[a-z]/p' | sed '$d'

say "sluice run --once $DEMO/shop.yaml"
"$SLUICE" run --once "$DEMO/shop.yaml"

say "Changes on the source while sluice streams: pgbench for 10 s, plus an update, a delete and a new column"
"$SLUICE" run "$DEMO/shop.yaml" 2>"$DEMO/stream.log" &
STREAM=$!
PGPASSWORD=$SL_PG_PASSWORD pgbench -n -c 2 -T 10 -h 127.0.0.1 -p "$SRC_PORT" -U sluice shop 2>&1 | grep -E "^(number of transactions actually|tps)" || true
PGPASSWORD=$SL_PG_PASSWORD psql -X -q -h 127.0.0.1 -p "$SRC_PORT" -U sluice -d shop <<'SQL'
ALTER TABLE inventory.products ADD COLUMN discontinued boolean;
UPDATE inventory.products SET discontinued = true, price = price * 2 WHERE id <= 3;
DELETE FROM inventory.products WHERE id = 5;
SQL
sleep 2
kill -TERM "$STREAM"
wait "$STREAM" || true
grep -E "cdc:|streaming|adding column" "$DEMO/stream.log" | sed 's/^/  /'

say "sluice status $DEMO/shop.yaml"
"$SLUICE" status "$DEMO/shop.yaml" | head -8

say "sluice verify $DEMO/shop.yaml"
"$SLUICE" verify "$DEMO/shop.yaml"

say "The copy, in the target database"
PGPASSWORD=$SL_PG_PASSWORD psql -X -h 127.0.0.1 -p "$DST_PORT" -U sluice -d warehouse -c \
  "SELECT id, name, price, status, tags, discontinued, updated_at, warranty, sizes FROM inventory.products ORDER BY id LIMIT 5"

say "MariaDB -> PostgreSQL: a throwaway MariaDB (demo-mysql, binlog ROW/FULL/FULL) with a small store"
bash scripts/mysql.sh start demo-mysql
MY_PORT=$(bash scripts/mysql.sh env demo-mysql | sed -n 's/^export MYSQL_PORT=//p')
export SL_MY_PASSWORD
SL_MY_PASSWORD=$(bash scripts/mysql.sh env demo-mysql | sed -n 's/^export MYSQL_PASSWORD=//p')
bash scripts/mysql.sh createdb demo-mysql sluice_store >/dev/null
bash scripts/mysql.sh sql demo-mysql sluice_store <<'SQL'
CREATE TABLE customers (id int unsigned PRIMARY KEY, name varchar(80), tier enum('basic','gold'),
  flags set('newsletter','vip','beta'), signed_up datetime(6), prefs json);
CREATE TABLE orders (id bigint unsigned AUTO_INCREMENT PRIMARY KEY, customer int unsigned,
  total decimal(14,2), placed timestamp(6) DEFAULT CURRENT_TIMESTAMP(6), slot time, paid bit(1));
INSERT INTO customers SELECT seq, CONCAT('customer ', seq), IF(seq % 7 = 0, 'gold', 'basic'),
  IF(seq % 3 = 0, 'newsletter,vip', ''), '2024-01-01 08:00:00' + INTERVAL seq MINUTE,
  JSON_OBJECT('lang', IF(seq % 2 = 0, 'en', 'fr'), 'n', seq) FROM seq_1_to_20000;
INSERT INTO orders (customer, total, slot, paid) SELECT 1 + seq % 20000, seq * 1.25,
  SEC_TO_TIME(seq % 86400), seq % 2 FROM seq_1_to_200000;
SQL
cat >"$DEMO/store.yaml" <<YAML
# MariaDB database "sluice_store" into PostgreSQL database "warehouse" (schema sluice_store).
name: store
source:
  type: mysql
  url: mysql://sluice@127.0.0.1:$MY_PORT/sluice_store
  password: \${SL_MY_PASSWORD}
target:
  type: postgres
  url: postgres://sluice@127.0.0.1:$DST_PORT/warehouse
  password: \${SL_PG_PASSWORD}
snapshot: { parallelism: 2 }
state: { url: sqlite://$DEMO/store-state.db }
YAML
"$SLUICE" check "$DEMO/store.yaml" | tail -3
"$SLUICE" run --once "$DEMO/store.yaml"
bash scripts/mysql.sh sql demo-mysql sluice_store <<'SQL'
UPDATE customers SET tier = 'gold', flags = 'vip,beta' WHERE id <= 100;
DELETE FROM orders WHERE id % 50 = 0;
ALTER TABLE customers ADD COLUMN country char(2) NOT NULL DEFAULT 'FR';
INSERT INTO orders (customer, total, slot, paid) VALUES (1, 99.99, '-01:30:00', b'1');
SQL
"$SLUICE" run --once "$DEMO/store.yaml" 2>&1 | grep -E "cdc:" | sed 's/^/  /'
"$SLUICE" verify "$DEMO/store.yaml"
PGPASSWORD=$SL_PG_PASSWORD psql -X -h 127.0.0.1 -p "$DST_PORT" -U sluice -d warehouse -c \
  "SELECT id, name, tier, flags, signed_up, prefs, country FROM sluice_store.customers ORDER BY id LIMIT 3"

say "PostgreSQL -> ClickHouse: the same shop into a throwaway ClickHouse (demo-clickhouse)"
bash scripts/clickhouse.sh start demo-clickhouse
CH_PORT=$(bash scripts/clickhouse.sh env demo-clickhouse | sed -n 's/^export CH_HTTP_PORT=//p')
export SL_CH_PASSWORD
SL_CH_PASSWORD=$(bash scripts/clickhouse.sh env demo-clickhouse | sed -n 's/^export CH_PASSWORD=//p')
bash scripts/clickhouse.sh sql demo-clickhouse --query "DROP DATABASE IF EXISTS shop" # an earlier demo's
rm -f "$DEMO"/shop-ch-state.db*
cat >"$DEMO/shop-ch.yaml" <<YAML
# PostgreSQL database "shop" into ClickHouse database "shop" (ReplacingMergeTree tables; read
# them with FINAL and WHERE _sluice_deleted = 0).
name: shop_ch
source:
  type: postgres
  url: postgres://sluice@127.0.0.1:$SRC_PORT/shop
  password: \${SL_PG_PASSWORD}
target:
  type: clickhouse
  url: http://sluice@127.0.0.1:$CH_PORT
  password: \${SL_CH_PASSWORD}
  database: shop
snapshot: { parallelism: 2 }
state: { url: sqlite://$DEMO/shop-ch-state.db }
YAML
"$SLUICE" check "$DEMO/shop-ch.yaml" | tail -4
"$SLUICE" run --once "$DEMO/shop-ch.yaml"
PGPASSWORD=$SL_PG_PASSWORD psql -X -q -h 127.0.0.1 -p "$SRC_PORT" -U sluice -d shop \
  -c "UPDATE inventory.products SET price = price + 1 WHERE id <= 3; DELETE FROM inventory.products WHERE id = 4"
"$SLUICE" run --once "$DEMO/shop-ch.yaml" 2>&1 | grep -E "cdc:" | sed 's/^/  /'
"$SLUICE" verify "$DEMO/shop-ch.yaml"
bash scripts/clickhouse.sh sql demo-clickhouse --format=PrettyCompact --query \
  "SELECT id, name, price, discontinued, _sluice_version, _sluice_deleted FROM shop.products FINAL ORDER BY id LIMIT 5"

cat <<TXT

Where the data is:
  source  psql -h 127.0.0.1 -p $SRC_PORT -U sluice shop        (password: $SL_PG_PASSWORD)
  target  psql -h 127.0.0.1 -p $DST_PORT -U sluice warehouse
  mariadb mariadb -h 127.0.0.1 -P $MY_PORT -u sluice -p sluice_store   (password: $SL_MY_PASSWORD)
  clickhouse  bash scripts/clickhouse.sh sql demo-clickhouse --query "SELECT * FROM shop.products FINAL"
  pipeline files $DEMO/shop.yaml, $DEMO/store.yaml, $DEMO/shop-ch.yaml      state  $DEMO/*.db
  try: SL_PG_PASSWORD=$SL_PG_PASSWORD $SLUICE status $DEMO/shop.yaml
Stop the demo servers with: make stop
TXT
