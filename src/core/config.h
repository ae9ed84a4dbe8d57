/* The pipeline file: YAML (DESIGN.md §9) loaded into sl_config.
 *
 * Rules: unknown keys are rejected with their line; ${VAR} in any scalar is replaced by the
 * environment variable VAR (an unset variable is an error naming it); sizes accept B, KiB, MiB,
 * GiB (and KB/MB/GB as powers of 1000); durations accept ms, s, m, h. Every password read,
 * and mask_key, is registered with sl_log_add_secret so it can never be logged. */
#ifndef SL_CONFIG_H
#define SL_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

typedef struct sl_globs {
	char **items; /* glob patterns like "public.*" (schema.table; '*' and '?' wildcards) */
	int count;
} sl_globs;

/* How a column's values are masked before they leave the agent (source.tables.columns). */
typedef enum sl_mask {
	SL_MASK_NONE = 0,
	SL_MASK_HASH, /* HMAC-SHA256 keyed with mask_key, as lowercase hex text */
	SL_MASK_NULL  /* kept as a column, every value NULL */
} sl_mask;

typedef struct sl_column_mask {
	char *column;
	sl_mask mask;
} sl_column_mask;

/* One table's entry under source.tables.columns: which columns travel and which are masked.
 * `include` and `exclude` are column names (exact, case-sensitive); at most one of them is
 * given. Checked against the discovered table by core/columns.h. */
typedef struct sl_column_rule {
	char *table; /* qualified as sl_qualify writes it: "schema.table" */
	int line;    /* in the pipeline file, for messages */
	char **include;
	int ninclude;
	char **exclude;
	int nexclude;
	sl_column_mask *masks;
	int nmasks;
} sl_column_rule;

typedef struct sl_endpoint_config {
	char *type;     /* "postgres", "mysql", "clickhouse", ... (required) */
	char *url;      /* connection URL (required) */
	char *password; /* optional; NULL when absent (with password_file: what it held at start) */
	char *password_file; /* password_file: the file to read it from again at each connection */
	bool aws_iam;        /* auth: aws-iam: an RDS/Aurora IAM token is the password */
	char *aws_region;    /* aws_region: the token's region (NULL: from the host name) */
	/* source only */
	sl_globs include; /* default: empty = every user table */
	sl_globs exclude;
	sl_column_rule *columns; /* source.tables.columns, per table */
	int ncolumns;
	int64_t heartbeat_ms;     /* source.heartbeat: write a heartbeat this often; 0 = off */
	int64_t max_retained_wal; /* warn when the slot holds back more WAL (default 10GiB) */
	/* tls: how the connection is encrypted and the server checked. mode NULL: the
	 * engine's default (its connector documents it); files NULL when not set */
	struct {
		char *mode; /* disable | prefer | require | verify-ca | verify-full */
		char *ca_file, *cert_file, *key_file;
	} tls;
} sl_endpoint_config;

/* Secrets from files (KEY_file, as Kubernetes and Docker mount them). */
#define SL_SECRET_MAX 65536
/* Read the secret in `path`, one trailing newline dropped; registered with sl_log_add_secret.
 * `what` names the setting in errors ("source.password_file"). *out: free with sl_free_secret. */
int sl_secret_read(const char *path, const char *what, char **out, sl_error *err);
/* The endpoint's password now: from password_file, read again (a rotated secret is used at the
 * next connection), or the password; NULL when neither. *out: free with sl_free_secret. */
int sl_endpoint_password(const sl_endpoint_config *ep, const char *section, char **out,
                         sl_error *err);
/* Zero a secret's bytes, then free it. */
void sl_free_secret(char *s);

/* How a connection is protected, for `sluice check`: "TLSv1.3, certificate and host name
 * verified" (verify-full), "..., certificate verified (not the host name)" (verify-ca),
 * "..., certificate not verified (...)" (below), "no TLS (the server is on this machine)", or,
 * without TLS to another machine, a warning naming SECTION.tls.mode. version: the negotiated
 * protocol, NULL without TLS; mode: the mode in effect. */
void sl_tls_describe(char *buf, size_t n, const char *section, const char *version,
                     const char *mode, bool local);

typedef struct sl_config {
	char *path; /* the file it was loaded from (NULL after sl_config_parse) */
	char *name; /* required: [A-Za-z0-9_]+ */
	sl_endpoint_config source;
	sl_endpoint_config target;
	int snapshot_parallelism;      /* default: number of online CPUs */
	int64_t snapshot_chunk_bytes;  /* snapshot.chunk_size, default 1GiB of source per chunk */
	int64_t apply_max_group_bytes; /* default 64MiB */
	int64_t apply_max_delay_ms;    /* default 1000 */
	int64_t queue_bytes;   /* snapshot.queue_size: bytes buffered per worker, default 64MiB */
	int64_t backfill_rows; /* snapshot.backfill_rows: rows per backfill slice, default 10000 */
	/* buffer: (core/buffer.h); url NULL: none */
	char *buffer_url;
	int64_t buffer_max_size;     /* default 10GiB */
	int64_t buffer_segment_size; /* default 16MiB */
	char *state_url; /* default "sqlite://./sluice-state.db"; relative paths are relative to
	                    the current directory */
	char *log_level; /* optional top-level "log_level": debug|info|warn|error */
	/* observability: the HTTP listener (NULL: none), its bearer token (a secret; NULL: none,
	 * allowed on loopback only) */
	char *observe_listen, *observe_token;
	bool observe_no_metrics; /* observability.metrics: false: no registry, no export */
	bool log_json;           /* log.format: json (one JSON object per line); default text */
	char *mask_key;          /* top-level "mask_key": the HMAC key of hash masking (a secret);
	                            NULL when absent */
	struct sl_cfg_doc *doc;  /* the parsed file, for the connectors' own keys */
} sl_config;

/* observability.listen's form: HOST:PORT or [IPV6]:PORT; and whether the host is loopback. */
bool sl_cfg_listen_ok(const char *s);
bool sl_cfg_listen_loopback(const char *s);

/* ---- a connector's own keys ----
 * Core reads the keys every connector shares (type, url, password, tls, auth, and for sources
 * tables, heartbeat, max_retained_wal); a connector reads its own from its section ("source"
 * or "target") with these, under the same rules as the rest of the file (${VAR}, errors
 * naming file:line), and lists their names in its ops (`options`) so that
 * sl_config_check_section can reject the keys nobody reads. An absent key leaves *out as it
 * is (a string stays NULL). */
int sl_config_opt_string(const sl_config *cfg, const char *section, const char *key, char **out,
                         sl_error *err);
int sl_config_opt_choice(const sl_config *cfg, const char *section, const char *key,
                         const char *const *allowed, char **out, sl_error *err);
int sl_config_opt_bool(const sl_config *cfg, const char *section, const char *key, bool *out,
                       sl_error *err);
/* A whole number from min to max. */
int sl_config_opt_uint(const sl_config *cfg, const char *section, const char *key, uint64_t min,
                       uint64_t max, uint64_t *out, sl_error *err);
/* The registries (sources/source.c, targets/target.c) map a section's type to its connector:
 * rows of names, the first of each connector the one messages use. */
typedef struct sl_registry_entry {
	const char *name;
	const void *ops;
} sl_registry_entry;
const void *sl_registry_find(const sl_registry_entry *rows, size_t n, const char *name);
/* The first name of each connector, joined by ", ", into buf. */
const char *sl_registry_names(const sl_registry_entry *rows, size_t n, char *buf, size_t size);

/* Every key in `section` is a shared one or in `own` (NULL-terminated; NULL: none); else
 * "FILE:LINE: unknown key 'K' in SECTION (the TYPE connector takes: ...)". */
int sl_config_check_section(const sl_config *cfg, const char *section, const char *type,
                            const char *const *own, sl_error *err);

/* Load and validate a pipeline file. On success *out is a new config (free with
 * sl_config_free). On failure returns SL_ERR_CONFIG with a message like
 * "pipeline.yaml:7: unknown key 'tabels' in source (expected one of: type, url, ...)". */
int sl_config_load(const char *path, sl_config **out, sl_error *err);

/* Same, from a string (for tests); `origin` names it in messages. */
int sl_config_parse(const char *text, size_t len, const char *origin, sl_config **out,
                    sl_error *err);

void sl_config_free(sl_config *cfg);

/* Parse "64MiB" etc. into bytes; -1 on error. */
int64_t sl_parse_size(const char *s);
/* Parse "1s", "250ms", "5m", "1h" (a bare number is seconds) into milliseconds; -1 on error. */
int64_t sl_parse_duration_ms(const char *s);

/* Does "schema.table" match the glob pattern? '*' matches any run (including dots),
 * '?' one character; matching is case-sensitive. */
bool sl_glob_match(const char *pattern, const char *text);

/* A table passes the filter when it matches some include pattern (or include is empty)
 * and no exclude pattern. `qualified` is "schema.table". */
bool sl_globs_select(const sl_globs *include, const sl_globs *exclude, const char *qualified);

/* The source.tables.columns entry of table `qualified`, or NULL. */
const sl_column_rule *sl_config_column_rule(const sl_config *cfg, const char *qualified);

#endif
