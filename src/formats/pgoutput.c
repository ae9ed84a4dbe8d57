/* pgoutput logical replication message decoder (see pgoutput.h).
 *
 * Implemented from PostgreSQL's "Logical Replication Message Formats" documentation (protocol
 * versions 1 and 2). Every read goes through the pgo_rd helpers below, which check the remaining
 * length first, so no path reads past the end of the buffer. */
#include "formats/pgoutput.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"

typedef struct pgo_rd {
	const uint8_t *p;
	size_t len;
	size_t pos;
	const char *msg;  /* message name for errors, e.g. "Update" */
	const char *part; /* what is being read, e.g. "new tuple", put before `what` in errors */
	sl_error *err;
} pgo_rd;

static const char *pgo_type_name(uint8_t t)
{
	switch (t) {
	case SL_PGO_BEGIN:
		return "Begin";
	case SL_PGO_COMMIT:
		return "Commit";
	case SL_PGO_ORIGIN:
		return "Origin";
	case SL_PGO_RELATION:
		return "Relation";
	case SL_PGO_TYPE:
		return "Type";
	case SL_PGO_INSERT:
		return "Insert";
	case SL_PGO_UPDATE:
		return "Update";
	case SL_PGO_DELETE:
		return "Delete";
	case SL_PGO_TRUNCATE:
		return "Truncate";
	case SL_PGO_MESSAGE:
		return "Message";
	case SL_PGO_STREAM_START:
		return "Stream Start";
	case SL_PGO_STREAM_STOP:
		return "Stream Stop";
	case SL_PGO_STREAM_COMMIT:
		return "Stream Commit";
	case SL_PGO_STREAM_ABORT:
		return "Stream Abort";
	default:
		return NULL;
	}
}

/* "pgoutput: Update message truncated in new tuple column 3 (byte 41 of 41)": `what` names the
 * field, and `col` (1-based) numbers it when it is one of several ("new tuple column" 3,
 * "relation id" 2), 0 otherwise. */
static int rd_fail(pgo_rd *r, const char *problem, const char *what, int col)
{
	const char *part = r->part ? r->part : "", *sp = r->part ? " " : "";
	if (col > 0)
		return sl_error_set(r->err, SL_ERR_DATA,
		                    "pgoutput: %s message %s in %s%s%s %d (byte %zu of %zu)",
		                    r->msg, problem, part, sp, what, col, r->pos, r->len);
	return sl_error_set(r->err, SL_ERR_DATA,
	                    "pgoutput: %s message %s in %s%s%s (byte %zu of %zu)", r->msg, problem,
	                    part, sp, what, r->pos, r->len);
}

static int rd_need(pgo_rd *r, size_t n, const char *what, int col)
{
	if (r->len - r->pos < n)
		return rd_fail(r, "truncated", what, col);
	return 0;
}

static int rd_u8(pgo_rd *r, uint8_t *v, const char *what, int col)
{
	SL_TRY(rd_need(r, 1, what, col));
	*v = r->p[r->pos++];
	return 0;
}

static int rd_u16(pgo_rd *r, uint16_t *v, const char *what, int col)
{
	SL_TRY(rd_need(r, 2, what, col));
	const uint8_t *p = r->p + r->pos;
	*v = (uint16_t)(p[0] << 8 | p[1]);
	r->pos += 2;
	return 0;
}

static int rd_u32(pgo_rd *r, uint32_t *v, const char *what, int col)
{
	SL_TRY(rd_need(r, 4, what, col));
	const uint8_t *p = r->p + r->pos;
	*v = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
	r->pos += 4;
	return 0;
}

static int rd_u64(pgo_rd *r, uint64_t *v, const char *what, int col)
{
	uint32_t hi, lo;
	SL_TRY(rd_need(r, 8, what, col));
	SL_TRY(rd_u32(r, &hi, what, col));
	SL_TRY(rd_u32(r, &lo, what, col));
	*v = (uint64_t)hi << 32 | lo;
	return 0;
}

/* A signed Int32 length that must not be negative. */
static int rd_len(pgo_rd *r, int32_t *v, const char *what, int col)
{
	uint32_t u;
	SL_TRY(rd_u32(r, &u, what, col));
	*v = (int32_t)u;
	if (*v < 0) {
		char problem[64];
		r->pos -= 4;
		snprintf(problem, sizeof problem, "has a negative length (%d)", (int)*v);
		return rd_fail(r, problem, what, col);
	}
	return 0;
}

/* An Int16 count that must not be negative. */
static int rd_count16(pgo_rd *r, int *v, const char *what)
{
	uint16_t u;
	SL_TRY(rd_u16(r, &u, what, 0));
	*v = (int16_t)u;
	if (*v < 0) {
		char problem[64];
		r->pos -= 2;
		snprintf(problem, sizeof problem, "has a negative count (%d)", *v);
		return rd_fail(r, problem, what, 0);
	}
	return 0;
}

/* A NUL-terminated string; *s points into the buffer. */
static int rd_str(pgo_rd *r, const char **s, const char *what, int col)
{
	SL_TRY(rd_need(r, 1, what, col));
	const uint8_t *start = r->p + r->pos;
	const uint8_t *nul = memchr(start, 0, r->len - r->pos);
	if (nul == NULL)
		return rd_fail(r, "truncated (string without terminator)", what, col);
	*s = (const char *)start;
	r->pos += (size_t)(nul - start) + 1;
	return 0;
}

/* Grow an array to hold `need` elements of `size` bytes; `*cap` is in elements. */
static void *grow(void *arr, int *cap, int need, size_t size)
{
	if (need <= *cap)
		return arr;
	int n = *cap > 0 ? *cap : 8;
	while (n < need)
		n = n > INT_MAX / 2 ? need : n * 2;
	arr = sl_realloc(arr, (size_t)n * size);
	*cap = n;
	return arr;
}

/* The transaction's xid that data messages carry inside a streamed transaction. */
static int rd_stream_xid(pgo_rd *r, bool in_stream, sl_pgo_msg *m)
{
	if (!in_stream)
		return 0;
	SL_TRY(rd_u32(r, &m->xid, "xid", 0));
	m->has_xid = true;
	return 0;
}

/* TupleData: Int16 ncols, then per column a kind byte and for 't'/'b' an Int32 length and bytes.
 * `which` is "new tuple", "old tuple" or "key tuple" for errors; it goes into r->part, so an
 * error's text is put together only when one happens (this runs for every row). */
static int rd_tuple(pgo_rd *r, sl_pgo_tuple *t, const char *which)
{
	static const char col[] = "column";
	int n;

	t->ncols = 0;
	r->part = which;
	SL_TRY(rd_count16(r, &n, "column count"));
	/* Every column takes at least its kind byte. When the buffer cannot hold the announced
	 * count, allocate nothing and only walk the columns, which fails at the exact point. */
	bool fits = (size_t)n <= r->len - r->pos;
	if (fits)
		t->values = grow(t->values, &t->cap, n, sizeof *t->values);
	for (int i = 0; i < n; i++) {
		sl_pgo_value scratch, *v = fits ? &t->values[i] : &scratch;
		uint8_t kind;
		SL_TRY(rd_u8(r, &kind, col, i + 1));
		v->kind = (char)kind;
		v->len = 0;
		v->data = NULL;
		switch (kind) {
		case 'n':
		case 'u':
			break;
		case 't':
		case 'b':
			SL_TRY(rd_len(r, &v->len, col, i + 1));
			SL_TRY(rd_need(r, (size_t)v->len, col, i + 1));
			v->data = r->p + r->pos;
			r->pos += (size_t)v->len;
			break;
		default: {
			char problem[64];
			r->pos--;
			snprintf(problem, sizeof problem, "has an unknown value kind 0x%02x", kind);
			return rd_fail(r, problem, col, i + 1);
		}
		}
	}
	if (!fits) /* cannot happen: n bytes or more were read */
		return sl_error_set(r->err, SL_ERR_INTERNAL, "pgoutput: tuple count check");
	t->ncols = n;
	r->part = NULL;
	return 0;
}

static int bad_marker(pgo_rd *r, uint8_t got, const char *expected)
{
	r->pos--;
	return sl_error_set(r->err, SL_ERR_DATA,
	                    "pgoutput: %s message has tuple marker 0x%02x where %s was expected "
	                    "(byte %zu of %zu)",
	                    r->msg, got, expected, r->pos, r->len);
}

static int dec_relation(pgo_rd *r, bool in_stream, sl_pgo_msg *m)
{
	uint8_t ri;
	int n;

	SL_TRY(rd_stream_xid(r, in_stream, m));
	SL_TRY(rd_u32(r, &m->relid, "relation id", 0));
	SL_TRY(rd_str(r, &m->nspname, "namespace", 0));
	SL_TRY(rd_str(r, &m->relname, "relation name", 0));
	SL_TRY(rd_u8(r, &ri, "replica identity", 0));
	m->replident = (char)ri;
	SL_TRY(rd_count16(r, &n, "column count"));
	/* a column takes at least 10 bytes (flags, empty name, type oid, typmod); as in rd_tuple,
	 * a count the buffer cannot hold allocates nothing and fails where the data ends */
	bool fits = (size_t)n <= (r->len - r->pos) / 10;
	if (fits)
		m->columns = grow(m->columns, &m->columns_cap, n, sizeof *m->columns);
	for (int i = 0; i < n; i++) {
		sl_pgo_column scratch, *c = fits ? &m->columns[i] : &scratch;
		uint32_t typmod;
		SL_TRY(rd_u8(r, &c->flags, "column", i + 1));
		SL_TRY(rd_str(r, &c->name, "column", i + 1));
		SL_TRY(rd_u32(r, &c->type_oid, "column", i + 1));
		SL_TRY(rd_u32(r, &typmod, "column", i + 1));
		c->typmod = (int32_t)typmod;
	}
	if (!fits) /* cannot happen: 10 * n bytes or more were read */
		return sl_error_set(r->err, SL_ERR_INTERNAL, "pgoutput: column count check");
	m->ncolumns = n;
	return 0;
}

static int dec_type(pgo_rd *r, bool in_stream, sl_pgo_msg *m)
{
	SL_TRY(rd_stream_xid(r, in_stream, m));
	SL_TRY(rd_u32(r, &m->type_oid, "type oid", 0));
	SL_TRY(rd_str(r, &m->type_nsp, "namespace", 0));
	SL_TRY(rd_str(r, &m->type_name, "type name", 0));
	return 0;
}

static int dec_insert(pgo_rd *r, bool in_stream, sl_pgo_msg *m)
{
	uint8_t mk;

	SL_TRY(rd_stream_xid(r, in_stream, m));
	SL_TRY(rd_u32(r, &m->relid, "relation id", 0));
	SL_TRY(rd_u8(r, &mk, "tuple marker", 0));
	if (mk != 'N')
		return bad_marker(r, mk, "'N'");
	return rd_tuple(r, &m->new_tuple, "new tuple");
}

static int dec_update(pgo_rd *r, bool in_stream, sl_pgo_msg *m)
{
	uint8_t mk;

	SL_TRY(rd_stream_xid(r, in_stream, m));
	SL_TRY(rd_u32(r, &m->relid, "relation id", 0));
	SL_TRY(rd_u8(r, &mk, "tuple marker", 0));
	if (mk == 'K' || mk == 'O') {
		m->old_kind = (char)mk;
		SL_TRY(rd_tuple(r, &m->old_tuple, mk == 'K' ? "key tuple" : "old tuple"));
		SL_TRY(rd_u8(r, &mk, "new tuple marker", 0));
		if (mk != 'N')
			return bad_marker(r, mk, "'N'");
	} else if (mk != 'N') {
		return bad_marker(r, mk, "'K', 'O' or 'N'");
	}
	return rd_tuple(r, &m->new_tuple, "new tuple");
}

static int dec_delete(pgo_rd *r, bool in_stream, sl_pgo_msg *m)
{
	uint8_t mk;

	SL_TRY(rd_stream_xid(r, in_stream, m));
	SL_TRY(rd_u32(r, &m->relid, "relation id", 0));
	SL_TRY(rd_u8(r, &mk, "tuple marker", 0));
	if (mk != 'K' && mk != 'O')
		return bad_marker(r, mk, "'K' or 'O'");
	m->old_kind = (char)mk;
	return rd_tuple(r, &m->old_tuple, mk == 'K' ? "key tuple" : "old tuple");
}

static int dec_truncate(pgo_rd *r, bool in_stream, sl_pgo_msg *m)
{
	int32_t n;

	SL_TRY(rd_stream_xid(r, in_stream, m));
	SL_TRY(rd_len(r, &n, "relation count", 0));
	SL_TRY(rd_u8(r, &m->truncate_options, "options", 0));
	if ((size_t)n > (r->len - r->pos) / 4) {
		/* fail where the data ends, without allocating for the announced count */
		uint32_t scratch;
		for (int i = 0; i < n; i++)
			SL_TRY(rd_u32(r, &scratch, "relation id", i + 1));
		return sl_error_set(r->err, SL_ERR_INTERNAL, "pgoutput: Truncate count check");
	}
	m->relids = grow(m->relids, &m->relids_cap, n, sizeof *m->relids);
	for (int i = 0; i < n; i++)
		SL_TRY(rd_u32(r, &m->relids[i], "relation id", i + 1));
	m->nrelids = n;
	return 0;
}

static int dec_message(pgo_rd *r, bool in_stream, sl_pgo_msg *m)
{
	int32_t n;

	SL_TRY(rd_stream_xid(r, in_stream, m));
	SL_TRY(rd_u8(r, &m->flags, "flags", 0));
	SL_TRY(rd_u64(r, &m->lsn, "LSN", 0));
	SL_TRY(rd_str(r, &m->prefix, "prefix", 0));
	SL_TRY(rd_len(r, &n, "content length", 0));
	SL_TRY(rd_need(r, (size_t)n, "content", 0));
	m->content = r->p + r->pos;
	m->content_len = (uint32_t)n;
	r->pos += (size_t)n;
	return 0;
}

static int rd_ts(pgo_rd *r, int64_t *ts, const char *what)
{
	uint64_t u;
	SL_TRY(rd_u64(r, &u, what, 0));
	*ts = (int64_t)u;
	return 0;
}

static int dec_body(pgo_rd *r, uint8_t type, bool in_stream, sl_pgo_msg *m)
{
	uint8_t b;

	switch (type) {
	case SL_PGO_BEGIN:
		SL_TRY(rd_u64(r, &m->lsn, "final LSN", 0));
		SL_TRY(rd_ts(r, &m->ts, "commit timestamp"));
		SL_TRY(rd_u32(r, &m->xid, "xid", 0));
		m->has_xid = true;
		return 0;
	case SL_PGO_COMMIT:
		SL_TRY(rd_u8(r, &m->flags, "flags", 0));
		SL_TRY(rd_u64(r, &m->lsn, "commit LSN", 0));
		SL_TRY(rd_u64(r, &m->end_lsn, "end LSN", 0));
		return rd_ts(r, &m->ts, "commit timestamp");
	case SL_PGO_ORIGIN:
		SL_TRY(rd_u64(r, &m->lsn, "origin LSN", 0));
		return rd_str(r, &m->origin_name, "origin name", 0);
	case SL_PGO_RELATION:
		return dec_relation(r, in_stream, m);
	case SL_PGO_TYPE:
		return dec_type(r, in_stream, m);
	case SL_PGO_INSERT:
		return dec_insert(r, in_stream, m);
	case SL_PGO_UPDATE:
		return dec_update(r, in_stream, m);
	case SL_PGO_DELETE:
		return dec_delete(r, in_stream, m);
	case SL_PGO_TRUNCATE:
		return dec_truncate(r, in_stream, m);
	case SL_PGO_MESSAGE:
		return dec_message(r, in_stream, m);
	case SL_PGO_STREAM_START:
		SL_TRY(rd_u32(r, &m->xid, "xid", 0));
		m->has_xid = true;
		SL_TRY(rd_u8(r, &b, "first-segment flag", 0));
		m->first_segment = b != 0;
		return 0;
	case SL_PGO_STREAM_STOP:
		return 0;
	case SL_PGO_STREAM_COMMIT:
		SL_TRY(rd_u32(r, &m->xid, "xid", 0));
		m->has_xid = true;
		SL_TRY(rd_u8(r, &m->flags, "flags", 0));
		SL_TRY(rd_u64(r, &m->lsn, "commit LSN", 0));
		SL_TRY(rd_u64(r, &m->end_lsn, "end LSN", 0));
		return rd_ts(r, &m->ts, "commit timestamp");
	case SL_PGO_STREAM_ABORT:
		SL_TRY(rd_u32(r, &m->xid, "xid", 0));
		m->has_xid = true;
		SL_TRY(rd_u32(r, &m->subxid, "subtransaction xid", 0));
		/* PostgreSQL 16+ (protocol 4, parallel apply) appends the abort LSN and time */
		if (r->pos < r->len) {
			SL_TRY(rd_u64(r, &m->lsn, "abort LSN", 0));
			SL_TRY(rd_ts(r, &m->ts, "abort timestamp"));
		}
		return 0;
	default:
		return sl_error_set(r->err, SL_ERR_INTERNAL, "pgoutput: no decoder for type 0x%02x",
		                    type);
	}
}

/* Zero every field but keep the arrays (and their capacity) for reuse. */
static void msg_reset(sl_pgo_msg *m)
{
	sl_pgo_msg keep = *m;
	memset(m, 0, sizeof *m);
	m->columns = keep.columns;
	m->columns_cap = keep.columns_cap;
	m->old_tuple.values = keep.old_tuple.values;
	m->old_tuple.cap = keep.old_tuple.cap;
	m->new_tuple.values = keep.new_tuple.values;
	m->new_tuple.cap = keep.new_tuple.cap;
	m->relids = keep.relids;
	m->relids_cap = keep.relids_cap;
}

int sl_pgo_decode(const uint8_t *buf, size_t len, bool in_stream, sl_pgo_msg *m, sl_error *err)
{
	msg_reset(m);
	if (len == 0)
		return sl_error_set(err, SL_ERR_DATA, "pgoutput: empty message");
	uint8_t type = buf[0];
	const char *name = pgo_type_name(type);
	if (name == NULL) {
		if (type >= 0x20 && type < 0x7f)
			return sl_error_set(err, SL_ERR_DATA,
			                    "pgoutput: unknown message type '%c' (%zu bytes)", type,
			                    len);
		return sl_error_set(err, SL_ERR_DATA,
		                    "pgoutput: unknown message type 0x%02x (%zu bytes)", type, len);
	}
	pgo_rd r = {.p = buf, .len = len, .pos = 1, .msg = name, .err = err};
	int rc = dec_body(&r, type, in_stream, m);
	if (rc == 0 && r.pos != len)
		rc = sl_error_set(err, SL_ERR_DATA,
		                  "pgoutput: %s message has %zu trailing bytes after byte %zu",
		                  name, len - r.pos, r.pos);
	if (rc < 0) {
		msg_reset(m);
		return rc;
	}
	m->type = (char)type;
	return 0;
}

void sl_pgo_msg_free(sl_pgo_msg *m)
{
	free(m->columns);
	free(m->old_tuple.values);
	free(m->new_tuple.values);
	free(m->relids);
	memset(m, 0, sizeof *m);
}
