/* AWS Signature Version 4 (docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-
 * signed-request.html), the query-string (presigned) form, and what is built on it: the RDS and
 * Aurora IAM authentication token (docs.aws.amazon.com/AmazonRDS/latest/UserGuide/
 * UsingWithRDS.IAMDBAuth.Connecting.html), which is a presigned `connect` request to the
 * database's own host:port, valid 15 minutes, sent as the password over TLS.
 *
 * Pure functions: the credentials are given (clients/aws.h finds them). */
#ifndef SL_SIGV4_H
#define SL_SIGV4_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "core/buf.h"
#include "core/error.h"

typedef struct sl_aws_credentials {
	char access_key[128];
	char secret_key[256];
	char session_token[4096]; /* empty for long-term keys */
} sl_aws_credentials;

/* The signing key: HMAC chain over "AWS4" + secret, date (YYYYMMDD), region, service,
 * "aws4_request". */
void sl_sigv4_signing_key(const char *secret, const char *date8, const char *region,
                          const char *service, unsigned char out[32]);

/* A query parameter of a request to sign: name and value as they are (not yet encoded). */
typedef struct sl_sigv4_param {
	const char *name, *value;
} sl_sigv4_param;

/* Append to `out` the query string of a presigned request: `params` and the X-Amz-Algorithm,
 * Credential, Date, Expires, SignedHeaders (host only) and, with a session token,
 * Security-Token parameters, each URI-encoded, in code-point order, then X-Amz-Signature.
 * `host` is the Host header's value ("name" or "name:port"); `path` the URI-encoded path;
 * `payload_hash` the hex SHA-256 of the body, or "UNSIGNED-PAYLOAD". */
void sl_sigv4_presign(sl_buf *out, const sl_aws_credentials *c, const char *region,
                      const char *service, const char *method, const char *host, const char *path,
                      const sl_sigv4_param *params, int nparams, int expires,
                      const char *payload_hash, time_t now);

/* The Authorization header of a request signed in its headers (the form S3 and most AWS APIs
 * take): `headers` are every header to sign (names any case, values as sent; host,
 * x-amz-date and x-amz-content-sha256 among them, x-amz-security-token with temporary
 * credentials), `query` the request's parameters (not yet encoded), `path` the URI-encoded path,
 * `amz_date` the x-amz-date value (YYYYMMDDTHHMMSSZ), `payload_hash` as for presign. Appends
 * "AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=..." to out. */
void sl_sigv4_authorization(sl_buf *out, const sl_aws_credentials *c, const char *region,
                            const char *service, const char *method, const char *path,
                            const sl_sigv4_param *query, int nquery, const sl_sigv4_param *headers,
                            int nheaders, const char *payload_hash, const char *amz_date);
/* The URI encoding SigV4 uses (RFC 3986 unreserved characters kept, everything else %XX;
 * `keep_slash`: '/' kept, for object keys in a path). */
void sl_sigv4_uri_encode(sl_buf *out, const char *s, bool keep_slash);

/* The RDS IAM token for `user` at host:port, signed at `now`: "host:port/?Action=connect&
 * DBUser=...&X-Amz-...". */
void sl_rds_iam_token(sl_buf *out, const sl_aws_credentials *c, const char *region,
                      const char *host, unsigned port, const char *user, time_t now);

/* The region of an RDS host name ("db.abc.eu-west-1.rds.amazonaws.com" -> "eu-west-1") into
 * out; false when the name is not one. */
bool sl_rds_region_of(const char *host, char *out, size_t n);

#endif
