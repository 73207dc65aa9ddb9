package io.candor.explain;

import io.candor.config.KnobParams;
import io.candor.config.Knobs;
import io.candor.data.Featurizer;
import io.candor.data.TabularReader;
import io.candor.explain.shapley.BackgroundSummary;
import io.candor.explain.shapley.DistributedShapley;
import io.candor.explain.shapley.ShapleyParts;
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
import org.apache.spark.ml.param.ParamValidators;
import org.apache.spark.ml.util.Identifiable;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;

import static org.apache.spark.sql.functions.col;

/**
 * Per-row Shapley values as a Spark ML {@link Transformer} (in the manner of SynapseML's explainers): it adds to
 * each row of a DataFrame with the model's input columns the base value, the Shapley values of one output per
 * feature group ({@code shap_phi}, in the order of {@link #groupNames}) and their standard errors. Same estimators
 * and seeds as {@code candor shapley}; the background is the k-means summary (or a sample) of a DataFrame the caller gives.
 * Rows are identified by an id column, or by their order. The result is lazy: the values are computed on the
 * executors by each action on it (cache it to act on it more than once).
 */
public final class ShapleyValues extends Transformer {
    private static final long serialVersionUID = 1L;

    private final String uid;
    private final transient ModelArtifact artifact;
    private final transient Dataset<Row> backgroundData;
    private final Param<String> idCol;
    private final IntParam output;
    private final Param<String> estimator;
    private final IntParam maxCoalitions;
    private final IntParam backgroundSize;
    private final LongParam seed;

    /** @param backgroundData rows with the model's input columns that the background summarises (e.g. training data) */
    public ShapleyValues(ModelArtifact artifact, Dataset<Row> backgroundData) {
        this(Identifiable.randomUID("shapleyValues"), artifact, backgroundData);
    }

    private ShapleyValues(String uid, ModelArtifact artifact, Dataset<Row> backgroundData) {
        this.uid = uid;
        this.artifact = artifact;
        this.backgroundData = backgroundData;
        idCol = new Param<>(this, "idCol", "column of unique integer row ids (seeds each row's draws); empty: row order");
        output = new IntParam(this, "output", "output (class index) to explain", ParamValidators.gtEq(0));
        estimator = KnobParams.stringParam(this, "estimator", Knobs.SHAPLEY_ESTIMATOR);
        maxCoalitions = KnobParams.intParam(this, "maxCoalitions", Knobs.SHAPLEY_MAX_COALITIONS);
        backgroundSize = KnobParams.intParam(this, "backgroundSize", Knobs.SHAPLEY_BACKGROUND_SIZE);
        seed = KnobParams.longParam(this, "seed", Knobs.RUN_SEED);
        setDefault(idCol, "");
        setDefault(output, artifact.metadata().isClassification() ? artifact.metadata().classes().size() - 1 : 0);
        setDefault(estimator, Knobs.SHAPLEY_ESTIMATOR.defaultValue());
        setDefault(maxCoalitions, Knobs.SHAPLEY_MAX_COALITIONS.defaultValue());
        setDefault(backgroundSize, Knobs.SHAPLEY_BACKGROUND_SIZE.defaultValue());
        setDefault(seed, Knobs.RUN_SEED.defaultValue());
    }

    public ShapleyValues setIdCol(String value) { set(idCol, value); return this; }
    public ShapleyValues setOutput(int value) { set(output, value); return this; }
    public ShapleyValues setEstimator(String value) { set(estimator, value); return this; }
    public ShapleyValues setMaxCoalitions(int value) { set(maxCoalitions, value); return this; }
    public ShapleyValues setBackgroundSize(int value) { set(backgroundSize, value); return this; }
    public ShapleyValues setSeed(long value) { set(seed, value); return this; }
    public Param<String> idCol() { return idCol; }
    public IntParam output() { return output; }
    public Param<String> estimator() { return estimator; }
    public IntParam maxCoalitions() { return maxCoalitions; }
    public IntParam backgroundSize() { return backgroundSize; }
    public LongParam seed() { return seed; }

    /** Names of the feature groups, in the order of {@code shap_phi}. */
    public List<String> groupNames() {
        return artifact.metadata().groups().stream().map(io.candor.data.FeatureGroup::name).toList();
    }

    @Override
    public String uid() {
        return uid;
    }

    @Override
    public StructType transformSchema(StructType schema) {
        artifact.metadata().requireColumns(schema, $(idCol).isEmpty() ? List.of() : List.of($(idCol)));
        int outputs = artifact.metadata().isClassification() ? artifact.metadata().classes().size() : 1;
        if ((Integer) $(output) >= outputs) {
            throw new InputException("output: " + $(output) + " is out of range (expected 0.." + (outputs - 1) + ")");
        }
        return schema.add("shap_base", DataTypes.DoubleType, false)
                .add("shap_phi", DataTypes.createArrayType(DataTypes.DoubleType, false), false)
                .add("shap_std_error", DataTypes.createArrayType(DataTypes.DoubleType, false), false);
    }

    @Override
    public Dataset<Row> transform(Dataset<?> dataset) {
        StructType outSchema = transformSchema(dataset.schema());
        SparkSession spark = dataset.sparkSession();
        ArtifactMetadata m = artifact.metadata();
        String id = $(idCol).isEmpty() ? "__shap_row" : $(idCol);
        Dataset<Row> rows = $(idCol).isEmpty() ? TabularReader.withPositions(dataset.toDF(), id) : dataset.toDF();
        Dataset<Row> input = artifact.featurizer().transform(rows.withColumn(TabularReader.ROW_ID,
                rows.col(id).cast(DataTypes.LongType)));
        Dataset<Row> background = artifact.featurizer().transform(backgroundData.withColumn(TabularReader.ROW_ID,
                org.apache.spark.sql.functions.monotonically_increasing_id()));
        BackgroundSummary.Summary summary = BackgroundSummary.of(background, ShapleySpec.BackgroundMethod.KMEANS,
                (Integer) $(backgroundSize), (Long) $(seed), "the background DataFrame");
        List<int[]> groups = FeatureGroups.indices(m.groups());
        int inputs = m.featureNames().size();
        int outputs = m.isClassification() ? m.classes().size() : 1;
        ShapleyParts parts = ShapleyParts.of(groups, inputs, summary.rows(), summary.weights());
        // Not destroyed here: the result is lazy, and its tasks read the network when it is computed.
        Broadcast<byte[]> zip = JavaSparkContext.fromSparkContext(spark.sparkContext()).broadcast(artifact.networkZip());
        ModelSource source = new ArtifactModelSource(zip, Hashing.sha256(artifact.networkZip()), inputs, outputs,
                m.isClassification() ? null : m.normalizer());
        var settings = new DistributedShapley.RowSettings(
                ShapleySpec.Estimator.valueOf($(estimator).toUpperCase(Locale.ROOT)), (Integer) $(maxCoalitions),
                Knobs.SHAPLEY_PERMUTATION_PAIRS.defaultValue(), Knobs.SHAPLEY_BATCH_VALUES.defaultValue(),
                (Long) $(seed), Knobs.SHAPLEY_CONVERGENCE_THRESHOLD.defaultValue());
        Dataset<Row> values = DistributedShapley.explainRows(spark,
                input.select(TabularReader.ROW_ID, Featurizer.FEATURES), source, parts,
                new int[] {(Integer) $(output)}, settings).rows()
                .select(col("row_id").as("__shap_id"), col("base_value").as("shap_base"), col("phi").as("shap_phi"),
                        col("std_error").as("shap_std_error"));
        Dataset<Row> joined = rows.join(values, rows.col(id).cast(DataTypes.LongType).equalTo(col("__shap_id")))
                .drop("__shap_id");
        if ($(idCol).isEmpty()) {
            joined = joined.orderBy(id).drop(id);
        }
        return joined.select(Arrays.stream(outSchema.fieldNames()).map(org.apache.spark.sql.functions::col)
                .toArray(org.apache.spark.sql.Column[]::new));
    }

    @Override
    public ShapleyValues copy(ParamMap extra) {
        return copyValues(new ShapleyValues(uid, artifact, backgroundData), extra);
    }
}
