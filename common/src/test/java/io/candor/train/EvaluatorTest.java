package io.candor.train;

import io.candor.testing.TestSpark;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.junit.jupiter.api.Test;
import scala.Tuple3;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Random;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The distributed metrics of {@link Evaluator#metrics}, merged from per-partition statistics, equal the array API
 * of {@link Metrics} on the same rows bit for bit, on 1, 3 and 7 partitions and with the rows in any order.
 */
class EvaluatorTest {
    private static final int[] PARTITIONS = {1, 3, 7};

    private static JavaRDD<Tuple3<Long, Double, double[]>> rdd(List<Tuple3<Long, Double, double[]>> rows, int parts) {
        return JavaSparkContext.fromSparkContext(TestSpark.session().sparkContext()).parallelize(rows, parts);
    }

    /** Rows of a k-class problem; two-class scores are rounded to {@code levels} values so many of them tie. */
    private static List<Tuple3<Long, Double, double[]>> classified(int n, int k, int levels, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        List<Tuple3<Long, Double, double[]>> rows = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            double[] p = new double[k];
            double sum = 0;
            for (int j = 0; j < k; j++) {
                p[j] = levels > 0 ? Math.floor(random.nextDouble() * levels) / levels + 1e-3 : random.nextDouble();
                sum += p[j];
            }
            for (int j = 0; j < k; j++) {
                p[j] /= sum;
            }
            if (k == 2 && levels > 0) {
                p[1] = Math.floor(p[1] * levels) / levels; // few distinct scores: heavy ties
                p[0] = 1 - p[1];
            }
            rows.add(new Tuple3<>((long) i, (double) random.nextInt(k), p));
        }
        return rows;
    }

    private static LinkedHashMap<String, Double> arrays(List<Tuple3<Long, Double, double[]>> rows, int k) {
        double[][] probs = rows.stream().map(Tuple3::_3).toArray(double[][]::new);
        int[] labels = rows.stream().mapToInt(t -> (int) (double) t._2()).toArray();
        return Metrics.classification(probs, labels, k);
    }

    private static void assertBitwiseEqual(LinkedHashMap<String, Double> expected, LinkedHashMap<String, Double> actual,
                                           String what) {
        assertEquals(List.copyOf(expected.keySet()), List.copyOf(actual.keySet()), what);
        expected.forEach((metric, value) -> assertEquals(Double.doubleToRawLongBits(value),
                Double.doubleToRawLongBits(actual.get(metric)), what + " " + metric + ": " + value + " vs "
                        + actual.get(metric)));
    }

    /** Twice the Mann–Whitney U by the rank-sum with average ranks (the formula Metrics used before). */
    private static long twiceURankSum(double[] scores, int[] labels01) {
        double[] sorted = scores.clone();
        Arrays.sort(sorted);
        long twiceRankSum = 0;
        long positives = 0;
        for (int i = 0; i < scores.length; i++) {
            if (labels01[i] == 1) {
                int lo = 0;
                while (lo < sorted.length && sorted[lo] < scores[i]) {
                    lo++;
                }
                int hi = lo;
                while (hi < sorted.length && sorted[hi] <= scores[i]) {
                    hi++;
                }
                twiceRankSum += (long) lo + hi + 1;
                positives++;
            }
        }
        return twiceRankSum - positives * (positives + 1);
    }

    @Test
    void twoClassMetricsWithManyTiedScoresAreBitwiseEqualOnEveryPartitioningAndToTheArrays() {
        List<Tuple3<Long, Double, double[]>> rows = classified(2000, 2, 7, 11);
        LinkedHashMap<String, Double> expected = arrays(rows, 2);
        double[] scores = rows.stream().mapToDouble(t -> t._3()[1]).toArray();
        int[] labels = rows.stream().mapToInt(t -> (int) (double) t._2()).toArray();
        long positives = Arrays.stream(labels).sum();
        double rankSum = twiceURankSum(scores, labels) / (2.0 * positives * (labels.length - positives));
        assertEquals(Double.doubleToRawLongBits(rankSum), Double.doubleToRawLongBits(expected.get("auc")),
                "array AUC vs rank-sum");
        List<Tuple3<Long, Double, double[]>> shuffled = new ArrayList<>(rows);
        Collections.shuffle(shuffled, new Random(3));
        for (int parts : PARTITIONS) {
            assertBitwiseEqual(expected, Evaluator.metrics(rdd(rows, parts), 2, true), parts + " partitions");
            assertBitwiseEqual(expected, Evaluator.metrics(rdd(shuffled, parts), 2, true), parts + " shuffled");
        }
    }

    @Test
    void twoClassAucWithDistinctScoresAndSignedZerosEqualsTheRankSum() {
        List<Tuple3<Long, Double, double[]>> rows = classified(500, 2, 0, 5);
        for (int i = 0; i < 40; i++) { // signed zeros are one score
            rows.set(i, new Tuple3<>((long) i, (double) (i % 2), new double[] {1, i % 4 < 2 ? -0.0 : 0.0}));
        }
        double[] scores = rows.stream().mapToDouble(t -> t._3()[1] + 0.0).toArray();
        int[] labels = rows.stream().mapToInt(t -> (int) (double) t._2()).toArray();
        long positives = Arrays.stream(labels).sum();
        double rankSum = twiceURankSum(scores, labels) / (2.0 * positives * (labels.length - positives));
        for (int parts : PARTITIONS) {
            double auc = Evaluator.metrics(rdd(rows, parts), 2, true).get("auc");
            assertEquals(Double.doubleToRawLongBits(rankSum), Double.doubleToRawLongBits(auc), parts + " partitions");
        }
    }

    @Test
    void multiClassMetricsAreBitwiseEqualOnEveryPartitioningAndToTheArrays() {
        List<Tuple3<Long, Double, double[]>> rows = classified(1500, 5, 0, 17);
        LinkedHashMap<String, Double> expected = arrays(rows, 5);
        assertEquals(List.of("accuracy", "log_loss", "macro_f1"), List.copyOf(expected.keySet()));
        for (int parts : PARTITIONS) {
            assertBitwiseEqual(expected, Evaluator.metrics(rdd(rows, parts), 5, true), parts + " partitions");
        }
    }

    @Test
    void regressionMetricsAreBitwiseEqualOnEveryPartitioningAndToTheArrays() {
        SplittableRandom random = new SplittableRandom(23);
        List<Tuple3<Long, Double, double[]>> rows = new ArrayList<>();
        for (int i = 0; i < 1500; i++) {
            double y = 1e6 + random.nextGaussian(); // a large mean, where a naive one-pass SS_tot cancels
            rows.add(new Tuple3<>((long) i, y, new double[] {y + 0.3 * random.nextGaussian()}));
        }
        double[] pred = rows.stream().mapToDouble(t -> t._3()[0]).toArray();
        double[] y = rows.stream().mapToDouble(Tuple3::_2).toArray();
        LinkedHashMap<String, Double> expected = Metrics.regression(pred, y);
        assertTrue(expected.get("r2") > 0.8 && expected.get("r2") < 1, "r2 " + expected.get("r2"));
        for (int parts : PARTITIONS) {
            assertBitwiseEqual(expected, Evaluator.metrics(rdd(rows, parts), 1, false), parts + " partitions");
        }
    }

    @Test
    void joinByRowIdPairsTheOutputsOfTheSameRow() {
        List<Tuple3<Long, Double, double[]>> a = new ArrayList<>();
        List<Tuple3<Long, Double, double[]>> b = new ArrayList<>();
        for (long i = 0; i < 100; i++) {
            a.add(new Tuple3<>(i, 0.0, new double[] {i}));
            if (i % 3 != 0) {
                b.add(new Tuple3<>(i, 0.0, new double[] {-i}));
            }
        }
        Collections.reverse(b);
        List<scala.Tuple2<double[], double[]>> pairs = Evaluator.joinByRowId(rdd(a, 3), rdd(b, 7)).collect();
        assertEquals(66, pairs.size());
        pairs.forEach(p -> assertEquals(p._1()[0], -p._2()[0], 0.0));
    }
}
