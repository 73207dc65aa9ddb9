package io.candor.explain.shapley;

import io.candor.config.Knobs;
import io.candor.explain.BatchModel;
import io.candor.util.Seeds;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * SAGE (Covert, Lundberg &amp; Lee 2020, "Understanding Global Feature Importance through Additive Importance
 * Measures"): dataset-wide Shapley values of the game {@code v(S) = −E_{x,y}[loss(E_bg f(x_S, bg_¬S), y)]}, i.e.
 * each player's share of the loss reduction from the base prediction {@code E_bg[f]} to the model's. Values sum to
 * {@code E[loss(base)] − E[loss(f(x))]}.
 *
 * <p>Permutation estimator, as in the paper's Algorithm 1: each step draws a data row (uniformly, with replacement)
 * and an order of the players, adds players one by one and credits each with the drop in loss; here each draw is an
 * antithetic pair — an order and its reverse on the same row — and the pair's average is one sample. Predictions for
 * a coalition are averaged over the {@link Background} before the loss is taken (marginal imputation). Pairs are
 * independent, so the standard error is {@code sd / sqrt(pairs)}.
 *
 * <p>Pairs are drawn in rounds of {@code pairsPerRound}, evaluated in batched model calls; after each round the run
 * stops when the largest standard error is at most {@code convergenceFraction} of the range of the values, or when
 * {@code maxPermutationPairs} pairs are in. Pair {@code t} draws from {@code Seeds.stream(seed, t)}, and rounds are a
 * fixed size, so the result depends on the seed and settings but not on the memory budget.
 */
public final class SageEstimator {
    /** Cross-entropy clips probabilities here (as {@code Metrics.logLoss} does), so a zero does not give infinity. */
    private static final double MIN_PROBABILITY = 1e-15;

    /** The loss whose reduction SAGE attributes. */
    public enum Loss {
        /** {@code −ln p[label]} of the predicted class probabilities; labels are class indices. */
        CROSS_ENTROPY,
        /** {@code (f(x) − label)²} of a single regression output. */
        SQUARED_ERROR;

        /** The loss of the prediction at {@code pred[off..]} against {@code label}. */
        double of(double[] pred, int off, double label) {
            if (this == SQUARED_ERROR) {
                double d = pred[off] - label;
                return d * d;
            }
            double p = pred[off + (int) label];
            return -Math.log(Math.max(MIN_PROBABILITY, p));
        }
    }

    /**
     * @param loss the loss to attribute
     * @param maxPermutationPairs most antithetic pairs to draw
     * @param pairsPerRound pairs evaluated between convergence checks (at least 2)
     * @param convergenceFraction stop once the largest standard error is at most this fraction of the values' range
     * @param maxValuesPerBatch memory budget of one model call, see {@link CoalitionEvaluator}
     * @param seed run seed
     */
    public record Settings(Loss loss, int maxPermutationPairs, int pairsPerRound, double convergenceFraction,
                           long maxValuesPerBatch, long seed) implements java.io.Serializable {
        /** Pairs evaluated between two convergence checks. */
        public static final int DEFAULT_PAIRS_PER_ROUND = 64;

        public Settings {
            if (loss == null) {
                throw new IllegalArgumentException("loss: null; expected CROSS_ENTROPY or SQUARED_ERROR");
            }
            if (pairsPerRound < 2) {
                throw new IllegalArgumentException("pairsPerRound: " + pairsPerRound + " is below 2");
            }
            if (maxPermutationPairs < pairsPerRound) {
                throw new IllegalArgumentException("maxPermutationPairs: " + maxPermutationPairs
                        + " is below pairsPerRound " + pairsPerRound);
            }
            if (!(convergenceFraction >= 0) || Double.isInfinite(convergenceFraction)) {
                throw new IllegalArgumentException("convergenceFraction: " + convergenceFraction
                        + "; expected a finite value >= 0");
            }
        }

        /**
         * Rounds of {@link #DEFAULT_PAIRS_PER_ROUND} pairs, up to the conf default of
         * {@code shapley.sage.max-permutation-pairs}, stopping at the conf default of
         * {@code shapley.sage.convergence-fraction} (2.5 % of the range, a default of the SAGE package).
         */
        public static Settings of(Loss loss, long seed) {
            return new Settings(loss, Knobs.SHAPLEY_SAGE_MAX_PERMUTATION_PAIRS.defaultValue(), DEFAULT_PAIRS_PER_ROUND,
                    Knobs.SHAPLEY_SAGE_CONVERGENCE_FRACTION.defaultValue(),
                    CoalitionEvaluator.DEFAULT_MAX_VALUES_PER_BATCH, seed);
        }
    }

    private final CoalitionEvaluator evaluator;
    private final Settings settings;
    private final int players;
    private final int outputs;

    /**
     * @throws IllegalArgumentException if players, background and model do not match, or the loss does not fit
     *     the model (squared error needs one output)
     */
    public SageEstimator(BatchModel model, Players players, Background background, Settings settings) {
        this.evaluator = new CoalitionEvaluator(model, players, background, settings.maxValuesPerBatch());
        this.settings = settings;
        this.players = players.count();
        this.outputs = model.outputs();
        if (settings.loss() == Loss.SQUARED_ERROR && outputs != 1) {
            throw new IllegalArgumentException("loss: SQUARED_ERROR needs a model with 1 output; this one has "
                    + outputs);
        }
    }

    /**
     * @param data the rows the expectation runs over
     * @param labels one label per row: a class index in {@code [0, outputs)} for cross-entropy, a finite number for
     *     squared error
     * @throws IllegalArgumentException if rows or labels are malformed
     */
    public SageResult estimate(double[][] data, double[] labels) {
        checkData(data, labels);
        return run(settings, players, (from, to) -> pairSamples(data, labels, from, to));
    }

    /** Computes the samples of pairs {@code [from, to)}: locally, or spread across Spark tasks. */
    @FunctionalInterface
    public interface PairSampler {
        PairSamples sample(int from, int to);
    }

    /**
     * The SAGE loop: rounds of {@code pairsPerRound} pairs, samples added in pair order, stopping once the largest
     * standard error is at most {@code convergenceFraction} of the values' range, or at the pair limit.
     */
    public static SageResult run(Settings settings, int players, PairSampler sampler) {
        PlayerMoments moments = new PlayerMoments(players);
        long evaluations = 0;
        int drawn = 0;
        boolean converged = false;
        while (drawn < settings.maxPermutationPairs() && !converged) {
            int round = Math.min(settings.pairsPerRound(), settings.maxPermutationPairs() - drawn);
            PairSamples samples = sampler.sample(drawn, drawn + round);
            for (double[] sample : samples.samples()) {
                moments.add(sample);
            }
            evaluations += samples.evaluations();
            drawn += round;
            converged = PlayerMoments.converged(moments.mean(), moments.standardError(),
                    settings.convergenceFraction());
        }
        return new SageResult(moments.mean(), moments.standardError(), drawn, evaluations, converged);
    }

    /** The loss contributions of permutation pairs {@code [from, to)}, one vector per pair, in pair order. */
    public record PairSamples(double[][] samples, long evaluations) implements java.io.Serializable {
    }

    /**
     * The samples of permutation pairs {@code [from, to)}. Pair {@code t} depends only on (seed, t), so any split of
     * the pairs (across Spark tasks, say) gives the same samples as {@link #estimate}'s rounds.
     */
    public PairSamples pairSamples(double[][] data, double[] labels, int from, int to) {
        checkData(data, labels);
        int m = players;
        int round = to - from;
        boolean[] grand = new boolean[m];
        Arrays.fill(grand, true);
        int perPair = 1 + 2 * (m - 1);
        // Slot 0: the empty coalition, whose value (the base prediction) every pair's first step starts from.
        int[] rowOf = new int[1 + round * perPair];
        boolean[][] coalitions = new boolean[rowOf.length][];
        int[][] orders = new int[2 * round][];
        coalitions[0] = new boolean[m];
        for (int q = 0; q < round; q++) {
            SplittableRandom rng = Seeds.stream(settings.seed(), from + q);
            int row = rng.nextInt(data.length);
            orders[2 * q] = Sampling.permutation(rng, m);
            orders[2 * q + 1] = Sampling.reversed(orders[2 * q]);
            int t = 1 + q * perPair;
            Arrays.fill(rowOf, t, t + perPair, row);
            coalitions[t] = grand;
            for (int o = 0; o < 2; o++) {
                for (int k = 1; k < m; k++) {
                    coalitions[t + 1 + o * (m - 1) + k - 1] = Sampling.prefix(orders[2 * q + o], k);
                }
            }
        }
        double[] values = evaluator.evaluate(data, rowOf, coalitions);
        long evaluations = 0;
        for (boolean[] c : coalitions) {
            evaluations += evaluator.modelRows(c);
        }
        double[] base = Arrays.copyOf(values, outputs);
        double[][] samples = new double[round][];
        for (int q = 0; q < round; q++) {
            int t = 1 + q * perPair;
            double label = labels[rowOf[t]];
            double baseLoss = settings.loss().of(base, 0, label);
            double fullLoss = settings.loss().of(values, t * outputs, label);
            double[] sample = new double[m];
            for (int o = 0; o < 2; o++) {
                int[] order = orders[2 * q + o];
                double before = baseLoss;
                for (int k = 1; k <= m; k++) {
                    double after = k == m ? fullLoss
                            : settings.loss().of(values, (t + 1 + o * (m - 1) + k - 1) * outputs, label);
                    sample[order[k - 1]] += 0.5 * (before - after);
                    before = after;
                }
            }
            samples[q] = sample;
        }
        return new PairSamples(samples, evaluations);
    }

    public Settings settings() {
        return settings;
    }

    private void checkData(double[][] data, double[] labels) {
        if (data == null || data.length == 0) {
            throw new IllegalArgumentException("data: no rows; expected at least one row");
        }
        if (labels == null || labels.length != data.length) {
            throw new IllegalArgumentException("labels: " + (labels == null ? "null" : labels.length + " labels")
                    + " for " + data.length + " rows; expected one label per row");
        }
        int inputs = evaluator.players().inputs();
        for (int i = 0; i < data.length; i++) {
            if (data[i] == null || data[i].length != inputs) {
                throw new IllegalArgumentException("data: row " + i + " has "
                        + (data[i] == null ? "no" : data[i].length) + " values; expected " + inputs
                        + " (the model's inputs)");
            }
            double y = labels[i];
            boolean ok = settings.loss() == Loss.SQUARED_ERROR ? Double.isFinite(y)
                    : y >= 0 && y < outputs && y == Math.rint(y);
            if (!ok) {
                throw new IllegalArgumentException("labels: label " + i + " is " + y + "; expected "
                        + (settings.loss() == Loss.SQUARED_ERROR ? "a finite number"
                        : "a class index in 0.." + (outputs - 1)));
            }
        }
    }
}
