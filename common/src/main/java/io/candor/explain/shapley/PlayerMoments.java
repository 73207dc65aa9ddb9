package io.candor.explain.shapley;

/**
 * Running mean and variance of per-player samples (Welford's update, stable for long runs), and the standard error of
 * the mean. Samples are independent draws — one per antithetic pair — so the error is {@code sd / sqrt(n)}.
 */
final class PlayerMoments {
    private final double[] mean;
    private final double[] m2;
    private long n;

    PlayerMoments(int players) {
        mean = new double[players];
        m2 = new double[players];
    }

    void add(double[] sample) {
        n++;
        for (int i = 0; i < mean.length; i++) {
            double d = sample[i] - mean[i];
            mean[i] += d / n;
            m2[i] += d * (sample[i] - mean[i]);
        }
    }

    long count() {
        return n;
    }

    double[] mean() {
        return mean.clone();
    }

    /** Standard error of each mean; NaN until two samples are in. */
    double[] standardError() {
        double[] se = new double[mean.length];
        for (int i = 0; i < se.length; i++) {
            se[i] = n < 2 ? Double.NaN : Math.sqrt(Math.max(0, m2[i]) / (n - 1) / n);
        }
        return se;
    }

    /**
     * The stopping rule of Covert, Lundberg &amp; Lee (2020) and Covert &amp; Lee (2021): the largest standard error is
     * at most {@code fraction} of the range (max − min) of the estimates. With a zero range it holds only when every
     * error is zero; a NaN error never passes.
     */
    static boolean converged(double[] values, double[] stdError, double fraction) {
        double lo = Double.POSITIVE_INFINITY;
        double hi = Double.NEGATIVE_INFINITY;
        double maxSe = 0;
        for (int i = 0; i < values.length; i++) {
            lo = Math.min(lo, values[i]);
            hi = Math.max(hi, values[i]);
            if (!(stdError[i] >= 0)) {
                return false;
            }
            maxSe = Math.max(maxSe, stdError[i]);
        }
        return maxSe <= fraction * (hi - lo);
    }
}
