/* Starting threads: a failed pthread_create becomes an sl_error that names the thread, so a
 * caller never waits for or joins a thread that did not start. */
#ifndef SL_THREAD_H
#define SL_THREAD_H

#include <pthread.h>

#include "core/error.h"

/* Start fn(arg) in *t. On failure (the thread or memory limit reached) fills err with
 * "cannot start the <what> thread: <reason> ..." and returns SL_ERR_INTERNAL; *t is then not
 * a thread and must not be joined. Not retryable: the run stops and says why. */
int sl_thread_start(pthread_t *t, void *(*fn)(void *), void *arg, const char *what, sl_error *err);

#endif
