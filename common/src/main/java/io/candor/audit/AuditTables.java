package io.candor.audit;

import io.candor.store.Table;
import io.candor.store.TableWriter;
import io.candor.util.Seeds;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.api.java.UDF1;
import org.apache.spark.sql.types.DataTypes;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.not;
import static org.apache.spark.sql.functions.udf;

/**
 * The result tables of one model as an audit sees them: this date's partitions as they will be after the commit
 * (staged where the audit wrote them, otherwise committed by an earlier run of the date whose stage it skipped), and
 * earlier dates as committed.
 */
final class AuditTables {
    private final SparkSession spark;
    private final TableWriter committed;
    private final TableWriter staged;
    private final String date;
    private final String model;

    AuditTables(SparkSession spark, String root, String stagingRoot, String date, String model) {
        this.spark = spark;
        this.committed = new TableWriter(spark, root);
        this.staged = new TableWriter(spark, stagingRoot);
        this.date = date;
        this.model = model;
    }

    /**
     * This date's rows of {@code table}: the staged partitions, and committed ones for the variants not staged.
     * Brought to the driver: for the tables of few rows per variant (metrics, importance, global Shapley values),
     * whose size is variants x splits x metrics or variants x features x methods; shap_values has {@link #shapSample}.
     */
    List<Row> tonight(Table table) {
        return tonightFrame(table).collectAsList();
    }

    /**
     * Tonight's shap_values rows of at most {@code rows} row ids: those of smallest {@code Seeds.uniform(seed,
     * stream, row id)} among every variant's explained rows, the same ids for every variant, with all their outputs.
     * Chosen in Spark, so the driver holds variants x rows x outputs rows however many were explained.
     */
    List<Row> shapSample(int rows, long seed, long stream) {
        Dataset<Row> values = tonightFrame(Table.SHAP_VALUES);
        var order = udf((UDF1<Long, Double>) id -> Seeds.uniform(seed, stream, id), DataTypes.DoubleType);
        List<Long> ids = values.select("row_id").distinct()
                .orderBy(order.apply(col("row_id")), col("row_id")).limit(rows)
                .collectAsList().stream().map(r -> r.getLong(0)).toList();
        if (ids.isEmpty()) {
            return List.of();
        }
        return values.filter(col("row_id").isin(ids.toArray())).orderBy("variant", "row_id", "output")
                .collectAsList();
    }

    private Dataset<Row> tonightFrame(Table table) {
        Dataset<Row> stagedRows = select(staged, table, col("audit_date").cast("string").equalTo(date));
        // Distinct variants: a handful.
        Object[] stagedVariants = stagedRows.select("variant").distinct().collectAsList().stream()
                .map(r -> r.getString(0)).toArray();
        Dataset<Row> committedRows = select(committed, table, col("audit_date").cast("string").equalTo(date));
        return stagedRows.union(stagedVariants.length == 0 ? committedRows
                : committedRows.filter(not(col("variant").isin(stagedVariants))));
    }

    /** Committed rows of {@code table} from dates before this one. */
    List<Row> earlier(Table table) {
        // Earlier dates of the same bounded tables as tonight() (Drift reads metrics and importance).
        return select(committed, table, col("audit_date").cast("string").lt(date)).collectAsList();
    }

    /** Per variant, the test-split value of each metric, from {@code rows} of model_metrics. */
    static Map<String, Map<String, Double>> testMetrics(List<Row> metricRows) {
        return byVariant(metricRows, "split", "test", "metric", "value");
    }

    /** Per variant, feature to mean importance on {@code metric}, from permutation_importance rows. */
    static Map<String, Map<String, Double>> importance(List<Row> rows, String metric) {
        return byVariant(rows, "metric", metric, "feature", "importance_mean");
    }

    /** Per variant, feature to SAGE value, from shapley_global rows. */
    static Map<String, Map<String, Double>> sage(List<Row> rows) {
        return byVariant(rows, "method", "sage", "feature", "value");
    }

    /** Per variant, {@code key} to {@code value} of the rows whose {@code column} equals {@code wanted}. */
    private static Map<String, Map<String, Double>> byVariant(List<Row> rows, String column, String wanted, String key,
                                                              String value) {
        Map<String, Map<String, Double>> out = new TreeMap<>();
        for (Row r : rows) {
            if (r.<String>getAs(column).equals(wanted)) {
                out.computeIfAbsent(r.getAs("variant"), v -> new LinkedHashMap<>())
                        .put(r.getAs(key), r.<Double>getAs(value));
            }
        }
        return out;
    }

    private Dataset<Row> select(TableWriter writer, Table table, org.apache.spark.sql.Column dateFilter) {
        String path = writer.path(table);
        if (!exists(path)) {
            return spark.createDataFrame(List.of(), table.schema());
        }
        // Read with the table's own schema: partition values stay strings instead of inferred dates.
        Dataset<Row> frame = spark.read().schema(table.schema()).option("basePath", path).parquet(path);
        String[] columns = java.util.Arrays.stream(table.schema().fieldNames()).toArray(String[]::new);
        return frame.filter(dateFilter.and(col("model").equalTo(model)))
                .select(columns[0], java.util.Arrays.copyOfRange(columns, 1, columns.length));
    }

    private boolean exists(String path) {
        try {
            Path p = new Path(path);
            return p.getFileSystem(spark.sparkContext().hadoopConfiguration()).exists(p);
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + path, e);
        }
    }
}
