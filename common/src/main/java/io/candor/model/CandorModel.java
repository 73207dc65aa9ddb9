package io.candor.model;

import io.candor.data.Featurizer;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.ml.Model;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.util.Identifiable;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

import java.util.Arrays;
import java.util.List;

/**
 * A Candor model as a Spark ML {@link Model}: give it a DataFrame with the model's input columns (as in the training
 * data) and it adds the normalised {@code features} vector, a {@code probability} vector (classification) and a
 * {@code prediction} (class index, or the regression value). The fitted featurizer, normaliser and network all come
 * from the artifact, so it fits into a user's own pipeline as any Spark ML model does.
 */
public final class CandorModel extends Model<CandorModel> {
    private static final long serialVersionUID = 1L;

    private final String uid;
    private final transient ModelArtifact artifact;
    private final Param<String> predictionCol;
    private final Param<String> probabilityCol;

    public CandorModel(ModelArtifact artifact) {
        this(Identifiable.randomUID("candor"), artifact);
    }

    private CandorModel(String uid, ModelArtifact artifact) {
        this.uid = uid;
        this.artifact = artifact;
        this.predictionCol = new Param<>(this, "predictionCol", "output column: predicted class index or value");
        this.probabilityCol = new Param<>(this, "probabilityCol", "output column: class probabilities (vector)");
        setDefault(predictionCol, "prediction");
        setDefault(probabilityCol, "probability");
    }

    /** Loads the artifact at {@code <root>/models/<model>/<variant>} (or any artifact directory). */
    public static CandorModel load(SparkSession spark, String artifactDir) {
        return new CandorModel(ModelArtifact.load(spark, new Path(artifactDir)));
    }

    public Param<String> predictionCol() {
        return predictionCol;
    }

    public Param<String> probabilityCol() {
        return probabilityCol;
    }

    public CandorModel setPredictionCol(String value) {
        set(predictionCol, value);
        return this;
    }

    public CandorModel setProbabilityCol(String value) {
        set(probabilityCol, value);
        return this;
    }

    public ModelArtifact artifact() {
        return artifact;
    }

    @Override
    public String uid() {
        return uid;
    }

    @Override
    public StructType transformSchema(StructType schema) {
        artifact.metadata().requireColumns(schema, List.of());
        StructType out = schema;
        if (!Arrays.asList(schema.fieldNames()).contains(Featurizer.FEATURES)) {
            out = out.add(Featurizer.FEATURES, SQLDataTypes.VectorType(), true);
        }
        if (artifact.metadata().isClassification()) {
            out = out.add($(probabilityCol), SQLDataTypes.VectorType(), false);
        }
        return out.add($(predictionCol), DataTypes.DoubleType, false);
    }

    @Override
    public Dataset<Row> transform(Dataset<?> dataset) {
        transformSchema(dataset.schema());
        Dataset<Row> featurized = artifact.featurizer().transform(dataset.toDF());
        StructType inSchema = featurized.schema();
        boolean classification = artifact.metadata().isClassification();
        StructType outSchema = classification
                ? inSchema.add($(probabilityCol), SQLDataTypes.VectorType(), false)
                        .add($(predictionCol), DataTypes.DoubleType, false)
                : inSchema.add($(predictionCol), DataTypes.DoubleType, false);
        int featuresIndex = inSchema.fieldIndex(Featurizer.FEATURES);
        int width = artifact.metadata().featureNames().size();
        var normalizer = artifact.metadata().normalizer();
        byte[] zip = artifact.networkZip();
        String key = io.candor.util.Hashing.sha256(zip);
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(featurized.sparkSession().sparkContext());
        Broadcast<byte[]> network = jsc.broadcast(zip);
        return featurized.mapPartitions((org.apache.spark.api.java.function.MapPartitionsFunction<Row, Row>) rows ->
                BatchedInference.map(rows, featuresIndex, width, ExecutorNetworks.get(key, network::value),
                        BatchedInference.DEFAULT_BATCH, (row, output) -> {
                            Object[] values = new Object[row.size() + (classification ? 2 : 1)];
                            for (int i = 0; i < row.size(); i++) {
                                values[i] = row.get(i);
                            }
                            if (classification) {
                                double[] p = new double[output.length];
                                int best = 0;
                                for (int j = 0; j < output.length; j++) {
                                    p[j] = output[j];
                                    if (output[j] > output[best]) {
                                        best = j;
                                    }
                                }
                                values[row.size()] = Vectors.dense(p);
                                values[row.size() + 1] = (double) best;
                            } else {
                                values[row.size()] = normalizer.denormalizeLabel(output[0]);
                            }
                            return RowFactory.create(values);
                        }), Encoders.row(outSchema));
    }

    @Override
    public CandorModel copy(ParamMap extra) {
        return copyValues(new CandorModel(uid, artifact), extra);
    }
}
