package io.candor.explain;

/**
 * Permutation importance of one feature group for one metric: baseline − permuted score over {@code nRepeats}
 * permutations, signed so that larger means more important for every metric; a 95 % t-interval on the mean.
 */
public record ImportanceResult(String feature, String metric, double baseline, double mean, double std,
                               double ciLow, double ciHigh, int nRepeats, int rank, String mode, long rows) {
}
