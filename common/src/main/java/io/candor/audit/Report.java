package io.candor.audit;

import io.candor.config.CandorConf;
import io.candor.data.FeatureGroup;
import io.candor.data.PreparedData;
import io.candor.report.ReportModel;
import org.apache.spark.sql.Row;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/** Fills the report's model from the night's tables and findings. */
final class Report {
    private Report() {
    }

    static ReportModel model(CandorConf conf, String runId, PreparedData data, AuditWorkflow.Night night,
                             List<VariantComparison.Pair> pairs, Drift.Result drift, List<AuditWorkflow.Breach> breaches,
                             int shapPointsPerVariant) {
        List<ReportModel.Metric> metrics = night.metricRows().stream()
                .sorted(Comparator.comparing((Row r) -> night.variants().indexOf(r.<String>getAs("variant")))
                        .thenComparing(r -> r.<String>getAs("split")).thenComparing(r -> r.<String>getAs("metric")))
                .map(r -> new ReportModel.Metric(r.getAs("variant"), r.getAs("split"), r.getAs("metric"),
                        r.<Double>getAs("value"), r.<Long>getAs("size_bytes"), r.<Long>getAs("parameter_count"),
                        r.<Integer>getAs("bits"))).toList();
        List<ReportModel.Importance> importance = night.importanceRows().stream()
                .map(r -> new ReportModel.Importance(r.getAs("variant"), r.getAs("feature"), r.getAs("metric"),
                        r.<Double>getAs("importance_mean"), r.<Double>getAs("ci_low"), r.<Double>getAs("ci_high"),
                        r.<Integer>getAs("rank"))).toList();
        List<ReportModel.GlobalShapley> global = night.globalRows().stream()
                .map(r -> new ReportModel.GlobalShapley(r.getAs("variant"), r.getAs("feature"), r.getAs("method"),
                        r.<Integer>getAs("output"), r.<Double>getAs("value"), r.<Double>getAs("std_error"))).toList();

        List<ReportModel.Comparison> comparisons = new ArrayList<>();
        for (VariantComparison.Pair p : pairs) {
            comparisons.add(new ReportModel.Comparison(p.a(), p.b(), p.agreement(), p.metricDelta(),
                    p.spearmanPermutation(), p.kendallPermutation(), p.topKPermutation(), p.shapCosine(), "permutation"));
            comparisons.add(new ReportModel.Comparison(p.a(), p.b(), p.agreement(), p.metricDelta(), p.spearmanSage(),
                    p.kendallSage(), p.topKSage(), p.shapCosine(), "sage"));
        }
        List<ReportModel.DriftRow> driftRows = drift.changes().stream()
                .map(c -> new ReportModel.DriftRow(c.variant(), c.previousDate(), c.metric(), c.previous(), c.current(),
                        c.current() - c.previous(), c.spearman(), c.entered(), c.left())).toList();

        List<ReportModel.HistoryPoint> history = new ArrayList<>();
        TreeSet<String> dates = new TreeSet<>();
        drift.history().forEach(r -> dates.add(r.getAs("audit_date")));
        while (dates.size() > conf.audit().history() - 1) {
            dates.pollFirst();
        }
        for (Row r : drift.history()) {
            if (dates.contains(r.<String>getAs("audit_date"))) {
                history.add(new ReportModel.HistoryPoint(r.getAs("audit_date"), r.getAs("variant"), r.getAs("metric"),
                        r.<Double>getAs("value")));
            }
        }
        for (String v : night.variants()) {
            history.add(new ReportModel.HistoryPoint(conf.date().toString(), v, night.primaryMetric(), night.metric(v)));
        }
        history.sort(Comparator.comparing(ReportModel.HistoryPoint::auditDate)
                .thenComparing(ReportModel.HistoryPoint::variant));

        List<ReportModel.Breach> reportBreaches = breaches.stream()
                .map(b -> new ReportModel.Breach(b.threshold(), b.subject(), b.value(), b.limit(), b.message())).toList();
        return new ReportModel(conf.modelName(), conf.date().toString(), runId, Instant.now().toString(),
                data.isClassification() ? "classification" : "regression", night.variants(), metrics, importance,
                global, shapPoints(conf, data, night, shapPointsPerVariant), comparisons, driftRows, history,
                reportBreaches);
    }

    /**
     * Beeswarm points: for the last output (a binary classifier's positive class), the night's sampled rows (the same
     * rows for every variant, at most {@code perVariant}); coloured by the feature's (standardised) value where the
     * group is one column.
     */
    private static List<ReportModel.ShapPoint> shapPoints(CandorConf conf, PreparedData data, AuditWorkflow.Night night,
                                                          int perVariant) {
        List<FeatureGroup> groups = AuditWorkflow.groups(conf, data);
        int output = night.shapRows().stream().mapToInt(r -> r.<Integer>getAs("output")).max().orElse(0);
        TreeSet<Long> rowIds = new TreeSet<>();
        night.shapRows().forEach(r -> rowIds.add(r.getAs("row_id")));
        if (rowIds.size() > perVariant) {
            throw new IllegalStateException("the night's SHAP sample has " + rowIds.size() + " rows; expected at most "
                    + perVariant);
        }
        Map<Long, double[]> values = AuditWorkflow.groupValues(data, groups, rowIds);
        List<ReportModel.ShapPoint> points = new ArrayList<>();
        for (Row r : night.shapRows()) {
            long rowId = r.getAs("row_id");
            if (r.<Integer>getAs("output") != output) {
                continue;
            }
            List<Double> phi = r.getList(r.fieldIndex("phi"));
            double[] x = values.get(rowId);
            for (int g = 0; g < groups.size() && g < phi.size(); g++) {
                points.add(new ReportModel.ShapPoint(r.getAs("variant"), groups.get(g).name(), rowId, phi.get(g),
                        x == null ? Double.NaN : x[g]));
            }
        }
        return points;
    }
}
