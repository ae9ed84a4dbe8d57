/* MySQL / MariaDB source (binlog CDC). */
#ifndef SL_MY_SOURCE_H
#define SL_MY_SOURCE_H

#include "core/source.h"

extern const sl_source_ops sl_my_source_ops;

#endif
