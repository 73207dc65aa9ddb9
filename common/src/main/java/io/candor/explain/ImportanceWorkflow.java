package io.candor.explain;

import io.candor.config.CandorConf;
import io.candor.config.ConfigException;
import io.candor.data.FeatureGroup;
import io.candor.data.PreparedData;
import io.candor.store.RunRecord;
import io.candor.store.Table;
import io.candor.store.TableWriter;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code candor importance}: permutation importance of every model variant (or those the conf names) over the
 * configured split, written to {@code permutation_importance}. Every variant's inputs are checked against the data
 * before the first variant is computed, and nothing is written until all are done.
 */
public final class ImportanceWorkflow {
    private static final long SAMPLE_STREAM = 0x5A3B1EL;

    private ImportanceWorkflow() {
    }

    public record VariantImportance(String variant, List<ImportanceResult> results) {
    }

    public record Outcome(String runId, List<VariantImportance> variants, List<String> tablePaths) {
    }

    /** A variant with its players, rows and metrics, all checked. */
    private record Plan(ExplainInputs.Variant variant, Dataset<Row> rows, List<FeatureGroup> groups,
                        List<String> metrics) {
    }

    public static Outcome run(SparkSession spark, CandorConf conf) {
        Instant started = Instant.now();
        String runId = RunRecord.newRunId("importance", started);
        ImportanceSpec spec = conf.importance();
        List<Plan> plans = new ArrayList<>();
        for (ExplainInputs.Variant variant : ExplainInputs.variants(spark, conf, spec.variants())) {
            plans.add(plan(spark, conf, variant));
        }

        List<VariantImportance> results = new ArrayList<>();
        List<Row> tableRows = new ArrayList<>();
        for (Plan plan : plans) {
            ExplainInputs.Variant variant = plan.variant();
            PreparedData data = variant.data();
            try (ExplainInputs.BroadcastModel model = new ExplainInputs.BroadcastModel(spark, variant)) {
                var options = new PermutationImportanceJob.Options(spec.nRepeats(), spec.mode(), spec.blocks(),
                        conf.seed(), spec.batchValues(), plan.metrics(), "importance " + variant.label(conf));
                List<ImportanceResult> importance = PermutationImportanceJob.run(spark, plan.rows(), model.source(),
                        plan.groups(), variant.inputs(), data.isClassification(), data.outputs(), options);
                results.add(new VariantImportance(variant.name(), importance));
                for (ImportanceResult r : importance) {
                    tableRows.add(RowFactory.create(runId, r.feature(), r.metric(), r.baseline(), r.mean(), r.std(),
                            r.ciLow(), r.ciHigh(), r.nRepeats(), r.rank(), r.mode(), r.rows(), conf.date().toString(),
                            conf.modelName(), variant.name()));
                }
            }
        }

        plans.forEach(plan -> plan.variant().data().release());

        TableWriter tables = new TableWriter(spark, conf.tablesRoot());
        List<String> written = new ArrayList<>();
        written.add(tables.write(Table.PERMUTATION_IMPORTANCE, tableRows));
        written.add(ExplainInputs.recordRun(spark, conf, runId, "importance", started,
                plans.stream().map(Plan::variant).toList()));
        return new Outcome(runId, results, written);
    }

    private static Plan plan(SparkSession spark, CandorConf conf, ExplainInputs.Variant variant) {
        PreparedData data = variant.data();
        List<FeatureGroup> groups = FeatureGroups.resolve(data.featurizer().layout(), conf.importance().groups(),
                variant.label(conf));
        List<String> metrics = conf.importance().metrics().isEmpty()
                ? ScoreAccumulator.metricNames(data.isClassification(), data.outputs()) : conf.importance().metrics();
        if (metrics.contains("auc") && data.outputs() != 2) {
            throw new ConfigException("conf key importance.metrics: auc needs a binary task, but "
                    + variant.label(conf) + " has " + data.outputs() + " classes (expected accuracy, log_loss or macro_f1)");
        }
        Dataset<Row> rows = ExplainInputs.rows(data, conf.importance().split(), conf.importance().sampleRows(),
                conf.seed(), SAMPLE_STREAM);
        return new Plan(variant, ExplainInputs.spread(rows), groups, metrics);
    }
}
