/* sl_queue: a FIFO between threads, bounded in bytes (backpressure).
 *
 * Producers block in sl_queue_push while the queued bytes exceed the budget, so a slow
 * consumer slows the producer instead of growing memory. An item larger than the whole budget
 * is still accepted when the queue is empty (it must get through). sl_queue_close says no more
 * items will come; sl_queue_abort wakes everybody and makes every later call fail, for a
 * clean stop on error. Thread-safe; one mutex, two condition variables. */
#ifndef SL_QUEUE_H
#define SL_QUEUE_H

#include <stdbool.h>
#include <stddef.h>

typedef struct sl_queue sl_queue;

sl_queue *sl_queue_create(size_t max_bytes);
/* Destroy an empty or aborted queue; items still queued are passed to free_item (may be NULL). */
void sl_queue_destroy(sl_queue *q, void (*free_item)(void *item, int kind));

/* Returns 0, or -1 when the queue was aborted (the item was not taken). */
int sl_queue_push(sl_queue *q, void *item, int kind, size_t bytes);
/* Returns 1 with an item, 0 when closed and drained, -1 when aborted. */
int sl_queue_pop(sl_queue *q, void **item, int *kind, size_t *bytes);
/* Timed forms: wait at most timeout_ms (-1 = forever); return 2 on timeout (push: the item
 * was not taken; pop: no item). */
int sl_queue_push_timed(sl_queue *q, void *item, int kind, size_t bytes, int timeout_ms);
int sl_queue_pop_timed(sl_queue *q, void **item, int *kind, size_t *bytes, int timeout_ms);
void sl_queue_close(sl_queue *q);
void sl_queue_abort(sl_queue *q);
bool sl_queue_aborted(sl_queue *q);
size_t sl_queue_bytes(sl_queue *q);

#endif
