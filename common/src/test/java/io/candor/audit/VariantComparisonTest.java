package io.candor.audit;

import io.candor.testing.TestSpark;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.junit.jupiter.api.Test;
import scala.Tuple3;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** {@link VariantComparison#agreement}, by a join on row id, equals a brute-force loop over rows matched by id. */
class VariantComparisonTest {
    private static JavaRDD<Tuple3<Long, Double, double[]>> rdd(List<Tuple3<Long, Double, double[]>> rows, int parts) {
        return JavaSparkContext.fromSparkContext(TestSpark.session().sparkContext()).parallelize(rows, parts);
    }

    private static int argmax(double[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) {
            best = v[i] > v[best] ? i : best;
        }
        return best;
    }

    /** The share of a's rows found in b whose predictions agree, as the driver-side loop computed it. */
    private static double bruteForce(List<Tuple3<Long, Double, double[]>> a, List<Tuple3<Long, Double, double[]>> b,
                                     boolean classification) {
        Map<Long, double[]> index = new HashMap<>();
        b.forEach(t -> index.put(t._1(), t._3()));
        double mean = a.stream().mapToDouble(Tuple3::_2).average().orElseThrow();
        double std = Math.sqrt(a.stream().mapToDouble(t -> (t._2() - mean) * (t._2() - mean)).average().orElseThrow());
        double tolerance = VariantComparison.REGRESSION_AGREEMENT_TOLERANCE * std;
        long same = 0;
        long matched = 0;
        for (Tuple3<Long, Double, double[]> t : a) {
            double[] y = index.get(t._1());
            if (y == null) {
                continue;
            }
            matched++;
            same += (classification ? argmax(t._3()) == argmax(y) : Math.abs(t._3()[0] - y[0]) <= tolerance) ? 1 : 0;
        }
        return same / (double) matched;
    }

    private static List<List<Tuple3<Long, Double, double[]>>> variants(int width, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        List<Tuple3<Long, Double, double[]>> a = new ArrayList<>();
        List<Tuple3<Long, Double, double[]>> b = new ArrayList<>();
        for (long i = 0; i < 500; i++) {
            double label = 10 + 3 * random.nextGaussian();
            double[] x = new double[width];
            double[] y = new double[width];
            for (int j = 0; j < width; j++) {
                x[j] = width == 1 ? label + random.nextGaussian() * 0.2 : random.nextDouble();
                y[j] = x[j] + (width == 1 ? 0.2 : 0.1) * random.nextGaussian();
            }
            a.add(new Tuple3<>(i, label, x));
            if (i % 10 != 3) { // b lacks some rows: only matched rows count
                b.add(new Tuple3<>(i, label, y));
            }
        }
        return List.of(a, b);
    }

    @Test
    void classificationAgreementEqualsTheBruteForceLoopOnAnyPartitioning() {
        List<List<Tuple3<Long, Double, double[]>>> v = variants(4, 3);
        double expected = bruteForce(v.get(0), v.get(1), true);
        for (int parts : new int[] {1, 3, 7}) {
            double[] actual = VariantComparison.agreement(rdd(v.get(0), parts), rdd(v.get(1), 3), true);
            assertEquals(expected, actual[0], 0.0, parts + " partitions");
            assertEquals(500, actual[1], 0.0, "rows of a");
        }
    }

    @Test
    void regressionAgreementEqualsTheBruteForceLoopOnAnyPartitioning() {
        List<List<Tuple3<Long, Double, double[]>>> v = variants(1, 5);
        double expected = bruteForce(v.get(0), v.get(1), false);
        assertEquals(true, expected > 0.05 && expected < 0.95, "a test that can fail: " + expected);
        for (int parts : new int[] {1, 3, 7}) {
            double[] actual = VariantComparison.agreement(rdd(v.get(0), parts), rdd(v.get(1), 2), false);
            assertEquals(expected, actual[0], 0.0, parts + " partitions");
            assertEquals(500, actual[1], 0.0, "rows of a");
        }
    }
}
