/* AWS credentials and RDS IAM tokens (see aws.h). */
#include "clients/aws.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/mem.h"

/* ------------------------------------------------------------ credentials ---- */

static void aws_trim(char *s)
{
	size_t n = strlen(s);
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	size_t i = 0;
	while (s[i] && isspace((unsigned char)s[i]))
		i++;
	memmove(s, s + i, n - i + 1);
}

/* The shared credentials file: "[profile]" sections of "key = value" lines. */
static int aws_credentials_file(sl_aws_credentials *c, bool *found, sl_error *err)
{
	*found = false;
	const char *path = getenv("AWS_SHARED_CREDENTIALS_FILE");
	char buf[1024];
	if (path == NULL || *path == '\0') {
		const char *home = getenv("HOME");
		if (home == NULL)
			return 0;
		snprintf(buf, sizeof buf, "%s/.aws/credentials", home);
		path = buf;
	}
	const char *profile = getenv("AWS_PROFILE");
	if (profile == NULL || *profile == '\0')
		profile = "default";
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		if (errno == ENOENT)
			return 0;
		return sl_error_set(err, SL_ERR_CONFIG, "AWS credentials: cannot read %s: %s", path,
		                    strerror(errno));
	}
	char line[8192];
	bool in = false;
	while (fgets(line, sizeof line, f)) {
		aws_trim(line);
		if (line[0] == '#' || line[0] == ';' || line[0] == '\0')
			continue;
		if (line[0] == '[') {
			char *end = strchr(line, ']');
			if (end)
				*end = '\0';
			aws_trim(line + 1);
			in = strcmp(line + 1, profile) == 0;
			continue;
		}
		char *eq = strchr(line, '=');
		if (!in || eq == NULL)
			continue;
		*eq = '\0';
		char *key = line, *val = eq + 1;
		aws_trim(key);
		aws_trim(val);
		if (strcmp(key, "aws_access_key_id") == 0)
			snprintf(c->access_key, sizeof c->access_key, "%s", val);
		else if (strcmp(key, "aws_secret_access_key") == 0)
			snprintf(c->secret_key, sizeof c->secret_key, "%s", val);
		else if (strcmp(key, "aws_session_token") == 0)
			snprintf(c->session_token, sizeof c->session_token, "%s", val);
	}
	explicit_bzero(line, sizeof line);
	fclose(f);
	*found = c->access_key[0] && c->secret_key[0];
	if (!*found && (c->access_key[0] || c->secret_key[0]))
		return sl_error_set(err, SL_ERR_CONFIG,
		                    "AWS credentials: profile [%s] in %s needs both "
		                    "aws_access_key_id and aws_secret_access_key",
		                    profile, path);
	return 0;
}

int sl_aws_credentials_load(sl_aws_credentials *c, sl_error *err)
{
	memset(c, 0, sizeof *c);
	const char *id = getenv("AWS_ACCESS_KEY_ID"), *secret = getenv("AWS_SECRET_ACCESS_KEY");
	const char *token = getenv("AWS_SESSION_TOKEN");
	bool found = false;
	if (id && *id && secret && *secret) {
		snprintf(c->access_key, sizeof c->access_key, "%s", id);
		snprintf(c->secret_key, sizeof c->secret_key, "%s", secret);
		if (token)
			snprintf(c->session_token, sizeof c->session_token, "%s", token);
		found = true;
	} else if ((id && *id) || (secret && *secret)) {
		return sl_error_set(err, SL_ERR_CONFIG,
		                    "AWS credentials: %s is set but %s is not (set both)",
		                    id && *id ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY",
		                    id && *id ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID");
	} else {
		SL_TRY(aws_credentials_file(c, &found, err));
	}
	if (!found)
		return sl_error_set(err, SL_ERR_CONFIG,
		                    "AWS credentials: none found (set AWS_ACCESS_KEY_ID and "
		                    "AWS_SECRET_ACCESS_KEY, or a profile in ~/.aws/credentials)");
	sl_log_add_secret(c->secret_key);
	if (c->session_token[0])
		sl_log_add_secret(c->session_token);
	return 0;
}

int sl_rds_token_for(const sl_endpoint_config *ep, const char *section, const char *host,
                     unsigned port, const char *user, char **out, sl_error *err)
{
	*out = NULL;
	char region[64];
	const char *env = getenv("AWS_REGION");
	if (env == NULL || *env == '\0')
		env = getenv("AWS_DEFAULT_REGION");
	if (ep->aws_region)
		snprintf(region, sizeof region, "%s", ep->aws_region);
	else if (!sl_rds_region_of(host, region, sizeof region)) {
		if (env == NULL || *env == '\0')
			return sl_error_set(
			        err, SL_ERR_CONFIG,
			        "%s.auth aws-iam: %s is not an RDS host name that says its "
			        "region: set %s.aws_region (or AWS_REGION)",
			        section, host, section);
		snprintf(region, sizeof region, "%s", env);
	}
	if (user == NULL || *user == '\0')
		return sl_error_set(err, SL_ERR_CONFIG,
		                    "%s.auth aws-iam: name the database user in %s.url", section,
		                    section);
	sl_aws_credentials c;
	int rc = sl_aws_credentials_load(&c, err);
	if (rc < 0) {
		explicit_bzero(&c, sizeof c);
		return sl_error_wrap(err, "%s.auth aws-iam", section);
	}
	sl_buf b = {0};
	sl_rds_iam_token(&b, &c, region, host, port, user, time(NULL));
	explicit_bzero(&c, sizeof c);
	*out = sl_strdup(sl_buf_cstr(&b));
	explicit_bzero(b.data, b.len);
	sl_buf_free(&b);
	/* not registered as a secret: one per connection would grow the list for ever, and
	 * neither libpq nor libmariadb repeats a password in a message */
	return 0;
}
