package io.candor.audit;

import io.candor.train.Evaluator;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;

import java.util.ArrayList;
import java.util.Arrays;
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
    static List<Pair> pairs(AuditWorkflow.Night night, Map<String, Evaluator.Predictions> predictions, int topK) {
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
                Evaluator.Predictions pa = predictions.get(a);
                pairs.add(new Pair(a, b, pa.size(), agreement(pa, predictions.get(b)), night.metric(a), night.metric(b),
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
     * Fraction of rows on which two variants predict the same: the same class, or for regression values within
     * {@link #REGRESSION_AGREEMENT_TOLERANCE} of the label's standard deviation. Rows are matched by id.
     */
    static double agreement(Evaluator.Predictions a, Evaluator.Predictions b) {
        Map<Long, Integer> index = new java.util.HashMap<>();
        for (int i = 0; i < b.size(); i++) {
            index.put(b.rowIds()[i], i);
        }
        boolean classification = a.outputs().length > 0 && a.outputs()[0].length > 1;
        double tolerance = REGRESSION_AGREEMENT_TOLERANCE * std(a.labels());
        long same = 0;
        long matched = 0;
        for (int i = 0; i < a.size(); i++) {
            Integer j = index.get(a.rowIds()[i]);
            if (j == null) {
                continue;
            }
            matched++;
            if (classification ? argmax(a.outputs()[i]) == argmax(b.outputs()[j])
                    : Math.abs(a.outputs()[i][0] - b.outputs()[j][0]) <= tolerance) {
                same++;
            }
        }
        return matched == 0 ? Double.NaN : same / (double) matched;
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

    private static double std(double[] v) {
        double mean = Arrays.stream(v).average().orElse(0);
        return Math.sqrt(Arrays.stream(v).map(x -> (x - mean) * (x - mean)).average().orElse(0));
    }
}
