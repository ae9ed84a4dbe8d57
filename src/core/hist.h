/* sl_hist: a fixed-size histogram of non-negative durations (seconds) for percentiles.
 *
 * Log-spaced buckets, each 2% wider than the one before, from SL_HIST_MIN to SL_HIST_MAX:
 * a percentile is reported within 1% of the exact sample (relative), values below SL_HIST_MIN
 * within SL_HIST_MIN (absolute). The count, sum, minimum and maximum are exact. Memory is the
 * struct itself, whatever the number of samples: nothing is allocated. */
#ifndef SL_HIST_H
#define SL_HIST_H

#include <stdint.h>

#define SL_HIST_MIN 1e-4 /* s: the first bucket's upper bound */
#define SL_HIST_MAX 1e6  /* s: larger samples count in the last bucket */
#define SL_HIST_RATIO 1.02
#define SL_HIST_BUCKETS 1164 /* 1 + ceil(log(SL_HIST_MAX / SL_HIST_MIN) / log(SL_HIST_RATIO)) */

typedef struct sl_hist {
	uint64_t n;
	double sum, min, max;
	uint64_t counts[SL_HIST_BUCKETS];
} sl_hist;

void sl_hist_reset(sl_hist *h);
/* Count one sample; a negative one counts as 0. */
void sl_hist_add(sl_hist *h, double v);
/* The sample of rank floor(q * n) (0-based) among the sorted samples, q in [0, 1], to the
 * precision above; the exact maximum for the top rank, 0 when there are no samples. */
double sl_hist_quantile(const sl_hist *h, double q);

#endif
