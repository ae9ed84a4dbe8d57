/* The metrics registry and its Prometheus text form: see metrics.h. */
#include "core/metrics.h"

#include <dirent.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/mem.h"
#include "formats/json.h"

const double sl_metric_bounds[SL_METRIC_NBOUNDS] = {
        1e6, 2.5e6, 5e6, 1e7, 2.5e7, 5e7, 1e8, 2.5e8, 5e8, 1e9, 2.5e9, 5e9, 1e10, 3e10, 6e10, 6e11,
};

#define SL_METRICS_LABELS 4
#define SL_METRICS_COLLECTORS 4

struct sl_metric {
	sl_metric_kind kind;
	char *name, *unit, *help, *lkey, *lval;
	_Atomic uint64_t u; /* counter; gauge: the double's bits */
	_Atomic int64_t i;  /* up-down counter */
	_Atomic uint64_t buckets[SL_METRIC_NBOUNDS + 1], sum; /* histogram: ns */
	sl_metric *next;
	sl_metric *hnext; /* in its hash slot */
	uint64_t hash;    /* of name, lkey and lval */
};

struct sl_metrics {
	pthread_mutex_t mu;
	char *keys[SL_METRICS_LABELS], *vals[SL_METRICS_LABELS];
	int nlabels;
	sl_metric *head, *tail;
	/* lookups: every series by hash (a run has a few series per table, so thousands with
	 * thousands of tables), and each name's last series (a name's series stay together) */
	sl_metric **slots;
	size_t nslots, nseries;
	struct sl_metric_family {
		const char *name; /* its first series' */
		sl_metric *last;
	} * fams;
	int nfams;
	struct {
		void (*fn)(void *ctx, sl_metrics *m);
		void *ctx;
	} coll[SL_METRICS_COLLECTORS];
	int ncoll;
	double cpu_s, wall_s; /* the process collector's last sample */
};

sl_metrics *sl_metrics_create(void)
{
	sl_metrics *m = sl_calloc(1, sizeof *m);
	pthread_mutex_init(&m->mu, NULL);
	return m;
}

void sl_metrics_destroy(sl_metrics *m)
{
	if (!m)
		return;
	for (sl_metric *s = m->head, *next; s; s = next) {
		next = s->next;
		free(s->name), free(s->unit), free(s->help), free(s->lkey), free(s->lval);
		free(s);
	}
	free(m->slots);
	free(m->fams);
	for (int i = 0; i < m->nlabels; i++)
		free(m->keys[i]), free(m->vals[i]);
	pthread_mutex_destroy(&m->mu);
	free(m);
}

void sl_metrics_label(sl_metrics *m, const char *key, const char *value)
{
	pthread_mutex_lock(&m->mu);
	if (m->nlabels < SL_METRICS_LABELS) {
		m->keys[m->nlabels] = sl_strdup(key);
		m->vals[m->nlabels++] = sl_strdup(value ? value : "");
	}
	pthread_mutex_unlock(&m->mu);
}

static bool sl_same(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0);
}

static uint64_t sl_metric_hash(const char *name, const char *lkey, const char *lval)
{
	uint64_t h = 14695981039346656037ull; /* FNV-1a over the three, each ended by a 0 */
	const char *parts[3] = {name, lkey ? lkey : "", lval ? lval : ""};
	for (int i = 0; i < 3; i++) {
		for (const char *p = parts[i]; *p; p++)
			h = (h ^ (unsigned char)*p) * 1099511628211ull;
		h = (h ^ (lkey || i == 0 ? 0u : 1u)) * 1099511628211ull;
	}
	return h;
}

static void sl_metrics_rehash(sl_metrics *m)
{
	size_t n = m->nslots ? m->nslots * 2 : 64;
	sl_metric **slots = sl_calloc(n, sizeof *slots);
	for (sl_metric *s = m->head; s; s = s->next) {
		size_t i = s->hash & (n - 1);
		s->hnext = slots[i];
		slots[i] = s;
	}
	free(m->slots);
	m->slots = slots;
	m->nslots = n;
}

sl_metric *sl_metrics_series(sl_metrics *m, sl_metric_kind kind, const char *name, const char *unit,
                             const char *help, const char *lkey, const char *lval)
{
	pthread_mutex_lock(&m->mu);
	struct sl_metric_family *fam = NULL;
	for (int i = 0; i < m->nfams && !fam; i++)
		if (strcmp(m->fams[i].name, name) == 0)
			fam = &m->fams[i];
	if (fam && (fam->last->kind != kind || strcmp(fam->last->unit, unit) != 0)) {
		fprintf(stderr, "sluice: metric %s registered twice, differently\n", name);
		abort();
	}
	uint64_t h = sl_metric_hash(name, lkey, lval);
	sl_metric *s = NULL;
	if (fam)
		for (s = m->slots[h & (m->nslots - 1)]; s; s = s->hnext)
			if (s->hash == h && strcmp(s->name, name) == 0 && sl_same(s->lkey, lkey) &&
			    sl_same(s->lval, lval))
				break;
	if (!s) {
		s = sl_calloc(1, sizeof *s);
		s->kind = kind;
		s->name = sl_strdup(name);
		s->unit = sl_strdup(unit);
		s->help = sl_strdup(help);
		s->lkey = lkey ? sl_strdup(lkey) : NULL;
		s->lval = lval ? sl_strdup(lval) : NULL;
		s->hash = h;
		/* after the last series of its name: a name's series stay together (exporters
		 * print them as one family) */
		sl_metric *last = fam ? fam->last : NULL;
		if (last) {
			s->next = last->next;
			last->next = s;
			if (m->tail == last)
				m->tail = s;
		} else if (m->tail) {
			m->tail->next = s;
			m->tail = s;
		} else {
			m->head = m->tail = s;
		}
		if (fam) {
			fam->last = s;
		} else {
			m->fams = sl_realloc(m->fams, sizeof *m->fams * (size_t)(m->nfams + 1));
			m->fams[m->nfams++] = (struct sl_metric_family){s->name, s};
		}
		if (++m->nseries > m->nslots / 2) {
			sl_metrics_rehash(m);
		} else {
			size_t i = h & (m->nslots - 1);
			s->hnext = m->slots[i];
			m->slots[i] = s;
		}
	}
	pthread_mutex_unlock(&m->mu);
	return s;
}

sl_metric *sl_metrics_flow(sl_metrics *m, sl_flow which, const char *table)
{
	static const struct {
		const char *name, *unit, *help;
	} flows[SL_NFLOWS] = {
	        [SL_ROWS_IN] = {"rows.in", "1", "Rows read from the source"},
	        [SL_BYTES_IN] = {"bytes.in", "By", "Bytes read from the source (as Arrow columns)"},
	        [SL_ROWS_OUT] = {"rows.out", "1", "Rows written to the target"},
	        [SL_BYTES_OUT] = {"bytes.out", "By",
	                          "Bytes written to the target (as Arrow columns)"},
	};
	return sl_metrics_series(m, SL_METRIC_COUNTER, flows[which].name, flows[which].unit,
	                         flows[which].help, "table", table);
}

void sl_metric_add(sl_metric *s, uint64_t v)
{
	atomic_fetch_add_explicit(&s->u, v, memory_order_relaxed);
}

void sl_metric_add_i64(sl_metric *s, int64_t v)
{
	atomic_fetch_add_explicit(&s->i, v, memory_order_relaxed);
}

void sl_metric_set(sl_metric *s, double v)
{
	if (s->kind == SL_METRIC_UPDOWN) {
		atomic_store_explicit(&s->i, (int64_t)llround(v), memory_order_relaxed);
	} else if (s->kind == SL_METRIC_COUNTER) {
		atomic_store_explicit(&s->u, v > 0 ? (uint64_t)llround(v) : 0,
		                      memory_order_relaxed);
	} else {
		uint64_t bits;
		memcpy(&bits, &v, sizeof bits);
		atomic_store_explicit(&s->u, bits, memory_order_relaxed);
	}
}

void sl_metric_record(sl_metric *s, uint64_t v)
{
	int b = 0;
	while (b < SL_METRIC_NBOUNDS && (double)v > sl_metric_bounds[b])
		b++;
	atomic_fetch_add_explicit(&s->buckets[b], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&s->sum, v, memory_order_relaxed);
}

/* ---------------------------------------------------------------- latency ---- */

int64_t sl_latency_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void sl_latency_init(sl_latency *l, sl_metrics *m, const char *prefix, const char *where)
{
	memset(l, 0, sizeof *l);
	if (!m)
		return;
	char name[64], help[160];
#define SL_LAT(field, suffix, ...)                                                                 \
	do {                                                                                       \
		snprintf(name, sizeof name, "%slatency.%s", prefix, suffix);                       \
		snprintf(help, sizeof help, __VA_ARGS__);                                          \
		l->field = sl_metrics_series(m, SL_METRIC_HISTOGRAM, name, "s", help, NULL, NULL); \
	} while (0)
	SL_LAT(total, "total", "From a transaction's commit on the source to its commit in %s",
	       where);
	SL_LAT(in, "in", "From a transaction's commit on the source to its receipt");
	SL_LAT(out, "out", "From a transaction's receipt to its commit in %s", where);
	SL_LAT(in_process, "in.process",
	       "Receiving a transaction: its first message to its commit");
	SL_LAT(out_process, "out.process",
	       "From a transaction's receipt to the start of its group's write to %s (batching)",
	       where);
#undef SL_LAT
}

void sl_latency_free(sl_latency *l)
{
	free(l->txns);
	l->txns = NULL;
	l->ntxns = l->cap = 0;
}

static void sl_latency_record(sl_metric *h, int64_t from_us, int64_t to_us)
{
	sl_metric_record(h, to_us > from_us ? (uint64_t)(to_us - from_us) * 1000 : 0);
}

void sl_latency_txn(sl_latency *l, int64_t commit_us, int64_t begun_us, int64_t received_us)
{
	if (!l->total || commit_us <= 0 || received_us <= 0)
		return;
	if (l->ntxns == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 64;
		l->txns = sl_realloc(l->txns, l->cap * sizeof *l->txns);
	}
	l->txns[l->ntxns++] = (struct sl_latency_txn){commit_us, begun_us, received_us};
}

void sl_latency_written(sl_latency *l, int64_t write_us, int64_t done_us)
{
	for (size_t i = 0; i < l->ntxns; i++) {
		const struct sl_latency_txn *t = &l->txns[i];
		sl_latency_record(l->in, t->commit_us, t->received_us);
		/* a BEGIN not seen (a session that started inside the transaction): none */
		sl_latency_record(l->in_process, t->begun_us > 0 ? t->begun_us : t->received_us,
		                  t->received_us);
		sl_latency_record(l->out, t->received_us, done_us);
		sl_latency_record(l->out_process, t->received_us, write_us);
		sl_latency_record(l->total, t->commit_us, done_us);
	}
	l->ntxns = 0;
}

void sl_latency_drop(sl_latency *l)
{
	l->ntxns = 0;
}

double sl_metrics_total(sl_metrics *m, const char *name)
{
	double sum = 0;
	pthread_mutex_lock(&m->mu);
	for (sl_metric *s = m->head; s; s = s->next) {
		if (strcmp(s->name, name) != 0)
			continue;
		if (s->kind == SL_METRIC_COUNTER)
			sum += (double)atomic_load_explicit(&s->u, memory_order_relaxed);
		else if (s->kind == SL_METRIC_UPDOWN)
			sum += (double)atomic_load_explicit(&s->i, memory_order_relaxed);
	}
	pthread_mutex_unlock(&m->mu);
	return sum;
}

void sl_metrics_collector(sl_metrics *m, void (*fn)(void *ctx, sl_metrics *m), void *ctx)
{
	pthread_mutex_lock(&m->mu);
	if (m->ncoll < SL_METRICS_COLLECTORS) {
		m->coll[m->ncoll].fn = fn;
		m->coll[m->ncoll++].ctx = ctx;
	}
	pthread_mutex_unlock(&m->mu);
}

/* ---------------------------------------------------------------- Prometheus ---- */

/* OpenTelemetry's Prometheus compatibility: the unit's word, or NULL */
static const char *sl_prom_unit(const sl_metric *s)
{
	static const char *const map[][2] = {{"By", "bytes"},        {"s", "seconds"},
	                                     {"ms", "milliseconds"}, {"us", "microseconds"},
	                                     {"ns", "nanoseconds"},  {"%", "percent"}};
	for (size_t i = 0; i < sizeof map / sizeof *map; i++)
		if (strcmp(s->unit, map[i][0]) == 0)
			return map[i][1];
	return strcmp(s->unit, "1") == 0 && s->kind == SL_METRIC_GAUGE ? "ratio" : NULL;
}

static void sl_prom_name(const sl_metric *s, sl_buf *out)
{
	/* promtool keeps "_count" for histograms: Prometheus's own names for these two */
	static const char *const renamed[][2] = {
	        {"process.thread_count", "process_threads"},
	        {"process.open_file_descriptor_count", "process_open_fds"}};
	for (size_t i = 0; i < sizeof renamed / sizeof *renamed; i++)
		if (strcmp(s->name, renamed[i][0]) == 0) {
			sl_buf_puts(out, renamed[i][1]);
			return;
		}
	size_t start = out->len;
	for (const char *p = s->name; *p; p++) {
		char c = *p;
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
		          c == ':' || (c >= '0' && c <= '9' && p != s->name);
		sl_buf_putc(out, ok ? c : '_');
	}
	const char *u = sl_prom_unit(s);
	size_t n = out->len - start, un = u ? strlen(u) : 0;
	if (u && !(n > un && memcmp(out->data + out->len - un, u, un) == 0 &&
	           out->data[out->len - un - 1] == '_'))
		sl_buf_printf(out, "_%s", u);
	if (s->kind == SL_METRIC_COUNTER)
		sl_buf_puts(out, "_total");
}

static void sl_prom_value_text(sl_buf *out, const char *s)
{
	sl_buf clean = {0};
	const char *v = sl_utf8_text(s, &clean); /* the text format is UTF-8 */
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			sl_buf_putc(out, '\\'), sl_buf_putc(out, *v);
		else if (*v == '\n')
			sl_buf_puts(out, "\\n");
		else
			sl_buf_putc(out, *v);
	}
	sl_buf_free(&clean);
}

/* {k="v",...} with the registry's labels, the series', and an extra (le) */
static void sl_prom_labels(const sl_metrics *m, const sl_metric *s, const char *ekey,
                           const char *eval, sl_buf *out)
{
	int n = 0;
	if (m->nlabels == 0 && !s->lkey && !ekey)
		return; /* no braces */
	sl_buf_putc(out, '{');
	for (int i = 0; i < m->nlabels; i++) {
		sl_buf_printf(out, "%s%s=\"", n++ ? "," : "", m->keys[i]);
		sl_prom_value_text(out, m->vals[i]);
		sl_buf_putc(out, '"');
	}
	if (s->lkey) {
		sl_buf_printf(out, "%s%s=\"", n++ ? "," : "", s->lkey);
		sl_prom_value_text(out, s->lval);
		sl_buf_putc(out, '"');
	}
	if (ekey)
		sl_buf_printf(out, "%s%s=\"%s\"", n++ ? "," : "", ekey, eval);
	sl_buf_putc(out, '}');
}

static void sl_prom_number(sl_buf *out, double v)
{
	if (isnan(v))
		sl_buf_puts(out, "NaN");
	else if (isinf(v))
		sl_buf_puts(out, v > 0 ? "+Inf" : "-Inf");
	else {
		/* the shortest of 15 to 17 digits that reads back as v */
		char t[32];
		for (int prec = 15; prec <= 17; prec++) {
			snprintf(t, sizeof t, "%.*g", prec, v);
			if (strtod(t, NULL) == v)
				break;
		}
		sl_buf_puts(out, t);
	}
}

void sl_metrics_prometheus(sl_metrics *m, sl_buf *out)
{
	pthread_mutex_lock(&m->mu);
	int ncoll = m->ncoll;
	pthread_mutex_unlock(&m->mu);
	for (int i = 0; i < ncoll; i++)
		m->coll[i].fn(m->coll[i].ctx, m);
	pthread_mutex_lock(&m->mu);
	sl_buf name = {0};
	for (const sl_metric *s = m->head, *prev = NULL; s; prev = s, s = s->next) {
		sl_buf_reset(&name);
		sl_prom_name(s, &name);
		/* # HELP and # TYPE before the first series of a name (they are together) */
		bool first = !prev || strcmp(prev->name, s->name) != 0;
		const char *type = s->kind == SL_METRIC_COUNTER     ? "counter"
		                   : s->kind == SL_METRIC_HISTOGRAM ? "histogram"
		                                                    : "gauge";
		if (first) {
			sl_buf_printf(out, "# HELP %s ", sl_buf_cstr(&name));
			for (const char *h = s->help; *h; h++) {
				if (*h == '\\')
					sl_buf_puts(out, "\\\\");
				else if (*h == '\n')
					sl_buf_puts(out, "\\n");
				else
					sl_buf_putc(out, *h);
			}
			sl_buf_printf(out, "\n# TYPE %s %s\n", sl_buf_cstr(&name), type);
		}
		if (s->kind == SL_METRIC_HISTOGRAM) {
			/* in seconds; the count is the buckets' total (one reading) */
			uint64_t cum = 0;
			char le[32];
			for (int b = 0; b <= SL_METRIC_NBOUNDS; b++) {
				cum += atomic_load_explicit(&s->buckets[b], memory_order_relaxed);
				if (b < SL_METRIC_NBOUNDS)
					snprintf(le, sizeof le, "%.17g", sl_metric_bounds[b] / 1e9);
				else
					snprintf(le, sizeof le, "+Inf");
				sl_buf_printf(out, "%s_bucket", sl_buf_cstr(&name));
				sl_prom_labels(m, s, "le", le, out);
				sl_buf_printf(out, " %llu\n", (unsigned long long)cum);
			}
			sl_buf_printf(out, "%s_sum", sl_buf_cstr(&name));
			sl_prom_labels(m, s, NULL, NULL, out);
			sl_buf_putc(out, ' ');
			sl_prom_number(out, (double)atomic_load(&s->sum) / 1e9);
			sl_buf_printf(out, "\n%s_count", sl_buf_cstr(&name));
			sl_prom_labels(m, s, NULL, NULL, out);
			sl_buf_printf(out, " %llu\n", (unsigned long long)cum);
			continue;
		}
		sl_buf_puts(out, sl_buf_cstr(&name));
		sl_prom_labels(m, s, NULL, NULL, out);
		sl_buf_putc(out, ' ');
		if (s->kind == SL_METRIC_COUNTER) {
			sl_buf_printf(out, "%llu",
			              (unsigned long long)atomic_load_explicit(
			                      &s->u, memory_order_relaxed));
		} else if (s->kind == SL_METRIC_UPDOWN) {
			sl_buf_printf(out, "%lld",
			              (long long)atomic_load_explicit(&s->i, memory_order_relaxed));
		} else {
			uint64_t bits = atomic_load_explicit(&s->u, memory_order_relaxed);
			double v;
			memcpy(&v, &bits, sizeof v);
			sl_prom_number(out, v);
		}
		sl_buf_putc(out, '\n');
	}
	sl_buf_free(&name);
	pthread_mutex_unlock(&m->mu);
}

/* ---------------------------------------------------------------- OTLP ---- */

/* Protobuf's wire format: varints, fixed 64-bit little-endian values, length-delimited fields
 * (a nested message is written into a buffer of its own, then with its length). */
static void pb_varint(sl_buf *b, uint64_t v)
{
	while (v >= 0x80) {
		sl_buf_putc(b, (char)(v | 0x80));
		v >>= 7;
	}
	sl_buf_putc(b, (char)v);
}

static void pb_tag(sl_buf *b, int field, int wire)
{
	pb_varint(b, (uint64_t)field << 3 | (uint64_t)wire);
}

static void pb_bytes(sl_buf *b, int field, const void *p, size_t n)
{
	pb_tag(b, field, 2);
	pb_varint(b, n);
	sl_buf_append(b, p, n);
}

/* a protobuf string must be UTF-8 (a receiver may refuse the whole message otherwise) */
static void pb_string(sl_buf *b, int field, const char *s)
{
	sl_buf clean = {0};
	const char *t = sl_utf8_text(s, &clean);
	pb_bytes(b, field, t, strlen(t));
	sl_buf_free(&clean);
}

static void pb_fixed64(sl_buf *b, int field, uint64_t v)
{
	pb_tag(b, field, 1);
	for (int i = 0; i < 8; i++)
		sl_buf_putc(b, (char)(v >> (8 * i)));
}

static void pb_double(sl_buf *b, int field, double d)
{
	uint64_t v;
	memcpy(&v, &d, sizeof v);
	pb_fixed64(b, field, v);
}

/* KeyValue {1: key, 2: AnyValue {1: string_value}} as field `field` */
static void pb_attr(sl_buf *b, int field, const char *key, const char *value)
{
	sl_buf kv = {0}, any = {0};
	pb_string(&any, 1, value);
	pb_string(&kv, 1, key);
	pb_bytes(&kv, 2, any.data, any.len);
	pb_bytes(b, field, kv.data, kv.len);
	sl_buf_free(&kv), sl_buf_free(&any);
}

/* One data point of series s: NumberDataPoint or HistogramDataPoint */
static void otlp_point(const sl_metrics *m, const sl_metric *s, uint64_t start_ns, uint64_t now_ns,
                       sl_buf *dp)
{
	int afield = s->kind == SL_METRIC_HISTOGRAM ? 9 : 7;
	for (int i = 0; i < m->nlabels; i++)
		pb_attr(dp, afield, m->keys[i], m->vals[i]);
	if (s->lkey)
		pb_attr(dp, afield, s->lkey, s->lval);
	pb_fixed64(dp, 2, start_ns);
	pb_fixed64(dp, 3, now_ns);
	if (s->kind == SL_METRIC_COUNTER) {
		pb_fixed64(dp, 6, atomic_load_explicit(&s->u, memory_order_relaxed)); /* as_int */
	} else if (s->kind == SL_METRIC_UPDOWN) {
		pb_fixed64(dp, 6, (uint64_t)atomic_load_explicit(&s->i, memory_order_relaxed));
	} else if (s->kind == SL_METRIC_GAUGE) {
		uint64_t bits = atomic_load_explicit(&s->u, memory_order_relaxed);
		double v;
		memcpy(&v, &bits, sizeof v);
		pb_double(dp, 4, v); /* as_double */
	} else {
		/* seconds; the count is the buckets' total (read together) */
		uint64_t c[SL_METRIC_NBOUNDS + 1], total = 0;
		for (int i = 0; i <= SL_METRIC_NBOUNDS; i++)
			total += c[i] = atomic_load_explicit(&s->buckets[i], memory_order_relaxed);
		pb_fixed64(dp, 4, total);
		pb_double(dp, 5, (double)atomic_load(&s->sum) / 1e9);
		sl_buf packed = {0};
		for (int i = 0; i <= SL_METRIC_NBOUNDS; i++)
			for (int k = 0; k < 8; k++)
				sl_buf_putc(&packed, (char)(c[i] >> (8 * k)));
		pb_bytes(dp, 6, packed.data, packed.len); /* bucket_counts, not cumulative */
		sl_buf_reset(&packed);
		for (int i = 0; i < SL_METRIC_NBOUNDS; i++) {
			uint64_t v;
			double sec = sl_metric_bounds[i] / 1e9;
			memcpy(&v, &sec, sizeof v);
			for (int k = 0; k < 8; k++)
				sl_buf_putc(&packed, (char)(v >> (8 * k)));
		}
		pb_bytes(dp, 7, packed.data, packed.len); /* explicit_bounds */
		sl_buf_free(&packed);
	}
}

/* ---- OTLP/JSON ---- */

static void js_string(sl_buf *b, const char *s)
{
	sl_json_put_text(b, s);
}

static void js_attr(sl_buf *b, bool first, const char *k, const char *v)
{
	sl_buf_puts(b, first ? "{\"key\":" : ",{\"key\":");
	js_string(b, k);
	sl_buf_puts(b, ",\"value\":{\"stringValue\":");
	js_string(b, v);
	sl_buf_puts(b, "}}");
}

static void js_double(sl_buf *b, double v)
{
	if (isnan(v) || isinf(v))
		sl_buf_printf(b, "\"%s\"", isnan(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity");
	else
		sl_buf_printf(b, "%.17g", v);
}

static void otlp_point_json(const sl_metrics *m, const sl_metric *s, uint64_t start_ns,
                            uint64_t now_ns, sl_buf *b)
{
	sl_buf_puts(b, "{\"attributes\":[");
	for (int i = 0; i < m->nlabels; i++)
		js_attr(b, i == 0, m->keys[i], m->vals[i]);
	if (s->lkey)
		js_attr(b, m->nlabels == 0, s->lkey, s->lval);
	sl_buf_printf(b, "],\"startTimeUnixNano\":\"%llu\",\"timeUnixNano\":\"%llu\"",
	              (unsigned long long)start_ns, (unsigned long long)now_ns);
	if (s->kind == SL_METRIC_COUNTER) {
		sl_buf_printf(b, ",\"asInt\":\"%lld\"",
		              (long long)atomic_load_explicit(&s->u, memory_order_relaxed));
	} else if (s->kind == SL_METRIC_UPDOWN) {
		sl_buf_printf(b, ",\"asInt\":\"%lld\"",
		              (long long)atomic_load_explicit(&s->i, memory_order_relaxed));
	} else if (s->kind == SL_METRIC_GAUGE) {
		uint64_t bits = atomic_load_explicit(&s->u, memory_order_relaxed);
		double v;
		memcpy(&v, &bits, sizeof v);
		sl_buf_puts(b, ",\"asDouble\":");
		js_double(b, v);
	} else {
		uint64_t c[SL_METRIC_NBOUNDS + 1], total = 0;
		for (int k = 0; k <= SL_METRIC_NBOUNDS; k++)
			total += c[k] = atomic_load_explicit(&s->buckets[k], memory_order_relaxed);
		sl_buf_printf(b, ",\"count\":\"%llu\",\"sum\":", (unsigned long long)total);
		js_double(b, (double)atomic_load(&s->sum) / 1e9);
		sl_buf_puts(b, ",\"bucketCounts\":[");
		for (int k = 0; k <= SL_METRIC_NBOUNDS; k++)
			sl_buf_printf(b, "%s\"%llu\"", k ? "," : "", (unsigned long long)c[k]);
		sl_buf_puts(b, "],\"explicitBounds\":[");
		for (int k = 0; k < SL_METRIC_NBOUNDS; k++) {
			sl_buf_puts(b, k ? "," : "");
			js_double(b, sl_metric_bounds[k] / 1e9);
		}
		sl_buf_putc(b, ']');
	}
	sl_buf_putc(b, '}');
}

static void sl_metrics_otlp_json(sl_metrics *m, const char *const *res, int nres, uint64_t start_ns,
                                 uint64_t now_ns, sl_buf *b)
{
	sl_buf_puts(b, "{\"resourceMetrics\":[{\"resource\":{\"attributes\":[");
	for (int i = 0; i < nres; i++)
		js_attr(b, i == 0, res[2 * i], res[2 * i + 1]);
	sl_buf_puts(b, "]},\"scopeMetrics\":[{\"scope\":{\"name\":\"sluice\",\"version\":");
	js_string(b, SLUICE_VERSION);
	sl_buf_puts(b, "},\"metrics\":[");
	pthread_mutex_lock(&m->mu);
	bool firstm = true;
	for (const sl_metric *s = m->head, *prev = NULL; s; prev = s, s = s->next) {
		if (prev && strcmp(prev->name, s->name) == 0)
			continue; /* a family's series follow its first */
		sl_buf_puts(b, firstm ? "{\"name\":" : ",{\"name\":");
		firstm = false;
		js_string(b, s->name);
		sl_buf_puts(b, ",\"description\":");
		js_string(b, s->help);
		sl_buf_puts(b, ",\"unit\":");
		js_string(b, s->unit);
		const char *kind = s->kind == SL_METRIC_GAUGE       ? "gauge"
		                   : s->kind == SL_METRIC_HISTOGRAM ? "histogram"
		                                                    : "sum";
		sl_buf_printf(b, ",\"%s\":{\"dataPoints\":[", kind);
		bool firstp = true;
		for (const sl_metric *p = s; p && strcmp(p->name, s->name) == 0; p = p->next) {
			sl_buf_puts(b, firstp ? "" : ",");
			firstp = false;
			otlp_point_json(m, p, start_ns, now_ns, b);
		}
		sl_buf_putc(b, ']');
		if (s->kind != SL_METRIC_GAUGE)
			sl_buf_puts(b, ",\"aggregationTemporality\":2");
		if (s->kind == SL_METRIC_COUNTER || s->kind == SL_METRIC_UPDOWN)
			sl_buf_printf(b, ",\"isMonotonic\":%s",
			              s->kind == SL_METRIC_COUNTER ? "true" : "false");
		sl_buf_puts(b, "}}");
	}
	pthread_mutex_unlock(&m->mu);
	sl_buf_puts(b, "]}]}]}");
}

void sl_metrics_otlp(sl_metrics *m, const char *const *res, int nres, uint64_t start_ns,
                     uint64_t now_ns, bool json, sl_buf *out)
{
	pthread_mutex_lock(&m->mu);
	int ncoll = m->ncoll;
	pthread_mutex_unlock(&m->mu);
	for (int i = 0; i < ncoll; i++)
		m->coll[i].fn(m->coll[i].ctx, m);
	if (json) {
		sl_metrics_otlp_json(m, res, nres, start_ns, now_ns, out);
		return;
	}
	sl_buf resource = {0}, scope = {0}, sm = {0}, metric = {0}, data = {0}, dp = {0}, rm = {0};
	for (int i = 0; i + 1 < 2 * nres; i += 2)
		pb_attr(&resource, 1, res[i], res[i + 1]);
	pb_string(&scope, 1, "sluice");
	pb_string(&scope, 2, SLUICE_VERSION);
	pb_bytes(&sm, 1, scope.data, scope.len);
	pthread_mutex_lock(&m->mu);
	for (const sl_metric *s = m->head, *prev = NULL; s; prev = s, s = s->next) {
		if (prev && strcmp(prev->name, s->name) == 0)
			continue; /* a Metric per name: its series (together) are its points */
		sl_buf_reset(&metric), sl_buf_reset(&data);
		pb_string(&metric, 1, s->name);
		pb_string(&metric, 2, s->help);
		pb_string(&metric, 3, s->unit);
		for (const sl_metric *p = s; p && strcmp(p->name, s->name) == 0; p = p->next) {
			sl_buf_reset(&dp);
			otlp_point(m, p, start_ns, now_ns, &dp);
			pb_bytes(&data, 1, dp.data, dp.len); /* data_points */
		}
		if (s->kind == SL_METRIC_COUNTER || s->kind == SL_METRIC_UPDOWN) {
			pb_tag(&data, 2, 0), pb_varint(&data, 2); /* cumulative */
			pb_tag(&data, 3, 0), pb_varint(&data, s->kind == SL_METRIC_COUNTER);
			pb_bytes(&metric, 7, data.data, data.len); /* sum */
		} else if (s->kind == SL_METRIC_GAUGE) {
			pb_bytes(&metric, 5, data.data, data.len); /* gauge */
		} else {
			pb_tag(&data, 2, 0), pb_varint(&data, 2);
			pb_bytes(&metric, 9, data.data, data.len); /* histogram */
		}
		pb_bytes(&sm, 2, metric.data, metric.len);
	}
	pthread_mutex_unlock(&m->mu);
	pb_bytes(&rm, 1, resource.data, resource.len);
	pb_bytes(&rm, 2, sm.data, sm.len);
	pb_bytes(out, 1, rm.data, rm.len); /* ExportMetricsServiceRequest.resource_metrics */
	sl_buf_free(&resource), sl_buf_free(&scope), sl_buf_free(&sm), sl_buf_free(&metric);
	sl_buf_free(&data), sl_buf_free(&dp), sl_buf_free(&rm);
}

/* ---------------------------------------------------------------- process ---- */

static double sl_now_s(int clock)
{
	struct timespec ts;
	clock_gettime(clock, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void sl_metrics_process(void *ctx, sl_metrics *m)
{
	(void)ctx;
	FILE *f = fopen("/proc/self/stat", "r");
	char buf[1024];
	size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
	if (f)
		fclose(f);
	buf[n] = 0;
	/* the fields after the command's closing parenthesis, from field 3 (state) */
	const char *p = strrchr(buf, ')');
	unsigned long long utime = 0, stime = 0, vsize = 0, rss = 0;
	long threads = 0;
	if (p && sscanf(p + 2,
	                "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d "
	                "%ld %*d %*u %llu %llu",
	                &utime, &stime, &threads, &vsize, &rss) == 5) {
		double tick = (double)sysconf(_SC_CLK_TCK), cpu = (double)(utime + stime) / tick;
		/* a u64 counter, as the reference has it: whole seconds */
		sl_metric_set(sl_metrics_series(m, SL_METRIC_COUNTER, "process.cpu.time", "s",
		                                "Total CPU time consumed by the process", NULL,
		                                NULL),
		              floor(cpu));
		double wall = sl_now_s(CLOCK_MONOTONIC);
		long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
		pthread_mutex_lock(&m->mu);
		double util = m->wall_s > 0 && wall > m->wall_s
		                      ? (cpu - m->cpu_s) / (wall - m->wall_s) /
		                                (double)(ncpu > 0 ? ncpu : 1)
		                      : 0;
		m->cpu_s = cpu, m->wall_s = wall;
		pthread_mutex_unlock(&m->mu);
		sl_metric_set(sl_metrics_series(m, SL_METRIC_GAUGE, "process.cpu.utilization", "1",
		                                "CPU used since the last export, as a ratio of the "
		                                "CPUs available",
		                                NULL, NULL),
		              util);
		sl_metric_set(sl_metrics_series(m, SL_METRIC_UPDOWN, "process.memory.usage", "By",
		                                "Resident memory of the process", NULL, NULL),
		              (double)rss * (double)sysconf(_SC_PAGESIZE));
		sl_metric_set(sl_metrics_series(m, SL_METRIC_UPDOWN, "process.memory.virtual", "By",
		                                "Virtual memory of the process", NULL, NULL),
		              (double)vsize);
		sl_metric_set(sl_metrics_series(m, SL_METRIC_UPDOWN, "process.thread_count", "1",
		                                "Threads of the process", NULL, NULL),
		              (double)threads);
	}
	long fds = 0;
	DIR *d = opendir("/proc/self/fd");
	for (struct dirent *e; d && (e = readdir(d));)
		fds += e->d_name[0] != '.';
	if (d) {
		closedir(d);
		sl_metric_set(sl_metrics_series(m, SL_METRIC_UPDOWN,
		                                "process.open_file_descriptor_count", "1",
		                                "Open file descriptors of the process", NULL, NULL),
		              (double)(fds - 1)); /* less the one reading the directory */
	}
	f = fopen("/proc/self/io", "r");
	unsigned long long rb = 0, wb = 0, v;
	char key[64];
	while (f && fscanf(f, "%63[^:]: %llu\n", key, &v) == 2) {
		if (strcmp(key, "read_bytes") == 0)
			rb = v;
		else if (strcmp(key, "write_bytes") == 0)
			wb = v;
	}
	if (f) {
		fclose(f);
		sl_metric_set(sl_metrics_series(m, SL_METRIC_COUNTER, "process.disk.io", "By",
		                                "Bytes the process read from and wrote to disk",
		                                "direction", "read"),
		              (double)rb);
		sl_metric_set(sl_metrics_series(m, SL_METRIC_COUNTER, "process.disk.io", "By",
		                                "Bytes the process read from and wrote to disk",
		                                "direction", "write"),
		              (double)wb);
	}
}
