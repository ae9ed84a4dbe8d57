/* Column selection and masking (src/core/columns.c): HMAC-SHA256 against RFC 4231's test
 * vectors, canonical bytes of values, rules checked against a table, snapshot batches and
 * change messages rewritten, verify's digest masking like the pipeline. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/columns.h"
#include "core/digest.h"
#include "core/mem.h"

/* RFC 4231 section 4.2 (test case 1) and 4.3 (test case 2), HMAC-SHA-256 */
static const char rfc4231_key1[] = "\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b"
                                   "\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b";
static const char rfc4231_mac1[] =
        "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7";
static const char rfc4231_mac2[] =
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";

static void test_hmac_rfc4231(void **state)
{
	(void)state;
	char hex[SL_MASK_HEX_LEN + 1];
	sl_mask_hmac_hex(rfc4231_key1, "Hi There", 8, hex);
	assert_string_equal(hex, rfc4231_mac1);
	sl_mask_hmac_hex("Jefe", "what do ya want for nothing?", 28, hex);
	assert_string_equal(hex, rfc4231_mac2);
}

static void test_value_canonical(void **state)
{
	(void)state;
	sl_field f[4];
	sl_field_init(&f[0], "s", SL_TYPE_UTF8);
	sl_field_init(&f[1], "i", SL_TYPE_INT64);
	sl_field_init(&f[2], "b", SL_TYPE_BOOL);
	sl_field_init(&f[3], "i16", SL_TYPE_INT16);
	sl_batch *b = sl_batch_create(f, 4);
	sl_col_append_bytes(&b->cols[0], "Hi There", 8);
	sl_col_append_i64(&b->cols[1], -42);
	sl_col_append_bool(&b->cols[2], true);
	sl_col_append_i16(&b->cols[3], 7);
	sl_batch_end_row(b);
	char got[SL_MASK_HEX_LEN + 1], want[SL_MASK_HEX_LEN + 1];
	/* text: its bytes, so the RFC vector comes out */
	sl_mask_value_hex(&b->cols[0], 0, rfc4231_key1, got);
	assert_string_equal(got, rfc4231_mac1);
	/* integers: their decimal digits; booleans: true/false */
	sl_mask_value_hex(&b->cols[1], 0, "Jefe", got);
	sl_mask_hmac_hex("Jefe", "-42", 3, want);
	assert_string_equal(got, want);
	sl_mask_value_hex(&b->cols[2], 0, "Jefe", got);
	sl_mask_hmac_hex("Jefe", "true", 4, want);
	assert_string_equal(got, want);
	sl_mask_value_hex(&b->cols[3], 0, "Jefe", got);
	sl_mask_hmac_hex("Jefe", "7", 1, want);
	assert_string_equal(got, want);
	sl_batch_destroy(b);
	for (int i = 0; i < 4; i++)
		sl_field_reset(&f[i]);
}

/* public.users (id key, email, phone, password_hash, age) as a source would discover it */
static void users_table(sl_catalog *cat)
{
	memset(cat, 0, sizeof *cat);
	cat->tables = sl_calloc(1, sizeof *cat->tables);
	cat->ntables = 1;
	sl_table_def *t = &cat->tables[0];
	t->schema = sl_strdup("public");
	t->name = sl_strdup("users");
	t->qualified = sl_strdup("public.users");
	t->fields = sl_calloc(5, sizeof *t->fields);
	t->nfields = 5;
	sl_field_init(&t->fields[0], "id", SL_TYPE_INT64);
	sl_field_init(&t->fields[1], "email", SL_TYPE_UTF8);
	sl_field_init(&t->fields[2], "phone", SL_TYPE_UTF8);
	sl_field_init(&t->fields[3], "password_hash", SL_TYPE_UTF8);
	sl_field_init(&t->fields[4], "age", SL_TYPE_INT32);
	for (int i = 0; i < 5; i++)
		t->fields[i].source_type = sl_strdup(i == 0   ? "bigint"
		                                     : i == 4 ? "integer"
		                                              : "text");
	t->fields[2].nullable = false;
	t->fields[1].nullable = true;
	t->key = sl_calloc(1, sizeof *t->key);
	t->nkey = 1;
}

struct projected {
	int calls;
	int keep[8];
	int nkeep;
};

static int record_project(void *ctx, sl_catalog *cat, int t, const int *keep, int nkeep,
                          sl_error *err)
{
	(void)cat;
	(void)t;
	(void)err;
	struct projected *p = ctx;
	p->calls++;
	p->nkeep = nkeep;
	memcpy(p->keep, keep, (size_t)nkeep * sizeof *keep);
	return 0;
}

static sl_config *parse(const char *columns)
{
	char yaml[1024];
	snprintf(yaml, sizeof yaml,
	         "name: t\nmask_key: unit-test-mask-key-0001\nsource:\n  type: postgres\n"
	         "  url: u\n  tables:\n    columns:\n      public.users: %s\n"
	         "target: {type: postgres, url: u}\n",
	         columns);
	sl_config *cfg = NULL;
	sl_error err = {0};
	if (sl_config_parse(yaml, strlen(yaml), "p.yaml", &cfg, &err) < 0)
		fail_msg("%s", err.msg);
	cfg->path = sl_strdup("p.yaml"); /* as sl_config_load sets it */
	return cfg;
}

static void test_apply(void **state)
{
	(void)state;
	sl_config *cfg =
	        parse("{ exclude: [password_hash], mask: { email: hash, phone: null, id: hash } }");
	sl_catalog cat;
	users_table(&cat);
	struct projected p = {0};
	sl_error err = {0};
	assert_int_equal(sl_columns_apply(cfg, &cat, record_project, &p, &err), 0);
	sl_table_def *t = &cat.tables[0];
	assert_int_equal(p.calls, 1);
	assert_int_equal(p.nkeep, 4);
	assert_int_equal(p.keep[3], 4);
	assert_int_equal(t->nfields, 4);
	assert_int_equal(t->nexcluded, 1);
	assert_string_equal(t->excluded[0], "password_hash");
	assert_string_equal(t->fields[3].name, "age");
	assert_int_equal(t->key[0], 0);
	assert_non_null(t->masks);
	assert_int_equal(t->masks[0], SL_MASK_HASH);
	assert_int_equal(t->masks[1], SL_MASK_HASH);
	assert_int_equal(t->masks[2], SL_MASK_NULL);
	assert_int_equal(t->masks[3], SL_MASK_NONE);
	/* hashed: text on the target; nulled: nullable; read layout keeps the source's types */
	assert_int_equal(t->fields[0].type, SL_TYPE_UTF8);
	assert_string_equal(t->fields[0].source_type, "text");
	assert_true(t->fields[2].nullable);
	assert_non_null(t->read_fields);
	assert_int_equal(t->read_fields[0].type, SL_TYPE_INT64);
	assert_string_equal(sl_table_read_fields(t)[0].source_type, "bigint");
	assert_ptr_equal(t->rule, sl_config_column_rule(cfg, "public.users"));

	/* a snapshot batch: read layout in, masked layout out */
	sl_batch *in = sl_batch_create(sl_table_read_fields(t), t->nfields);
	sl_batch *out = sl_batch_create(t->fields, t->nfields);
	sl_col_append_i64(&in->cols[0], 42);
	sl_col_append_bytes(&in->cols[1], "a@b.c", 5);
	sl_col_append_bytes(&in->cols[2], "555", 3);
	sl_col_append_i32(&in->cols[3], 30);
	sl_batch_end_row(in);
	sl_col_append_i64(&in->cols[0], 43);
	sl_col_append_null(&in->cols[1]);
	sl_col_append_bytes(&in->cols[2], "556", 3);
	sl_col_append_null(&in->cols[3]);
	sl_batch_end_row(in);
	sl_columns_mask_batch(t, cfg->mask_key, in, out);
	assert_int_equal(in->length, 0);
	assert_int_equal(out->length, 2);
	assert_true(sl_batch_is_consistent(out));
	char want[SL_MASK_HEX_LEN + 1];
	int32_t n;
	const uint8_t *v = sl_col_bytes(&out->cols[0], 0, &n);
	sl_mask_hmac_hex(cfg->mask_key, "42", 2, want);
	assert_int_equal(n, SL_MASK_HEX_LEN);
	assert_memory_equal(v, want, SL_MASK_HEX_LEN);
	v = sl_col_bytes(&out->cols[1], 0, &n);
	sl_mask_hmac_hex(cfg->mask_key, "a@b.c", 5, want);
	assert_memory_equal(v, want, SL_MASK_HEX_LEN);
	assert_false(sl_col_is_valid(&out->cols[1], 1)); /* NULL stays NULL */
	assert_false(sl_col_is_valid(&out->cols[2], 0));
	assert_false(sl_col_is_valid(&out->cols[2], 1));
	assert_int_equal(*(const int32_t *)sl_col_value_ptr(&out->cols[3], 0, 4), 30);
	assert_false(sl_col_is_valid(&out->cols[3], 1));

	/* verify: the source digest of the unmasked batch equals the digest of the masked one */
	sl_col_append_i64(&in->cols[0], 42);
	sl_col_append_bytes(&in->cols[1], "a@b.c", 5);
	sl_col_append_bytes(&in->cols[2], "555", 3);
	sl_col_append_i32(&in->cols[3], 30);
	sl_batch_end_row(in);
	sl_col_append_i64(&in->cols[0], 43);
	sl_col_append_null(&in->cols[1]);
	sl_col_append_bytes(&in->cols[2], "556", 3);
	sl_col_append_null(&in->cols[3]);
	sl_batch_end_row(in);
	sl_digest sd = {.masks = t->masks, .mask_key = cfg->mask_key}, td = {0}, raw = {0};
	sl_digest_add_batch(&sd, in);
	sl_digest_add_batch(&raw, in);
	sl_digest_add_batch(&td, out);
	assert_int_equal(sd.rows, 2);
	assert_true(sd.sum == td.sum);
	assert_true(raw.sum != td.sum);
	sl_batch_destroy(in);
	sl_batch_destroy(out);
	sl_catalog_free(&cat);
	sl_config_free(cfg);
}

static void apply_fails(const char *columns, const char *expect)
{
	sl_config *cfg = parse(columns);
	sl_catalog cat;
	users_table(&cat);
	struct projected p = {0};
	sl_error err = {0};
	assert_int_equal(sl_columns_apply(cfg, &cat, record_project, &p, &err), SL_ERR_CONFIG);
	if (strstr(err.msg, expect) == NULL)
		fail_msg("expected \"%s\" in \"%s\"", expect, err.msg);
	assert_int_equal(p.calls, 0);
	sl_catalog_free(&cat);
	sl_config_free(cfg);
}

static void test_apply_errors(void **state)
{
	(void)state;
	apply_fails("{ exclude: [id] }",
	            "p.yaml:8: source.tables.columns.public.users leaves out column id, which is "
	            "part of the primary key of public.users (keys identify rows on the target: "
	            "remove it from exclude");
	apply_fails("{ include: [email] }",
	            "leaves out column id, which is part of the primary "
	            "key of public.users (keys identify rows on the target: "
	            "add it to include");
	apply_fails(
	        "{ exclude: [emial] }",
	        "source.tables.columns.public.users excludes column 'emial', which table "
	        "public.users does not have (its columns: id, email, phone, password_hash, age");
	apply_fails("{ include: [id, Email] }", "includes column 'Email'");
	apply_fails("{ mask: { phon: hash } }", "masks column 'phon'");
	apply_fails("{ mask: { id: null } }", "masks key column id of public.users with null");
	/* a rule for a table that is not replicated */
	sl_config *cfg = parse("{ exclude: [age] }");
	free(cfg->source.columns[0].table);
	cfg->source.columns[0].table = sl_strdup("public.user");
	sl_catalog cat;
	users_table(&cat);
	sl_error err = {0};
	assert_int_equal(sl_columns_apply(cfg, &cat, NULL, NULL, &err), SL_ERR_CONFIG);
	assert_non_null(strstr(err.msg, "names table public.user, which is not replicated"));
	sl_catalog_free(&cat);
	sl_config_free(cfg);
}

/* Change messages: excluded columns dropped, masks applied, unchanged bits follow. */
static void test_colview(void **state)
{
	(void)state;
	sl_config *cfg = parse("{ exclude: [password_hash], mask: { email: hash, phone: null } }");
	sl_catalog cat;
	users_table(&cat);
	struct projected p = {0};
	sl_error err = {0};
	assert_int_equal(sl_columns_apply(cfg, &cat, record_project, &p, &err), 0);
	sl_colview *v = sl_colview_create(&cat, cfg->mask_key);
	assert_non_null(v);

	/* the stream's shape: every column, plus one added later (kept: not excluded) */
	sl_field f[6];
	sl_field_init(&f[0], "id", SL_TYPE_INT64);
	sl_field_init(&f[1], "email", SL_TYPE_UTF8);
	sl_field_init(&f[2], "phone", SL_TYPE_UTF8);
	sl_field_init(&f[3], "password_hash", SL_TYPE_UTF8);
	sl_field_init(&f[4], "age", SL_TYPE_INT32);
	sl_field_init(&f[5], "added", SL_TYPE_INT32);
	sl_shape *shape = sl_shape_new(f, 6);
	sl_msg *sm = sl_msg_new(SL_MSG_SCHEMA);
	sm->table = 0;
	sm->shape = sl_shape_ref(shape);
	assert_int_equal(sl_colview_apply(v, sm, &err), 0);
	assert_int_equal(sm->shape->nfields, 5);
	assert_string_equal(sm->shape->fields[3].name, "age");
	assert_string_equal(sm->shape->fields[4].name, "added");
	assert_int_equal(sm->shape->fields[1].type, SL_TYPE_UTF8);
	assert_string_equal(sm->shape->fields[1].source_type, "text");
	assert_true(sm->shape->fields[2].nullable);
	sl_shape *out_shape = sm->shape;

	sl_changes *c = sl_changes_new(0, shape);
	sl_col_append_i64(&c->rows->cols[0], 7);
	sl_col_append_bytes(&c->rows->cols[1], "x@y.z", 5);
	sl_col_append_bytes(&c->rows->cols[2], "123", 3);
	sl_col_append_bytes(&c->rows->cols[3], "secret", 6);
	sl_col_append_null(&c->rows->cols[4]);
	sl_col_append_i32(&c->rows->cols[5], 5);
	uint8_t unchanged[1] = {1u << 4}; /* age unchanged (TOAST-like) */
	sl_changes_end_row(c, SL_OP_UPSERT, unchanged);
	sl_msg *rm = sl_msg_new(SL_MSG_ROWS);
	rm->table = 0;
	rm->changes = c;
	assert_int_equal(sl_colview_apply(v, rm, &err), 0);
	const sl_changes *o = rm->changes;
	assert_ptr_equal(o->shape, out_shape);
	assert_int_equal(o->rows->ncols, 5);
	assert_int_equal(o->rows->length, 1);
	assert_int_equal(sl_changes_op(o, 0), SL_OP_UPSERT);
	char want[SL_MASK_HEX_LEN + 1];
	int32_t n;
	const uint8_t *val = sl_col_bytes(&o->rows->cols[1], 0, &n);
	sl_mask_hmac_hex(cfg->mask_key, "x@y.z", 5, want);
	assert_int_equal(n, SL_MASK_HEX_LEN);
	assert_memory_equal(val, want, SL_MASK_HEX_LEN);
	assert_false(sl_col_is_valid(&o->rows->cols[2], 0));
	assert_true(sl_changes_is_unchanged(o, 0, 3));
	assert_false(sl_changes_is_unchanged(o, 0, 4));
	assert_int_equal(*(const int32_t *)sl_col_value_ptr(&o->rows->cols[4], 0, 4), 5);
	for (int i = 0; i < o->rows->ncols; i++) /* the excluded value is nowhere */
		if (sl_type_is_var_width(o->rows->cols[i].field->type) &&
		    sl_col_is_valid(&o->rows->cols[i], 0)) {
			val = sl_col_bytes(&o->rows->cols[i], 0, &n);
			assert_false(n == 6 && memcmp(val, "secret", 6) == 0);
		}
	/* the same shape again: the same view (the applier compares pointers) */
	sl_msg *sm2 = sl_msg_new(SL_MSG_SCHEMA);
	sm2->table = 0;
	sm2->shape = sl_shape_ref(shape);
	assert_int_equal(sl_colview_apply(v, sm2, &err), 0);
	assert_ptr_equal(sm2->shape, out_shape);
	sl_msg_free(sm);
	sl_msg_free(sm2);
	sl_msg_free(rm);
	sl_shape_unref(shape);
	for (int i = 0; i < 6; i++)
		sl_field_reset(&f[i]);
	sl_colview_destroy(v);
	sl_catalog_free(&cat);
	sl_config_free(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_hmac_rfc4231), cmocka_unit_test(test_value_canonical),
	        cmocka_unit_test(test_apply),        cmocka_unit_test(test_apply_errors),
	        cmocka_unit_test(test_colview),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
