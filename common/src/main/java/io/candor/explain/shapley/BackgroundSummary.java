package io.candor.explain.shapley;

import io.candor.data.Featurizer;
import io.candor.data.TabularReader;
import io.candor.explain.ShapleySpec;
import io.candor.util.InputException;
import io.candor.util.Seeds;
import io.candor.util.ExactSum;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.api.java.UDF1;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.storage.StorageLevel;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.udf;

/**
 * The reference distribution of Shapley values, summarised with Spark: k-means on the model inputs of the training
 * split, each centre weighted by its cluster's size (as shap's {@code kmeans} background), or a seeded sample of rows
 * with equal weights. Both are bit-identical for any partitioning, run or cluster.
 *
 * <p>Why not MLlib's KMeans: its per-iteration centre sums are double sums combined per partition and then merged by
 * {@code reduceByKey}/{@code collectAsMap} in shuffle-arrival order, so the centres' last bits depend on the
 * partitioning and on task timing; its k-means|| initialisation also samples per partition (seeded by partition
 * index), so even the starting centres change with the partitioning. No refinement afterwards makes that
 * partition-invariant except running exact Lloyd passes from a partition-invariant start, which is what this does:
 * {@link #kmeans}.
 */
public final class BackgroundSummary {
    private static final long SAMPLE_STREAM = 0xBAC6L;
    private static final long INIT_STREAM = 0xC3A7L;
    /** Rows per centre in the k-means++ sample: enough to seed well, bounded by k. */
    static final int INIT_SAMPLE_PER_CENTRE = 32;
    static final int MAX_ITERATIONS = 50;
    /** A centre that moves less than this (Euclidean) has converged, as MLlib's default tol. */
    static final double TOLERANCE = 1e-4;

    private BackgroundSummary() {
    }

    /** Rows and weights of the background; {@code rows} has {@code features}. */
    public record Summary(double[][] rows, double[] weights) {
    }

    public static Summary of(Dataset<Row> rows, ShapleySpec.BackgroundMethod method, int size, long seed,
                             String source) {
        long available = rows.count();
        if (size > available) {
            throw new InputException("conf key shapley.background.size: " + size + " is larger than the " + available
                    + " rows of " + source + " (expected at most the number of rows)");
        }
        if (method == ShapleySpec.BackgroundMethod.SAMPLE) {
            var order = udf((UDF1<Long, Double>) id -> Seeds.uniform(seed, SAMPLE_STREAM, id), DataTypes.DoubleType);
            List<Row> sample = rows.orderBy(order.apply(col(TabularReader.ROW_ID))).limit(size)
                    .select(Featurizer.FEATURES).collectAsList();
            double[][] values = new double[sample.size()][];
            double[] weights = new double[sample.size()];
            for (int i = 0; i < values.length; i++) {
                values[i] = ((Vector) sample.get(i).get(0)).toArray();
                weights[i] = 1.0;
            }
            return new Summary(values, weights);
        }
        return kmeans(rows, size, seed);
    }

    /**
     * k-means (Lloyd) over all partitions: k-means++ on a seeded sample of at most {@link #INIT_SAMPLE_PER_CENTRE}
     * × k rows (chosen by a hash of the row id, so the same rows whatever the partitioning), then up to
     * {@link #MAX_ITERATIONS} passes whose per-cluster sums are {@link ExactSum}s, merged in any order with the same
     * result; ties go to the lower centre index. An empty cluster keeps its centre and, having no rows, is dropped.
     */
    static Summary kmeans(Dataset<Row> rows, int k, long seed) {
        var order = udf((UDF1<Long, Double>) id -> Seeds.uniform(seed, INIT_STREAM, id), DataTypes.DoubleType);
        List<Row> sample = rows.orderBy(order.apply(col(TabularReader.ROW_ID)), col(TabularReader.ROW_ID))
                .limit((int) Math.min(Integer.MAX_VALUE, (long) INIT_SAMPLE_PER_CENTRE * k))
                .select(Featurizer.FEATURES).collectAsList();
        double[][] points = new double[sample.size()][];
        for (int i = 0; i < points.length; i++) {
            points[i] = ((Vector) sample.get(i).get(0)).toArray();
        }
        double[][] centres = kMeansPlusPlus(points, k, Seeds.stream(seed, INIT_STREAM));
        // Up to MAX_ITERATIONS + 1 passes: keep the points rather than recompute the featurisation each time.
        JavaRDD<double[]> x = rows.select(Featurizer.FEATURES).javaRDD().map(r -> ((Vector) r.get(0)).toArray())
                .persist(StorageLevel.MEMORY_AND_DISK());
        ClusterSums sums;
        try {
            for (int iteration = 0; iteration < MAX_ITERATIONS; iteration++) {
                double[][] next = ClusterSums.of(x, centres).centres(centres);
                boolean moved = false;
                for (int c = 0; c < k; c++) {
                    moved |= squaredDistance(centres[c], next[c]) > TOLERANCE * TOLERANCE;
                }
                centres = next;
                if (!moved) {
                    break;
                }
            }
            sums = ClusterSums.of(x, centres); // the sizes of the final centres' clusters
        } finally {
            x.unpersist(false);
        }
        List<double[]> kept = new ArrayList<>();
        List<Double> weights = new ArrayList<>();
        for (int c = 0; c < k; c++) {
            if (sums.counts[c] > 0) { // an empty cluster carries no probability mass
                kept.add(centres[c]);
                weights.add((double) sums.counts[c]);
            }
        }
        return new Summary(kept.toArray(new double[0][]), weights.stream().mapToDouble(Double::doubleValue).toArray());
    }

    /** k-means++ (Arthur, Vassilvitskii 2007) on the sample, in sample order; repeats a centre if the sample is short. */
    static double[][] kMeansPlusPlus(double[][] points, int k, SplittableRandom rng) {
        double[][] centres = new double[k][];
        double[] nearest = new double[points.length];
        java.util.Arrays.fill(nearest, Double.POSITIVE_INFINITY);
        centres[0] = points[rng.nextInt(points.length)].clone();
        for (int c = 1; c < k; c++) {
            double total = 0;
            for (int i = 0; i < points.length; i++) {
                nearest[i] = Math.min(nearest[i], squaredDistance(points[i], centres[c - 1]));
                total += nearest[i];
            }
            int chosen = 0;
            if (total > 0) {
                double u = rng.nextDouble() * total;
                for (double cumulative = nearest[0]; cumulative <= u && chosen < points.length - 1; ) {
                    cumulative += nearest[++chosen];
                }
            }
            centres[c] = points[chosen].clone();
        }
        return centres;
    }

    static int closest(double[] point, double[][] centres) {
        int best = 0;
        double bestDistance = Double.POSITIVE_INFINITY;
        for (int c = 0; c < centres.length; c++) {
            double d = squaredDistance(point, centres[c]);
            if (d < bestDistance) {
                best = c;
                bestDistance = d;
            }
        }
        return best;
    }

    private static double squaredDistance(double[] a, double[] b) {
        double d = 0;
        for (int j = 0; j < a.length; j++) {
            d += (a[j] - b[j]) * (a[j] - b[j]);
        }
        return d;
    }

    /** Per cluster, the row count and the exact per-column sums of its rows: a mergeable, order-free summary. */
    private record ClusterSums(long[] counts, ExactSum[][] sums) implements java.io.Serializable {
        static ClusterSums empty(int k, int d) {
            ExactSum[][] sums = new ExactSum[k][d];
            for (ExactSum[] row : sums) {
                for (int j = 0; j < d; j++) {
                    row[j] = new ExactSum();
                }
            }
            return new ClusterSums(new long[k], sums);
        }

        static ClusterSums of(JavaRDD<double[]> x, double[][] centres) {
            int k = centres.length;
            int d = centres[0].length;
            return x.aggregate(empty(k, d), (acc, point) -> {
                int c = closest(point, centres);
                acc.counts[c]++;
                for (int j = 0; j < d; j++) {
                    acc.sums[c][j].add(point[j]);
                }
                return acc;
            }, ClusterSums::merge);
        }

        ClusterSums merge(ClusterSums other) {
            for (int c = 0; c < counts.length; c++) {
                counts[c] += other.counts[c];
                for (int j = 0; j < sums[c].length; j++) {
                    sums[c][j].merge(other.sums[c][j]);
                }
            }
            return this;
        }

        /** The clusters' means; an empty cluster keeps its previous centre. */
        double[][] centres(double[][] previous) {
            double[][] next = new double[counts.length][];
            for (int c = 0; c < counts.length; c++) {
                if (counts[c] == 0) {
                    next[c] = previous[c];
                    continue;
                }
                next[c] = new double[sums[c].length];
                for (int j = 0; j < next[c].length; j++) {
                    next[c][j] = sums[c][j].doubleValue() / counts[c];
                }
            }
            return next;
        }
    }
}
