/* Log-bucketed histogram: bucket 0 holds [0, MIN), bucket i >= 1 holds
 * [MIN * RATIO^(i-1), MIN * RATIO^i); the last one also everything above. */
#include "core/hist.h"

#include <math.h>
#include <string.h>

void sl_hist_reset(sl_hist *h)
{
	memset(h, 0, sizeof *h);
}

static int sl_hist_bucket(double v)
{
	if (!(v >= SL_HIST_MIN)) /* also NaN */
		return 0;
	double i = floor(log(v / SL_HIST_MIN) / log(SL_HIST_RATIO)) + 1;
	return i >= SL_HIST_BUCKETS - 1 ? SL_HIST_BUCKETS - 1 : (int)i;
}

void sl_hist_add(sl_hist *h, double v)
{
	if (!(v > 0))
		v = 0;
	if (h->n == 0 || v < h->min)
		h->min = v;
	if (h->n == 0 || v > h->max)
		h->max = v;
	h->n++;
	h->sum += v;
	h->counts[sl_hist_bucket(v)]++;
}

double sl_hist_quantile(const sl_hist *h, double q)
{
	if (h->n == 0)
		return 0;
	uint64_t rank = q <= 0 ? 0 : (uint64_t)(q * (double)h->n);
	if (rank >= h->n - 1)
		return h->max;
	uint64_t seen = 0;
	int i = 0;
	for (; i < SL_HIST_BUCKETS - 1; i++) {
		seen += h->counts[i];
		if (seen > rank)
			break;
	}
	/* the bucket's geometric middle: within sqrt(RATIO) - 1 < 1% of any value in it */
	double v = i == 0 ? SL_HIST_MIN / 2 : SL_HIST_MIN * pow(SL_HIST_RATIO, (double)i - 0.5);
	if (v < h->min)
		v = h->min;
	if (v > h->max)
		v = h->max;
	return v;
}
