package io.candor.explain;

import io.candor.config.KnobParams;
import io.candor.config.Knobs;
import io.candor.data.FeatureGroup;
import io.candor.data.Featurizer;
import io.candor.data.TabularReader;
import io.candor.explain.shapley.BackgroundSummary;
import io.candor.explain.shapley.DistributedShapley;
import io.candor.explain.shapley.SageEstimator;
import io.candor.explain.shapley.SageResult;
import io.candor.explain.shapley.ShapleyParts;
import io.candor.model.Network;
import io.candor.util.Hashing;
import io.candor.util.InputException;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.ml.evaluation.Evaluator;
import org.apache.spark.ml.param.DoubleParam;
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
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import scala.Option;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.apache.spark.sql.functions.col;

/**
 * SAGE (Covert, Lundberg &amp; Lee 2020): how much of a DL4J network's loss each feature (or group of features)
 * accounts for across a user's DataFrame, as a Spark ML {@link Evaluator}: {@link #analyze} returns the typed
 * {@link Summary} (a value and standard error per player), {@link #evaluate} its total, the loss reduction over the
 * base prediction. No Candor conf or artifact is involved.
 *
 * <p>{@code analyze} summarises the {@code featuresCol} vectors with k-means over all partitions
 * ({@code backgroundSize} centres), draws a seeded sample of at most {@code sampleRows} rows by (seed, row id), and
 * spreads each round of antithetic permutation pairs over Spark tasks; the driver holds only the sample and the
 * centres. The result depends on the seed and the rows, not on how the DataFrame is partitioned.
 *
 * <p>The loss is cross-entropy for a network of K &gt; 1 outputs (labels are class indices 0..K-1) and squared error
 * for one output; {@code groups} ("name=0,1,2", indices into the features vector) makes each group one player, and
 * every index left out is a player of its own, named {@code featuresCol[j]}. Saved as Spark ML metadata and
 * {@code network.zip}.
 */
public final class Sage extends Evaluator implements MLWritable {
    private static final long serialVersionUID = 1L;

    private final String uid;
    private final Param<String> featuresCol;
    private final Param<String> labelCol;
    private final Param<String> idCol;
    private final LongParam seed;
    private final StringArrayParam groups;
    private final IntParam backgroundSize;
    private final IntParam sampleRows;
    private final IntParam maxPermutationPairs;
    private final DoubleParam convergenceFraction;
    private final LongParam batchValues;
    private byte[] networkZip;

    public Sage() {
        this(Identifiable.randomUID("sage"));
    }

    private Sage(String uid) {
        this.uid = uid;
        featuresCol = ExplainerParams.featuresCol(this);
        labelCol = ExplainerParams.labelCol(this);
        idCol = ExplainerParams.idCol(this);
        seed = ExplainerParams.seed(this);
        groups = ExplainerParams.groups(this);
        backgroundSize = KnobParams.intParam(this, "backgroundSize", Knobs.SHAPLEY_BACKGROUND_SIZE);
        sampleRows = KnobParams.intParam(this, "sampleRows", Knobs.SHAPLEY_SAGE_ROWS);
        maxPermutationPairs = KnobParams.intParam(this, "maxPermutationPairs",
                Knobs.SHAPLEY_SAGE_MAX_PERMUTATION_PAIRS);
        convergenceFraction = KnobParams.doubleParam(this, "convergenceFraction",
                Knobs.SHAPLEY_SAGE_CONVERGENCE_FRACTION);
        batchValues = KnobParams.longParam(this, "batchValues", Knobs.SHAPLEY_BATCH_VALUES);
        setDefault(backgroundSize, Knobs.SHAPLEY_BACKGROUND_SIZE.defaultValue());
        setDefault(sampleRows, Knobs.SHAPLEY_SAGE_ROWS.defaultValue());
        setDefault(maxPermutationPairs, Knobs.SHAPLEY_SAGE_MAX_PERMUTATION_PAIRS.defaultValue());
        setDefault(convergenceFraction, Knobs.SHAPLEY_SAGE_CONVERGENCE_FRACTION.defaultValue());
        setDefault(batchValues, Knobs.SHAPLEY_BATCH_VALUES.defaultValue());
    }

    /**
     * SAGE values of one analysis.
     *
     * @param players one name per player, in the order of the values
     * @param rows    rows of the sample the permutation pairs drew from
     */
    public record Summary(List<String> players, SageResult result, long rows) {
        /** The loss reduction over the base prediction that the values share out. */
        public double total() {
            return Arrays.stream(result.values()).sum();
        }

        /** One row per player: {@code player, value, std_error}. */
        public Dataset<Row> toDF(SparkSession spark) {
            List<Row> out = new ArrayList<>();
            for (int p = 0; p < players.size(); p++) {
                out.add(RowFactory.create(players.get(p), result.values()[p], result.stdError()[p]));
            }
            return spark.createDataFrame(out, new StructType().add("player", DataTypes.StringType, false)
                    .add("value", DataTypes.DoubleType, false).add("std_error", DataTypes.DoubleType, false));
        }
    }

    @Override
    public String uid() {
        return uid;
    }

    /** The network whose loss the values decompose. */
    public Sage setNetwork(MultiLayerNetwork network) {
        if (network == null) {
            throw new InputException("Sage.setNetwork: network is null; expected an initialised MultiLayerNetwork");
        }
        byte[] zip = new Network(network).toBytes();
        KernelShapModel.shapeOf(zip);
        this.networkZip = zip;
        return this;
    }

    public Sage setFeaturesCol(String value) { set(featuresCol, value); return this; }
    public Sage setLabelCol(String value) { set(labelCol, value); return this; }
    public Sage setIdCol(String value) { set(idCol, value); return this; }
    public Sage setSeed(long value) { set(seed, value); return this; }
    public Sage setGroups(String... value) { set(groups, value.clone()); return this; }
    public Sage setBackgroundSize(int value) { set(backgroundSize, value); return this; }
    public Sage setSampleRows(int value) { set(sampleRows, value); return this; }
    public Sage setMaxPermutationPairs(int value) { set(maxPermutationPairs, value); return this; }
    public Sage setConvergenceFraction(double value) { set(convergenceFraction, value); return this; }
    public Sage setBatchValues(long value) { set(batchValues, value); return this; }

    public Param<String> featuresCol() { return featuresCol; }
    public Param<String> labelCol() { return labelCol; }
    public Param<String> idCol() { return idCol; }
    public LongParam seed() { return seed; }
    public StringArrayParam groups() { return groups; }
    public IntParam backgroundSize() { return backgroundSize; }
    public IntParam sampleRows() { return sampleRows; }
    public IntParam maxPermutationPairs() { return maxPermutationPairs; }
    public DoubleParam convergenceFraction() { return convergenceFraction; }
    public LongParam batchValues() { return batchValues; }

    public String getFeaturesCol() { return getOrDefault(featuresCol); }
    public String getLabelCol() { return getOrDefault(labelCol); }
    public String getIdCol() { return getOrDefault(idCol); }
    public long getSeed() { return (Long) getOrDefault(seed); }
    public String[] getGroups() { return getOrDefault(groups).clone(); }
    public int getBackgroundSize() { return (Integer) getOrDefault(backgroundSize); }
    public int getSampleRows() { return (Integer) getOrDefault(sampleRows); }
    public int getMaxPermutationPairs() { return (Integer) getOrDefault(maxPermutationPairs); }
    public double getConvergenceFraction() { return (Double) getOrDefault(convergenceFraction); }
    public long getBatchValues() { return (Long) getOrDefault(batchValues); }

    /** The total loss reduction ({@link Summary#total()}): larger is a network that uses its features more. */
    @Override
    public double evaluate(Dataset<?> dataset) {
        return analyze(dataset).total();
    }

    /** SAGE values of the network over {@code dataset}; see the class doc for the columns and Params it reads. */
    public Summary analyze(Dataset<?> dataset) {
        if (networkZip == null) {
            throw new InputException("Sage: no network; expected setNetwork(MultiLayerNetwork) before analyze");
        }
        StructType schema = dataset.schema();
        ExplainerParams.requireVector(schema, "Sage", getFeaturesCol());
        ExplainerParams.requireNumericLabel(schema, "Sage", getLabelCol());
        ExplainerParams.requireIds(schema, "Sage", getIdCol());
        int[] shape = KernelShapModel.shapeOf(networkZip);
        int inputs = shape[0];
        int outputs = shape[1];
        if (getBatchValues() < inputs + (long) outputs) {
            throw new InputException("Sage: batchValues " + getBatchValues() + " is below one network row (" + inputs
                    + " inputs + " + outputs + " outputs)");
        }
        List<FeatureGroup> players = ExplainerParams.players("Sage", getGroups(), inputs, getFeaturesCol());
        Dataset<Row> rows = dataset.select(col(getIdCol()).cast(DataTypes.LongType).as(TabularReader.ROW_ID),
                col(getFeaturesCol()).as(Featurizer.FEATURES), col(getLabelCol()).cast(DataTypes.DoubleType)
                        .as(TabularReader.LABEL));
        BackgroundSummary.Summary background = BackgroundSummary.of(rows.select(TabularReader.ROW_ID,
                        Featurizer.FEATURES), ShapleySpec.BackgroundMethod.KMEANS, getBackgroundSize(), getSeed(),
                "the DataFrame given to Sage.analyze (Param backgroundSize)");
        ExplainInputs.SageRows sample = ExplainInputs.sageRows(rows, getSampleRows(), getSeed());
        double[][] data = sample.data();
        double[] labels = sample.labels();
        for (int i = 0; i < data.length; i++) {
            checkRow(sample.ids()[i], data[i], labels[i], inputs, outputs);
        }
        int pairs = getMaxPermutationPairs();
        SageEstimator.Settings settings = new SageEstimator.Settings(outputs > 1 ? SageEstimator.Loss.CROSS_ENTROPY
                : SageEstimator.Loss.SQUARED_ERROR, pairs, Math.min(SageEstimator.Settings.DEFAULT_PAIRS_PER_ROUND,
                pairs), getConvergenceFraction(), getBatchValues(), getSeed());
        SparkSession spark = dataset.sparkSession();
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        Broadcast<byte[]> zip = jsc.broadcast(networkZip);
        try {
            ModelSource source = new ArtifactModelSource(zip, Hashing.sha256(networkZip), inputs, outputs, null);
            SageResult result = DistributedShapley.sage(spark, data, labels, source,
                    ShapleyParts.of(FeatureGroups.indices(players), inputs, background.rows(), background.weights()),
                    settings,
                    Math.max(1, jsc.defaultParallelism()), "Sage " + uid);
            return new Summary(players.stream().map(FeatureGroup::name).toList(), result, data.length);
        } finally {
            zip.destroy();
        }
    }

    private void checkRow(long id, double[] x, double label, int inputs, int outputs) {
        if (x.length != inputs) {
            throw new InputException("Sage: row " + id + " has a " + getFeaturesCol() + " vector of " + x.length
                    + " values; expected the network's " + inputs + " inputs");
        }
        for (double v : x) {
            if (!Double.isFinite(v)) {
                throw new InputException("Sage: row " + id + " has " + v + " in " + getFeaturesCol()
                        + "; expected finite values");
            }
        }
        boolean classIndex = label == Math.rint(label) && label >= 0 && label < outputs;
        if (!Double.isFinite(label) || (outputs > 1 && !classIndex)) {
            throw new InputException("Sage: row " + id + " has label " + label + " in " + getLabelCol() + "; expected "
                    + (outputs > 1 ? "a class index 0.." + (outputs - 1) + " (the network has " + outputs
                    + " outputs)" : "a finite target value"));
        }
    }

    @Override
    public Sage copy(ParamMap extra) {
        Sage copy = copyValues(new Sage(uid), extra);
        copy.networkZip = networkZip;
        return copy;
    }

    @Override
    public MLWriter write() {
        return new Writer(this);
    }

    public static MLReader<Sage> read() {
        return new Reader();
    }

    public static Sage load(String path) {
        return read().load(path);
    }

    private static final class Writer extends MLWriter {
        private final Sage stage;

        Writer(Sage stage) {
            this.stage = stage;
        }

        @Override
        public void saveImpl(String path) {
            StageFiles.save(stage, path, sc(), stage.networkZip);
        }
    }

    private static final class Reader extends MLReader<Sage> {
        @Override
        public Sage load(String path) {
            var metadata = DefaultParamsReader$.MODULE$.loadMetadata(path, sc(), Sage.class.getName());
            Sage stage = new Sage(metadata.uid());
            metadata.getAndSetParams(stage, Option.empty());
            stage.networkZip = StageFiles.networkIfSaved(sc(), path);
            return stage;
        }
    }
}
