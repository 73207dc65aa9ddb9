package io.candor.audit;

import io.candor.train.Evaluator;
import io.candor.train.MetricStats;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import scala.Tuple3;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The {@code variant_comparison} rows: for each pair of variants, how alike their predictions and explanations are. */
final class VariantComparison {
    /** Predictions of two regression variants "agree" on a row within this fraction of the label's std. */
    static final double REGRESSION_AGREEMENT_TOLERANCE = 0.05;

    record Pair(String a, String b, long rows, double agreement, double metricA, double metricB,
                Map<String, Double> metricDeltas, double spearmanPermutation, double kendallPermutation,
                double spearmanSage, double kendallSage, double topKPermutation, double topKSage, double shapCosine,
                long shapRows, String primaryMetric) {
        double metricDelta() {
            return metricB - metricA;
        }
    }

    private VariantComparison() {
    }

    /** Every pair (a, b) with a before b in {@code night.variants()}. */
    static List<Pair> pairs(AuditWorkflow.Night night, Map<String, JavaRDD<Tuple3<Long, Double, double[]>>> predictions,
                            boolean classification, int topK) {
        Map<String, Map<List<Long>, double[]>> shap = night.shap();
        List<Pair> pairs = new ArrayList<>();
        List<String> variants = night.variants();
        for (int i = 0; i < variants.size(); i++) {
            for (int j = i + 1; j < variants.size(); j++) {
                String a = variants.get(i);
                String b = variants.get(j);
                Map<String, Double> deltas = new LinkedHashMap<>();
                Map<String, Double> ma = night.testMetrics().getOrDefault(a, Map.of());
                Map<String, Double> mb = night.testMetrics().getOrDefault(b, Map.of());
                ma.forEach((metric, value) -> {
                    if (mb.containsKey(metric)) {
                        deltas.put(metric, mb.get(metric) - value);
                    }
                });
                Map<String, Double> ia = night.importance().getOrDefault(a, Map.of());
                Map<String, Double> ib = night.importance().getOrDefault(b, Map.of());
                Map<String, Double> sa = night.sage().getOrDefault(a, Map.of());
                Map<String, Double> sb = night.sage().getOrDefault(b, Map.of());
                double[] cosine = shapCosine(shap.getOrDefault(a, Map.of()), shap.getOrDefault(b, Map.of()));
                double[] agreement = agreement(predictions.get(a), predictions.get(b), classification);
                pairs.add(new Pair(a, b, (long) agreement[1], agreement[0], night.metric(a), night.metric(b),
                        deltas, RankAgreement.spearman(ia, ib), RankAgreement.kendall(ia, ib),
                        RankAgreement.spearman(sa, sb), RankAgreement.kendall(sa, sb),
                        RankAgreement.topKOverlap(ia, ib, topK), RankAgreement.topKOverlap(sa, sb, topK), cosine[0],
                        (long) cosine[1], night.primaryMetric()));
            }
        }
        return pairs;
    }

    static List<Row> rows(List<Pair> pairs, String runId, String date, String model, int topK) {
        List<Row> rows = new ArrayList<>();
        for (Pair p : pairs) {
            rows.add(RowFactory.create(runId, p.a(), p.b(), p.rows(), p.agreement(), p.primaryMetric(), p.metricA(),
                    p.metricB(), p.metricDelta(), p.metricDeltas(), nullable(p.spearmanPermutation()),
                    nullable(p.kendallPermutation()), nullable(p.spearmanSage()), nullable(p.kendallSage()), topK,
                    nullable(p.topKPermutation()), nullable(p.topKSage()), nullable(p.shapCosine()), p.shapRows(),
                    date, model, p.a()));
        }
        return rows;
    }

    /**
     * {fraction of rows on which two variants predict the same, rows of {@code a}}: the same class, or for regression
     * values within {@link #REGRESSION_AGREEMENT_TOLERANCE} of the standard deviation of {@code a}'s labels. Rows are
     * matched by id in a join; only counts (and the labels' exact sums) reach the driver.
     */
    static double[] agreement(JavaRDD<Tuple3<Long, Double, double[]>> a, JavaRDD<Tuple3<Long, Double, double[]>> b,
                              boolean classification) {
        long rows;
        double tolerance;
        if (classification) {
            rows = a.count();
            tolerance = 0;
        } else {
            MetricStats labels = a.treeAggregate(MetricStats.regression(), (s, t) -> s.add(t._3()[0], t._2()),
                    MetricStats::merge);
            rows = labels.rows();
            tolerance = rows == 0 ? 0 : REGRESSION_AGREEMENT_TOLERANCE * labels.labelStd();
        }
        long[] counts = Evaluator.joinByRowId(a, b).aggregate(new long[2], (c, pair) -> {
            c[0]++;
            if (classification ? argmax(pair._1()) == argmax(pair._2())
                    : Math.abs(pair._1()[0] - pair._2()[0]) <= tolerance) {
                c[1]++;
            }
            return c;
        }, (x, y) -> new long[] {x[0] + y[0], x[1] + y[1]});
        return new double[] {counts[0] == 0 ? Double.NaN : counts[1] / (double) counts[0], rows};
    }

    /** Mean cosine similarity of the rows' attribution vectors, over (row, output) keys both have; and that count. */
    static double[] shapCosine(Map<List<Long>, double[]> a, Map<List<Long>, double[]> b) {
        double sum = 0;
        long n = 0;
        for (Map.Entry<List<Long>, double[]> e : a.entrySet()) {
            double[] other = b.get(e.getKey());
            if (other != null && other.length == e.getValue().length) {
                double c = RankAgreement.cosine(e.getValue(), other);
                if (!Double.isNaN(c)) {
                    sum += c;
                    n++;
                }
            }
        }
        return new double[] {n == 0 ? Double.NaN : sum / n, n};
    }

    static Double nullable(double v) {
        return Double.isNaN(v) ? null : v;
    }

    private static int argmax(double[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) {
            if (v[i] > v[best]) {
                best = i;
            }
        }
        return best;
    }
}
