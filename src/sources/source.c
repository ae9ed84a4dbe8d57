/* Source registry. */
#include "core/source.h"

#include <stdlib.h>
#include <string.h>

#include "sources/mysql/my_source.h"
#include "sources/postgres/pg_source.h"

/* source.type names; the first of each connector is the one messages use */
static const sl_registry_entry sl_sources[] = {
        {"postgres", &sl_pg_source_ops},
        {"postgresql", &sl_pg_source_ops},
        {"mysql", &sl_my_source_ops},
        {"mariadb", &sl_my_source_ops},
};

const sl_source_ops *sl_source_lookup(const char *type)
{
	return sl_registry_find(sl_sources, sizeof sl_sources / sizeof *sl_sources, type);
}

const char *sl_source_types(void)
{
	static char names[256];
	return sl_registry_names(sl_sources, sizeof sl_sources / sizeof *sl_sources, names,
	                         sizeof names);
}

void sl_chunks_free(sl_chunk *chunks, int n)
{
	for (int i = 0; i < n; i++) {
		free(chunks[i].where);
		free(chunks[i].relation);
	}
	free(chunks);
}
