/* Target registry. */
#include "core/target.h"

#include <string.h>

#include "targets/clickhouse/ch_target.h"
#include "targets/databricks/db_target.h"
#include "targets/files/files_target.h"
#include "targets/postgres/pg_target.h"
#include "targets/snowflake/sf_target.h"

/* target.type names; the first of each connector is the one messages use */
static const sl_registry_entry sl_targets[] = {
        {"postgres", &sl_pg_target_ops},   {"postgresql", &sl_pg_target_ops},
        {"clickhouse", &sl_ch_target_ops}, {"files", &sl_files_target_ops},
        {"snowflake", &sl_sf_target_ops},  {"databricks", &sl_db_target_ops},
};

const sl_target_ops *sl_target_lookup(const char *type)
{
	return sl_registry_find(sl_targets, sizeof sl_targets / sizeof *sl_targets, type);
}

const char *sl_target_types(void)
{
	static char names[256];
	return sl_registry_names(sl_targets, sizeof sl_targets / sizeof *sl_targets, names,
	                         sizeof names);
}
