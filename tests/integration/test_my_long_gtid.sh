#!/usr/bin/env bash
# A GTID position of any length round-trips. Transactions in 150 replication domains make
# MariaDB's GTID position about 1.5 kB (longer than the 1 kB positions used to be cut to: a cut
# set parses as a smaller one, so a restart re-applied transactions). A keyless table makes a
# re-application visible as duplicate rows: after each of three runs (the later ones resuming
# from the stored position) the PostgreSQL target holds exactly the source's rows, and the
# position stored on the target is the server's whole GTID position.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
my_require

SDB=test_longgtid
TDB=it_longgtid_dst
my_fresh_db "$SDB"
fresh_db test-dst "$TDB"
my_sql "$SDB" -e "CREATE TABLE ev (d int, n int)"
PIPE=$TMP/longgtid.yaml
pipeline_file "$PIPE" it_longgtid "mysql:$SDB" "$TDB"
sluice_ok run --once "$PIPE"

domains() { # FIRST LAST ROUND: one insert per domain
	local d
	for ((d = $1; d <= $2; d++)); do
		printf 'SET SESSION gtid_domain_id = %d; INSERT INTO ev VALUES (%d, %d);\n' "$d" "$d" "$3"
	done | my_sql "$SDB"
}
same() { # WHAT
	local a b
	a=$(my_sql "$SDB" -e "SELECT d, n FROM $SDB.ev ORDER BY d, n" | md5sum)
	b=$(dst_sql "$TDB" "SELECT d || E'\t' || n FROM $SDB.ev ORDER BY d, n" | md5sum)
	assert_eq "$a" "$b" "$1: the target holds the source's rows, none twice"
}
domains 1000 1149 1
sluice_ok run --once "$PIPE"
same "first run"
pos=$(my_sql -e "SELECT @@gtid_binlog_pos")
((${#pos} > 1100)) || fail "the GTID position is only ${#pos} bytes (test did not exercise a long one)"
stored=$(dst_sql "$TDB" "SELECT position FROM _sluice.positions WHERE pipeline = 'it_longgtid'")
assert_eq "$(tr ',' '\n' <<<"$pos" | sort)" "$(tr ',' '\n' <<<"$stored" | sort)" \
	"the stored position is the server's whole GTID position (${#pos} bytes)"
domains 1000 1004 2
sluice_ok run --once "$PIPE"
same "second run"
sluice_ok run --once "$PIPE"
same "third run (nothing new)"
sluice_ok reset "$PIPE"
pass
