/* The Snowflake target (see sf_target.c). */
#ifndef SL_SF_TARGET_H
#define SL_SF_TARGET_H

#include "core/target.h"

extern const sl_target_ops sl_sf_target_ops;

#endif
