package io.candor.explain.shapley;

import io.candor.explain.BatchModel;
import io.candor.util.Seeds;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Function;

/** Synthetic models, data and a brute-force Shapley reference for the estimator tests. */
final class ShapleyFixtures {
    private ShapleyFixtures() {
    }

    /** A model given row by row, that counts its calls and rows so tests can check batching. */
    static final class RowModel implements BatchModel {
        private final int inputs;
        private final int outputs;
        private final Function<double[], double[]> f;
        long calls;
        long rows;

        RowModel(int inputs, int outputs, Function<double[], double[]> f) {
            this.inputs = inputs;
            this.outputs = outputs;
            this.f = f;
        }

        @Override
        public int inputs() {
            return inputs;
        }

        @Override
        public int outputs() {
            return outputs;
        }

        @Override
        public double[] predict(double[] x, int n) {
            if (x.length != n * inputs) {
                throw new AssertionError("x has " + x.length + " values for " + n + " rows of " + inputs);
            }
            calls++;
            rows += n;
            double[] y = new double[n * outputs];
            double[] row = new double[inputs];
            for (int r = 0; r < n; r++) {
                System.arraycopy(x, r * inputs, row, 0, inputs);
                System.arraycopy(f.apply(row), 0, y, r * outputs, outputs);
            }
            return y;
        }
    }

    static RowModel linear(double[] w, double bias) {
        return new RowModel(w.length, 1, x -> {
            double s = bias;
            for (int j = 0; j < w.length; j++) {
                s += w[j] * x[j];
            }
            return new double[] {s};
        });
    }

    /**
     * A regression model over {@code n} inputs with main effects, pairwise products and a three-way term, so no
     * estimator is exact by accident; input {@code ignored} (or none, if negative) has no effect.
     */
    static RowModel interactions(int n, int ignored) {
        return new RowModel(n, 1, x -> {
            double s = 0.3;
            for (int j = 0; j < n; j++) {
                if (j == ignored) {
                    continue;
                }
                int k = (j + 1) % n == ignored ? (j + 2) % n : (j + 1) % n;
                s += (0.5 + 0.1 * j) * x[j] + 0.4 * x[j] * x[k] + 0.2 * Math.sin(2 * x[j]);
            }
            if (n >= 3 && ignored < 0) {
                s += 0.7 * x[0] * x[1] * x[2];
            }
            return new double[] {s};
        });
    }

    /**
     * A regression model whose every input takes part in interactions of order three and higher (cyclic triple
     * products and a saturating function of all inputs), so no input's Shapley value is recovered exactly by
     * antithetic pairs, which are exact for games with at most pairwise interactions.
     */
    static RowModel manyWay(int n) {
        return new RowModel(n, 1, x -> {
            double s = 0.1;
            double z = 0;
            for (int j = 0; j < n; j++) {
                s += (0.5 + 0.1 * j) * x[j] + 0.3 * x[j] * x[(j + 1) % n] * x[(j + 2) % n];
                z += (j % 3 == 0 ? 0.9 : -0.5) * x[j];
            }
            return new double[] {s + 2 * Math.tanh(z)};
        });
    }

    /** Two-class probabilities from a logit with interactions: a classifier-like model with 2 outputs. */
    static RowModel classifier(int n) {
        return new RowModel(n, 2, x -> {
            double z = -0.2;
            for (int j = 0; j < n; j++) {
                z += (j % 2 == 0 ? 0.8 : -0.6) * x[j] + 0.5 * x[j] * x[(j + 1) % n];
            }
            double p = 1 / (1 + Math.exp(-z));
            return new double[] {1 - p, p};
        });
    }

    /** Standard normal rows, seeded. */
    static double[][] gaussianRows(long seed, int rows, int cols) {
        SplittableRandom rng = Seeds.stream(seed, 7);
        double[][] x = new double[rows][cols];
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < cols; j++) {
                x[i][j] = gaussian(rng);
            }
        }
        return x;
    }

    static double gaussian(SplittableRandom rng) {
        double u = 1 - rng.nextDouble();
        return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.nextDouble());
    }

    static long[] ids(int n, long first) {
        long[] ids = new long[n];
        for (int i = 0; i < n; i++) {
            ids[i] = first + i;
        }
        return ids;
    }

    static List<int[]> groups(int[]... groups) {
        return new ArrayList<>(List.of(groups));
    }

    /**
     * Shapley values from the definition, {@code φ_i = Σ_{S ⊆ N∖i} |S|!(M−|S|−1)!/M! (v(S∪i) − v(S))}, with
     * {@code v(S) = Σ_b w_b f(x_S, bg_b)} computed one model row at a time: shares no code with the estimators.
     *
     * @return {@code [output][player]}
     */
    static double[][] bruteForce(BatchModel model, List<int[]> groups, double[][] bg, double[] w, double[] x) {
        int m = groups.size();
        int outs = model.outputs();
        double wSum = 0;
        for (double v : w) {
            wSum += v;
        }
        double[][] v = new double[1 << m][outs];
        for (int mask = 0; mask < 1 << m; mask++) {
            for (int b = 0; b < bg.length; b++) {
                double[] row = bg[b].clone();
                for (int p = 0; p < m; p++) {
                    if ((mask >> p & 1) == 1) {
                        for (int col : groups.get(p)) {
                            row[col] = x[col];
                        }
                    }
                }
                double[] y = model.predict(row, 1);
                for (int o = 0; o < outs; o++) {
                    v[mask][o] += w[b] / wSum * y[o];
                }
            }
        }
        double[] fact = new double[m + 1];
        fact[0] = 1;
        for (int i = 1; i <= m; i++) {
            fact[i] = fact[i - 1] * i;
        }
        double[][] phi = new double[outs][m];
        for (int i = 0; i < m; i++) {
            for (int mask = 0; mask < 1 << m; mask++) {
                if ((mask >> i & 1) == 1) {
                    continue;
                }
                int s = Integer.bitCount(mask);
                double weight = fact[s] * fact[m - s - 1] / fact[m];
                for (int o = 0; o < outs; o++) {
                    phi[o][i] += weight * (v[mask | 1 << i][o] - v[mask][o]);
                }
            }
        }
        return phi;
    }

    static double[] uniformWeights(int n) {
        double[] w = new double[n];
        java.util.Arrays.fill(w, 1.0);
        return w;
    }

    static double sum(double[] v) {
        double s = 0;
        for (double x : v) {
            s += x;
        }
        return s;
    }
}
