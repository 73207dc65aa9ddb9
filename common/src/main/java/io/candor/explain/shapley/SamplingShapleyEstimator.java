package io.candor.explain.shapley;

import io.candor.config.Knobs;
import io.candor.explain.BatchModel;
import io.candor.util.Seeds;

import java.util.SplittableRandom;

/**
 * Permutation-sampling Shapley values (Castro, Gómez &amp; Tejada 2009, "Polynomial calculation of the Shapley value
 * based on sampling"): a player's value is its expected marginal contribution {@code v(Pre ∪ {i}) − v(Pre)} over
 * uniformly random orders of the players. Orders are drawn in antithetic pairs — an order and its reverse — whose
 * averaged contributions form one sample (antithetic sampling, cf. Mitchell et al. 2022); pairs are
 * independent, so the mean is unbiased and its standard error is {@code sd / sqrt(pairs)}. Each order telescopes
 * from {@code v(∅) = E_bg[f]} to {@code v(N) = f(x)}, so {@code Σφ + base = f(x)} holds exactly for every row.
 * Coalition values use marginal imputation from the {@link Background}; orders come from
 * {@code Seeds.stream(seed, rowId)}.
 *
 * <p>A row is {@code converged} when its largest standard error is at most {@code convergenceThreshold} times the
 * range of its φ.
 */
public final class SamplingShapleyEstimator extends RowEstimator<SamplingShapleyEstimator.Orders> {
    /**
     * @param permutationPairs antithetic pairs of orders per row, at least 2 (so errors are defined); each costs
     *     {@code 2 (M − 1)} coalitions
     * @param maxValuesPerBatch memory budget of one model call, see {@link CoalitionEvaluator}
     * @param seed run seed
     * @param convergenceThreshold largest standard error allowed, as a fraction of the range of a row's φ
     */
    public record Settings(int permutationPairs, long maxValuesPerBatch, long seed, double convergenceThreshold) {
        public Settings {
            if (permutationPairs < 2) {
                throw new IllegalArgumentException("permutationPairs: " + permutationPairs
                        + " is below 2; expected at least two pairs so that standard errors are defined");
            }
            if (!(convergenceThreshold >= 0) || Double.isInfinite(convergenceThreshold)) {
                throw new IllegalArgumentException("convergenceThreshold: " + convergenceThreshold
                        + "; expected a finite value >= 0");
            }
        }

        /** The conf defaults of the memory budget and the convergence threshold (1% of the range of φ). */
        public static Settings of(int permutationPairs, long seed) {
            return new Settings(permutationPairs, CoalitionEvaluator.DEFAULT_MAX_VALUES_PER_BATCH, seed,
                    Knobs.SHAPLEY_CONVERGENCE_THRESHOLD.defaultValue());
        }
    }

    /**
     * One row's orders (pair q is orders 2q and 2q+1, the reverse of 2q) and their proper non-empty prefixes, order
     * by order: prefix {@code k} (k = 1..M−1) of order {@code o} is coalition {@code o (M−1) + k − 1}.
     */
    record Orders(int[][] orders, boolean[][] coalitions) implements RowEstimator.Plan {
    }

    private final Settings settings;

    /** @throws IllegalArgumentException if players, background and model do not match */
    public SamplingShapleyEstimator(BatchModel model, Players players, Background background, Settings settings) {
        super(model, players, background, settings.maxValuesPerBatch());
        this.settings = settings;
    }

    @Override
    Orders plan(long rowId) {
        int m = players;
        SplittableRandom rng = Seeds.stream(settings.seed(), rowId);
        int[][] orders = new int[2 * settings.permutationPairs()][];
        boolean[][] coalitions = new boolean[orders.length * (m - 1)][];
        for (int q = 0; q < settings.permutationPairs(); q++) {
            orders[2 * q] = Sampling.permutation(rng, m);
            orders[2 * q + 1] = Sampling.reversed(orders[2 * q]);
        }
        for (int o = 0; o < orders.length; o++) {
            for (int k = 1; k < m; k++) {
                coalitions[o * (m - 1) + k - 1] = Sampling.prefix(orders[o], k);
            }
        }
        return new Orders(orders, coalitions);
    }

    @Override
    Estimate[] estimate(Orders plan, double[] values, double[] base, double[] prediction, int[] outputs) {
        Estimate[] out = new Estimate[outputs.length];
        for (int n = 0; n < outputs.length; n++) {
            out[n] = estimate(plan, values, base, prediction, outputs[n]);
        }
        return out;
    }

    private Estimate estimate(Orders plan, double[] values, double[] base, double[] prediction, int output) {
        int m = players;
        int outs = base.length;
        PlayerMoments moments = new PlayerMoments(m);
        double[] sample = new double[m];
        for (int q = 0; q < settings.permutationPairs(); q++) {
            java.util.Arrays.fill(sample, 0);
            for (int o = 2 * q; o <= 2 * q + 1; o++) {
                int[] order = plan.orders()[o];
                double before = base[output];
                for (int k = 1; k <= m; k++) {
                    double after = k == m ? prediction[output] : values[(o * (m - 1) + k - 1) * outs + output];
                    sample[order[k - 1]] += 0.5 * (after - before);
                    before = after;
                }
            }
            moments.add(sample);
        }
        double[] phi = moments.mean();
        double[] se = moments.standardError();
        return new Estimate(phi, se, PlayerMoments.converged(phi, se, settings.convergenceThreshold()));
    }
}
