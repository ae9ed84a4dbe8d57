/* The PostgreSQL source (see pg_source.c). */
#ifndef SL_PG_SOURCE_H
#define SL_PG_SOURCE_H

#include "core/source.h"

extern const sl_source_ops sl_pg_source_ops;

#endif
