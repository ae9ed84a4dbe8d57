#!/usr/bin/env bash
# Column selection and masking (source.tables.columns, mask_key): PostgreSQL -> PostgreSQL and
# PostgreSQL -> ClickHouse from one source database (and MariaDB -> PostgreSQL), snapshot then CDC (insert, update, delete,
# a hashed key updated and deleted). On each target, by SQL: excluded columns do not exist,
# null-masked columns are NULL (and nullable), hashed columns hold exactly the HMAC-SHA256 the
# openssl command line computes from the source values with the same key (text: its bytes;
# integers: their digits), every other column equals the source. sluice verify passes on both
# (its source digest masks like the pipeline). discover shows excluded and masked columns. Bad
# pipeline files fail with one clear line: a key column excluded, an unknown column (run,
# discover and check), hash without mask_key. The rules of a loaded table cannot change under
# it (other masks, another mask_key: one line naming the table). The mask key never appears in
# anything sluice prints, with log_level debug.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
ch_require

SDB=it_cols_src
TDB=it_cols
CDB=it_cols
fresh_db test-src "$SDB"
fresh_db test-dst "$TDB"
ch_fresh_db "$CDB"
MASK_KEY="it-mask-key-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
export SL_TEST_MASK_KEY=$MASK_KEY
ALL_OUTPUT=$TMP/all-output.txt
: >"$ALL_OUTPUT"

src_sql "$SDB" <<'SQL'
SET ROLE sluice;
CREATE TABLE users (id int PRIMARY KEY, email text, phone text NOT NULL, password_hash text,
                    age int, note text);
CREATE TABLE orders (id bigint PRIMARY KEY, user_id int, total numeric(12,2),
                     created_at timestamptz, secret_note text);
CREATE TABLE acct (code text PRIMARY KEY, v int);
INSERT INTO users SELECT i, CASE WHEN i % 7 = 0 THEN NULL ELSE 'user' || i || '@example.com' END,
       '+1-555-' || i, md5('pw' || i), 20 + i % 50, 'note ' || i FROM generate_series(1, 60) i;
INSERT INTO orders SELECT i, i % 60 + 1, i * 1.25, '2026-01-01 00:00:00+00'::timestamptz + i * interval '1 hour',
       'do not ship ' || i FROM generate_series(1, 80) i;
INSERT INTO acct SELECT 'ACCT-' || i, i FROM generate_series(1, 20) i;
SQL

columns_lines() {
	printf '%s\n' \
		"source.tables:" \
		"source.  columns:" \
		"source.    public.users: { exclude: [password_hash], mask: { email: hash, phone: null } }" \
		"source.    public.orders: { include: [id, user_id, total, created_at], mask: { user_id: hash } }" \
		"source.    public.acct: { mask: { code: hash } }"
}
mapfile -t COLS < <(columns_lines)
PG_PIPE=$TMP/pg.yaml
CH_PIPE=$TMP/ch.yaml
pipeline_file "$PG_PIPE" it_cols_pg "$SDB" "$TDB" "${COLS[@]}" "mask_key: \${SL_TEST_MASK_KEY}" \
	"log_level: debug"
pipeline_file "$CH_PIPE" it_cols_ch "$SDB" "clickhouse:$CDB" "${COLS[@]}" \
	"mask_key: \${SL_TEST_MASK_KEY}" "log_level: debug"

# every sluice call's output is kept: the key must never show up in it
run() { # ARGS...
	sluice "$@"
	printf '%s\n%s\n' "$SL_OUT" "$SL_ERR" >>"$ALL_OUTPUT"
}
run_ok() {
	run "$@"
	((SL_RC == 0)) || { sluice_dump; fail "sluice $* exited $SL_RC"; }
}

# hmac TEXT: what sluice must have written, computed by the openssl command line
hmac() { printf '%s' "$1" | openssl dgst -sha256 -hmac "$MASK_KEY" | sed 's/^.*= //'; }

# "id<TAB>hash" lines from "id<TAB>value" lines (\N stays \N)
hash_second() {
	local id v
	while IFS=$'\t' read -r id v; do
		if [[ $v == '\N' ]]; then
			printf '%s\t\\N\n' "$id"
		else
			printf '%s\t%s\n' "$id" "$(hmac "$v")"
		fi
	done
}
hash_first() {
	local k v
	while IFS=$'\t' read -r k v; do
		printf '%s\t%s\n' "$(hmac "$k")" "$v"
	done | sort
}

src_rows() { src_sql "$SDB" "COPY ($1) TO STDOUT"; }
pg_rows() { dst_sql "$TDB" "COPY ($1) TO STDOUT"; }
ch_rows() { ch_sql "$1" | sed 's/\\N/\\N/'; }

check_pg() { # WHAT
	local what=$1
	assert_eq "id
email
phone
age
note" "$(dst_sql "$TDB" "SELECT column_name FROM information_schema.columns WHERE table_name = 'users' ORDER BY ordinal_position")" \
		"$what: users on PostgreSQL has no password_hash"
	assert_eq "id
user_id
total
created_at" "$(dst_sql "$TDB" "SELECT column_name FROM information_schema.columns WHERE table_name = 'orders' ORDER BY ordinal_position")" \
		"$what: orders on PostgreSQL has only the included columns"
	assert_eq "text YES" "$(dst_sql "$TDB" "SELECT data_type || ' ' || is_nullable FROM information_schema.columns WHERE table_name = 'users' AND column_name = 'phone'")" \
		"$what: the null-masked phone is nullable"
	assert_eq "text" "$(dst_sql "$TDB" "SELECT data_type FROM information_schema.columns WHERE table_name = 'orders' AND column_name = 'user_id'")" \
		"$what: a hashed integer column is text"
	assert_eq "0" "$(dst_sql "$TDB" "SELECT count(*) FROM users WHERE phone IS NOT NULL")" \
		"$what: phone is NULL everywhere"
	assert_eq "$(src_rows "SELECT id, email FROM users ORDER BY id" | hash_second)" \
		"$(pg_rows "SELECT id, email FROM users ORDER BY id")" "$what: users.email is the HMAC of the source's"
	assert_eq "$(src_rows "SELECT id, age, note FROM users ORDER BY id")" \
		"$(pg_rows "SELECT id, age, note FROM users ORDER BY id")" "$what: other users columns equal"
	assert_eq "$(src_rows "SELECT id, user_id FROM orders ORDER BY id" | hash_second)" \
		"$(pg_rows "SELECT id, user_id FROM orders ORDER BY id")" "$what: orders.user_id is the HMAC of its digits"
	assert_eq "$(src_rows "SELECT id, total, created_at FROM orders ORDER BY id")" \
		"$(pg_rows "SELECT id, total, created_at FROM orders ORDER BY id")" "$what: other orders columns equal"
	assert_eq "$(src_rows "SELECT code, v FROM acct" | hash_first)" \
		"$(pg_rows "SELECT code, v FROM acct" | sort)" "$what: acct keyed by the hashed code"
}

# "name<TAB>type" of a ClickHouse table's columns in order, sluice's own left out
ch_columns() { ch_sql "DESCRIBE TABLE $CDB.$1" | cut -f1,2 | grep -v '^_sluice'; }

check_ch() { # WHAT
	local what=$1
	assert_eq "id	Int32
email	Nullable(String)
phone	Nullable(String)
age	Nullable(Int32)
note	Nullable(String)" "$(ch_columns users)" \
		"$what: users on ClickHouse has no password_hash, phone Nullable, email String"
	assert_eq "id
user_id
total
created_at" "$(ch_columns orders | cut -f1)" \
		"$what: orders on ClickHouse has only the included columns"
	assert_eq "0" "$(ch_sql "SELECT count() FROM $CDB.users FINAL WHERE _sluice_deleted = 0 AND phone IS NOT NULL")" \
		"$what: phone is NULL everywhere (ClickHouse)"
	assert_eq "$(src_rows "SELECT id, email FROM users ORDER BY id" | hash_second)" \
		"$(ch_sql "SELECT id, email FROM $CDB.users FINAL WHERE _sluice_deleted = 0 ORDER BY id")" \
		"$what: users.email is the HMAC of the source's (ClickHouse)"
	assert_eq "$(src_rows "SELECT id, age, note FROM users ORDER BY id")" \
		"$(ch_sql "SELECT id, age, note FROM $CDB.users FINAL WHERE _sluice_deleted = 0 ORDER BY id")" \
		"$what: other users columns equal (ClickHouse)"
	assert_eq "$(src_rows "SELECT id, user_id FROM orders ORDER BY id" | hash_second)" \
		"$(ch_sql "SELECT id, user_id FROM $CDB.orders FINAL WHERE _sluice_deleted = 0 ORDER BY id")" \
		"$what: orders.user_id is the HMAC of its digits (ClickHouse)"
	assert_eq "$(src_rows "SELECT id, total FROM orders ORDER BY id")" \
		"$(ch_sql "SELECT id, total FROM $CDB.orders FINAL WHERE _sluice_deleted = 0 ORDER BY id")" \
		"$what: other orders columns equal (ClickHouse)"
	assert_eq "$(src_rows "SELECT code, v FROM acct" | hash_first)" \
		"$(ch_sql "SELECT code, v FROM $CDB.acct FINAL WHERE _sluice_deleted = 0" | sort)" \
		"$what: acct keyed by the hashed code (ClickHouse)"
}

verify_ok() { # PIPE WHAT
	run verify "$1"
	((SL_RC == 0)) || { sluice_dump; fail "verify failed: $2"; }
	assert_contains "$SL_OUT" "all tables equal" "verify: $2"
}

# ---- discover shows what leaves the agent
run_ok discover "$PG_PIPE"
assert_contains "$SL_OUT" "password_hash" "discover lists the excluded column"
assert_eq "1" "$(grep -c 'password_hash .*-> excluded' <<<"$SL_OUT")" "discover: password_hash excluded"
assert_eq "1" "$(grep -c 'secret_note .*-> excluded' <<<"$SL_OUT")" "discover: secret_note excluded"
assert_eq "1" "$(grep -c '^  email .*-> Utf8.*masked (hash)' <<<"$SL_OUT")" "discover: email masked (hash)"
assert_eq "1" "$(grep -c '^  user_id .*integer .*-> Utf8.*masked (hash)' <<<"$SL_OUT")" \
	"discover: user_id masked (hash), shown as text"
assert_eq "1" "$(grep -c '^  phone .*masked (null)' <<<"$SL_OUT")" "discover: phone masked (null)"

# ---- snapshot
run_ok run --once "$PG_PIPE"
run_ok run --once "$CH_PIPE"
check_pg snapshot
check_ch snapshot
verify_ok "$PG_PIPE" "snapshot, PostgreSQL"
verify_ok "$CH_PIPE" "snapshot, ClickHouse"

# ---- CDC: inserts, updates (masked and plain columns), deletes, a hashed key changed
src_sql "$SDB" <<'SQL'
INSERT INTO users VALUES (100, 'new@example.com', '+1-555-100', 'x', 33, 'new'),
                         (101, NULL, '+1-555-101', 'y', 34, 'new null email');
UPDATE users SET email = 'changed' || id || '@example.org', phone = '+44' || id, password_hash = 'z'
 WHERE id BETWEEN 1 AND 10;
UPDATE users SET age = age + 1, note = 'older' WHERE id BETWEEN 11 AND 20;
DELETE FROM users WHERE id BETWEEN 50 AND 55;
INSERT INTO orders VALUES (1000, 42, 9.99, '2026-05-05 12:00:00+00', 'nope');
UPDATE orders SET user_id = 7, total = total + 1, secret_note = 'still secret' WHERE id <= 5;
DELETE FROM orders WHERE id > 75 AND id < 1000;
INSERT INTO acct VALUES ('ACCT-NEW', 99);
UPDATE acct SET v = v * 10 WHERE code IN ('ACCT-1', 'ACCT-2');
UPDATE acct SET code = 'ACCT-3-RENAMED' WHERE code = 'ACCT-3';
DELETE FROM acct WHERE code = 'ACCT-4';
SQL
run_ok run --once "$PG_PIPE"
run_ok run --once "$CH_PIPE"
check_pg cdc
check_ch cdc
assert_eq "0" "$(pg_rows "SELECT count(*) FROM users WHERE email LIKE '%@%'")" "no clear email on the target"
verify_ok "$PG_PIPE" "after CDC, PostgreSQL"
verify_ok "$CH_PIPE" "after CDC, ClickHouse"

# verify really compares masked values: a target value changed by hand is found
dst_sql "$TDB" "UPDATE users SET email = 'tampered' WHERE id = 2"
run verify "$PG_PIPE"
((SL_RC != 0)) || { sluice_dump; fail "verify passed on a tampered hashed column"; }
assert_contains "$SL_OUT" "DIFF public.users" "verify reports the tampered table"

# ---- the rules of a loaded table cannot change under it: other masks, or another mask_key,
# stop the run with one line naming the table, before anything is read; put back, it goes on
CHANGED=$TMP/pg_changed.yaml
sed 's/mask: { email: hash, phone: null }/mask: { email: null, phone: null }/' "$PG_PIPE" >"$CHANGED"
run run --once "$CHANGED"
assert_sluice_error 2 "source.tables.columns for public.users changed since the table was loaded" \
	"mask=email:hash,phone:null" "mask=email:null,phone:null"
SL_TEST_MASK_KEY="$MASK_KEY-rotated" run run --once "$PG_PIPE"
assert_sluice_error 2 "source.tables.columns for public" "old mask_key"
assert_not_contains "$SL_OUT$SL_ERR" "$MASK_KEY" "the rules line never shows the key"
dst_sql "$TDB" "UPDATE users SET email = NULL WHERE id = 2" # undo the tampering above
src_sql "$SDB" "UPDATE users SET email = 'again@x.org' WHERE id = 2"
run_ok run --once "$PG_PIPE"
verify_ok "$PG_PIPE" "after the rules were put back"

# ---- bad pipeline files: one clear line each, nothing created
bad_pipe() { # NAME COLUMNS-LINE [EXTRA...]
	local name=$1 line=$2
	shift 2
	pipeline_file "$TMP/$name.yaml" "$name" "$SDB" "$TDB" "source.tables:" "source.  columns:" \
		"source.    $line" "$@"
}
bad_pipe it_cols_bad1 "public.users: { exclude: [id, password_hash] }"
run run --once "$TMP/it_cols_bad1.yaml"
assert_sluice_error nonzero "public.users" "column id" "primary key" "remove it from exclude"
bad_pipe it_cols_bad2 "public.orders: { include: [id, totl] }"
run discover "$TMP/it_cols_bad2.yaml"
assert_sluice_error nonzero "public.orders" "'totl'" "does not have"
run run --once "$TMP/it_cols_bad2.yaml"
assert_sluice_error nonzero "public.orders" "'totl'"
run check "$TMP/it_cols_bad2.yaml"
assert_sluice_error nonzero "check(s) failed"
assert_contains "$SL_OUT" "FAIL source.tables.columns:" "check names the columns problem"
assert_contains "$SL_OUT" "'totl'" "check names the unknown column"
bad_pipe it_cols_bad3 "public.users: { mask: { email: hash } }"
run run --once "$TMP/it_cols_bad3.yaml"
assert_sluice_error nonzero "mask_key" "public.users" "email"
bad_pipe it_cols_bad4 "public.acct: { mask: { code: null } }" "mask_key: \${SL_TEST_MASK_KEY}"
run run --once "$TMP/it_cols_bad4.yaml"
assert_sluice_error nonzero "key column code" "null" "hash"
assert_eq "0" "$(src_sql "$SDB" "SELECT count(*) FROM pg_replication_slots WHERE slot_name LIKE 'sluice_it_cols_bad%'")" \
	"a bad pipeline file creates no slot"

# ---- MariaDB -> PostgreSQL: the same rules through the MySQL source and the binlog
my_require
MDB=test_cols_my
TDB2=it_cols_my
my_fresh_db "$MDB"
fresh_db test-dst "$TDB2"
my_sql "$MDB" <<'SQL'
CREATE TABLE users (id INT PRIMARY KEY, email VARCHAR(100), phone VARCHAR(20) NOT NULL,
                    password_hash VARCHAR(64), age INT, score FLOAT);
INSERT INTO users VALUES (1, 'a@x.org', '1', 'h1', 30, 1.5), (2, NULL, '2', 'h2', 31, NULL),
                         (3, 'c@x.org', '3', 'h3', NULL, 2.25);
SQL
MY_PIPE=$TMP/my.yaml
pipeline_file "$MY_PIPE" it_cols_my "mysql:$MDB" "$TDB2" "source.tables:" "source.  columns:" \
	"source.    $MDB.users: { exclude: [password_hash], mask: { email: hash, phone: null, id: hash } }" \
	"mask_key: \${SL_TEST_MASK_KEY}" "log_level: debug"
my_rows() { my_sql "$MDB" -e "$1" | sed 's/\tNULL$/\t\\N/; s/\tNULL\t/\t\\N\t/g'; }
pg2_rows() { dst_sql "$TDB2" "COPY ($1) TO STDOUT"; }
check_my() { # WHAT
	assert_eq "id
email
phone
age
score" "$(dst_sql "$TDB2" "SELECT column_name FROM information_schema.columns WHERE table_schema = '$MDB' AND table_name = 'users' ORDER BY ordinal_position")" \
		"$1: MariaDB users on PostgreSQL has no password_hash"
	assert_eq "0" "$(pg2_rows "SELECT count(*) FROM $MDB.users WHERE phone IS NOT NULL")" "$1: phone NULL (MariaDB)"
	assert_eq "$(my_rows "SELECT id, email FROM users" | hash_first | cut -f1 | sort)" \
		"$(pg2_rows "SELECT id FROM $MDB.users" | sort)" "$1: hashed key id (MariaDB)"
	assert_eq "$(my_rows "SELECT email, age FROM users WHERE email IS NOT NULL" | hash_first)" \
		"$(pg2_rows "SELECT email, age FROM $MDB.users WHERE email IS NOT NULL" | sort)" \
		"$1: email hashed, age equal (MariaDB)"
	assert_eq "$(my_rows "SELECT count(*) FROM users WHERE email IS NULL")" \
		"$(pg2_rows "SELECT count(*) FROM $MDB.users WHERE email IS NULL")" "$1: NULL email stays NULL (MariaDB)"
}
run_ok run --once "$MY_PIPE"
check_my snapshot
verify_ok "$MY_PIPE" "snapshot, MariaDB"
my_sql "$MDB" <<'SQL'
INSERT INTO users VALUES (4, 'd@x.org', '4', 'h4', 44, 4.5);
UPDATE users SET email = 'b@x.org', phone = '22', password_hash = 'new', age = 32 WHERE id = 2;
DELETE FROM users WHERE id = 3;
SQL
run_ok run --once "$MY_PIPE"
check_my cdc
verify_ok "$MY_PIPE" "after CDC, MariaDB"

# ---- the key never shows
assert_eq "0" "$(grep -c -F -- "$MASK_KEY" "$ALL_OUTPUT" || true)" "the mask key appears in sluice's output"
assert_contains "$(cat "$ALL_OUTPUT")" "snapshot: complete" "the output file holds the runs' logs"
pass
