#!/usr/bin/env bash
# Range-typed keys, PostgreSQL -> PostgreSQL: a table whose PRIMARY KEY is an int4range (empty,
# unbounded and bounded ranges) and one with a daterange in a composite key. A range travels
# as JSON and is rebuilt on the target by a CASE expression, which the CDC statements match
# keys with (updates, deletes, key changes, one carrying an unsent TOASTed value). Snapshot, then CDC, each compared with the source.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

SDB=it_rk_src
TDB=it_rk_dst
fresh_db test-src "$SDB"
fresh_db test-dst "$TDB"
src_sql "$SDB" <<'SQL'
SET ROLE sluice;
CREATE TABLE rk (r int4range PRIMARY KEY, v text, doc text);
INSERT INTO rk VALUES ('[1,5)', 'a'), ('[5,10)', 'b'), ('empty', 'e'), ('(,0)', 'low'),
  ('[100,)', 'high'), ('[20,21]', 'closed'), ('(,)', 'all');
INSERT INTO rk SELECT int4range(i * 1000, i * 1000 + 10), 'n' || i FROM generate_series(1, 200) i;
-- a TOASTed value (incompressible, out of line): a key change that leaves it unchanged does
-- not send it, so the target takes it from the row under the old key
INSERT INTO rk VALUES ('[40,50)', 'toasted', (SELECT string_agg(md5(i::text), '') FROM generate_series(1, 3000) i));
CREATE TABLE rc (id int, d daterange, v text, PRIMARY KEY (id, d));
INSERT INTO rc SELECT i % 5, daterange('2024-01-01'::date + i, '2024-01-01'::date + i + 7), 'v' || i
  FROM generate_series(1, 100) i;
INSERT INTO rc VALUES (1, 'empty', 'empty'), (2, '[2024-06-01,)', 'open');
SQL

PIPE=$TMP/rk.yaml
pipeline_file "$PIPE" it_rk "$SDB" "$TDB"
sluice_ok run --once "$PIPE"
compare_table test-src "$SDB" test-dst "$TDB" public rk
compare_table test-src "$SDB" test-dst "$TDB" public rc

src_sql "$SDB" <<'SQL'
UPDATE rk SET v = 'a2' WHERE r = '[1,5)';
UPDATE rk SET v = 'e2' WHERE r = 'empty';
UPDATE rk SET v = 'all2' WHERE r = '(,)';
DELETE FROM rk WHERE r = '[5,10)';
DELETE FROM rk WHERE r = '(,0)';
DELETE FROM rk WHERE lower(r) BETWEEN 50000 AND 60000;
UPDATE rk SET r = '[300,400)' WHERE r = '[100,)';            -- key change
UPDATE rk SET r = '[41,50)' WHERE r = '[40,50)';              -- key change, TOASTed value unsent
BEGIN;                                                        -- key change, then reuse
UPDATE rk SET r = '[7,8)', v = 'moved' WHERE r = '[20,21]';
INSERT INTO rk VALUES ('[20,21]', 'reused');
COMMIT;
INSERT INTO rk VALUES ('[-5,-1)', 'new');
UPDATE rc SET v = 'upd' WHERE id = 3;
DELETE FROM rc WHERE id = 4 AND lower(d) < '2024-02-01';
UPDATE rc SET d = '[2025-01-01,2025-02-01)' WHERE id = 1 AND d = 'empty';
UPDATE rc SET d = 'empty' WHERE id = 2 AND d = '[2024-06-01,)';
SQL
sluice_ok run --once "$PIPE"
compare_table test-src "$SDB" test-dst "$TDB" public rk
compare_table test-src "$SDB" test-dst "$TDB" public rc
assert_eq 96000 "$(dst_sql "$TDB" "SELECT length(doc) FROM rk WHERE r = '[41,50)'")" \
	"the moved row kept its unsent TOASTed value"
assert_eq "moved" "$(dst_sql "$TDB" "SELECT v FROM rk WHERE r = '[7,8)'")" "moved row on the target"
assert_eq "0" "$(dst_sql "$TDB" "SELECT count(*) FROM rk WHERE r = '(,0)'")" "deleted unbounded key"
sluice_ok verify "$PIPE"
pass
