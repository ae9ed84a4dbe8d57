/* Target registry. */
#include "core/target.h"

#include <string.h>

#include "targets/clickhouse/ch_target.h"
#include "targets/postgres/pg_target.h"

const sl_target_ops *sl_target_lookup(const char *type)
{
	if (type && (strcmp(type, "postgres") == 0 || strcmp(type, "postgresql") == 0))
		return &sl_pg_target_ops;
	if (type && strcmp(type, "clickhouse") == 0)
		return &sl_ch_target_ops;
	return NULL;
}
