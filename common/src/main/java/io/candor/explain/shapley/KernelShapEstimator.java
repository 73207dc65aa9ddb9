package io.candor.explain.shapley;

import io.candor.explain.BatchModel;
import io.candor.util.Seeds;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * KernelSHAP (Lundberg &amp; Lee 2017, "A Unified Approach to Interpreting Model Predictions"): Shapley values as the
 * solution of a weighted linear regression over coalitions, with the Shapley kernel
 * {@code π(S) ∝ (M−1) / (C(M,|S|) |S| (M−|S|))} and the efficiency constraint {@code Σφ = f(x) − E_bg[f]} enforced
 * exactly (a KKT solve, see {@link ConstrainedLeastSquares}). Coalition values use marginal imputation from the
 * {@link Background}.
 *
 * <p><b>Exact mode.</b> When {@code 2^M − 2 ≤ maxCoalitions} every proper non-empty coalition is evaluated with its
 * kernel weight; the constrained regression then returns the exact Shapley values (Lundberg &amp; Lee, Theorem 2),
 * with standard errors 0.
 *
 * <p><b>Sampling mode.</b> Otherwise, as in the {@code shap} package's KernelExplainer, coalition sizes are taken
 * as layers {@code {s, M−s}}: sizes 1 and M−1 are always enumerated in full (this keeps the regression well posed
 * for any budget of at least 2M+2 — a purely sampled design at small budgets often leaves two players never
 * separated), a further layer is enumerated when the budget left would on average draw each of its coalitions at
 * least once, and the remaining kernel mass is sampled in antithetic pairs: a size drawn from the kernel's size
 * distribution {@code p(s) ∝ 1/(s(M−s))} over the remaining sizes, a uniform subset of that size, and its complement
 * (paired sampling, Covert &amp; Lee 2021). Each sampled coalition carries weight (remaining mass) / (sampled
 * coalitions). Draws come from {@code Seeds.stream(seed, rowId)}.
 *
 * <p><b>Standard errors.</b> Following Covert &amp; Lee 2021 ("Improving KernelSHAP"), the estimate is linearised in
 * the sampled terms: {@code φ̂ − φ = C (b̂ − Âφ)} exactly when {@code 1ᵀφ = Δ}, where {@code C} is the top-left
 * block of the KKT inverse. The fluctuation comes from the sampled pairs only; each pair contributes
 * {@code u = (z r + z̄ r̄) / 2} with residuals {@code r = v(S) − v(∅) − zᵀφ̂}, so
 * {@code Cov(φ̂) ≈ mass² · C Cov(u) Cᵀ / pairs} — the sandwich form, which also accounts for {@code Â} being
 * estimated from the same samples. A model that is additive over the players has zero residuals, hence exact values
 * and zero errors. With one sampled pair the error cannot be estimated and is NaN.
 *
 * <p>A row is {@code converged} when exact, or when its largest standard error is at most
 * {@code convergenceThreshold} times the range of its φ (the rule of Covert &amp; Lee's {@code shapreg}).
 */
public final class KernelShapEstimator extends RowEstimator<KernelShapEstimator.Design> {
    /** Layers must leave at least this many sampled coalitions (two pairs), so standard errors are defined. */
    private static final int MIN_SAMPLED = 4;

    /**
     * @param maxCoalitions coalitions evaluated per row (besides the empty and grand ones); exact when
     *     {@code 2^M − 2 ≤ maxCoalitions}, else at least {@code 2M + 2}
     * @param maxValuesPerBatch memory budget of one model call, see {@link CoalitionEvaluator}
     * @param seed run seed
     * @param convergenceThreshold largest standard error allowed, as a fraction of the range of a row's φ
     */
    public record Settings(int maxCoalitions, long maxValuesPerBatch, long seed, double convergenceThreshold) {
        public Settings {
            if (maxCoalitions < 1) {
                throw new IllegalArgumentException("maxCoalitions: " + maxCoalitions + " is below 1");
            }
            if (!(convergenceThreshold >= 0) || Double.isInfinite(convergenceThreshold)) {
                throw new IllegalArgumentException("convergenceThreshold: " + convergenceThreshold
                        + "; expected a finite value >= 0");
            }
        }

        /** The default memory budget and a convergence threshold of 1% of the range of φ. */
        public static Settings of(int maxCoalitions, long seed) {
            return new Settings(maxCoalitions, CoalitionEvaluator.DEFAULT_MAX_VALUES_PER_BATCH, seed, 0.01);
        }
    }

    /**
     * One row's coalitions and regression weights; coalitions from {@code sampledFrom} on are sampled pairs
     * (S, complement) that share {@code sampledMass} of the kernel.
     */
    record Design(boolean[][] coalitions, double[] weights, int sampledFrom, double sampledMass)
            implements RowEstimator.Plan {
    }

    private final Settings settings;
    private final boolean exact;
    /** Enumerated part of every row's design (all of it in exact mode), and its regression matrix. */
    private final List<boolean[]> fixed = new ArrayList<>();
    private final List<Double> fixedWeights = new ArrayList<>();
    private final double[][] fixedGram;
    /** KKT inverse and design shared by all rows in exact mode. */
    private final double[][] exactKkt;
    private final Design exactDesign;
    /** Sampled sizes {@code minSampledSize..M−minSampledSize}, their cumulative probabilities, mass and pairs. */
    private final int minSampledSize;
    private final double[] sizeCdf;
    private final double sampledMass;
    private final int sampledPairs;

    /**
     * @throws IllegalArgumentException if players, background and model do not match, or the budget is too small
     *     to sample ({@code maxCoalitions < 2M + 2} while {@code 2^M − 2 > maxCoalitions})
     */
    public KernelShapEstimator(BatchModel model, Players players, Background background, Settings settings) {
        super(model, players, background, settings.maxValuesPerBatch());
        this.settings = settings;
        int m = this.players;
        long k = settings.maxCoalitions();
        this.exact = m < 31 && (1L << m) - 2 <= k;
        double[] p = sizeDistribution(m);
        if (exact) {
            for (int mask = 1; mask < (1 << m) - 1; mask++) {
                boolean[] c = new boolean[m];
                for (int i = 0; i < m; i++) {
                    c[i] = (mask >>> i & 1) != 0;
                }
                int s = Integer.bitCount(mask);
                fixed.add(c);
                fixedWeights.add(p[s] / binomial(m, s));
            }
            minSampledSize = 0;
            sizeCdf = new double[0];
            sampledMass = 0;
            sampledPairs = 0;
        } else {
            if (k < 2L * m + 2) {
                throw new IllegalArgumentException("maxCoalitions: " + k + " is below 2M+2 = " + (2L * m + 2)
                        + ", the least that sampling needs for M = " + m + " players (exact enumeration needs 2^M-2 = "
                        + (m < 63 ? String.valueOf((1L << m) - 2) : "2^" + m + "-2") + ")");
            }
            long left = k;
            double massLeft = 1;
            int s = 1;
            for (; 2 * s <= m; s++) {
                double count = s == m - s ? binomial(m, s) : 2 * binomial(m, s);
                double mass = s == m - s ? p[s] : 2 * p[s];
                boolean fits = s == 1 || (left * mass / massLeft >= count && left - count >= MIN_SAMPLED);
                if (!fits) {
                    break;
                }
                enumerateLayer(m, s, p);
                left -= (long) count;
                massLeft = 0;
                for (int r = s + 1; r < m - s; r++) {
                    massLeft += p[r];
                }
            }
            minSampledSize = s;
            sizeCdf = new double[m - 2 * s + 1];
            double acc = 0;
            for (int r = s; r <= m - s; r++) {
                acc += p[r];
                sizeCdf[r - s] = acc;
            }
            for (int i = 0; i < sizeCdf.length; i++) {
                sizeCdf[i] /= acc;
            }
            sampledMass = massLeft;
            sampledPairs = (int) (left / 2);
        }
        fixedGram = gram(fixed, fixedWeights, m);
        exactKkt = exact ? ConstrainedLeastSquares.kktInverse(fixedGram) : null;
        exactDesign = exact ? plan(0) : null;
    }

    /** Whether every coalition is enumerated, so results are the exact Shapley values. */
    public boolean exact() {
        return exact;
    }

    /** Coalitions evaluated per row. */
    public int coalitionsPerRow() {
        return fixed.size() + 2 * sampledPairs;
    }

    /** Shapley kernel's distribution of coalition sizes: {@code p(s) ∝ (M−1) / (s (M−s))}, s = 1..M−1. */
    private static double[] sizeDistribution(int m) {
        double[] p = new double[m + 1];
        double sum = 0;
        for (int s = 1; s < m; s++) {
            p[s] = (m - 1.0) / (s * (double) (m - s));
            sum += p[s];
        }
        for (int s = 1; s < m; s++) {
            p[s] /= sum;
        }
        return p;
    }

    private static double binomial(int n, int k) {
        double c = 1;
        for (int i = 1; i <= k; i++) {
            c = c * (n - k + i) / i;
        }
        return Math.rint(c);
    }

    /** Adds every coalition of size s (and, if different, of size M−s) with weight p(size) / C(M, size). */
    private void enumerateLayer(int m, int s, double[] p) {
        int[] idx = new int[s];
        for (int i = 0; i < s; i++) {
            idx[i] = i;
        }
        double w = p[s] / binomial(m, s);
        while (true) {
            boolean[] c = new boolean[m];
            for (int i : idx) {
                c[i] = true;
            }
            fixed.add(c);
            fixedWeights.add(w);
            if (s != m - s) {
                fixed.add(Sampling.complement(c));
                fixedWeights.add(w);
            }
            int i = s - 1;
            while (i >= 0 && idx[i] == m - s + i) {
                i--;
            }
            if (i < 0) {
                return;
            }
            idx[i]++;
            for (int j = i + 1; j < s; j++) {
                idx[j] = idx[j - 1] + 1;
            }
        }
    }

    private static double[][] gram(List<boolean[]> coalitions, List<Double> weights, int m) {
        double[][] a = new double[m][m];
        for (int k = 0; k < coalitions.size(); k++) {
            addOuter(a, coalitions.get(k), weights.get(k));
        }
        return a;
    }

    private static void addOuter(double[][] a, boolean[] z, double w) {
        for (int i = 0; i < z.length; i++) {
            if (z[i]) {
                for (int j = 0; j < z.length; j++) {
                    if (z[j]) {
                        a[i][j] += w;
                    }
                }
            }
        }
    }

    @Override
    Design plan(long rowId) {
        if (exactDesign != null) {
            return exactDesign;
        }
        int nFixed = fixed.size();
        boolean[][] coalitions = new boolean[nFixed + 2 * sampledPairs][];
        double[] weights = new double[coalitions.length];
        for (int k = 0; k < nFixed; k++) {
            coalitions[k] = fixed.get(k);
            weights[k] = fixedWeights.get(k);
        }
        SplittableRandom rng = Seeds.stream(settings.seed(), rowId);
        double w = sampledPairs == 0 ? 0 : sampledMass / (2.0 * sampledPairs);
        for (int q = 0; q < sampledPairs; q++) {
            double u = rng.nextDouble();
            int size = minSampledSize;
            while (size - minSampledSize < sizeCdf.length - 1 && u >= sizeCdf[size - minSampledSize]) {
                size++;
            }
            boolean[] s = Sampling.subset(rng, players, size);
            coalitions[nFixed + 2 * q] = s;
            coalitions[nFixed + 2 * q + 1] = Sampling.complement(s);
            weights[nFixed + 2 * q] = w;
            weights[nFixed + 2 * q + 1] = w;
        }
        return new Design(coalitions, weights, nFixed, sampledMass);
    }

    @Override
    Estimate estimate(Design d, double[] values, double[] base, double[] prediction, int output) {
        int m = players;
        int outs = base.length;
        boolean[][] z = d.coalitions();
        double[][] kkt = exactKkt;
        if (kkt == null) {
            double[][] a = new double[m][];
            for (int i = 0; i < m; i++) {
                a[i] = fixedGram[i].clone();
            }
            for (int k = d.sampledFrom(); k < z.length; k++) {
                addOuter(a, z[k], d.weights()[k]);
            }
            kkt = ConstrainedLeastSquares.kktInverse(a);
        }
        double[] y = new double[z.length];
        double[] b = new double[m];
        for (int k = 0; k < z.length; k++) {
            y[k] = values[k * outs + output] - base[output];
            for (int i = 0; i < m; i++) {
                if (z[k][i]) {
                    b[i] += d.weights()[k] * y[k];
                }
            }
        }
        double delta = prediction[output] - base[output];
        double[] phi = new double[m];
        for (int i = 0; i < m; i++) {
            double s = kkt[i][m] * delta;
            for (int j = 0; j < m; j++) {
                s += kkt[i][j] * b[j];
            }
            phi[i] = s;
        }
        int pairs = (z.length - d.sampledFrom()) / 2;
        double[] se = pairs == 0 ? new double[m] : standardErrors(d, y, phi, kkt, pairs);
        boolean converged = pairs == 0 || PlayerMoments.converged(phi, se, settings.convergenceThreshold());
        return new Estimate(phi, se, converged);
    }

    /** Sandwich standard errors from the sampled pairs' residual terms (see the class doc). */
    private double[] standardErrors(Design d, double[] y, double[] phi, double[][] kkt, int pairs) {
        int m = players;
        double[] se = new double[m];
        if (pairs < 2) {
            java.util.Arrays.fill(se, Double.NaN);
            return se;
        }
        boolean[][] z = d.coalitions();
        double[][] u = new double[pairs][m];
        double[] mean = new double[m];
        for (int q = 0; q < pairs; q++) {
            int k = d.sampledFrom() + 2 * q;
            double r1 = y[k] - dot(z[k], phi);
            double r2 = y[k + 1] - dot(z[k + 1], phi);
            for (int i = 0; i < m; i++) {
                u[q][i] = 0.5 * ((z[k][i] ? r1 : 0) + (z[k + 1][i] ? r2 : 0));
                mean[i] += u[q][i] / pairs;
            }
        }
        // diag(C Σ_u Cᵀ) = Σ_q (C (u_q − ū))² / (pairs − 1)
        double[] sum = new double[m];
        double[] centred = new double[m];
        for (int q = 0; q < pairs; q++) {
            for (int i = 0; i < m; i++) {
                centred[i] = u[q][i] - mean[i];
            }
            for (int i = 0; i < m; i++) {
                double s = 0;
                for (int j = 0; j < m; j++) {
                    s += kkt[i][j] * centred[j];
                }
                sum[i] += s * s;
            }
        }
        double mass = d.sampledMass();
        for (int i = 0; i < m; i++) {
            se[i] = mass * Math.sqrt(sum[i] / (pairs - 1) / pairs);
        }
        return se;
    }

    private static double dot(boolean[] z, double[] phi) {
        double s = 0;
        for (int i = 0; i < z.length; i++) {
            if (z[i]) {
                s += phi[i];
            }
        }
        return s;
    }
}
