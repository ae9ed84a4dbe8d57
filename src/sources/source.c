/* Source registry. */
#include "core/source.h"

#include <stdlib.h>
#include <string.h>

#include "sources/mysql/my_source.h"
#include "sources/postgres/pg_source.h"

const sl_source_ops *sl_source_lookup(const char *type)
{
	if (type && (strcmp(type, "postgres") == 0 || strcmp(type, "postgresql") == 0))
		return &sl_pg_source_ops;
	if (type && (strcmp(type, "mysql") == 0 || strcmp(type, "mariadb") == 0))
		return &sl_my_source_ops;
	return NULL;
}

void sl_chunks_free(sl_chunk *chunks, int n)
{
	for (int i = 0; i < n; i++) {
		free(chunks[i].where);
		free(chunks[i].relation);
	}
	free(chunks);
}
