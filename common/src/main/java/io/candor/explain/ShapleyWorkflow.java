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
import io.candor.store.RunRecord;
import io.candor.store.Table;
import io.candor.store.TableWriter;
import io.candor.util.ExactSum;
import io.candor.util.ProgressReporter;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import scala.Tuple2;

import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.lit;

/**
 * {@code candor shapley}: per-row Shapley values (KernelSHAP or sampling) of the configured rows and outputs, their
 * mean |φ| per feature group, and SAGE (dataset-wide Shapley values of the loss), for every model variant; written
 * to {@code shap_values} and {@code shapley_global}. Everything is checked for every variant before any is computed.
 */
public final class ShapleyWorkflow {
    private static final long SAMPLE_STREAM = 0x5A4B1EL;

    private ShapleyWorkflow() {
    }

    /**
     * @param explanations (row, output) explanations written, {@code converged} of them converged
     * @param meanAbs mean |φ| per (output, group), with {@code meanAbsError} its standard error
     * @param evaluations model rows evaluated for all of them
     */
    public record VariantShapley(String variant, List<String> features, String estimator, long explanations,
                                 long converged, long evaluations, int[] outputs, double[][] meanAbs,
                                 double[][] meanAbsError, SageResult sage) {
    }

    public record Outcome(String runId, List<VariantShapley> variants, List<String> tablePaths) {
    }

    private record Plan(ExplainInputs.Variant variant, List<FeatureGroup> groups, int[] outputs, Dataset<Row> rows,
                        BackgroundSummary.Summary background, double[][] sageData, double[] sageLabels) {
    }

    /**
     * Explains every variant's rows on the executors into one write of {@code shap_values} (every variant's
     * network stays broadcast until it is done), then summarises mean |φ| from the written files: the explanation
     * runs once, and the summaries are exact sums, so they do not depend on partitioning.
     */
    public static Outcome run(SparkSession spark, CandorConf conf) {
        Instant started = Instant.now();
        String runId = RunRecord.newRunId("shapley", started);
        List<Plan> plans = new ArrayList<>();
        for (ExplainInputs.Variant variant : ExplainInputs.variants(spark, conf, conf.shapley().variants())) {
            plans.add(plan(spark, conf, variant));
        }

        ShapleySpec spec = conf.shapley();
        String date = conf.date().toString();
        TableWriter tables = new TableWriter(spark, conf.tablesRoot());
        List<String> written = new ArrayList<>();
        List<String> estimators = new ArrayList<>();
        List<SageResult> sages = new ArrayList<>();
        List<ExplainInputs.BroadcastModel> models = new ArrayList<>();
        try {
            Dataset<Row> values = null;
            List<DistributedShapley.Explanation> explanations = new ArrayList<>();
            int slices = ExplainInputs.EXPLAIN_TASKS; // SAGE rounds split the same way everywhere
            for (Plan plan : plans) {
                ExplainInputs.Variant variant = plan.variant();
                PreparedData data = variant.data();
                List<int[]> groupIndices = FeatureGroups.indices(plan.groups());
                ShapleyParts parts = ShapleyParts.of(groupIndices, variant.inputs(), plan.background().rows(),
                        plan.background().weights());
                boolean exact = spec.estimator() == ShapleySpec.Estimator.KERNEL
                        && groupIndices.size() < 31 && (1L << groupIndices.size()) - 2 <= spec.maxCoalitions();
                String estimator = spec.estimator() == ShapleySpec.Estimator.SAMPLING ? "sampling_shapley"
                        : exact ? "kernel_shap_exact" : "kernel_shap";
                estimators.add(estimator);
                ExplainInputs.BroadcastModel model = new ExplainInputs.BroadcastModel(spark, variant);
                models.add(model);
                var settings = new DistributedShapley.RowSettings(spec.estimator(), spec.maxCoalitions(),
                        spec.permutationPairs(), spec.batchValues(), conf.seed(), spec.convergenceThreshold());
                DistributedShapley.Explanation explanation = DistributedShapley.explainRows(spark, plan.rows(),
                        model.source(), parts, plan.outputs(), settings);
                explanations.add(explanation);
                Dataset<Row> rows = explanation.rows()
                        .withColumn("run_id", lit(runId)).withColumn("estimator", lit(estimator))
                        .withColumn("audit_date", lit(date)).withColumn("model", lit(conf.modelName()))
                        .withColumn("variant", lit(variant.name()));
                values = values == null ? rows : values.union(rows);

                SageEstimator.Settings sageSettings = new SageEstimator.Settings(
                        data.isClassification() ? SageEstimator.Loss.CROSS_ENTROPY : SageEstimator.Loss.SQUARED_ERROR,
                        spec.sageMaxPermutationPairs(),
                        Math.min(SageEstimator.Settings.DEFAULT_PAIRS_PER_ROUND, spec.sageMaxPermutationPairs()),
                        spec.sageConvergenceFraction(), spec.batchValues(), conf.seed());
                sages.add(DistributedShapley.sage(spark, plan.sageData(), plan.sageLabels(), model.source(),
                        parts, sageSettings, slices, "sage " + variant.label(conf)));
            }
            List<ProgressReporter> progress = new ArrayList<>();
            try {
                for (int v = 0; v < plans.size(); v++) {
                    progress.add(explanations.get(v).progress("shapley " + plans.get(v).variant().label(conf)));
                }
                written.add(tables.write(Table.SHAP_VALUES, values));
                progress.forEach(ProgressReporter::finish);
            } finally {
                progress.forEach(ProgressReporter::close);
            }
        } finally {
            models.forEach(ExplainInputs.BroadcastModel::close);
            plans.forEach(plan -> plan.variant().data().release());
        }

        // The table's own schema keeps partition values strings; the date and model prune to this run's partitions.
        String valuesPath = tables.path(Table.SHAP_VALUES);
        Map<List<Object>, MeanAbs> summaries = summarise(spark.read().schema(Table.SHAP_VALUES.schema())
                .option("basePath", valuesPath).parquet(valuesPath).filter(col("audit_date").equalTo(date)
                        .and(col("model").equalTo(conf.modelName())).and(col("run_id").equalTo(runId))));
        List<VariantShapley> results = new ArrayList<>();
        List<Row> globalRows = new ArrayList<>();
        for (int p = 0; p < plans.size(); p++) {
            Plan plan = plans.get(p);
            String variant = plan.variant().name();
            SageResult sage = sages.get(p);
            int m = plan.groups().size();
            int[] outputs = plan.outputs();
            double[][] meanAbs = new double[outputs.length][];
            double[][] meanAbsError = new double[outputs.length][];
            long explained = 0;
            long converged = 0;
            long evaluations = 0;
            for (int o = 0; o < outputs.length; o++) {
                MeanAbs s = summaries.getOrDefault(List.of(variant, outputs[o]), new MeanAbs(m));
                meanAbs[o] = s.mean();
                meanAbsError[o] = s.standardError();
                explained += s.rows;
                converged += s.converged;
                evaluations += s.evaluations;
            }
            List<String> names = plan.groups().stream().map(FeatureGroup::name).toList();
            results.add(new VariantShapley(variant, names, estimators.get(p), explained, converged, evaluations,
                    outputs, meanAbs, meanAbsError, sage));
            for (int o = 0; o < outputs.length; o++) {
                for (int j = 0; j < m; j++) {
                    globalRows.add(RowFactory.create(runId, names.get(j), "mean_abs_shap", outputs[o],
                            meanAbs[o][j], meanAbsError[o][j], evaluations, date, conf.modelName(), variant));
                }
            }
            for (int j = 0; j < m; j++) {
                // SAGE explains the loss, not one output: output -1.
                globalRows.add(RowFactory.create(runId, names.get(j), "sage", -1, sage.values()[j],
                        sage.stdError()[j], sage.evaluations(), date, conf.modelName(), variant));
            }
        }
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
        ExplainInputs.SageRows sage = ExplainInputs.sageRows(ExplainInputs.splitRows(data, spec.split()),
                spec.sageRows(), conf.seed());
        double[][] sageData = sage.data();
        double[] sageLabels = sage.labels();
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

    /**
     * Mean |φ| of one (variant, output) and its standard error, from exact sums of |φ| and φ² (mergeable, so the
     * summary of a table does not depend on how its rows are split into tasks), with the rows' counts.
     */
    static final class MeanAbs implements java.io.Serializable {
        private final ExactSum[] abs;
        private final ExactSum[] squares;
        long rows;
        long converged;
        long evaluations;

        MeanAbs(int groups) {
            abs = new ExactSum[groups];
            squares = new ExactSum[groups];
            for (int j = 0; j < groups; j++) {
                abs[j] = new ExactSum();
                squares[j] = new ExactSum();
            }
        }

        MeanAbs add(double[] phi, long rowEvaluations, boolean rowConverged) {
            for (int j = 0; j < abs.length; j++) {
                abs[j].add(Math.abs(phi[j]));
                squares[j].addProduct(phi[j], phi[j]);
            }
            rows++;
            converged += rowConverged ? 1 : 0;
            evaluations += rowEvaluations;
            return this;
        }

        MeanAbs merge(MeanAbs other) {
            for (int j = 0; j < abs.length; j++) {
                abs[j].merge(other.abs[j]);
                squares[j].merge(other.squares[j]);
            }
            rows += other.rows;
            converged += other.converged;
            evaluations += other.evaluations;
            return this;
        }

        /** NaN without rows. */
        double[] mean() {
            double[] mean = new double[abs.length];
            for (int j = 0; j < mean.length; j++) {
                mean[j] = abs[j].doubleValue() / rows;
            }
            return mean;
        }

        /** {@code sqrt(s² / n)}, with the sample variance of |φ|; 0 for a single row. */
        double[] standardError() {
            double[] mean = mean();
            double[] error = new double[abs.length];
            for (int j = 0; j < error.length; j++) {
                double variance = rows > 1 ? (squares[j].doubleValue() - rows * mean[j] * mean[j]) / (rows - 1) : 0.0;
                error[j] = Math.sqrt(Math.max(0.0, variance) / rows);
            }
            return error;
        }
    }

    /** Per {@code [variant, output]}, the mean |φ| summary of {@code shapRows} (rows of shap_values). */
    static Map<List<Object>, MeanAbs> summarise(Dataset<Row> shapRows) {
        JavaPairRDD<List<Object>, MeanAbs> perKey = shapRows
                .select("variant", "output", "phi", "n_evaluations", "converged").javaRDD()
                .mapToPair(r -> {
                    double[] phi = r.<Double>getList(2).stream().mapToDouble(Double::doubleValue).toArray();
                    return new Tuple2<>(List.<Object>of(r.getString(0), r.getInt(1)),
                            new MeanAbs(phi.length).add(phi, r.getLong(3), r.getBoolean(4)));
                })
                .reduceByKey(MeanAbs::merge);
        Map<List<Object>, MeanAbs> out = new HashMap<>();
        for (Tuple2<List<Object>, MeanAbs> t : perKey.collect()) { // one per (variant, output)
            out.put(t._1(), t._2());
        }
        return out;
    }
}
