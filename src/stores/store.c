/* Store registry: the implementation of each URL scheme (core/store.h). */
#include "core/store.h"

#include <stdio.h>
#include <stdlib.h>
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

int sl_store_open(const char *url, const char *what, const sl_store_settings *set,
                  const sl_store_ops **ops, sl_store **out, sl_error *err)
{
	static const sl_store_settings none = {NULL, NULL, -1};
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
	if (set == NULL)
		set = &none;
	if (strcmp(scheme, "s3") != 0 && (set->region || set->path_style >= 0))
		return sl_error_set(
		        err, SL_ERR_CONFIG,
		        "%s: region and path_style are settings of s3:// stores, not of "
		        "%s://",
		        what, scheme);
	if (strcmp(scheme, "file") == 0 && set->endpoint)
		return sl_error_set(
		        err, SL_ERR_CONFIG,
		        "%s: endpoint is a setting of s3:// and azure:// stores, not of "
		        "file://",
		        what);
	if (set->endpoint && strncmp(set->endpoint, "http://", 7) != 0 &&
	    strncmp(set->endpoint, "https://", 8) != 0)
		return sl_error_set(err, SL_ERR_CONFIG,
		                    "%s.endpoint '%s' is not an http:// or https:// URL", what,
		                    set->endpoint);
	return o->open(url, what, set, out, err);
}

int sl_store_settings_read(const sl_config *cfg, const char *section, sl_store_settings *set,
                           sl_error *err)
{
	memset(set, 0, sizeof *set);
	set->path_style = -1;
	if (cfg->doc == NULL) /* a configuration made in code (tests): the defaults */
		return 0;
	static const char *const bools[] = {"true", "false", NULL};
	char *ps = NULL; /* stays NULL when absent: the store's default */
	int rc = sl_config_opt_string(cfg, section, "endpoint", &set->endpoint, err);
	if (rc == 0)
		rc = sl_config_opt_string(cfg, section, "region", &set->region, err);
	if (rc == 0)
		rc = sl_config_opt_choice(cfg, section, "path_style", bools, &ps, err);
	if (rc < 0)
		sl_store_settings_free(set);
	else if (ps)
		set->path_style = strcmp(ps, "true") == 0;
	free(ps);
	return rc;
}

void sl_store_settings_free(sl_store_settings *set)
{
	free(set->endpoint);
	free(set->region);
	set->endpoint = set->region = NULL;
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
