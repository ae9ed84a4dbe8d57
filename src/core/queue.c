/* Bounded byte queue: a singly linked FIFO under one mutex. */
#include "core/queue.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "core/mem.h"

struct sl_qnode {
	struct sl_qnode *next;
	void *item;
	int kind;
	size_t bytes;
};

struct sl_queue {
	pthread_mutex_t mu;
	pthread_cond_t not_full, not_empty;
	struct sl_qnode *head, *tail;
	size_t bytes, max_bytes;
	bool closed, aborted;
};

sl_queue *sl_queue_create(size_t max_bytes)
{
	sl_queue *q = sl_calloc(1, sizeof *q);
	pthread_mutex_init(&q->mu, NULL);
	pthread_cond_init(&q->not_full, NULL);
	pthread_cond_init(&q->not_empty, NULL);
	q->max_bytes = max_bytes ? max_bytes : 1;
	return q;
}

void sl_queue_destroy(sl_queue *q, void (*free_item)(void *item, int kind))
{
	if (q == NULL)
		return;
	struct sl_qnode *n = q->head;
	while (n) {
		struct sl_qnode *next = n->next;
		if (free_item)
			free_item(n->item, n->kind);
		free(n);
		n = next;
	}
	pthread_cond_destroy(&q->not_full);
	pthread_cond_destroy(&q->not_empty);
	pthread_mutex_destroy(&q->mu);
	free(q);
}

static void sl_deadline(struct timespec *ts, int timeout_ms)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += timeout_ms / 1000;
	ts->tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/* Wait on cv; false once the deadline (when timeout_ms >= 0) has passed. */
static bool sl_wait(pthread_cond_t *cv, pthread_mutex_t *mu, int timeout_ms,
                    const struct timespec *deadline)
{
	if (timeout_ms < 0) {
		pthread_cond_wait(cv, mu);
		return true;
	}
	return pthread_cond_timedwait(cv, mu, deadline) != ETIMEDOUT;
}

int sl_queue_push(sl_queue *q, void *item, int kind, size_t bytes)
{
	return sl_queue_push_timed(q, item, kind, bytes, -1);
}

int sl_queue_push_timed(sl_queue *q, void *item, int kind, size_t bytes, int timeout_ms)
{
	struct timespec deadline;
	if (timeout_ms >= 0)
		sl_deadline(&deadline, timeout_ms);
	struct sl_qnode *n = sl_malloc(sizeof *n);
	n->next = NULL;
	n->item = item;
	n->kind = kind;
	n->bytes = bytes;
	pthread_mutex_lock(&q->mu);
	while (!q->aborted && q->head != NULL && q->bytes + bytes > q->max_bytes) {
		if (!sl_wait(&q->not_full, &q->mu, timeout_ms, &deadline)) {
			pthread_mutex_unlock(&q->mu);
			free(n);
			return 2;
		}
	}
	if (q->aborted) {
		pthread_mutex_unlock(&q->mu);
		free(n);
		return -1;
	}
	if (q->tail)
		q->tail->next = n;
	else
		q->head = n;
	q->tail = n;
	q->bytes += bytes;
	pthread_cond_signal(&q->not_empty);
	pthread_mutex_unlock(&q->mu);
	return 0;
}

int sl_queue_pop(sl_queue *q, void **item, int *kind, size_t *bytes)
{
	return sl_queue_pop_timed(q, item, kind, bytes, -1);
}

int sl_queue_pop_timed(sl_queue *q, void **item, int *kind, size_t *bytes, int timeout_ms)
{
	struct timespec deadline;
	if (timeout_ms >= 0)
		sl_deadline(&deadline, timeout_ms);
	pthread_mutex_lock(&q->mu);
	while (!q->aborted && q->head == NULL && !q->closed) {
		if (!sl_wait(&q->not_empty, &q->mu, timeout_ms, &deadline)) {
			pthread_mutex_unlock(&q->mu);
			return 2;
		}
	}
	if (q->aborted) {
		pthread_mutex_unlock(&q->mu);
		return -1;
	}
	struct sl_qnode *n = q->head;
	if (n == NULL) {
		pthread_mutex_unlock(&q->mu);
		return 0;
	}
	q->head = n->next;
	if (q->head == NULL)
		q->tail = NULL;
	q->bytes -= n->bytes;
	pthread_cond_broadcast(&q->not_full);
	pthread_mutex_unlock(&q->mu);
	*item = n->item;
	if (kind)
		*kind = n->kind;
	if (bytes)
		*bytes = n->bytes;
	free(n);
	return 1;
}

void sl_queue_close(sl_queue *q)
{
	pthread_mutex_lock(&q->mu);
	q->closed = true;
	pthread_cond_broadcast(&q->not_empty);
	pthread_mutex_unlock(&q->mu);
}

void sl_queue_abort(sl_queue *q)
{
	pthread_mutex_lock(&q->mu);
	q->aborted = true;
	pthread_cond_broadcast(&q->not_empty);
	pthread_cond_broadcast(&q->not_full);
	pthread_mutex_unlock(&q->mu);
}

bool sl_queue_aborted(sl_queue *q)
{
	pthread_mutex_lock(&q->mu);
	bool a = q->aborted;
	pthread_mutex_unlock(&q->mu);
	return a;
}

size_t sl_queue_bytes(sl_queue *q)
{
	pthread_mutex_lock(&q->mu);
	size_t b = q->bytes;
	pthread_mutex_unlock(&q->mu);
	return b;
}
