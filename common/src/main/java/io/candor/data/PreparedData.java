package io.candor.data;

import io.candor.util.InputException;
import io.candor.util.Seeds;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.api.java.UDF1;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.storage.StorageLevel;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.udf;

/**
 * A dataset ready for training and evaluation: {@code frame} has {@code row_id}, {@code split} ("train" or "test"),
 * the normalised {@code features} vector and {@code label} (class index, or the raw target for regression).
 */
public record PreparedData(Dataset<Row> frame, Featurizer featurizer, List<String> classes, DatasetSpec spec,
                           long rows, long trainRows, long testRows, String fingerprint) {
    public static final String SPLIT = "split";
    public static final String TRAIN = "train";
    public static final String TEST = "test";
    /** Stream id of the train/test split draw, kept apart from every other use of the run seed. */
    private static final long SPLIT_STREAM = 0x5B117L;

    public boolean isClassification() {
        return spec.task() == DatasetSpec.Task.CLASSIFICATION;
    }

    /** Output width of the network: number of classes, or 1 for regression. */
    public int outputs() {
        return isClassification() ? classes.size() : 1;
    }

    /** Drops the frame's cache: the workflow that prepared it calls this when done (what is built on it still works). */
    public void release() {
        frame.unpersist(false);
    }

    public Dataset<Row> split(String which) {
        return frame.filter(col(SPLIT).equalTo(which));
    }

    /** Reads, validates, splits by (seed, row id), fits the featurizer on the training split and transforms all rows. */
    public static PreparedData prepare(SparkSession spark, DatasetSpec spec, long seed) {
        return prepare(spark, spec, seed, null, null);
    }

    /**
     * Like {@link #prepare(SparkSession, DatasetSpec, long)}, but with a model's own featurizer and classes: the
     * rows are transformed exactly as the model was trained, and must have the model's input columns and labels.
     */
    public static PreparedData prepareFor(SparkSession spark, DatasetSpec spec, long seed, Featurizer featurizer,
                                          List<String> classes, String model) {
        FeatureLayout layout = featurizer.layout();
        return prepare(spark, spec, seed, featurizer, new ModelInputs(layout, classes, model));
    }

    /** What a given model expects of the data. */
    private record ModelInputs(FeatureLayout layout, List<String> classes, String model) {
    }

    private static PreparedData prepare(SparkSession spark, DatasetSpec spec, long seed, Featurizer given,
                                        ModelInputs expected) {
        TabularReader.Parsed parsed = new TabularReader(spark, spec).read();
        double testFraction = spec.testFraction();
        var splitOf = udf((UDF1<Long, String>) id -> Seeds.uniform(seed, SPLIT_STREAM, id) < testFraction ? TEST : TRAIN,
                DataTypes.StringType);
        Dataset<Row> withSplit = parsed.frame().withColumn(SPLIT, splitOf.apply(col(TabularReader.ROW_ID)));

        List<String> classes = List.of();
        double labelMean = 0.0;
        double labelStd = 1.0;
        Dataset<Row> labelled;
        if (expected != null) {
            checkInputs(parsed, expected, spec);
        }
        if (spec.task() == DatasetSpec.Task.CLASSIFICATION) {
            classes = expected != null ? checkedClasses(withSplit, expected, spec) : classesOf(withSplit, spec);
            Map<String, Integer> index = new HashMap<>();
            for (int i = 0; i < classes.size(); i++) {
                index.put(classes.get(i), i);
            }
            var toIndex = udf((UDF1<String, Double>) s -> index.get(s).doubleValue(), DataTypes.DoubleType);
            labelled = withSplit.withColumn(TabularReader.LABEL, toIndex.apply(col(TabularReader.LABEL)));
        } else {
            Row stats = withSplit.filter(col(SPLIT).equalTo(TRAIN))
                    .agg(org.apache.spark.sql.functions.mean(TabularReader.LABEL),
                            org.apache.spark.sql.functions.stddev_samp(TabularReader.LABEL)).first();
            labelMean = stats.isNullAt(0) ? 0.0 : stats.getDouble(0);
            labelStd = stats.isNullAt(1) || !(stats.getDouble(1) > 1e-12) ? 1.0 : stats.getDouble(1);
            labelled = withSplit;
        }

        Dataset<Row> train = labelled.filter(col(SPLIT).equalTo(TRAIN));
        Featurizer featurizer = given != null ? given : Featurizer.fit(train, parsed.numeric(), parsed.categorical(),
                parsed.featureOrder(), spec, labelMean, labelStd);
        if (spec.isImage()) {
            int[] s = spec.imageShape();
            if (s[0] * s[1] * s[2] != featurizer.layout().size()) {
                throw new InputException("conf key dataset.image: " + s[0] + "x" + s[1] + "x" + s[2] + " = "
                        + s[0] * s[1] * s[2] + " values per image, but data file " + spec.path() + " gives "
                        + featurizer.layout().size() + " features (expected them to match)");
            }
        }
        Dataset<Row> frame = featurizer.transform(labelled)
                .select(TabularReader.ROW_ID, SPLIT, Featurizer.FEATURES, TabularReader.LABEL)
                .persist(StorageLevel.MEMORY_AND_DISK());
        long trainRows = frame.filter(col(SPLIT).equalTo(TRAIN)).count();
        parsed.release(); // the count materialised the frame's own cache
        long testRows = parsed.rows() - trainRows;
        if (trainRows == 0 || (testFraction > 0 && testRows == 0)) {
            throw new InputException("data file " + spec.path() + ": " + parsed.rows() + " rows give " + trainRows
                    + " training and " + testRows + " test rows (expected both splits non-empty; check dataset.test-fraction)");
        }
        return new PreparedData(frame, featurizer, classes, spec, parsed.rows(), trainRows, testRows,
                parsed.fingerprint());
    }

    private static void checkInputs(TabularReader.Parsed parsed, ModelInputs expected, DatasetSpec spec) {
        if (!expected.layout().numericColumns().equals(parsed.numeric())
                || !expected.layout().categoricalColumns().equals(parsed.categorical())) {
            throw new InputException("model " + expected.model() + ": expects numeric columns "
                    + expected.layout().numericColumns() + " and categorical columns "
                    + expected.layout().categoricalColumns() + ", but the conf reads " + parsed.numeric() + " and "
                    + parsed.categorical() + " from data file " + spec.path() + " (expected the model's inputs)");
        }
    }

    private static List<String> checkedClasses(Dataset<Row> rows, ModelInputs expected, DatasetSpec spec) {
        List<String> unknown = new ArrayList<>();
        for (Row r : rows.select(TabularReader.LABEL).distinct().limit(10_001).collectAsList()) {
            if (!expected.classes().contains(r.getString(0))) {
                unknown.add(r.getString(0));
            }
        }
        if (!unknown.isEmpty()) {
            throw new InputException("data file " + spec.path() + ": label values " + unknown.subList(0,
                    Math.min(5, unknown.size())) + " are not classes of model " + expected.model() + " (expected one of "
                    + expected.classes() + ")");
        }
        return expected.classes();
    }

    /** Distinct labels, numerically ordered when all are numbers (so "10" follows "9"), else alphabetically. */
    private static List<String> classesOf(Dataset<Row> rows, DatasetSpec spec) {
        List<String> classes = new ArrayList<>();
        for (Row r : rows.select(TabularReader.LABEL).distinct().limit(10_001).collectAsList()) {
            classes.add(r.getString(0));
        }
        if (classes.size() > 10_000) {
            throw new InputException("conf key dataset.label: column '" + spec.label() + "' of data file " + spec.path()
                    + " has over 10000 distinct values (expected a class label; is dataset.task regression?)");
        }
        if (classes.size() < 2) {
            throw new InputException("conf key dataset.label: column '" + spec.label() + "' of data file " + spec.path()
                    + " has one class only (" + classes + "; expected at least 2 classes for classification)");
        }
        boolean numeric = classes.stream().allMatch(PreparedData::isNumber);
        classes.sort(numeric ? (a, b) -> Double.compare(Double.parseDouble(a), Double.parseDouble(b)) : String::compareTo);
        return List.copyOf(classes);
    }

    private static boolean isNumber(String s) {
        try {
            Double.parseDouble(s);
            return true;
        } catch (NumberFormatException e) {
            return false;
        }
    }
}
