/* Logging: one line per event to stderr, with time, level and message.
 * Thread-safe. Anything that may carry a secret goes through sl_redact_* before logging. */
#ifndef SL_LOG_H
#define SL_LOG_H

#include <stddef.h>

typedef enum { SL_LOG_DEBUG = 0, SL_LOG_INFO = 1, SL_LOG_WARN = 2, SL_LOG_ERROR = 3 } sl_log_level;

void sl_log_set_level(sl_log_level level);
sl_log_level sl_log_get_level(void);
/* Parse "debug" / "info" / "warn" / "error"; returns -1 when unknown. */
int sl_log_parse_level(const char *s);

/* Register a secret (e.g. a password); every later log line has it replaced by "***".
 * Thread-safe; at most 16 secrets are remembered. */
void sl_log_add_secret(const char *secret);

void sl_log(sl_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define sl_debug(...) sl_log(SL_LOG_DEBUG, __VA_ARGS__)
#define sl_info(...) sl_log(SL_LOG_INFO, __VA_ARGS__)
#define sl_warn(...) sl_log(SL_LOG_WARN, __VA_ARGS__)
#define sl_errorf(...) sl_log(SL_LOG_ERROR, __VA_ARGS__)

/* Copy `in` into out (size n) with the password of a URL ("scheme://user:PASS@host")
 * and any "password=..." keyword replaced by "***". Returns out. */
char *sl_redact_url(const char *in, char *out, size_t n);

/* Replace every registered secret in buf (in place, NUL-terminated, capacity n). */
void sl_redact_secrets(char *buf, size_t n);

#endif
