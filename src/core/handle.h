/* Opaque handles of the connector contracts (core/source.h, core/target.h).
 *
 * The core holds a connector's objects only through pointers to incomplete types (sl_source,
 * sl_reader, sl_stream, sl_target, sl_writer, sl_applier). Behind each is a struct the connector
 * names after itself; SL_HANDLE(pg_target, sl_target) declares it and the only two casts
 * between them: pg_target_of(sl_target *) where an operation begins, and
 * pg_target_handle(pg_target *) where one hands an object out. */
#ifndef SL_HANDLE_H
#define SL_HANDLE_H

#define SL_HANDLE(impl, handle)                                                                    \
	typedef struct impl impl;                                                                  \
	static inline impl *impl##_of(handle *h)                                                   \
	{                                                                                          \
		return (impl *)h;                                                                  \
	}                                                                                          \
	static inline handle *impl##_handle(impl *p)                                               \
	{                                                                                          \
		return (handle *)p;                                                                \
	}

#endif
