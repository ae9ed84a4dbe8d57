/* Column shapes for the PostgreSQL fuzz targets: a wire kind and an Arrow field it decodes into,
 * for every kind in pgbinary.h and the narrowing/widening forms the decoder accepts. An input
 * byte picks one (modulo FZ_NCOLS). */
#ifndef SL_FUZZ_PG_COLUMNS_H
#define SL_FUZZ_PG_COLUMNS_H

#include <stdlib.h>
#include <string.h>

#include "core/types.h"
#include "formats/pgbinary.h"

static const struct fz_col {
	sl_type_id t;
	sl_pg_kind k;
	sl_time_unit unit;
	int precision, scale, width; /* decimals; FixedSizeBinary */
	sl_type_id elem_t;           /* lists */
	sl_pg_kind elem_k;
} fz_cols[] = {
        {SL_TYPE_BOOL, SL_PG_BOOL, 0, 0, 0, 0, 0, 0},
        {SL_TYPE_INT16, SL_PG_INT2, 0, 0, 0, 0, 0, 0},
        {SL_TYPE_INT32, SL_PG_INT4, 0, 0, 0, 0, 0, 0},
        {SL_TYPE_INT64, SL_PG_INT8, 0, 0, 0, 0, 0, 0},
        {SL_TYPE_FLOAT32, SL_PG_FLOAT4, 0, 0, 0, 0, 0, 0},
        {SL_TYPE_FLOAT64, SL_PG_FLOAT8, 0, 0, 0, 0, 0, 0},
        {SL_TYPE_DECIMAL128, SL_PG_NUMERIC, 0, 38, 10, 0, 0, 0},
        {SL_TYPE_DECIMAL256, SL_PG_NUMERIC, 0, 76, 20, 0, 0, 0},
        {SL_TYPE_UTF8, SL_PG_NUMERIC, 0, 0, 0, 0, 0, 0},
        {SL_TYPE_DATE32, SL_PG_DATE, 0, 0, 0, 0, 0, 0},
        {SL_TYPE_TIME64, SL_PG_TIME, SL_UNIT_US, 0, 0, 0, 0, 0},
        {SL_TYPE_TIMESTAMP, SL_PG_TIMESTAMP, SL_UNIT_US, 0, 0, 0, 0, 0},
        {SL_TYPE_UTF8, SL_PG_TEXT, 0, 0, 0, 0, 0, 0},
        {SL_TYPE_BINARY, SL_PG_BYTEA, 0, 0, 0, 0, 0, 0},
        {SL_TYPE_UTF8, SL_PG_JSONB, 0, 0, 0, 0, 0, 0},
        {SL_TYPE_UTF8, SL_PG_UUID, 0, 0, 0, 0, 0, 0},
        {SL_TYPE_UINT32, SL_PG_OID, 0, 0, 0, 0, 0, 0},
        {SL_TYPE_UINT64, SL_PG_LSN, 0, 0, 0, 0, 0, 0},
        {SL_TYPE_INTERVAL_DT, SL_PG_INTERVAL, 0, 0, 0, 0, 0, 0},
        {SL_TYPE_LIST, SL_PG_ARRAY, 0, 0, 0, 0, SL_TYPE_UTF8, SL_PG_TEXT},
        {SL_TYPE_LIST, SL_PG_ARRAY, 0, 0, 0, 0, SL_TYPE_INT32, SL_PG_INT4},
        {SL_TYPE_LIST, SL_PG_ARRAY, 0, 0, 0, 0, SL_TYPE_DECIMAL128, SL_PG_NUMERIC},
        {SL_TYPE_LIST, SL_PG_ARRAY, 0, 0, 0, 0, SL_TYPE_TIMESTAMP, SL_PG_TIMESTAMP},
        {SL_TYPE_UINT8, SL_PG_INT2, 0, 0, 0, 0, 0, 0},
        {SL_TYPE_INT8, SL_PG_INT2, 0, 0, 0, 0, 0, 0},
        {SL_TYPE_UINT64, SL_PG_NUMERIC, 0, 0, 0, 0, 0, 0},
        {SL_TYPE_INT64, SL_PG_NUMERIC, 0, 0, 0, 0, 0, 0},
        {SL_TYPE_FLOAT16, SL_PG_FLOAT4, 0, 0, 0, 0, 0, 0},
        {SL_TYPE_FLOAT16, SL_PG_FLOAT8, 0, 0, 0, 0, 0, 0},
        {SL_TYPE_TIME32, SL_PG_TIME, SL_UNIT_MS, 0, 0, 0, 0, 0},
        {SL_TYPE_TIMESTAMP, SL_PG_TIMESTAMP, SL_UNIT_MS, 0, 0, 0, 0, 0},
        {SL_TYPE_TIMESTAMP, SL_PG_TIMESTAMP, SL_UNIT_NS, 0, 0, 0, 0, 0},
        {SL_TYPE_DATE64, SL_PG_DATE, 0, 0, 0, 0, 0, 0},
        {SL_TYPE_FIXED_BINARY, SL_PG_BYTEA, 0, 0, 0, 3, 0, 0},
        {SL_TYPE_UTF8, SL_PG_INTERVAL, 0, 0, 0, 0, 0, 0}, /* a type the kind refuses */
};
#define FZ_NCOLS ((int)(sizeof fz_cols / sizeof *fz_cols))

/* Field and codec for fz_cols[pick % FZ_NCOLS]; free the field with sl_field_reset. */
static void fz_column(uint8_t pick, sl_field *f, sl_pg_codec *c)
{
	const struct fz_col *d = &fz_cols[pick % FZ_NCOLS];
	sl_field_init(f, "c", d->t);
	f->unit = d->unit;
	f->precision = d->precision;
	f->scale = d->scale;
	f->byte_width = d->width;
	memset(c, 0, sizeof *c);
	c->kind = d->k;
	if (d->t == SL_TYPE_LIST) {
		sl_field *e = malloc(sizeof *e);
		sl_field_init(e, "item", d->elem_t);
		e->unit = SL_UNIT_US;
		e->precision = 38;
		e->scale = 10;
		sl_field_set_child(f, e);
		c->elem_kind = d->elem_k;
		c->elem_oid = 25;
	}
}

#endif
