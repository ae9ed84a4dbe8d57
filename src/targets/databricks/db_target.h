/* The Databricks target (db_target.c). */
#ifndef SL_DB_TARGET_H
#define SL_DB_TARGET_H

#include "core/target.h"

extern const sl_target_ops sl_db_target_ops;

#endif
