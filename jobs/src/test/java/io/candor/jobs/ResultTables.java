package io.candor.jobs;

import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import scala.collection.Seq;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

import static org.apache.spark.sql.functions.col;

/**
 * Candor's result tables read back from Parquet and compared row by row. Reads use a local SparkSession that is
 * opened for the read and stopped after it, so that the next in-process job opens the master it asks for instead of
 * reusing this one.
 */
final class ResultTables {
    private ResultTables() {
    }

    /**
     * One table's rows, sorted: each row's key (every column but the doubles, rendered as one line) and its doubles
     * (double columns and double arrays, flattened in column order).
     */
    record Rows(List<String> keys, List<double[]> values) {
    }

    /** The largest difference between two reads' doubles, and what did not match (empty when all did). */
    record Comparison(double largestDifference, String mismatches) {
    }

    /** Reads {@code tables} under {@code root}, leaving out {@code ignored} columns and every timestamp. */
    static Map<String, Rows> read(Path root, Set<String> ignored, List<String> tables) {
        return withSession(spark -> {
            Map<String, Rows> all = new LinkedHashMap<>();
            for (String table : tables) {
                Dataset<Row> df = spark.read().parquet(root.resolve(table).toString());
                for (StructField f : df.schema().fields()) {
                    if (ignored.contains(f.name()) || f.dataType().equals(DataTypes.TimestampType)) {
                        df = df.drop(f.name());
                    }
                }
                all.put(table, rows(df));
            }
            return all;
        });
    }

    /** One row as {@code field=value} cells joined by commas (arrays as lists), leaving out the {@code skipped} fields. */
    static String line(Row r, String[] fields, java.util.function.Predicate<String> skipped) {
        List<String> cells = new ArrayList<>();
        for (String f : fields) {
            if (!skipped.test(f)) {
                Object v = r.get(r.fieldIndex(f));
                cells.add(f + "=" + (v instanceof Seq<?> s
                        ? scala.collection.JavaConverters.seqAsJavaList(s).toString() : String.valueOf(v)));
            }
        }
        return String.join(",", cells);
    }

    private static Rows rows(Dataset<Row> df) {
        StructField[] fields = df.schema().fields();
        record Line(String key, double[] values) {
        }
        List<Line> lines = new ArrayList<>();
        for (Row r : df.collectAsList()) {
            StringBuilder key = new StringBuilder();
            List<Double> values = new ArrayList<>();
            for (int i = 0; i < fields.length; i++) {
                DataType type = fields[i].dataType();
                if (type.equals(DataTypes.DoubleType)) {
                    values.add(r.getDouble(i));
                } else if (type instanceof ArrayType a && a.elementType().equals(DataTypes.DoubleType)) {
                    Seq<Object> seq = r.getSeq(i);
                    for (int j = 0; j < seq.length(); j++) {
                        values.add((Double) seq.apply(j));
                    }
                } else {
                    key.append(fields[i].name()).append('=').append(r.get(i)).append(' ');
                }
            }
            lines.add(new Line(key.toString().strip(), values.stream().mapToDouble(Double::doubleValue).toArray()));
        }
        lines.sort(Comparator.comparing(Line::key));
        return new Rows(lines.stream().map(Line::key).toList(), lines.stream().map(Line::values).toList());
    }

    /**
     * Compares {@code actual} with {@code expected}: the same keys in every table, and doubles within
     * {@code tolerance} of each other (absolute; 0 asks for bit-equal values).
     */
    static Comparison compare(Map<String, Rows> expected, Map<String, Rows> actual, double tolerance) {
        StringBuilder mismatches = new StringBuilder();
        double largest = 0;
        for (Map.Entry<String, Rows> e : expected.entrySet()) {
            String table = e.getKey();
            Rows want = e.getValue();
            Rows got = actual.get(table);
            if (got == null || !want.keys().equals(got.keys())) {
                mismatches.append(table).append(": the rows differ, expected keys ").append(want.keys())
                        .append(" but found ").append(got == null ? "no table" : got.keys()).append('\n');
                continue;
            }
            for (int r = 0; r < want.keys().size(); r++) {
                double[] a = want.values().get(r);
                double[] b = got.values().get(r);
                if (a.length != b.length) {
                    mismatches.append(table).append(" [").append(want.keys().get(r)).append("]: ").append(a.length)
                            .append(" values against ").append(b.length).append('\n');
                    continue;
                }
                for (int i = 0; i < a.length; i++) {
                    double d = Math.abs(a[i] - b[i]);
                    largest = Math.max(largest, Double.isNaN(d) ? Double.POSITIVE_INFINITY : d);
                    if (!(d <= tolerance) && Double.compare(a[i], b[i]) != 0) {
                        mismatches.append(String.format("%s [%s] value %d: %s against %s%n", table,
                                want.keys().get(r), i, a[i], b[i]));
                    }
                }
            }
        }
        return new Comparison(largest, mismatches.toString());
    }

    /** model_metrics as "split/metric" to value, for one model variant. */
    static Map<String, Double> metrics(Path root, String model, String variant) {
        return withSession(spark -> {
            Map<String, Double> values = new LinkedHashMap<>();
            spark.read().parquet(root.resolve("model_metrics").toString())
                    .filter(col("model").equalTo(model).and(col("variant").equalTo(variant)))
                    .orderBy("split", "metric").collectAsList()
                    .forEach(r -> values.put(r.getAs("split") + "/" + r.getAs("metric"), r.<Double>getAs("value")));
            return values;
        });
    }

    private static <T> T withSession(Function<SparkSession, T> reader) {
        SparkSession spark = SparkSession.builder().master("local[1]").appName("result-tables")
                .config("spark.ui.enabled", "false").config("spark.driver.host", "127.0.0.1").getOrCreate();
        try {
            return reader.apply(spark);
        } finally {
            spark.stop();
            SparkSession.clearActiveSession();
            SparkSession.clearDefaultSession();
        }
    }
}
