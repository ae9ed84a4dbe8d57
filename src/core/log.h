/* Logging: one line per event to stderr, with time, level and message.
 * Thread-safe. Anything that may carry a secret goes through sl_redact_* before logging. */
#ifndef SL_LOG_H
#define SL_LOG_H

#include <stddef.h>
#include <stdint.h>

typedef enum { SL_LOG_DEBUG = 0, SL_LOG_INFO = 1, SL_LOG_WARN = 2, SL_LOG_ERROR = 3 } sl_log_level;

void sl_log_set_level(sl_log_level level);
/* Lines as JSON objects from now on, one per line: {"time", "level", "pipeline", "message"}
 * (log.format: json); pipeline copied (NULL: none). The default is text. */
void sl_log_set_json(const char *pipeline);
/* A message the program ends with (sluice: error: ...), in the format in force: text
 * "sluice: error: MSG", or a JSON object of level "error" with "exit": true. Redacted. */
void sl_log_final(const char *msg);
sl_log_level sl_log_get_level(void);
/* Parse "debug" / "info" / "warn" / "error"; returns -1 when unknown. */
int sl_log_parse_level(const char *s);

/* Register a secret (e.g. a password); every later log line and redacted message has it
 * replaced by "***". Any number of secrets of any length; the copy is kept for the life of
 * the process. A secret of 3 or more characters is replaced wherever it occurs; a 1- or
 * 2-character one only where it stands alone (not next to a letter, digit, '_' or non-ASCII
 * byte): as a URL password, a key=value value or a whole token, so that a password "a" does not
 * turn every "a" of a message into "***". Thread-safe. */
void sl_log_add_secret(const char *secret);

void sl_log(sl_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The last warnings and errors logged (redacted), oldest first: for the status API. */
#define SL_LOG_RECENT 16
typedef struct sl_log_entry {
	char time[32]; /* YYYY-MM-DDTHH:MM:SS.mmmZ */
	char level[8];
	char msg[512];
} sl_log_entry;
/* Copy up to max of them into out; returns how many. Thread-safe. */
int sl_log_recent(sl_log_entry *out, int max);
/* Warnings and errors logged since the process started. Thread-safe. */
void sl_log_counts(uint64_t *warnings, uint64_t *errors);

#define sl_debug(...) sl_log(SL_LOG_DEBUG, __VA_ARGS__)
#define sl_info(...) sl_log(SL_LOG_INFO, __VA_ARGS__)
#define sl_warn(...) sl_log(SL_LOG_WARN, __VA_ARGS__)
#define sl_errorf(...) sl_log(SL_LOG_ERROR, __VA_ARGS__)

/* Copy `in` into out (size n, cut to fit, always terminated when n > 0) with the password of
 * a URL ("scheme://user:PASS@host", up to the last '@' of the authority), the value of any
 * "password=..." keyword and every registered secret replaced by "***". Redaction happens
 * before the cut, so no part of a password survives it. Returns out. */
char *sl_redact_url(const char *in, char *out, size_t n);

/* Replace every registered secret in buf (in place, NUL-terminated, capacity n); when "***"
 * makes the text longer than n - 1 it is cut, never leaving a secret. A text that fills the
 * buffer is taken as cut short already, so a tail that begins a registered secret goes too. */
void sl_redact_secrets(char *buf, size_t n);

#endif
