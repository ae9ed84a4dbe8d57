/* AWS credentials, found as the AWS CLI and SDKs find them: AWS_ACCESS_KEY_ID,
 * AWS_SECRET_ACCESS_KEY and, for temporary credentials, AWS_SESSION_TOKEN; else the shared
 * credentials file (AWS_SHARED_CREDENTIALS_FILE, default ~/.aws/credentials), profile
 * AWS_PROFILE or "default", keys aws_access_key_id, aws_secret_access_key, aws_session_token.
 * They are read again for every token, so rotated credentials are used. The secret key and
 * token are registered with sl_log_add_secret; no message carries them. And the RDS IAM token
 * of an endpoint with auth: aws-iam, signed with them (formats/sigv4.h). */
#ifndef SL_AWS_H
#define SL_AWS_H

#include "core/config.h"
#include "core/error.h"
#include "formats/sigv4.h"

/* From the environment or the shared credentials file (see above); an error saying what to set
 * when neither has them. */
int sl_aws_credentials_load(sl_aws_credentials *c, sl_error *err);

/* The password of an endpoint with auth: aws-iam: a new token for `user` at host:port, made
 * now with the credentials found now; the region is ep->aws_region, else the host name's,
 * else AWS_REGION or AWS_DEFAULT_REGION. Errors name SECTION's setting to fix. *out: free with
 * sl_free_secret. */
int sl_rds_token_for(const sl_endpoint_config *ep, const char *section, const char *host,
                     unsigned port, const char *user, char **out, sl_error *err);

#endif
