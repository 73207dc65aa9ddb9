package io.candor.quant;

import io.candor.testing.TestSpark;
import io.candor.train.Metrics;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.junit.jupiter.api.Test;
import scala.Tuple3;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** {@link QatWorkflow#agreement}, by a join on row id, equals a brute-force loop over rows matched by id. */
class QatAgreementTest {
    private static JavaRDD<Tuple3<Long, Double, double[]>> rdd(List<Tuple3<Long, Double, double[]>> rows, int parts) {
        return JavaSparkContext.fromSparkContext(TestSpark.session().sparkContext()).parallelize(rows, parts);
    }

    /** Rows 0..n-1 of {@code width} outputs; {@code b} perturbs {@code a}'s outputs so some argmaxes flip. */
    private static List<List<Tuple3<Long, Double, double[]>>> pair(int n, int width, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        List<Tuple3<Long, Double, double[]>> a = new ArrayList<>();
        List<Tuple3<Long, Double, double[]>> b = new ArrayList<>();
        for (long i = 0; i < n; i++) {
            double[] x = new double[width];
            double[] y = new double[width];
            for (int j = 0; j < width; j++) {
                x[j] = random.nextDouble();
                y[j] = x[j] + 0.05 * random.nextGaussian();
            }
            a.add(new Tuple3<>(i, 0.0, x));
            b.add(new Tuple3<>(i, 0.0, y));
        }
        Collections.shuffle(b, new Random(seed));
        return List.of(a, b);
    }

    private static double[] bruteForce(List<Tuple3<Long, Double, double[]>> a, List<Tuple3<Long, Double, double[]>> b,
                                       boolean classification, double tolerance) {
        long same = 0;
        long values = 0;
        BigDecimal diff = BigDecimal.ZERO;
        for (Tuple3<Long, Double, double[]> ta : a) {
            double[] x = ta._3();
            double[] y = b.stream().filter(t -> t._1().equals(ta._1())).findFirst().orElseThrow()._3();
            same += classification ? (Metrics.argmax(x, 0, x.length) == Metrics.argmax(y, 0, y.length) ? 1 : 0)
                    : (Math.abs(x[0] - y[0]) <= tolerance ? 1 : 0);
            for (int j = 0; j < x.length; j++) {
                diff = diff.add(new BigDecimal(Math.abs(x[j] - y[j])));
                values++;
            }
        }
        return new double[] {(double) same / a.size(), diff.divide(BigDecimal.valueOf(values),
                java.math.MathContext.DECIMAL128).doubleValue()};
    }

    @Test
    void classificationAgreementEqualsTheBruteForceLoopOnAnyPartitioning() {
        List<List<Tuple3<Long, Double, double[]>>> p = pair(400, 3, 7);
        double[] expected = bruteForce(p.get(0), p.get(1), true, 0);
        for (int parts : new int[] {1, 3, 7}) {
            double[] actual = QatWorkflow.agreement(rdd(p.get(0), parts), rdd(p.get(1), 8 - parts), true, 0);
            assertEquals(expected[0], actual[0], 0.0, parts + " partitions: share");
            assertEquals(expected[1], actual[1], 1e-15, parts + " partitions: mean |difference|");
        }
    }

    @Test
    void regressionAgreementEqualsTheBruteForceLoop() {
        List<List<Tuple3<Long, Double, double[]>>> p = pair(300, 1, 9);
        double[] expected = bruteForce(p.get(0), p.get(1), false, 0.04);
        double[] actual = QatWorkflow.agreement(rdd(p.get(0), 3), rdd(p.get(1), 2), false, 0.04);
        assertEquals(expected[0], actual[0], 0.0);
        assertEquals(expected[1], actual[1], 1e-15);
    }
}
