/* ClickHouse target (HTTP interface, Native format). */
#ifndef SL_CH_TARGET_H
#define SL_CH_TARGET_H

#include "core/target.h"

extern const sl_target_ops sl_ch_target_ops;

#endif
