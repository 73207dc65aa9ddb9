package io.candor.explain;

import io.candor.config.CandorConf;
import io.candor.config.ConfigException;
import io.candor.data.FeatureGroup;
import io.candor.data.PreparedData;
import io.candor.explain.shapley.BackgroundSummary;
import io.candor.explain.shapley.DistributedShapley;
import io.candor.explain.shapley.KernelShapEstimator;
import io.candor.explain.shapley.SageEstimator;
import io.candor.explain.shapley.SageResult;
import io.candor.explain.shapley.ShapleyParts;
import io.candor.explain.shapley.ShapleyRow;
import io.candor.store.RunRecord;
import io.candor.store.Table;
import io.candor.store.TableWriter;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code candor shapley}: per-row Shapley values (KernelSHAP or sampling) of the configured rows and outputs, their
 * mean |φ| per feature group, and SAGE (dataset-wide Shapley values of the loss), for every model variant; written
 * to {@code shap_values} and {@code shapley_global}. Everything is checked for every variant before any is computed.
 */
public final class ShapleyWorkflow {
    private static final long SAMPLE_STREAM = 0x5A4B1EL;
    private static final long SAGE_STREAM = 0x5A6EL;

    private ShapleyWorkflow() {
    }

    /**
     * @param meanAbs mean |φ| per (output, group), with {@code meanAbsError} its standard error
     */
    public record VariantShapley(String variant, List<String> features, String estimator, List<ShapleyRow> rows,
                                 int[] outputs, double[][] meanAbs, double[][] meanAbsError, SageResult sage) {
    }

    public record Outcome(String runId, List<VariantShapley> variants, List<String> tablePaths) {
    }

    private record Plan(ExplainInputs.Variant variant, List<FeatureGroup> groups, int[] outputs, Dataset<Row> rows,
                        BackgroundSummary.Summary background, double[][] sageData, double[] sageLabels) {
    }

    public static Outcome run(SparkSession spark, CandorConf conf) {
        Instant started = Instant.now();
        String runId = RunRecord.newRunId("shapley", started);
        List<Plan> plans = new ArrayList<>();
        for (ExplainInputs.Variant variant : ExplainInputs.variants(spark, conf, conf.shapley().variants())) {
            plans.add(plan(spark, conf, variant));
        }

        ShapleySpec spec = conf.shapley();
        String date = conf.date().toString();
        List<VariantShapley> results = new ArrayList<>();
        List<Row> valueRows = new ArrayList<>();
        List<Row> globalRows = new ArrayList<>();
        int slices = ExplainInputs.EXPLAIN_TASKS; // SAGE rounds split the same way everywhere
        for (Plan plan : plans) {
            ExplainInputs.Variant variant = plan.variant();
            PreparedData data = variant.data();
            List<int[]> groupIndices = plan.groups().stream()
                    .map(g -> g.indices().stream().mapToInt(Integer::intValue).toArray()).toList();
            ShapleyParts parts = ShapleyParts.of(groupIndices, variant.inputs(), plan.background().rows(),
                    plan.background().weights());
            boolean exact = spec.estimator() == ShapleySpec.Estimator.KERNEL
                    && groupIndices.size() < 31 && (1L << groupIndices.size()) - 2 <= spec.maxCoalitions();
            String estimator = spec.estimator() == ShapleySpec.Estimator.SAMPLING ? "sampling_shapley"
                    : exact ? "kernel_shap_exact" : "kernel_shap";
            try (ExplainInputs.BroadcastModel model = new ExplainInputs.BroadcastModel(spark, variant)) {
                var settings = new DistributedShapley.RowSettings(spec.estimator(), spec.maxCoalitions(),
                        spec.permutationPairs(), spec.batchValues(), conf.seed(), spec.convergenceThreshold());
                List<ShapleyRow> rows = DistributedShapley.explainRows(spark, plan.rows(), model.source(), parts,
                        plan.outputs(), settings, "shapley " + variant.label(conf));
                SageEstimator.Settings sageSettings = new SageEstimator.Settings(
                        data.isClassification() ? SageEstimator.Loss.CROSS_ENTROPY : SageEstimator.Loss.SQUARED_ERROR,
                        spec.sageMaxPermutationPairs(),
                        Math.min(SageEstimator.Settings.DEFAULT_PAIRS_PER_ROUND, spec.sageMaxPermutationPairs()),
                        spec.sageConvergenceFraction(), spec.batchValues(), conf.seed());
                SageResult sage = DistributedShapley.sage(spark, plan.sageData(), plan.sageLabels(), model.source(),
                        parts, sageSettings, slices, "sage " + variant.label(conf));

                int m = plan.groups().size();
                double[][] meanAbs = new double[plan.outputs().length][m];
                double[][] meanAbsError = new double[plan.outputs().length][m];
                summariseMeanAbs(rows, plan.outputs(), meanAbs, meanAbsError);
                List<String> names = plan.groups().stream().map(FeatureGroup::name).toList();
                results.add(new VariantShapley(variant.name(), names, estimator, rows, plan.outputs(), meanAbs,
                        meanAbsError, sage));
                for (ShapleyRow r : rows) {
                    valueRows.add(RowFactory.create(runId, r.rowId(), r.output(), r.baseValue(), r.prediction(),
                            boxed(r.phi()), boxed(r.stdError()), estimator, r.evaluations(), r.converged(), date,
                            conf.modelName(), variant.name()));
                }
                long evaluations = rows.stream().mapToLong(ShapleyRow::evaluations).sum();
                for (int o = 0; o < plan.outputs().length; o++) {
                    for (int j = 0; j < m; j++) {
                        globalRows.add(RowFactory.create(runId, names.get(j), "mean_abs_shap", plan.outputs()[o],
                                meanAbs[o][j], meanAbsError[o][j], evaluations, date, conf.modelName(), variant.name()));
                    }
                }
                for (int j = 0; j < m; j++) {
                    // SAGE explains the loss, not one output: output -1.
                    globalRows.add(RowFactory.create(runId, names.get(j), "sage", -1, sage.values()[j],
                            sage.stdError()[j], sage.evaluations(), date, conf.modelName(), variant.name()));
                }
            }
        }

        TableWriter tables = new TableWriter(spark, conf.tablesRoot());
        List<String> written = new ArrayList<>();
        written.add(tables.write(Table.SHAP_VALUES, valueRows));
        written.add(tables.write(Table.SHAPLEY_GLOBAL, globalRows));
        written.add(ExplainInputs.recordRun(spark, conf, runId, "shapley", started,
                plans.stream().map(Plan::variant).toList()));
        return new Outcome(runId, results, written);
    }

    private static Plan plan(SparkSession spark, CandorConf conf, ExplainInputs.Variant variant) {
        ShapleySpec spec = conf.shapley();
        PreparedData data = variant.data();
        String label = variant.label(conf);
        List<FeatureGroup> groups = FeatureGroups.resolve(data.featurizer().layout(), conf.importance().groups(), label);
        int[] outputs = checkedOutputs(spec, groups.size(), data.outputs(), label);
        BackgroundSummary.Summary background = BackgroundSummary.of(data.split(PreparedData.TRAIN),
                spec.backgroundMethod(), spec.backgroundSize(), conf.seed(), "the training split of " + label);
        Dataset<Row> rows = ExplainInputs.spread(
                ExplainInputs.rows(data, spec.split(), spec.sampleRows(), conf.seed(), SAMPLE_STREAM));
        List<Row> sage = ExplainInputs.rows(data, spec.split(), spec.sageRows(), conf.seed(), SAGE_STREAM)
                .select("row_id", "features", "label").orderBy("row_id").collectAsList();
        double[][] sageData = new double[sage.size()][];
        double[] sageLabels = new double[sage.size()];
        for (int i = 0; i < sageData.length; i++) {
            sageData[i] = ((Vector) sage.get(i).get(1)).toArray();
            sageLabels[i] = sage.get(i).getDouble(2);
        }
        if (sageData.length == 0) {
            throw new io.candor.util.InputException("shapley: no rows in the " + spec.split().name().toLowerCase()
                    + " split of " + label + " (expected at least one)");
        }
        return new Plan(variant, groups, outputs, rows, background, sageData, sageLabels);
    }

    /**
     * Checks the shapley section against a model's {@code m} feature groups and {@code modelOutputs} outputs, and returns
     * the outputs to explain. The audit calls it before it builds any variant, so a conf that cannot work on this data
     * fails in seconds rather than after training.
     */
    public static int[] checkedOutputs(ShapleySpec spec, int m, int modelOutputs, String label) {
        if (spec.estimator() == ShapleySpec.Estimator.KERNEL
                && spec.maxCoalitions() < KernelShapEstimator.minCoalitions(m)) {
            throw new ConfigException("conf key shapley.max-coalitions: " + spec.maxCoalitions() + " is below 2M + 2 = "
                    + (2 * m + 2) + " for the " + m + " feature groups of " + label
                    + " (expected at least that many, or enough for all 2^M coalitions)");
        }
        if (spec.outputs().isEmpty()) {
            int[] all = new int[modelOutputs];
            for (int o = 0; o < all.length; o++) {
                all[o] = o;
            }
            return all;
        }
        int[] outputs = spec.outputs().stream().mapToInt(Integer::intValue).toArray();
        for (int o : outputs) {
            if (o >= modelOutputs) {
                throw new ConfigException("conf key shapley.outputs: " + o + " is out of range for " + label
                        + " (expected 0.." + (modelOutputs - 1) + ")");
            }
        }
        return outputs;
    }

    /** Mean |φ| per output and group over the rows explained, with its standard error. */
    static void summariseMeanAbs(List<ShapleyRow> rows, int[] outputs, double[][] mean, double[][] error) {
        for (int o = 0; o < outputs.length; o++) {
            int output = outputs[o];
            int m = mean[o].length;
            double[] sum = new double[m];
            double[] squares = new double[m];
            long n = 0;
            for (ShapleyRow r : rows) {
                if (r.output() == output) {
                    double[] phi = r.phi();
                    for (int j = 0; j < m; j++) {
                        sum[j] += Math.abs(phi[j]);
                        squares[j] += phi[j] * phi[j];
                    }
                    n++;
                }
            }
            for (int j = 0; j < m; j++) {
                mean[o][j] = sum[j] / n;
                double variance = n > 1 ? (squares[j] - n * mean[o][j] * mean[o][j]) / (n - 1) : 0.0;
                error[o][j] = Math.sqrt(Math.max(0.0, variance) / n);
            }
        }
    }

    private static List<Double> boxed(double[] values) {
        return java.util.Arrays.stream(values).boxed().toList();
    }
}
