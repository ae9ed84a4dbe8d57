/* Object storage: the small interface the files target, the buffer and the warehouse targets'
 * stages write through. A store is a URL naming a place (file:///dir, s3://bucket/prefix,
 * azure://account/container/prefix); keys are relative paths under it ("public/t/x.parquet").
 *
 * Guarantees every implementation gives:
 *   - an object is visible only once complete (a writer's commit, or put): never a prefix of it;
 *   - put and commit replace an object of the same key whole;
 *   - create_new fails with SL_STORE_EXISTS when the key exists (conditional create);
 *   - list gives every object under a prefix, each once, in no particular order;
 *   - a missing object is SL_STORE_MISSING, not an error message to parse.
 * Errors are one line naming the store and the fix; no secret is ever in them.
 *
 * Implementations live in src/stores/ (one file per scheme), found by scheme in the registry
 * stores/store.c, as connectors are. */
#ifndef SL_STORE_H
#define SL_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/error.h"

/* Return codes besides 0 and the sl_error codes. */
#define SL_STORE_MISSING 1
#define SL_STORE_EXISTS 2

typedef struct sl_store sl_store;
typedef struct sl_store_writer sl_store_writer;

typedef struct sl_store_object {
	const char *key;
	int64_t size;
} sl_store_object;

/* Called for each listed object; a non-zero return stops the listing and is returned. */
typedef int (*sl_store_list_fn)(void *ctx, const sl_store_object *o, sl_error *err);

/* What a pipeline file may say about a store beside its URL (target.* of the files target,
 * buffer.*); NULL or -1: the default, from the environment. */
typedef struct sl_store_settings {
	char *endpoint; /* s3: an S3-compatible service's URL; azure: the blob endpoint */
	char *region;   /* s3 */
	int path_style; /* s3: 1 buckets in the path, 0 in the host name */
} sl_store_settings;

typedef struct sl_store_ops {
	const char *scheme; /* "file", "s3", "azure" */
	/* The store at url (its scheme is ops->scheme). `what` names it in messages ("target",
	 * "buffer"); `set` is never NULL. */
	int (*open)(const char *url, const char *what, const sl_store_settings *set, sl_store **out,
	            sl_error *err);
	void (*close)(sl_store *s);
	/* The store can be written: creates, reads back and deletes a probe object. */
	int (*check)(sl_store *s, sl_error *err);
	int (*put)(sl_store *s, const char *key, const void *p, size_t n, sl_error *err);
	/* put, unless the key exists: SL_STORE_EXISTS then. */
	int (*create_new)(sl_store *s, const char *key, const void *p, size_t n, sl_error *err);
	/* The whole object into out (reset first); SL_STORE_MISSING when absent. */
	int (*get)(sl_store *s, const char *key, sl_buf *out, sl_error *err);
	/* n bytes at off of the object into dst (all of them, or an error). */
	int (*get_range)(sl_store *s, const char *key, int64_t off, void *dst, size_t n,
	                 sl_error *err);
	/* The object's size; SL_STORE_MISSING when absent. */
	int (*size)(sl_store *s, const char *key, int64_t *out, sl_error *err);
	int (*list)(sl_store *s, const char *prefix, sl_store_list_fn fn, void *ctx, sl_error *err);
	/* Deleting an object that does not exist is success. */
	int (*del)(sl_store *s, const char *key, sl_error *err);
	/* Streaming writes of large objects (multipart where the store has it): the object
	 * appears at commit; abort (or close without commit) leaves nothing visible. */
	int (*writer_open)(sl_store *s, const char *key, sl_store_writer **out, sl_error *err);
	int (*write)(sl_store_writer *w, const void *p, size_t n, sl_error *err);
	int (*commit)(sl_store_writer *w, sl_error *err);
	void (*abort)(sl_store_writer *w); /* also frees */
} sl_store_ops;

/* A store for a URL: the registry (stores/store.c) finds the implementation by its scheme. On
 * success *ops and *out are set; close with (*ops)->close(*out). */
int sl_store_open(const char *url, const char *what, const sl_store_settings *set,
                  const sl_store_ops **ops, sl_store **out, sl_error *err);
/* The keys endpoint, region and path_style of section `section` of cfg ("target", "buffer")
 * into *set (free with sl_store_settings_free); sl_store_open refuses those the URL's store
 * does not take. */
struct sl_config;
#define SL_STORE_SETTING_KEYS "endpoint", "region", "path_style"
int sl_store_settings_read(const struct sl_config *cfg, const char *section, sl_store_settings *set,
                           sl_error *err);
void sl_store_settings_free(sl_store_settings *set);
/* What every store's check does: put a probe object under _sluice/, read it back, delete it;
 * `where` names the store in the message when it reads back otherwise. */
int sl_store_probe(const sl_store_ops *ops, sl_store *s, const char *where, sl_error *err);
/* The schemes there are, for messages ("file, s3, azure"). */
const char *sl_store_schemes(void);

#endif
