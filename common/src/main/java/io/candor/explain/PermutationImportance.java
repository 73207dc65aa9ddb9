package io.candor.explain;

import io.candor.config.KnobParams;
import io.candor.config.Knobs;
import io.candor.data.Featurizer;
import io.candor.data.TabularReader;
import io.candor.model.ArtifactMetadata;
import io.candor.model.ModelArtifact;
import io.candor.util.Hashing;
import io.candor.util.InputException;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.ml.Transformer;
import org.apache.spark.ml.param.IntParam;
import org.apache.spark.ml.param.LongParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.param.StringArrayParam;
import org.apache.spark.ml.util.Identifiable;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.api.java.UDF1;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.udf;

/**
 * Permutation importance as a Spark ML {@link Transformer}, for users' own applications: give it a DataFrame with
 * the model's input columns and a label column; it returns one row per (feature group, metric) with the importance,
 * its spread and 95 % interval — the same computation as {@code candor importance} (exact or block mode).
 * <pre>{@code
 * Dataset<Row> importance = new PermutationImportance(ModelArtifact.load(spark, path))
 *     .setLabelCol("target").setNRepeats(10).transform(patients);
 * }</pre>
 */
public final class PermutationImportance extends Transformer {
    private static final long serialVersionUID = 1L;
    /** The {@code permutation_importance} table's columns, less those a run adds (run id, date, model, variant). */
    static final StructType OUTPUT = new StructType(java.util.Arrays.stream(
            io.candor.store.Table.PERMUTATION_IMPORTANCE.schema().fields())
            .filter(f -> !List.of("run_id", "audit_date", "model", "variant").contains(f.name()))
            .toArray(org.apache.spark.sql.types.StructField[]::new));

    private final String uid;
    private final transient ModelArtifact artifact;
    private final Param<String> labelCol;
    private final Param<String> idCol;
    private final LongParam seed;
    private final IntParam nRepeats;
    private final Param<String> mode;
    private final StringArrayParam metrics;
    private final LongParam batchValues;

    public PermutationImportance(ModelArtifact artifact) {
        this(Identifiable.randomUID("permutationImportance"), artifact);
    }

    private PermutationImportance(String uid, ModelArtifact artifact) {
        this.uid = uid;
        this.artifact = artifact;
        labelCol = new Param<>(this, "labelCol", "label column (class names or numbers as in training, or the target)");
        idCol = new Param<>(this, "idCol", "column of unique integer row ids; empty: the rows' order");
        seed = KnobParams.longParam(this, "seed", Knobs.RUN_SEED);
        nRepeats = KnobParams.intParam(this, "nRepeats", Knobs.IMPORTANCE_N_REPEATS);
        mode = KnobParams.stringParam(this, "mode", Knobs.IMPORTANCE_MODE);
        metrics = KnobParams.stringArrayParam(this, "metrics", Knobs.IMPORTANCE_METRICS);
        batchValues = KnobParams.longParam(this, "batchValues", Knobs.IMPORTANCE_BATCH_VALUES);
        setDefault(labelCol, "label");
        setDefault(idCol, "");
        setDefault(seed, Knobs.RUN_SEED.defaultValue());
        setDefault(nRepeats, Knobs.IMPORTANCE_N_REPEATS.defaultValue());
        setDefault(mode, Knobs.IMPORTANCE_MODE.defaultValue());
        setDefault(metrics, Knobs.IMPORTANCE_METRICS.defaultValue().toArray(new String[0]));
        setDefault(batchValues, Knobs.IMPORTANCE_BATCH_VALUES.defaultValue());
    }

    public Param<String> labelCol() { return labelCol; }
    public Param<String> idCol() { return idCol; }
    public LongParam seed() { return seed; }
    public IntParam nRepeats() { return nRepeats; }
    public Param<String> mode() { return mode; }
    public StringArrayParam metrics() { return metrics; }
    public LongParam batchValues() { return batchValues; }

    public PermutationImportance setLabelCol(String value) { set(labelCol, value); return this; }
    public PermutationImportance setIdCol(String value) { set(idCol, value); return this; }
    public PermutationImportance setSeed(long value) { set(seed, value); return this; }
    public PermutationImportance setNRepeats(int value) { set(nRepeats, value); return this; }
    public PermutationImportance setMode(String value) { set(mode, value); return this; }
    public PermutationImportance setMetrics(String... value) { set(metrics, value); return this; }
    public PermutationImportance setBatchValues(long value) { set(batchValues, value); return this; }

    @Override
    public String uid() {
        return uid;
    }

    @Override
    public StructType transformSchema(StructType schema) {
        artifact.metadata().requireColumns(schema, $(idCol).isEmpty() ? List.of($(labelCol))
                : List.of($(labelCol), $(idCol)));
        return OUTPUT;
    }

    @Override
    public Dataset<Row> transform(Dataset<?> dataset) {
        transformSchema(dataset.schema());
        SparkSession spark = dataset.sparkSession();
        ArtifactMetadata m = artifact.metadata();
        Dataset<Row> rows = withIds(dataset.toDF());
        Dataset<Row> labelled = rows.withColumn(TabularReader.LABEL, labelIndex(m).apply(col($(labelCol))));
        Dataset<Row> input = artifact.featurizer().transform(labelled)
                .select(TabularReader.ROW_ID, Featurizer.FEATURES, TabularReader.LABEL);

        int inputs = m.featureNames().size();
        int outputs = m.isClassification() ? m.classes().size() : 1;
        List<String> chosen = $(metrics).length == 0 ? ScoreAccumulator.metricNames(m.isClassification(), outputs)
                : List.of($(metrics));
        List<String> allowed = ScoreAccumulator.metricNames(m.isClassification(), outputs);
        for (String metric : chosen) {
            if (!allowed.contains(metric)) {
                throw new InputException("metrics: '" + metric + "' does not fit model " + m.model() + " (expected one of "
                        + allowed + ")");
            }
        }
        Broadcast<byte[]> zip = JavaSparkContext.fromSparkContext(spark.sparkContext()).broadcast(artifact.networkZip());
        try {
            ModelSource source = new ArtifactModelSource(zip, Hashing.sha256(artifact.networkZip()), inputs, outputs,
                    m.isClassification() ? null : m.normalizer());
            // IntParam and LongParam are Param<Object> from Java: unbox explicitly.
            var options = new PermutationImportanceJob.Options((Integer) $(nRepeats),
                    ImportanceSpec.Mode.valueOf($(mode).toUpperCase(Locale.ROOT)), 0, (Long) $(seed),
                    (Long) $(batchValues), chosen,
                    "importance " + m.model() + "/" + m.variant());
            List<Row> out = new ArrayList<>();
            for (ImportanceResult r : PermutationImportanceJob.run(spark, input, source, m.groups(), inputs,
                    m.isClassification(), outputs, options)) {
                out.add(RowFactory.create(r.feature(), r.metric(), r.baseline(), r.mean(), r.std(), r.ciLow(),
                        r.ciHigh(), r.nRepeats(), r.rank(), r.mode(), r.rows()));
            }
            return spark.createDataFrame(out, OUTPUT);
        } finally {
            zip.destroy();
        }
    }

    private Dataset<Row> withIds(Dataset<Row> rows) {
        if (!$(idCol).isEmpty()) {
            return rows.withColumn(TabularReader.ROW_ID, col($(idCol)).cast(DataTypes.LongType));
        }
        return TabularReader.withPositions(rows, TabularReader.ROW_ID);
    }

    /** Class name to index as the model was trained; an unknown class fails the task with a named value. */
    private static org.apache.spark.sql.expressions.UserDefinedFunction labelIndex(ArtifactMetadata m) {
        if (!m.isClassification()) {
            return udf((UDF1<Object, Double>) v -> Double.parseDouble(v.toString()), DataTypes.DoubleType);
        }
        Map<String, Double> index = new HashMap<>();
        for (int i = 0; i < m.classes().size(); i++) {
            index.put(m.classes().get(i), (double) i);
            index.put(normalise(m.classes().get(i)), (double) i);
        }
        List<String> classes = m.classes();
        return udf((UDF1<Object, Double>) v -> {
            Double i = v == null ? null : index.getOrDefault(v.toString().trim(), index.get(normalise(v.toString())));
            if (i == null) {
                throw new InputException("label value '" + v + "' is not a class of the model (expected one of "
                        + classes + ")");
            }
            return i;
        }, DataTypes.DoubleType);
    }

    /** "1.0" and "1" name the same numeric class (a DataFrame may hold labels as doubles). */
    private static String normalise(String label) {
        try {
            double d = Double.parseDouble(label.trim());
            return d == Math.rint(d) ? String.valueOf((long) d) : String.valueOf(d);
        } catch (NumberFormatException e) {
            return label.trim();
        }
    }

    @Override
    public PermutationImportance copy(ParamMap extra) {
        return copyValues(new PermutationImportance(uid, artifact), extra);
    }
}
