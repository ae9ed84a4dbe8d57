/* Parquet reader (see parquet.h): the footer, then a row group at a time into a batch. Every
 * length and count read from the file is checked against what holds it. */
#include <snappy-c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "core/mem.h"
#include "formats/decimal.h"
#include "formats/parquet.h"
#include "formats/thrift.h"

enum {
	PT_BOOLEAN = 0,
	PT_INT32 = 1,
	PT_INT64 = 2,
	PT_INT96 = 3,
	PT_FLOAT = 4,
	PT_DOUBLE = 5,
	PT_BYTE_ARRAY = 6,
	PT_FLBA = 7
};
enum { ENC_PLAIN = 0, ENC_PLAIN_DICTIONARY = 2, ENC_RLE = 3, ENC_RLE_DICTIONARY = 8 };
enum { PAGE_DATA = 0, PAGE_DICTIONARY = 2, PAGE_DATA_V2 = 3 };

#define PQR_MAX_FOOTER (64 << 20)
#define PQR_MAX_PAGE ((size_t)1 << 30)
#define PQR_MAX_LEVELS ((size_t)1 << 24) /* values in one page (sluice writes ~1 MiB pages) */

/* One schema element as read. */
typedef struct pqr_elem {
	int type, type_length, repetition, num_children, converted, scale, precision;
	int lt;                /* LogicalType member id, 0 none */
	int lt_scale, lt_prec; /* DECIMAL */
	int lt_unit;           /* TIME/TIMESTAMP: 1 ms, 2 us, 3 ns */
	bool lt_utc;           /* TIME/TIMESTAMP isAdjustedToUTC */
	int lt_bits;           /* INTEGER */
	bool lt_signed;
	char *name;
} pqr_elem;

typedef struct pqr_chunk {
	int codec;
	int64_t num_values, data_off, dict_off, comp;
} pqr_chunk;

typedef struct pqr_col {
	int leaf; /* schema element of the values */
	int ptype, type_length;
	int max_def, max_rep, list_def; /* list_def: the level of an empty list */
	bool list;
} pqr_col;

struct sl_pq_reader {
	sl_pq_read_at read_at;
	void *ctx;
	int64_t size;
	pqr_elem *elems;
	int nelems;
	sl_field *fields; /* nfields of them (allocated before they are all read) */
	int nfields;
	pqr_col *cols;
	int ncols;
	int64_t rows;
	pqr_chunk *chunks; /* [g * ncols + c] */
	int64_t *rg_rows;
	int nrg;
	char *arrow; /* the sluice.arrow entry, or NULL */
	/* scratch */
	sl_buf raw, unc, dict;
	uint32_t *def, *rep, *idx;
	size_t cap_levels, cap_idx;
	/* dictionary entries of the current chunk */
	const uint8_t **dptr;
	uint32_t *dlen;
	uint32_t ndict, cap_dict;
	bool list_open; /* a list value of the column being read awaits its end */
};

static int pqr_bad(sl_error *err, const char *what)
{
	return sl_error_set(err, SL_ERR_DATA, "Parquet file is malformed: %s", what);
}

/* ---- footer ---- */

static void pqr_logical(sl_tc_reader *t, pqr_elem *e)
{
	int16_t id;
	int type;
	sl_tc_enter(t);
	while (sl_tc_next(t, &id, &type)) {
		e->lt = id;
		if (type != SL_TC_STRUCT) {
			sl_tc_skip(t, type);
			continue;
		}
		sl_tc_enter(t);
		int16_t fid;
		int ft;
		while (sl_tc_next(t, &fid, &ft)) {
			if (id == 5 && fid == 1)
				e->lt_scale = (int)sl_tc_read_int(t);
			else if (id == 5 && fid == 2)
				e->lt_prec = (int)sl_tc_read_int(t);
			else if ((id == 7 || id == 8) && fid == 1)
				e->lt_utc = ft == SL_TC_TRUE;
			else if ((id == 7 || id == 8) && fid == 2 && ft == SL_TC_STRUCT) {
				sl_tc_enter(t);
				int16_t uid;
				int ut;
				while (sl_tc_next(t, &uid, &ut)) {
					e->lt_unit = uid;
					sl_tc_skip(t, ut);
				}
				t->depth--;
			} else if (id == 10 && fid == 1)
				e->lt_bits = (int)sl_tc_read_int(t) & 0xff;
			else if (id == 10 && fid == 2)
				e->lt_signed = ft == SL_TC_TRUE;
			else
				sl_tc_skip(t, ft);
		}
		t->depth--;
	}
	t->depth--;
}

static void pqr_elem_read(sl_tc_reader *t, pqr_elem *e)
{
	int16_t id;
	int type;
	e->type = e->converted = -1;
	sl_tc_enter(t);
	while (sl_tc_next(t, &id, &type)) {
		switch (id) {
		case 1:
			e->type = (int)sl_tc_read_int(t);
			break;
		case 2:
			e->type_length = (int)sl_tc_read_int(t);
			break;
		case 3:
			e->repetition = (int)sl_tc_read_int(t);
			break;
		case 4: {
			size_t n;
			const uint8_t *p = sl_tc_read_binary(t, &n);
			if (p && !e->name)
				e->name = sl_strndup((const char *)p, n);
			break;
		}
		case 5:
			e->num_children = (int)sl_tc_read_int(t);
			break;
		case 6:
			e->converted = (int)sl_tc_read_int(t);
			break;
		case 7:
			e->scale = (int)sl_tc_read_int(t);
			break;
		case 8:
			e->precision = (int)sl_tc_read_int(t);
			break;
		case 10:
			if (type == SL_TC_STRUCT)
				pqr_logical(t, e);
			else
				sl_tc_skip(t, type);
			break;
		default:
			sl_tc_skip(t, type);
		}
	}
	t->depth--;
}

static void pqr_chunk_read(sl_tc_reader *t, pqr_chunk *c)
{
	int16_t id;
	int type;
	c->dict_off = -1;
	sl_tc_enter(t);
	while (sl_tc_next(t, &id, &type)) {
		if (id != 3 || type != SL_TC_STRUCT) {
			sl_tc_skip(t, type);
			continue;
		}
		sl_tc_enter(t);
		int16_t mid;
		int mt;
		while (sl_tc_next(t, &mid, &mt)) {
			switch (mid) {
			case 4:
				c->codec = (int)sl_tc_read_int(t);
				break;
			case 5:
				c->num_values = sl_tc_read_int(t);
				break;
			case 7:
				c->comp = sl_tc_read_int(t);
				break;
			case 9:
				c->data_off = sl_tc_read_int(t);
				break;
			case 11:
				c->dict_off = sl_tc_read_int(t);
				break;
			default:
				sl_tc_skip(t, mt);
			}
		}
		t->depth--;
	}
	t->depth--;
}

static int pqr_footer(sl_pq_reader *r, const uint8_t *p, size_t n, sl_error *err)
{
	sl_tc_reader t;
	sl_tc_reader_init(&t, p, n);
	int16_t id;
	int type, et;
	sl_tc_enter(&t);
	while (sl_tc_next(&t, &id, &type)) {
		if (id == 2 && type == SL_TC_LIST) {
			uint32_t k = sl_tc_read_list(&t, &et);
			if (et != SL_TC_STRUCT || r->elems)
				return pqr_bad(err, "schema");
			r->elems = sl_calloc(k ? k : 1, sizeof *r->elems);
			r->nelems = (int)k;
			for (uint32_t i = 0; i < k && !t.bad; i++)
				pqr_elem_read(&t, &r->elems[i]);
		} else if (id == 3) {
			r->rows = sl_tc_read_int(&t);
		} else if (id == 4 && type == SL_TC_LIST) {
			uint32_t k = sl_tc_read_list(&t, &et);
			if (et != SL_TC_STRUCT || r->chunks || r->ncols == 0)
				return pqr_bad(err, "row groups before the schema");
			r->nrg = (int)k;
			r->rg_rows = sl_calloc(k ? k : 1, sizeof *r->rg_rows);
			r->chunks = sl_calloc((size_t)(k ? k : 1) * (size_t)r->ncols,
			                      sizeof *r->chunks);
			for (uint32_t g = 0; g < k && !t.bad; g++) {
				sl_tc_enter(&t);
				int16_t gid;
				int gt;
				while (sl_tc_next(&t, &gid, &gt)) {
					if (gid == 1 && gt == SL_TC_LIST) {
						int ct;
						uint32_t nc = sl_tc_read_list(&t, &ct);
						if (nc != (uint32_t)r->ncols || ct != SL_TC_STRUCT)
							return pqr_bad(err, "a row group's columns "
							                    "are not the schema's");
						for (uint32_t c = 0; c < nc && !t.bad; c++)
							pqr_chunk_read(
							        &t,
							        &r->chunks[g * (uint32_t)r->ncols +
							                   c]);
					} else if (gid == 3) {
						r->rg_rows[g] = sl_tc_read_int(&t);
					} else {
						sl_tc_skip(&t, gt);
					}
				}
				t.depth--;
			}
		} else if (id == 5 && type == SL_TC_LIST) {
			uint32_t k = sl_tc_read_list(&t, &et);
			for (uint32_t i = 0; i < k && !t.bad; i++) {
				const uint8_t *key = NULL, *val = NULL;
				size_t nk = 0, nv = 0;
				sl_tc_enter(&t);
				int16_t kid;
				int kt;
				while (sl_tc_next(&t, &kid, &kt)) {
					if (kid == 1 && kt == SL_TC_BINARY)
						key = sl_tc_read_binary(&t, &nk);
					else if (kid == 2 && kt == SL_TC_BINARY)
						val = sl_tc_read_binary(&t, &nv);
					else
						sl_tc_skip(&t, kt);
				}
				t.depth--;
				if (key && val && nk == strlen(SL_PQ_ARROW_KEY) &&
				    memcmp(key, SL_PQ_ARROW_KEY, nk) == 0 && !r->arrow)
					r->arrow = sl_strndup((const char *)val, nv);
			}
		} else {
			sl_tc_skip(&t, type);
		}
		/* the schema is known as soon as it is read: the row groups need its width */
		if (id == 2 && r->elems && r->ncols == 0 && !t.bad) {
			int leaves = 0;
			for (int i = 1; i < r->nelems; i++)
				leaves += r->elems[i].num_children == 0;
			r->ncols = leaves;
		}
	}
	if (t.bad)
		return pqr_bad(err, "its footer cannot be decoded");
	if (!r->elems || r->nelems < 1)
		return pqr_bad(err, "no schema");
	return 0;
}

/* ---- schema → fields ---- */

static int pqr_parse_format(const char *fmt, const char *ext, sl_field *f)
{
	int p, s, w;
	char u;
	static const struct {
		const char *fmt;
		sl_type_id t;
	} plain[] = {{"n", SL_TYPE_NA},       {"b", SL_TYPE_BOOL},
	             {"c", SL_TYPE_INT8},     {"s", SL_TYPE_INT16},
	             {"i", SL_TYPE_INT32},    {"l", SL_TYPE_INT64},
	             {"C", SL_TYPE_UINT8},    {"S", SL_TYPE_UINT16},
	             {"I", SL_TYPE_UINT32},   {"L", SL_TYPE_UINT64},
	             {"e", SL_TYPE_FLOAT16},  {"f", SL_TYPE_FLOAT32},
	             {"g", SL_TYPE_FLOAT64},  {"tdD", SL_TYPE_DATE32},
	             {"tdm", SL_TYPE_DATE64}, {"tiD", SL_TYPE_INTERVAL_DT},
	             {"u", SL_TYPE_UTF8},     {"U", SL_TYPE_LARGE_UTF8},
	             {"z", SL_TYPE_BINARY},   {"Z", SL_TYPE_LARGE_BINARY}};
	for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++)
		if (strcmp(fmt, plain[i].fmt) == 0) {
			f->type = plain[i].t;
			goto ext;
		}
	static const char units[] = "smun";
	if (sscanf(fmt, "d:%d,%d,256", &p, &s) == 2 && strstr(fmt, ",256")) {
		f->type = SL_TYPE_DECIMAL256, f->precision = p, f->scale = s;
	} else if (sscanf(fmt, "d:%d,%d", &p, &s) == 2) {
		f->type = SL_TYPE_DECIMAL128, f->precision = p, f->scale = s;
	} else if (sscanf(fmt, "w:%d", &w) == 1 && w > 0) {
		f->type = SL_TYPE_FIXED_BINARY, f->byte_width = w;
	} else if (strlen(fmt) == 3 && fmt[0] == 't' && fmt[1] == 't' && strchr(units, fmt[2])) {
		u = fmt[2];
		f->unit = (sl_time_unit)(strchr(units, u) - units);
		f->type = f->unit <= SL_UNIT_MS ? SL_TYPE_TIME32 : SL_TYPE_TIME64;
	} else if (strlen(fmt) >= 4 && fmt[0] == 't' && fmt[1] == 's' && strchr(units, fmt[2]) &&
	           fmt[3] == ':') {
		f->type = SL_TYPE_TIMESTAMP;
		f->unit = (sl_time_unit)(strchr(units, fmt[2]) - units);
		if (fmt[4])
			f->tz = sl_strdup(fmt + 4);
	} else {
		return -1;
	}
ext:
	if (ext && *ext)
		f->ext_name = sl_strdup(ext);
	return 0;
}

/* The Arrow type of a leaf from its Parquet types (LogicalTypes.md; the converted type when
 * there is no logical type). */
static int pqr_leaf_type(const pqr_elem *e, sl_field *f, sl_error *err)
{
	int lt = e->lt, ct = e->converted;
	switch (e->type) {
	case PT_BOOLEAN:
		f->type = SL_TYPE_BOOL;
		return 0;
	case PT_FLOAT:
		f->type = SL_TYPE_FLOAT32;
		return 0;
	case PT_DOUBLE:
		f->type = SL_TYPE_FLOAT64;
		return 0;
	case PT_INT32:
	case PT_INT64:
		if (lt == 5 || ct == 5) {
			f->type = SL_TYPE_DECIMAL128;
			f->precision = lt == 5 ? e->lt_prec : e->precision;
			f->scale = lt == 5 ? e->lt_scale : e->scale;
		} else if (e->type == PT_INT32 && (lt == 6 || ct == 6)) {
			f->type = SL_TYPE_DATE32;
		} else if (lt == 7 || ct == 7 || ct == 8) {
			int unit = lt == 7 ? e->lt_unit : ct == 7 ? 1 : 2;
			f->type = e->type == PT_INT32 ? SL_TYPE_TIME32 : SL_TYPE_TIME64;
			f->unit = unit == 1 ? SL_UNIT_MS : unit == 2 ? SL_UNIT_US : SL_UNIT_NS;
		} else if (e->type == PT_INT64 && (lt == 8 || ct == 9 || ct == 10)) {
			int unit = lt == 8 ? e->lt_unit : ct == 9 ? 1 : 2;
			f->type = SL_TYPE_TIMESTAMP;
			f->unit = unit == 1 ? SL_UNIT_MS : unit == 2 ? SL_UNIT_US : SL_UNIT_NS;
			if (lt != 8 || e->lt_utc)
				f->tz = sl_strdup("UTC");
		} else if (lt == 10 || (ct >= 11 && ct <= 18)) {
			bool sgn = lt == 10 ? e->lt_signed : ct >= 15;
			int bits = lt == 10 ? e->lt_bits : 8 << ((ct - (sgn ? 15 : 11)) & 3);
			f->type = bits == 8    ? (sgn ? SL_TYPE_INT8 : SL_TYPE_UINT8)
			          : bits == 16 ? (sgn ? SL_TYPE_INT16 : SL_TYPE_UINT16)
			          : bits == 32 ? (sgn ? SL_TYPE_INT32 : SL_TYPE_UINT32)
			                       : (sgn ? SL_TYPE_INT64 : SL_TYPE_UINT64);
		} else {
			f->type = e->type == PT_INT32 ? SL_TYPE_INT32 : SL_TYPE_INT64;
		}
		return 0;
	case PT_BYTE_ARRAY:
	case PT_FLBA:
		if (lt == 5 || ct == 5) {
			f->precision = lt == 5 ? e->lt_prec : e->precision;
			f->scale = lt == 5 ? e->lt_scale : e->scale;
			f->type = f->precision <= 38 ? SL_TYPE_DECIMAL128 : SL_TYPE_DECIMAL256;
		} else if (e->type == PT_BYTE_ARRAY &&
		           (lt == 1 || lt == 4 || lt == 12 || ct == 0 || ct == 4 || ct == 19)) {
			f->type = SL_TYPE_UTF8;
			if (lt == 12 || ct == 19)
				f->ext_name = sl_strdup("arrow.json");
		} else if (e->type == PT_FLBA) {
			f->type = SL_TYPE_FIXED_BINARY;
			f->byte_width = e->type_length;
		} else {
			f->type = SL_TYPE_BINARY;
		}
		return 0;
	}
	return sl_error_set(
	        err, SL_ERR_DATA,
	        "Parquet column \"%s\": physical type %d (INT96 or unknown) is not read "
	        "here",
	        e->name ? e->name : "?", e->type);
}

static int pqr_schema(sl_pq_reader *r, sl_error *err)
{
	const pqr_elem *root = &r->elems[0];
	int n = root->num_children;
	if (n <= 0 || n > r->nelems)
		return pqr_bad(err, "the schema's root");
	r->fields = sl_calloc((size_t)n, sizeof *r->fields);
	r->nfields = n;
	r->cols = sl_calloc((size_t)n, sizeof *r->cols);
	const char *arrow = r->arrow;
	int at = 1;
	for (int i = 0; i < n; i++) {
		if (at >= r->nelems)
			return pqr_bad(err, "the schema ends early");
		const pqr_elem *e = &r->elems[at];
		sl_field *f = &r->fields[i];
		pqr_col *c = &r->cols[i];
		sl_field_init(f, e->name ? e->name : "", SL_TYPE_NA);
		f->nullable = e->repetition != 0;
		c->max_def = f->nullable ? 1 : 0;
		const pqr_elem *leaf = e;
		sl_field *lf = f;
		if (e->num_children > 0 || e->repetition == 2) {
			/* LIST: group (LIST) { repeated group list { element } }, or the two-level
			 * form repeated <element>, or a bare repeated primitive */
			const pqr_elem *mid = NULL;
			if (e->repetition == 2 && e->num_children == 0) {
				leaf = e;
				f->nullable = false;
				c->max_def = 0;
			} else if (e->num_children == 1 && at + 1 < r->nelems) {
				mid = &r->elems[at + 1];
				if (mid->repetition != 2)
					goto nested;
				if (mid->num_children == 0) {
					leaf = mid;
					at += 1;
				} else if (mid->num_children == 1 && at + 2 < r->nelems &&
				           r->elems[at + 2].num_children == 0) {
					leaf = &r->elems[at + 2];
					at += 2;
				} else {
					goto nested;
				}
			} else {
				goto nested;
			}
			c->list = true;
			c->max_rep = 1;
			c->list_def = c->max_def;
			c->max_def +=
			        1 + (leaf != mid && leaf != e && leaf->repetition == 1 ? 1 : 0);
			f->type = SL_TYPE_LIST;
			lf = sl_calloc(1, sizeof *lf);
			sl_field_init(lf, "element", SL_TYPE_NA);
			lf->nullable = c->max_def > c->list_def + 1;
			sl_field_set_child(f, lf);
		} else if (e->num_children > 0) {
			goto nested;
		}
		c->leaf = (int)(leaf - r->elems);
		c->ptype = leaf->type;
		c->type_length = leaf->type_length;
		if (c->ptype == PT_FLBA && (c->type_length <= 0 || c->type_length > 1 << 20))
			return pqr_bad(err, "a fixed-length column's length");
		/* sluice's own files say the exact type; others are read by their Parquet types */
		char fmt[64], ext[64];
		bool known = false;
		if (arrow) {
			const char *nl = strchr(arrow, '\n');
			const char *tab =
			        memchr(arrow, '\t', nl ? (size_t)(nl - arrow) : strlen(arrow));
			if (nl && tab && tab - arrow < (long)sizeof fmt &&
			    nl - tab - 1 < (long)sizeof ext) {
				memcpy(fmt, arrow, (size_t)(tab - arrow));
				fmt[tab - arrow] = 0;
				memcpy(ext, tab + 1, (size_t)(nl - tab - 1));
				ext[nl - tab - 1] = 0;
				known = pqr_parse_format(fmt, ext, lf) == 0;
			}
			arrow = nl ? nl + 1 : NULL;
		}
		if (!known)
			SL_TRY(pqr_leaf_type(leaf, lf, err));
		at++;
		continue;
	nested:
		return sl_error_set(
		        err, SL_ERR_DATA,
		        "Parquet column \"%s\": nested types other than a LIST of values "
		        "are not read here",
		        e->name ? e->name : "?");
	}
	if (at != r->nelems)
		return pqr_bad(err, "schema elements past the root's children");
	r->ncols = n;
	return 0;
}

int sl_pq_reader_open(sl_pq_read_at read_at, void *ctx, int64_t size, sl_pq_reader **out,
                      sl_error *err)
{
	uint8_t tail[8];
	if (size < 12)
		return pqr_bad(err, "shorter than its frame");
	SL_TRY(read_at(ctx, size - 8, tail, 8, err));
	if (memcmp(tail + 4, "PAR1", 4) != 0)
		return sl_error_set(
		        err, SL_ERR_DATA,
		        "not a Parquet file (no PAR1 at its end; encrypted files are not "
		        "read)");
	uint32_t flen;
	memcpy(&flen, tail, 4);
	if (flen > PQR_MAX_FOOTER || (int64_t)flen > size - 12)
		return pqr_bad(err, "footer length");
	sl_pq_reader *r = sl_calloc(1, sizeof *r);
	r->read_at = read_at;
	r->ctx = ctx;
	r->size = size;
	uint8_t *foot = sl_malloc(flen ? flen : 1);
	int rc = read_at(ctx, size - 8 - flen, foot, flen, err);
	if (rc == 0)
		rc = pqr_footer(r, foot, flen, err);
	free(foot);
	if (rc == 0)
		rc = pqr_schema(r, err);
	if (rc < 0) {
		sl_pq_reader_free(r);
		return rc;
	}
	*out = r;
	return 0;
}

const sl_field *sl_pq_reader_fields(const sl_pq_reader *r, int *n)
{
	*n = r->ncols;
	return r->fields;
}

int sl_pq_reader_row_groups(const sl_pq_reader *r)
{
	return r->nrg;
}

int64_t sl_pq_reader_rows(const sl_pq_reader *r)
{
	return r->rows;
}

void sl_pq_reader_free(sl_pq_reader *r)
{
	if (r == NULL)
		return;
	for (int i = 0; i < r->nelems; i++)
		free(r->elems[i].name);
	free(r->elems);
	for (int i = 0; i < r->nfields; i++)
		sl_field_reset(&r->fields[i]);
	free(r->fields);
	free(r->cols);
	free(r->chunks);
	free(r->rg_rows);
	free(r->arrow);
	sl_buf_free(&r->raw), sl_buf_free(&r->unc), sl_buf_free(&r->dict);
	free(r->def), free(r->rep), free(r->idx);
	free(r->dptr), free(r->dlen);
	free(r);
}

/* ---- pages ---- */

static int pqr_decompress(int codec, const uint8_t *src, size_t n, size_t unc, sl_buf *out,
                          sl_error *err)
{
	sl_buf_reset(out);
	if (unc > PQR_MAX_PAGE)
		return pqr_bad(err, "a page's size");
	uint8_t *dst = sl_buf_reserve(out, unc ? unc : 1);
	switch (codec) {
	case 0:
		if (n != unc)
			return pqr_bad(err, "an uncompressed page's sizes differ");
		memcpy(dst, src, n);
		break;
	case 1: {
		size_t len;
		if (snappy_uncompressed_length((const char *)src, n, &len) != SNAPPY_OK ||
		    len != unc ||
		    snappy_uncompress((const char *)src, n, (char *)dst, &len) != SNAPPY_OK)
			return pqr_bad(err, "a Snappy page does not decompress");
		break;
	}
	case 6: {
		size_t got = ZSTD_decompress(dst, unc, src, n);
		if (ZSTD_isError(got) || got != unc)
			return pqr_bad(err, "a ZSTD page does not decompress");
		break;
	}
	default:
		return sl_error_set(
		        err, SL_ERR_DATA,
		        "Parquet codec %d is not read here (UNCOMPRESSED, SNAPPY and ZSTD are)",
		        codec);
	}
	out->len = unc;
	return 0;
}

typedef struct pqr_page {
	int type, unc, comp, num_values, encoding, def_len, rep_len;
	bool compressed;
} pqr_page;

static int pqr_page_header(sl_tc_reader *t, pqr_page *h)
{
	int16_t id;
	int type;
	memset(h, 0, sizeof *h);
	h->type = -1;
	h->compressed = true;
	sl_tc_enter(t);
	while (sl_tc_next(t, &id, &type)) {
		if (id == 1)
			h->type = (int)sl_tc_read_int(t);
		else if (id == 2)
			h->unc = (int)sl_tc_read_int(t);
		else if (id == 3)
			h->comp = (int)sl_tc_read_int(t);
		else if ((id == 5 || id == 7 || id == 8) && type == SL_TC_STRUCT) {
			sl_tc_enter(t);
			int16_t sid;
			int st;
			while (sl_tc_next(t, &sid, &st)) {
				if (sid == 1)
					h->num_values = (int)sl_tc_read_int(t);
				else if (sid == 2 && id != 8)
					h->encoding = (int)sl_tc_read_int(t);
				else if (id == 8 && sid == 4)
					h->encoding = (int)sl_tc_read_int(t);
				else if (id == 8 && sid == 5)
					h->def_len = (int)sl_tc_read_int(t);
				else if (id == 8 && sid == 6)
					h->rep_len = (int)sl_tc_read_int(t);
				else if (id == 8 && sid == 7)
					h->compressed = st == SL_TC_TRUE;
				else
					sl_tc_skip(t, st);
			}
			t->depth--;
		} else
			sl_tc_skip(t, type);
	}
	t->depth--;
	return t->bad || h->type < 0 || h->unc < 0 || h->comp < 0 || h->num_values < 0 ||
	                       h->def_len < 0 || h->rep_len < 0
	               ? -1
	               : 0;
}

/* The byte width of one PLAIN value of a fixed-size physical type; 0 for BYTE_ARRAY. */
static size_t pqr_width(const pqr_col *c)
{
	switch (c->ptype) {
	case PT_INT32:
	case PT_FLOAT:
		return 4;
	case PT_INT64:
	case PT_DOUBLE:
		return 8;
	case PT_FLBA:
		return (size_t)c->type_length;
	}
	return 0;
}

/* Split n PLAIN values at p into pointers and lengths (booleans: handled apart). */
static int pqr_plain_split(const pqr_col *c, const uint8_t *p, size_t len, size_t n,
                           const uint8_t **ptr, uint32_t *lens)
{
	size_t w = pqr_width(c), at = 0;
	for (size_t i = 0; i < n; i++) {
		if (w) {
			if (len - at < w)
				return -1;
			ptr[i] = p + at, lens[i] = (uint32_t)w;
			at += w;
			continue;
		}
		uint32_t l;
		if (len - at < 4)
			return -1;
		memcpy(&l, p + at, 4);
		at += 4;
		if (len - at < l)
			return -1;
		ptr[i] = p + at, lens[i] = l;
		at += l;
	}
	return 0;
}

static void pqr_reserve_dict(sl_pq_reader *r, size_t n)
{
	if (n > r->cap_dict) {
		r->cap_dict = (uint32_t)n;
		r->dptr = sl_realloc(r->dptr, n * sizeof *r->dptr);
		r->dlen = sl_realloc(r->dlen, n * sizeof *r->dlen);
	}
}

/* Append one Parquet value (PLAIN bytes p[0..n)) to Arrow column col of field f. */
static int pqr_append(const pqr_col *c, const sl_field *f, sl_column *col, const uint8_t *p,
                      uint32_t n, sl_error *err)
{
	uint8_t tmp[32];
	switch (f->type) {
	case SL_TYPE_BOOL:
		if (n < 1)
			break;
		sl_col_append_bool(col, p[0] != 0);
		return 0;
	case SL_TYPE_INT8:
	case SL_TYPE_UINT8:
	case SL_TYPE_INT16:
	case SL_TYPE_UINT16:
		if (n != 4) /* INT32, little-endian: the low bytes first */
			break;
		sl_col_append_fixed(col, p,
		                    f->type == SL_TYPE_INT8 || f->type == SL_TYPE_UINT8 ? 1 : 2);
		return 0;
	case SL_TYPE_INT32:
	case SL_TYPE_UINT32:
	case SL_TYPE_DATE32:
	case SL_TYPE_FLOAT32:
	case SL_TYPE_INT64:
	case SL_TYPE_UINT64:
	case SL_TYPE_FLOAT64:
	case SL_TYPE_DATE64:
	case SL_TYPE_TIME64:
		if (n != (uint32_t)sl_type_value_width(f))
			break;
		sl_col_append_fixed(col, p, n);
		return 0;
	case SL_TYPE_FLOAT16: {
		if (n != 4)
			break;
		float x;
		memcpy(&x, p, 4);
		/* float → half, round to nearest (the writer widened exactly) */
		uint32_t b;
		memcpy(&b, &x, 4);
		uint16_t h = (uint16_t)((b >> 16) & 0x8000);
		int e = (int)((b >> 23) & 0xff) - 127 + 15;
		uint32_t m = b & 0x7fffff;
		if (((b >> 23) & 0xff) == 0xff)
			h |= (uint16_t)(0x7c00 | (m ? 0x200 : 0));
		else if (e >= 31)
			h |= 0x7c00;
		else if (e > 0)
			h |= (uint16_t)((e << 10) | ((m + 0x1000) >> 13));
		else if (e > -11)
			h |= (uint16_t)(((m | 0x800000) + (1u << (13 - e))) >> (14 - e));
		sl_col_append_fixed(col, &h, 2);
		return 0;
	}
	case SL_TYPE_TIME32: {
		if (n != 4)
			break;
		int32_t x;
		memcpy(&x, p, 4);
		if (f->unit == SL_UNIT_S)
			x /= 1000;
		sl_col_append_i32(col, x);
		return 0;
	}
	case SL_TYPE_TIMESTAMP: {
		if (n != 8)
			break;
		int64_t x;
		memcpy(&x, p, 8);
		if (f->unit == SL_UNIT_S && x != INT64_MAX && x != INT64_MIN)
			x /= 1000;
		sl_col_append_i64(col, x);
		return 0;
	}
	case SL_TYPE_INTERVAL_DT: {
		if (n != 8)
			break;
		int64_t ms;
		memcpy(&ms, p, 8);
		sl_interval_dt iv;
		if (!sl_interval_dt_from_ms(ms, &iv))
			return sl_error_set(err, SL_ERR_DATA,
			                    "Parquet column \"%s\": interval out of range",
			                    f->name);
		sl_col_append_fixed(col, &iv, 8);
		return 0;
	}
	case SL_TYPE_DECIMAL128:
	case SL_TYPE_DECIMAL256: {
		int width = f->type == SL_TYPE_DECIMAL128 ? 16 : 32;
		if (c->ptype == PT_BYTE_ARRAY && f->precision > 38 &&
		    f->type == SL_TYPE_DECIMAL256 &&
		    (n == 0 || p[0] == '-' || (p[0] >= '0' && p[0] <= '9'))) {
			/* sluice's own text form of a wide decimal */
			if (sl_decimal_from_text((const char *)p, n, width, f->scale, tmp) != 0)
				return sl_error_set(
				        err, SL_ERR_DATA,
				        "Parquet column \"%s\": a decimal's text does not fit",
				        f->name);
			sl_col_append_fixed(col, tmp, (size_t)width);
			return 0;
		}
		if (c->ptype == PT_INT32 || c->ptype == PT_INT64) {
			if (n != (c->ptype == PT_INT32 ? 4u : 8u))
				break;
			int64_t x;
			if (c->ptype == PT_INT32) {
				int32_t y;
				memcpy(&y, p, 4);
				x = y;
			} else {
				memcpy(&x, p, 8);
			}
			memset(tmp, x < 0 ? 0xff : 0, (size_t)width);
			memcpy(tmp, &x, 8);
		} else {
			/* big-endian two's complement, sign-extended */
			if (n == 0 || n > (uint32_t)width)
				break;
			memset(tmp, (p[0] & 0x80) ? 0xff : 0, (size_t)width);
			for (uint32_t k = 0; k < n; k++)
				tmp[k] = p[n - 1 - k];
		}
		sl_col_append_fixed(col, tmp, (size_t)width);
		return 0;
	}
	case SL_TYPE_UTF8:
	case SL_TYPE_LARGE_UTF8:
	case SL_TYPE_BINARY:
	case SL_TYPE_LARGE_BINARY:
		if (!sl_col_room(col, n))
			return sl_error_set(
			        err, SL_ERR_DATA,
			        "Parquet column \"%s\": a row group holds more than 2 GiB of "
			        "values",
			        f->name);
		sl_col_append_bytes(col, p, n);
		return 0;
	case SL_TYPE_FIXED_BINARY:
		if (n != (uint32_t)f->byte_width)
			break;
		sl_col_append_fixed(col, p, n);
		return 0;
	default:
		break;
	}
	return sl_error_set(err, SL_ERR_DATA,
	                    "Parquet column \"%s\": a value of %u bytes does not fit its type",
	                    f->name, n);
}

/* Narrow INT32 values for 1- and 2-byte integer fields (PLAIN INT32 holds them widened). */
static const uint8_t *pqr_narrow(const sl_field *f, const uint8_t *p, uint32_t *n, uint8_t *tmp)
{
	if ((f->type == SL_TYPE_INT8 || f->type == SL_TYPE_UINT8 || f->type == SL_TYPE_INT16 ||
	     f->type == SL_TYPE_UINT16) &&
	    *n == 4) {
		memcpy(tmp, p, 4); /* little-endian: the low bytes come first */
		return tmp;
	}
	return p;
}

/* Decode the values of one data page (levels already read: nlev of them) into the column. */
static int pqr_page_values(sl_pq_reader *r, const pqr_col *c, const sl_field *top, sl_column *col,
                           const pqr_page *h, const uint8_t *v, size_t vlen, size_t nlev,
                           sl_error *err)
{
	const sl_field *f = c->list ? top->child : top;
	sl_column *vc = c->list ? col->child : col;
	size_t nval = 0;
	for (size_t i = 0; i < nlev; i++)
		nval += r->def[i] == (uint32_t)c->max_def;
	/* the values, as pointers: from the dictionary, or PLAIN */
	const uint8_t **ptr = NULL;
	uint32_t *lens = NULL;
	uint8_t *bools = NULL;
	int rc = 0;
	if (nval > vlen * 8 + 8 &&
	    !(h->encoding == ENC_RLE_DICTIONARY || h->encoding == ENC_PLAIN_DICTIONARY))
		return pqr_bad(err, "a page holds fewer values than its levels say");
	if (h->encoding == ENC_RLE_DICTIONARY || h->encoding == ENC_PLAIN_DICTIONARY) {
		if (vlen < 1 || v[0] > 32)
			return pqr_bad(err, "a dictionary page's index width");
		if (nval > r->cap_idx) {
			r->cap_idx = nval;
			r->idx = sl_realloc(r->idx, nval * sizeof *r->idx);
		}
		if (sl_pq_rle_decode(v + 1, vlen - 1, v[0], r->idx, nval) < 0)
			return pqr_bad(err, "dictionary indexes");
		ptr = sl_malloc((nval ? nval : 1) * sizeof *ptr);
		lens = sl_malloc((nval ? nval : 1) * sizeof *lens);
		for (size_t i = 0; i < nval; i++) {
			if (r->idx[i] >= r->ndict) {
				rc = pqr_bad(err, "a dictionary index past the dictionary");
				goto out;
			}
			ptr[i] = r->dptr[r->idx[i]], lens[i] = r->dlen[r->idx[i]];
		}
	} else if (c->ptype == PT_BOOLEAN) {
		bools = sl_malloc(nval ? nval : 1);
		if (h->encoding == ENC_PLAIN) {
			if (vlen * 8 < nval) {
				rc = pqr_bad(err, "a boolean page is short");
				goto out;
			}
			for (size_t i = 0; i < nval; i++)
				bools[i] = (v[i >> 3] >> (i & 7)) & 1;
		} else if (h->encoding == ENC_RLE) {
			uint32_t *tmpv = sl_malloc((nval ? nval : 1) * sizeof *tmpv), blen;
			if (vlen < 4 || (memcpy(&blen, v, 4), blen > vlen - 4) ||
			    sl_pq_rle_decode(v + 4, blen, 1, tmpv, nval) < 0) {
				free(tmpv);
				rc = pqr_bad(err, "RLE booleans");
				goto out;
			}
			for (size_t i = 0; i < nval; i++)
				bools[i] = (uint8_t)tmpv[i];
			free(tmpv);
		} else {
			goto encoding;
		}
		ptr = sl_malloc((nval ? nval : 1) * sizeof *ptr);
		lens = sl_malloc((nval ? nval : 1) * sizeof *lens);
		for (size_t i = 0; i < nval; i++)
			ptr[i] = &bools[i], lens[i] = 1;
	} else if (h->encoding == ENC_PLAIN) {
		ptr = sl_malloc((nval ? nval : 1) * sizeof *ptr);
		lens = sl_malloc((nval ? nval : 1) * sizeof *lens);
		if (pqr_plain_split(c, v, vlen, nval, ptr, lens) < 0) {
			rc = pqr_bad(err, "PLAIN values are short");
			goto out;
		}
	} else {
		goto encoding;
	}
	/* levels → rows */
	size_t k = 0;
	for (size_t i = 0; i < nlev && rc == 0; i++) {
		uint32_t d = r->def[i];
		uint8_t tmp[4];
		if (!c->list) {
			if (d == (uint32_t)c->max_def) {
				uint32_t n = lens[k];
				const uint8_t *p = pqr_narrow(f, ptr[k], &n, tmp);
				rc = pqr_append(c, f, col, p, n, err);
				k++;
			} else {
				sl_col_append_null(col);
			}
			continue;
		}
		/* a row starts at repetition level 0: the open list (perhaps begun on an earlier
		 * page) closes; a definition level below list_def is a NULL list, list_def an empty
		 * one */
		if (r->rep[i] == 0) {
			if (r->list_open)
				sl_col_end_list(col);
			r->list_open = false;
			if (d < (uint32_t)c->list_def) {
				sl_col_append_null(col);
				continue;
			}
			r->list_open = true;
		} else if (!r->list_open) {
			rc = pqr_bad(err, "a repeated value outside a list");
			break;
		}
		if (d == (uint32_t)c->max_def) {
			uint32_t n = lens[k];
			const uint8_t *p = pqr_narrow(f, ptr[k], &n, tmp);
			rc = pqr_append(c, f, vc, p, n, err);
			k++;
		} else if (d > (uint32_t)c->list_def) {
			sl_col_append_null(vc);
		}
	}
out:
	free(ptr);
	free(lens);
	free(bools);
	return rc;
encoding:
	rc = sl_error_set(err, SL_ERR_DATA,
	                  "Parquet column \"%s\": encoding %d is not read here (PLAIN, dictionary "
	                  "and RLE booleans are)",
	                  top->name, h->encoding);
	goto out;
}

static int pqr_levels(const uint8_t *p, size_t len, int max, uint32_t *out, size_t n)
{
	return sl_pq_rle_decode(p, len, sl_pq_bit_width((uint32_t)max), out, n);
}

static int pqr_column(sl_pq_reader *r, int g, int ci, sl_column *col, sl_error *err)
{
	const pqr_col *c = &r->cols[ci];
	const pqr_chunk *ch = &r->chunks[(size_t)g * (size_t)r->ncols + (size_t)ci];
	const sl_field *top = &r->fields[ci];
	int64_t start =
	        ch->dict_off > 0 && ch->dict_off < ch->data_off ? ch->dict_off : ch->data_off;
	if (start < 4 || ch->comp <= 0 || ch->comp > r->size - start ||
	    (size_t)ch->comp > PQR_MAX_PAGE)
		return pqr_bad(err, "a column chunk's offsets");
	sl_buf_reset(&r->raw);
	SL_TRY(r->read_at(r->ctx, start, sl_buf_reserve(&r->raw, (size_t)ch->comp),
	                  (size_t)ch->comp, err));
	r->raw.len = (size_t)ch->comp;
	r->ndict = 0;
	r->list_open = false;
	sl_buf_reset(&r->dict);
	const uint8_t *p = r->raw.data, *end = p + r->raw.len;
	int64_t seen = 0;
	while (seen < ch->num_values) {
		sl_tc_reader t;
		sl_tc_reader_init(&t, p, (size_t)(end - p));
		pqr_page h;
		if (pqr_page_header(&t, &h) < 0 || h.comp > end - t.p)
			return pqr_bad(err, "a page header");
		const uint8_t *body = t.p;
		p = t.p + h.comp;
		if (h.type == PAGE_DICTIONARY) {
			SL_TRY(pqr_decompress(ch->codec, body, (size_t)h.comp, (size_t)h.unc,
			                      &r->dict, err));
			if (c->ptype == PT_BOOLEAN || (size_t)h.num_values > r->dict.len + 1)
				return pqr_bad(err, "a dictionary page");
			pqr_reserve_dict(r, (size_t)h.num_values + 1);
			if (pqr_plain_split(c, r->dict.data, r->dict.len, (size_t)h.num_values,
			                    r->dptr, r->dlen) < 0)
				return pqr_bad(err, "a dictionary page's values");
			r->ndict = (uint32_t)h.num_values;
			continue;
		}
		if (h.type != PAGE_DATA && h.type != PAGE_DATA_V2)
			continue; /* index pages and others: not needed */
		size_t nlev = (size_t)h.num_values;
		if (nlev > PQR_MAX_LEVELS || (int64_t)nlev > ch->num_values - seen)
			return pqr_bad(err, "a page's value count");
		if (nlev == 0)
			continue; /* an empty page */
		if (nlev > r->cap_levels) {
			r->cap_levels = nlev;
			r->def = sl_realloc(r->def, nlev * sizeof *r->def);
			r->rep = sl_realloc(r->rep, nlev * sizeof *r->rep);
		}
		const uint8_t *v;
		size_t vlen;
		if (h.type == PAGE_DATA) {
			SL_TRY(pqr_decompress(ch->codec, body, (size_t)h.comp, (size_t)h.unc,
			                      &r->unc, err));
			const uint8_t *q = r->unc.data, *qe = q + r->unc.len;
			uint32_t l;
			if (c->max_rep) {
				if (qe - q < 4 || (memcpy(&l, q, 4), l > (size_t)(qe - q) - 4) ||
				    pqr_levels(q + 4, l, c->max_rep, r->rep, nlev) < 0)
					return pqr_bad(err, "repetition levels");
				q += 4 + l;
			}
			if (c->max_def) {
				if (qe - q < 4 || (memcpy(&l, q, 4), l > (size_t)(qe - q) - 4) ||
				    pqr_levels(q + 4, l, c->max_def, r->def, nlev) < 0)
					return pqr_bad(err, "definition levels");
				q += 4 + l;
			}
			v = q, vlen = (size_t)(qe - q);
		} else {
			size_t lv = (size_t)h.rep_len + (size_t)h.def_len;
			if (lv > (size_t)h.comp || lv > (size_t)h.unc)
				return pqr_bad(err, "a v2 page's level lengths");
			if ((c->max_rep &&
			     pqr_levels(body, (size_t)h.rep_len, c->max_rep, r->rep, nlev) < 0) ||
			    (c->max_def && pqr_levels(body + h.rep_len, (size_t)h.def_len,
			                              c->max_def, r->def, nlev) < 0))
				return pqr_bad(err, "a v2 page's levels");
			if (h.compressed && ch->codec != 0) {
				SL_TRY(pqr_decompress(ch->codec, body + lv, (size_t)h.comp - lv,
				                      (size_t)h.unc - lv, &r->unc, err));
				v = r->unc.data, vlen = r->unc.len;
			} else {
				v = body + lv, vlen = (size_t)h.comp - lv;
			}
		}
		if (!c->max_rep)
			memset(r->rep, 0, nlev * sizeof *r->rep);
		if (!c->max_def)
			for (size_t i = 0; i < nlev; i++)
				r->def[i] = 0;
		for (size_t i = 0; i < nlev; i++)
			if (r->def[i] > (uint32_t)c->max_def || r->rep[i] > (uint32_t)c->max_rep ||
			    (i == 0 && r->rep[i] != 0))
				return pqr_bad(err, "levels out of range");
		SL_TRY(pqr_page_values(r, c, top, col, &h, v, vlen, nlev, err));
		seen += (int64_t)nlev;
	}
	if (r->list_open)
		sl_col_end_list(col);
	r->list_open = false;
	return 0;
}

int sl_pq_read_row_group(sl_pq_reader *r, int g, sl_batch *b, sl_error *err)
{
	if (g < 0 || g >= r->nrg)
		return sl_error_set(err, SL_ERR_INTERNAL, "Parquet row group %d of %d", g, r->nrg);
	int64_t before = b->length;
	for (int i = 0; i < r->ncols; i++) {
		SL_TRY(pqr_column(r, g, i, &b->cols[i], err));
		if (b->cols[i].length - before != r->rg_rows[g])
			return pqr_bad(err, "a column's row count differs from its row group's");
	}
	b->length += r->rg_rows[g];
	return 0;
}
