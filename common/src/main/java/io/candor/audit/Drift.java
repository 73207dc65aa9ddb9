package io.candor.audit;

import io.candor.store.Table;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/** The {@code drift} rows: each variant against itself on the most recent earlier audit date of the model. */
final class Drift {
    record Change(String variant, String previousDate, String previousRunId, String metric, double previous,
                  double current, Map<String, Double> metricDeltas, double spearman, double kendall, int topK,
                  List<String> entered, List<String> left, List<String> breached) {
    }

    /**
     * @param history committed model_metrics rows of earlier dates (test split, primary metric), for the report
     */
    record Result(List<Change> changes, List<AuditWorkflow.Breach> breaches, List<Row> history) {
        List<Row> rows(String runId, String date, String model) {
            List<Row> rows = new ArrayList<>();
            for (Change c : changes) {
                rows.add(RowFactory.create(runId, c.previousDate(), c.previousRunId(), c.metric(), c.previous(),
                        c.current(), c.current() - c.previous(), c.metricDeltas(), VariantComparison.nullable(c.spearman()),
                        VariantComparison.nullable(c.kendall()), c.topK(), c.entered(), c.left(), c.breached(), date,
                        model, c.variant()));
            }
            return rows;
        }
    }

    private Drift() {
    }

    static Result against(AuditTables tables, AuditWorkflow.Night night, AuditSpec spec) {
        List<Row> earlierMetrics = tables.earlier(Table.MODEL_METRICS);
        List<Row> history = earlierMetrics.stream().filter(r -> r.<String>getAs("split").equals("test")
                && r.<String>getAs("metric").equals(night.primaryMetric())).toList();
        String previous = earlierMetrics.stream().map(r -> r.<String>getAs("audit_date")).max(String::compareTo)
                .orElse(null);
        if (previous == null) {
            return new Result(List.of(), List.of(), history);
        }
        List<Row> previousMetrics = earlierMetrics.stream().filter(r -> r.<String>getAs("audit_date").equals(previous))
                .toList();
        Map<String, Map<String, Double>> before = AuditTables.testMetrics(previousMetrics);
        Map<String, String> previousRun = new TreeMap<>();
        previousMetrics.forEach(r -> previousRun.put(r.getAs("variant"), r.getAs("run_id")));
        Map<String, Map<String, Double>> importanceBefore = AuditTables.importance(
                tables.earlier(Table.PERMUTATION_IMPORTANCE).stream()
                        .filter(r -> r.<String>getAs("audit_date").equals(previous)).toList(),
                night.importanceMetric());

        AuditSpec.Thresholds limits = spec.thresholds();
        List<Change> changes = new ArrayList<>();
        List<AuditWorkflow.Breach> breaches = new ArrayList<>();
        for (String variant : night.variants()) {
            Map<String, Double> was = before.get(variant);
            if (was == null || !was.containsKey(night.primaryMetric())) {
                continue; // a variant new tonight has nothing to drift from
            }
            Map<String, Double> now = night.testMetrics().getOrDefault(variant, Map.of());
            Map<String, Double> deltas = new LinkedHashMap<>();
            now.forEach((metric, value) -> {
                if (was.containsKey(metric)) {
                    deltas.put(metric, value - was.get(metric));
                }
            });
            Map<String, Double> importanceNow = night.importance().getOrDefault(variant, Map.of());
            Map<String, Double> importanceWas = importanceBefore.getOrDefault(variant, Map.of());
            double spearman = RankAgreement.spearman(importanceNow, importanceWas);
            List<String> topNow = RankAgreement.topK(importanceNow, spec.topK());
            List<String> topWas = RankAgreement.topK(importanceWas, spec.topK());
            List<String> entered = topNow.stream().filter(f -> !topWas.contains(f)).toList();
            List<String> left = topWas.stream().filter(f -> !topNow.contains(f)).toList();

            List<AuditWorkflow.Breach> own = new ArrayList<>();
            double previousValue = was.get(night.primaryMetric());
            double currentValue = night.metric(variant);
            Thresholds.drop(own, Thresholds.MAX_METRIC_DRIFT, variant, variant + " on " + previous,
                    night.primaryMetric(), previousValue, currentValue, limits.maxMetricDrift());
            if (spearman < limits.minDriftRankCorrelation()) {
                own.add(new AuditWorkflow.Breach(Thresholds.MIN_DRIFT_RANK_CORRELATION, variant, spearman,
                        limits.minDriftRankCorrelation(), String.format(Locale.ROOT,
                        "%s ranks features unlike on %s: Spearman %.3f of %s importances, below the limit %.3f",
                        variant, previous, spearman, night.importanceMetric(), limits.minDriftRankCorrelation())));
            }
            breaches.addAll(own);
            changes.add(new Change(variant, previous, previousRun.getOrDefault(variant, ""), night.primaryMetric(),
                    previousValue, currentValue, deltas, spearman,
                    RankAgreement.kendall(importanceNow, importanceWas), spec.topK(), entered, left,
                    own.stream().map(AuditWorkflow.Breach::threshold).toList()));
        }
        return new Result(changes, breaches, history);
    }
}
