#!/usr/bin/env bash
# An existing publication is reused (docs/ARCHITECTURE.md "Decisions": "an existing publication is
# reused, and selected tables it lacks are added (unless it is FOR ALL TABLES)"; README: "create
# it yourself: CREATE PUBLICATION ... FOR ALL TABLES"). Checked through the source's catalog:
#   subset    a publication created beforehand FOR TABLE one of three selected tables is kept
#             (same oid, still not FOR ALL TABLES, its option untouched) and gets the two
#             missing tables added; changes to all three then reach the target.
#   all       a FOR ALL TABLES publication is used as it is (same oid, no table list); a table
#             it publishes but the pipeline does not select is ignored, the selected ones
#             arrive, the ignored one never appears on the target.
# Every table is compared with the source through SQL digests, a keyless insert-only one too.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

SDB=it_pub_src
fresh_db test-src "$SDB"
src_sql "$SDB" <<'SQL'
SET ROLE sluice;
CREATE TABLE a (id integer PRIMARY KEY, v text);
CREATE TABLE b (id integer PRIMARY KEY, v text);
CREATE TABLE c (n integer, note text);      -- keyless, insert-only
CREATE TABLE other (id integer PRIMARY KEY, v text);
INSERT INTO a SELECT i, 'a' || i FROM generate_series(1, 1000) i;
INSERT INTO b SELECT i, 'b' || i FROM generate_series(1, 1000) i;
INSERT INTO c SELECT i, 'c' || i FROM generate_series(1, 1000) i;
INSERT INTO other SELECT i, 'o' || i FROM generate_series(1, 100) i;
SQL

write_some() {
	src_sql "$SDB" <<'SQL'
BEGIN;
INSERT INTO a SELECT max(id) + g, 'new' FROM a, generate_series(1, 20) g GROUP BY g;
UPDATE b SET v = v || ' upd' WHERE id % 50 = 0;
DELETE FROM b WHERE id % 77 = 0;
INSERT INTO c SELECT max(n) + g, 'new' FROM c, generate_series(1, 20) g GROUP BY g;
INSERT INTO other SELECT max(id) + g, 'new' FROM other, generate_series(1, 20) g GROUP BY g;
COMMIT;
SQL
}

pub_tables() { # PUB: its tables, sorted
	src_sql "$SDB" "SELECT coalesce(string_agg(schemaname || '.' || tablename, ' ' ORDER BY 1), '')
	  FROM pg_publication_tables WHERE pubname = '$1'"
}
pub_row() { # PUB: oid, FOR ALL TABLES, publish_via_partition_root
	src_sql "$SDB" "SELECT oid || ' ' || puballtables || ' ' || pubviaroot FROM pg_publication WHERE pubname = '$1'"
}

case_subset() {
	local tdb=it_pub_dst_subset pub=sluice_it_pub_subset before
	fresh_db test-dst "$tdb"
	src_sql "$SDB" "SET ROLE sluice; CREATE PUBLICATION $pub FOR TABLE a"
	before=$(pub_row "$pub")
	assert_eq "public.a" "$(pub_tables "$pub")" "subset: the publication starts with a only"
	pipeline_file "$TMP/subset.yaml" it_pub_subset "$SDB" "$tdb" \
		"source.tables: { include: [public.a, public.b, public.c] }"
	sluice_ok run --once "$TMP/subset.yaml"
	assert_eq "$before" "$(pub_row "$pub")" "subset: the same publication, its options unchanged (reused, not recreated)"
	assert_eq "public.a public.b public.c" "$(pub_tables "$pub")" "subset: the missing selected tables were added, nothing else"
	write_some
	sluice_ok run --once "$TMP/subset.yaml"
	for t in a b c; do
		compare_table test-src "$SDB" test-dst "$tdb" public "$t"
	done
	assert_eq "" "$(dst_sql "$tdb" "SELECT to_regclass('public.other')")" "subset: the unselected table is not on the target"
	sluice_ok reset "$TMP/subset.yaml"
}

case_all() {
	local tdb=it_pub_dst_all pub=sluice_it_pub_all before
	fresh_db test-dst "$tdb"
	src_sql "$SDB" "CREATE PUBLICATION $pub FOR ALL TABLES WITH (publish_via_partition_root)"
	before=$(pub_row "$pub")
	pipeline_file "$TMP/all.yaml" it_pub_all "$SDB" "$tdb" \
		"source.tables: { include: [public.a, public.b, public.c] }"
	sluice_ok run --once "$TMP/all.yaml"
	write_some
	sluice_ok run --once "$TMP/all.yaml"
	assert_contains "$SL_ERR" "public.other are published but the table is not in this pipeline" \
		"all: changes to the unselected table arrive and are named as ignored"
	assert_eq "$before" "$(pub_row "$pub")" "all: the FOR ALL TABLES publication is used as it is"
	assert_eq 0 "$(src_sql "$SDB" "SELECT count(*) FROM pg_publication_rel pr JOIN pg_publication p ON p.oid = pr.prpubid WHERE p.pubname = '$pub'")" \
		"all: no table was added to the FOR ALL TABLES publication"
	for t in a b c; do
		compare_table test-src "$SDB" test-dst "$tdb" public "$t"
	done
	assert_eq "" "$(dst_sql "$tdb" "SELECT to_regclass('public.other')")" "all: the ignored table is not on the target"
	sluice_ok reset "$TMP/all.yaml"
}

run_case case_subset
run_case case_all
cases_done
