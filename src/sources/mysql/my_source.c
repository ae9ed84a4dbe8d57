/* MySQL / MariaDB source: connection, preflight checks, discovery, consistent point and parallel
 * snapshot.
 *
 * Consistent point: with the RELOAD privilege, FLUSH TABLES WITH READ LOCK stops commits for a
 * moment while every snapshot reader opens START TRANSACTION WITH CONSISTENT SNAPSHOT and the
 * GTID position is read; UNLOCK TABLES follows at once. All chunks, read in parallel by
 * different connections, then see one state, the one at that position. Without the privilege
 * (or when resuming an interrupted snapshot) the position is read first and every chunk is read
 * later in its own consistent snapshot: chunks see different moments, all at or after the
 * position, and CDC replays the binlog from the position, which upserts full row images by key
 * and deletes by key, so every table converges to the source exactly. That argument needs a
 * primary key, so the lock-free path refuses keyless tables.
 *
 * Chunks: a table with physical partitions is read partition by partition; otherwise a table
 * whose primary key starts with an integer column is split into ranges of that column of about
 * snapshot.chunk_size; other tables are one chunk.
 *
 * Threads: the my_source is used by the main thread; each my_reader by one snapshot worker
 * (reader_cancel from another thread opens its own connection to KILL QUERY). */
#include <ctype.h>
#include <errmsg.h>
#include <inttypes.h>
#include <mysqld_error.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/digest.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/url.h"
#include "clients/aws.h"
#include "sources/mysql/my_source.h"
#include "sources/mysql/my_source_int.h"

/* ---------------------------------------------------------------- URL ---- */

static int my_parse_url(const char *url, const char *password, sl_my_url *u, sl_error *err)
{
	memset(u, 0, sizeof *u);
	u->port = 3306;
	const char *p = url;
	if (strncmp(p, "mysql://", 8) == 0)
		p += 8;
	else if (strncmp(p, "mariadb://", 10) == 0)
		p += 10;
	else
		goto bad;
	const char *at = strrchr(p, '@');
	const char *slash = strchr(at ? at : p, '/');
	const char *q = strchr(at ? at : p, '?');
	if (q && (slash == NULL || q < slash))
		slash = NULL;
	const char *hend = slash ? slash : (q ? q : p + strlen(p));
	if (!sl_url_authority(p, hend, u->user, sizeof u->user, u->password, sizeof u->password,
	                      u->host, sizeof u->host, &u->port))
		goto bad;
	if (slash) {
		const char *dend = q ? q : slash + strlen(slash);
		if (!sl_url_unescape(slash + 1, dend, u->database, sizeof u->database))
			goto bad;
	}
	if (q && q[1] != '\0')
		return sl_error_set(err, SL_ERR_CONFIG,
		                    "source.url: parameters (%s) are not supported for MySQL; use "
		                    "mysql://user@host:port/database",
		                    q);
	if (u->host[0] == '\0')
		snprintf(u->host, sizeof u->host, "localhost");
	if (u->user[0] == '\0')
		return sl_error_set(
		        err, SL_ERR_CONFIG,
		        "source.url names no user: use mysql://user@host:port/database");
	if (password)
		snprintf(u->password, sizeof u->password, "%s", password);
	if (u->password[0])
		sl_log_add_secret(u->password);
	return 0;
bad:
	return sl_error_set(err, SL_ERR_CONFIG,
	                    "source.url is not a MySQL URL: expected "
	                    "mysql://user@host:port/database");
}

/* ---------------------------------------------------------------- connections ---- */

int sl_my_server_error(MYSQL *c, const char *what, sl_error *err)
{
	unsigned e = mysql_errno(c);
	int code = SL_ERR_SERVER;
	bool retry = false;
	if (e == CR_SERVER_GONE_ERROR || e == CR_SERVER_LOST || e == CR_CONN_HOST_ERROR ||
	    e == CR_CONNECTION_ERROR || e == ER_CONNECTION_KILLED || e == ER_SERVER_SHUTDOWN) {
		code = SL_ERR_CONNECT;
		retry = true;
	} else if (e == ER_SPECIFIC_ACCESS_DENIED_ERROR || e == ER_TABLEACCESS_DENIED_ERROR ||
	           e == ER_DBACCESS_DENIED_ERROR || e == ER_ACCESS_DENIED_ERROR) {
		code = SL_ERR_PRIVILEGE;
	} else if (e == ER_LOCK_WAIT_TIMEOUT || e == ER_LOCK_DEADLOCK) {
		retry = true;
	}
	sl_error_set(err, code, "source: %s: %s (MySQL error %u)", what, mysql_error(c), e);
	err->retryable = retry;
	/* a column or table not as discovered */
	err->rediscover = e == ER_BAD_FIELD_ERROR || e == ER_NO_SUCH_TABLE;
	snprintf(err->sqlstate, sizeof err->sqlstate, "%s", mysql_sqlstate(c));
	return code;
}

int sl_my_exec(MYSQL *c, const char *sql, sl_error *err)
{
	if (mysql_real_query(c, sql, strlen(sql)) != 0) {
		char what[160];
		snprintf(what, sizeof what, "%.150s", sql);
		return sl_my_server_error(c, what, err);
	}
	MYSQL_RES *res = mysql_store_result(c);
	if (res)
		mysql_free_result(res);
	return 0;
}

int sl_my_scalar(MYSQL *c, const char *sql, char **out, sl_error *err)
{
	*out = NULL;
	if (mysql_real_query(c, sql, strlen(sql)) != 0) {
		char what[160];
		snprintf(what, sizeof what, "%.150s", sql);
		return sl_my_server_error(c, what, err);
	}
	MYSQL_RES *res = mysql_store_result(c);
	if (res == NULL)
		return sl_my_server_error(c, sql, err);
	MYSQL_ROW row = mysql_fetch_row(res);
	*out = sl_strdup(row && row[0] ? row[0] : "");
	mysql_free_result(res);
	return 0;
}

/* source.tls onto libmariadb: a CA file makes OpenSSL check the server's chain (verify-ca);
 * MYSQL_OPT_SSL_VERIFY_SERVER_CERT adds the host name (verify-full); MYSQL_OPT_SSL_ENFORCE
 * refuses a server without TLS (require and up). Default: prefer (TLS when the server offers
 * it, unchecked), libmariadb's own behaviour with any TLS option set. */
static void my_tls_options(MYSQL *c, const sl_endpoint_config *ep, bool plain)
{
	const char *mode = ep->tls.mode ? ep->tls.mode : "prefer";
	if (strcmp(mode, "disable") == 0 || plain)
		return;
	bool verify_ca = strncmp(mode, "verify-", 7) == 0;
	my_bool enforce = 1; /* prefer: tried first, then without TLS (sl_my_connect_timeout) */
	my_bool host = strcmp(mode, "verify-full") == 0;
	/* verify without a CA file: the system's trusted CAs */
	const char *ca = verify_ca ? ep->tls.ca_file : NULL;
	const char *capath = verify_ca && ca == NULL ? "/etc/ssl/certs" : NULL;
	mysql_ssl_set(c, ep->tls.key_file, ep->tls.cert_file, ca, capath, NULL);
	mysql_optionsv(c, MYSQL_OPT_SSL_ENFORCE, &enforce);
	mysql_optionsv(c, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &host);
}

/* A TLS failure, in one line naming the setting to change (no secret is in libmariadb's
 * text). */
static int my_tls_error(MYSQL *c, const char *what, const sl_my_url *u,
                        const sl_endpoint_config *ep, sl_error *err)
{
	const char *m = mysql_error(c), *fix;
	if (strstr(m, "doesn't support") || strstr(m, "not support"))
		fix = "the server has no TLS: turn it on there (ssl_cert, ssl_key), or lower "
		      "source.tls.mode";
	else if (strstr(m, "ostname") || strstr(m, "Validation of SSL server certificate"))
		fix = "the server's certificate is not for the host in source.url: connect by a "
		      "name the certificate holds, or use source.tls.mode verify-ca";
	else if (strstr(m, "self-signed") || strstr(m, "issuer") || strstr(m, "verify failed"))
		fix = ep->tls.ca_file ? "the server's certificate is not signed by a CA in "
		                        "source.tls.ca_file"
		                      : "the server's certificate is not signed by a CA this "
		                        "system trusts: set source.tls.ca_file";
	else if (strstr(m, "expired"))
		fix = "the server's certificate has expired: renew it on the server";
	else
		fix = "check source.tls";
	return sl_error_set(err, SL_ERR_CONNECT, "%s: TLS with %s:%u failed: %s (%s)", what,
	                    u->host, u->port, m, fix);
}

int sl_my_connect_timeout(const my_source *s, const char *what, unsigned read_timeout, MYSQL **out,
                          sl_error *err)
{
	*out = NULL;
	const sl_endpoint_config *ep = &s->cfg->source;
	bool prefer = ep->tls.mode == NULL || strcmp(ep->tls.mode, "prefer") == 0;
	bool plain = false;
again:;
	MYSQL *c = mysql_init(NULL);
	if (c == NULL)
		return sl_error_set(err, SL_ERR_INTERNAL, "out of memory (mysql_init)");
	unsigned timeout = 10, rw_timeout = read_timeout;
	mysql_options(c, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
	mysql_options(c, MYSQL_OPT_READ_TIMEOUT, &rw_timeout);
	mysql_options(c, MYSQL_OPT_WRITE_TIMEOUT, &rw_timeout);
	mysql_options(c, MYSQL_SET_CHARSET_NAME, "utf8mb4");
	/* rows and binlog events as big as the server allows (LONGBLOB values, big row events) */
	unsigned long max_packet = 1UL << 30;
	mysql_options(c, MYSQL_OPT_MAX_ALLOWED_PACKET, &max_packet);
	my_tls_options(c, ep, plain);
	const sl_my_url *u = &s->url;
	char *pw = NULL; /* source.password_file: read at every connection (rotated secrets) */
	int prc = 0;
	if (ep->aws_iam) {
		/* a new RDS token, sent as a clear-text password (over the verified TLS the
		 * configuration insists on) as the AWSAuthenticationPlugin wants */
		prc = sl_rds_token_for(ep, "source", u->host, u->port, u->user, &pw, err);
		my_bool on = 1;
		mysql_optionsv(c, MYSQL_ENABLE_CLEARTEXT_PLUGIN, &on);
	} else if (ep->password_file) {
		prc = sl_endpoint_password(ep, "source", &pw, err);
	}
	if (prc < 0) {
		mysql_close(c);
		return -1;
	}
	MYSQL *ok = mysql_real_connect(c, u->host, u->user,
	                               pw               ? pw
	                               : u->password[0] ? u->password
	                                                : NULL,
	                               NULL, u->port, NULL, 0);
	sl_free_secret(pw);
	if (ok == NULL) {
		unsigned e = mysql_errno(c);
		int rc;
		if (e == CR_SSL_CONNECTION_ERROR && prefer && !plain) {
			/* prefer: the server has no TLS (or offers one sluice cannot use) */
			mysql_close(c);
			plain = true;
			goto again;
		}
		if (e == CR_SSL_CONNECTION_ERROR)
			rc = my_tls_error(c, what, u, ep, err);
		else if ((e == ER_ACCESS_DENIED_ERROR || e == ER_ACCESS_DENIED_NO_PASSWORD_ERROR) &&
		         ep->aws_iam)
			rc = sl_error_set(
			        err, SL_ERR_CONNECT,
			        "%s: the IAM token was refused for user '%s' on %s:%u: create "
			        "the user IDENTIFIED WITH AWSAuthenticationPlugin AS 'RDS', "
			        "allow rds-db:connect for it in the IAM policy of the "
			        "credentials sluice uses, and check source.aws_region",
			        what, u->user, u->host, u->port);
		else if (e == ER_ACCESS_DENIED_ERROR || e == ER_ACCESS_DENIED_NO_PASSWORD_ERROR)
			rc = sl_error_set(
			        err, SL_ERR_CONNECT,
			        "%s: login refused for user '%s' on %s:%u (check the user "
			        "in source.url and source.password%s)",
			        what, u->user, u->host, u->port,
			        plain || (ep->tls.mode && strcmp(ep->tls.mode, "disable") == 0)
			                ? "; without TLS: does the account REQUIRE SSL? set "
			                  "source.tls.mode"
			                : "");
		else if (e == CR_CONN_HOST_ERROR || e == CR_CONNECTION_ERROR ||
		         e == CR_UNKNOWN_HOST || e == CR_SERVER_LOST || e == CR_SERVER_GONE_ERROR) {
			rc = sl_error_set(err, SL_ERR_CONNECT,
			                  "%s: cannot connect to %s:%u: %s (is the server running, "
			                  "and are the host and port in source.url right?)",
			                  what, u->host, u->port, mysql_error(c));
			err->retryable = true;
		} else {
			rc = sl_error_set(err, SL_ERR_CONNECT, "%s: cannot connect to %s:%u: %s",
			                  what, u->host, u->port, mysql_error(c));
			/* out of connection slots, or stopping: both pass by themselves */
			err->retryable = e == ER_CON_COUNT_ERROR || e == ER_SERVER_SHUTDOWN;
		}
		mysql_close(c);
		return rc;
	}
	/* libmariadb goes on without TLS when the server has none, MYSQL_OPT_SSL_ENFORCE or not */
	if (!prefer && strcmp(ep->tls.mode, "disable") != 0 && mysql_get_ssl_cipher(c) == NULL) {
		mysql_close(c);
		return sl_error_set(err, SL_ERR_CONNECT,
		                    "%s: %s:%u has no TLS, and source.tls.mode is %s: turn TLS on "
		                    "there (ssl_cert, ssl_key), or lower source.tls.mode",
		                    what, u->host, u->port, ep->tls.mode);
	}
	int rc = sl_my_exec(c,
	                    "SET time_zone = '+00:00', net_write_timeout = 3600, "
	                    "net_read_timeout = 3600, sql_mode = ''",
	                    err);
	if (rc == 0 && u->database[0]) {
		if (mysql_select_db(c, u->database) != 0)
			rc = sl_error_set(
			        err, SL_ERR_CONFIG,
			        "%s: database '%s' (from source.url) does not exist or is "
			        "not readable by '%s'",
			        what, u->database, u->user);
	}
	if (rc < 0) {
		mysql_close(c);
		return rc;
	}
	*out = c;
	return 0;
}

int sl_my_connect(const my_source *s, const char *what, MYSQL **out, sl_error *err)
{
	return sl_my_connect_timeout(s, what, 3600, out, err);
}

int sl_my_current_position(my_source *s, MYSQL *c, char **out, sl_error *err)
{
	return sl_my_scalar(c,
	                    s->flavor == SL_GTID_MARIADB ? "SELECT @@GLOBAL.gtid_binlog_pos"
	                                                 : "SELECT @@GLOBAL.gtid_executed",
	                    out, err);
}

static int my_open(const sl_config *cfg, sl_source **out, sl_error *err)
{
	uint64_t replica_id = 0;
	SL_TRY(sl_config_opt_uint(cfg, "source", "server_id", 1, UINT32_MAX, &replica_id, err));
	my_source *s = sl_calloc(1, sizeof *s);
	s->cfg = cfg;
	s->replica_id = (uint32_t)replica_id;
	pthread_mutex_init(&s->marks_mu, NULL);
	int rc = my_parse_url(cfg->source.url, cfg->source.password, &s->url, err);
	if (rc == 0)
		rc = sl_my_connect(s, "source", &s->meta, err);
	if (rc < 0) {
		pthread_mutex_destroy(&s->marks_mu);
		free(s);
		return rc;
	}
	s->version = mysql_get_server_version(s->meta);
	s->mariadb = strstr(mysql_get_server_info(s->meta), "MariaDB") != NULL;
	s->flavor = s->mariadb ? SL_GTID_MARIADB : SL_GTID_MYSQL;
	char *v = NULL;
	if (sl_my_scalar(s->meta, "SELECT @@server_id", &v, err) == 0)
		s->server_id = (uint32_t)strtoul(v, NULL, 10);
	free(v);
	if (s->mariadb ? s->version < 100500 : s->version < 80000) {
		rc = sl_error_set(
		        err, SL_ERR_SETTING,
		        "source: %s %s is too old; sluice needs MySQL 8.0 or MariaDB 10.5 "
		        "or later (binlog_row_metadata)",
		        s->mariadb ? "MariaDB" : "MySQL", mysql_get_server_info(s->meta));
		mysql_close(s->meta);
		pthread_mutex_destroy(&s->marks_mu);
		free(s);
		return rc;
	}
	*out = my_source_handle(s);
	return 0;
}

static void my_close_pre_readers(my_source *s)
{
	for (int i = 0; i < s->npre; i++)
		if (s->pre_readers[i])
			mysql_close(s->pre_readers[i]);
	free(s->pre_readers);
	s->pre_readers = NULL;
	s->npre = s->npre_used = 0;
}

static void my_close(sl_source *handle)
{
	my_source *s = my_source_of(handle);
	if (s == NULL)
		return;
	my_close_pre_readers(s);
	if (s->meta)
		mysql_close(s->meta);
	if (s->bf)
		mysql_close(s->bf);
	sl_buf_free(&s->bf_scratch);
	for (int i = 0; i < s->nmarks; i++)
		free(s->marks[i].mark);
	free(s->marks);
	pthread_mutex_destroy(&s->marks_mu);
	free(s);
}

/* ---------------------------------------------------------------- settings ---- */

struct my_settings {
	char log_bin[16], binlog_format[16], row_image[16], row_metadata[16], gtid_mode[32],
	        enforce_gtid[16], checksum[16];
	unsigned long server_id;
	long long expire_seconds;
};

static int my_read_settings(my_source *s, struct my_settings *st, sl_error *err)
{
	memset(st, 0, sizeof *st);
	const char *sql =
	        s->mariadb ? "SELECT @@log_bin, @@binlog_format, @@binlog_row_image, "
	                     "@@binlog_row_metadata, 'ON', 'ON', @@server_id, "
	                     "@@binlog_expire_logs_seconds, @@binlog_checksum"
	                   : "SELECT @@log_bin, @@binlog_format, @@binlog_row_image, "
	                     "@@binlog_row_metadata, @@gtid_mode, @@enforce_gtid_consistency, "
	                     "@@server_id, @@binlog_expire_logs_seconds, @@binlog_checksum";
	if (mysql_real_query(s->meta, sql, strlen(sql)) != 0)
		return sl_my_server_error(s->meta, "reading the binlog settings", err);
	MYSQL_RES *res = mysql_store_result(s->meta);
	MYSQL_ROW row = res ? mysql_fetch_row(res) : NULL;
	if (row == NULL) {
		if (res)
			mysql_free_result(res);
		return sl_my_server_error(s->meta, "reading the binlog settings", err);
	}
#define COPY(dst, i) snprintf(dst, sizeof dst, "%s", row[i] ? row[i] : "")
	COPY(st->log_bin, 0);
	if (strcmp(st->log_bin, "1") == 0)
		snprintf(st->log_bin, sizeof st->log_bin, "ON");
	else if (strcmp(st->log_bin, "0") == 0)
		snprintf(st->log_bin, sizeof st->log_bin, "OFF");
	COPY(st->binlog_format, 1);
	COPY(st->row_image, 2);
	COPY(st->row_metadata, 3);
	COPY(st->gtid_mode, 4);
	COPY(st->enforce_gtid, 5);
	st->server_id = row[6] ? strtoul(row[6], NULL, 10) : 0;
	st->expire_seconds = row[7] ? strtoll(row[7], NULL, 10) : 0;
	COPY(st->checksum, 8);
#undef COPY
	mysql_free_result(res);
	return 0;
}

/* The settings CDC needs, each with its fix. Returns the number failed; reports each. */
static int my_check_settings(my_source *s, const struct my_settings *st, sl_check_fn report,
                             void *ctx)
{
	static const char set_fix[] = "run SET GLOBAL %s = '%s' and set %s = %s in the server's "
	                              "configuration";
	static const char restart_fix[] = "set %s = %s in the [mysqld] section of the server's "
	                                  "configuration and restart it";
	char sid[24];
	snprintf(sid, sizeof sid, "%lu", st->server_id);
	const struct {
		const char *name, *value, *want, *fix;
		bool mysql_only;
	} rules[] = {
	        {"log_bin", st->log_bin, "ON", restart_fix, false},
	        {"binlog_format", st->binlog_format, "ROW", set_fix, false},
	        {"binlog_row_image", st->row_image, "FULL", set_fix, false},
	        {"binlog_row_metadata", st->row_metadata, "FULL", set_fix, false},
	        {"server_id", sid, NULL, restart_fix, false},
	        {"gtid_mode", st->gtid_mode, "ON", restart_fix, true},
	        {"enforce_gtid_consistency", st->enforce_gtid, "ON", restart_fix, true},
	};
	int failed = 0;
	for (size_t i = 0; i < sizeof rules / sizeof *rules; i++) {
		if (rules[i].mysql_only && s->mariadb)
			continue;
		const char *name = rules[i].name, *value = rules[i].value, *want = rules[i].want;
		bool ok = want ? strcasecmp(value, want) == 0 : strcmp(value, "0") != 0;
		char what[64], d[512], fix[256];
		snprintf(what, sizeof what, "source %s", name);
		if (rules[i].fix == set_fix)
			snprintf(fix, sizeof fix, set_fix, name, want, name, want);
		else
			snprintf(fix, sizeof fix, restart_fix, name,
			         want ? want : "a unique non-zero value");
		if (ok)
			snprintf(d, sizeof d, "%s is %s", name, value);
		else if (strcmp(name, "log_bin") == 0)
			snprintf(d, sizeof d,
			         "the binary log is off (add log_bin = mysql-bin to the [mysqld] "
			         "section "
			         "of the server's configuration and restart it)");
		else
			snprintf(d, sizeof d, "%s is %s (%s)", name, value[0] ? value : "unset",
			         fix);
		report(ctx, ok, what, d);
		failed += !ok;
	}
	return failed;
}

struct first_failure {
	sl_error *err;
	bool set;
};

static void my_first_failure(void *ctx, bool ok, const char *what, const char *detail)
{
	struct first_failure *f = ctx;
	(void)what;
	if (!ok && !f->set) {
		sl_error_set(f->err, SL_ERR_SETTING, "source: %s", detail);
		f->set = true;
	}
}

/* Privileges from SHOW GRANTS: global ones matter for replication. */
struct my_grants {
	bool all, repl_slave, repl_client, reload, select_any;
};

static void my_read_grants(my_source *s, struct my_grants *g);

/* Fail with the first wrong setting or missing privilege (run, before anything is read). */
static int my_require_settings(my_source *s, sl_error *err)
{
	struct my_settings st;
	SL_TRY(my_read_settings(s, &st, err));
	struct first_failure f = {.err = err};
	if (my_check_settings(s, &st, my_first_failure, &f) > 0)
		return err->code;
	struct my_grants g;
	my_read_grants(s, &g);
	if (!g.repl_slave || !g.repl_client)
		return sl_error_set(err, SL_ERR_PRIVILEGE,
		                    "source: user '%s' lacks %s, needed to read the binary log "
		                    "(run: GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO "
		                    "'%s'@'%%')",
		                    s->url.user,
		                    !g.repl_slave ? "REPLICATION SLAVE" : "REPLICATION CLIENT",
		                    s->url.user);
	return 0;
}

static void my_read_grants(my_source *s, struct my_grants *g)
{
	memset(g, 0, sizeof *g);
	if (mysql_query(s->meta, "SHOW GRANTS FOR CURRENT_USER()") != 0)
		return;
	MYSQL_RES *res = mysql_store_result(s->meta);
	MYSQL_ROW row;
	while (res && (row = mysql_fetch_row(res)) != NULL) {
		const char *line = row[0] ? row[0] : "";
		const char *on = strstr(line, " ON ");
		if (on == NULL)
			continue;
		bool global = strncmp(on, " ON *.*", 7) == 0;
		char privs[2048];
		snprintf(privs, sizeof privs, "%.*s", (int)(on - line), line);
		if (global && strstr(privs, "ALL PRIVILEGES"))
			g->all = true;
		if (global &&
		    (strstr(privs, "REPLICATION SLAVE") || strstr(privs, "REPLICATION REPLICA")))
			g->repl_slave = true;
		if (global &&
		    (strstr(privs, "REPLICATION CLIENT") || strstr(privs, "BINLOG MONITOR")))
			g->repl_client = true;
		if (global && strstr(privs, "RELOAD"))
			g->reload = true;
		if (strstr(privs, "SELECT") || strstr(privs, "ALL PRIVILEGES"))
			g->select_any = true;
	}
	if (res)
		mysql_free_result(res);
	if (g->all)
		g->repl_slave = g->repl_client = g->reload = g->select_any = true;
}

static void my_report(sl_check_fn report, void *ctx, bool ok, const char *what, const char *fmt,
                      ...) __attribute__((format(printf, 5, 6)));
static void my_report(sl_check_fn report, void *ctx, bool ok, const char *what, const char *fmt,
                      ...)
{
	char d[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(d, sizeof d, fmt, ap);
	va_end(ap);
	report(ctx, ok, what, d);
}

static void my_quote_ident(sl_buf *b, const char *name)
{
	sl_buf_putc(b, '`');
	for (const char *p = name; *p; p++) {
		if (*p == '`')
			sl_buf_putc(b, '`');
		sl_buf_putc(b, *p);
	}
	sl_buf_putc(b, '`');
}

static void my_quote_lit(sl_buf *b, const char *s)
{
	sl_buf_putc(b, '\'');
	for (const char *p = s; *p; p++) {
		if (*p == '\'' || *p == '\\')
			sl_buf_putc(b, *p);
		sl_buf_putc(b, *p);
	}
	sl_buf_putc(b, '\'');
}

static sl_fk_action my_fk_action(const char *rule)
{
	if (strcmp(rule, "CASCADE") == 0)
		return SL_FK_CASCADE;
	if (strcmp(rule, "SET NULL") == 0)
		return SL_FK_SET_NULL;
	return SL_FK_NO_ACTION; /* RESTRICT, NO ACTION; InnoDB refuses SET DEFAULT */
}

int sl_my_read_fks(my_source *s, MYSQL *conn, sl_catalog *cat, sl_error *err)
{
	const sl_config *cfg = s->cfg;
	sl_buf sql = {0};
	/* MariaDB shows REFERENTIAL_CONSTRAINTS.REFERENCED_TABLE_NAME as NULL to a user without
	 * privileges on the parent's columns; KEY_COLUMN_USAGE has it */
	sl_buf_puts(&sql,
	            "SELECT rc.CONSTRAINT_SCHEMA, rc.TABLE_NAME, rc.CONSTRAINT_NAME, "
	            "rc.DELETE_RULE, rc.UPDATE_RULE, k.REFERENCED_TABLE_SCHEMA, "
	            "k.REFERENCED_TABLE_NAME, k.COLUMN_NAME, k.REFERENCED_COLUMN_NAME "
	            "FROM information_schema.REFERENTIAL_CONSTRAINTS rc "
	            "JOIN information_schema.KEY_COLUMN_USAGE k ON k.CONSTRAINT_SCHEMA = "
	            "rc.CONSTRAINT_SCHEMA AND k.TABLE_NAME = rc.TABLE_NAME AND k.CONSTRAINT_NAME "
	            "= rc.CONSTRAINT_NAME AND k.REFERENCED_TABLE_NAME IS NOT NULL "
	            "WHERE (rc.DELETE_RULE IN ('CASCADE', 'SET NULL') "
	            "OR rc.UPDATE_RULE IN ('CASCADE', 'SET NULL'))");
	if (s->url.database[0] && cfg->source.include.count == 0) {
		sl_buf_puts(&sql, " AND rc.CONSTRAINT_SCHEMA = ");
		my_quote_lit(&sql, s->url.database);
	}
	sl_buf_puts(&sql, " ORDER BY 1, 2, 3, k.ORDINAL_POSITION");
	if (mysql_real_query(conn, sl_buf_cstr(&sql), sql.len) != 0) {
		sl_buf_free(&sql);
		return sl_my_server_error(conn, "reading foreign keys", err);
	}
	sl_buf_free(&sql);
	MYSQL_RES *res = mysql_store_result(conn);
	MYSQL_ROW row;
	char *child = NULL, *parent = NULL, *name = NULL, **ccols = NULL, **pcols = NULL;
	sl_fk_action del = SL_FK_NO_ACTION, upd = SL_FK_NO_ACTION;
	int n = 0;
	for (;;) {
		row = res ? mysql_fetch_row(res) : NULL;
		bool complete = row != NULL;
		for (int i = 0; complete && i < 9; i++)
			complete = row[i] != NULL;
		if (row && !complete)
			continue;
		char *q = row ? sl_qualify(row[0], row[1]) : NULL;
		if (child && (q == NULL || strcmp(q, child) != 0 || strcmp(row[2], name) != 0)) {
			/* the constraint before this row is complete */
			bool selected = false;
			for (int i = 0; i < cat->ntables; i++)
				selected |= strcmp(cat->tables[i].qualified, child) == 0;
			if (selected)
				sl_catalog_add_fk(cat, name, child, parent, n, ccols, pcols, del,
				                  upd);
			for (int i = 0; i < n; i++) {
				free(ccols[i]);
				free(pcols[i]);
			}
			free(child);
			free(parent);
			free(name);
			child = parent = name = NULL;
			n = 0;
		}
		if (row == NULL)
			break;
		if (child == NULL) {
			child = q;
			q = NULL;
			parent = sl_qualify(row[5], row[6]);
			name = sl_strdup(row[2]);
			del = my_fk_action(row[3]);
			upd = my_fk_action(row[4]);
		}
		free(q);
		ccols = sl_realloc(ccols, sizeof *ccols * (size_t)(n + 1));
		pcols = sl_realloc(pcols, sizeof *pcols * (size_t)(n + 1));
		ccols[n] = sl_strdup(row[7]);
		pcols[n] = sl_strdup(row[8]);
		n++;
	}
	free(ccols);
	free(pcols);
	if (res)
		mysql_free_result(res);
	return 0;
}

static int my_check(sl_source *handle, sl_check_fn report, void *ctx)
{
	my_source *s = my_source_of(handle);
	int failed = 0;
	my_report(report, ctx, true, "source connection", "connected to %s:%u (%s %s)", s->url.host,
	          s->url.port, s->mariadb ? "MariaDB" : "MySQL", mysql_get_server_info(s->meta));
	const char *version = NULL;
	if (mysql_get_ssl_cipher(s->meta) != NULL &&
	    mariadb_get_infov(s->meta, MARIADB_CONNECTION_TLS_VERSION, &version) != 0)
		version = "TLS";
	char tls[256];
	sl_tls_describe(tls, sizeof tls, "source", version,
	                s->cfg->source.tls.mode ? s->cfg->source.tls.mode : "prefer",
	                sl_fd_is_local((int)mysql_get_socket(s->meta)));
	report(ctx, true, "source TLS", tls);
	struct my_settings st;
	sl_error e = {0};
	if (my_read_settings(s, &st, &e) < 0) {
		report(ctx, false, "source settings", e.msg);
		return 1;
	}
	failed += my_check_settings(s, &st, report, ctx);
	if (strcasecmp(st.log_bin, "ON") == 0) {
		char *pos = NULL;
		if (sl_my_current_position(s, s->meta, &pos, &e) < 0) {
			report(ctx, false, "source GTID position", e.msg);
			failed++;
		} else {
			my_report(report, ctx, true, "source GTID position", "%s position: %s",
			          s->mariadb ? "MariaDB GTID" : "MySQL GTID",
			          pos[0] ? pos : "(empty: no transaction logged yet)");
		}
		free(pos);
		if (st.expire_seconds > 0 && st.expire_seconds < 3 * 86400)
			my_report(report, ctx, true, "source binlog retention",
			          "warning: binary logs are kept %lld hours; a pipeline stopped "
			          "longer "
			          "than that must start over (3 days or more is recommended: "
			          "binlog_expire_logs_seconds = 259200)",
			          st.expire_seconds / 3600);
	}
	struct my_grants g;
	my_read_grants(s, &g);
	bool ok = g.repl_slave;
	my_report(report, ctx, ok, "source privilege REPLICATION SLAVE",
	          ok ? "'%s' may read the binary log"
	             : "'%s' lacks REPLICATION SLAVE (run: GRANT REPLICATION SLAVE ON *.* TO "
	               "'%s'@'%%')",
	          s->url.user, s->url.user);
	failed += !ok;
	ok = g.repl_client;
	my_report(report, ctx, ok, "source privilege REPLICATION CLIENT",
	          ok ? "'%s' may read the binlog position"
	             : "'%s' lacks REPLICATION CLIENT (run: GRANT REPLICATION CLIENT ON *.* TO "
	               "'%s'@'%%')",
	          s->url.user, s->url.user);
	failed += !ok;
	ok = g.select_any;
	my_report(report, ctx, ok, "source privilege SELECT",
	          ok ? "'%s' may read tables"
	             : "'%s' lacks SELECT (run: GRANT SELECT ON *.* TO '%s'@'%%', or on the "
	               "replicated databases)",
	          s->url.user, s->url.user);
	failed += !ok;
	my_report(
	        report, ctx, true, "source snapshot locking",
	        g.reload ? "RELOAD granted: the snapshot reads every table at one consistent point "
	                   "(FLUSH TABLES WITH READ LOCK is held for a moment)"
	                 : "no RELOAD privilege: the snapshot runs lock-free (chunks converge "
	                   "through binlog replay; tables need a primary key)");
	return failed;
}

/* ---------------------------------------------------------------- discovery ---- */

void sl_my_table_free(void *p)
{
	struct my_table *t = p;
	if (t == NULL)
		return;
	free(t->select_list);
	free(t->from);
	for (int i = 0; i < t->npartitions; i++)
		free(t->partitions[i]);
	free(t->partitions);
	for (int i = 0; i < t->ntypes; i++)
		sl_my_coltype_reset(&t->types[i]);
	free(t->types);
	free(t);
}

static bool my_system_schema(const char *db)
{
	return strcmp(db, "mysql") == 0 || strcmp(db, "information_schema") == 0 ||
	       strcmp(db, "performance_schema") == 0 || strcmp(db, "sys") == 0;
}

/* Read one table's columns, key and select list (t->schema and t->name set, t->priv a fresh
 * struct my_table). */
int sl_my_read_table(my_source *s, MYSQL *c, sl_table_def *t, sl_error *err)
{
	struct my_table *mt = t->priv;
	sl_buf sql = {0};
	MYSQL_RES *res;
	MYSQL_ROW row;
	int rc = 0;
	sl_buf_reset(&sql);
	/* The schema and table are literals in the subqueries too: the server reads only that
	 * table's metadata for an information_schema query that names it by constants, and every
	 * table of the server for one correlated to the outer row (once per column: with 2,000
	 * tables discovery took longer than 10 minutes). */
	sl_buf schema = {0}, name = {0};
	my_quote_lit(&schema, t->schema);
	my_quote_lit(&name, t->name);
	const char *qs = sl_buf_cstr(&schema), *qn = sl_buf_cstr(&name);
	sl_buf_puts(&sql, "SELECT c.COLUMN_NAME, c.DATA_TYPE, c.COLUMN_TYPE, c.IS_NULLABLE, "
	                  "c.CHARACTER_SET_NAME, COALESCE(c.CHARACTER_OCTET_LENGTH, 0), "
	                  "COALESCE(c.DATETIME_PRECISION, -1), COALESCE(c.NUMERIC_PRECISION, 0), "
	                  "COALESCE(c.NUMERIC_SCALE, 0), ");
	/* MariaDB's JSON is LONGTEXT with a json_valid() check named after the column */
	if (s->mariadb)
		sl_buf_printf(
		        &sql,
		        "EXISTS (SELECT 1 FROM information_schema.CHECK_CONSTRAINTS k WHERE "
		        "k.CONSTRAINT_SCHEMA = %s AND k.TABLE_NAME = %s AND k.CONSTRAINT_NAME "
		        "= c.COLUMN_NAME AND k.CHECK_CLAUSE LIKE 'json_valid(%%'), ",
		        qs, qn);
	else
		sl_buf_puts(&sql, "0, ");
	sl_buf_printf(&sql,
	              "(SELECT s.SEQ_IN_INDEX FROM information_schema.STATISTICS s WHERE "
	              "s.TABLE_SCHEMA = %s AND s.TABLE_NAME = %s AND s.COLUMN_NAME = "
	              "c.COLUMN_NAME AND s.INDEX_NAME = 'PRIMARY') FROM information_schema.COLUMNS "
	              "c WHERE c.TABLE_SCHEMA = %s AND c.TABLE_NAME = %s ORDER BY "
	              "c.ORDINAL_POSITION",
	              qs, qn, qs, qn);
	sl_buf_free(&schema);
	sl_buf_free(&name);
	if (mysql_real_query(c, sl_buf_cstr(&sql), sql.len) != 0) {
		rc = sl_my_server_error(c, "reading columns", err);
		goto out;
	}
	res = mysql_store_result(c);
	int n = res ? (int)mysql_num_rows(res) : 0;
	t->fields = sl_calloc((size_t)(n ? n : 1), sizeof *t->fields);
	mt->types = sl_calloc((size_t)(n ? n : 1), sizeof *mt->types);
	int keypos[64];
	int nk = 0;
	sl_buf sel = {0};
	while (res && (row = mysql_fetch_row(res)) != NULL) {
		sl_my_coltype ct;
		const char *reason = NULL;
		if (!sl_my_coltype_from_schema(row[1], row[2], row[4], strtoll(row[5], NULL, 10),
		                               atoi(row[6]), atoi(row[7]), atoi(row[8]),
		                               row[9] && row[9][0] == '1', &ct, &reason)) {
			sl_table_skip_column(t, row[0], row[2], reason);
			continue;
		}
		int fi = t->nfields++;
		sl_field *f = &t->fields[fi];
		sl_my_field(&ct, row[0], f);
		f->nullable = strcmp(row[3], "YES") == 0;
		f->source_type = sl_strdup(row[2]);
		mt->types[fi] = ct;
		mt->ntypes = fi + 1;
		if (row[10] && nk < 64) {
			int seq = atoi(row[10]);
			if (seq >= 1 && seq <= 64)
				keypos[seq - 1] = fi, nk = seq > nk ? seq : nk;
		}
		if (fi)
			sl_buf_puts(&sel, ", ");
		/* FLOAT prints only 6 digits; as DOUBLE it round-trips exactly */
		if (ct.type == SL_MY_FLOAT)
			sl_buf_puts(&sel, "CAST(");
		my_quote_ident(&sel, row[0]);
		if (ct.type == SL_MY_FLOAT)
			sl_buf_puts(&sel, " AS DOUBLE)");
	}
	if (res)
		mysql_free_result(res);
	mt->select_list = sl_strdup(sel.len ? sl_buf_cstr(&sel) : "1");
	sl_buf_free(&sel);
	if (nk) {
		t->key = sl_calloc((size_t)nk, sizeof *t->key);
		for (int k = 0; k < nk; k++)
			t->key[k] = keypos[k];
		t->nkey = nk;
		/* ranges of the key's first column split the rows, composite keys too */
		{
			uint8_t ty = mt->types[keypos[0]].type;
			if (ty == SL_MY_TINY || ty == SL_MY_SHORT || ty == SL_MY_INT24 ||
			    ty == SL_MY_LONG || ty == SL_MY_LONGLONG)
				mt->int_key = keypos[0];
		}
	}
	sl_buf fr = {0};
	my_quote_ident(&fr, t->schema);
	sl_buf_putc(&fr, '.');
	my_quote_ident(&fr, t->name);
	mt->from = sl_strdup(sl_buf_cstr(&fr));
	sl_buf_free(&fr);
	if (t->nfields == 0)
		rc = sl_error_set(err, SL_ERR_DATA,
		                  "source: table %s has no column of a supported type "
		                  "(exclude it in source.tables.exclude)",
		                  t->qualified);
out:
	sl_buf_free(&sql);
	return rc;
}

/* The pipeline file leaves columns out: the select list (snapshot and verify) reads only
 * the others. */
static int my_project(sl_source *handle, sl_catalog *cat, int ti, const int *keep, int nkeep,
                      sl_error *err)
{
	my_source *s = my_source_of(handle);
	(void)s;
	(void)err;
	sl_table_def *t = &cat->tables[ti];
	struct my_table *mt = t->priv;
	sl_buf sel = {0};
	int int_key = -1;
	for (int k = 0; k < nkeep; k++) {
		if (keep[k] == mt->int_key)
			int_key = k;
		mt->types[k] = mt->types[keep[k]];
		if (k)
			sl_buf_puts(&sel, ", ");
		/* as sl_my_read_table writes it */
		if (mt->types[k].type == SL_MY_FLOAT)
			sl_buf_puts(&sel, "CAST(");
		my_quote_ident(&sel, t->fields[keep[k]].name);
		if (mt->types[k].type == SL_MY_FLOAT)
			sl_buf_puts(&sel, " AS DOUBLE)");
	}
	mt->ntypes = nkeep;
	mt->int_key = int_key;
	free(mt->select_list);
	mt->select_list = sl_strdup(sel.len ? sl_buf_cstr(&sel) : "1");
	sl_buf_free(&sel);
	return 0;
}

static int my_discover(sl_source *handle, sl_catalog *cat, sl_error *err)
{
	my_source *s = my_source_of(handle);
	const sl_config *cfg = s->cfg;
	sl_buf sql = {0};
	sl_buf_puts(&sql, "SELECT t.TABLE_SCHEMA, t.TABLE_NAME, COALESCE(t.TABLE_ROWS, -1), "
	                  "COALESCE(t.DATA_LENGTH, 0) FROM information_schema.TABLES t "
	                  "WHERE t.TABLE_TYPE = 'BASE TABLE' AND t.TABLE_SCHEMA NOT IN ('mysql', "
	                  "'information_schema', 'performance_schema', 'sys')");
	if (s->url.database[0] && cfg->source.include.count == 0) {
		free(cat->only_schema);
		cat->only_schema = sl_strdup(s->url.database);
		sl_buf_puts(&sql, " AND t.TABLE_SCHEMA = ");
		my_quote_lit(&sql, s->url.database);
	}
	sl_buf_puts(&sql, " ORDER BY 1, 2");
	int rc = 0;
	if (mysql_real_query(s->meta, sl_buf_cstr(&sql), sql.len) != 0) {
		rc = sl_my_server_error(s->meta, "listing tables", err);
		sl_buf_free(&sql);
		return rc;
	}
	MYSQL_RES *res = mysql_store_result(s->meta);
	MYSQL_ROW row;
	while (res && (row = mysql_fetch_row(res)) != NULL) {
		if (my_system_schema(row[0]))
			continue;
		char *q = sl_qualify(row[0], row[1]);
		if (!sl_globs_select(&cfg->source.include, &cfg->source.exclude, q)) {
			free(q);
			continue;
		}
		cat->tables =
		        sl_realloc(cat->tables, (size_t)(cat->ntables + 1) * sizeof *cat->tables);
		sl_table_def *t = &cat->tables[cat->ntables++];
		memset(t, 0, sizeof *t);
		t->schema = sl_strdup(row[0]);
		t->name = sl_strdup(row[1]);
		t->qualified = q;
		/* no id survives a rename here: the name is the identity, and a rename the
		 * binlog shows hands the new one on (sl_rename.identity) */
		t->identity = sl_strdup(q);
		t->est_rows = strtoll(row[2], NULL, 10);
		t->est_bytes = strtoll(row[3], NULL, 10);
		t->engine = "mysql";
		struct my_table *mt = sl_calloc(1, sizeof *mt);
		mt->int_key = -1;
		t->priv = mt;
		t->priv_free = sl_my_table_free;
	}
	if (res)
		mysql_free_result(res);
	sl_buf_free(&sql);
	for (int i = 0; i < cat->ntables && rc == 0; i++) {
		sl_table_def *t = &cat->tables[i];
		struct my_table *mt = t->priv;
		if ((rc = sl_my_read_table(s, s->meta, t, err)) < 0)
			break;
		for (int k = 0; k < t->nskipped; k++)
			sl_warn("source: column %s.%s (%s) is skipped: %s", t->qualified,
			        t->skipped[k].name, t->skipped[k].source_type,
			        t->skipped[k].reason);
		/* physical partitions */
		sl_buf_reset(&sql);
		sl_buf_puts(&sql,
		            "SELECT COALESCE(SUBPARTITION_NAME, PARTITION_NAME) FROM "
		            "information_schema.PARTITIONS WHERE PARTITION_NAME IS NOT NULL AND "
		            "TABLE_SCHEMA = ");
		my_quote_lit(&sql, t->schema);
		sl_buf_puts(&sql, " AND TABLE_NAME = ");
		my_quote_lit(&sql, t->name);
		sl_buf_puts(&sql,
		            " ORDER BY PARTITION_ORDINAL_POSITION, SUBPARTITION_ORDINAL_POSITION");
		if (rc == 0 && mysql_real_query(s->meta, sl_buf_cstr(&sql), sql.len) == 0 &&
		    (res = mysql_store_result(s->meta)) != NULL) {
			while ((row = mysql_fetch_row(res)) != NULL) {
				mt->partitions =
				        sl_realloc(mt->partitions, (size_t)(mt->npartitions + 1) *
				                                           sizeof *mt->partitions);
				mt->partitions[mt->npartitions++] = sl_strdup(row[0]);
			}
			mysql_free_result(res);
		}
	}
	sl_buf_free(&sql);
	if (rc == 0 && cat->ntables > 0)
		rc = sl_my_read_fks(s, s->meta, cat, err);
	if (rc == 0 && cat->ntables == 0)
		rc = sl_error_set(
		        err, SL_ERR_CONFIG,
		        "no table selected on the source (check source.url's database and "
		        "source.tables.include / exclude; the user must be able to read "
		        "the tables)");
	return rc;
}

/* ---------------------------------------------------------------- snapshot ---- */

static void my_identity(sl_source *handle, char *buf, size_t n)
{
	my_source *s = my_source_of(handle);
	char *uuid = NULL;
	sl_error e;
	if (!s->mariadb && sl_my_scalar(s->meta, "SELECT @@server_uuid", &uuid, &e) == 0)
		snprintf(buf, n, "mysql server_uuid=%s", uuid);
	else
		snprintf(buf, n, "%s server_id=%u", s->mariadb ? "mariadb" : "mysql", s->server_id);
	free(uuid);
}

static int my_start_snapshot_txn(MYSQL *c, sl_error *err)
{
	SL_TRY(sl_my_exec(c, "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ", err));
	return sl_my_exec(c, "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY", err);
}

static int my_snapshot_begin(sl_source *handle, sl_catalog *cat, sl_state *st,
                             sl_snapshot_info *info, sl_error *err)
{
	my_source *s = my_source_of(handle);
	bool keyless_backfill = info->keyless_backfill;
	memset(info, 0, sizeof *info);
	info->keyless_backfill = keyless_backfill;
	SL_TRY(my_require_settings(s, err));
	char identity[512];
	my_identity(handle, identity, sizeof identity);
	sl_pipeline_state ps;
	SL_TRY(sl_state_load(st, &ps, err));
	if (ps.found && strcmp(ps.identity, identity) != 0)
		return sl_error_set(err, SL_ERR_STATE,
		                    "state store holds pipeline '%s' for another source (%s, not "
		                    "%s): use another state.url or pipeline name",
		                    s->cfg->name, ps.identity, identity);
	if (ps.found && ps.snapshot_done) {
		/* the stream starts at the target's durable position, usually long past the
		 * consistent point, whose binlogs the server may have purged since: the stream
		 * checks the position it starts at (sl_my_stream_open) */
		snprintf(info->position, sizeof info->position, "%s", ps.position);
		return 0;
	}
	bool keyless_pending = false;
	const char *keyless = NULL;
	for (int i = 0; i < cat->ntables; i++) {
		sl_table_status ts;
		SL_TRY(sl_state_table_get(st, cat->tables[i].qualified, &ts, NULL, err));
		if (ts != SL_TABLE_DONE && cat->tables[i].nkey == 0) {
			keyless_pending = true;
			keyless = cat->tables[i].qualified;
		}
	}
	if (ps.found && ps.position[0] != '\0' &&
	    sl_my_check_purged(s, s->meta, ps.position, err) == 0) {
		if (!keyless_pending || keyless_backfill) {
			/* resume: tables not done are reloaded lock-free; binlog replay from the
			 * recorded position makes them converge. Keyless ones are copied by a
			 * backfill once changes stream (keyless_backfill). */
			snprintf(info->position, sizeof info->position, "%s", ps.position);
			info->resumed = true;
			s->locked_snapshot = false;
			return 0;
		}
		sl_warn("snapshot: keyless table %s was not finished; the snapshot starts over "
		        "from "
		        "a new consistent point",
		        keyless);
	}
	if (ps.found)
		info->restarted = true;
	/* a new consistent point */
	int rc = 0;
	char *pos = NULL;
	/* the readers connect first, so the lock is held only while they open their snapshots */
	int n = s->cfg->snapshot_parallelism > 0 ? s->cfg->snapshot_parallelism : 1;
	s->pre_readers = sl_calloc((size_t)n, sizeof *s->pre_readers);
	s->npre = n;
	for (int i = 0; i < n && rc == 0; i++)
		rc = sl_my_connect(s, "source snapshot reader", &s->pre_readers[i], err);
	if (rc < 0) {
		my_close_pre_readers(s);
		return rc;
	}
	/* FLUSH TABLES WITH READ LOCK waits for running statements, and writes queue behind it
	 * meanwhile: give up after 10 s rather than stall the server */
	const char *why = NULL;
	if (mysql_query(s->meta, "SET SESSION lock_wait_timeout = 10") != 0 ||
	    mysql_query(s->meta, "FLUSH TABLES WITH READ LOCK") != 0) {
		unsigned e = mysql_errno(s->meta);
		if (e == ER_SPECIFIC_ACCESS_DENIED_ERROR || e == ER_ACCESS_DENIED_ERROR ||
		    e == ER_DBACCESS_DENIED_ERROR)
			why = "no RELOAD privilege";
		else if (e == ER_LOCK_WAIT_TIMEOUT)
			why = "FLUSH TABLES WITH READ LOCK waited 10 s for running statements";
		else {
			rc = sl_my_server_error(s->meta, "FLUSH TABLES WITH READ LOCK", err);
			my_close_pre_readers(s);
			return rc;
		}
	}
	if (why) {
		my_close_pre_readers(s);
		if (keyless_pending)
			return sl_error_set(
			        err, SL_ERR_PRIVILEGE,
			        "source: table %s has no primary key, and the snapshot "
			        "cannot read all tables at one point (%s; run: GRANT RELOAD "
			        "ON *.* TO '%s'@'%%' and retry when no long statement runs, "
			        "or add a primary key, or exclude the table)",
			        keyless, why, s->url.user);
		sl_info("snapshot: %s: reading lock-free; the binlog replay from the start "
		        "position "
		        "makes every table converge",
		        why);
		s->locked_snapshot = false;
		SL_TRY(sl_my_current_position(s, s->meta, &pos, err));
	} else {
		s->locked_snapshot = true;
		for (int i = 0; i < n && rc == 0; i++)
			rc = my_start_snapshot_txn(s->pre_readers[i], err);
		if (rc == 0)
			rc = sl_my_current_position(s, s->meta, &pos, err);
		sl_error e2;
		if (sl_my_exec(s->meta, "UNLOCK TABLES", &e2) < 0 && rc == 0) {
			*err = e2;
			rc = e2.code;
		}
		if (rc < 0) {
			my_close_pre_readers(s);
			free(pos);
			return rc;
		}
	}
	snprintf(info->position, sizeof info->position, "%s", pos);
	free(pos);
	return sl_state_begin_snapshot(st, identity, info->position, err);
}

static int my_plan(sl_source *handle, const sl_catalog *cat, int ti, int64_t chunk_bytes,
                   sl_chunk **chunks, int *nchunks, sl_error *err)
{
	my_source *s = my_source_of(handle);
	const sl_table_def *t = &cat->tables[ti];
	struct my_table *mt = t->priv;
	if (mt->npartitions > 0) {
		for (int i = 0; i < mt->npartitions; i++) {
			sl_buf b = {0};
			sl_buf_puts(&b, "PARTITION (");
			my_quote_ident(&b, mt->partitions[i]);
			sl_buf_putc(&b, ')');
			*chunks = sl_realloc(*chunks, (size_t)(*nchunks + 1) * sizeof **chunks);
			sl_chunk *c = &(*chunks)[(*nchunks)++];
			memset(c, 0, sizeof *c);
			c->table = ti;
			c->est_rows = t->est_rows > 0 ? t->est_rows / mt->npartitions : 0;
			c->relation = sl_strdup(sl_buf_cstr(&b));
			sl_buf_free(&b);
		}
		return 0;
	}
	int64_t parts = chunk_bytes > 0 ? t->est_bytes / chunk_bytes + 1 : 1;
	if (parts > 1024)
		parts = 1024;
	if (mt->int_key >= 0 && parts > 1) {
		sl_buf q = {0}, col = {0};
		my_quote_ident(&col, t->fields[mt->int_key].name);
		sl_buf_printf(&q, "SELECT MIN(%s), MAX(%s) FROM %s", sl_buf_cstr(&col),
		              sl_buf_cstr(&col), mt->from);
		int rc = 0;
		if (mysql_real_query(s->meta, sl_buf_cstr(&q), q.len) != 0) {
			rc = sl_my_server_error(s->meta, "reading key bounds", err);
		} else {
			MYSQL_RES *res = mysql_store_result(s->meta);
			MYSQL_ROW row = res ? mysql_fetch_row(res) : NULL;
			if (row && row[0] && row[1]) {
				bool uns = mt->types[mt->int_key].is_unsigned;
				__int128 lo = uns ? (__int128)strtoull(row[0], NULL, 10)
				                  : (__int128)strtoll(row[0], NULL, 10);
				__int128 hi = uns ? (__int128)strtoull(row[1], NULL, 10)
				                  : (__int128)strtoll(row[1], NULL, 10);
				__int128 span = hi - lo + 1;
				if (span < parts)
					parts = (int64_t)span;
				__int128 step = span / parts;
				for (int64_t i = 0; i < parts; i++) {
					__int128 a = lo + step * i, b = lo + step * (i + 1);
					char wa[48], wb[48];
					snprintf(wa, sizeof wa, "%s%" PRIu64, a < 0 ? "-" : "",
					         (uint64_t)(a < 0 ? -a : a));
					snprintf(wb, sizeof wb, "%s%" PRIu64, b < 0 ? "-" : "",
					         (uint64_t)(b < 0 ? -b : b));
					sl_buf w = {0};
					if (i == 0)
						sl_buf_printf(&w, "%s < %s", sl_buf_cstr(&col), wb);
					else if (i == parts - 1)
						sl_buf_printf(&w, "%s >= %s", sl_buf_cstr(&col),
						              wa);
					else
						sl_buf_printf(&w, "%s >= %s AND %s < %s",
						              sl_buf_cstr(&col), wa,
						              sl_buf_cstr(&col), wb);
					*chunks = sl_realloc(*chunks, (size_t)(*nchunks + 1) *
					                                      sizeof **chunks);
					sl_chunk *c = &(*chunks)[(*nchunks)++];
					memset(c, 0, sizeof *c);
					c->table = ti;
					c->est_rows = t->est_rows > 0 ? t->est_rows / parts : 0;
					c->where = sl_strdup(parts == 1 ? "1=1" : sl_buf_cstr(&w));
					sl_buf_free(&w);
				}
				mysql_free_result(res);
				sl_buf_free(&q);
				sl_buf_free(&col);
				return 0;
			}
			if (res)
				mysql_free_result(res);
		}
		sl_buf_free(&q);
		sl_buf_free(&col);
		if (rc < 0)
			return rc;
	}
	*chunks = sl_realloc(*chunks, (size_t)(*nchunks + 1) * sizeof **chunks);
	sl_chunk *c = &(*chunks)[(*nchunks)++];
	memset(c, 0, sizeof *c);
	c->table = ti;
	c->est_rows = t->est_rows > 0 ? t->est_rows : 0;
	return 0;
}

static int my_reader_open(sl_source *handle, sl_reader **out, sl_error *err)
{
	my_source *s = my_source_of(handle);
	my_reader *r = sl_calloc(1, sizeof *r);
	r->src = s;
	if (s->locked_snapshot && s->npre_used < s->npre) {
		r->conn = s->pre_readers[s->npre_used];
		s->pre_readers[s->npre_used++] = NULL;
		r->in_snapshot = true;
	} else {
		int rc = sl_my_connect(s, "source snapshot reader", &r->conn, err);
		if (rc < 0) {
			free(r);
			return rc;
		}
	}
	r->thread_id = mysql_thread_id(r->conn);
	*out = my_reader_handle(r);
	return 0;
}

/* Read rows of `sql` into batches (snapshot chunks and verify). */
static int my_read_rows(my_source *s, MYSQL *c, const char *sql, const sl_table_def *t,
                        sl_batch **batch, size_t batch_bytes, sl_batch_sink sink, void *ctx,
                        int64_t *rows, volatile int *cancel, sl_buf *scratch, sl_error *err)
{
	struct my_table *mt = t->priv;
	*rows = 0;
	if (mysql_real_query(c, sql, strlen(sql)) != 0)
		return sl_my_server_error(c, t->qualified, err);
	MYSQL_RES *res = mysql_use_result(c);
	if (res == NULL)
		return sl_my_server_error(c, t->qualified, err);
	unsigned nf = mysql_num_fields(res);
	if ((int)nf != t->nfields) {
		mysql_free_result(res);
		return sl_error_set(err, SL_ERR_INTERNAL, "source: %s: %u columns, expected %d",
		                    t->qualified, nf, t->nfields);
	}
	/* the text protocol converts text to utf8mb4 (SET NAMES): no charset conversion here */
	sl_my_coltype *types = sl_calloc((size_t)(nf ? nf : 1), sizeof *types);
	for (unsigned i = 0; i < nf; i++) {
		types[i] = mt->types[i];
		if (types[i].charset == SL_MY_CS_LATIN1)
			types[i].charset = SL_MY_CS_UTF8;
	}
	int rc = 0;
	MYSQL_ROW row;
	int since = 0;
	while ((row = mysql_fetch_row(res)) != NULL) {
		unsigned long *len = mysql_fetch_lengths(res);
		for (unsigned i = 0; i < nf && rc == 0; i++) {
			sl_my_value v;
			rc = sl_my_parse_text(&types[i], row[i], len[i], &v, err);
			bool zero = false;
			if (rc == 0)
				rc = sl_my_append(&(*batch)->cols[i], &types[i], &v, scratch, &zero,
				                  err);
			if (rc < 0)
				sl_error_wrap(err, "source: %s", t->qualified);
			if (zero && !s->warned_zero_date) {
				s->warned_zero_date = true;
				sl_warn("source: %s.%s holds zero dates ('0000-00-00'); they have "
				        "no "
				        "value in Arrow or PostgreSQL and are written as NULL",
				        t->qualified, t->fields[i].name);
			}
		}
		if (rc < 0)
			break;
		sl_batch_end_row(*batch);
		(*rows)++;
		if (++since >= 256) {
			since = 0;
			if (cancel && *cancel) {
				rc = sl_error_set(err, SL_ERR_CANCELLED, "stopped by signal");
				break;
			}
			if (sl_batch_bytes(*batch) >= batch_bytes) {
				*batch = sink(ctx, *batch, err);
				if (*batch == NULL) {
					rc = err && err->code ? err->code : SL_ERR_INTERNAL;
					break;
				}
			}
		}
	}
	if (rc == 0 && mysql_errno(c) != 0)
		rc = sl_my_server_error(c, t->qualified, err);
	if (rc == 0 && (*batch)->length > 0) {
		*batch = sink(ctx, *batch, err);
		if (*batch == NULL)
			rc = err && err->code ? err->code : SL_ERR_INTERNAL;
	}
	free(types);
	mysql_free_result(res);
	return rc;
}

static void my_chunk_sql(const sl_table_def *t, const sl_chunk *chunk, sl_buf *sql)
{
	struct my_table *mt = t->priv;
	sl_buf_printf(sql, "SELECT %s FROM %s", mt->select_list, mt->from);
	if (chunk && chunk->relation)
		sl_buf_printf(sql, " %s", chunk->relation);
	if (chunk && chunk->where)
		sl_buf_printf(sql, " WHERE %s", chunk->where);
}

static int my_read_chunk(sl_reader *handle, const sl_catalog *cat, const sl_chunk *chunk,
                         sl_batch **batch, size_t batch_bytes, sl_batch_sink sink, void *ctx,
                         int64_t *rows, volatile int *cancel, sl_error *err)
{
	my_reader *r = my_reader_of(handle);
	const sl_table_def *t = &cat->tables[chunk->table];
	sl_buf sql = {0};
	my_chunk_sql(t, chunk, &sql);
	int rc = 0;
	if (!r->in_snapshot)
		rc = my_start_snapshot_txn(r->conn, err);
	if (rc == 0)
		rc = my_read_rows(r->src, r->conn, sl_buf_cstr(&sql), t, batch, batch_bytes, sink,
		                  ctx, rows, cancel, &r->scratch, err);
	if (!r->in_snapshot) {
		sl_error e2;
		if (sl_my_exec(r->conn, "COMMIT", &e2) < 0 && rc == 0) {
			*err = e2;
			rc = e2.code;
		}
	}
	sl_buf_free(&sql);
	return rc;
}

static void my_reader_cancel(sl_reader *handle)
{
	my_reader *r = my_reader_of(handle);
	MYSQL *c = NULL;
	sl_error e;
	if (sl_my_connect(r->src, "source (cancel)", &c, &e) < 0)
		return;
	char sql[64];
	snprintf(sql, sizeof sql, "KILL QUERY %lu", r->thread_id);
	mysql_query(c, sql);
	mysql_close(c);
}

static void my_reader_close(sl_reader *handle)
{
	my_reader *r = my_reader_of(handle);
	if (r == NULL)
		return;
	if (r->conn)
		mysql_close(r->conn);
	sl_buf_free(&r->scratch);
	free(r);
}

static int my_snapshot_end(sl_source *handle, sl_error *err)
{
	my_source *s = my_source_of(handle);
	(void)err;
	my_close_pre_readers(s);
	return 0;
}

static int my_reset(sl_source *handle, sl_error *err)
{
	my_source *s = my_source_of(handle);
	/* the binlog keeps nothing for a reader: nothing to release on the server */
	(void)s;
	(void)err;
	return 0;
}

static sl_batch *my_digest_sink(void *ctx, sl_batch *full, sl_error *err)
{
	(void)err;
	sl_digest_add_batch(ctx, full);
	sl_batch_reset(full);
	return full;
}

static int my_digest(sl_source *handle, const sl_catalog *cat, int ti, sl_digest *d, sl_error *err)
{
	my_source *s = my_source_of(handle);
	const sl_table_def *t = &cat->tables[ti];
	sl_buf sql = {0}, scratch = {0};
	my_chunk_sql(t, NULL, &sql);
	sl_batch *b = sl_batch_create(sl_table_read_fields(t), t->nfields);
	int64_t n = 0;
	int rc = my_start_snapshot_txn(s->meta, err);
	if (rc == 0)
		rc = my_read_rows(s, s->meta, sl_buf_cstr(&sql), t, &b, 4 << 20, my_digest_sink, d,
		                  &n, NULL, &scratch, err);
	sl_error e2;
	sl_my_exec(s->meta, "COMMIT", &e2);
	if (rc == 0 && b)
		sl_digest_add_batch(d, b);
	sl_batch_destroy(b);
	sl_buf_free(&sql);
	sl_buf_free(&scratch);
	return rc;
}

/* ---------------------------------------------------------------- backfill ---- */

bool sl_my_binlog_file_no(const char *name, size_t len, uint64_t *out)
{
	size_t i = len;
	while (i > 0 && name[i - 1] >= '0' && name[i - 1] <= '9')
		i--;
	if (i == len || i == 0 || name[i - 1] != '.' || len - i > 18)
		return false;
	uint64_t v = 0;
	for (; i < len; i++)
		v = v * 10 + (uint64_t)(name[i] - '0');
	*out = v;
	return true;
}

/* A backfill needs the binlog position of a transaction's snapshot, which MariaDB gives
 * (Binlog_snapshot_file/position) and MySQL does not. */
static bool my_backfill_ok(sl_source *handle)
{
	my_source *s = my_source_of(handle);
	return s->mariadb;
}

/* How a key column's value is spelled in a backfill's key text: an SQL expression over the
 * column that yields a MySQL literal of the value, compared exactly with the column in the
 * order ORDER BY gives. NULL for FLOAT and DOUBLE, whose text is not always exact (a table
 * keyed by one is one slice). */
static const char *my_key_spelling(const sl_my_coltype *ct)
{
	switch (ct->type) {
	case SL_MY_TINY:
	case SL_MY_SHORT:
	case SL_MY_LONG:
	case SL_MY_LONGLONG:
	case SL_MY_INT24:
	case SL_MY_YEAR:
	case SL_MY_NEWDECIMAL:
		return "CAST(%s AS CHAR)";
	case SL_MY_BIT:
	case SL_MY_ENUM: /* ordered and compared with numbers by their index */
	case SL_MY_SET:
		return "CAST(%s + 0 AS CHAR)";
	case SL_MY_DATE:
	case SL_MY_NEWDATE:
	case SL_MY_TIME:
	case SL_MY_TIME2:
	case SL_MY_DATETIME:
	case SL_MY_DATETIME2:
	case SL_MY_TIMESTAMP:
	case SL_MY_TIMESTAMP2:
		return "CONCAT('''', %s, '''')";
	case SL_MY_VARCHAR:
	case SL_MY_VAR_STRING:
	case SL_MY_STRING:
	case SL_MY_TINY_BLOB:
	case SL_MY_MEDIUM_BLOB:
	case SL_MY_LONG_BLOB:
	case SL_MY_BLOB:
		if (ct->charset == SL_MY_CS_BINARY)
			return "CONCAT('X''', HEX(%s), '''')";
		/* converted by the server to the column's character set where it is compared */
		return "CONCAT('_utf8mb4 X''', HEX(CONVERT(%s USING utf8mb4)), '''')";
	default:
		return NULL;
	}
}

static bool my_key_sliceable(const sl_table_def *t)
{
	const struct my_table *mt = t->priv;
	if (t->nkey == 0)
		return false;
	for (int k = 0; k < t->nkey; k++)
		if (my_key_spelling(&mt->types[t->key[k]]) == NULL)
			return false;
	return true;
}

/* Whether s is one literal as my_key_spelling spells it: a number, a quoted date or time, a
 * hex string (with an introducer for text). The key text comes back from the state store and
 * goes into SQL, so nothing else passes. */
static bool my_key_literal_ok(const char *s, size_t n)
{
	if (n >= 13 && strncmp(s, "_utf8mb4 X'", 11) == 0) {
		s += 9;
		n -= 9;
	}
	if (n >= 3 && s[0] == 'X' && s[1] == '\'' && s[n - 1] == '\'') {
		for (size_t i = 2; i + 1 < n; i++)
			if (!isxdigit((unsigned char)s[i]))
				return false;
		return (n - 3) % 2 == 0;
	}
	bool quoted = n >= 2 && s[0] == '\'' && s[n - 1] == '\'';
	if (quoted) {
		s++;
		n -= 2;
	}
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]) && s[i] != '-' && s[i] != '.' &&
		    !(quoted && (s[i] == ':' || s[i] == ' ')))
			return false;
	return true;
}

/* The key text `key` split into t->nkey literals (the caller frees them with free of each
 * and of the array), or NULL when it is not one my_backfill_next made. */
static char **my_key_split(const sl_table_def *t, const char *key)
{
	char **v = sl_calloc((size_t)t->nkey, sizeof *v);
	const char *p = key;
	int k = 0;
	for (; k < t->nkey; k++) {
		const char *e = strchr(p, ',');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		if (!my_key_literal_ok(p, n) || (k + 1 < t->nkey) != (e != NULL))
			break;
		v[k] = sl_strndup(p, n);
		p = e ? e + 1 : p + n;
	}
	if (k == t->nkey)
		return v;
	for (int i = 0; i < k; i++)
		free(v[i]);
	free(v);
	return NULL;
}

/* The key after the literals v (greater) or up to them (!greater), spelled so that the primary
 * key's range serves it: k1 >= v1 AND (k1 > v1 OR (k1 = v1 AND (k2 > v2 OR ...))). */
static void my_key_compare(sl_buf *b, const sl_table_def *t, char *const *v, bool greater)
{
	sl_buf_putc(b, '(');
	my_quote_ident(b, t->fields[t->key[0]].name);
	sl_buf_printf(b, " %s %s AND ", greater ? ">=" : "<=", v[0]);
	for (int k = 0; k < t->nkey; k++) {
		const char *op = greater ? ">" : k + 1 < t->nkey ? "<" : "<=";
		sl_buf_putc(b, '(');
		my_quote_ident(b, t->fields[t->key[k]].name);
		sl_buf_printf(b, " %s %s", op, v[k]);
		if (k + 1 < t->nkey) {
			sl_buf_puts(b, " OR (");
			my_quote_ident(b, t->fields[t->key[k]].name);
			sl_buf_printf(b, " = %s AND ", v[k]);
		}
	}
	for (int k = 0; k < t->nkey; k++)
		sl_buf_puts(b, k + 1 < t->nkey ? "))" : ")");
	sl_buf_putc(b, ')');
}

static void my_key_free(char **v, int n)
{
	for (int k = 0; v && k < n; k++)
		free(v[k]);
	free(v);
}

static int my_backfill_next(sl_source *handle, const sl_catalog *cat, int ti, const char *after,
                            int64_t rows, sl_chunk *chunk, char **next, sl_error *err)
{
	my_source *s = my_source_of(handle);
	const sl_table_def *t = &cat->tables[ti];
	const struct my_table *mt = t->priv;
	*next = NULL;
	memset(chunk, 0, sizeof *chunk);
	chunk->table = ti;
	if (!my_key_sliceable(t)) {
		/* the whole table, in one snapshot */
		chunk->est_rows = t->est_rows;
		return 0;
	}
	char **from = NULL, **to = NULL;
	if (after && (from = my_key_split(t, after)) == NULL)
		return sl_error_set(err, SL_ERR_STATE,
		                    "backfill of %s: the stored key '%s' is not one sluice wrote "
		                    "for this table (run 'sluice resync' for it to copy it again "
		                    "from the start)",
		                    t->qualified, after);
	sl_buf sql = {0};
	sl_buf_puts(&sql, "SELECT CONCAT_WS(','");
	for (int k = 0; k < t->nkey; k++) {
		sl_buf col = {0};
		my_quote_ident(&col, t->fields[t->key[k]].name);
		sl_buf_puts(&sql, ", ");
		sl_buf_printf(&sql, my_key_spelling(&mt->types[t->key[k]]), sl_buf_cstr(&col));
		sl_buf_free(&col);
	}
	sl_buf_printf(&sql, ") FROM %s", mt->from);
	if (from) {
		sl_buf_puts(&sql, " WHERE ");
		my_key_compare(&sql, t, from, true);
	}
	sl_buf_puts(&sql, " ORDER BY ");
	for (int k = 0; k < t->nkey; k++) {
		if (k)
			sl_buf_puts(&sql, ", ");
		my_quote_ident(&sql, t->fields[t->key[k]].name);
	}
	sl_buf_printf(&sql, " LIMIT %lld, 1", (long long)(rows > 1 ? rows - 1 : 0));
	int rc = 0;
	MYSQL_RES *res = NULL;
	if (mysql_real_query(s->meta, sl_buf_cstr(&sql), sql.len) != 0 ||
	    (res = mysql_store_result(s->meta)) == NULL) {
		rc = sl_my_server_error(s->meta, t->qualified, err);
		goto out;
	}
	MYSQL_ROW row = mysql_fetch_row(res);
	if (row && row[0]) {
		*next = sl_strdup(row[0]);
		if ((to = my_key_split(t, *next)) == NULL) {
			rc = sl_error_set(
			        err, SL_ERR_INTERNAL,
			        "backfill of %s: the key '%s' read from the source cannot "
			        "be compared",
			        t->qualified, *next);
			goto out;
		}
	}
	sl_buf_reset(&sql);
	if (from)
		my_key_compare(&sql, t, from, true);
	if (to) {
		if (from)
			sl_buf_puts(&sql, " AND ");
		my_key_compare(&sql, t, to, false);
	}
	chunk->est_rows = rows;
	chunk->where = sql.len ? sl_strdup(sl_buf_cstr(&sql)) : NULL;
out:
	if (res)
		mysql_free_result(res);
	if (rc < 0) {
		free(*next);
		*next = NULL;
	}
	my_key_free(from, t->nkey);
	my_key_free(to, t->nkey);
	sl_buf_free(&sql);
	return rc;
}

/* How many times (a millisecond apart) a slice's snapshot is taken again while it is behind
 * the binlog stream (my_place_mark). */
#define MY_MARK_TRIES 10000

/* Start a snapshot on s->bf: its binlog position (file number, offset). */
static int my_snapshot_at(my_source *s, uint64_t *fno, uint64_t *at, sl_error *err)
{
	SL_TRY(my_start_snapshot_txn(s->bf, err));
	MYSQL_RES *res = NULL;
	if (mysql_query(s->bf, "SHOW STATUS LIKE 'binlog_snapshot_%'") != 0 ||
	    (res = mysql_store_result(s->bf)) == NULL)
		return sl_my_server_error(s->bf, "reading the snapshot's binlog position", err);
	char file[256] = "";
	long long pos = -1;
	MYSQL_ROW row;
	while ((row = mysql_fetch_row(res)) != NULL) {
		if (row[0] && row[1] && strcasecmp(row[0], "Binlog_snapshot_file") == 0)
			snprintf(file, sizeof file, "%s", row[1]);
		else if (row[0] && row[1] && strcasecmp(row[0], "Binlog_snapshot_position") == 0)
			pos = strtoll(row[1], NULL, 10);
	}
	mysql_free_result(res);
	if (!sl_my_binlog_file_no(file, strlen(file), fno) || pos < 4)
		return sl_error_set(err, SL_ERR_SETTING,
		                    "source: the server gives no binlog position for a snapshot "
		                    "(Binlog_snapshot_file '%s'); backfill needs binary logging on",
		                    file);
	*at = (uint64_t)pos;
	return 0;
}

/* Start the slice's snapshot on s->bf and place its mark at the snapshot's binlog position.
 * The stream waits at its next transaction's start or end meanwhile (marks_mu). It may have
 * gone past that position already: the server sends a transaction to the binlog's readers
 * once it is written there, a moment before the engine commits it, and the snapshot sees only
 * what the engine committed. Such a transaction is applied before the mark could come
 * through, and the slice, blind to it, would undo it (a deleted row back). So the snapshot is
 * taken again, a millisecond later, until its position is at or past where the stream is. */
static int my_place_mark(my_source *s, const char *mark, sl_error *err)
{
	pthread_mutex_lock(&s->marks_mu);
	uint64_t fno = 0, pos = 0;
	int rc = 0;
	int tries = 0;
	for (;; tries++) {
		rc = my_snapshot_at(s, &fno, &pos, err);
		if (rc < 0 || fno > s->passed_file ||
		    (fno == s->passed_file && pos >= s->passed_pos))
			break;
		if (tries == MY_MARK_TRIES) {
			rc = sl_error_set(
			        err, SL_ERR_SERVER,
			        "source: a snapshot of the server stayed behind its binlog "
			        "for %d s (position %" PRIu64 ":%" PRIu64
			        ", the stream is at %" PRIu64 ":%" PRIu64 ")",
			        MY_MARK_TRIES / 1000, fno, pos, s->passed_file, s->passed_pos);
			break;
		}
		if ((rc = sl_my_exec(s->bf, "COMMIT", err)) < 0)
			break;
		nanosleep(&(struct timespec){.tv_nsec = 1000000}, NULL);
	}
	if (rc == 0 && tries > 0)
		sl_debug("backfill: the slice's snapshot was behind the binlog stream, taken again "
		         "%d time%s",
		         tries, tries == 1 ? "" : "s");
	if (rc == 0) {
		s->marks = sl_realloc(s->marks, (size_t)(s->nmarks + 1) * sizeof *s->marks);
		s->marks[s->nmarks++] =
		        (sl_my_mark){.file = fno, .pos = pos, .mark = sl_strdup(mark)};
	}
	pthread_mutex_unlock(&s->marks_mu);
	return rc;
}

/* A mark whose slice was not read: the stream need not hand it on. */
static void my_drop_mark(my_source *s, const char *mark)
{
	pthread_mutex_lock(&s->marks_mu);
	for (int i = 0; i < s->nmarks; i++)
		if (strcmp(s->marks[i].mark, mark) == 0) {
			free(s->marks[i].mark);
			s->marks[i] = s->marks[--s->nmarks];
			break;
		}
	pthread_mutex_unlock(&s->marks_mu);
}

/* The slice is read in a consistent snapshot whose binlog position the mark carries: the
 * stream hands the mark on exactly there, so no transaction is both missed by the slice and
 * applied before it (*unseen stays empty), and a table without a key needs no lock. */
static int my_backfill_read(sl_source *handle, const sl_catalog *cat, const sl_chunk *chunk,
                            const char *mark, sl_batch **batch, size_t batch_bytes,
                            sl_batch_sink sink, void *ctx, int64_t *rows, sl_unseen *unseen,
                            sl_error *err)
{
	my_source *s = my_source_of(handle);
	const sl_table_def *t = &cat->tables[chunk->table];
	memset(unseen, 0, sizeof *unseen);
	*rows = 0;
	if (s->bf == NULL)
		SL_TRY(sl_my_connect(s, "source (backfill)", &s->bf, err));
	int rc = my_place_mark(s, mark, err);
	if (rc == 0) {
		sl_buf sql = {0};
		my_chunk_sql(t, chunk, &sql);
		rc = my_read_rows(s, s->bf, sl_buf_cstr(&sql), t, batch, batch_bytes, sink, ctx,
		                  rows, NULL, &s->bf_scratch, err);
		sl_buf_free(&sql);
		if (rc < 0)
			my_drop_mark(s, mark);
	}
	sl_error e2;
	if (sl_my_exec(s->bf, "COMMIT", &e2) < 0 || rc < 0) {
		mysql_close(s->bf); /* a new one for the next slice */
		s->bf = NULL;
	}
	return rc;
}

static const char *const my_options[] = {"server_id", NULL};

const sl_source_ops sl_my_source_ops = {
        .type = "mysql",
        .options = my_options,
        .identity = my_identity,
        .open = my_open,
        .close = my_close,
        .check = my_check,
        .discover = my_discover,
        .project = my_project,
        .snapshot_begin = my_snapshot_begin,
        .plan = my_plan,
        .reader_open = my_reader_open,
        .read_chunk = my_read_chunk,
        .reader_cancel = my_reader_cancel,
        .reader_close = my_reader_close,
        .snapshot_end = my_snapshot_end,
        .reset = my_reset,
        .stream_open = sl_my_stream_open,
        .stream_run = sl_my_stream_run,
        .stream_ack = sl_my_stream_ack,
        .stream_close = sl_my_stream_close,
        .log_info = sl_my_log_info,
        .heartbeat = sl_my_heartbeat,
        .backfill_ok = my_backfill_ok,
        .backfill_next = my_backfill_next,
        .backfill_read = my_backfill_read,
        .digest = my_digest,
};
