/* AWS Signature Version 4 and the RDS IAM token against published vectors:
 *  - the signing key derivation example of the SigV4 documentation (IAM User Guide, "Derive
 *    a signing key": secret wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY, 20120215, us-east-1,
 *    iam);
 *  - the presigned URL example of "Authenticating Requests: Using Query Parameters (AWS
 *    Signature Version 4)" in the Amazon S3 API Reference (GET /test.txt, examplebucket,
 *    20130524T000000Z, 86400 s, UNSIGNED-PAYLOAD);
 *  - the Authorization-header examples of "Signature Calculations for the Authorization
 *    Header: Transferring Payload in a Single Chunk" in the Amazon S3 API Reference (GET
 *    Object with a Range, PUT Object with a body and a storage class, GET Bucket Lifecycle, GET
 *    Bucket (List Objects) with max-keys and prefix; examplebucket, 20130524T000000Z);
 *  - the RDS auth token vector of botocore's own tests (tests/unit/test_signers.py,
 *    TestGenerateDBAuthToken: prod-instance.us-east-1.rds.amazonaws.com:3306, someusername,
 *    akid/skid, 2016-11-07T17:39:33Z).
 * Then: credentials from the environment and from a shared credentials file, errors that
 * name what to set, session tokens signed into the query, RDS regions from host names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "clients/aws.h"
#include "formats/sigv4.h"

static void hexs(const unsigned char *p, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", p[i]);
}

static void test_signing_key(void **state)
{
	(void)state;
	unsigned char k[32];
	char h[65];
	sl_sigv4_signing_key("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20120215", "us-east-1",
	                     "iam", k);
	hexs(k, 32, h);
	assert_string_equal(h, "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d");
}

static void test_s3_presign_example(void **state)
{
	(void)state;
	sl_aws_credentials c = {0};
	strcpy(c.access_key, "AKIAIOSFODNN7EXAMPLE");
	strcpy(c.secret_key, "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
	sl_buf b = {0};
	sl_sigv4_presign(&b, &c, "us-east-1", "s3", "GET", "examplebucket.s3.amazonaws.com",
	                 "/test.txt", NULL, 0, 86400, "UNSIGNED-PAYLOAD",
	                 1369353600 /* 20130524 */);
	assert_string_equal(
	        sl_buf_cstr(&b),
	        "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%"
	        "2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&"
	        "X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature="
	        "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404");
	sl_buf_free(&b);
}

static void s3_example(const char *method, const char *path, const sl_sigv4_param *q, int nq,
                       const sl_sigv4_param *h, int nh, const char *payload, const char *want_sig)
{
	sl_aws_credentials c = {0};
	strcpy(c.access_key, "AKIAIOSFODNN7EXAMPLE");
	strcpy(c.secret_key, "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
	sl_buf b = {0};
	sl_sigv4_authorization(&b, &c, "us-east-1", "s3", method, path, q, nq, h, nh, payload,
	                       "20130524T000000Z");
	const char *sig = strstr(sl_buf_cstr(&b), "Signature=");
	assert_non_null(sig);
	assert_string_equal(sig + 10, want_sig);
	assert_non_null(strstr(sl_buf_cstr(&b),
	                       "Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/"
	                       "s3/aws4_request, SignedHeaders="));
	sl_buf_free(&b);
}

#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

static void test_s3_authorization_examples(void **state)
{
	(void)state;
	/* GET Object, bytes 0-9 */
	sl_sigv4_param get[] = {{"Host", "examplebucket.s3.amazonaws.com"},
	                        {"Range", "bytes=0-9"},
	                        {"x-amz-content-sha256", EMPTY_SHA256},
	                        {"x-amz-date", "20130524T000000Z"}};
	s3_example("GET", "/test.txt", NULL, 0, get, 4, EMPTY_SHA256,
	           "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
	/* PUT Object "Welcome to Amazon S3." to /test$file.text */
	const char *put_hash = "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072";
	sl_sigv4_param put[] = {{"Host", "examplebucket.s3.amazonaws.com"},
	                        {"Date", "Fri, 24 May 2013 00:00:00 GMT"},
	                        {"x-amz-date", "20130524T000000Z"},
	                        {"x-amz-storage-class", "REDUCED_REDUNDANCY"},
	                        {"x-amz-content-sha256", put_hash}};
	sl_buf path = {0};
	sl_buf_putc(&path, '/');
	sl_sigv4_uri_encode(&path, "test$file.text", true);
	assert_string_equal(sl_buf_cstr(&path), "/test%24file.text");
	s3_example("PUT", sl_buf_cstr(&path), NULL, 0, put, 5, put_hash,
	           "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
	sl_buf_free(&path);
	/* GET Bucket Lifecycle: a parameter without a value */
	sl_sigv4_param lq[] = {{"lifecycle", ""}};
	sl_sigv4_param lh[] = {{"Host", "examplebucket.s3.amazonaws.com"},
	                       {"x-amz-date", "20130524T000000Z"},
	                       {"x-amz-content-sha256", EMPTY_SHA256}};
	s3_example("GET", "/", lq, 1, lh, 3, EMPTY_SHA256,
	           "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
	/* GET Bucket (List Objects): parameters sorted by name */
	sl_sigv4_param bq[] = {{"prefix", "J"}, {"max-keys", "2"}};
	s3_example("GET", "/", bq, 2, lh, 3, EMPTY_SHA256,
	           "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
}

static void test_rds_token_botocore(void **state)
{
	(void)state;
	sl_aws_credentials c = {0};
	strcpy(c.access_key, "akid");
	strcpy(c.secret_key, "skid");
	sl_buf b = {0};
	sl_rds_iam_token(&b, &c, "us-east-1", "prod-instance.us-east-1.rds.amazonaws.com", 3306,
	                 "someusername", 1478540373 /* 2016-11-07T17:39:33Z */);
	assert_string_equal(
	        sl_buf_cstr(&b),
	        "prod-instance.us-east-1.rds.amazonaws.com:3306/"
	        "?Action=connect&DBUser=someusername&"
	        "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=akid%2F20161107%2Fus-east-1%"
	        "2Frds-db%2Faws4_request&X-Amz-Date=20161107T173933Z&X-Amz-Expires=900&"
	        "X-Amz-SignedHeaders=host&X-Amz-Signature="
	        "d1138cdbc0ca63eec012ec0fc6c2267e03642168f5884a7795320d4c18374c61");
	sl_buf_free(&b);

	/* a session token is a signed parameter (it changes the signature), encoded; a user name
	 * with characters to encode is encoded */
	strcpy(c.session_token, "tok/en+=");
	sl_rds_iam_token(&b, &c, "us-east-1", "h.us-east-1.rds.amazonaws.com", 5432, "a b@c",
	                 1478540373);
	const char *t = sl_buf_cstr(&b);
	assert_non_null(strstr(t, "&DBUser=a%20b%40c&"));
	assert_non_null(
	        strstr(t, "&X-Amz-Security-Token=tok%2Fen%2B%3D&X-Amz-SignedHeaders=host&"));
	assert_int_equal(strncmp(t, "h.us-east-1.rds.amazonaws.com:5432/?Action=connect&", 51), 0);
	sl_buf_free(&b);
}

static void test_credentials(void **state)
{
	(void)state;
	sl_aws_credentials c;
	sl_error err = {0};
	char dir[] = "/tmp/sl-aws-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[128];
	snprintf(path, sizeof path, "%s/credentials", dir);
	setenv("AWS_SHARED_CREDENTIALS_FILE", path, 1);
	unsetenv("AWS_ACCESS_KEY_ID");
	unsetenv("AWS_SECRET_ACCESS_KEY");
	unsetenv("AWS_SESSION_TOKEN");
	unsetenv("AWS_PROFILE");

	assert_true(sl_aws_credentials_load(&c, &err) < 0); /* no file, no variables */
	assert_non_null(strstr(err.msg, "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"));

	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("# comment\n[default]\naws_access_key_id = AKDEF\naws_secret_access_key=SKDEF\n\n"
	      "[ prod ]\naws_access_key_id=AKPROD\naws_secret_access_key = SKPROD \n"
	      "aws_session_token = TKPROD\n[half]\naws_access_key_id=X\n",
	      f);
	fclose(f);
	assert_int_equal(sl_aws_credentials_load(&c, &err), 0);
	assert_string_equal(c.access_key, "AKDEF");
	assert_string_equal(c.secret_key, "SKDEF");
	assert_string_equal(c.session_token, "");
	setenv("AWS_PROFILE", "prod", 1);
	assert_int_equal(sl_aws_credentials_load(&c, &err), 0);
	assert_string_equal(c.access_key, "AKPROD");
	assert_string_equal(c.secret_key, "SKPROD");
	assert_string_equal(c.session_token, "TKPROD");
	setenv("AWS_PROFILE", "half", 1);
	assert_true(sl_aws_credentials_load(&c, &err) < 0);
	assert_non_null(strstr(err.msg, "profile [half]"));
	assert_null(strstr(err.msg, "SKPROD"));

	/* the environment comes first */
	setenv("AWS_ACCESS_KEY_ID", "AKENV", 1);
	assert_true(sl_aws_credentials_load(&c, &err) < 0);
	assert_non_null(
	        strstr(err.msg, "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not"));
	setenv("AWS_SECRET_ACCESS_KEY", "SKENV", 1);
	setenv("AWS_SESSION_TOKEN", "TKENV", 1);
	assert_int_equal(sl_aws_credentials_load(&c, &err), 0);
	assert_string_equal(c.access_key, "AKENV");
	assert_string_equal(c.session_token, "TKENV");
	unsetenv("AWS_ACCESS_KEY_ID");
	unsetenv("AWS_SECRET_ACCESS_KEY");
	unsetenv("AWS_SESSION_TOKEN");
	unsetenv("AWS_PROFILE");
	unsetenv("AWS_SHARED_CREDENTIALS_FILE");
	unlink(path);
	rmdir(dir);
}

static void test_rds_region(void **state)
{
	(void)state;
	char r[32];
	assert_true(sl_rds_region_of("db1.abc123.eu-west-1.rds.amazonaws.com", r, sizeof r));
	assert_string_equal(r, "eu-west-1");
	assert_true(
	        sl_rds_region_of("c.cluster-ro-x.cn-north-1.rds.amazonaws.com.cn", r, sizeof r));
	assert_string_equal(r, "cn-north-1");
	assert_false(sl_rds_region_of("db.example.com", r, sizeof r));
	assert_false(sl_rds_region_of(".rds.amazonaws.com", r, sizeof r));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_signing_key),
	        cmocka_unit_test(test_s3_presign_example),
	        cmocka_unit_test(test_s3_authorization_examples),
	        cmocka_unit_test(test_rds_token_botocore),
	        cmocka_unit_test(test_credentials),
	        cmocka_unit_test(test_rds_region),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
