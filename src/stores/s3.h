/* The s3:// store (see s3.c). */
#ifndef SL_STORES_S3_H
#define SL_STORES_S3_H

#include "core/store.h"

extern const sl_store_ops sl_s3_store_ops;

#endif
