/* The files target (see files_target.c). */
#ifndef SL_FILES_TARGET_H
#define SL_FILES_TARGET_H

#include "core/target.h"

extern const sl_target_ops sl_files_target_ops;

#endif
