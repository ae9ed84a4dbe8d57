/* libpq helpers: connections with actionable errors, statements, binary COPY streaming. */
#include "clients/pgclient.h"

#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/mem.h"
#include "core/url.h"
#include "clients/aws.h"

static void sl_pg_trim(char *s)
{
	size_t n = strlen(s);
	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == ' '))
		s[--n] = '\0';
	/* one line: newlines and tabs become single spaces */
	char *w = s;
	for (char *p = s; *p; p++) {
		char c = (*p == '\n' || *p == '\t') ? ' ' : *p;
		if (c == ' ' && w > s && w[-1] == ' ')
			continue;
		*w++ = c;
	}
	*w = '\0';
}

/* libpq's connection messages start with "connection to server at ... failed: ". Keep the reason.
 */
static const char *sl_pg_reason(const char *msg)
{
	const char *r = strstr(msg, "failed: ");
	return r ? r + 8 : msg;
}

/* Server notices (e.g. "schema already exists, skipping") go to the debug log. */
static void sl_pg_notice(void *arg, const char *message)
{
	(void)arg;
	char msg[512];
	snprintf(msg, sizeof msg, "%s", message);
	sl_pg_trim(msg);
	sl_debug("server notice: %s", msg);
}

/* Whether a failed connection attempt may succeed later without anyone changing the
 * configuration: the server is down, starting, stopping or recovering, out of connection
 * slots, or the network dropped. Wrong passwords, users, databases and pg_hba entries are
 * not: retrying those only hides the mistake. libpq gives no SQLSTATE for a failed
 * connection, so this reads the message (the server's FATAL text for 57P03 and 53300). */
static bool pg_connect_transient(const char *msg)
{
	static const char *const transient[] = {
	        "Connection refused",
	        "Connection reset",
	        "timeout",
	        "timed out",
	        "server closed the connection unexpectedly",
	        "the database system is starting up",
	        "the database system is shutting down",
	        "the database system is in recovery mode",
	        "the database system is not yet accepting connections",
	        "the database system is not accepting connections",
	        "sorry, too many clients already",
	        "remaining connection slots are reserved",
	        "No route to host",
	        "Network is unreachable",
	        "Temporary failure in name resolution",
	};
	for (size_t i = 0; i < sizeof transient / sizeof *transient; i++)
		if (strstr(msg, transient[i]))
			return true;
	return false;
}

/* A TLS failure in libpq's words, as the setting to change; NULL when msg is not one. */
static const char *pg_tls_fix(const char *msg, const sl_endpoint_config *ep, const char *label,
                              const char *user, char *buf, size_t n)
{
	const char *mode = ep->tls.mode ? ep->tls.mode : "prefer";
	if (strstr(msg, "does not match host name"))
		snprintf(
		        buf, n,
		        "the server's certificate is not for the host in %s.url: connect by a name "
		        "the certificate holds, or use %s.tls.mode verify-ca",
		        label, label);
	else if (strstr(msg, "certificate verify failed"))
		snprintf(buf, n,
		         ep->tls.ca_file
		                 ? "the server's certificate is not signed by a CA in "
		                   "%s.tls.ca_file, or has expired"
		                 : "the server's certificate is not signed by a CA this system "
		                   "trusts, or has expired: set %s.tls.ca_file",
		         label);
	else if (strstr(msg, "server does not support SSL"))
		snprintf(buf, n,
		         "the server has no TLS, and %s.tls.mode is %s: turn it on there (ssl = "
		         "on), "
		         "or lower %s.tls.mode",
		         label, ep->tls.mode ? mode : "required by sslmode in the URL", label);
	else if (strstr(msg, "root certificate file"))
		snprintf(buf, n,
		         "a verify mode needs the CA that signed the server's certificate: "
		         "set %s.tls.ca_file",
		         label);
	else if (strstr(msg, "requires a valid client certificate"))
		snprintf(buf, n,
		         "the server wants a client certificate for user \"%s\": set "
		         "%s.tls.cert_file and %s.tls.key_file",
		         user, label, label);
	else if (strstr(msg, "certificate authentication failed"))
		snprintf(buf, n,
		         "the server does not accept the certificate in %s.tls.cert_file for user "
		         "\"%s\" (its common name must be the user name, or be mapped to it in "
		         "pg_ident.conf)",
		         label, user);
	else if (strstr(msg, "alert unknown ca") || strstr(msg, "alert bad certificate") ||
	         strstr(msg, "alert certificate"))
		snprintf(buf, n,
		         "the server does not trust the client certificate in %s.tls.cert_file "
		         "(sign "
		         "it with a CA in the server's ssl_ca_file)",
		         label);
	else if (strstr(msg, "no encryption") && strstr(msg, "pg_hba.conf"))
		snprintf(buf, n,
		         "the server takes user \"%s\" only over TLS: set %s.tls.mode (verify-full "
		         "with %s.tls.ca_file)",
		         user, label, label);
	else if (strstr(msg, "SSL") || strstr(msg, "private key") || strstr(msg, "certificate"))
		snprintf(buf, n, "check %s.tls", label);
	else
		return NULL;
	return buf;
}

void sl_pg_tls_describe(PGconn *conn, const char *label, char *buf, size_t n)
{
	const char *proto = NULL;
	if (PQsslInUse(conn)) {
		proto = PQsslAttribute(conn, "protocol");
		proto = proto ? proto : "TLS";
	}
	char mode[32] = "prefer";
	PQconninfoOption *o = PQconninfo(conn);
	for (PQconninfoOption *p = o; p && p->keyword; p++)
		if (strcmp(p->keyword, "sslmode") == 0 && p->val)
			snprintf(mode, sizeof mode, "%s", p->val);
	PQconninfoFree(o);
	sl_tls_describe(buf, n, label, proto, mode, sl_fd_is_local(PQsocket(conn)));
}

/* auth: aws-iam: a new RDS token for the URL's user, host and port. */
static int pg_iam_token(const sl_endpoint_config *ep, const char *label, char **out, sl_error *err)
{
	PQconninfoOption *opts = PQconninfoParse(ep->url, NULL);
	if (opts == NULL)
		return sl_error_set(err, SL_ERR_CONFIG, "%s.url is not a valid PostgreSQL URL",
		                    label);
	const char *host = NULL, *user = NULL;
	unsigned port = 5432;
	for (PQconninfoOption *o = opts; o->keyword; o++) {
		if (strcmp(o->keyword, "host") == 0)
			host = o->val;
		else if (strcmp(o->keyword, "user") == 0)
			user = o->val;
		else if (strcmp(o->keyword, "port") == 0 && o->val)
			port = (unsigned)atoi(o->val);
	}
	int rc = host && *host && host[0] != '/'
	                 ? sl_rds_token_for(ep, label, host, port, user, out, err)
	                 : sl_error_set(err, SL_ERR_CONFIG,
	                                "%s.auth aws-iam: %s.url needs the database's host name",
	                                label, label);
	PQconninfoFree(opts);
	return rc;
}

int sl_pg_connect(const sl_endpoint_config *ep, const char *label, bool replication, PGconn **out,
                  sl_error *err)
{
	*out = NULL;
	const char *url = ep->url;
	if (url == NULL ||
	    (strncmp(url, "postgres://", 11) != 0 && strncmp(url, "postgresql://", 13) != 0))
		return sl_error_set(err, SL_ERR_CONFIG,
		                    "%s.url must look like postgres://USER@HOST:PORT/DATABASE",
		                    label);
	char *password = NULL; /* read now: a password_file may have been rotated */
	if (ep->aws_iam)
		SL_TRY(pg_iam_token(ep, label, &password, err));
	else
		SL_TRY(sl_endpoint_password(ep, label, &password, err));
	char app[64];
	snprintf(app, sizeof app, "sluice-%s", label);
	const char *keys[16], *vals[16];
	int k = 0;
	keys[k] = "dbname", vals[k++] = url;
	if (password) /* else libpq's own: the URL's, PGPASSWORD, ~/.pgpass */
		keys[k] = "password", vals[k++] = password;
	/* after dbname: these override the URL's own ssl parameters */
	if (ep->tls.mode)
		keys[k] = "sslmode", vals[k++] = ep->tls.mode;
	const char *ca = ep->tls.ca_file;
	if (ca == NULL && ep->tls.mode && strncmp(ep->tls.mode, "verify-", 7) == 0)
		ca = X509_get_default_cert_file(); /* the system's CAs (libpq 15 has no "system") */
	if (ca)
		keys[k] = "sslrootcert", vals[k++] = ca;
	if (ep->tls.cert_file) {
		keys[k] = "sslcert", vals[k++] = ep->tls.cert_file;
		keys[k] = "sslkey", vals[k++] = ep->tls.key_file;
	}
	keys[k] = "application_name", vals[k++] = app;
	keys[k] = "connect_timeout", vals[k++] = "10";
	keys[k] = "options",
	vals[k++] = "-c DateStyle=ISO -c IntervalStyle=iso_8601 -c extra_float_digits=3 "
	            "-c TimeZone=UTC -c search_path=pg_catalog -c standard_conforming_strings=on";
	if (replication)
		keys[k] = "replication", vals[k++] = "database";
	keys[k] = NULL, vals[k] = NULL;

	PQconninfoOption *opts = NULL;
	char *perr = NULL;
	opts = PQconninfoParse(url, &perr);
	if (opts == NULL) {
		char reason[512];
		snprintf(reason, sizeof reason, "%s", perr ? perr : "unparsable");
		sl_pg_trim(reason);
		PQfreemem(perr);
		sl_free_secret(password);
		char red[512];
		return sl_error_set(err, SL_ERR_CONFIG,
		                    "%s.url '%s' is not a valid PostgreSQL URL: %s", label,
		                    sl_redact_url(url, red, sizeof red), reason);
	}
	const char *user = NULL, *dbname = NULL;
	for (PQconninfoOption *o = opts; o->keyword; o++) {
		if (strcmp(o->keyword, "user") == 0)
			user = o->val;
		if (strcmp(o->keyword, "dbname") == 0)
			dbname = o->val;
		if (strcmp(o->keyword, "password") == 0 && o->val)
			sl_log_add_secret(o->val);
	}
	char user_s[128], db_s[128];
	snprintf(user_s, sizeof user_s, "%s", user ? user : "(default)");
	snprintf(db_s, sizeof db_s, "%s", dbname ? dbname : "(default)");
	PQconninfoFree(opts);

	PGconn *conn = PQconnectdbParams(keys, vals, 1);
	sl_free_secret(password);
	if (PQstatus(conn) != CONNECTION_OK) {
		char msg[1024];
		snprintf(msg, sizeof msg, "%s", PQerrorMessage(conn));
		sl_pg_trim(msg);
		sl_redact_secrets(msg, sizeof msg);
		char red[512];
		sl_redact_url(url, red, sizeof red);
		const char *reason = sl_pg_reason(msg);
		char fix[512];
		int rc;
		if (ep->aws_iam && strstr(msg, "authentication failed"))
			rc = sl_error_set(
			        err, SL_ERR_CONNECT,
			        "%s: the IAM token was refused for user \"%s\" at %s (%s): "
			        "grant the user rds_iam (GRANT rds_iam TO \"%s\"), allow "
			        "rds-db:connect for it in the IAM policy of the credentials "
			        "sluice uses, and check %s.aws_region",
			        label, user_s, red, reason, user_s, label);
		else if (pg_tls_fix(msg, ep, label, user_s, fix, sizeof fix))
			rc = sl_error_set(err, SL_ERR_CONNECT, "%s: TLS with %s failed: %s (%s)",
			                  label, red, reason, fix);
		else if (strstr(msg, "password authentication failed"))
			rc = sl_error_set(err, SL_ERR_CONNECT,
			                  "%s: password authentication failed for user \"%s\" at "
			                  "%s (check %s.password)",
			                  label, user_s, red, label);
		else if (strstr(msg, "no password supplied") || strstr(msg, "fe_sendauth"))
			rc = sl_error_set(err, SL_ERR_CONNECT,
			                  "%s: the server at %s requires a password for user "
			                  "\"%s\" (set %s.password)",
			                  label, red, user_s, label);
		else if (strstr(msg, "database \"") && strstr(msg, "does not exist"))
			rc = sl_error_set(err, SL_ERR_CONNECT,
			                  "%s: database \"%s\" does not exist at %s (create it or "
			                  "fix the database in %s.url)",
			                  label, db_s, red, label);
		else if (strstr(msg, "role \"") && strstr(msg, "does not exist"))
			rc = sl_error_set(
			        err, SL_ERR_CONNECT,
			        "%s: user \"%s\" does not exist at %s (fix the user in %s.url)",
			        label, user_s, red, label);
		else if (strstr(msg, "must have replication") ||
		         strstr(msg, "permission denied to start WAL sender") ||
		         strstr(msg, "must be superuser or replication role"))
			rc = sl_error_set(err, SL_ERR_PRIVILEGE,
			                  "%s: user \"%s\" may not open a replication connection "
			                  "(run: ALTER ROLE \"%s\" "
			                  "REPLICATION)",
			                  label, user_s, user_s);
		else if (strstr(msg, "no pg_hba.conf entry") && replication)
			rc = sl_error_set(err, SL_ERR_PRIVILEGE,
			                  "%s: pg_hba.conf has no 'replication' entry for user "
			                  "\"%s\" (add: host replication %s "
			                  "<address> scram-sha-256)",
			                  label, user_s, user_s);
		else
			rc = sl_error_set(
			        err, SL_ERR_CONNECT,
			        "%s: cannot connect to %s: %s (check %s.url and that the server is "
			        "running)",
			        label, red, reason, label);
		err->retryable = pg_connect_transient(msg);
		PQfinish(conn);
		return rc;
	}
	PQsetNoticeProcessor(conn, sl_pg_notice, NULL);
	*out = conn;
	return 0;
}

void sl_pg_cancel(PGcancel *cancel)
{
	char errbuf[256];
	if (cancel)
		PQcancel(cancel, errbuf, sizeof errbuf);
}

const char *sl_pg_where(PGconn *conn, char *buf, size_t n)
{
	snprintf(buf, n, "%s:%s/%s", PQhost(conn), PQport(conn), PQdb(conn));
	return buf;
}

int sl_pg_result_error(PGconn *conn, const PGresult *res, const char *what, sl_error *err)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	char msg[768];
	snprintf(msg, sizeof msg, "%s",
	         res && PQresultErrorMessage(res)[0] ? PQresultErrorMessage(res)
	                                             : PQerrorMessage(conn));
	sl_pg_trim(msg);
	sl_redact_secrets(msg, sizeof msg);
	int code = SL_ERR_SERVER;
	if (state && strcmp(state, "42501") == 0)
		code = SL_ERR_PRIVILEGE;
	sl_error_set(err, code, "%s: %s", what, msg);
	if (err) {
		snprintf(err->sqlstate, sizeof err->sqlstate, "%s", state ? state : "");
		err->retryable =
		        PQstatus(conn) != CONNECTION_OK ||
		        (state && (strncmp(state, "08", 2) == 0 || strcmp(state, "40001") == 0 ||
		                   strcmp(state, "40P01") == 0 || strncmp(state, "57P", 3) == 0));
	}
	return code;
}

int sl_pg_exec(PGconn *conn, const char *sql, sl_error *err)
{
	PGresult *res = PQexec(conn, sql);
	ExecStatusType st = PQresultStatus(res);
	int rc = 0;
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		char what[160];
		snprintf(what, sizeof what, "%.120s", sql);
		rc = sl_pg_result_error(conn, res, what, err);
	}
	PQclear(res);
	return rc;
}

/* *res of `sql` if it succeeded; else err filled and *res cleared. */
static int pg_checked(PGconn *conn, PGresult **res, const char *sql, sl_error *err)
{
	ExecStatusType st = PQresultStatus(*res);
	if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
		char what[160];
		snprintf(what, sizeof what, "%.120s", sql);
		int rc = sl_pg_result_error(conn, *res, what, err);
		PQclear(*res);
		*res = NULL;
		return rc;
	}
	return 0;
}

int sl_pg_query(PGconn *conn, const char *sql, int nparams, const char *const *params,
                PGresult **res, sl_error *err)
{
	*res = PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);
	return pg_checked(conn, res, sql, err);
}

int sl_pg_query_prepared(PGconn *conn, const char *name, bool *prepared, const char *sql,
                         int nparams, const char *const *params, PGresult **res, sl_error *err)
{
	if (!*prepared) {
		*res = PQprepare(conn, name, sql, nparams, NULL);
		SL_TRY(pg_checked(conn, res, sql, err));
		PQclear(*res);
		*prepared = true;
	}
	*res = PQexecPrepared(conn, name, nparams, params, NULL, NULL, 0);
	return pg_checked(conn, res, sql, err);
}

int sl_pg_copy_out(PGconn *conn, const char *copy_sql, const sl_pg_codec *codecs, sl_batch **batch,
                   size_t batch_bytes, sl_pg_flush_fn flush, void *ctx, int64_t *rows,
                   volatile int *cancel, sl_error *err)
{
	int rc = 0;
	*rows = 0;
	if (!PQsendQuery(conn, copy_sql))
		return sl_pg_result_error(conn, NULL, "COPY", err);
	PGresult *res = PQgetResult(conn);
	if (PQresultStatus(res) != PGRES_COPY_OUT) {
		char what[200];
		snprintf(what, sizeof what, "%.180s", copy_sql);
		rc = sl_pg_result_error(conn, res, what, err);
		PQclear(res);
		while ((res = PQgetResult(conn)) != NULL)
			PQclear(res);
		return rc;
	}
	PQclear(res);
	bool header = false, trailer = false;
	int64_t since_check = 0;
	size_t bytes_since_check = 0;
	for (;;) {
		char *buf = NULL;
		int n = PQgetCopyData(conn, &buf, 0);
		if (n == -1)
			break;
		if (n == -2) {
			rc = sl_pg_result_error(conn, NULL, "COPY out", err);
			break;
		}
		const uint8_t *p = (const uint8_t *)buf;
		size_t len = (size_t)n;
		if (!header) {
			int h = sl_pgcopy_parse_header(p, len, err);
			if (h <= 0) {
				rc = h < 0 ? h
				           : sl_error_set(err, SL_ERR_DATA,
				                          "COPY header split across messages");
				PQfreemem(buf);
				break;
			}
			p += h;
			len -= (size_t)h;
			header = true;
		}
		while (len > 0 && rc == 0) {
			int tr = 0;
			int used = sl_pgcopy_decode_tuple(codecs, p, len, *batch, &tr, err);
			if (used < 0) {
				rc = used;
			} else if (used == 0) {
				/* PostgreSQL sends one tuple per CopyData message */
				rc = sl_error_set(err, SL_ERR_DATA,
				                  "COPY tuple split across messages");
			} else {
				p += used;
				len -= (size_t)used;
				if (tr)
					trailer = true;
				else
					(*rows)++;
			}
		}
		PQfreemem(buf);
		if (rc < 0)
			break;
		/* check the batch size every 256 rows, or sooner when rows are wide (TOASTed
		 * values) */
		bytes_since_check += (size_t)n;
		if (++since_check >= 256 || bytes_since_check >= batch_bytes / 8) {
			since_check = 0;
			bytes_since_check = 0;
			if (cancel && *cancel) {
				rc = sl_error_set(err, SL_ERR_CANCELLED, "stopped by signal");
				break;
			}
			if (sl_batch_bytes(*batch) >= batch_bytes) {
				*batch = flush(ctx, *batch, err);
				if (*batch == NULL) {
					rc = err && err->code ? err->code : SL_ERR_INTERNAL;
					break;
				}
			}
		}
	}
	if (rc < 0) {
		/* drain: cancel the query so the connection is usable again */
		PGcancel *cn = PQgetCancel(conn);
		if (cn) {
			char eb[256];
			PQcancel(cn, eb, sizeof eb);
			PQfreeCancel(cn);
		}
		char *buf;
		while (PQgetCopyData(conn, &buf, 0) >= 0)
			PQfreemem(buf);
		while ((res = PQgetResult(conn)) != NULL)
			PQclear(res);
		return rc;
	}
	while ((res = PQgetResult(conn)) != NULL) {
		if (PQresultStatus(res) != PGRES_COMMAND_OK && rc == 0) {
			char what[200];
			snprintf(what, sizeof what, "%.180s", copy_sql);
			rc = sl_pg_result_error(conn, res, what, err);
		}
		PQclear(res);
	}
	if (rc == 0 && !trailer)
		rc = sl_error_set(err, SL_ERR_DATA, "COPY stream ended without its trailer");
	if (rc == 0 && (*batch)->length > 0) {
		*batch = flush(ctx, *batch, err);
		if (*batch == NULL)
			rc = err && err->code ? err->code : SL_ERR_INTERNAL;
	}
	return rc;
}

int sl_pg_copy_in_begin(PGconn *conn, const char *copy_sql, sl_error *err)
{
	PGresult *res = PQexec(conn, copy_sql);
	int rc = 0;
	if (PQresultStatus(res) != PGRES_COPY_IN) {
		char what[200];
		snprintf(what, sizeof what, "%.180s", copy_sql);
		rc = sl_pg_result_error(conn, res, what, err);
	}
	PQclear(res);
	return rc;
}

int sl_pg_copy_in_put(PGconn *conn, const sl_buf *data, sl_error *err)
{
	if (data->len == 0)
		return 0;
	if (PQputCopyData(conn, (const char *)data->data, (int)data->len) != 1)
		return sl_pg_result_error(conn, NULL, "COPY in", err);
	return 0;
}

int sl_pg_copy_in_end(PGconn *conn, sl_error *err)
{
	int rc = 0;
	if (PQputCopyEnd(conn, NULL) != 1)
		return sl_pg_result_error(conn, NULL, "COPY end", err);
	PGresult *res;
	while ((res = PQgetResult(conn)) != NULL) {
		if (PQresultStatus(res) != PGRES_COMMAND_OK && rc == 0)
			rc = sl_pg_result_error(conn, res, "COPY into target", err);
		PQclear(res);
	}
	return rc;
}
