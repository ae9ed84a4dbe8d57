/* The azure:// store (see azure.c). */
#ifndef SL_STORES_AZURE_H
#define SL_STORES_AZURE_H

#include "core/store.h"

extern const sl_store_ops sl_azure_store_ops;

#endif
