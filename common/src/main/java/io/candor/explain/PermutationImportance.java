package io.candor.explain;

import io.candor.config.KnobParams;
import io.candor.config.Knobs;
import io.candor.data.FeatureGroup;
import io.candor.data.Featurizer;
import io.candor.data.Normalizer;
import io.candor.data.TabularReader;
import io.candor.model.ArtifactMetadata;
import io.candor.model.ModelArtifact;
import io.candor.model.Network;
import io.candor.util.Hashing;
import io.candor.util.InputException;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.ml.Transformer;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.ml.param.IntParam;
import org.apache.spark.ml.param.LongParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.param.StringArrayParam;
import org.apache.spark.ml.util.DefaultParamsReader$;
import org.apache.spark.ml.util.Identifiable;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.ml.util.MLWritable;
import org.apache.spark.ml.util.MLWriter;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.api.java.UDF1;
import org.apache.spark.sql.api.java.UDF2;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import scala.Option;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.udf;

/**
 * Permutation importance as a Spark ML stage, for users' own applications, over one of two model sources:
 * <ul>
 *   <li>a DL4J {@link MultiLayerNetwork} ({@link #setNetwork}) on a DataFrame with a {@code featuresCol} vector, a
 *   numeric {@code labelCol} (class index 0..K-1 for K &gt; 1 outputs, else the target) and an {@code idCol};
 *   {@code groups} ("name=i,j,k") makes sets of vector entries one feature;</li>
 *   <li>a Candor {@link ModelArtifact}, on the raw columns the model was trained on (its featurizer is applied,
 *   class names map as in training).</li>
 * </ul>
 * {@link #analyze} returns one typed {@link ImportanceResult} per (feature group, metric) with the importance, its
 * spread and 95 % interval, the same computation as {@code candor importance} (exact or block mode); {@code transform}
 * returns them as a DataFrame in the {@code permutation_importance} table's columns. Saved and loaded with the
 * network or the artifact beside the Spark ML metadata.
 * <pre>{@code
 * List<ImportanceResult> importance = new PermutationImportance().setNetwork(network).setNRepeats(10)
 *     .analyze(df);
 * }</pre>
 */
public final class PermutationImportance extends Transformer implements MLWritable {
    private static final long serialVersionUID = 1L;
    /** The {@code permutation_importance} table's columns, less those a run adds (run id, date, model, variant). */
    static final StructType OUTPUT = new StructType(java.util.Arrays.stream(
            io.candor.store.Table.PERMUTATION_IMPORTANCE.schema().fields())
            .filter(f -> !List.of("run_id", "audit_date", "model", "variant").contains(f.name()))
            .toArray(org.apache.spark.sql.types.StructField[]::new));
    private static final String ARTIFACT_DIR = "artifact";

    private final String uid;
    private transient ModelArtifact artifact;
    private byte[] networkZip;
    private final Param<String> featuresCol;
    private final StringArrayParam groups;
    private final Param<String> labelCol;
    private final Param<String> idCol;
    private final LongParam seed;
    private final IntParam nRepeats;
    private final Param<String> mode;
    private final StringArrayParam metrics;
    private final LongParam batchValues;

    /** A stage for a network given later with {@link #setNetwork}. */
    public PermutationImportance() {
        this(Identifiable.randomUID("permutationImportance"), null);
    }

    /** A stage for a Candor artifact, on the raw columns it was trained on. */
    public PermutationImportance(ModelArtifact artifact) {
        this(Identifiable.randomUID("permutationImportance"), artifact);
    }

    private PermutationImportance(String uid, ModelArtifact artifact) {
        this.uid = uid;
        this.artifact = artifact;
        featuresCol = ExplainerParams.featuresCol(this);
        groups = ExplainerParams.groups(this);
        labelCol = new Param<>(this, "labelCol", "label column: with a network, the class index or target; with an "
                + "artifact, class names or numbers as in training, or the target");
        idCol = new Param<>(this, "idCol", "column of unique integer row ids; empty: the rows' order");
        seed = ExplainerParams.seed(this);
        nRepeats = KnobParams.intParam(this, "nRepeats", Knobs.IMPORTANCE_N_REPEATS);
        mode = KnobParams.stringParam(this, "mode", Knobs.IMPORTANCE_MODE);
        metrics = KnobParams.stringArrayParam(this, "metrics", Knobs.IMPORTANCE_METRICS);
        batchValues = KnobParams.longParam(this, "batchValues", Knobs.IMPORTANCE_BATCH_VALUES);
        setDefault(labelCol, "label");
        setDefault(idCol, "");
        setDefault(nRepeats, Knobs.IMPORTANCE_N_REPEATS.defaultValue());
        setDefault(mode, Knobs.IMPORTANCE_MODE.defaultValue());
        setDefault(metrics, Knobs.IMPORTANCE_METRICS.defaultValue().toArray(new String[0]));
        setDefault(batchValues, Knobs.IMPORTANCE_BATCH_VALUES.defaultValue());
    }

    public Param<String> featuresCol() { return featuresCol; }
    public StringArrayParam groups() { return groups; }
    public Param<String> labelCol() { return labelCol; }
    public Param<String> idCol() { return idCol; }
    public LongParam seed() { return seed; }
    public IntParam nRepeats() { return nRepeats; }
    public Param<String> mode() { return mode; }
    public StringArrayParam metrics() { return metrics; }
    public LongParam batchValues() { return batchValues; }

    public PermutationImportance setFeaturesCol(String value) { set(featuresCol, value); return this; }
    public PermutationImportance setGroups(String... value) { set(groups, value.clone()); return this; }
    public PermutationImportance setLabelCol(String value) { set(labelCol, value); return this; }

    /** The network to analyse on a features vector (instead of an artifact on raw columns). */
    public PermutationImportance setNetwork(MultiLayerNetwork network) {
        if (network == null) {
            throw new InputException("PermutationImportance.setNetwork: network is null; expected an initialised "
                    + "MultiLayerNetwork");
        }
        byte[] zip = new Network(network).toBytes();
        KernelShapModel.shapeOf(zip);
        this.networkZip = zip;
        this.artifact = null;
        return this;
    }
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
        if (artifact != null) {
            artifact.metadata().requireColumns(schema, $(idCol).isEmpty() ? List.of($(labelCol))
                    : List.of($(labelCol), $(idCol)));
        } else if (networkZip != null) {
            ExplainerParams.requireVector(schema, "PermutationImportance", $(featuresCol));
            ExplainerParams.requireNumericLabel(schema, "PermutationImportance", $(labelCol));
            if (!$(idCol).isEmpty()) {
                ExplainerParams.requireIds(schema, "PermutationImportance", $(idCol));
            }
        } else {
            throw new InputException("PermutationImportance: no model; expected setNetwork(MultiLayerNetwork) or "
                    + "a ModelArtifact");
        }
        return OUTPUT;
    }

    /** The results of {@link #analyze} as a DataFrame of {@link #OUTPUT}'s columns. */
    @Override
    public Dataset<Row> transform(Dataset<?> dataset) {
        List<Row> out = new ArrayList<>();
        for (ImportanceResult r : analyze(dataset)) {
            out.add(RowFactory.create(r.feature(), r.metric(), r.baseline(), r.mean(), r.std(), r.ciLow(),
                    r.ciHigh(), r.nRepeats(), r.rank(), r.mode(), r.rows()));
        }
        return dataset.sparkSession().createDataFrame(out, OUTPUT);
    }

    /** One result per (feature group, metric); see the class doc for the columns each model source reads. */
    public List<ImportanceResult> analyze(Dataset<?> dataset) {
        transformSchema(dataset.schema());
        SparkSession spark = dataset.sparkSession();
        Dataset<Row> rows = withIds(dataset.toDF());
        Dataset<Row> input;
        List<FeatureGroup> players;
        int inputs;
        int outputs;
        boolean classification;
        Normalizer labelScale = null;
        byte[] zip;
        String label;
        if (artifact != null) {
            ArtifactMetadata m = artifact.metadata();
            Dataset<Row> labelled = rows.withColumn(TabularReader.LABEL, labelIndex(m).apply(col($(labelCol))));
            input = artifact.featurizer().transform(labelled)
                    .select(TabularReader.ROW_ID, Featurizer.FEATURES, TabularReader.LABEL);
            players = m.groups();
            inputs = m.featureNames().size();
            classification = m.isClassification();
            outputs = classification ? m.classes().size() : 1;
            labelScale = classification ? null : m.normalizer();
            zip = artifact.networkZip();
            label = m.model() + "/" + m.variant();
        } else {
            int[] shape = KernelShapModel.shapeOf(networkZip);
            inputs = shape[0];
            outputs = shape[1];
            classification = outputs > 1;
            input = rows.select(col(TabularReader.ROW_ID), col($(featuresCol)).as(Featurizer.FEATURES),
                    col($(labelCol)).cast(DataTypes.DoubleType).as(TabularReader.LABEL));
            requireValidRows(input, inputs, outputs);
            players = ExplainerParams.players("PermutationImportance", $(groups), inputs, $(featuresCol));
            zip = networkZip;
            label = "network " + uid;
        }
        List<String> allowed = ScoreAccumulator.metricNames(classification, outputs);
        List<String> chosen = $(metrics).length == 0 ? allowed : List.of($(metrics));
        for (String metric : chosen) {
            if (!allowed.contains(metric)) {
                throw new InputException("metrics: '" + metric + "' does not fit " + label + " (expected one of "
                        + allowed + ")");
            }
        }
        Broadcast<byte[]> shipped = JavaSparkContext.fromSparkContext(spark.sparkContext()).broadcast(zip);
        try {
            ModelSource source = new ArtifactModelSource(shipped, Hashing.sha256(zip), inputs, outputs, labelScale);
            // IntParam and LongParam are Param<Object> from Java: unbox explicitly.
            var options = new PermutationImportanceJob.Options((Integer) $(nRepeats),
                    ImportanceSpec.Mode.valueOf($(mode).toUpperCase(Locale.ROOT)), 0, (Long) $(seed),
                    (Long) $(batchValues), chosen, "importance " + label);
            return PermutationImportanceJob.run(spark, input, source, players, inputs, classification, outputs,
                    options);
        } finally {
            shipped.destroy();
        }
    }

    /** The first row whose features or label do not fit the network, if any, as a one-line error. */
    private void requireValidRows(Dataset<Row> input, int inputs, int outputs) {
        var bad = udf((UDF2<Vector, Double, Boolean>) (v, y) -> {
            if (v == null || v.size() != inputs || y == null || !Double.isFinite(y)) {
                return true;
            }
            for (int j = 0; j < inputs; j++) {
                if (!Double.isFinite(v.apply(j))) {
                    return true;
                }
            }
            return outputs > 1 && (y != Math.rint(y) || y < 0 || y >= outputs);
        }, DataTypes.BooleanType);
        List<Row> first = input.filter(bad.apply(col(Featurizer.FEATURES), col(TabularReader.LABEL))).limit(1)
                .collectAsList();
        if (!first.isEmpty()) {
            Row r = first.get(0);
            throw new InputException("PermutationImportance: row " + r.get(0) + " has " + $(featuresCol) + " "
                    + r.get(1) + " and " + $(labelCol) + " " + r.get(2) + "; expected a vector of the network's "
                    + inputs + " finite inputs and " + (outputs > 1 ? "a class index 0.." + (outputs - 1)
                    : "a finite target"));
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
        PermutationImportance copy = copyValues(new PermutationImportance(uid, artifact), extra);
        copy.networkZip = networkZip;
        return copy;
    }

    @Override
    public MLWriter write() {
        return new Writer(this);
    }

    public static MLReader<PermutationImportance> read() {
        return new Reader();
    }

    public static PermutationImportance load(String path) {
        return read().load(path);
    }

    private static final class Writer extends MLWriter {
        private final PermutationImportance stage;

        Writer(PermutationImportance stage) {
            this.stage = stage;
        }

        @Override
        public void saveImpl(String path) {
            StageFiles.save(stage, path, sc(), stage.networkZip);
            if (stage.artifact != null) {
                stage.artifact.save(sparkSession(), new Path(path, ARTIFACT_DIR), stage.uid);
            }
        }
    }

    private static final class Reader extends MLReader<PermutationImportance> {
        @Override
        public PermutationImportance load(String path) {
            var metadata = DefaultParamsReader$.MODULE$.loadMetadata(path, sc(),
                    PermutationImportance.class.getName());
            Path artifactDir = new Path(path, ARTIFACT_DIR);
            ModelArtifact artifact = null;
            try {
                if (artifactDir.getFileSystem(sc().hadoopConfiguration()).exists(artifactDir)) {
                    artifact = ModelArtifact.load(sparkSession(), artifactDir);
                }
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException("reading " + artifactDir + " failed", e);
            }
            PermutationImportance stage = new PermutationImportance(metadata.uid(), artifact);
            metadata.getAndSetParams(stage, Option.empty());
            stage.networkZip = StageFiles.networkIfSaved(sc(), path);
            return stage;
        }
    }
}
