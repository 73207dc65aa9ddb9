package io.candor.explain.shapley;

import io.candor.explain.ShapleySpec;
import io.candor.testing.TestSpark;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

class BackgroundSummaryTest {
    private static final StructType SCHEMA = new StructType().add("row_id", DataTypes.LongType)
            .add("features", SQLDataTypes.VectorType());

    private static Dataset<Row> frame(double[][] points) {
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < points.length; i++) {
            rows.add(RowFactory.create(1000L + 7L * i, Vectors.dense(points[i])));
        }
        return TestSpark.session().createDataFrame(rows, SCHEMA);
    }

    private static BackgroundSummary.Summary kmeans(Dataset<Row> rows, int k, long seed) {
        return BackgroundSummary.of(rows, ShapleySpec.BackgroundMethod.KMEANS, k, seed, "test");
    }

    @Test
    void centresAndWeightsAreBitIdenticalOnOneTwoAndFivePartitions() {
        SplittableRandom rng = new SplittableRandom(3);
        double[][] points = new double[600][3];
        for (double[] p : points) {
            int blob = rng.nextInt(5);
            for (int j = 0; j < 3; j++) {
                p[j] = blob * 2.0 + (j == blob % 3 ? 1.0 : 0.0) + rng.nextGaussian() * 0.7;
            }
        }
        Dataset<Row> rows = frame(points);
        BackgroundSummary.Summary one = kmeans(rows.repartition(1), 6, 42);
        assertEquals(600.0, Arrays.stream(one.weights()).sum(), "every row in one cluster");
        for (int partitions : new int[] {2, 5}) {
            BackgroundSummary.Summary other = kmeans(rows.repartition(partitions), 6, 42);
            assertArrayEquals(one.weights(), other.weights(), 0.0, partitions + " partitions");
            assertEquals(one.rows().length, other.rows().length);
            for (int c = 0; c < one.rows().length; c++) {
                assertArrayEquals(one.rows()[c], other.rows()[c], 0.0, partitions + " partitions, centre " + c);
            }
        }
    }

    @Test
    void aTinyCaseReachesTheBruteForceOptimum() {
        double[][] points = {{0}, {1}, {2}, {10}, {11}, {20}, {0.5}};
        int k = 3;
        // Every assignment of the 7 points to 3 clusters: the one of least within-cluster squared error.
        double best = Double.POSITIVE_INFINITY;
        double[][] bestCentres = null;
        long[] bestSizes = null;
        for (int code = 0; code < Math.pow(k, points.length); code++) {
            double[] sum = new double[k];
            long[] size = new long[k];
            int[] cluster = new int[points.length];
            for (int i = 0, c = code; i < points.length; i++, c /= k) {
                cluster[i] = c % k;
                sum[c % k] += points[i][0];
                size[c % k]++;
            }
            if (Arrays.stream(size).anyMatch(s -> s == 0)) {
                continue;
            }
            double error = 0;
            for (int i = 0; i < points.length; i++) {
                double d = points[i][0] - sum[cluster[i]] / size[cluster[i]];
                error += d * d;
            }
            if (error < best) {
                best = error;
                bestCentres = new double[k][];
                for (int c = 0; c < k; c++) {
                    bestCentres[c] = new double[] {sum[c] / size[c]};
                }
                bestSizes = size;
            }
        }
        BackgroundSummary.Summary summary = kmeans(frame(points).repartition(2), k, 7);
        assertEquals(k, summary.rows().length);
        List<double[]> expected = new ArrayList<>();
        List<double[]> actual = new ArrayList<>();
        for (int c = 0; c < k; c++) {
            expected.add(new double[] {bestCentres[c][0], bestSizes[c]});
            actual.add(new double[] {summary.rows()[c][0], summary.weights()[c]});
        }
        expected.sort(Comparator.comparingDouble(a -> a[0]));
        actual.sort(Comparator.comparingDouble(a -> a[0]));
        for (int c = 0; c < k; c++) {
            assertArrayEquals(expected.get(c), actual.get(c), 1e-15, "centre and size " + c);
        }
    }

    @Test
    void aClusterLeftEmptyIsDropped() {
        // Four identical rows: k-means++ can only repeat the one point, and the repeats' clusters stay empty.
        double[][] points = {{1, 2}, {1, 2}, {1, 2}, {1, 2}};
        BackgroundSummary.Summary summary = kmeans(frame(points), 3, 1);
        assertEquals(1, summary.rows().length);
        assertArrayEquals(new double[] {1, 2}, summary.rows()[0], 0.0);
        assertArrayEquals(new double[] {4}, summary.weights(), 0.0);
    }
}
