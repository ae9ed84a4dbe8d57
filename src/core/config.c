/* The pipeline file: YAML read with libyaml's document API and checked key by key into
 * sl_config. Every message names the file and, where there is one, the line. Values are
 * echoed only for keys that cannot hold a secret (name, log_level, sizes, durations). */
#include "core/config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yaml.h>

#include "core/batch.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/mem.h"

#define SL_CFG_DEFAULT_BYTES ((int64_t)64 * 1024 * 1024)
/* A table up to this size is one chunk, read by one lane with a plain scan; a larger one is
 * split so lanes can share it. Splitting a PostgreSQL table costs a TID range scan, which
 * reads a table larger than shared_buffers about 35% slower than a plain scan does (see
 * docs/ARCHITECTURE.md, "Chunks"); smaller chunks pay that for parallelism within a table. */
#define SL_CFG_DEFAULT_CHUNK_BYTES ((int64_t)1024 * 1024 * 1024)
#define SL_CFG_DEFAULT_DELAY_MS 1000
#define SL_CFG_DEFAULT_STATE_URL "sqlite://./sluice-state.db"
#define SL_CFG_MAX_PARALLELISM 256
#define SL_CFG_MAX_FILE_BYTES ((size_t)16 * 1024 * 1024)
#define SL_CFG_MIN_MASK_KEY 16

#define SL_CFG_SIZE_UNITS "B, KB, MB, GB, KiB, MiB or GiB, e.g. 64MiB"
#define SL_CFG_DURATION_UNITS "ms, s, m or h, e.g. 500ms or 1s; a bare number is seconds"

/* What every checking helper needs: the parsed document and where to report. */
struct sl_cfg_doc {
	yaml_document_t doc;
	char origin[]; /* the file's name, for messages */
};

typedef struct sl_cfg_parser {
	yaml_document_t *doc;
	const char *origin;
	sl_error *err;
} sl_cfg_parser;

static const char *const sl_cfg_top_keys[] = {
        "name",     "log_level",     "source", "target",        "snapshot", "apply", "state",
        "mask_key", "mask_key_file", "buffer", "observability", "log",      NULL};
/* the keys every source and every target reads; a connector adds its own (its ops' options) */
static const char *const sl_cfg_source_keys[] = {"type",
                                                 "url",
                                                 "password",
                                                 "password_file",
                                                 "tables",
                                                 "heartbeat",
                                                 "max_retained_wal",
                                                 "tls",
                                                 "auth",
                                                 "aws_region",
                                                 NULL};
static const char *const sl_cfg_target_keys[] = {"type", "url",  "password",   "password_file",
                                                 "tls",  "auth", "aws_region", NULL};
static const char *const sl_cfg_auths[] = {"password", "aws-iam", NULL};
static const char *const sl_cfg_tls_keys[] = {"mode", "ca_file", "cert_file", "key_file", NULL};
static const char *const sl_cfg_tls_modes[] = {"disable",   "prefer",      "require",
                                               "verify-ca", "verify-full", NULL};
static const char *const sl_cfg_tables_keys[] = {"include", "exclude", "columns", NULL};
static const char *const sl_cfg_column_keys[] = {"include", "exclude", "mask", NULL};
static const char *const sl_cfg_snapshot_keys[] = {"parallelism", "chunk_size", "queue_size",
                                                   "backfill_rows", NULL};
static const char *const sl_cfg_apply_keys[] = {"max_group_bytes", "max_delay", NULL};
static const char *const sl_cfg_state_keys[] = {"url", NULL};
static const char *const sl_cfg_observability_keys[] = {"listen", "token", "token_file", "metrics",
                                                        NULL};
static const char *const sl_cfg_log_keys[] = {"format", NULL};
static const char *const sl_cfg_log_formats[] = {"text", "json", NULL};
static const char *const sl_cfg_buffer_keys[] = {
        "url", "max_size", "segment_size", "endpoint", "region", "path_style", NULL};

/* ---- observability.listen ---- */

/* "HOST:PORT" or "[IPV6]:PORT", port 1..65535 (0 too: any free port, for tests). */
bool sl_cfg_listen_ok(const char *s)
{
	const char *colon = s[0] == '[' ? strstr(s, "]:") : strrchr(s, ':');
	if (!colon || colon == s)
		return false;
	const char *port = colon + (s[0] == '[' ? 2 : 1);
	long n = 0;
	size_t digits = strspn(port, "0123456789");
	if (digits == 0 || digits > 5 || port[digits])
		return false; /* digits only: the listener takes a numeric service */
	n = strtol(port, NULL, 10);
	return n <= 65535 && (s[0] != '[' || colon > s + 1);
}

/* Whether the host of a listen address is a loopback one. */
bool sl_cfg_listen_loopback(const char *s)
{
	if (strncmp(s, "[::1]:", 6) == 0 || strncmp(s, "localhost:", 10) == 0)
		return true;
	/* 127.0.0.0/8, as an address (a name beginning "127." is a name) */
	const char *colon = strrchr(s, ':');
	char host[64];
	struct in_addr a;
	if (!colon || colon - s >= (long)sizeof host)
		return false;
	snprintf(host, sizeof host, "%.*s", (int)(colon - s), s);
	return inet_pton(AF_INET, host, &a) == 1 && (ntohl(a.s_addr) >> 24) == 127;
}

/* ---- sizes, durations, globs ---- */

/* Parse a run of decimal digits; -1 when there is none or it overflows. */
static int64_t sl_cfg_digits(const char *s, const char **end)
{
	int64_t n = 0;
	const char *p = s;
	if (*p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		int d = *p - '0';
		if (n > (INT64_MAX - d) / 10)
			return -1;
		n = n * 10 + d;
	}
	*end = p;
	return n;
}

typedef struct sl_cfg_unit {
	const char *name;
	int64_t mult;
} sl_cfg_unit;

/* "<digits> <unit>" where the unit (after optional spaces) is one of units[]. */
static int64_t sl_cfg_with_unit(const char *s, const sl_cfg_unit *units, size_t nunits)
{
	const char *p;
	if (s == NULL)
		return -1;
	int64_t n = sl_cfg_digits(s, &p);
	if (n < 0)
		return -1;
	while (*p == ' ')
		p++;
	for (size_t i = 0; i < nunits; i++) {
		if (strcmp(p, units[i].name) != 0)
			continue;
		if (n > INT64_MAX / units[i].mult)
			return -1;
		return n * units[i].mult;
	}
	return -1;
}

int64_t sl_parse_size(const char *s)
{
	static const sl_cfg_unit units[] = {
	        {"", 1},
	        {"B", 1},
	        {"KB", 1000},
	        {"MB", 1000 * 1000},
	        {"GB", 1000 * 1000 * 1000},
	        {"KiB", 1024},
	        {"MiB", 1024 * 1024},
	        {"GiB", 1024 * 1024 * 1024},
	};
	return sl_cfg_with_unit(s, units, sizeof units / sizeof units[0]);
}

int64_t sl_parse_duration_ms(const char *s)
{
	static const sl_cfg_unit units[] = {
	        {"", 1000}, {"ms", 1}, {"s", 1000}, {"m", 60 * 1000}, {"h", 60 * 60 * 1000},
	};
	return sl_cfg_with_unit(s, units, sizeof units / sizeof units[0]);
}

/* Iterative matcher: on a mismatch after a '*', let that star swallow one more character
 * and retry; only the most recent star needs remembering, so this is O(len(p) * len(t)). */
bool sl_glob_match(const char *pattern, const char *text)
{
	if (pattern == NULL || text == NULL)
		return false;
	const char *p = pattern, *t = text;
	const char *star = NULL, *resume = NULL;
	while (*t != '\0') {
		if (*p == '*') {
			star = p++;
			resume = t;
		} else if (*p != '\0' && (*p == '?' || *p == *t)) {
			p++;
			t++;
		} else if (star != NULL) {
			p = star + 1;
			t = ++resume;
		} else {
			return false;
		}
	}
	while (*p == '*')
		p++;
	return *p == '\0';
}

static bool sl_cfg_globs_any(const sl_globs *g, const char *text)
{
	if (g == NULL)
		return false;
	for (int i = 0; i < g->count; i++)
		if (sl_glob_match(g->items[i], text))
			return true;
	return false;
}

bool sl_globs_select(const sl_globs *include, const sl_globs *exclude, const char *qualified)
{
	if (qualified == NULL)
		return false;
	bool empty = include == NULL || include->count == 0;
	if (!empty && !sl_cfg_globs_any(include, qualified))
		return false;
	return !sl_cfg_globs_any(exclude, qualified);
}

/* ---- node helpers ---- */

static int sl_cfg_line(const yaml_node_t *node)
{
	return (int)node->start_mark.line + 1;
}

static const char *sl_cfg_kind(const yaml_node_t *node)
{
	switch (node->type) {
	case YAML_SCALAR_NODE:
		return "a single value";
	case YAML_SEQUENCE_NODE:
		return "a list";
	case YAML_MAPPING_NODE:
		return "a mapping";
	default:
		return "nothing";
	}
}

/* `key:` with no value, `~` or `null` (unquoted): treated as if the key were absent. */
static bool sl_cfg_is_null(const yaml_node_t *node)
{
	if (node->type != YAML_SCALAR_NODE || node->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	const char *v = (const char *)node->data.scalar.value;
	return strcmp(v, "") == 0 || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 ||
	       strcmp(v, "Null") == 0 || strcmp(v, "NULL") == 0;
}

/* "source" + "url" -> "source.url"; a NULL section is the top level. */
static void sl_cfg_path(char *out, size_t n, const char *section, const char *key)
{
	if (section == NULL)
		snprintf(out, n, "%s", key);
	else
		snprintf(out, n, "%s.%s", section, key);
}

static void sl_cfg_join(const char *const *names, char *out, size_t n)
{
	size_t len = 0;
	out[0] = '\0';
	for (int i = 0; names[i] != NULL && len < n; i++)
		len += (size_t)snprintf(out + len, n - len, "%s%s", i ? ", " : "", names[i]);
}

static bool sl_cfg_known(const char *const *names, const char *key)
{
	for (int i = 0; names[i] != NULL; i++)
		if (strcmp(names[i], key) == 0)
			return true;
	return false;
}

/* Every key of `map` is a plain scalar, listed in `allowed` (or `more`), and given once. With
 * `open`, keys not listed pass (a connector's own, checked by sl_config_check_section). */
static int sl_cfg_check_keys_in(sl_cfg_parser *p, yaml_node_t *map, const char *section,
                                const char *const *allowed, const char *const *more, bool open,
                                const char *who)
{
	yaml_node_pair_t *start = map->data.mapping.pairs.start;
	yaml_node_pair_t *top = map->data.mapping.pairs.top;
	char where[96];
	if (section == NULL)
		snprintf(where, sizeof where, "at the top level");
	else
		snprintf(where, sizeof where, "in %s", section);
	for (yaml_node_pair_t *pair = start; pair < top; pair++) {
		yaml_node_t *key = yaml_document_get_node(p->doc, pair->key);
		if (key == NULL || key->type != YAML_SCALAR_NODE)
			return sl_error_set(p->err, SL_ERR_CONFIG,
			                    "%s:%d: a key %s is %s (keys must be plain names)",
			                    p->origin, key ? sl_cfg_line(key) : 0, where,
			                    key ? sl_cfg_kind(key) : "missing");
		const char *name = (const char *)key->data.scalar.value;
		if (!open && !sl_cfg_known(allowed, name) &&
		    (more == NULL || !sl_cfg_known(more, name))) {
			char expected[512];
			sl_cfg_join(allowed, expected, sizeof expected);
			if (more && more[0]) {
				size_t len = strlen(expected);
				snprintf(expected + len, sizeof expected - len, ", ");
				sl_cfg_join(more, expected + len + 2, sizeof expected - len - 2);
			}
			return sl_error_set(p->err, SL_ERR_CONFIG,
			                    "%s:%d: unknown key '%s' %s (%s %s)", p->origin,
			                    sl_cfg_line(key), name, where,
			                    who ? who : "expected one of:", expected);
		}
		for (yaml_node_pair_t *prev = start; prev < pair; prev++) {
			yaml_node_t *pkey = yaml_document_get_node(p->doc, prev->key);
			if (strcmp((const char *)pkey->data.scalar.value, name) == 0)
				return sl_error_set(
				        p->err, SL_ERR_CONFIG,
				        "%s:%d: duplicate key '%s' %s (first given at line %d; "
				        "keep only one)",
				        p->origin, sl_cfg_line(key), name, where,
				        sl_cfg_line(pkey));
		}
	}
	return 0;
}

static int sl_cfg_check_keys(sl_cfg_parser *p, yaml_node_t *map, const char *section,
                             const char *const *allowed)
{
	return sl_cfg_check_keys_in(p, map, section, allowed, NULL, false, NULL);
}

/* The value of `key` in an already checked mapping, or NULL. */
static yaml_node_t *sl_cfg_find(sl_cfg_parser *p, yaml_node_t *map, const char *key)
{
	for (yaml_node_pair_t *pair = map->data.mapping.pairs.start;
	     pair < map->data.mapping.pairs.top; pair++) {
		yaml_node_t *k = yaml_document_get_node(p->doc, pair->key);
		if (strcmp((const char *)k->data.scalar.value, key) == 0)
			return yaml_document_get_node(p->doc, pair->value);
	}
	return NULL;
}

static bool sl_cfg_var_start(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static bool sl_cfg_var_char(char c)
{
	return sl_cfg_var_start(c) || (c >= '0' && c <= '9');
}

/* The scalar's text with every ${VAR} replaced by getenv("VAR"). The text itself is never
 * put in a message: it may be a password. */
static int sl_cfg_expand(sl_cfg_parser *p, yaml_node_t *node, const char *path, char **out)
{
	const char *s = (const char *)node->data.scalar.value;
	int line = sl_cfg_line(node);
	sl_buf b = {0};
	int rc = 0;

	if (strlen(s) != node->data.scalar.length)
		return sl_error_set(p->err, SL_ERR_CONFIG,
		                    "%s:%d: %s contains a NUL character (remove the \\0 escape)",
		                    p->origin, line, path);
	for (const char *q = s; *q != '\0';) {
		if (q[0] != '$' || q[1] != '{') {
			sl_buf_putc(&b, *q++);
			continue;
		}
		const char *name = q + 2;
		size_t n = 0;
		if (sl_cfg_var_start(name[0]))
			while (sl_cfg_var_char(name[n]))
				n++;
		if (n == 0 || name[n] != '}') {
			if (strchr(name, '}') == NULL)
				rc = sl_error_set(p->err, SL_ERR_CONFIG,
				                  "%s:%d: unterminated ${ in %s (write ${NAME})",
				                  p->origin, line, path);
			else
				rc = sl_error_set(
				        p->err, SL_ERR_CONFIG,
				        "%s:%d: invalid environment variable reference in %s "
				        "(write ${NAME}, NAME being letters, digits and _ not "
				        "starting with a digit)",
				        p->origin, line, path);
			goto out;
		}
		char *var = sl_strndup(name, n);
		const char *val = getenv(var);
		if (val == NULL) {
			rc = sl_error_set(p->err, SL_ERR_CONFIG,
			                  "%s:%d: environment variable %s is not set (export it or "
			                  "remove ${%s})",
			                  p->origin, line, var, var);
			free(var);
			goto out;
		}
		free(var);
		sl_buf_puts(&b, val);
		q = name + n + 1;
	}
	*out = sl_strdup(sl_buf_cstr(&b));
out:
	sl_buf_free(&b);
	return rc;
}

/* A string value. Absent, null or empty (after substitution) leaves *out NULL, which is an
 * error when `required`. *line (optional) receives the value's line. */
static int sl_cfg_string(sl_cfg_parser *p, yaml_node_t *map, const char *section, const char *key,
                         bool required, char **out, int *line)
{
	char path[96];
	sl_cfg_path(path, sizeof path, section, key);
	yaml_node_t *v = sl_cfg_find(p, map, key);
	if (v == NULL || sl_cfg_is_null(v)) {
		if (!required)
			return 0;
		if (v == NULL)
			return sl_error_set(p->err, SL_ERR_CONFIG, "%s: missing required key '%s'",
			                    p->origin, path);
		return sl_error_set(p->err, SL_ERR_CONFIG,
		                    "%s:%d: %s has no value (it is required)", p->origin,
		                    sl_cfg_line(v), path);
	}
	if (v->type != YAML_SCALAR_NODE)
		return sl_error_set(p->err, SL_ERR_CONFIG,
		                    "%s:%d: %s must be a single value, not %s", p->origin,
		                    sl_cfg_line(v), path, sl_cfg_kind(v));
	char *s = NULL;
	SL_TRY(sl_cfg_expand(p, v, path, &s));
	if (line != NULL)
		*line = sl_cfg_line(v);
	if (*s == '\0') {
		free(s);
		if (required)
			return sl_error_set(p->err, SL_ERR_CONFIG,
			                    "%s:%d: %s is empty (it is required)", p->origin,
			                    sl_cfg_line(v), path);
		return 0;
	}
	*out = s;
	return 0;
}

/* An optional sub-mapping such as `snapshot:`; *out is NULL when absent or null. */
static int sl_cfg_section_in(sl_cfg_parser *p, yaml_node_t *map, const char *key,
                             const char *const *allowed, bool open, yaml_node_t **out)
{
	*out = NULL;
	yaml_node_t *v = sl_cfg_find(p, map, key);
	if (v == NULL || sl_cfg_is_null(v))
		return 0;
	if (v->type != YAML_MAPPING_NODE) {
		char expected[256];
		sl_cfg_join(allowed, expected, sizeof expected);
		return sl_error_set(p->err, SL_ERR_CONFIG,
		                    "%s:%d: %s must be a mapping of keys (%s), not %s", p->origin,
		                    sl_cfg_line(v), key, expected, sl_cfg_kind(v));
	}
	SL_TRY(sl_cfg_check_keys_in(p, v, key, allowed, NULL, open, NULL));
	*out = v;
	return 0;
}

static int sl_cfg_section(sl_cfg_parser *p, yaml_node_t *map, const char *key,
                          const char *const *allowed, yaml_node_t **out)
{
	return sl_cfg_section_in(p, map, key, allowed, false, out);
}

/* A size such as "64MiB"; *out keeps its default when the key is absent. */
/* A size; `max` > 0 is the largest accepted, and `why` says where that limit comes from. */
static int sl_cfg_size_max(sl_cfg_parser *p, yaml_node_t *map, const char *section, const char *key,
                           int64_t max, const char *why, int64_t *out)
{
	char path[96], *s = NULL;
	int line = 0, rc = 0;
	sl_cfg_path(path, sizeof path, section, key);
	SL_TRY(sl_cfg_string(p, map, section, key, false, &s, &line));
	if (s == NULL)
		return 0;
	int64_t v = sl_parse_size(s);
	if (v < 0)
		rc = sl_error_set(p->err, SL_ERR_CONFIG,
		                  "%s:%d: %s '%s' is not a valid size (use a whole number with "
		                  "an optional unit " SL_CFG_SIZE_UNITS ")",
		                  p->origin, line, path, s);
	else if (v == 0)
		rc = sl_error_set(p->err, SL_ERR_CONFIG,
		                  "%s:%d: %s must be greater than zero (e.g. 64MiB)", p->origin,
		                  line, path);
	else if (max > 0 && v > max)
		rc = sl_error_set(p->err, SL_ERR_CONFIG,
		                  "%s:%d: %s '%s' is too large: at most %" PRId64
		                  " bytes (%s; e.g. "
		                  "1GiB)",
		                  p->origin, line, path, s, max, why);
	else
		*out = v;
	free(s);
	return rc;
}

static int sl_cfg_size(sl_cfg_parser *p, yaml_node_t *map, const char *section, const char *key,
                       int64_t *out)
{
	return sl_cfg_size_max(p, map, section, key, 0, NULL, out);
}

static int sl_cfg_duration(sl_cfg_parser *p, yaml_node_t *map, const char *section, const char *key,
                           int64_t *out)
{
	char path[96], *s = NULL;
	int line = 0, rc = 0;
	sl_cfg_path(path, sizeof path, section, key);
	SL_TRY(sl_cfg_string(p, map, section, key, false, &s, &line));
	if (s == NULL)
		return 0;
	int64_t v = sl_parse_duration_ms(s);
	if (v < 0)
		rc = sl_error_set(p->err, SL_ERR_CONFIG,
		                  "%s:%d: %s '%s' is not a valid duration (use a whole number with "
		                  "an optional unit " SL_CFG_DURATION_UNITS ")",
		                  p->origin, line, path, s);
	else
		*out = v;
	free(s);
	return rc;
}

/* snapshot.KEY: a whole number from 1 to max */
static int sl_cfg_count(sl_cfg_parser *p, yaml_node_t *map, const char *key, int64_t max,
                        int64_t *out)
{
	char *s = NULL;
	const char *end = NULL;
	int line = 0, rc = 0;
	SL_TRY(sl_cfg_string(p, map, "snapshot", key, false, &s, &line));
	if (s == NULL)
		return 0;
	int64_t v = sl_cfg_digits(s, &end);
	if (v < 1 || v > max || *end != '\0')
		rc = sl_error_set(
		        p->err, SL_ERR_CONFIG,
		        "%s:%d: snapshot.%s '%s' must be a whole number from 1 to %" PRId64,
		        p->origin, line, key, s, max);
	else
		*out = v;
	free(s);
	return rc;
}

static int sl_cfg_parallelism(sl_cfg_parser *p, yaml_node_t *map, int *out)
{
	int64_t v = *out;
	SL_TRY(sl_cfg_count(p, map, "parallelism", SL_CFG_MAX_PARALLELISM, &v));
	*out = (int)v;
	return 0;
}

/* source.server_id: the replica id a MySQL binlog reader presents, 1 .. 2^32-1. */
/* A string that must be one of `allowed`; *out stays NULL when absent. */
static int sl_cfg_choice(sl_cfg_parser *p, yaml_node_t *map, const char *section, const char *key,
                         const char *const *allowed, char **out)
{
	int line = 0;
	SL_TRY(sl_cfg_string(p, map, section, key, false, out, &line));
	if (*out == NULL)
		return 0;
	for (int i = 0; allowed[i]; i++)
		if (strcmp(*out, allowed[i]) == 0)
			return 0;
	char path[96], expected[128];
	sl_cfg_path(path, sizeof path, section, key);
	sl_cfg_join(allowed, expected, sizeof expected);
	int rc = sl_error_set(p->err, SL_ERR_CONFIG, "%s:%d: %s '%s' must be one of: %s", p->origin,
	                      line, path, *out, expected);
	free(*out);
	*out = NULL;
	return rc;
}

/* A whole number from min to max; *out keeps its value when the key is absent. */
static int sl_cfg_uint(sl_cfg_parser *p, yaml_node_t *map, const char *section, const char *key,
                       uint64_t min, uint64_t max, uint64_t *out)
{
	char *s = NULL;
	const char *end = NULL;
	int line = 0, rc = 0;
	SL_TRY(sl_cfg_string(p, map, section, key, false, &s, &line));
	if (s == NULL)
		return 0;
	int64_t v = sl_cfg_digits(s, &end);
	char path[96];
	sl_cfg_path(path, sizeof path, section, key);
	if (v < 0 || (uint64_t)v < min || (uint64_t)v > max || *end != '\0')
		rc = sl_error_set(p->err, SL_ERR_CONFIG,
		                  "%s:%d: %s '%s' must be a whole number from %llu to %llu",
		                  p->origin, line, path, s, (unsigned long long)min,
		                  (unsigned long long)max);
	else
		*out = (uint64_t)v;
	free(s);
	return rc;
}

/* A list of strings; a single value counts as a one-element list. `what` names the items with
 * an example for messages ("table patterns like [public.*]"). Table patterns (names false)
 * may use ${VAR}; column names (names true) are taken as written and must be distinct. */
static int sl_cfg_list(sl_cfg_parser *p, yaml_node_t *map, const char *section, const char *key,
                       const char *what, bool names, char ***out, int *n)
{
	char path[300];
	sl_cfg_path(path, sizeof path, section, key);
	yaml_node_t *v = sl_cfg_find(p, map, key);
	if (v == NULL || sl_cfg_is_null(v))
		return 0;
	if (v->type == YAML_MAPPING_NODE)
		return sl_error_set(p->err, SL_ERR_CONFIG,
		                    "%s:%d: %s must be a list of %s, not a mapping", p->origin,
		                    sl_cfg_line(v), path, what);
	yaml_node_item_t single = 0, *start = &single, *top = &single + 1;
	if (v->type == YAML_SEQUENCE_NODE) {
		start = v->data.sequence.items.start;
		top = v->data.sequence.items.top;
	}
	*out = sl_calloc((size_t)(top - start) + 1, sizeof **out);
	for (yaml_node_item_t *it = start; it < top; it++) {
		yaml_node_t *item = it == &single ? v : yaml_document_get_node(p->doc, *it);
		int idx = (int)(it - start) + 1;
		if (item == NULL || item->type != YAML_SCALAR_NODE || sl_cfg_is_null(item) ||
		    (names && item->data.scalar.length == 0))
			return sl_error_set(
			        p->err, SL_ERR_CONFIG,
			        "%s:%d: %s must be a list of %s (item %d is %s)", p->origin,
			        item ? sl_cfg_line(item) : sl_cfg_line(v), path, what, idx,
			        item && item->type != YAML_SCALAR_NODE ? sl_cfg_kind(item)
			                                               : "empty");
		char *str = NULL;
		if (names)
			str = sl_strdup((const char *)item->data.scalar.value);
		else
			SL_TRY(sl_cfg_expand(p, item, path, &str));
		if (!names && *str == '\0') {
			free(str);
			return sl_error_set(
			        p->err, SL_ERR_CONFIG,
			        "%s:%d: %s item %d is an empty pattern (remove it or write "
			        "schema.table)",
			        p->origin, sl_cfg_line(item), path, idx);
		}
		for (int k = 0; names && k < *n; k++)
			if (strcmp((*out)[k], str) == 0) {
				int rc =
				        sl_error_set(p->err, SL_ERR_CONFIG,
				                     "%s:%d: %s lists column '%s' twice (keep one)",
				                     p->origin, sl_cfg_line(item), path, str);
				free(str);
				return rc;
			}
		(*out)[(*n)++] = str;
	}
	return 0;
}

/* include/exclude: table patterns. */
static int sl_cfg_globs(sl_cfg_parser *p, yaml_node_t *map, const char *section, const char *key,
                        sl_globs *g)
{
	return sl_cfg_list(p, map, section, key, "table patterns like [public.*]", false, &g->items,
	                   &g->count);
}

/* Column names under source.tables.columns.<table>. */
static int sl_cfg_names(sl_cfg_parser *p, yaml_node_t *map, const char *section, const char *key,
                        char ***out, int *n)
{
	return sl_cfg_list(p, map, section, key, "column names like [id, name]", true, out, n);
}

/* mask: { column: hash | null, ... } */
static int sl_cfg_masks(sl_cfg_parser *p, yaml_node_t *map, const char *section,
                        sl_column_rule *rule)
{
	char path[300];
	sl_cfg_path(path, sizeof path, section, "mask");
	yaml_node_t *v = sl_cfg_find(p, map, "mask");
	if (v == NULL || (sl_cfg_is_null(v) && v->type == YAML_SCALAR_NODE))
		return 0;
	if (v->type != YAML_MAPPING_NODE)
		return sl_error_set(p->err, SL_ERR_CONFIG,
		                    "%s:%d: %s must be a mapping of column: hash or null, like "
		                    "{ email: hash, phone: null }, not %s",
		                    p->origin, sl_cfg_line(v), path, sl_cfg_kind(v));
	yaml_node_pair_t *start = v->data.mapping.pairs.start, *top = v->data.mapping.pairs.top;
	rule->masks = sl_calloc((size_t)(top - start) + 1, sizeof *rule->masks);
	for (yaml_node_pair_t *pair = start; pair < top; pair++) {
		yaml_node_t *k = yaml_document_get_node(p->doc, pair->key);
		yaml_node_t *val = yaml_document_get_node(p->doc, pair->value);
		if (k == NULL || k->type != YAML_SCALAR_NODE || k->data.scalar.length == 0)
			return sl_error_set(p->err, SL_ERR_CONFIG,
			                    "%s:%d: a key in %s is not a column name", p->origin,
			                    k ? sl_cfg_line(k) : sl_cfg_line(v), path);
		const char *col = (const char *)k->data.scalar.value;
		for (int i = 0; i < rule->nmasks; i++)
			if (strcmp(rule->masks[i].column, col) == 0)
				return sl_error_set(p->err, SL_ERR_CONFIG,
				                    "%s:%d: %s gives column '%s' twice (keep one)",
				                    p->origin, sl_cfg_line(k), path, col);
		const char *how = val && val->type == YAML_SCALAR_NODE
		                          ? (const char *)val->data.scalar.value
		                          : NULL;
		sl_mask m = SL_MASK_NONE;
		if (how != NULL && strcmp(how, "hash") == 0)
			m = SL_MASK_HASH;
		else if (how != NULL && (strcmp(how, "null") == 0 || strcmp(how, "NULL") == 0))
			m = SL_MASK_NULL;
		if (m == SL_MASK_NONE)
			return sl_error_set(p->err, SL_ERR_CONFIG,
			                    "%s:%d: %s.%s must be hash or null (hash: a keyed "
			                    "HMAC-SHA256 of the value; null: the value is dropped)",
			                    p->origin, val ? sl_cfg_line(val) : sl_cfg_line(k),
			                    path, col);
		rule->masks[rule->nmasks].column = sl_strdup(col);
		rule->masks[rule->nmasks].mask = m;
		rule->nmasks++;
	}
	return 0;
}

/* source.tables.columns: { schema.table: { include | exclude: [...], mask: {...} }, ... } */
static int sl_cfg_columns(sl_cfg_parser *p, yaml_node_t *tables, const char *tpath,
                          sl_endpoint_config *ep)
{
	char path[128];
	sl_cfg_path(path, sizeof path, tpath, "columns");
	yaml_node_t *v = sl_cfg_find(p, tables, "columns");
	if (v == NULL || sl_cfg_is_null(v))
		return 0;
	if (v->type != YAML_MAPPING_NODE)
		return sl_error_set(p->err, SL_ERR_CONFIG,
		                    "%s:%d: %s must be a mapping of tables, like "
		                    "public.users: { exclude: [password_hash] }, not %s",
		                    p->origin, sl_cfg_line(v), path, sl_cfg_kind(v));
	yaml_node_pair_t *start = v->data.mapping.pairs.start, *top = v->data.mapping.pairs.top;
	ep->columns = sl_calloc((size_t)(top - start) + 1, sizeof *ep->columns);
	for (yaml_node_pair_t *pair = start; pair < top; pair++) {
		yaml_node_t *k = yaml_document_get_node(p->doc, pair->key);
		yaml_node_t *val = yaml_document_get_node(p->doc, pair->value);
		if (k == NULL || k->type != YAML_SCALAR_NODE || k->data.scalar.length == 0)
			return sl_error_set(p->err, SL_ERR_CONFIG,
			                    "%s:%d: a key in %s is not a table name (write "
			                    "schema.table)",
			                    p->origin, k ? sl_cfg_line(k) : sl_cfg_line(v), path);
		const char *table = (const char *)k->data.scalar.value;
		for (int i = 0; i < ep->ncolumns; i++)
			if (strcmp(ep->columns[i].table, table) == 0)
				return sl_error_set(
				        p->err, SL_ERR_CONFIG,
				        "%s:%d: %s gives table %s twice (first at line %d; "
				        "keep one)",
				        p->origin, sl_cfg_line(k), path, table,
				        ep->columns[i].line);
		sl_column_rule *rule = &ep->columns[ep->ncolumns++];
		rule->table = sl_strdup(table);
		rule->line = sl_cfg_line(k);
		char section[300];
		snprintf(section, sizeof section, "%s.%s", path, table);
		if (val == NULL || val->type != YAML_MAPPING_NODE)
			return sl_error_set(p->err, SL_ERR_CONFIG,
			                    "%s:%d: %s must be a mapping with include or exclude "
			                    "and/or mask, not %s",
			                    p->origin, sl_cfg_line(k), section,
			                    val ? sl_cfg_kind(val) : "nothing");
		SL_TRY(sl_cfg_check_keys(p, val, section, sl_cfg_column_keys));
		SL_TRY(sl_cfg_names(p, val, section, "include", &rule->include, &rule->ninclude));
		SL_TRY(sl_cfg_names(p, val, section, "exclude", &rule->exclude, &rule->nexclude));
		if (rule->ninclude > 0 && rule->nexclude > 0)
			return sl_error_set(p->err, SL_ERR_CONFIG,
			                    "%s:%d: %s gives both include and exclude (give one: "
			                    "include lists the columns that travel, exclude the "
			                    "ones that do not)",
			                    p->origin, sl_cfg_line(k), section);
		SL_TRY(sl_cfg_masks(p, val, section, rule));
		for (int i = 0; i < rule->nmasks; i++) {
			const char *col = rule->masks[i].column;
			bool dropped = false;
			for (int e = 0; e < rule->nexclude; e++)
				dropped |= strcmp(rule->exclude[e], col) == 0;
			if (rule->ninclude > 0) {
				dropped = true;
				for (int e = 0; e < rule->ninclude; e++)
					dropped &= strcmp(rule->include[e], col) != 0;
			}
			if (dropped)
				return sl_error_set(
				        p->err, SL_ERR_CONFIG,
				        "%s:%d: %s masks column %s, which is not replicated "
				        "(%s; an excluded column needs no mask)",
				        p->origin, sl_cfg_line(k), section, col,
				        rule->ninclude > 0 ? "add it to include"
				                           : "remove it from exclude");
		}
	}
	return 0;
}

const sl_column_rule *sl_config_column_rule(const sl_config *cfg, const char *qualified)
{
	for (int i = 0; cfg != NULL && qualified != NULL && i < cfg->source.ncolumns; i++)
		if (strcmp(cfg->source.columns[i].table, qualified) == 0)
			return &cfg->source.columns[i];
	return NULL;
}

/* Register the password of a "scheme://user:PASSWORD@host" URL as a secret too. */
static void sl_cfg_url_secret(const char *url)
{
	const char *auth = url ? strstr(url, "://") : NULL;
	if (auth == NULL)
		return;
	auth += 3;
	const char *at = strchr(auth, '@');
	const char *slash = strchr(auth, '/');
	const char *colon = strchr(auth, ':');
	if (at == NULL || (slash != NULL && slash < at) || colon == NULL || colon > at)
		return;
	char *pw = sl_strndup(colon + 1, (size_t)(at - colon - 1));
	sl_log_add_secret(pw);
	free(pw);
}

int sl_secret_read(const char *path, const char *what, char **out, sl_error *err)
{
	*out = NULL;
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return sl_error_set(err, SL_ERR_CONFIG, "%s: cannot read %s: %s", what, path,
		                    strerror(errno));
	char buf[SL_SECRET_MAX + 2];
	size_t n = fread(buf, 1, sizeof buf, f);
	bool bad = ferror(f);
	fclose(f);
	if (bad || n > SL_SECRET_MAX) {
		explicit_bzero(buf, sizeof buf);
		return sl_error_set(err, SL_ERR_CONFIG,
		                    bad ? "%s: cannot read %s"
		                        : "%s: %s is longer than a secret "
		                          "can be (%d bytes at most)",
		                    what, path, SL_SECRET_MAX);
	}
	/* a file written by echo or an editor ends in a newline that is not part of it */
	if (n > 0 && buf[n - 1] == '\n')
		n--;
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	buf[n] = '\0';
	if (n == 0 || memchr(buf, '\0', n) != NULL) {
		explicit_bzero(buf, sizeof buf);
		return sl_error_set(err, SL_ERR_CONFIG, "%s: %s %s", what, path,
		                    n == 0 ? "is empty" : "holds a NUL byte, not a text secret");
	}
	sl_log_add_secret(buf);
	*out = sl_strdup(buf);
	explicit_bzero(buf, sizeof buf);
	return 0;
}

int sl_endpoint_password(const sl_endpoint_config *ep, const char *section, char **out,
                         sl_error *err)
{
	*out = NULL;
	if (ep->password_file == NULL) {
		*out = ep->password ? sl_strdup(ep->password) : NULL;
		return 0;
	}
	char what[64];
	snprintf(what, sizeof what, "%s.password_file", section);
	return sl_secret_read(ep->password_file, what, out, err);
}

void sl_free_secret(char *s)
{
	if (s)
		explicit_bzero(s, strlen(s));
	free(s);
}

void sl_tls_describe(char *buf, size_t n, const char *section, const char *version,
                     const char *mode, bool local)
{
	if (version == NULL && local)
		snprintf(buf, n, "no TLS (the server is on this machine)");
	else if (version == NULL)
		snprintf(
		        buf, n,
		        "warning: no TLS to a server over the network: rows and credentials travel "
		        "in plain text (set %s.tls.mode verify-full)",
		        section);
	else
		snprintf(buf, n, "%s, %s", version,
		         strcmp(mode, "verify-full") == 0 ? "certificate and host name verified"
		         : strcmp(mode, "verify-ca") == 0
		                 ? "certificate verified (not the host name)"
		                 : "certificate not verified (set tls.mode verify-full to check "
		                   "it)");
}

/* SECTION.tls: { mode, ca_file, cert_file, key_file }; a file named must be readable now (a
 * wrong path is said here, not as a TLS failure later), and a key needs its certificate. */
static int sl_cfg_tls(sl_cfg_parser *p, yaml_node_t *map, const char *section,
                      sl_endpoint_config *ep)
{
	char path[96];
	sl_cfg_path(path, sizeof path, section, "tls");
	yaml_node_t *tls;
	SL_TRY(sl_cfg_section(p, map, "tls", sl_cfg_tls_keys, &tls));
	if (tls == NULL)
		return 0;
	SL_TRY(sl_cfg_choice(p, tls, path, "mode", sl_cfg_tls_modes, &ep->tls.mode));
	struct {
		const char *key;
		char **out;
	} files[] = {{"ca_file", &ep->tls.ca_file},
	             {"cert_file", &ep->tls.cert_file},
	             {"key_file", &ep->tls.key_file}};
	for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
		int line = 0;
		SL_TRY(sl_cfg_string(p, tls, path, files[i].key, false, files[i].out, &line));
		if (*files[i].out && access(*files[i].out, R_OK) != 0)
			return sl_error_set(p->err, SL_ERR_CONFIG,
			                    "%s:%d: %s.%s: cannot read %s: %s", p->origin, line,
			                    path, files[i].key, *files[i].out, strerror(errno));
	}
	if ((ep->tls.cert_file == NULL) != (ep->tls.key_file == NULL))
		return sl_error_set(
		        p->err, SL_ERR_CONFIG,
		        "%s: %s: a client certificate needs both cert_file and key_file", p->origin,
		        path);
	return 0;
}

/* A secret: KEY as a value (or ${VAR}), or KEY_file naming a file that holds it (as Docker and
 * Kubernetes mount secrets), read now so that a wrong path is said at start; *file keeps the
 * path for reading again at the next connection. Not both. */
static int sl_cfg_secret(sl_cfg_parser *p, yaml_node_t *map, const char *section, const char *key,
                         char **value, char **file)
{
	char fkey[64], path[96];
	snprintf(fkey, sizeof fkey, "%s_file", key);
	sl_cfg_path(path, sizeof path, section, fkey);
	int line = 0;
	SL_TRY(sl_cfg_string(p, map, section, key, false, value, NULL));
	SL_TRY(sl_cfg_string(p, map, section, fkey, false, file, &line));
	if (*file == NULL)
		return 0;
	if (*value != NULL)
		return sl_error_set(p->err, SL_ERR_CONFIG, "%s:%d: %s and %s both set; keep one",
		                    p->origin, line, path, key);
	sl_error e = {0};
	if (sl_secret_read(*file, path, value, &e) < 0)
		return sl_error_set(p->err, SL_ERR_CONFIG, "%s:%d: %s", p->origin, line, e.msg);
	return 0;
}

/* SECTION.auth: password (the default) or aws-iam (an RDS/Aurora IAM token made at each
 * connection; the token is the password, so none is given, and it travels over verified TLS
 * only); SECTION.aws_region: the token's region when the host name does not say it. */
static int sl_cfg_auth(sl_cfg_parser *p, yaml_node_t *map, const char *section,
                       sl_endpoint_config *ep)
{
	char *auth = NULL;
	SL_TRY(sl_cfg_choice(p, map, section, "auth", sl_cfg_auths, &auth));
	ep->aws_iam = auth && strcmp(auth, "aws-iam") == 0;
	free(auth);
	int line = 0;
	SL_TRY(sl_cfg_string(p, map, section, "aws_region", false, &ep->aws_region, &line));
	if (ep->aws_region && !ep->aws_iam)
		return sl_error_set(p->err, SL_ERR_CONFIG,
		                    "%s:%d: %s.aws_region is for auth: aws-iam only", p->origin,
		                    line, section);
	if (!ep->aws_iam)
		return 0;
	if (ep->password || ep->password_file)
		return sl_error_set(p->err, SL_ERR_CONFIG,
		                    "%s: %s.auth is aws-iam, whose token is the password: remove "
		                    "%s.password%s",
		                    p->origin, section, section, ep->password_file ? "_file" : "");
	if (ep->tls.mode == NULL || strncmp(ep->tls.mode, "verify-", 7) != 0)
		return sl_error_set(
		        p->err, SL_ERR_CONFIG,
		        "%s: %s.auth aws-iam sends a token that opens the database for 15 "
		        "minutes: set %s.tls.mode verify-full (with the RDS CA bundle in "
		        "%s.tls.ca_file)",
		        p->origin, section, section, section);
	return 0;
}

static int sl_cfg_endpoint(sl_cfg_parser *p, yaml_node_t *root, const char *section, bool is_source,
                           sl_endpoint_config *ep)
{
	const char *const *keys = is_source ? sl_cfg_source_keys : sl_cfg_target_keys;
	yaml_node_t *map;
	/* open: the connector's own keys are checked once its type is known */
	SL_TRY(sl_cfg_section_in(p, root, section, keys, true, &map));
	if (map == NULL)
		return sl_error_set(p->err, SL_ERR_CONFIG, "%s: missing required key '%s'",
		                    p->origin, section);
	SL_TRY(sl_cfg_string(p, map, section, "type", true, &ep->type, NULL));
	/* a target's URL may be derived by its connector (target_ops.url_optional); the
	 * pipeline asks for it when the connector does not */
	SL_TRY(sl_cfg_string(p, map, section, "url", is_source, &ep->url, NULL));
	if (ep->url)
		sl_cfg_url_secret(ep->url);
	SL_TRY(sl_cfg_secret(p, map, section, "password", &ep->password, &ep->password_file));
	if (ep->password != NULL)
		sl_log_add_secret(ep->password);
	SL_TRY(sl_cfg_tls(p, map, section, ep));
	SL_TRY(sl_cfg_auth(p, map, section, ep));
	if (!is_source)
		return 0;
	SL_TRY(sl_cfg_duration(p, map, section, "heartbeat", &ep->heartbeat_ms));
	SL_TRY(sl_cfg_size(p, map, section, "max_retained_wal", &ep->max_retained_wal));
	char tpath[96];
	sl_cfg_path(tpath, sizeof tpath, section, "tables");
	yaml_node_t *tables = sl_cfg_find(p, map, "tables");
	if (tables == NULL || sl_cfg_is_null(tables))
		return 0;
	if (tables->type != YAML_MAPPING_NODE)
		return sl_error_set(p->err, SL_ERR_CONFIG,
		                    "%s:%d: %s must be a mapping with include and/or exclude lists "
		                    "(and columns), not %s",
		                    p->origin, sl_cfg_line(tables), tpath, sl_cfg_kind(tables));
	SL_TRY(sl_cfg_check_keys(p, tables, tpath, sl_cfg_tables_keys));
	SL_TRY(sl_cfg_globs(p, tables, tpath, "include", &ep->include));
	SL_TRY(sl_cfg_globs(p, tables, tpath, "exclude", &ep->exclude));
	return sl_cfg_columns(p, tables, tpath, ep);
}

static bool sl_cfg_valid_name(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++)
		if (!sl_cfg_var_char(*s))
			return false;
	return true;
}

static int sl_cfg_root(sl_cfg_parser *p, sl_config *cfg)
{
	yaml_node_t *root = yaml_document_get_root_node(p->doc);
	yaml_node_t *sec;
	int line = 0;

	if (root == NULL || sl_cfg_is_null(root))
		return sl_error_set(
		        p->err, SL_ERR_CONFIG,
		        "%s: the pipeline file is empty (it needs at least name, source "
		        "and target)",
		        p->origin);
	if (root->type != YAML_MAPPING_NODE)
		return sl_error_set(p->err, SL_ERR_CONFIG,
		                    "%s:%d: the top level must be a mapping of keys (name, source, "
		                    "target, ...), not %s",
		                    p->origin, sl_cfg_line(root), sl_cfg_kind(root));
	SL_TRY(sl_cfg_check_keys(p, root, NULL, sl_cfg_top_keys));
	/* first, so no later message can carry it */
	char *mask_key_file = NULL;
	SL_TRY(sl_cfg_secret(p, root, NULL, "mask_key", &cfg->mask_key, &mask_key_file));
	free(mask_key_file); /* read once: another key would change every masked value */
	if (cfg->mask_key != NULL) {
		sl_log_add_secret(cfg->mask_key);
		if (strlen(cfg->mask_key) < SL_CFG_MIN_MASK_KEY)
			return sl_error_set(
			        p->err, SL_ERR_CONFIG,
			        "%s:%d: mask_key is shorter than %d characters (use a "
			        "random key, e.g. from openssl rand -hex 32, through an "
			        "environment variable: mask_key: ${SL_MASK_KEY})",
			        p->origin, line, SL_CFG_MIN_MASK_KEY);
	}

	SL_TRY(sl_cfg_string(p, root, NULL, "name", true, &cfg->name, &line));
	if (!sl_cfg_valid_name(cfg->name))
		return sl_error_set(p->err, SL_ERR_CONFIG,
		                    "%s:%d: name '%s' may contain only letters, digits and _ (it "
		                    "becomes part of slot and publication names)",
		                    p->origin, line, cfg->name);
	SL_TRY(sl_cfg_string(p, root, NULL, "log_level", false, &cfg->log_level, &line));
	if (cfg->log_level != NULL && sl_log_parse_level(cfg->log_level) < 0)
		return sl_error_set(p->err, SL_ERR_CONFIG,
		                    "%s:%d: log_level '%s' is not one of debug, info, warn, error",
		                    p->origin, line, cfg->log_level);

	SL_TRY(sl_cfg_endpoint(p, root, "source", true, &cfg->source));
	SL_TRY(sl_cfg_endpoint(p, root, "target", false, &cfg->target));

	SL_TRY(sl_cfg_section(p, root, "snapshot", sl_cfg_snapshot_keys, &sec));
	if (sec != NULL) {
		SL_TRY(sl_cfg_parallelism(p, sec, &cfg->snapshot_parallelism));
		SL_TRY(sl_cfg_size(p, sec, "snapshot", "chunk_size", &cfg->snapshot_chunk_bytes));
		SL_TRY(sl_cfg_size(p, sec, "snapshot", "queue_size", &cfg->queue_bytes));
		SL_TRY(sl_cfg_count(p, sec, "backfill_rows", 10000000, &cfg->backfill_rows));
	}
	SL_TRY(sl_cfg_section(p, root, "apply", sl_cfg_apply_keys, &sec));
	if (sec != NULL) {
		SL_TRY(sl_cfg_size_max(p, sec, "apply", "max_group_bytes", SL_COL_MAX_BYTES,
		                       "2GiB - 1: one table's pending changes are a batch whose "
		                       "columns have 32-bit offsets",
		                       &cfg->apply_max_group_bytes));
		SL_TRY(sl_cfg_duration(p, sec, "apply", "max_delay", &cfg->apply_max_delay_ms));
	}
	SL_TRY(sl_cfg_section(p, root, "log", sl_cfg_log_keys, &sec));
	if (sec != NULL) {
		char *format = NULL;
		SL_TRY(sl_cfg_choice(p, sec, "log", "format", sl_cfg_log_formats, &format));
		cfg->log_json = format && strcmp(format, "json") == 0;
		free(format);
	}
	SL_TRY(sl_cfg_section(p, root, "observability", sl_cfg_observability_keys, &sec));
	if (sec != NULL) {
		int oline = 0;
		char *token_file = NULL;
		int trc = sl_cfg_secret(p, sec, "observability", "token", &cfg->observe_token,
		                        &token_file);
		free(token_file);
		SL_TRY(trc);
		if (cfg->observe_token)
			sl_log_add_secret(cfg->observe_token);
		static const char *const bools[] = {"true", "false", NULL};
		char *metrics = NULL;
		SL_TRY(sl_cfg_choice(p, sec, "observability", "metrics", bools, &metrics));
		cfg->observe_no_metrics = metrics && strcmp(metrics, "false") == 0;
		free(metrics);
		SL_TRY(sl_cfg_string(p, sec, "observability", "listen", !cfg->observe_no_metrics,
		                     &cfg->observe_listen, &oline));
		if (cfg->observe_no_metrics && cfg->observe_listen)
			return sl_error_set(
			        p->err, SL_ERR_CONFIG,
			        "%s:%d: observability.listen serves the metrics, which "
			        "observability.metrics: false turns off: remove one of them",
			        p->origin, oline);
		if (cfg->observe_listen && !sl_cfg_listen_ok(cfg->observe_listen))
			return sl_error_set(
			        p->err, SL_ERR_CONFIG,
			        "%s:%d: observability.listen: '%s' is not HOST:PORT (e.g. "
			        "127.0.0.1:9464, [::1]:9464)",
			        p->origin, oline, cfg->observe_listen);
		if (cfg->observe_listen && !sl_cfg_listen_loopback(cfg->observe_listen) &&
		    cfg->observe_token == NULL)
			return sl_error_set(
			        p->err, SL_ERR_CONFIG,
			        "%s:%d: observability.listen: %s is not a loopback address, "
			        "so observability.token is required (a bearer token the "
			        "scraper sends; give it as ${VAR} or token_file)",
			        p->origin, oline, cfg->observe_listen);
	}
	SL_TRY(sl_cfg_section(p, root, "state", sl_cfg_state_keys, &sec));
	if (sec != NULL)
		SL_TRY(sl_cfg_string(p, sec, "state", "url", false, &cfg->state_url, NULL));
	SL_TRY(sl_cfg_section(p, root, "buffer", sl_cfg_buffer_keys, &sec));
	if (sec != NULL) {
		SL_TRY(sl_cfg_string(p, sec, "buffer", "url", true, &cfg->buffer_url, NULL));
		SL_TRY(sl_cfg_size(p, sec, "buffer", "max_size", &cfg->buffer_max_size));
		SL_TRY(sl_cfg_size_max(
		        p, sec, "buffer", "segment_size", 1024LL << 20,
		        "1GiB: a segment is written and read in pieces, but one this "
		        "large only delays the target",
		        &cfg->buffer_segment_size));
	}

	for (int i = 0; i < cfg->source.ncolumns && cfg->mask_key == NULL; i++) {
		const sl_column_rule *rule = &cfg->source.columns[i];
		for (int k = 0; k < rule->nmasks; k++)
			if (rule->masks[k].mask == SL_MASK_HASH)
				return sl_error_set(
				        p->err, SL_ERR_CONFIG,
				        "%s:%d: source.tables.columns.%s masks column %s with "
				        "hash, "
				        "which needs mask_key (add mask_key: ${SL_MASK_KEY} at the "
				        "top "
				        "level and export SL_MASK_KEY with a random key, e.g. from "
				        "openssl rand -hex 32)",
				        p->origin, rule->line, rule->table, rule->masks[k].column);
	}
	if (cfg->state_url == NULL)
		cfg->state_url = sl_strdup(SL_CFG_DEFAULT_STATE_URL);
	return 0;
}

static int sl_cfg_yaml_error(const yaml_parser_t *parser, const char *text, size_t len,
                             const char *origin, sl_error *err)
{
	const char *problem = parser->problem ? parser->problem : "invalid YAML";
	size_t line;
	if (parser->error == YAML_MEMORY_ERROR)
		return sl_error_set(err, SL_ERR_INTERNAL, "%s: out of memory while reading YAML",
		                    origin);
	if (parser->error == YAML_READER_ERROR) {
		/* reader errors carry a byte offset, not a mark */
		size_t end = parser->problem_offset < len ? parser->problem_offset : len;
		line = 1;
		for (size_t i = 0; i < end; i++)
			line += text[i] == '\n';
	} else {
		line = parser->problem_mark.line + 1;
	}
	return sl_error_set(err, SL_ERR_CONFIG, "%s:%zu: %s (fix the YAML syntax)", origin, line,
	                    problem);
}

static void sl_cfg_defaults(sl_config *cfg)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	if (cpus < 1)
		cpus = 1;
	if (cpus > SL_CFG_MAX_PARALLELISM)
		cpus = SL_CFG_MAX_PARALLELISM;
	cfg->snapshot_parallelism = (int)cpus;
	cfg->snapshot_chunk_bytes = SL_CFG_DEFAULT_CHUNK_BYTES;
	cfg->backfill_rows = 10000;
	cfg->buffer_max_size = 10LL << 30;
	cfg->buffer_segment_size = 16LL << 20;
	cfg->queue_bytes = SL_CFG_DEFAULT_BYTES;
	cfg->apply_max_group_bytes = SL_CFG_DEFAULT_BYTES;
	cfg->source.max_retained_wal = INT64_C(10) << 30;
	cfg->apply_max_delay_ms = SL_CFG_DEFAULT_DELAY_MS;
}

int sl_config_parse(const char *text, size_t len, const char *origin, sl_config **out,
                    sl_error *err)
{
	yaml_parser_t parser;
	yaml_document_t doc, extra;
	bool have_doc = false, have_extra = false;
	sl_config *cfg = NULL;
	int rc = 0;

	*out = NULL;
	if (origin == NULL)
		origin = "<pipeline>";
	if (text == NULL) {
		text = "";
		len = 0;
	}
	if (!yaml_parser_initialize(&parser))
		return sl_error_set(err, SL_ERR_INTERNAL, "%s: cannot initialise the YAML parser",
		                    origin);
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &doc)) {
		rc = sl_cfg_yaml_error(&parser, text, len, origin, err);
		goto out;
	}
	have_doc = true;
	/* a second document would be silently ignored: refuse it (and its syntax errors) */
	if (!yaml_parser_load(&parser, &extra)) {
		rc = sl_cfg_yaml_error(&parser, text, len, origin, err);
		goto out;
	}
	have_extra = true;
	yaml_node_t *extra_root = yaml_document_get_root_node(&extra);
	if (extra_root != NULL) {
		rc = sl_error_set(err, SL_ERR_CONFIG,
		                  "%s:%d: the file holds more than one YAML document (keep one and "
		                  "remove the extra ---)",
		                  origin, (int)extra.start_mark.line + 1);
		goto out;
	}

	cfg = sl_calloc(1, sizeof *cfg);
	sl_cfg_defaults(cfg);
	sl_cfg_parser p = {.doc = &doc, .origin = origin, .err = err};
	rc = sl_cfg_root(&p, cfg);
	if (rc == 0) {
		/* kept for the connectors' own keys (the nodes do not move once loaded) */
		size_t olen = strlen(origin);
		cfg->doc = sl_calloc(1, sizeof *cfg->doc + olen + 1);
		cfg->doc->doc = doc;
		memcpy(cfg->doc->origin, origin, olen + 1);
		have_doc = false;
	}
out:
	if (rc < 0) {
		sl_config_free(cfg);
		/* belt and braces: no registered password survives into the message */
		if (err != NULL)
			sl_redact_secrets(err->msg, sizeof err->msg);
	} else {
		*out = cfg;
	}
	if (have_extra)
		yaml_document_delete(&extra);
	if (have_doc)
		yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	return rc;
}

int sl_config_load(const char *path, sl_config **out, sl_error *err)
{
	sl_buf b = {0};
	FILE *f = NULL;
	int rc = 0;

	*out = NULL;
	f = fopen(path, "rb");
	if (f == NULL) {
		rc = sl_error_set(err, SL_ERR_CONFIG,
		                  "cannot read pipeline file %s: %s (check the path)", path,
		                  strerror(errno));
		goto out;
	}
	for (;;) {
		size_t n = fread(sl_buf_reserve(&b, 65536), 1, 65536, f);
		b.len += n;
		if (n < 65536)
			break;
		if (b.len > SL_CFG_MAX_FILE_BYTES) {
			rc = sl_error_set(
			        err, SL_ERR_CONFIG,
			        "cannot read pipeline file %s: larger than %zu bytes (check the "
			        "path)",
			        path, SL_CFG_MAX_FILE_BYTES);
			goto out;
		}
	}
	if (ferror(f)) {
		rc = sl_error_set(err, SL_ERR_CONFIG,
		                  "cannot read pipeline file %s: %s (check the path)", path,
		                  strerror(errno));
		goto out;
	}
	rc = sl_config_parse(b.len ? (const char *)b.data : "", b.len, path, out, err);
	if (rc == 0)
		(*out)->path = sl_strdup(path);
out:
	if (f != NULL)
		fclose(f);
	sl_buf_free(&b);
	return rc;
}

static void sl_cfg_globs_free(sl_globs *g)
{
	for (int i = 0; i < g->count; i++)
		free(g->items[i]);
	free(g->items);
	g->items = NULL;
	g->count = 0;
}

static void sl_cfg_names_free(char **names, int n)
{
	for (int i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

static void sl_cfg_endpoint_free(sl_endpoint_config *ep)
{
	for (int i = 0; i < ep->ncolumns; i++) {
		sl_column_rule *r = &ep->columns[i];
		free(r->table);
		sl_cfg_names_free(r->include, r->ninclude);
		sl_cfg_names_free(r->exclude, r->nexclude);
		for (int k = 0; k < r->nmasks; k++)
			free(r->masks[k].column);
		free(r->masks);
	}
	free(ep->columns);
	free(ep->type);
	free(ep->url);
	sl_free_secret(ep->password);
	free(ep->password_file);
	free(ep->aws_region);
	sl_cfg_globs_free(&ep->include);
	sl_cfg_globs_free(&ep->exclude);
	free(ep->tls.mode);
	free(ep->tls.ca_file);
	free(ep->tls.cert_file);
	free(ep->tls.key_file);
}

void sl_config_free(sl_config *cfg)
{
	if (cfg == NULL)
		return;
	free(cfg->path);
	free(cfg->name);
	sl_cfg_endpoint_free(&cfg->source);
	sl_cfg_endpoint_free(&cfg->target);
	free(cfg->state_url);
	free(cfg->buffer_url);
	free(cfg->log_level);
	free(cfg->mask_key);
	free(cfg->observe_listen), free(cfg->observe_token);
	if (cfg->doc) {
		yaml_document_delete(&cfg->doc->doc);
		free(cfg->doc);
	}
	free(cfg);
}

/* ---------------------------------------------------- a connector's own keys ---- */

/* A parser over the kept document, and the section's mapping (NULL when absent). */
static yaml_node_t *sl_cfg_kept(const sl_config *cfg, const char *section, sl_cfg_parser *p,
                                sl_error *err)
{
	*p = (sl_cfg_parser){.doc = &cfg->doc->doc, .origin = cfg->doc->origin, .err = err};
	yaml_node_t *root = yaml_document_get_root_node(p->doc);
	yaml_node_t *map = root ? sl_cfg_find(p, root, section) : NULL;
	return map && map->type == YAML_MAPPING_NODE ? map : NULL;
}

int sl_config_opt_string(const sl_config *cfg, const char *section, const char *key, char **out,
                         sl_error *err)
{
	sl_cfg_parser p;
	yaml_node_t *map = sl_cfg_kept(cfg, section, &p, err);
	return map ? sl_cfg_string(&p, map, section, key, false, out, NULL) : 0;
}

int sl_config_opt_choice(const sl_config *cfg, const char *section, const char *key,
                         const char *const *allowed, char **out, sl_error *err)
{
	sl_cfg_parser p;
	yaml_node_t *map = sl_cfg_kept(cfg, section, &p, err);
	return map ? sl_cfg_choice(&p, map, section, key, allowed, out) : 0;
}

int sl_config_opt_bool(const sl_config *cfg, const char *section, const char *key, bool *out,
                       sl_error *err)
{
	static const char *const bools[] = {"true", "false", NULL};
	char *s = NULL;
	SL_TRY(sl_config_opt_choice(cfg, section, key, bools, &s, err));
	if (s)
		*out = strcmp(s, "true") == 0;
	free(s);
	return 0;
}

int sl_config_opt_uint(const sl_config *cfg, const char *section, const char *key, uint64_t min,
                       uint64_t max, uint64_t *out, sl_error *err)
{
	sl_cfg_parser p;
	yaml_node_t *map = sl_cfg_kept(cfg, section, &p, err);
	return map ? sl_cfg_uint(&p, map, section, key, min, max, out) : 0;
}

int sl_config_check_section(const sl_config *cfg, const char *section, const char *type,
                            const char *const *own, sl_error *err)
{
	sl_cfg_parser p;
	yaml_node_t *map = sl_cfg_kept(cfg, section, &p, err);
	if (map == NULL)
		return 0;
	const char *const *shared =
	        strcmp(section, "source") == 0 ? sl_cfg_source_keys : sl_cfg_target_keys;
	char who[96];
	snprintf(who, sizeof who, "the %s %s takes:", type, section);
	int rc = sl_cfg_check_keys_in(&p, map, section, shared, own, false, who);
	if (rc < 0)
		sl_redact_secrets(err->msg, sizeof err->msg);
	return rc;
}

/* ------------------------------------------------------------ registries ---- */

const void *sl_registry_find(const sl_registry_entry *rows, size_t n, const char *name)
{
	for (size_t i = 0; name && i < n; i++)
		if (strcmp(rows[i].name, name) == 0)
			return rows[i].ops;
	return NULL;
}

const char *sl_registry_names(const sl_registry_entry *rows, size_t n, char *buf, size_t size)
{
	size_t len = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < n && len < size; i++)
		if (i == 0 || rows[i].ops != rows[i - 1].ops)
			len += (size_t)snprintf(buf + len, size - len, "%s%s", len ? ", " : "",
			                        rows[i].name);
	return buf;
}
