/* The azure:// store (see azure.c). */
#ifndef SL_STORES_AZURE_H
#define SL_STORES_AZURE_H

#include "core/store.h"

extern const sl_store_ops sl_azure_store_ops;

/* The SAS token the environment holds (AZURE_STORAGE_SAS_TOKEN, else the SharedAccessSignature
 * of AZURE_STORAGE_CONNECTION_STRING), without a leading '?', into out (n bytes; registered as
 * a secret): true, or false when there is none. For a service that reads the store with a SAS
 * of its own (Snowflake's COPY). */
bool sl_azure_sas(char *out, size_t n);

#endif
