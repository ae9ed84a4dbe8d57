/* The type system: Arrow logical types plus the source's original type.
 *
 * A field says how a column's values are laid out in a batch (the Arrow type) and carries
 * the source's own type name (e.g. "numeric(12,2)") so a same-engine target can recreate the
 * column exactly. Fields export to the Arrow C Data Interface `struct ArrowSchema`. */
#ifndef SL_TYPES_H
#define SL_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arrow_abi.h"

typedef enum sl_type_id {
	SL_TYPE_NA = 0,
	SL_TYPE_BOOL,
	SL_TYPE_INT8,
	SL_TYPE_INT16,
	SL_TYPE_INT32,
	SL_TYPE_INT64,
	SL_TYPE_UINT8,
	SL_TYPE_UINT16,
	SL_TYPE_UINT32,
	SL_TYPE_UINT64,
	SL_TYPE_FLOAT16,
	SL_TYPE_FLOAT32,
	SL_TYPE_FLOAT64,
	SL_TYPE_DECIMAL128, /* precision, scale; 16-byte little-endian two's complement */
	SL_TYPE_DECIMAL256, /* precision, scale; 32-byte little-endian two's complement */
	SL_TYPE_DATE32,     /* days since 1970-01-01 */
	SL_TYPE_DATE64,     /* milliseconds since 1970-01-01 */
	SL_TYPE_TIME32,     /* unit s or ms since midnight */
	SL_TYPE_TIME64,     /* unit us or ns since midnight */
	SL_TYPE_TIMESTAMP,  /* unit since 1970-01-01 00:00 UTC, tz NULL = naive */
	/* Interval(DayTime): int32 days, then int32 milliseconds (sl_interval_dt below) */
	SL_TYPE_INTERVAL_DT,
	SL_TYPE_UTF8,
	SL_TYPE_LARGE_UTF8,
	SL_TYPE_BINARY,
	SL_TYPE_LARGE_BINARY,
	SL_TYPE_FIXED_BINARY, /* byte_width */
	SL_TYPE_LIST,         /* child */
	SL_TYPE_COUNT_
} sl_type_id;

/* Interval(DayTime) values (Arrow format "tiD"): 8 bytes, int32 days then int32 milliseconds,
 * little-endian. Arrow allows any combination; sluice writes only the canonical form, in which
 * days and ms carry the same sign (or are zero) and |ms| < 86400000, so equal durations have
 * equal bytes (a day counts as 24 hours, as PostgreSQL compares intervals). Decoders normalise
 * to it; verify's digest hashes the total milliseconds, so it tolerates other forms. */
typedef struct sl_interval_dt {
	int32_t days;
	int32_t ms;
} sl_interval_dt;

#define SL_MS_PER_DAY 86400000

/* The canonical form of total milliseconds; returns false when the days do not fit int32. */
static inline bool sl_interval_dt_from_ms(int64_t total, sl_interval_dt *out)
{
	int64_t days = total / SL_MS_PER_DAY; /* C truncates: the remainder has total's sign */
	if (days < INT32_MIN || days > INT32_MAX)
		return false;
	out->days = (int32_t)days;
	out->ms = (int32_t)(total % SL_MS_PER_DAY);
	return true;
}

/* Total milliseconds of any (canonical or not) value; cannot overflow. */
static inline int64_t sl_interval_dt_to_ms(sl_interval_dt v)
{
	return (int64_t)v.days * SL_MS_PER_DAY + v.ms;
}

typedef enum sl_time_unit { SL_UNIT_S = 0, SL_UNIT_MS, SL_UNIT_US, SL_UNIT_NS } sl_time_unit;

/* Sentinels for values the source holds but Arrow has no notion of. PostgreSQL's
 * 'infinity'/'-infinity' dates and timestamps travel as these (documented in
 * docs/ARCHITECTURE.md); they lie outside every engine's valid range. */
#define SL_DATE32_POS_INF INT32_MAX
#define SL_DATE32_NEG_INF INT32_MIN
#define SL_TIMESTAMP_POS_INF INT64_MAX
#define SL_TIMESTAMP_NEG_INF INT64_MIN
/* Decimal128/Decimal256 fields with `specials` set may also hold PostgreSQL's numeric NaN,
 * Infinity and -Infinity, as the extreme two's complement values of the width: NaN the most
 * negative, -Infinity one above it, Infinity the most positive. A precision-p decimal never
 * reaches them (10^38 < 2^127, 10^76 < 2^255), so finite values cost nothing extra; the
 * helpers are in formats/decimal.h. */

typedef struct sl_field {
	char *name;
	sl_type_id type;
	bool nullable;
	int precision, scale;   /* decimals */
	bool specials;          /* decimals: may hold the NaN/Infinity sentinels (above) */
	sl_time_unit unit;      /* time32/time64/timestamp */
	char *tz;               /* timestamp time zone ("UTC") or NULL */
	int byte_width;         /* fixed-size binary */
	char *ext_name;         /* Arrow extension name, e.g. "arrow.json", or NULL */
	char *source_type;      /* the source's own type, e.g. "numeric(12,2)", or NULL */
	struct sl_field *child; /* list element */
	/* A column added on the source while rows existed, with a value those rows now have
	 * (PostgreSQL: ADD COLUMN ... DEFAULT with a constant): a target that adds the column
	 * gives it to the rows it holds. As the Arrow value (fill_len bytes: a fixed-width value,
	 * a var-width value's bytes, a boolean as one byte 0/1; NULL for lists) and as the
	 * source's own text. */
	uint8_t *fill;
	size_t fill_len;
	char *fill_text;
	/* A column with a default but no such value: if it was added while rows existed (a
	 * volatile default rewrote the table), those rows hold values the change log never
	 * carried; a target adding it says so. */
	bool fill_missing;
	/* The source's stable number for the column, kept when it is renamed (PostgreSQL:
	 * attnum), or 0 when the source has none. */
	int32_t source_id;
	/* Shapes handed to a target only: the name the column had on the target before the
	 * source renamed it (the target renames its column, keeping the values), or NULL. */
	char *renamed_from;
	/* Shapes only (sl_shape.key_known): the column's 1-based position in the key the source
	 * identifies rows by in these changes, 0 when not part of it. */
	int key_pos;
} sl_field;

/* The proleptic Gregorian calendar (astronomical years: 1 BC is 0), after Howard Hinnant's
 * days_from_civil / civil_from_days: the days between 1970-01-01 and y-m-d, and back. */
int64_t sl_days_from_civil(int64_t y, int m, int d);
void sl_civil_from_days(int64_t days, int64_t *y, int *m, int *d);

/* Initialise *f as a field of the given type (other attributes zero); name is copied. */
void sl_field_init(sl_field *f, const char *name, sl_type_id type);
/* Deep copy: dst must be uninitialised; free with sl_field_reset. */
void sl_field_copy(sl_field *dst, const sl_field *src);
/* Free what the field owns (not the field itself). */
void sl_field_reset(sl_field *f);
/* Set the list element; takes ownership of the heap-allocated child. */
void sl_field_set_child(sl_field *f, sl_field *child);

/* Arrow C Data Interface format string of a field ("i", "d:12,2", "tsu:UTC", "+l", ...). */
const char *sl_field_format(const sl_field *f, char *buf, int n);
/* Human-readable Arrow type, e.g. "Decimal128(12, 2)", "Timestamp(us, UTC)", "List<Int32>". */
const char *sl_field_describe(const sl_field *f, char *buf, int n);
/* Bytes per value of a fixed-width type (bool: 0, meaning bit-packed; var-width and list: 0). */
int sl_type_value_width(const sl_field *f);
bool sl_type_is_var_width(sl_type_id t); /* utf8/binary (32-bit offsets) */

/* Export a struct field named `name` whose children are fields[0..n) to the Arrow C Data
 * Interface. The caller owns *out and must call out->release(out). */
void sl_fields_export_schema(const char *name, const sl_field *fields, int n,
                             struct ArrowSchema *out);

#endif
