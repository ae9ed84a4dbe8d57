/* Store registry: the implementation of each URL scheme (core/store.h). */
#include "core/store.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"
#include "stores/azure.h"
#include "stores/file.h"
#include "stores/s3.h"

static const sl_registry_entry sl_stores[] = {
        {"file", &sl_file_store_ops},
        {"s3", &sl_s3_store_ops},
        {"azure", &sl_azure_store_ops},
};

int sl_store_open(const char *url, const char *what, const sl_store_ops **ops, sl_store **out,
                  sl_error *err)
{
	const char *colon = strstr(url, "://");
	char scheme[16];
	if (!colon || colon == url || (size_t)(colon - url) >= sizeof scheme)
		return sl_error_set(err, SL_ERR_CONFIG,
		                    "%s url '%s' has no scheme (write one of: %s, as scheme://...)",
		                    what, url, sl_store_schemes());
	memcpy(scheme, url, (size_t)(colon - url));
	scheme[colon - url] = 0;
	const sl_store_ops *o =
	        sl_registry_find(sl_stores, sizeof sl_stores / sizeof *sl_stores, scheme);
	if (!o)
		return sl_error_set(err, SL_ERR_CONFIG,
		                    "%s url '%s': scheme '%s' is not supported (supported: %s)",
		                    what, url, scheme, sl_store_schemes());
	*ops = o;
	return o->open(url, what, out, err);
}

int sl_store_probe(const sl_store_ops *ops, sl_store *s, const char *where, sl_error *err)
{
	char key[64];
	snprintf(key, sizeof key, "_sluice/check-%ld", (long)getpid());
	SL_TRY(ops->put(s, key, "ok", 2, err));
	sl_buf b = {0};
	int rc = ops->get(s, key, &b, err);
	if (rc == SL_STORE_MISSING || (rc == 0 && (b.len != 2 || memcmp(b.data, "ok", 2) != 0)))
		rc = sl_error_set(err, SL_ERR_IO, "%s does not read back what was written", where);
	sl_buf_free(&b);
	if (rc == 0)
		rc = ops->del(s, key, err);
	return rc;
}

const char *sl_store_schemes(void)
{
	static char names[128];
	return sl_registry_names(sl_stores, sizeof sl_stores / sizeof *sl_stores, names,
	                         sizeof names);
}
