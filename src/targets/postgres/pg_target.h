/* The PostgreSQL target (see pg_target.c). */
#ifndef SL_PG_TARGET_H
#define SL_PG_TARGET_H

#include "core/target.h"

extern const sl_target_ops sl_pg_target_ops;

#endif
