package io.candor.data;

import io.candor.util.InputException;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.LocatedFileStatus;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RemoteIterator;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.NumericType;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.storage.StorageLevel;
import org.apache.spark.util.SerializableConfiguration;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.min;
import static org.apache.spark.sql.functions.trim;
import static org.apache.spark.sql.functions.when;

/**
 * Reads a dataset (CSV or Parquet) through Spark and validates it before anything is trained or written: the file
 * exists and has rows, the conf's columns exist, numeric cells are numbers, and missing, NaN or infinite values are
 * handled as {@code dataset.missing.policy} says. Output columns: {@code row_id} (long, stable), each numeric column as
 * double (null where missing and the policy imputes), each categorical column as string, and {@code label} as
 * string (classification) or double (regression).
 */
public final class TabularReader {
    /** Longest CSV field read; a longer one (a runaway quote, a binary file) is an input error, not an OOM. */
    static final int MAX_FIELD_CHARS = 1_000_000;
    /**
     * Most rows a partition keeps past the read: Spark cuts files by bytes (128 MB of compressed Parquet is about a
     * million rows of 20 doubles), and a cached partition that large, spilled and read back whole, ran a 3 GB
     * executor out of heap (bench scale, 16M rows).
     */
    static final long MAX_ROWS_PER_PARTITION = 250_000;
    /** Bytes per range the fingerprint hashes in one task. */
    static final long FINGERPRINT_RANGE_BYTES = 64L << 20;

    public static final String ROW_ID = "row_id";
    public static final String LABEL = "label";
    static final String MISSING_CATEGORY = "(missing)";
    private static final String CORRUPT = "_corrupt_record";

    private final SparkSession spark;
    private final DatasetSpec spec;

    public TabularReader(SparkSession spark, DatasetSpec spec) {
        this.spark = spark;
        this.spec = spec;
    }

    /**
     * The parsed, validated rows and the columns they were read as.
     *
     * @param featureOrder the feature columns (numeric and categorical) in the file's order
     * @param caches       what reading cached; {@link #release()} drops them once whatever was built from {@code frame}
     *                     has its own cache (kept, they pile up across the workflows of one session)
     */
    public record Parsed(Dataset<Row> frame, List<String> numeric, List<String> categorical, List<String> featureOrder,
                         long rows, String fingerprint, List<Dataset<Row>> caches) {
        public void release() {
            caches.forEach(c -> c.unpersist(false));
        }
    }

    public Parsed read() {
        try {
            return readChecked();
        } catch (Exception e) {
            throw asInputError(spec, e);
        }
    }

    /**
     * {@code e} as the input error it is, or {@code e} itself. Spark runs the CSV parser lazily, in whichever action
     * first touches a field, so an over-long field surfaces in any of this reader's Spark jobs, wrapped in the job's
     * failure (a checked SparkException that Scala throws undeclared).
     */
    private static RuntimeException asInputError(DatasetSpec spec, Exception e) {
        if (!(e instanceof io.candor.util.CandorException)
                && causedBy(e, "com.univocity.parsers.common.TextParsingException")) {
            return new InputException("data file " + spec.path() + ": a field is longer than " + MAX_FIELD_CHARS
                    + " characters (expected CSV fields of at most " + MAX_FIELD_CHARS + " characters)", e);
        }
        return e instanceof RuntimeException r ? r : new IllegalStateException(rootMessage(e), e);
    }

    private Parsed readChecked() {
        Path path = new Path(spec.path());
        String fingerprint = fingerprint(path);
        List<Dataset<Row>> caches = new ArrayList<>();
        Dataset<Row> raw = spec.resolvedFormat() == DatasetSpec.Format.CSV ? readCsv(caches) : readParquet();
        List<String> columns = Arrays.asList(raw.columns());

        checkColumn(spec.label(), "dataset.label", columns);
        if (!spec.idColumn().isEmpty()) {
            checkColumn(spec.idColumn(), "dataset.id-column", columns);
        }
        for (String c : spec.categorical()) {
            checkColumn(c, "dataset.categorical", columns);
        }
        List<String> numeric = new ArrayList<>();
        if (spec.features().isEmpty()) {
            for (String c : columns) {
                if (!c.equals(spec.label()) && !c.equals(spec.idColumn()) && !c.equals(CORRUPT)
                        && !spec.categorical().contains(c)) {
                    numeric.add(c);
                }
            }
        } else {
            for (String c : spec.features()) {
                checkColumn(c, "dataset.features", columns);
                if (spec.categorical().contains(c) || c.equals(spec.label())) {
                    throw new InputException("conf key dataset.features: column '" + c
                            + "' is also the label or a categorical column (expected each column in one role)");
                }
                numeric.add(c);
            }
        }
        // Keep the file's column order for the model input: groups then read in the order a person expects.
        List<String> categorical = new ArrayList<>();
        for (String c : columns) {
            if (spec.categorical().contains(c)) {
                categorical.add(c);
            }
        }
        if (numeric.isEmpty() && categorical.isEmpty()) {
            throw new InputException("data file " + spec.path() + ": no feature columns besides the label '"
                    + spec.label() + "' (expected at least one)");
        }

        Dataset<Row> withIds = boundedPartitions(withRowIds(raw), MAX_ROWS_PER_PARTITION);
        Dataset<Row> parsed = parse(withIds, numeric, categorical).persist(StorageLevel.MEMORY_AND_DISK());
        caches.add(parsed);
        Dataset<Row> handled = handleMissing(parsed, withIds, numeric, categorical);
        long rows = handled.count();
        if (rows == 0) {
            throw new InputException("data file " + spec.path() + ": no rows left after dataset.missing.policy = "
                    + spec.missingPolicy().name().toLowerCase() + " (expected at least one complete row)");
        }
        List<String> featureOrder = columns.stream().filter(c -> numeric.contains(c) || categorical.contains(c)).toList();
        return new Parsed(handled, List.copyOf(numeric), List.copyOf(categorical), featureOrder, rows, fingerprint,
                List.copyOf(caches));
    }

    private Dataset<Row> readCsv(List<Dataset<Row>> caches) {
        Dataset<Row> header;
        try {
            header = spark.read().option("header", "true").option("inferSchema", "false").csv(spec.path());
        } catch (Exception e) {
            throw new InputException("data file " + spec.path() + ": cannot be read as CSV: " + rootMessage(e), e);
        }
        if (header.columns().length == 0) {
            throw new InputException("data file " + spec.path() + ": is empty (expected a header row and data rows)");
        }
        // Explicit all-string schema plus a corrupt-record column: a ragged line becomes an error naming its line.
        StructType schema = new StructType();
        Set<String> seen = new LinkedHashSet<>();
        for (String c : header.columns()) {
            if (!seen.add(c)) {
                throw new InputException("data file " + spec.path() + ": column '" + c
                        + "' appears twice in the header (expected unique column names)");
            }
            schema = schema.add(c, DataTypes.StringType, true);
        }
        schema = schema.add(CORRUPT, DataTypes.StringType, true);
        Dataset<Row> rows = spark.read().schema(schema).option("header", "true").option("mode", "PERMISSIVE")
                .option("columnNameOfCorruptRecord", CORRUPT).option("maxCharsPerColumn", MAX_FIELD_CHARS)
                .csv(spec.path())
                .cache();
        caches.add(rows);
        Row bad;
        try {
            bad = rows.filter(col(CORRUPT).isNotNull()).select(CORRUPT).limit(1).collectAsList().stream()
                    .findFirst().orElse(null);
        } catch (Exception e) {
            if (causedBy(e, "com.univocity.parsers.common.TextParsingException")) {
                throw asInputError(spec, e);
            }
            throw new InputException("data file " + spec.path() + ": cannot be read as CSV: " + rootMessage(e), e);
        }
        if (bad != null) {
            String line = bad.getString(0);
            throw new InputException("data file " + spec.path() + ": line '" + abbreviate(line)
                    + "' does not have the header's " + header.columns().length + " fields (expected one value per column)");
        }
        return rows.drop(CORRUPT);
    }

    private Dataset<Row> readParquet() {
        try {
            return spark.read().parquet(spec.path());
        } catch (Exception e) {
            throw new InputException("data file " + spec.path() + ": cannot be read as Parquet: " + rootMessage(e), e);
        }
    }

    private void checkColumn(String column, String key, List<String> columns) {
        if (!columns.contains(column)) {
            List<String> shown = columns.size() > 20 ? columns.subList(0, 20) : columns;
            throw new InputException("conf key " + key + ": column '" + column + "' is not in data file " + spec.path()
                    + " (its columns: " + String.join(", ", shown) + (columns.size() > 20 ? ", ..." : "") + ")");
        }
    }

    /** Stable ids: the id column if the conf names one (checked unique), else the row's position in the file. */
    private Dataset<Row> withRowIds(Dataset<Row> raw) {
        if (!spec.idColumn().isEmpty()) {
            Dataset<Row> ids = raw.withColumn(ROW_ID, col(spec.idColumn()).cast(DataTypes.LongType));
            long total = ids.count();
            long distinct = ids.select(ROW_ID).filter(col(ROW_ID).isNotNull()).distinct().count();
            if (distinct != total) {
                throw new InputException("conf key dataset.id-column: column '" + spec.idColumn() + "' of data file "
                        + spec.path() + " has missing, non-integer or repeated values (expected a unique integer per row)");
            }
            return ids;
        }
        return withPositions(raw, ROW_ID);
    }

    /**
     * {@code rows} in partitions of at most {@code maxRows} rows, unchanged where they already are.
     * Ranges of row id, sorted within: the split depends only on the ids, so a retry or re-run gets the same
     * partitions in the same order (a hash repartition's order within a partition follows shuffle fetch order).
     */
    static Dataset<Row> boundedPartitions(Dataset<Row> rows, long maxRows) {
        long count = rows.count();
        long needed = (count + maxRows - 1) / maxRows;
        if (needed <= rows.rdd().getNumPartitions()) {
            return rows;
        }
        return rows.repartitionByRange((int) needed, col(ROW_ID)).sortWithinPartitions(ROW_ID);
    }

    /** Appends each row's position (0, 1, ...) in the frame's order as a long column. */
    public static Dataset<Row> withPositions(Dataset<Row> rows, String column) {
        StructType schema = rows.schema().add(column, DataTypes.LongType, false);
        var indexed = rows.javaRDD().zipWithIndex().map(t -> {
            Row r = t._1();
            Object[] values = new Object[r.size() + 1];
            for (int i = 0; i < r.size(); i++) {
                values[i] = r.get(i);
            }
            values[r.size()] = t._2();
            return RowFactory.create(values);
        });
        return rows.sparkSession().createDataFrame(indexed, schema);
    }

    private Dataset<Row> parse(Dataset<Row> raw, List<String> numeric, List<String> categorical) {
        List<Column> out = new ArrayList<>();
        out.add(col(ROW_ID));
        Column[] tokens = spec.missingTokens().stream().map(t -> lit(t)).toArray(Column[]::new);
        for (String c : numeric) {
            out.add(numericValue(raw, c, tokens).as(c));
        }
        for (String c : categorical) {
            Column text = trim(col(c).cast(DataTypes.StringType));
            out.add(when(text.isin((Object[]) tokens), lit(null).cast(DataTypes.StringType)).otherwise(text).as(c));
        }
        if (spec.task() == DatasetSpec.Task.REGRESSION) {
            out.add(numericValue(raw, spec.label(), tokens).as(LABEL));
        } else {
            Column text = trim(col(spec.label()).cast(DataTypes.StringType));
            out.add(when(text.isin((Object[]) tokens), lit(null).cast(DataTypes.StringType)).otherwise(text).as(LABEL));
        }
        checkNumbers(raw, numeric, tokens);
        return raw.select(out.toArray(new Column[0]));
    }

    /** The column as double; missing tokens and NaN/±Infinity become null (handled by the missing policy). */
    private Column numericValue(Dataset<Row> raw, String c, Column[] tokens) {
        DataType type = raw.schema().apply(c).dataType();
        Column value;
        if (type instanceof NumericType) {
            value = col(c).cast(DataTypes.DoubleType);
        } else if (type == DataTypes.StringType) {
            Column text = trim(col(c));
            value = when(text.isin((Object[]) tokens), lit(null)).otherwise(text.cast(DataTypes.DoubleType));
        } else {
            throw new InputException("data file " + spec.path() + ": column '" + c + "' has type " + type.simpleString()
                    + " (expected a numeric or string column)");
        }
        return when(value.isNaN().or(value.equalTo(Double.POSITIVE_INFINITY))
                .or(value.equalTo(Double.NEGATIVE_INFINITY)), lit(null).cast(DataTypes.DoubleType)).otherwise(value);
    }

    /** One pass finding, per numeric string column, the first row whose cell is neither a number nor missing. */
    private void checkNumbers(Dataset<Row> raw, List<String> numeric, Column[] tokens) {
        List<String> checked = new ArrayList<>();
        for (String c : numeric) {
            if (raw.schema().apply(c).dataType() == DataTypes.StringType) {
                checked.add(c);
            }
        }
        if (spec.task() == DatasetSpec.Task.REGRESSION
                && raw.schema().apply(spec.label()).dataType() == DataTypes.StringType) {
            checked.add(spec.label());
        }
        if (checked.isEmpty()) {
            return;
        }
        Column[] firstBad = checked.stream().map(c -> {
            Column text = trim(col(c));
            Column bad = text.isNotNull().and(functionsNot(text.isin((Object[]) tokens)))
                    .and(text.cast(DataTypes.DoubleType).isNull());
            return min(when(bad, col(ROW_ID))).as(c);
        }).toArray(Column[]::new);
        Row found = raw.agg(firstBad[0], Arrays.copyOfRange(firstBad, 1, firstBad.length)).first();
        for (int i = 0; i < checked.size(); i++) {
            if (!found.isNullAt(i)) {
                long rowId = found.getLong(i);
                String c = checked.get(i);
                String value = raw.filter(col(ROW_ID).equalTo(rowId)).select(c).first().getString(0);
                throw new InputException("data file " + spec.path() + ": column '" + c + "' " + rowName(rowId)
                        + " has '" + abbreviate(value) + "', which is not a number (expected a number or a missing token: "
                        + tokensText() + ")");
            }
        }
    }

    private static Column functionsNot(Column c) {
        return org.apache.spark.sql.functions.not(c);
    }

    private Dataset<Row> handleMissing(Dataset<Row> parsed, Dataset<Row> raw, List<String> numeric,
                                       List<String> categorical) {
        List<String> all = new ArrayList<>(numeric);
        all.addAll(categorical);
        all.add(LABEL);
        switch (spec.missingPolicy()) {
            case FAIL -> {
                Column[] firstMissing = all.stream().map(c -> min(when(col(c).isNull(), col(ROW_ID))).as(c))
                        .toArray(Column[]::new);
                Row found = parsed.agg(firstMissing[0], Arrays.copyOfRange(firstMissing, 1, firstMissing.length))
                        .first();
                for (int i = 0; i < all.size(); i++) {
                    if (!found.isNullAt(i)) {
                        long rowId = found.getLong(i);
                        String source = all.get(i).equals(LABEL) ? spec.label() : all.get(i);
                        Object value = raw.filter(col(ROW_ID).equalTo(rowId)).select(source).first().get(0);
                        throw new InputException("data file " + spec.path() + ": column '" + source + "' "
                                + rowName(rowId) + " is missing, NaN or infinite ('" + value + "') and dataset.missing.policy = fail"
                                + " (expected finite values, or policy drop or impute)");
                    }
                }
                return parsed;
            }
            case DROP -> {
                return parsed.na().drop(all.toArray(new String[0]));
            }
            case IMPUTE -> {
                // Labels cannot be imputed; numeric cells are imputed by the featurizer from training-split means.
                Dataset<Row> labelled = parsed.filter(col(LABEL).isNotNull());
                return categorical.isEmpty() ? labelled
                        : labelled.na().fill(MISSING_CATEGORY, categorical.toArray(new String[0]));
            }
            default -> throw new IllegalStateException(spec.missingPolicy().name());
        }
    }

    /**
     * A content hash of the data: every file under the path, in name order, with its relative name, its length and
     * the SHA-256 of each {@code rangeBytes} range of its bytes, in offset order. The ranges are hashed by Spark tasks,
     * so the driver lists the files and combines 32 bytes per range; the cut depends only on {@code rangeBytes}, so the
     * value is the same for any number of tasks or cluster. Identifies the data in provenance and lets later jobs
     * refuse results computed from other data.
     */
    private String fingerprint(Path path) {
        return fingerprint(path, FINGERPRINT_RANGE_BYTES, 0);
    }

    /** @param tasks Spark tasks over the ranges; 0: Spark's default parallelism */
    String fingerprint(Path path, long rangeBytes, int tasks) {
        try {
            Configuration hadoop = spark.sparkContext().hadoopConfiguration();
            FileSystem fs = path.getFileSystem(hadoop);
            if (!fs.exists(path)) {
                throw new InputException("data file " + spec.path() + ": does not exist (expected a CSV or Parquet file)");
            }
            List<FileStatus> files = new ArrayList<>();
            if (fs.getFileStatus(path).isDirectory()) {
                RemoteIterator<LocatedFileStatus> it = fs.listFiles(path, true);
                while (it.hasNext()) {
                    LocatedFileStatus f = it.next();
                    String name = f.getPath().getName();
                    if (!name.startsWith(".") && !name.startsWith("_")) {
                        files.add(f);
                    }
                }
            } else {
                files.add(fs.getFileStatus(path));
            }
            if (files.isEmpty() || files.stream().allMatch(f -> f.getLen() == 0)) {
                throw new InputException("data file " + spec.path() + ": is empty (expected a header row and data rows)");
            }
            files.sort((a, b) -> a.getPath().toString().compareTo(b.getPath().toString()));
            List<ByteRange> ranges = new ArrayList<>();
            for (FileStatus f : files) {
                for (long offset = 0; offset < f.getLen(); offset += rangeBytes) {
                    ranges.add(new ByteRange(f.getPath().toString(), offset, Math.min(rangeBytes, f.getLen() - offset)));
                }
            }
            JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
            Broadcast<SerializableConfiguration> conf = jsc.broadcast(new SerializableConfiguration(hadoop));
            List<byte[]> digests;
            try {
                int slices = Math.max(1, Math.min(ranges.size(), tasks > 0 ? tasks : jsc.defaultParallelism()));
                // collect keeps the list's order: the digests come back in (file, offset) order.
                digests = jsc.parallelize(ranges, slices).map(r -> r.sha256(conf.value().value())).collect();
            } finally {
                conf.destroy();
            }
            MessageDigest digest = MessageDigest.getInstance("SHA-256");
            int next = 0;
            for (FileStatus f : files) {
                digest.update(f.getPath().getName().getBytes(StandardCharsets.UTF_8));
                digest.update((byte) 0);
                digest.update(java.nio.ByteBuffer.allocate(Long.BYTES).putLong(f.getLen()).array());
                for (long offset = 0; offset < f.getLen(); offset += rangeBytes) {
                    digest.update(digests.get(next++));
                }
            }
            return HexFormat.of().formatHex(digest.digest());
        } catch (InputException e) {
            throw e;
        } catch (Exception e) {
            throw new InputException("data file " + spec.path() + ": cannot be read: " + rootMessage(e), e);
        }
    }

    /** {@code length} bytes of a file from {@code offset}; hashed where the task runs. */
    private record ByteRange(String file, long offset, long length) implements java.io.Serializable {
        byte[] sha256(Configuration hadoop) throws IOException, java.security.NoSuchAlgorithmException {
            Path path = new Path(file);
            MessageDigest digest = MessageDigest.getInstance("SHA-256");
            byte[] buffer = new byte[1 << 16];
            try (FSDataInputStream in = path.getFileSystem(hadoop).open(path)) {
                in.seek(offset);
                long left = length;
                while (left > 0) {
                    int n = in.read(buffer, 0, (int) Math.min(buffer.length, left));
                    if (n < 0) {
                        throw new IOException(file + " ended at " + (offset + length - left) + " bytes, expected "
                                + (offset + length) + " (the file changed while it was read)");
                    }
                    digest.update(buffer, 0, n);
                    left -= n;
                }
            }
            return digest.digest();
        }
    }

    /** How a person finds the row: its id, and for positional ids of a CSV, the file line (header is line 1). */
    private String rowName(long rowId) {
        boolean positional = spec.idColumn().isEmpty() && spec.resolvedFormat() == DatasetSpec.Format.CSV;
        return positional ? "row " + rowId + " (line " + (rowId + 2) + ")" : "row id " + rowId;
    }

    private String tokensText() {
        return spec.missingTokens().isEmpty() ? "none configured"
                : String.join(", ", spec.missingTokens().stream().map(t -> "'" + t + "'").toList());
    }

    static String abbreviate(String s) {
        if (s == null) {
            return "null";
        }
        String one = s.replace('\n', ' ').replace('\r', ' ');
        return one.length() > 80 ? one.substring(0, 77) + "..." : one;
    }

    /** Whether {@code className} failed, locally or in a task (whose exception reaches the driver as text). */
    private static boolean causedBy(Throwable e, String className) {
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t.getClass().getName().equals(className)
                    || (t.getMessage() != null && t.getMessage().contains(className))) {
                return true;
            }
        }
        return false;
    }

    static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        String m = t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
        return abbreviate(m.lines().findFirst().orElse(m));
    }
}
