/* Thread start with a clear error. */
#include "core/thread.h"

#include <string.h>

int sl_thread_start(pthread_t *t, void *(*fn)(void *), void *arg, const char *what, sl_error *err)
{
	int e = pthread_create(t, NULL, fn, arg);
	if (e == 0)
		return 0;
	return sl_error_set(err, SL_ERR_INTERNAL,
	                    "cannot start the %s thread: %s (the system's limit on threads or "
	                    "memory is reached: check ulimit -u, ulimit -s and free memory)",
	                    what, strerror(e));
}
