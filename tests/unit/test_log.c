/* Log redaction: URL passwords and registered secrets never reach a log line or an error,
 * whatever their length or number, and redaction never writes past the caller's buffer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/log.h"

static void assert_absent(const char *hay, const char *needle)
{
	if (strstr(hay, needle) != NULL)
		fail_msg("'%s' still appears in '%s'", needle, hay);
}

/* A URL longer than the output buffer, its password straddling the cut: nothing of the
 * password may survive the truncation. */
static void test_redact_url_long(void **state)
{
	(void)state;
	char url[2048], out[512];
	int n = snprintf(url, sizeof url, "postgres://");
	memset(url + n, 'u', 480);
	n += 480;
	snprintf(url + n, sizeof url - (size_t)n,
	         ":Straddl3dPassw0rd-abcdefghijklmnop@db.example/shop");
	sl_redact_url(url, out, sizeof out);
	assert_true(strlen(out) < sizeof out);
	assert_absent(out, "Straddl3d");
	assert_absent(out, "Passw0rd");

	/* the whole URL fits: only the password goes */
	sl_redact_url("postgres://app:hunter2@db.example:5432/shop", out, sizeof out);
	assert_string_equal(out, "postgres://app:***@db.example:5432/shop");
	/* an '@' inside the password: everything up to the last '@' of the authority goes */
	sl_redact_url("postgres://app:p@ss@db.example/shop", out, sizeof out);
	assert_string_equal(out, "postgres://app:***@db.example/shop");
	sl_redact_url("host=h password=a user=u password=bb", out, sizeof out);
	assert_string_equal(out, "host=h password=*** user=u password=***");
}

/* Short "password=" values grow when replaced by "***": the output buffer must hold. */
static void test_redact_url_no_overflow(void **state)
{
	(void)state;
	char in[4096];
	size_t n = 0;
	while (n + 12 < sizeof in) {
		memcpy(in + n, "password=a ", 11);
		n += 11;
	}
	in[n] = '\0';
	char *out = malloc(512); /* exactly 512 bytes: AddressSanitizer sees any write past it */
	assert_non_null(out);
	sl_redact_url(in, out, 512);
	assert_true(strlen(out) <= 511);
	assert_absent(out, "=a ");
	assert_true(strncmp(out, "password=*** password=*** ", 26) == 0);
	free(out);
}

/* A 300-character password is redacted like any other. */
static void test_redact_long_secret(void **state)
{
	(void)state;
	char pw[301];
	for (int i = 0; i < 300; i++)
		pw[i] = (char)('a' + i % 26);
	pw[300] = '\0';
	sl_log_add_secret(pw);
	char line[1024];
	snprintf(line, sizeof line, "login failed with %s for app", pw);
	sl_redact_secrets(line, sizeof line);
	assert_string_equal(line, "login failed with *** for app");
}

/* A 1-character password: redacted where it stands as a value or a whole token, not inside
 * words. */
static void test_redact_short_secret(void **state)
{
	(void)state;
	sl_log_add_secret("q");
	char line[256] = "cannot connect to postgres://app:q@db.example/quiz: quota exceeded";
	sl_redact_secrets(line, sizeof line);
	assert_string_equal(line,
	                    "cannot connect to postgres://app:***@db.example/quiz: quota exceeded");
	snprintf(line, sizeof line, "dsn host=h password=q user=u; got 'q' and q");
	sl_redact_secrets(line, sizeof line);
	assert_string_equal(line, "dsn host=h password=*** user=u; got '***' and ***");

	char out[128];
	sl_redact_url("postgres://app:q@db.example/quiz", out, sizeof out);
	assert_string_equal(out, "postgres://app:***@db.example/quiz");

	/* the buffer is full: "***" does not fit, the message is cut but the secret goes */
	char full[8] = "1234 q!";
	sl_redact_secrets(full, sizeof full);
	assert_absent(full, "q");
	assert_string_equal(full, "1234 **");
}

/* Many secrets, one containing another: all of them go, the longer one whole. */
static void test_redact_many_secrets(void **state)
{
	(void)state;
	char secrets[40][32];
	for (int i = 0; i < 40; i++) {
		snprintf(secrets[i], sizeof secrets[i], "s3cret-%02d-%c", i, 'A' + i % 26);
		sl_log_add_secret(secrets[i]);
	}
	sl_log_add_secret("s3cret-07-H-and-more"); /* registered after its prefix */
	char line[2048];
	size_t n = 0;
	for (int i = 0; i < 40; i++)
		n += (size_t)snprintf(line + n, sizeof line - n, "%s ", secrets[i]);
	snprintf(line + n, sizeof line - n, "s3cret-07-H-and-more");
	sl_redact_secrets(line, sizeof line);
	for (int i = 0; i < 40; i++)
		assert_absent(line, secrets[i]);
	assert_absent(line, "and-more");
	assert_absent(line, "s3cret");
}

/* A message cut by an earlier snprintf may end in the start of a secret: that goes too. */
static void test_redact_truncated_tail(void **state)
{
	(void)state;
	sl_log_add_secret("TailSecretValue");
	char line[16] = "error: TailSecr"; /* full: 15 characters + NUL */
	sl_redact_secrets(line, sizeof line);
	assert_string_equal(line, "error: ***");
	char roomy[32] = "error: TailSecr";
	sl_redact_secrets(roomy, sizeof roomy); /* not full: not a cut secret */
	assert_string_equal(roomy, "error: TailSecr");
}

/* log.format: json: one object per line, escapes, the pipeline, redaction; the final error
 * line as an object too. stderr is captured in a file for the test. */
static void test_json_lines(void **state)
{
	(void)state;
	char path[] = "/tmp/sluice-test-log-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	fflush(stderr);
	int saved = dup(2);
	dup2(fd, 2);
	sl_log_add_secret("jsonS3cret");
	sl_log_set_json("shop \"eu\"");
	sl_info("copied %d rows of \"t\"\tnext\nline with jsonS3cret", 5);
	sl_log_final("target down");
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	char buf[1024] = {0};
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	unlink(path);
	close(fd);
	buf[n] = 0;
	char *nl = strchr(buf, '\n');
	assert_non_null(nl);
	*nl = 0;
	const char *l1 = buf, *l2 = nl + 1;
	assert_true(strncmp(l1, "{\"time\":\"", 9) == 0);
	assert_non_null(strstr(
	        l1, "Z\",\"level\":\"info\",\"pipeline\":\"shop \\\"eu\\\"\","
	            "\"message\":\"copied 5 rows of \\\"t\\\"\\u0009next\\u000aline with ***\"}"));
	assert_absent(buf, "jsonS3cret");
	assert_non_null(strstr(l2, "\"level\":\"error\""));
	assert_non_null(strstr(l2, "\"message\":\"target down\",\"exit\":true}\n"));
}

/* The last warnings and errors, oldest first, redacted; info lines left out. */
static void test_recent(void **state)
{
	(void)state;
	fflush(stderr);
	int saved = dup(2), null = open("/dev/null", O_WRONLY);
	dup2(null, 2);
	sl_log_add_secret("ringS3cret");
	uint64_t w0, e0, w1, e1;
	sl_log_counts(&w0, &e0);
	for (int i = 0; i < 20; i++) {
		sl_warn("warning %d ringS3cret", i);
		sl_info("info %d", i);
	}
	sl_errorf("the last one");
	sl_log_counts(&w1, &e1);
	assert_int_equal(w1 - w0, 20); /* infos are not counted */
	assert_int_equal(e1 - e0, 1);
	fflush(stderr);
	dup2(saved, 2);
	close(saved), close(null);
	sl_log_entry e[SL_LOG_RECENT];
	int n = sl_log_recent(e, SL_LOG_RECENT);
	assert_int_equal(n, SL_LOG_RECENT);
	assert_string_equal(e[0].msg, "warning 5 ***");
	assert_string_equal(e[0].level, "warn");
	assert_string_equal(e[n - 1].msg, "the last one");
	assert_string_equal(e[n - 1].level, "error");
	assert_int_equal(strlen(e[0].time), 24);
	assert_int_equal(sl_log_recent(e, 2), 2);
	assert_string_equal(e[0].msg, "warning 19 ***");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_redact_url_long),
	        cmocka_unit_test(test_redact_url_no_overflow),
	        cmocka_unit_test(test_redact_long_secret),
	        cmocka_unit_test(test_redact_short_secret),
	        cmocka_unit_test(test_redact_many_secrets),
	        cmocka_unit_test(test_redact_truncated_tail),
	        cmocka_unit_test(test_recent),
	        cmocka_unit_test(test_json_lines),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
