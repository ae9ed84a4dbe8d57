/* sl_error: how failures travel back to the caller that decides what to do.
 *
 * Deep code fills an sl_error and returns a negative int; it never logs, exits or longjmps.
 * The thread's main loop logs the error once (see log.h) and decides whether to retry. */
#ifndef SL_ERROR_H
#define SL_ERROR_H

#include <stdbool.h>

enum sl_error_code {
	SL_OK = 0,
	SL_ERR_INTERNAL = -1,  /* a bug or an impossible state */
	SL_ERR_CONFIG = -2,    /* the pipeline file or command line is wrong */
	SL_ERR_CONNECT = -3,   /* cannot reach or log in to a server */
	SL_ERR_PRIVILEGE = -4, /* the user lacks a privilege */
	SL_ERR_SETTING = -5,   /* a server setting is wrong */
	SL_ERR_SERVER = -6,    /* the server refused a statement */
	SL_ERR_DATA = -7,      /* a value cannot be represented or decoded */
	SL_ERR_IO = -8,        /* local file or network I/O */
	SL_ERR_STATE = -9,     /* the state store is inconsistent with the servers */
	SL_ERR_MISMATCH = -10, /* verify found a difference */
	SL_ERR_CANCELLED = -11 /* stopped by a signal */
};

typedef struct sl_error {
	int code;         /* enum sl_error_code */
	bool retryable;   /* retrying the same operation later may succeed */
	bool rediscover;  /* a table or column is not as discovered: discovering again may help */
	char sqlstate[6]; /* server SQLSTATE when there is one, else "" */
	char msg[1024];   /* one line: what failed, on what, and how to fix it */
} sl_error;

/* Fill err (when not NULL) with a formatted message; returns code so callers can
 * `return sl_error_set(err, SL_ERR_DATA, "...")`. */
int sl_error_set(sl_error *err, int code, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/* Prefix the existing message with more context: "context: previous message". */
int sl_error_wrap(sl_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void sl_error_clear(sl_error *err);

/* Process exit status for an error code (config errors 2, everything else 1). */
int sl_error_exit_status(int code);

#define SL_TRY(expr)                                                                               \
	do {                                                                                       \
		int sl_try_rc_ = (expr);                                                           \
		if (sl_try_rc_ < 0)                                                                \
			return sl_try_rc_;                                                         \
	} while (0)

#endif
