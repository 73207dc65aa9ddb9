package io.candor.store;

import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

import java.util.List;

/**
 * The result tables (README, "Output tables"): name, schema, partition columns and write mode. Every table carries
 * {@code run_id}, {@code audit_date}, {@code model} and {@code variant}.
 */
public enum Table {
    /** Every run attempt, appended: what ran, on what, with which conf, and how it ended. */
    RUNS("runs", new StructType()
            .add("run_id", DataTypes.StringType, false)
            .add("job", DataTypes.StringType, false)
            .add("model", DataTypes.StringType, false)
            .add("variant", DataTypes.StringType, false)
            .add("started_at", DataTypes.TimestampType, false)
            .add("finished_at", DataTypes.TimestampType, false)
            .add("status", DataTypes.StringType, false)
            .add("conf", DataTypes.StringType, false)
            .add("conf_sha256", DataTypes.StringType, false)
            .add("data_path", DataTypes.StringType, false)
            .add("rows", DataTypes.LongType, false)
            .add("data_fingerprint", DataTypes.StringType, false)
            .add("seed", DataTypes.LongType, false)
            .add("spark_app_id", DataTypes.StringType, false)
            .add("spark_master", DataTypes.StringType, false)
            .add("candor_version", DataTypes.StringType, false)
            .add("backend", DataTypes.StringType, false)
            .add("audit_date", DataTypes.StringType, false),
            List.of("audit_date"), Mode.APPEND),

    /** One row per (variant, split, metric), with the variant's size. */
    MODEL_METRICS("model_metrics", new StructType()
            .add("run_id", DataTypes.StringType, false)
            .add("split", DataTypes.StringType, false)
            .add("metric", DataTypes.StringType, false)
            .add("value", DataTypes.DoubleType, false)
            .add("rows", DataTypes.LongType, false)
            .add("size_bytes", DataTypes.LongType, false)
            .add("parameter_count", DataTypes.LongType, false)
            .add("bits", DataTypes.IntegerType, false)
            .add("audit_date", DataTypes.StringType, false)
            .add("model", DataTypes.StringType, false)
            .add("variant", DataTypes.StringType, false),
            List.of("audit_date", "model", "variant"), Mode.REPLACE_PARTITIONS),

    /** One row per weighted layer of a quantized variant: bit widths, scales, zero points and weight error. */
    QUANTIZATION("quantization", new StructType()
            .add("run_id", DataTypes.StringType, false)
            .add("layer", DataTypes.IntegerType, false)
            .add("layer_type", DataTypes.StringType, false)
            .add("bits", DataTypes.IntegerType, false)
            .add("activation_bits", DataTypes.IntegerType, false)
            .add("scheme", DataTypes.StringType, false)
            .add("parameter_count", DataTypes.LongType, false)
            .add("weight_scale_min", DataTypes.DoubleType, false)
            .add("weight_scale_max", DataTypes.DoubleType, false)
            .add("weight_scale_mean", DataTypes.DoubleType, false)
            .add("max_abs_weight_error", DataTypes.DoubleType, false)
            .add("input_scale", DataTypes.DoubleType, false)
            .add("input_zero_point", DataTypes.IntegerType, false)
            .add("output_scale", DataTypes.DoubleType, true)
            .add("output_zero_point", DataTypes.IntegerType, true)
            .add("calibration_method", DataTypes.StringType, false)
            .add("calibration_rows", DataTypes.LongType, false)
            .add("audit_date", DataTypes.StringType, false)
            .add("model", DataTypes.StringType, false)
            .add("variant", DataTypes.StringType, false),
            List.of("audit_date", "model", "variant"), Mode.REPLACE_PARTITIONS),

    /** One row per (variant, feature group, metric): importance with its spread and interval. */
    PERMUTATION_IMPORTANCE("permutation_importance", new StructType()
            .add("run_id", DataTypes.StringType, false)
            .add("feature", DataTypes.StringType, false)
            .add("metric", DataTypes.StringType, false)
            .add("baseline", DataTypes.DoubleType, false)
            .add("importance_mean", DataTypes.DoubleType, false)
            .add("importance_std", DataTypes.DoubleType, false)
            .add("ci_low", DataTypes.DoubleType, false)
            .add("ci_high", DataTypes.DoubleType, false)
            .add("n_repeats", DataTypes.IntegerType, false)
            .add("rank", DataTypes.IntegerType, false)
            .add("mode", DataTypes.StringType, false)
            .add("rows", DataTypes.LongType, false)
            .add("audit_date", DataTypes.StringType, false)
            .add("model", DataTypes.StringType, false)
            .add("variant", DataTypes.StringType, false),
            List.of("audit_date", "model", "variant"), Mode.REPLACE_PARTITIONS),

    /** Per-row Shapley values: one row per (variant, row, output); phi in feature-group order. */
    SHAP_VALUES("shap_values", new StructType()
            .add("run_id", DataTypes.StringType, false)
            .add("row_id", DataTypes.LongType, false)
            .add("output", DataTypes.IntegerType, false)
            .add("base_value", DataTypes.DoubleType, false)
            .add("prediction", DataTypes.DoubleType, false)
            .add("phi", DataTypes.createArrayType(DataTypes.DoubleType, false), false)
            .add("std_error", DataTypes.createArrayType(DataTypes.DoubleType, false), false)
            .add("estimator", DataTypes.StringType, false)
            .add("n_evaluations", DataTypes.LongType, false)
            .add("converged", DataTypes.BooleanType, false)
            .add("audit_date", DataTypes.StringType, false)
            .add("model", DataTypes.StringType, false)
            .add("variant", DataTypes.StringType, false),
            List.of("audit_date", "model", "variant"), Mode.REPLACE_PARTITIONS),

    /** Dataset-wide Shapley values per feature group: mean |phi| of the rows explained, and SAGE. */
    SHAPLEY_GLOBAL("shapley_global", new StructType()
            .add("run_id", DataTypes.StringType, false)
            .add("feature", DataTypes.StringType, false)
            .add("method", DataTypes.StringType, false)
            .add("output", DataTypes.IntegerType, false)
            .add("value", DataTypes.DoubleType, false)
            .add("std_error", DataTypes.DoubleType, false)
            .add("n_evaluations", DataTypes.LongType, false)
            .add("audit_date", DataTypes.StringType, false)
            .add("model", DataTypes.StringType, false)
            .add("variant", DataTypes.StringType, false),
            List.of("audit_date", "model", "variant"), Mode.REPLACE_PARTITIONS),

    /**
     * One row per pair of variants of an audit (variant = variant_a): does compression change what the model predicts
     * and relies on? Rank correlations and top-k overlaps of permutation importance (primary metric) and SAGE.
     */
    VARIANT_COMPARISON("variant_comparison", new StructType()
            .add("run_id", DataTypes.StringType, false)
            .add("variant_a", DataTypes.StringType, false)
            .add("variant_b", DataTypes.StringType, false)
            .add("rows", DataTypes.LongType, false)
            .add("prediction_agreement", DataTypes.DoubleType, false)
            .add("primary_metric", DataTypes.StringType, false)
            .add("metric_a", DataTypes.DoubleType, false)
            .add("metric_b", DataTypes.DoubleType, false)
            .add("metric_delta", DataTypes.DoubleType, false)
            .add("metric_deltas", DataTypes.createMapType(DataTypes.StringType, DataTypes.DoubleType, false), false)
            .add("spearman_permutation", DataTypes.DoubleType, true)
            .add("kendall_permutation", DataTypes.DoubleType, true)
            .add("spearman_sage", DataTypes.DoubleType, true)
            .add("kendall_sage", DataTypes.DoubleType, true)
            .add("top_k", DataTypes.IntegerType, false)
            .add("top_k_overlap_permutation", DataTypes.DoubleType, true)
            .add("top_k_overlap_sage", DataTypes.DoubleType, true)
            .add("shap_cosine_mean", DataTypes.DoubleType, true)
            .add("shap_rows", DataTypes.LongType, false)
            .add("audit_date", DataTypes.StringType, false)
            .add("model", DataTypes.StringType, false)
            .add("variant", DataTypes.StringType, false),
            List.of("audit_date", "model", "variant"), Mode.REPLACE_PARTITIONS),

    /**
     * One row per variant of an audit against the same variant on the most recent earlier audit date: primary-metric
     * change, importance rank agreement, features that entered or left the top k, and the thresholds breached.
     */
    DRIFT("drift", new StructType()
            .add("run_id", DataTypes.StringType, false)
            .add("previous_audit_date", DataTypes.StringType, false)
            .add("previous_run_id", DataTypes.StringType, false)
            .add("primary_metric", DataTypes.StringType, false)
            .add("previous_value", DataTypes.DoubleType, false)
            .add("current_value", DataTypes.DoubleType, false)
            .add("metric_delta", DataTypes.DoubleType, false)
            .add("metric_deltas", DataTypes.createMapType(DataTypes.StringType, DataTypes.DoubleType, false), false)
            .add("spearman_permutation", DataTypes.DoubleType, true)
            .add("kendall_permutation", DataTypes.DoubleType, true)
            .add("top_k", DataTypes.IntegerType, false)
            .add("entered_top_k", DataTypes.createArrayType(DataTypes.StringType, false), false)
            .add("left_top_k", DataTypes.createArrayType(DataTypes.StringType, false), false)
            .add("breached", DataTypes.createArrayType(DataTypes.StringType, false), false)
            .add("audit_date", DataTypes.StringType, false)
            .add("model", DataTypes.StringType, false)
            .add("variant", DataTypes.StringType, false),
            List.of("audit_date", "model", "variant"), Mode.REPLACE_PARTITIONS);

    /** APPEND keeps every row; REPLACE_PARTITIONS swaps exactly the partitions written (idempotent re-runs). */
    public enum Mode { APPEND, REPLACE_PARTITIONS }

    private final String tableName;
    private final StructType schema;
    private final List<String> partitionColumns;
    private final Mode mode;

    Table(String tableName, StructType schema, List<String> partitionColumns, Mode mode) {
        this.tableName = tableName;
        this.schema = schema;
        this.partitionColumns = partitionColumns;
        this.mode = mode;
    }

    public String tableName() {
        return tableName;
    }

    public StructType schema() {
        return schema;
    }

    public List<String> partitionColumns() {
        return partitionColumns;
    }

    public Mode mode() {
        return mode;
    }
}
