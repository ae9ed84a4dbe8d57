-- Sample data for `make demo`: a table with many PostgreSQL types, in a schema of its own.
CREATE SCHEMA inventory;
CREATE TYPE inventory.status AS ENUM ('draft', 'active', 'retired');
CREATE DOMAIN inventory.positive_int AS integer CHECK (VALUE > 0);
CREATE TABLE inventory.products (
    id          bigint PRIMARY KEY,
    sku         uuid NOT NULL,
    name        varchar(80) NOT NULL,
    price       numeric(12,2),
    weight_kg   double precision,
    in_stock    boolean,
    stock       inventory.positive_int,
    status      inventory.status,
    tags        text[],
    attributes  jsonb,
    launched    date,
    updated_at  timestamptz,
    warranty    interval,
    origin_ip   inet,
    sizes       int4range,
    photo       bytea
);
INSERT INTO inventory.products
SELECT g,
       md5(g::text)::uuid,
       'Product ' || g || CASE WHEN g % 7 = 0 THEN ' – édition spéciale ☕' ELSE '' END,
       round((random() * 1000)::numeric, 2),
       CASE WHEN g % 11 = 0 THEN 'NaN'::float8 ELSE g * 0.25 END,
       g % 3 <> 0,
       (g % 50) + 1,
       (ARRAY['draft', 'active', 'retired'])[1 + g % 3]::inventory.status,
       ARRAY['tag' || g % 5, 'tag' || g % 9],
       jsonb_build_object('color', (ARRAY['red', 'green', 'blue'])[1 + g % 3], 'rank', g),
       date '2020-01-01' + g % 1500,
       timestamptz '2024-01-01 00:00:00+00' + g * interval '17 minutes',
       make_interval(months => g % 36),
       ('10.0.' || g % 256 || '.' || g % 200)::inet,
       int4range(g % 10, g % 10 + 5),
       CASE WHEN g % 13 = 0 THEN NULL ELSE decode(md5(g::text), 'hex') END
  FROM generate_series(1, 50000) g;
INSERT INTO inventory.products (id, sku, name) VALUES (0, '00000000-0000-0000-0000-000000000000', 'all nulls');
