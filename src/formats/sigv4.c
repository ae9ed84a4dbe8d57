/* AWS Signature Version 4, query-string form, and the RDS IAM token (see sigv4.h). */
#include "formats/sigv4.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"

/* ------------------------------------------------------------- signing ---- */

static void hmac256(const void *key, size_t klen, const char *data, unsigned char out[32])
{
	unsigned int len = 32;
	HMAC(EVP_sha256(), key, (int)klen, (const unsigned char *)data, strlen(data), out, &len);
}

static void hex(const unsigned char *p, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = '\0';
}

void sl_sigv4_signing_key(const char *secret, const char *date8, const char *region,
                          const char *service, unsigned char out[32])
{
	char k[300];
	int n = snprintf(k, sizeof k, "AWS4%s", secret);
	unsigned char a[32], b[32];
	hmac256(k, (size_t)n, date8, a);
	hmac256(a, 32, region, b);
	hmac256(b, 32, service, a);
	hmac256(a, 32, "aws4_request", out);
	explicit_bzero(k, sizeof k);
	explicit_bzero(a, sizeof a);
	explicit_bzero(b, sizeof b);
}

/* SigV4's URI encoding: unreserved characters stay, every other byte is %XX (upper case). */
void sl_sigv4_uri_encode(sl_buf *b, const char *s, bool keep_slash)
{
	static const char digits[] = "0123456789ABCDEF";
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		bool unreserved = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		                  (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.' ||
		                  *p == '~';
		if (unreserved || (keep_slash && *p == '/')) {
			sl_buf_append(b, p, 1);
		} else {
			char e[3] = {'%', digits[*p >> 4], digits[*p & 15]};
			sl_buf_append(b, e, 3);
		}
	}
}

typedef struct enc_param {
	char *name, *value; /* encoded */
} enc_param;

static int enc_param_cmp(const void *a, const void *b)
{
	const enc_param *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	return c ? c : strcmp(x->value, y->value);
}

static char *encoded(const char *s)
{
	sl_buf b = {0};
	sl_sigv4_uri_encode(&b, s, false);
	char *r = sl_strdup(sl_buf_cstr(&b));
	sl_buf_free(&b);
	return r;
}

void sl_sigv4_presign(sl_buf *out, const sl_aws_credentials *c, const char *region,
                      const char *service, const char *method, const char *host, const char *path,
                      const sl_sigv4_param *params, int nparams, int expires,
                      const char *payload_hash, time_t now)
{
	struct tm tm;
	gmtime_r(&now, &tm);
	char date8[16], amzdate[32], scope[300], credential[600], exp[16];
	strftime(date8, sizeof date8, "%Y%m%d", &tm);
	strftime(amzdate, sizeof amzdate, "%Y%m%dT%H%M%SZ", &tm);
	snprintf(scope, sizeof scope, "%s/%s/%s/aws4_request", date8, region, service);
	snprintf(credential, sizeof credential, "%s/%s", c->access_key, scope);
	snprintf(exp, sizeof exp, "%d", expires);

	int n = 0, max = nparams + 6;
	enc_param *ps = sl_calloc((size_t)max, sizeof *ps);
	for (int i = 0; i < nparams; i++, n++)
		ps[n] = (enc_param){encoded(params[i].name), encoded(params[i].value)};
	ps[n++] = (enc_param){encoded("X-Amz-Algorithm"), encoded("AWS4-HMAC-SHA256")};
	ps[n++] = (enc_param){encoded("X-Amz-Credential"), encoded(credential)};
	ps[n++] = (enc_param){encoded("X-Amz-Date"), encoded(amzdate)};
	ps[n++] = (enc_param){encoded("X-Amz-Expires"), encoded(exp)};
	if (c->session_token[0])
		ps[n++] = (enc_param){encoded("X-Amz-Security-Token"), encoded(c->session_token)};
	ps[n++] = (enc_param){encoded("X-Amz-SignedHeaders"), encoded("host")};
	qsort(ps, (size_t)n, sizeof *ps, enc_param_cmp);
	sl_buf query = {0};
	for (int i = 0; i < n; i++) {
		sl_buf_printf(&query, "%s%s=%s", i ? "&" : "", ps[i].name, ps[i].value);
		free(ps[i].name);
		free(ps[i].value);
	}
	free(ps);

	/* the canonical request, and the string to sign over its hash */
	sl_buf creq = {0};
	sl_buf_printf(&creq, "%s\n%s\n%s\nhost:%s\n\nhost\n%s", method, path, sl_buf_cstr(&query),
	              host, payload_hash);
	unsigned char h[32];
	char hh[65], sig[65];
	EVP_Digest(creq.data, creq.len, h, NULL, EVP_sha256(), NULL);
	hex(h, 32, hh);
	sl_buf sts = {0};
	sl_buf_printf(&sts, "AWS4-HMAC-SHA256\n%s\n%s\n%s", amzdate, scope, hh);
	unsigned char key[32], s[32];
	sl_sigv4_signing_key(c->secret_key, date8, region, service, key);
	hmac256(key, 32, sl_buf_cstr(&sts), s);
	explicit_bzero(key, sizeof key);
	hex(s, 32, sig);
	sl_buf_append(out, query.data, query.len);
	sl_buf_printf(out, "&X-Amz-Signature=%s", sig);
	sl_buf_free(&query);
	sl_buf_free(&creq);
	sl_buf_free(&sts);
}

/* ------------------------------------------------------------------- RDS ---- */

typedef struct canon_header {
	char *name;        /* lower case */
	const char *value; /* as given */
} canon_header;

static int canon_header_cmp(const void *a, const void *b)
{
	return strcmp(((const canon_header *)a)->name, ((const canon_header *)b)->name);
}

/* A header value as SigV4 canonicalises it: no leading or trailing spaces, inner runs of spaces
 * as one. */
static void canon_value(sl_buf *b, const char *v)
{
	while (*v == ' ' || *v == '\t')
		v++;
	size_t start = b->len;
	bool space = false;
	for (; *v; v++) {
		if (*v == ' ' || *v == '\t') {
			space = true;
			continue;
		}
		if (space && b->len > start)
			sl_buf_putc(b, ' ');
		space = false;
		sl_buf_putc(b, *v);
	}
}

void sl_sigv4_authorization(sl_buf *out, const sl_aws_credentials *c, const char *region,
                            const char *service, const char *method, const char *path,
                            const sl_sigv4_param *query, int nquery, const sl_sigv4_param *headers,
                            int nheaders, const char *payload_hash, const char *amz_date)
{
	char date8[9], scope[300];
	snprintf(date8, sizeof date8, "%.8s", amz_date);
	snprintf(scope, sizeof scope, "%s/%s/%s/aws4_request", date8, region, service);

	enc_param *ps = sl_calloc((size_t)(nquery ? nquery : 1), sizeof *ps);
	for (int i = 0; i < nquery; i++)
		ps[i] = (enc_param){encoded(query[i].name), encoded(query[i].value)};
	qsort(ps, (size_t)nquery, sizeof *ps, enc_param_cmp);
	canon_header *hs = sl_calloc((size_t)(nheaders ? nheaders : 1), sizeof *hs);
	for (int i = 0; i < nheaders; i++) {
		hs[i].name = sl_strdup(headers[i].name);
		for (char *p = hs[i].name; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		hs[i].value = headers[i].value;
	}
	qsort(hs, (size_t)nheaders, sizeof *hs, canon_header_cmp);

	sl_buf creq = {0}, signed_h = {0};
	sl_buf_printf(&creq, "%s\n%s\n", method, path);
	for (int i = 0; i < nquery; i++)
		sl_buf_printf(&creq, "%s%s=%s", i ? "&" : "", ps[i].name, ps[i].value);
	sl_buf_putc(&creq, '\n');
	for (int i = 0; i < nheaders; i++) {
		sl_buf_printf(&creq, "%s:", hs[i].name);
		canon_value(&creq, hs[i].value);
		sl_buf_putc(&creq, '\n');
		sl_buf_printf(&signed_h, "%s%s", i ? ";" : "", hs[i].name);
	}
	sl_buf_printf(&creq, "\n%s\n%s", sl_buf_cstr(&signed_h), payload_hash);

	unsigned char h[32], key[32], s[32];
	char hh[65], sig[65];
	EVP_Digest(creq.data, creq.len, h, NULL, EVP_sha256(), NULL);
	hex(h, 32, hh);
	sl_buf sts = {0};
	sl_buf_printf(&sts, "AWS4-HMAC-SHA256\n%s\n%s\n%s", amz_date, scope, hh);
	sl_sigv4_signing_key(c->secret_key, date8, region, service, key);
	hmac256(key, 32, sl_buf_cstr(&sts), s);
	explicit_bzero(key, sizeof key);
	hex(s, 32, sig);
	sl_buf_printf(out, "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s",
	              c->access_key, scope, sl_buf_cstr(&signed_h), sig);
	for (int i = 0; i < nquery; i++)
		free(ps[i].name), free(ps[i].value);
	for (int i = 0; i < nheaders; i++)
		free(hs[i].name);
	free(ps), free(hs);
	sl_buf_free(&creq), sl_buf_free(&signed_h), sl_buf_free(&sts);
}

void sl_rds_iam_token(sl_buf *out, const sl_aws_credentials *c, const char *region,
                      const char *host, unsigned port, const char *user, time_t now)
{
	char hostport[300];
	snprintf(hostport, sizeof hostport, "%s:%u", host, port);
	sl_sigv4_param params[] = {{"Action", "connect"}, {"DBUser", user}};
	sl_buf_printf(out, "%s/?", hostport);
	/* a GET without a body: the payload hash is SHA-256 of nothing */
	sl_sigv4_presign(out, c, region, "rds-db", "GET", hostport, "/", params, 2, 900,
	                 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", now);
}

bool sl_rds_region_of(const char *host, char *out, size_t n)
{
	/* NAME.ID.REGION.rds.amazonaws.com (and .com.cn): the label before "rds." */
	const char *rds = strstr(host, ".rds.amazonaws.com");
	if (rds == NULL || rds == host)
		return false;
	const char *start = rds;
	while (start > host && start[-1] != '.')
		start--;
	size_t len = (size_t)(rds - start);
	if (len == 0 || len >= n)
		return false;
	memcpy(out, start, len);
	out[len] = '\0';
	return true;
}
