#!/usr/bin/env bash
# A snapshot of more tables than the source's lock table holds (#24). A snapshot reader's
# transaction keeps a lock on every table it has read (and on the indexes its queries opened)
# until it ends, and the server's lock table has room for max_locks_per_transaction x
# connections in all: a snapshot of 10,000 tables failed with "out of shared memory" on a
# default server. Here a server of its own (test-pglocks) with max_locks_per_transaction=10
# and max_connections=20 (room for a few hundred locks) holds 1,200 tables, and the
# publication exists already (creating it would lock every table in one transaction). The
# snapshot must complete, with every table and row on the target. Before the fix, a reader
# kept all its tables' locks and the run failed naming max_locks_per_transaction.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
export SLUICE_CMD_TIMEOUT=600

INST=test-pglocks
N=1200
if ! out=$(no_inherited_fds bash "$PG_SH" start "$INST" --wal-level logical --fsync off \
	-c max_locks_per_transaction=10 -c max_connections=20 2>&1); then
	printf '%s\n' "$out" >&2
	fail "could not start $INST"
fi
cleanup_pginstance "$INST"
assert_eq 10 "$(inst_sql "$INST" postgres "SHOW max_locks_per_transaction")" "$INST runs with max_locks_per_transaction = 10"

SDB=it_locks_src
TDB=it_locks_dst
fresh_db "$INST" "$SDB"
fresh_db test-dst "$TDB"
# in transactions of 20 tables: creating them takes locks too
inst_sql "$INST" "$SDB" <<SQL
SET ROLE sluice;
DO \$\$ BEGIN
	FOR i IN 1..$N LOOP
		EXECUTE format('CREATE TABLE %I (id int PRIMARY KEY, v text)', 'l' || lpad(i::text, 4, '0'));
		EXECUTE format('INSERT INTO %I SELECT g, md5((g * %s)::text) FROM generate_series(1, 3) g', 'l' || lpad(i::text, 4, '0'), i);
		IF i % 20 = 0 THEN COMMIT; END IF;
	END LOOP;
END \$\$;
SQL
inst_sql "$INST" "$SDB" "CREATE PUBLICATION it_locks FOR ALL TABLES" >/dev/null

PIPE=$TMP/locks.yaml
pipeline_file "$PIPE" it_locks "$INST:$SDB" "$TDB" "source.publication: it_locks"
log "snapshot of $N tables from a server with room for a few hundred locks"
sluice_ok run --once "$PIPE"

COUNT_SQL="SELECT count(*) FROM pg_class WHERE relkind = 'r' AND relname ~ '^l[0-9]{4}\$'"
assert_eq "$N" "$(dst_sql "$TDB" "$COUNT_SQL")" "$N tables on the target"
# every table's rows in key order, as one md5 per query of 40 tables (one query over all of
# them would itself run out of locks on the source)
DIGEST_SQL=$(inst_sql "$INST" "$SDB" "
	SELECT string_agg(q, E';\n' ORDER BY g) FROM (
	  SELECT g, format('SELECT md5(string_agg(t || '':'' || h, '','' ORDER BY t)) FROM (%s) d',
	                   string_agg(format('SELECT %L AS t, md5(string_agg(x::text, ''|'' ORDER BY id)) AS h FROM public.%I x',
	                                     relname, relname), ' UNION ALL ' ORDER BY relname)) AS q
	    FROM (SELECT relname, (row_number() OVER (ORDER BY relname) - 1) / 40 AS g
	            FROM pg_class WHERE relkind = 'r' AND relname ~ '^l[0-9]{4}\$') c
	   GROUP BY g) s")
SRC_DIGEST=$(inst_sql "$INST" "$SDB" <<<"$DIGEST_SQL;")
assert_eq "$((N / 40))" "$(grep -c '^[0-9a-f]\{32\}$' <<<"$SRC_DIGEST")" "one digest per 40 source tables"
assert_eq "$SRC_DIGEST" "$(dst_sql "$TDB" <<<"$DIGEST_SQL;")" "the $N target tables equal the source"
pass
