#!/usr/bin/env bash
# Target session settings: the target database says standard_conforming_strings = off (a
# backslash in a string literal is then an escape). sluice's target sessions must set it on,
# so SQL sluice writes means what it says, and values with backslashes must arrive exactly,
# through the snapshot and CDC. An event trigger on the target records the setting seen by
# every DDL statement sluice runs there (CREATE TABLE, ADD PRIMARY KEY, the CDC stage tables).
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

SDB=it_tsess_src
TDB=it_tsess_dst
fresh_db test-src "$SDB"
fresh_db test-dst "$TDB"
dst_sql "$TDB" <<SQL
ALTER DATABASE $TDB SET standard_conforming_strings = off;
CREATE SCHEMA obs;
CREATE TABLE obs.seen (app text, tag text, scs text);
CREATE FUNCTION obs.record() RETURNS event_trigger LANGUAGE plpgsql SECURITY DEFINER
  SET search_path = pg_catalog AS \$\$
BEGIN
  INSERT INTO obs.seen VALUES (current_setting('application_name'), tg_tag,
                               current_setting('standard_conforming_strings'));
END \$\$;
CREATE EVENT TRIGGER obs_record ON ddl_command_end EXECUTE FUNCTION obs.record();
SQL
assert_eq "off" "$(dst_sql "$TDB" "SHOW standard_conforming_strings")" "the target database defaults to off"

src_sql "$SDB" <<'SQL'
SET ROLE sluice;
CREATE TABLE t (k text PRIMARY KEY, v text, a text[], j jsonb, b bytea);
INSERT INTO t VALUES
  ('a\b', 'one \ backslash', ARRAY['x\y', '\\', '"q\"'], '{"p": "c:\\dir\\file", "q": "\u00e9"}', '\x5c00ff'),
  ('\\', '\\\\ two pairs', ARRAY['\'], '["\\\\"]', '\x5c5c'),
  ('\n', 'not a newline: \n \t \x41 \101', NULL, '"\\n"', NULL),
  ('plain', 'E''\\x'' and ''\''', ARRAY[]::text[], '{}', '\x');
SQL

PIPE=$TMP/tsess.yaml
pipeline_file "$PIPE" it_tsess "$SDB" "$TDB"
sluice_ok run --once "$PIPE"
compare_table test-src "$SDB" test-dst "$TDB" public t

src_sql "$SDB" <<'SQL'
UPDATE t SET v = v || ' \ updated \\' WHERE k = 'a\b';
UPDATE t SET k = '\\\\moved' WHERE k = '\\';
DELETE FROM t WHERE k = '\n';
INSERT INTO t VALUES ('new\', '\', ARRAY['\'], '"\\"', '\x5c');
SQL
sluice_ok run --once "$PIPE"
compare_table test-src "$SDB" test-dst "$TDB" public t
assert_eq 'one \ backslash \ updated \\' "$(dst_sql "$TDB" "SELECT v FROM t WHERE k = E'a\\\\b'")" \
	"a value with backslashes arrived exactly"

seen=$(dst_sql "$TDB" "SELECT app || ' ' || tag || ' ' || scs FROM obs.seen WHERE app LIKE 'sluice%' ORDER BY 1")
assert_contains "$seen" "sluice-target CREATE TABLE" "the event trigger saw sluice create the table"
assert_contains "$seen" "sluice-target ALTER TABLE" "the event trigger saw the primary key added"
assert_not_contains "$seen" " off" "every target session of sluice had standard_conforming_strings on"
pass
