/* The file:// store (see file.c). */
#ifndef SL_STORES_FILE_H
#define SL_STORES_FILE_H

#include "core/store.h"

extern const sl_store_ops sl_file_store_ops;

#endif
